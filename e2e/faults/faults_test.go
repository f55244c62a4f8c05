//go:build faults

// Broker failures during a load, on a real three-node KRaft cluster
// (scripts/kafka-cluster.sh, replication factor 3, min.insync.replicas 2):
// each test loads several months through two computers, breaks the cluster
// while records flow, and ends with the aggregator's results exactly the
// generator's and every source complete, without restarting a service by
// hand. A computer that must exit (its Kafka client stuck) is started again
// under the same name and transactional id, as Kubernetes restarts a pod's
// container, and the test checks that it said why.
//
//	make test-faults
package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/e2e/harness"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
)

const (
	records  = 60_000 // per month
	replicas = "3"
	// The transaction state topic's partitions (kafka-local.sh's
	// transaction.state.log.num.partitions).
	txnStatePartitions = 10
	waitComplete       = 5 * time.Minute
)

// cluster drives scripts/kafka-cluster.sh for the cluster the test runs on.
type cluster struct {
	t         *testing.T
	script    string
	bootstrap string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	if os.Getenv("KAFKA_CLUSTER_PORT") == "" {
		t.Fatal("KAFKA_CLUSTER_PORT is not set: run `make test-faults`, which starts the cluster")
	}
	c := &cluster{t: t, script: filepath.Join(harness.RepoRoot(t), "scripts", "kafka-cluster.sh"),
		bootstrap: harness.Bootstrap(t)}
	// Whatever a test did, the next one starts with every node running.
	c.run("start")
	t.Cleanup(func() { c.run("start") })
	return c
}

func (c *cluster) run(args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.script, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("kafka-cluster.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (c *cluster) admin() *extkafka.Admin {
	c.t.Helper()
	a, err := extkafka.NewAdmin(extkafka.AdminConfig(extkafka.Config{BootstrapServers: c.bootstrap}), zap.NewNop())
	require.NoError(c.t, err)
	c.t.Cleanup(a.Close)
	return a
}

// leader is the node that leads partition of topic.
func (c *cluster) leader(topic string, partition int32) int {
	c.t.Helper()
	a := c.admin()
	var leader int
	harness.Eventually(c.t, time.Minute, func() (bool, string) {
		md, err := a.GetMetadata(&topic, false, 10_000)
		if err != nil {
			return false, err.Error()
		}
		for _, p := range md.Topics[topic].Partitions {
			if p.ID == partition && p.Leader > 0 {
				leader = int(p.Leader)
				return true, ""
			}
		}
		return false, fmt.Sprintf("no leader of %s[%d] yet", topic, partition)
	})
	return leader
}

// txnCoordinator is the node that coordinates transactionalID's
// transactions: the leader of its partition of __transaction_state, chosen
// as the broker does (the Java hash of the id, modulo the partitions).
func (c *cluster) txnCoordinator(transactionalID string) int {
	var h int32
	for _, r := range transactionalID {
		h = 31*h + int32(r)
	}
	if h < 0 {
		h = -h // Kafka's Utils.abs, for every value but MinInt32
	}
	return c.leader("__transaction_state", h%txnStatePartitions)
}

// load is one pipeline, two computers and an aggregator, loading months.
type load struct {
	t         *testing.T
	p         *harness.Pipeline
	dir       string
	api       string
	procs     []*harness.Proc
	computers []*harness.Proc
	months    int

	mu           sync.Mutex
	computerArgs []string
	exits        []exit // computers that exited and were started again
}

// exit is a computer's exit during a load.
type exit struct {
	name string
	code int
	why  string // the error it logged last
	at   time.Time
}

func startLoad(t *testing.T, name string, months []int, extra ...string) (*load, func() bool) {
	t.Helper()
	dir := t.TempDir()
	want, _ := harness.Generate(t, dir, 2018, months, records, 7)
	l := &load{t: t, p: harness.NewPipeline(t, name), dir: dir, months: len(months)}
	l.p.ReplicationFactor = 3
	agg := l.p.Aggregator("aggregator", append([]string{"--replication-factor", replicas}, extra...)...)
	l.api = agg.Addr("api", time.Minute)
	l.procs = append(l.procs, agg)
	l.p.CreateComputeTopic(6)
	l.computerArgs = append([]string{"--replication-factor", replicas}, extra...)
	for i := 1; i <= 2; i++ {
		c := l.p.Computer(fmt.Sprintf("computer-%d", i), l.computerArgs...)
		l.computers = append(l.computers, c)
		l.procs = append(l.procs, c)
	}
	for _, c := range l.computers {
		c.WaitReady(2 * time.Minute)
	}
	l.supervise()
	check := func() bool {
		harness.CheckAPI(t, l.api, want)
		return true
	}
	return l, check
}

// supervise starts a computer that exits again, under the same name (and so
// the same transactional id, whose next producer aborts what the last left
// open), as a pod's restart policy does.
func (l *load) supervise() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			l.mu.Lock()
			for i, c := range l.computers {
				if !c.Exited() {
					continue
				}
				l.exits = append(l.exits, exit{name: c.Name, code: c.Wait(time.Second), why: lastError(c.Log()), at: time.Now()})
				l.computers[i] = l.p.Computer(c.Name, l.computerArgs...)
				l.procs = append(l.procs, l.computers[i])
			}
			l.mu.Unlock()
		}
	}()
	l.t.Cleanup(func() { close(stop); <-done })
}

const noError = "no error logged"

// logEntry is what these tests read of a service's JSON log line.
type logEntry struct {
	Level string `json:"level"`
	TS    string `json:"ts"` // zap's ISO 8601 (pkg/logging)
	Msg   string `json:"msg"`
	Err   string `json:"error"`
}

// logEntries are the JSON lines of a log, in order.
func logEntries(log string) []logEntry {
	var out []logEntry
	for _, line := range strings.Split(log, "\n") {
		var e logEntry
		if json.Unmarshal([]byte(line), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// lastError is the last error line of a JSON log: message and error.
func lastError(log string) string {
	why := noError
	for _, e := range logEntries(log) {
		if e.Level == "error" || e.Level == "fatal" {
			why = e.Msg + ": " + e.Err
		}
	}
	return why
}

// read starts a reader on the files of the given months.
func (l *load) read(name string, months []int, extra ...string) *harness.Proc {
	args := []string{"--replication-factor", replicas}
	for _, m := range months {
		args = append(args, "--from-file", filepath.Join(l.dir, fmt.Sprintf("%s18pub.dat.gz", monthName[m])))
	}
	r := l.p.Reader(name, append(args, extra...)...)
	l.procs = append(l.procs, r)
	return r
}

var monthName = map[int]string{1: "jan", 2: "feb", 3: "mar", 4: "apr"}

// counted is the sum of the records the aggregator has counted.
func (l *load) counted() uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srcs, err := harness.Sources(ctx, l.api)
	if err != nil {
		return 0
	}
	var n uint64
	for _, s := range srcs {
		n += s.Records
	}
	return n
}

// progress records, every 100 ms, what the aggregator has counted, so that
// the test can say how long records stopped flowing after a fault.
type progress struct {
	mu      sync.Mutex
	samples []sample
	stop    chan struct{}
	done    chan struct{}
}

type sample struct {
	at      time.Time
	counted uint64
}

func (l *load) watch() *progress {
	pr := &progress{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(pr.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			n := l.counted()
			pr.mu.Lock()
			pr.samples = append(pr.samples, sample{time.Now(), n})
			pr.mu.Unlock()
			select {
			case <-pr.stop:
				return
			case <-tick.C:
			}
		}
	}()
	l.t.Cleanup(pr.end)
	return pr
}

func (pr *progress) end() {
	select {
	case <-pr.stop:
	default:
		close(pr.stop)
	}
	<-pr.done
}

// stall is the longest time after the fault during which the count did not
// grow while records were still outstanding, and when counting resumed after
// it.
func (pr *progress) stall(fault time.Time, total uint64) (longest, resumedAfter time.Duration) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	var last *sample
	for i := range pr.samples {
		s := &pr.samples[i]
		if s.at.Before(fault) {
			last = s
			continue
		}
		if last == nil {
			last = s
			continue
		}
		if s.counted > last.counted {
			if gap := s.at.Sub(last.at); last.counted < total && gap > longest {
				longest, resumedAfter = gap, s.at.Sub(fault)
			}
			last = s
		}
	}
	return longest, resumedAfter
}

// finish waits for every source, checks the results exactly, and reports
// what the services logged at warn level and above since the fault.
func (l *load) finish(check func() bool, pr *progress, fault time.Time, what string) {
	l.t.Helper()
	harness.WaitSources(l.t, l.api, waitComplete, harness.AllComplete(l.months))
	require.True(l.t, check())
	pr.end()
	longest, resumed := pr.stall(fault, uint64(l.months*records))
	l.t.Logf("%s: records counted again %.1f s after the fault (longest stall %.1f s); results exact, %d sources complete",
		what, resumed.Seconds(), longest.Seconds(), l.months)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.exits {
		l.t.Logf("%s exited %.1f s after the fault with code %d and was started again; it logged: %s",
			e.name, e.at.Sub(fault).Seconds(), e.code, e.why)
		// A computer may have to exit: its Kafka client stuck, or a fatal
		// producer error (a producer cannot be used again after one). It
		// must say so.
		if e.code == 0 || e.why == noError {
			l.t.Errorf("%s exited without saying it had to: code %d, %s", e.name, e.code, e.why)
		}
	}
	for _, p := range l.procs {
		if p.Exited() && p.Name == "aggregator" {
			l.t.Errorf("the aggregator exited during the fault")
		}
		l.t.Logf("%s logged: %s", p.Name, notable(p.Log(), fault))
	}
}

// zapISO8601 is the layout of zapcore.ISO8601TimeEncoder.
const zapISO8601 = "2006-01-02T15:04:05.000Z0700"

// notable sums up a JSON log's warn and error lines since t: each distinct
// message with its count.
func notable(log string, since time.Time) string {
	counts := map[string]int{}
	for _, e := range logEntries(log) {
		if e.Level != "warn" && e.Level != "error" && e.Level != "fatal" {
			continue
		}
		if ts, err := time.Parse(zapISO8601, e.TS); err == nil && ts.Before(since) {
			continue
		}
		msg := e.Level + " " + e.Msg
		if e.Err != "" {
			msg += ": " + e.Err
		}
		if len(msg) > 160 {
			msg = msg[:160] + "..."
		}
		counts[msg]++
	}
	if len(counts) == 0 {
		return "nothing at warn or above"
	}
	var out []string
	for m, n := range counts {
		out = append(out, fmt.Sprintf("%dx %s", n, m))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// waitFlowing waits until the aggregator has counted some records and not
// all: the moment to break something.
func (l *load) waitFlowing() {
	l.t.Helper()
	harness.Eventually(l.t, 2*time.Minute, func() (bool, string) {
		n := l.counted()
		return n > 0 && n < uint64(l.months*records), fmt.Sprintf("%d records counted", n)
	})
}

// fault is what a test does to the cluster during a load.
type fault struct {
	name string
	// kafkaConfig, if set, is --kafka-config for every service.
	kafkaConfig string
	// inject breaks the cluster once records flow, and says what it did.
	inject func(c *cluster, l *load) string
	// during, if set, runs once the second reader has started; after, if
	// set, once both readers have exited.
	during, after func(c *cluster)
}

// runFault loads three months through two computers: the first two months
// with one reader, then f.inject, then the third with a second reader
// started at once. It ends with every source complete and the results
// exact, and logs how long counting stopped and what the services logged.
func runFault(t *testing.T, f fault) {
	c := newCluster(t)
	var extra []string
	if f.kafkaConfig != "" {
		extra = []string{"--kafka-config", f.kafkaConfig}
	}
	l, check := startLoad(t, f.name, []int{1, 2, 3}, extra...)
	pr := l.watch()
	r1 := l.read("reader-1", []int{1, 2}, extra...)
	l.waitFlowing()
	at := time.Now()
	what := f.inject(c, l)
	t.Log(what)
	r2 := l.read("reader-2", []int{3}, extra...)
	if f.during != nil {
		f.during(c)
	}
	require.Equal(t, 0, r1.Wait(3*time.Minute), "reader-1's exit code")
	require.Equal(t, 0, r2.Wait(3*time.Minute), "reader-2's exit code")
	if f.after != nil {
		f.after(c)
	}
	l.finish(check, pr, at, what)
}

// TestFaultComputeLeaderKilled: the leader of a compute partition is killed
// with SIGKILL mid-load and started again once the readers are done.
func TestFaultComputeLeaderKilled(t *testing.T) {
	var victim int
	runFault(t, fault{
		name: "fault-leader",
		inject: func(c *cluster, l *load) string {
			victim = c.leader(l.p.ComputeTopic, 0)
			c.run("kill", fmt.Sprint(victim))
			return fmt.Sprintf("killed node %d, the leader of %s[0]", victim, l.p.ComputeTopic)
		},
		after: func(c *cluster) { c.run("start", fmt.Sprint(victim)) },
	})
}

// TestFaultTxnCoordinatorKilled: the broker that coordinates a computer's
// transactions is killed mid-load (and started again only for the next
// test).
func TestFaultTxnCoordinatorKilled(t *testing.T) {
	runFault(t, fault{
		name: "fault-txn",
		inject: func(c *cluster, l *load) string {
			victim := c.txnCoordinator(l.p.Group + "-computer-1")
			c.run("kill", fmt.Sprint(victim))
			return fmt.Sprintf("killed node %d, the transaction coordinator of %s-computer-1", victim, l.p.Group)
		},
	})
}

// TestFaultBrokerPaused: a broker (the compute leader) is frozen with
// SIGSTOP for longer than the clients' session and request timeouts, here
// lowered to 10 s so that the test stays short, then resumed.
func TestFaultBrokerPaused(t *testing.T) {
	var victim int
	runFault(t, fault{
		name:        "fault-pause",
		kafkaConfig: "socket.timeout.ms=10000,session.timeout.ms=10000",
		inject: func(c *cluster, l *load) string {
			victim = c.leader(l.p.ComputeTopic, 0)
			c.run("pause", fmt.Sprint(victim))
			return fmt.Sprintf("paused node %d, the leader of %s[0], for 20 s", victim, l.p.ComputeTopic)
		},
		during: func(c *cluster) {
			// The fault lasts longer than both timeouts (this waits out the
			// fault's length; it synchronises nothing). The other nodes go on.
			time.Sleep(20 * time.Second)
			c.run("resume", fmt.Sprint(victim))
		},
	})
}

// TestFaultClusterRestarted: every broker is stopped mid-load, then the
// cluster is started again while the services keep running.
func TestFaultClusterRestarted(t *testing.T) {
	runFault(t, fault{
		name: "fault-restart",
		inject: func(c *cluster, _ *load) string {
			c.run("stop")
			return "stopped every node"
		},
		during: func(c *cluster) { c.run("start") },
	})
}

// TestFaultLogSummary: notable reads the services' JSON logs (zap, ISO 8601
// times) and keeps warn and error lines since the fault.
func TestFaultLogSummary(t *testing.T) {
	fault := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	log := strings.Join([]string{
		`{"level":"error","ts":"2026-12-02T09:59:59.000Z","msg":"before the fault"}`,
		`{"level":"info","ts":"2026-12-02T10:00:01.000Z","msg":"not notable"}`,
		`{"level":"warn","ts":"2026-12-02T10:00:02.500Z","msg":"broker down","error":"connection refused"}`,
		`{"level":"warn","ts":"2026-12-02T11:00:03.000+0100","msg":"broker down","error":"connection refused"}`,
		`{"level":"error","ts":"2026-12-02T10:00:04.000Z","msg":"transaction aborted"}`,
		`not json`,
	}, "\n")
	require.Equal(t, "1x error transaction aborted; 2x warn broker down: connection refused", notable(log, fault))
	require.Equal(t, "nothing at warn or above", notable(`{"level":"info","ts":"2026-12-02T10:00:01.000Z","msg":"x"}`, fault))
}
