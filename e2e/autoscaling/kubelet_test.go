//go:build autoscaling

package autoscaling

// The kubelet's stand-in. kwok takes pods to Running without running
// anything; this runs, for every Running pod of the release, the real
// service binary with the pod's environment, as the kubelet would run its
// container: on the host, with the container's CPU limit applied through a
// cgroup (CFS quota, as the kubelet does), stopped with SIGTERM and, after
// the pod's terminationGracePeriodSeconds, SIGKILL when the pod is deleted.
// A process that ends when nobody asked it to is started again, as the
// kubelet does for a Deployment's pods (restartPolicy Always).
// Pods share the host's network, so the admin and API ports are moved to
// free loopback ports.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kafka-scale/kafka-scale/pkg/proc"
)

// container is one pod's process.
type container struct {
	pod       string
	component string    // the container's name: computer, aggregator
	added     time.Time // when the pod was first seen
	p         *proc.Proc
	grace     time.Duration
	cgroup    string
	restarts  int // how many processes ran for this pod before this one

	mu      sync.Mutex
	readyAt time.Time // first /readyz 200
	stopped bool      // the kubelet asked it to stop
	crashed bool      // it ended without being asked to
}

func (c *container) addr(server string) string { return c.p.LoggedAddr(server) }

func (c *container) exited() bool { return c.p.Exited() }

// kubelet runs the release's pods.
type kubelet struct {
	t       *testing.T
	cs      kubernetes.Interface
	ns      string
	bins    map[string]string // container name -> binary
	logDir  string
	cgroups *cgroups

	mu         sync.Mutex
	containers map[string]*container // by pod name
	seen       map[string]time.Time  // when each pod was first seen
	restarts   map[string]int        // restarts by pod name
	finished   []*container
	events     []string
}

func newKubelet(t *testing.T, cs kubernetes.Interface, ns string, bins map[string]string, cg *cgroups) *kubelet {
	return &kubelet{t: t, cs: cs, ns: ns, bins: bins, logDir: t.TempDir(), cgroups: cg, containers: map[string]*container{},
		seen: map[string]time.Time{}, restarts: map[string]int{}}
}

func (k *kubelet) logf(format string, args ...any) {
	line := fmt.Sprintf("%s "+format, append([]any{time.Now().Format("15:04:05.000")}, args...)...)
	k.mu.Lock()
	k.events = append(k.events, line)
	k.mu.Unlock()
}

// run watches the pods until ctx ends, then stops every process.
func (k *kubelet) run(ctx context.Context, selector string) error {
	defer k.stopAll()
	for ctx.Err() == nil {
		list, err := k.cs.CoreV1().Pods(k.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("list pods: %w", err)
		}
		seen := map[string]bool{}
		for i := range list.Items {
			seen[list.Items[i].Name] = true
			k.sync(ctx, &list.Items[i])
		}
		k.forgetMissing(seen)
		w, err := k.cs.CoreV1().Pods(k.ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: list.ResourceVersion})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch pods: %w", err)
		}
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue // an error event: list again
			}
			if ev.Type == watch.Deleted {
				k.stop(pod.Name)
				continue
			}
			k.sync(ctx, pod)
		}
		w.Stop()
	}
	return nil
}

func (k *kubelet) forgetMissing(seen map[string]bool) {
	k.mu.Lock()
	var gone []string
	for name := range k.containers {
		if !seen[name] {
			gone = append(gone, name)
		}
	}
	k.mu.Unlock()
	for _, name := range gone {
		k.stop(name)
	}
}

func (k *kubelet) sync(ctx context.Context, pod *corev1.Pod) {
	k.mu.Lock()
	if _, ok := k.seen[pod.Name]; !ok {
		k.seen[pod.Name] = time.Now()
	}
	k.mu.Unlock()
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		k.stop(pod.Name)
		return
	}
	k.mu.Lock()
	_, running := k.containers[pod.Name]
	k.mu.Unlock()
	if running || pod.Status.Phase != corev1.PodRunning {
		return
	}
	c, err := k.start(ctx, pod)
	if err != nil {
		k.logf("pod %s: start: %v", pod.Name, err)
		k.t.Errorf("start pod %s: %v", pod.Name, err)
		return
	}
	k.mu.Lock()
	k.containers[pod.Name] = c
	k.mu.Unlock()
}

// env is the container's environment as the kubelet builds it: envFrom
// ConfigMaps, then env entries (literal values and the pod's own fields).
func (k *kubelet) env(ctx context.Context, pod *corev1.Pod, ctr *corev1.Container) (map[string]string, error) {
	env := map[string]string{}
	for _, from := range ctr.EnvFrom {
		if from.ConfigMapRef == nil {
			return nil, fmt.Errorf("envFrom %+v: only configMapRef is supported here", from)
		}
		cm, err := k.cs.CoreV1().ConfigMaps(k.ns).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("configMap %s: %w", from.ConfigMapRef.Name, err)
		}
		for key, v := range cm.Data {
			env[from.Prefix+key] = v
		}
	}
	for _, e := range ctr.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = pod.Name
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = pod.Namespace
		default:
			return nil, fmt.Errorf("env %s: only values and metadata.name/namespace fields are supported here", e.Name)
		}
	}
	// One network namespace for all pods: every server on a free port.
	env["METRICS_ADDR"] = "127.0.0.1:0"
	if _, ok := env["LISTEN"]; ok || ctr.Name == "aggregator" {
		env["LISTEN"] = "127.0.0.1:0"
	}
	env["LOG_FORMAT"] = "json"
	return env, nil
}

func (k *kubelet) start(ctx context.Context, pod *corev1.Pod) (*container, error) {
	if len(pod.Spec.Containers) != 1 {
		return nil, fmt.Errorf("%d containers: want 1", len(pod.Spec.Containers))
	}
	ctr := &pod.Spec.Containers[0]
	bin, ok := k.bins[ctr.Name]
	if !ok {
		return nil, fmt.Errorf("no binary for container %s", ctr.Name)
	}
	env, err := k.env(ctx, pod, ctr)
	if err != nil {
		return nil, err
	}
	grace := 30 * time.Second
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	k.mu.Lock()
	added, restarts := k.seen[pod.Name], k.restarts[pod.Name]
	k.mu.Unlock()
	envList := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "HOSTNAME=" + pod.Name}
	keys := make([]string, 0, len(env))
	for key := range env {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		envList = append(envList, key+"="+env[key])
	}
	// Stdout goes to the log too, as a container's does.
	p, err := proc.Start(proc.Cmd{Name: pod.Name, Path: bin, Args: ctr.Args, LogDir: k.logDir, Env: envList})
	if err != nil {
		return nil, err
	}
	c := &container{pod: pod.Name, component: ctr.Name, added: added, grace: grace, p: p, restarts: restarts}
	if milli := ctr.Resources.Limits.Cpu().MilliValue(); milli > 0 && k.cgroups != nil {
		if c.cgroup, err = k.cgroups.limit(pod.Name, milli, p.PID()); err != nil {
			p.Kill()
			return nil, fmt.Errorf("cpu limit: %w", err)
		}
	}
	k.logf("pod %s: started %s (pid %d, cpu limit %s)", pod.Name, ctr.Name, p.PID(), ctr.Resources.Limits.Cpu())
	go func() {
		<-p.Done()
		k.logf("pod %s: %s exited (%v)", c.pod, c.component, p.Err())
		k.restart(ctx, c)
	}()
	go c.watchReady()
	return c, nil
}

// restartBackoff is the kubelet's first crash-loop back-off.
const restartBackoff = 10 * time.Second

// restart starts a pod's process again, after the kubelet's back-off, if
// it ended without being asked to while its pod still runs.
func (k *kubelet) restart(ctx context.Context, c *container) {
	c.mu.Lock()
	if c.stopped || ctx.Err() != nil {
		c.mu.Unlock()
		return
	}
	c.crashed = true
	c.mu.Unlock()
	k.mu.Lock()
	if k.containers[c.pod] != c {
		k.mu.Unlock()
		return
	}
	delete(k.containers, c.pod)
	k.finished = append(k.finished, c)
	k.restarts[c.pod]++
	k.mu.Unlock()
	if c.cgroup != "" {
		k.cgroups.remove(c.cgroup)
	}
	k.logf("pod %s: %s ended unasked; restarting it in %v", c.pod, c.component, restartBackoff)
	select {
	case <-ctx.Done():
		return
	case <-time.After(restartBackoff):
	}
	pod, err := k.cs.CoreV1().Pods(k.ns).Get(ctx, c.pod, metav1.GetOptions{})
	if err != nil {
		k.logf("pod %s: not restarted: %v", c.pod, err)
		return
	}
	k.sync(ctx, pod)
}

// watchReady notes when the process first answers /readyz with 200: for a
// computer, when it has partitions.
func (c *container) watchReady() {
	a, err := c.p.Addr(context.Background(), "admin")
	if err != nil {
		return // it ended before listening
	}
	for !c.exited() {
		resp, err := http.Get("http://" + a + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c.mu.Lock()
				c.readyAt = time.Now()
				c.mu.Unlock()
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends a pod's process as the kubelet does: SIGTERM, then SIGKILL
// once the grace period is over. It does not wait.
func (k *kubelet) stop(name string) {
	k.mu.Lock()
	c := k.containers[name]
	delete(k.containers, name)
	if c != nil {
		k.finished = append(k.finished, c)
	}
	k.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	already := c.stopped
	c.stopped = true
	c.mu.Unlock()
	if already {
		return
	}
	k.logf("pod %s: SIGTERM to %s", name, c.component)
	go func() {
		if err := c.p.Stop(c.grace); errors.Is(err, proc.ErrKilled) {
			k.logf("pod %s: grace period over, SIGKILL", name)
		}
		if c.cgroup != "" {
			k.cgroups.remove(c.cgroup)
		}
	}()
}

// stopAll stops every process and waits for them (each within its grace).
func (k *kubelet) stopAll() {
	k.mu.Lock()
	var names []string
	for name := range k.containers {
		names = append(names, name)
	}
	k.mu.Unlock()
	for _, n := range names {
		k.stop(n)
	}
	k.mu.Lock()
	all := append([]*container(nil), k.finished...)
	k.mu.Unlock()
	for _, c := range all {
		<-c.p.Done()
		if c.cgroup != "" {
			k.cgroups.remove(c.cgroup)
		}
	}
}

// running lists the live processes of a component.
func (k *kubelet) running(component string) []*container {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []*container
	for _, c := range k.containers {
		if c.component == component && !c.exited() {
			out = append(out, c)
		}
	}
	return out
}

// all lists every process started, live or not.
func (k *kubelet) all() []*container {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := append([]*container(nil), k.finished...)
	for _, c := range k.containers {
		out = append(out, c)
	}
	return out
}

// failedStops lists the processes that the kubelet stopped and that
// ended other than with 0: a SIGTERM must end a service cleanly.
func (k *kubelet) failedStops() []string {
	var out []string
	for _, c := range k.all() {
		c.mu.Lock()
		crashed := c.crashed
		c.mu.Unlock()
		if err := c.p.Err(); err != nil && !crashed {
			out = append(out, fmt.Sprintf("%s: %v", c.pod, err))
		}
	}
	return out
}

// crashes lists the processes that ended unasked (and were restarted),
// each with the last error its log gave, or "" when it logged none.
func (k *kubelet) crashes() []crash {
	var out []crash
	for _, c := range k.all() {
		c.mu.Lock()
		crashed := c.crashed
		c.mu.Unlock()
		if !crashed {
			continue
		}
		cr := crash{pod: c.pod, component: c.component, exit: c.p.Err()}
		b, _ := os.ReadFile(c.p.LogPath)
		for _, l := range strings.Split(string(b), "\n") {
			var e struct {
				Level string `json:"level"`
				Msg   string `json:"msg"`
				Error string `json:"error"`
			}
			if json.Unmarshal([]byte(l), &e) == nil && (e.Level == "error" || e.Level == "fatal") {
				cr.logged = e.Msg + ": " + e.Error
			}
		}
		out = append(out, cr)
	}
	return out
}

type crash struct {
	pod, component string
	exit           error
	logged         string
}

// dump keeps every pod's log in a directory that outlives the test and
// writes to the test log the kubelet's events and, for each pod, its
// warnings and errors (at most lines of them), one short line each: the
// test's own failure stays near the end of the output.
func (k *kubelet) dump(lines int) {
	k.mu.Lock()
	k.t.Logf("kubelet events:\n%s", strings.Join(k.events, "\n"))
	k.mu.Unlock()
	keep, err := os.MkdirTemp("", "kafka-scale-autoscaling-logs-")
	if err != nil {
		k.t.Logf("keep the pods' logs: %v", err)
	}
	for _, c := range k.all() {
		b, _ := os.ReadFile(c.p.LogPath)
		if keep != "" {
			if err := os.WriteFile(filepath.Join(keep, filepath.Base(c.p.LogPath)), b, 0o644); err != nil {
				k.t.Logf("keep %s: %v", c.p.LogPath, err)
			}
		}
		var notable []string
		for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if s, ok := notableLine(l); ok {
				notable = append(notable, s)
			}
		}
		if len(notable) > lines {
			notable = append([]string{fmt.Sprintf("(%d earlier lines left out)", len(notable)-lines)}, notable[len(notable)-lines:]...)
		}
		k.t.Logf("--- %s (%s): %d warnings and errors ---\n%s", c.pod, c.component, len(notable), strings.Join(notable, "\n"))
	}
	if keep != "" {
		k.t.Logf("every pod's whole log: %s", keep)
	}
}

// notableLine shortens a JSON log line of level warn or above to its time,
// level, message and error; other levels are left out. A line that is not
// JSON (a panic, the runtime's output) is kept as it is.
func notableLine(line string) (string, bool) {
	var l struct {
		TS    string `json:"ts"`
		Level string `json:"level"`
		Msg   string `json:"msg"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		return line, strings.TrimSpace(line) != ""
	}
	if l.Level == "debug" || l.Level == "info" {
		return "", false
	}
	s := fmt.Sprintf("%s %s %s", strings.TrimPrefix(l.TS, time.Now().Format("2006-01-02T")), l.Level, l.Msg)
	if l.Error != "" {
		s += ": " + l.Error
	}
	const maxLen = 300
	if len(s) > maxLen {
		s = s[:maxLen] + "…"
	}
	return s, true
}

// cgroups puts processes under a CPU quota, with cgroup v2 or v1's cpu
// controller, in a parent group of this test.
type cgroups struct {
	root   string // the test's parent group
	v2     bool
	period int64 // CFS period in µs, the kubelet's 100 ms
}

func newCgroups(t *testing.T) (*cgroups, error) {
	name := "kafka-scale-autoscaling-" + strconv.Itoa(os.Getpid())
	cg := &cgroups{period: 100_000}
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(b), "cpu") {
		cg.v2, cg.root = true, filepath.Join("/sys/fs/cgroup", name)
	} else if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err == nil {
		cg.root = filepath.Join("/sys/fs/cgroup/cpu", name)
	} else {
		return nil, errors.New("neither cgroup v2 with the cpu controller nor cgroup v1's cpu controller is mounted")
	}
	if err := os.Mkdir(cg.root, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup %s (the test applies the pods' CPU limits; run it as root): %w", cg.root, err)
	}
	if cg.v2 {
		if err := os.WriteFile(filepath.Join(cg.root, "cgroup.subtree_control"), []byte("+cpu"), 0o644); err != nil {
			_ = os.Remove(cg.root)
			return nil, fmt.Errorf("enable the cpu controller in %s: %w", cg.root, err)
		}
	}
	t.Cleanup(func() {
		if err := os.Remove(cg.root); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("remove cgroup %s: %v", cg.root, err)
		}
	})
	return cg, nil
}

// limit creates a group for pod with a quota of milli CPU and moves pid
// (all its threads) into it.
func (cg *cgroups) limit(pod string, milli int64, pid int) (string, error) {
	dir := filepath.Join(cg.root, pod)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	quota := milli * cg.period / 1000
	var err error
	if cg.v2 {
		err = os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(fmt.Sprintf("%d %d", quota, cg.period)), 0o644)
	} else {
		if err = os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.FormatInt(cg.period, 10)), 0o644); err == nil {
			err = os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.FormatInt(quota, 10)), 0o644)
		}
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
	}
	if err != nil {
		_ = os.Remove(dir)
		return "", err
	}
	return dir, nil
}

// remove deletes a pod's group once its processes are gone.
func (cg *cgroups) remove(dir string) {
	for i := 0; i < 50; i++ {
		if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
