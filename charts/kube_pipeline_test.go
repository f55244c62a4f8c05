//go:build kube

package charts

// The whole pipeline in pods, with faults: the umbrella chart installed with
// the services' images, loads read by the reader's Job from a census site
// the test serves on the pod bridge, and at each step the broker (the
// computers' group and its offsets) and the aggregator's API (through its
// Service) checked against the generator's exact tabulations.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"

	"github.com/kafka-scale/kafka-scale/e2e/harness"
	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// censusFile is one month as the site serves it. A file with a gate sends
// the first half of its body, then waits for the gate to close before
// sending the rest (over restPace), so that the test knows a load is under way (half its
// records counted, the rest still to come) when it strikes.
type censusFile struct {
	body []byte
	gate chan struct{}
	// fail is how many requests for it are answered 503 before it is sent.
	fail atomic.Int32
}

// censusSite serves files (by path, /<year>/basic/<file> as on the Census
// Bureau's site) on KUBE_TEST_CENSUS_ADDR, the pod bridge's address, so that
// the reader's pod reaches it, and counts the requests for them.
type censusSite struct {
	URL   string
	mu    sync.Mutex
	files map[string]*censusFile
	hits  atomic.Int64
	once  map[chan struct{}]*sync.Once
}

func newCensusSite(t *testing.T) *censusSite {
	t.Helper()
	addr := os.Getenv("KUBE_TEST_CENSUS_ADDR")
	if addr == "" {
		t.Fatal("KUBE_TEST_CENSUS_ADDR is not set: run make test-kube, or set it to 10.244.0.1:PORT")
	}
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	s := &censusSite{URL: "http://" + addr, files: map[string]*censusFile{}, once: map[chan struct{}]*sync.Once{}}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(s.serve)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		s.mu.Lock()
		for gate, once := range s.once {
			once.Do(func() { close(gate) })
		}
		s.mu.Unlock()
		require.NoError(t, srv.Close())
		require.ErrorIs(t, <-done, http.ErrServerClosed)
	})
	return s
}

func (s *censusSite) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.files[r.URL.Path]
	s.mu.Unlock()
	if f == nil {
		http.NotFound(w, r)
		return
	}
	if f.fail.Add(-1) >= 0 {
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	s.hits.Add(1)
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.body)))
	half := len(f.body) / 2
	if f.gate == nil {
		half = len(f.body)
	}
	if _, err := w.Write(f.body[:half]); err != nil {
		return
	}
	if f.gate == nil {
		return
	}
	_ = http.NewResponseController(w).Flush() // a client gone shows in the next write
	select {
	case <-f.gate:
	case <-r.Context().Done():
		return
	}
	// The rest comes at a pace, as over a slow link, so that faults struck
	// right after the release land while its records still arrive.
	rest := f.body[half:]
	tick := time.NewTicker(restPace / restPieces)
	defer tick.Stop()
	for i := range restPieces {
		piece := rest[i*len(rest)/restPieces : (i+1)*len(rest)/restPieces]
		if _, err := w.Write(piece); err != nil {
			return
		}
		_ = http.NewResponseController(w).Flush()
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		}
	}
}

// A gated file's second half is sent in restPieces pieces over restPace.
const (
	restPieces = 10
	restPace   = 5 * time.Second
)

// load is a set of generated months and what they must tabulate to.
type load struct {
	months []int
	want   *tally.Tally
	gate   chan struct{}
	site   *censusSite
}

// addLoad generates months of year with a fixed seed and serves them; gated
// loads are held half-way until release.
func (s *censusSite) addLoad(t *testing.T, year int, months []int, records int, gated bool) *load {
	t.Helper()
	return s.addLoadWith(t, year, months, records, gated, nil)
}

// addLoadWith is addLoad with each month's generator options changed by
// opts (bad lines, say) before it is generated.
func (s *censusSite) addLoadWith(t *testing.T, year int, months []int, records int, gated bool, opts func(*censusgen.Options)) *load {
	t.Helper()
	l := &load{months: months, want: tally.New(), site: s}
	if gated {
		l.gate = make(chan struct{})
	}
	for _, m := range months {
		var gz bytes.Buffer
		o := censusgen.Options{Year: year, Month: m, Records: records, Seed: uint64(100 + m)}
		if opts != nil {
			opts(&o)
		}
		exp, err := censusgen.GenerateGzip(&gz, o)
		require.NoError(t, err)
		l.want.Merge(exp.Tally)
		s.mu.Lock()
		s.files[fmt.Sprintf("/%d/basic/%s", year, census.FileName(year, m))] = &censusFile{body: gz.Bytes(), gate: l.gate}
		if gated {
			s.once[l.gate] = new(sync.Once)
		}
		s.mu.Unlock()
	}
	return l
}

// release lets the gated files of l be sent whole.
func (l *load) release() {
	l.site.mu.Lock()
	defer l.site.mu.Unlock()
	if once := l.site.once[l.gate]; once != nil {
		once.Do(func() { close(l.gate) })
	}
}

// monthList is months as a value of helm's --set, its commas escaped.
func monthList(months []int) string {
	var s []string
	for _, m := range months {
		s = append(s, strconv.Itoa(m))
	}
	return strings.Join(s, `\,`)
}

// serviceAddr is the ClusterIP:port of release ks's aggregator Service in
// ns, which kube-proxy routes from the host.
func serviceAddr(t *testing.T, ns string) string {
	t.Helper()
	out, err := kubectl(t, "", "get", "service", "-n", ns, "ks-aggregator", "-o",
		`jsonpath={.spec.clusterIP}:{.spec.ports[?(@.name=="http")].port}`)
	require.NoError(t, err, out)
	return out
}

// aggregatorSources asks the aggregator's Service for /v1/sources.
func aggregatorSources(api string) ([]apiv1.Source, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return harness.Sources(ctx, api)
}

// waitCounted waits until every month of year in months is a complete source
// on the aggregator, with nothing else there, and then checks every table
// the API serves against want (harness.CheckAPI, the e2e tests' check).
func waitCounted(t *testing.T, api string, year int, months []int, want *tally.Tally) {
	t.Helper()
	var last []apiv1.Source
	eventually(t, 4*time.Minute, fmt.Sprintf("months %v of %d complete", months, year), func() (bool, string) {
		sources, err := aggregatorSources(api)
		if err != nil {
			return false, err.Error()
		}
		last = sources
		complete := 0
		for _, s := range sources {
			if s.Year == year && slices.Contains(months, s.Month) && s.Status == apiv1.StatusComplete {
				complete++
			}
		}
		return complete == len(months) && len(sources) == len(months), summarize(sources)
	})
	harness.CheckAPI(t, api, want)
	var records uint64
	for _, s := range last {
		records += s.Counted
	}
	t.Logf("aggregator %s: %d sources complete, %d records counted, /results, /v1/housing, /v1/labor-force and by-sex-age exact",
		api, len(last), records)
}

func totalChunks(s apiv1.Source) string {
	if s.TotalChunks == nil {
		return "?"
	}
	return strconv.FormatInt(*s.TotalChunks, 10)
}

func summarize(sources []apiv1.Source) string {
	var s []string
	for _, src := range sources {
		s = append(s, fmt.Sprintf("%d-%02d %s %d/%s chunks %d counted", src.Year, src.Month, src.Status, src.Chunks, totalChunks(src), src.Counted))
	}
	return strings.Join(s, "; ")
}

// waitUnderway waits until the aggregator has counted chunks of every gated
// month that the reader is sending (the ones whose first half it has) while
// none of l's months is complete: l's load is half-way.
func waitUnderway(t *testing.T, api string, year int, l *load) {
	t.Helper()
	var summary string
	eventually(t, 3*time.Minute, fmt.Sprintf("load of months %v under way", l.months), func() (bool, string) {
		sources, err := aggregatorSources(api)
		if err != nil {
			return false, err.Error()
		}
		loading, complete := 0, 0
		for _, s := range sources {
			if s.Year != year || !slices.Contains(l.months, s.Month) {
				continue
			}
			if s.Status == apiv1.StatusComplete {
				complete++
			}
			if s.Status == apiv1.StatusLoading && s.Chunks > 0 {
				loading++
			}
		}
		summary = summarize(sources)
		// The reader reads two files at a time (reader.parallel).
		return loading >= 2 && complete == 0, summary
	})
	t.Logf("load %v under way: %s", l.months, summary)
}

// broker is an admin client on the host's listener of the test's broker.
type broker struct {
	admin     *extkafka.Admin
	bootstrap string
}

func newBroker(t *testing.T) *broker {
	t.Helper()
	bootstrap := harness.Bootstrap(t)
	admin, err := extkafka.NewAdmin(extkafka.AdminConfig(extkafka.Config{BootstrapServers: bootstrap}), zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(admin.Close)
	return &broker{admin: admin, bootstrap: bootstrap}
}

// member is one member of a consumer group as the broker describes it.
type member struct {
	host, clientID string
	partitions     int
}

// group describes group on the broker: its state and members.
func (b *broker) group(t *testing.T, group string) (string, []member) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := b.admin.DescribeConsumerGroups(ctx, []string{group})
	require.NoError(t, err, "describe group %s", group)
	require.Len(t, res.ConsumerGroupDescriptions, 1)
	d := res.ConsumerGroupDescriptions[0]
	require.NoError(t, ignoreNoError(d.Error), "describe group %s", group)
	var ms []member
	for _, m := range d.Members {
		ms = append(ms, member{host: strings.TrimPrefix(m.Host, "/"), clientID: m.ClientID, partitions: len(m.Assignment.TopicPartitions)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].host < ms[j].host })
	return d.State.String(), ms
}

func ignoreNoError(err kafka.Error) error {
	if err.Code() == kafka.ErrNoError {
		return nil
	}
	return err
}

// lag is group's lag on topic: high watermarks minus committed offsets.
func (b *broker) lag(t *testing.T, group, topic string) int64 {
	t.Helper()
	p := harness.NewPipeline(t, "kube")
	p.Bootstrap, p.Group, p.ComputeTopic = b.bootstrap, group, topic
	lag, err := p.GroupLag(group, topic)
	require.NoError(t, err)
	return lag
}

// waitMembers waits until group is Stable with exactly the pods' addresses
// as its members, each member with partitions.
func (b *broker) waitMembers(t *testing.T, group string, pods []corev1.Pod) {
	t.Helper()
	var want []string
	for _, p := range pods {
		want = append(want, p.Status.PodIP)
	}
	sort.Strings(want)
	var ms []member
	eventually(t, 2*time.Minute, fmt.Sprintf("group %s with members %v", group, want), func() (bool, string) {
		var state string
		state, ms = b.group(t, group)
		var hosts []string
		assigned := 0
		for _, m := range ms {
			hosts = append(hosts, m.host)
			if m.partitions > 0 {
				assigned++
			}
		}
		return state == "Stable" && slices.Equal(hosts, want) && assigned == len(ms), fmt.Sprintf("%s %+v", state, ms)
	})
	for _, m := range ms {
		t.Logf("group %s member: host %s client %s, %d partitions", group, m.host, m.clientID, m.partitions)
	}
}

// pods lists release ks's pods of component in ns.
func pods(t *testing.T, ns, component string) []corev1.Pod {
	t.Helper()
	out, err := kubectl(t, "", "get", "pods", "-n", ns,
		"-l", "app.kubernetes.io/instance=ks,app.kubernetes.io/component="+component, "-o", "json")
	require.NoError(t, err, out)
	var list corev1.PodList
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	return list.Items
}

func logPods(t *testing.T, step string, ps []corev1.Pod) {
	t.Helper()
	for _, p := range ps {
		restarts := int32(0)
		if len(p.Status.ContainerStatuses) > 0 {
			restarts = p.Status.ContainerStatuses[0].RestartCount
		}
		t.Logf("%s: pod %s %s on node %s ip %s image %s restarts %d", step, p.Name, p.Status.Phase, p.Spec.NodeName,
			p.Status.PodIP, p.Spec.Containers[0].Image, restarts)
	}
}

func podNames(ps []corev1.Pod) []string {
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// ctr runs containerd's ctr on the node's containerd, in the k8s.io
// namespace where the kubelet's containers are.
func ctr(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("ctr", append([]string{"--address", filepath.Join(kubeDir(), "node", "containerd", "containerd.sock"),
		"--namespace", "k8s.io"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "ctr %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// nsContainers are the IDs of containerd's containers (sandboxes included)
// of pods in ns, by the labels the kubelet's CRI gives them.
func nsContainers(t *testing.T, ns string) []string {
	t.Helper()
	var ids []string
	for _, id := range strings.Fields(ctr(t, "containers", "ls", "-q")) {
		out, err := exec.Command("ctr", "--address", filepath.Join(kubeDir(), "node", "containerd", "containerd.sock"),
			"--namespace", "k8s.io", "containers", "info", id).CombinedOutput()
		if err != nil {
			continue // removed while listed
		}
		var info struct {
			Labels map[string]string `json:"Labels"`
		}
		require.NoError(t, json.Unmarshal(out, &info), "ctr containers info %s", id)
		if info.Labels["io.kubernetes.pod.namespace"] == ns {
			ids = append(ids, id)
		}
	}
	return ids
}

func kubeDir() string {
	if dir := os.Getenv("KUBE_LOCAL_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(os.TempDir(), "kafka-scale-kube")
}

// taskPIDs maps each running containerd task to its process on the host.
func taskPIDs(t *testing.T) map[string]int {
	t.Helper()
	pids := map[string]int{}
	for _, l := range strings.Split(ctr(t, "tasks", "ls"), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		pid, err := strconv.Atoi(f[1])
		require.NoError(t, err, "ctr tasks ls line %q", l)
		pids[f[0]] = pid
	}
	return pids
}

// procStatus reads the fields of /proc/PID/status.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	fields := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			fields[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return fields
}

// rootMountOptions are the mount options of / as process pid sees it.
func rootMountOptions(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		// id parent major:minor root mount-point options ...
		if f := strings.Fields(l); len(f) > 5 && f[4] == "/" {
			return f[5]
		}
	}
	t.Fatalf("/proc/%d/mountinfo has no mount on /", pid)
	return ""
}

// checkHardened checks on the running process of each pod's container, from
// the host, what the chart's securityContext says: user 65532, no
// capabilities effective or in the bounding set, no new privileges, and a
// read-only root file system.
func checkHardened(t *testing.T, ps []corev1.Pod) {
	t.Helper()
	pids := taskPIDs(t)
	for _, p := range ps {
		require.NotEmpty(t, p.Status.ContainerStatuses, p.Name)
		id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "containerd://")
		pid, ok := pids[id]
		require.True(t, ok, "pod %s: container %s has no running task (ctr tasks ls)", p.Name, id)
		st := procStatus(t, pid)
		ro := rootMountOptions(t, pid)
		t.Logf("pod %s container %.12s pid %d: Uid %s, Gid %s, CapEff %s, CapBnd %s, CapPrm %s, NoNewPrivs %s, / mounted %s",
			p.Name, id, pid, st["Uid"], st["Gid"], st["CapEff"], st["CapBnd"], st["CapPrm"], st["NoNewPrivs"], ro)
		require.Equal(t, "65532 65532 65532 65532", st["Uid"], "pod %s runs as 65532", p.Name)
		require.Equal(t, "65532 65532 65532 65532", st["Gid"], "pod %s runs as group 65532", p.Name)
		for _, capSet := range []string{"CapEff", "CapBnd", "CapPrm", "CapInh", "CapAmb"} {
			require.Equal(t, "0000000000000000", st[capSet], "pod %s: %s", p.Name, capSet)
		}
		require.Equal(t, "1", st["NoNewPrivs"], "pod %s: allowPrivilegeEscalation false", p.Name)
		require.Contains(t, strings.Split(ro, ","), "ro", "pod %s: / must be read-only", p.Name)
	}
}

// evict asks the Eviction API (policy/v1) to evict pod, returning kubectl's
// output and whether the eviction was granted.
func evict(t *testing.T, ns, pod string) (string, bool) {
	t.Helper()
	body := fmt.Sprintf(`{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":%q,"namespace":%q}}`, pod, ns)
	out, err := kubectl(t, body, "create", "--raw", fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/eviction", ns, pod), "-f", "-")
	return strings.TrimSpace(out), err == nil
}

// uninstall runs helm uninstall and checks that nothing of release ks in ns
// is left: no object of its manifest nor any labelled with it, no pod, no
// container or sandbox in containerd, no mount of its pods or containers.
func uninstall(t *testing.T, ns string) {
	t.Helper()
	objs := manifestObjects(t, ns)
	containers := nsContainers(t, ns)
	var uids []string
	out, err := kubectl(t, "", "get", "pods", "-n", ns, "-o", `jsonpath={range .items[*]}{.metadata.uid}{"\n"}{end}`)
	require.NoError(t, err, out)
	uids = strings.Fields(out)
	require.NotEmpty(t, containers, "the release's containers are listed in containerd")
	t.Logf("before uninstall: %d objects, %d pods, %d containers and sandboxes in containerd", len(objs), len(uids), len(containers))

	helm(t, "uninstall", "ks", "-n", ns, "--wait", "--timeout", "3m")
	for _, obj := range objs {
		out, err := kubectl(t, "", "get", "-n", ns, obj, "--ignore-not-found", "-o", "name")
		require.NoError(t, err, out)
		require.Empty(t, strings.TrimSpace(out), "%s outlived helm uninstall", obj)
	}
	// helm uninstall --wait waits for the manifest's objects only: the
	// garbage collector deletes their dependents (ReplicaSets, then pods,
	// each with its grace period) after, so those are polled for.
	eventually(t, 3*time.Minute, "no object labelled with the release left", func() (bool, string) {
		out, err := kubectl(t, "", "get", "all,configmaps,secrets,serviceaccounts,poddisruptionbudgets,roles,rolebindings,"+
			"networkpolicies,persistentvolumeclaims,events.v1.events.k8s.io", "-n", ns, "-l", "app.kubernetes.io/instance=ks", "-o", "name")
		return err == nil && strings.TrimSpace(out) == "", fmt.Sprintf("%s %v", out, err)
	})
	out, err = kubectl(t, "", "get", "secrets", "-n", ns, "-l", "owner=helm,name=ks", "-o", "name")
	require.NoError(t, err, out)
	require.Empty(t, strings.TrimSpace(out), "helm's release records left")
	eventually(t, 3*time.Minute, "no pod left", func() (bool, string) {
		out, err := kubectl(t, "", "get", "pods", "-n", ns, "-o", "name")
		return err == nil && strings.TrimSpace(out) == "", out
	})
	// The kubelet removes the containers of deleted pods in its next
	// garbage collection (every minute).
	eventually(t, 3*time.Minute, "no container of the release in containerd", func() (bool, string) {
		left := nsContainers(t, ns)
		return len(left) == 0, fmt.Sprintf("%v", left)
	})
	tasks := taskPIDs(t)
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	for _, id := range containers {
		_, running := tasks[id]
		require.False(t, running, "task %s still runs", id)
		require.NotContains(t, string(mountinfo), id, "a mount of container %s is left", id)
	}
	for _, uid := range uids {
		require.NotContains(t, string(mountinfo), uid, "a mount of pod %s is left", uid)
	}
	t.Logf("uninstalled: none of the %d objects, no pod, none of the %d containers, no task, no mount of %d pods left",
		len(objs), len(containers), len(uids))
}

// TestKubePipeline: the whole pipeline in pods, with faults. Each load is a
// new reader Job (helm upgrade with other months) fetching generated months
// from a site on the host; after each step the aggregator's API, through
// its Service, serves exactly the generator's tabulations of every month
// loaded so far, and the broker's group has every computer as a member and
// no lag.
func TestKubePipeline(t *testing.T) {
	requireCluster(t)
	buildDeps(t)
	const year, records = 2024, 40000
	site := newCensusSite(t)
	brk := newBroker(t)
	ns := testNamespace(t)
	// Names of this run's own: a broker kept from an earlier run holds that
	// run's topics, group and aggregator state.
	group := "pipeline-" + strings.TrimPrefix(ns, "kafka-scale-test-")
	computeTopic := group + "-compute"
	installed := uninstallAtCleanup(t, ns)
	tag := imageTag(t)
	computerImage, aggregatorImage := "ghcr.io/kafka-scale/computer:"+tag, "ghcr.io/kafka-scale/aggregator:"+tag

	loads := []*load{
		site.addLoad(t, year, []int{1, 2, 3}, records, false),
		site.addLoad(t, year, []int{4, 5, 6}, records, true),
		site.addLoad(t, year, []int{7, 8, 9}, records, true),
	}
	want := tally.New()
	var loaded []int
	counted := func(l *load) {
		t.Helper()
		want.Merge(l.want)
		loaded = append(loaded, l.months...)
	}

	// 1. Install: two computers, the aggregator and the reader's Job for the
	// first load.
	helm(t, append([]string{"install", "ks", Umbrella, "-n", ns, "--wait", "--timeout", "5m",
		"--set", "global.kafka.bootstrapServers=" + podBroker(t),
		"--set", "global.topics.compute.name=" + computeTopic,
		"--set", "global.topics.results.name=" + group + "-results",
		"--set", "global.topics.compute.replicas=1",
		"--set", "global.topics.results.replicas=1",
		"--set", "global.topics.state.replicas=1",
		"--set", "computer.group=" + group,
		"--set", "computer.replicaCount=2",
		"--set-string", fmt.Sprintf("reader.years=%d,reader.months=%s", year, monthList(loads[0].months)),
		"--set", "reader.censusBaseUrl=" + site.URL,
		"--set", "reader.exitDelay=1s",
	}, imageValues(t)...)...)
	*installed = true
	readyPods(t, ns, "computer", computerImage, 2)
	readyPods(t, ns, "aggregator", aggregatorImage, 1)
	api := serviceAddr(t, ns)
	eventually(t, 2*time.Minute, "the reader's Job Complete", func() (bool, string) {
		out, err := kubectl(t, "", "get", "jobs", "-n", ns, "-l", "app.kubernetes.io/instance=ks",
			"-o", `jsonpath={range .items[*]}{.metadata.name} {.spec.template.spec.containers[0].image} {.status.succeeded}{"\n"}{end}`)
		if err != nil {
			return false, out
		}
		return strings.HasSuffix(strings.TrimSpace(out), " ghcr.io/kafka-scale/reader:"+tag+" 1"), out
	})
	require.Positive(t, site.hits.Load(), "the reader fetched the months from the site")
	counted(loads[0])
	waitCounted(t, api, year, loaded, want)
	logPods(t, "install", append(pods(t, ns, "computer"), pods(t, ns, "aggregator")...))
	brk.waitMembers(t, group, pods(t, ns, "computer"))
	require.Zero(t, brk.lag(t, group, computeTopic), "group %s has consumed and committed all of %s", group, computeTopic)
	t.Logf("step 1 (install): months %v exact, group %s lag 0, %d requests to the site", loaded, group, site.hits.Load())

	// 6. The running containers are as locked down as the chart says.
	checkHardened(t, append(pods(t, ns, "computer"), pods(t, ns, "aggregator")...))

	// 2. Scale to five computers: five Ready pods, five members.
	helm(t, "upgrade", "ks", Umbrella, "-n", ns, "--reuse-values", "--wait", "--timeout", "5m", "--set", "computer.replicaCount=5")
	readyPods(t, ns, "computer", computerImage, 5)
	five := pods(t, ns, "computer")
	logPods(t, "scaled", five)
	brk.waitMembers(t, group, five)
	t.Logf("step 2 (replicaCount=5): 5 computers Ready, 5 members in group %s", group)

	// 3. A rolling update of the computers (another batch size) while the
	// second load runs.
	helm(t, "upgrade", "ks", Umbrella, "-n", ns, "--reuse-values", "--wait", "--timeout", "5m",
		"--set-string", "reader.months="+monthList(loads[1].months))
	waitUnderway(t, api, year, loads[1])
	helm(t, "upgrade", "ks", Umbrella, "-n", ns, "--reuse-values", "--timeout", "5m", "--set", "computer.batchChunks=100")
	loads[1].release()
	t.Logf("rolling update started and the rest of load %v released; group lag %d", loads[1].months, brk.lag(t, group, computeTopic))
	out, err := kubectl(t, "", "rollout", "status", "-n", ns, "deployment/ks-computer", "--timeout=5m")
	require.NoError(t, err, out)
	sources, err := aggregatorSources(api)
	require.NoError(t, err)
	t.Logf("rollout done; the load then: %s", summarize(sources))
	readyPods(t, ns, "computer", computerImage, 5)
	rolled := pods(t, ns, "computer")
	for _, name := range podNames(rolled) {
		require.NotContains(t, podNames(five), name, "every computer was replaced")
	}
	counted(loads[1])
	waitCounted(t, api, year, loaded, want)
	logPods(t, "rolled", rolled)
	brk.waitMembers(t, group, rolled)
	require.Zero(t, brk.lag(t, group, computeTopic))
	t.Logf("step 3 (rolling update during a load): months %v exact, group %s lag 0", loaded, group)

	// 4. Mid-load, one computer evicted through the Eviction API, one
	// killed, and a second eviction refused by the PodDisruptionBudget
	// (maxUnavailable 1) while the first two are down.
	helm(t, "upgrade", "ks", Umbrella, "-n", ns, "--reuse-values", "--wait", "--timeout", "5m",
		"--set-string", "reader.months="+monthList(loads[2].months))
	waitUnderway(t, api, year, loads[2])
	eventually(t, time.Minute, "PodDisruptionBudget allows one disruption", func() (bool, string) {
		out, err := kubectl(t, "", "get", "pdb", "-n", ns, "ks-computer", "-o",
			"jsonpath={.status.disruptionsAllowed} {.status.currentHealthy} {.status.desiredHealthy}")
		return err == nil && out == "1 5 4", out
	})
	victims := podNames(pods(t, ns, "computer"))
	loads[2].release()
	t.Logf("rest of load %v released; group lag %d", loads[2].months, brk.lag(t, group, computeTopic))
	out, ok := evict(t, ns, victims[0])
	require.True(t, ok, "evict %s: %s", victims[0], out)
	t.Logf("eviction of %s granted: %s", victims[0], out)
	out, err = kubectl(t, "", "delete", "pod", "-n", ns, victims[2], "--grace-period=0", "--force", "--wait=false")
	require.NoError(t, err, out)
	sources, err = aggregatorSources(api)
	require.NoError(t, err)
	t.Logf("force-deleted %s: %s; group lag %d; the load then: %s", victims[2], strings.TrimSpace(out),
		brk.lag(t, group, computeTopic), summarize(sources))
	out, ok = evict(t, ns, victims[1])
	require.False(t, ok, "an eviction while computers are down must break the PodDisruptionBudget")
	require.Contains(t, out, "TooManyRequests", "refused with 429")
	t.Logf("eviction of %s refused: %s", victims[1], out)
	counted(loads[2])
	waitCounted(t, api, year, loaded, want)
	readyPods(t, ns, "computer", computerImage, 5)
	after := pods(t, ns, "computer")
	require.NotContains(t, podNames(after), victims[0])
	require.NotContains(t, podNames(after), victims[2])
	require.Contains(t, podNames(after), victims[1], "the computer whose eviction was refused still runs")
	logPods(t, "after faults", after)
	brk.waitMembers(t, group, after)
	require.Zero(t, brk.lag(t, group, computeTopic))
	t.Logf("step 4 (eviction, forced delete, PDB refusal during a load): months %v exact, group %s lag 0", loaded, group)

	// 7. Uninstall leaves nothing behind.
	uninstall(t, ns)
	*installed = false
}

// TestKubeBrokerOutage: a computer and an aggregator started while their
// bootstrap address has no broker stay alive (liveness passes, no restart)
// and not Ready, and become Ready by themselves once the broker answers
// there. The bootstrap address is a port on the pod bridge where the test
// later starts a TCP relay to the broker's pod listener.
func TestKubeBrokerOutage(t *testing.T) {
	requireCluster(t)
	buildDeps(t)
	host, port, err := net.SplitHostPort(os.Getenv("KUBE_TEST_CENSUS_ADDR"))
	require.NoError(t, err, "KUBE_TEST_CENSUS_ADDR (run make test-kube)")
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	relayAddr := net.JoinHostPort(host, strconv.Itoa(p+1))
	target := podBroker(t)
	brk := newBroker(t)
	ns := testNamespace(t)
	installed := uninstallAtCleanup(t, ns)
	// Names of this run's own, as in TestKubePipeline.
	group := "outage-" + strings.TrimPrefix(ns, "kafka-scale-test-")
	// Probes every two seconds, two failures a restart: a liveness failure
	// while the broker is away would show within seconds.
	probes := func(svc string) []string {
		return []string{
			"--set", svc + ".livenessProbe.initialDelaySeconds=1",
			"--set", svc + ".livenessProbe.periodSeconds=2",
			"--set", svc + ".livenessProbe.failureThreshold=2",
			"--set", svc + ".readinessProbe.periodSeconds=2",
		}
	}
	// No reader runs in this release: the test creates the compute topic
	// that the computer subscribes to, on the broker's host listener.
	compute := harness.NewPipeline(t, "outage")
	compute.ComputeTopic = group + "-compute"
	compute.CreateComputeTopic(12)
	args := []string{"install", "ks", Umbrella, "-n", ns, "--timeout", "5m",
		"--set", "global.kafka.bootstrapServers=" + relayAddr,
		"--set", "global.topics.compute.name=" + compute.ComputeTopic,
		"--set", "global.topics.results.name=" + group + "-results",
		"--set", "global.topics.compute.replicas=1",
		"--set", "global.topics.results.replicas=1",
		"--set", "global.topics.state.replicas=1",
		"--set", "reader.enabled=false",
		"--set", "computer.group=" + group,
		"--set", "computer.replicaCount=1",
		// The chart probes a computer's readiness on /healthz, since an
		// idle extra computer never gets partitions; this one computer
		// gets them all, so /readyz tells when it has its assignment.
		"--set", "computer.readinessProbe.path=/readyz",
	}
	args = append(args, probes("computer")...)
	args = append(args, probes("aggregator")...)
	helm(t, append(args, imageValues(t)...)...)
	*installed = true

	// Alive and not Ready for several liveness windows (initial delay plus
	// two failed probes: 5 s), each poll failing at once on a restart or
	// readiness.
	const window = 15 * time.Second
	var waited []corev1.Pod
	eventually(t, 3*time.Minute, fmt.Sprintf("computer and aggregator running, not Ready, for %v without a broker", window), func() (bool, string) {
		waited = append(pods(t, ns, "computer"), pods(t, ns, "aggregator")...)
		if len(waited) != 2 {
			return false, fmt.Sprintf("%d pods", len(waited))
		}
		oldest := time.Duration(1<<63 - 1)
		for _, p := range waited {
			if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Running == nil {
				return false, fmt.Sprintf("%s not running yet: %+v", p.Name, p.Status.ContainerStatuses)
			}
			cs := p.Status.ContainerStatuses[0]
			require.Zero(t, cs.RestartCount, "%s restarted while the broker was away: %+v", p.Name, cs.LastTerminationState)
			require.False(t, cs.Ready, "%s Ready without a broker", p.Name)
			oldest = min(oldest, time.Since(cs.State.Running.StartedAt.Time))
		}
		return oldest > window, fmt.Sprintf("running %v", oldest)
	})
	logPods(t, "no broker", waited)
	for _, p := range waited {
		for _, probe := range []struct {
			path string
			code int
		}{{"/healthz", http.StatusOK}, {"/readyz", http.StatusServiceUnavailable}} {
			code, body := getAdmin(t, p, probe.path)
			t.Logf("%s %s without a broker: %d %s", p.Name, probe.path, code, body)
			require.Equal(t, probe.code, code, "%s %s: %s", p.Name, probe.path, body)
		}
	}

	// The broker comes: a relay from the bootstrap address to its listener.
	l, err := net.Listen("tcp", relayAddr)
	require.NoError(t, err)
	var relays sync.WaitGroup
	stopRelay := make(chan struct{})
	relays.Add(1)
	go func() {
		defer relays.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			relays.Add(1)
			go func() {
				defer relays.Done()
				relay(c, target, stopRelay)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		close(stopRelay)
		relays.Wait()
	})
	t.Logf("relay %s -> %s started", relayAddr, target)
	readyPods(t, ns, "computer", "ghcr.io/kafka-scale/computer:"+imageTag(t), 1)
	readyPods(t, ns, "aggregator", "ghcr.io/kafka-scale/aggregator:"+imageTag(t), 1)
	ready := append(pods(t, ns, "computer"), pods(t, ns, "aggregator")...)
	require.Equal(t, podNames(waited), podNames(ready), "the same pods became Ready")
	for _, p := range ready {
		require.Zero(t, p.Status.ContainerStatuses[0].RestartCount, "%s restarted", p.Name)
	}
	logPods(t, "broker back", ready)
	brk.waitMembers(t, group, pods(t, ns, "computer"))
	uninstall(t, ns)
	*installed = false
}

// getAdmin GETs path from pod's admin server (port 9090) at its address
// on the pod bridge, returning the status code and body.
func getAdmin(t *testing.T, pod corev1.Pod, path string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(pod.Status.PodIP, "9090") + path)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// relay copies bytes both ways between c and target until either side
// closes or stop is closed.
func relay(c net.Conn, target string, stop <-chan struct{}) {
	defer func() { _ = c.Close() }()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer func() { _ = up.Close() }()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	select {
	case <-done:
	case <-stop:
	}
	_ = c.Close()
	_ = up.Close()
	<-done
}
