package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kafka-scale/kafka-scale/bench/internal/machine"
	"github.com/kafka-scale/kafka-scale/bench/internal/proc"
	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
)

// Services are the processes a run measures, in report order.
var Services = []string{"reader", "computer", "aggregator"}

// Sample is one end-to-end run on Months months.
type Sample struct {
	Months  int
	Records int
	// Wall is from the reader's start to every source complete in the
	// aggregator's API.
	Wall time.Duration
	// CPU is each service's CPU time over the run (computers together),
	// and the brokers' under "broker": from the reader's start to every
	// source complete, plus the reader's whole life.
	CPU map[string]time.Duration
	// PeakRSS is each service's peak resident memory (VmHWM) up to every
	// source complete, the largest computer's.
	PeakRSS map[string]int64
	// BrokerDisk is the disk space the run's topics (compute, results,
	// state) take on the brokers, all replicas, indexes included. (The
	// data directories' growth would not do: the topics of the run before
	// are deleted meanwhile.)
	BrokerDisk int64
	// ResultsBytes and StateBytes are the results topic's and the
	// aggregator's state topic's log segments, all replicas.
	ResultsBytes, StateBytes int64
	Load                     float64 // 1-minute load average at the start
	// MachineCPU is the CPU time every process of the machine used from
	// the reader's start to every source complete (/proc/stat), ours and
	// other work's.
	MachineCPU time.Duration
}

// OthersCPU is the CPU time other work on the machine took during the run.
func (s Sample) OthersCPU() time.Duration {
	return max(0, s.MachineCPU-s.CPUTotal())
}

// Rate is the run's records per second.
func (s Sample) Rate() float64 { return float64(s.Records) / s.Wall.Seconds() }

// CPUTotal is the CPU time of every service and the brokers.
func (s Sample) CPUTotal() time.Duration {
	var sum time.Duration
	for _, d := range s.CPU {
		sum += d
	}
	return sum
}

// FloorRatio is the wall time against the least it could be on cores:
// every CPU second of the run spread evenly over them.
func (s Sample) FloorRatio(cores int) float64 {
	return s.Wall.Seconds() / (s.CPUTotal().Seconds() / float64(cores))
}

// Runner runs the pipeline against a cluster.
type Runner struct {
	Cluster    *Cluster
	Bin        func(name string) string // path of a service's binary
	LogDir     string
	Partitions int // of the compute topic
	Computers  int
	Prefix     string // of every topic and group, unique to the benchmark
	Timeout    time.Duration
	// ProfileDir, when set, gets CPU profiles (ProfileSeconds from the
	// reader's start) of the reader, the first computer and the
	// aggregator, a heap profile of the reader after its CPU profile,
	// and of the other two once every source is complete, all from their admin servers' /debug/pprof, named
	// <run>-<service>.{cpu,heap}.pprof. Profiling costs CPU and memory of its
	// own: a profiled run is no sample.
	ProfileDir     string
	ProfileSeconds int
}

// Run loads files (records in all) through a fresh set of topics, with the
// aggregator and computers started and settled first, and measures it.
// It deletes the run's topics afterwards.
func (r *Runner) Run(ctx context.Context, name string, files []string, records int) (s Sample, err error) {
	s = Sample{Months: len(files), Records: records, Load: machine.Load1(),
		CPU: map[string]time.Duration{}, PeakRSS: map[string]int64{}}
	topic := func(kind string) string { return r.Prefix + "-" + kind + "-" + name }
	compute, results, group := topic("compute"), topic("results"), topic("group")
	state := results + "-aggregator-state"
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, derr := r.Cluster.Admin.DeleteTopics(dctx, []string{compute, results, state}); derr != nil && err == nil {
			err = fmt.Errorf("delete the topics of %s: %w", name, derr)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	if _, err := extkafka.EnsureTopic(ctx, r.Cluster.Admin, extkafka.TopicSpec{Name: compute, Partitions: r.Partitions,
		ReplicationFactor: extkafka.BrokerDefaultReplication}); err != nil {
		return s, fmt.Errorf("%s: %w", name, err)
	}
	g := proc.NewGroup(r.LogDir, "KAFKA_BOOTSTRAP_SERVERS="+r.Cluster.Bootstrap, "LOG_FORMAT=json", "LOG_LEVEL=info")
	defer g.Close()
	agg, err := g.Start("aggregator-"+name, r.Bin("aggregator"), "--results-topic", results,
		"--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	if err != nil {
		return s, err
	}
	computers := make([]*proc.Proc, r.Computers)
	for i := range computers {
		if computers[i], err = g.Start(fmt.Sprintf("computer-%s-%d", name, i), r.Bin("computer"), "--compute-topic", compute,
			"--results-topic", results, "--group", group, "--transactional-id", fmt.Sprintf("%s-%d", group, i),
			"--metrics-addr", "127.0.0.1:0"); err != nil {
			return s, err
		}
	}
	watches := map[*proc.Proc]*hwmWatch{agg: watchHWM(agg)}
	for _, c := range computers {
		watches[c] = watchHWM(c)
	}
	if err := r.settle(ctx, agg, computers); err != nil {
		return s, fmt.Errorf("%s: %w", name, err)
	}
	api, err := agg.Addr(ctx, "api")
	if err != nil {
		return s, err
	}
	broker0, err := r.Cluster.CPU()
	if err != nil {
		return s, err
	}
	cpu0 := cpuOf(append([]*proc.Proc{agg}, computers...))
	args := []string{"--compute-topic", compute, "--metrics-addr", "127.0.0.1:0"}
	for _, f := range files {
		args = append(args, "--from-file", f)
	}
	machine0, err := MachineCPU()
	if err != nil {
		return s, err
	}
	start := time.Now()
	reader, err := g.Start("reader-"+name, r.Bin("reader"), args...)
	if err != nil {
		return s, err
	}
	watches[reader] = watchHWM(reader)
	var profiles sync.WaitGroup
	if r.ProfileDir != "" {
		for svc, p := range map[string]*proc.Proc{"reader": reader, "computer": computers[0], "aggregator": agg} {
			profiles.Go(func() {
				r.profile(ctx, p, name+"-"+svc+".cpu.pprof", fmt.Sprintf("profile?seconds=%d", r.ProfileSeconds))
				if svc == "reader" { // it ends by itself: its heap now, mid-run
					r.profile(ctx, p, name+"-reader.heap.pprof", "heap")
				}
			})
		}
	}
	if err := waitComplete(ctx, api, agg, len(files), records); err != nil {
		return s, fmt.Errorf("%s: %w", name, err)
	}
	s.Wall = time.Since(start)
	machine1, err := MachineCPU()
	if err != nil {
		return s, err
	}
	s.MachineCPU = machine1 - machine0
	if r.ProfileDir != "" {
		profiles.Wait()
		r.profile(ctx, computers[0], name+"-computer.heap.pprof", "heap")
		r.profile(ctx, agg, name+"-aggregator.heap.pprof", "heap")
	}
	broker1, err := r.Cluster.CPU()
	if err != nil {
		return s, err
	}
	s.CPU["broker"] = broker1 - broker0
	cpu1 := cpuOf(append([]*proc.Proc{agg}, computers...))
	s.CPU["aggregator"] = cpu1[0] - cpu0[0]
	for i := range computers {
		s.CPU["computer"] += cpu1[i+1] - cpu0[i+1]
	}
	if err := reader.Wait(ctx); err != nil {
		return s, fmt.Errorf("%s: reader: %w (log %s)", name, err, reader.LogPath)
	}
	s.CPU["reader"] = reader.CPU()
	s.PeakRSS["reader"] = watches[reader].Peak()
	s.ResultsBytes = r.Cluster.TopicBytes(results)
	for _, c := range computers {
		s.PeakRSS["computer"] = max(s.PeakRSS["computer"], watches[c].Peak())
	}
	s.PeakRSS["aggregator"] = watches[agg].Peak()
	// The aggregator writes its last snapshot as it stops: the state
	// topic is measured after.
	for _, p := range append(computers, agg) {
		if err := p.Stop(30 * time.Second); err != nil {
			return s, err
		}
	}
	s.StateBytes = r.Cluster.TopicBytes(state)
	s.BrokerDisk = r.Cluster.DiskBytes(compute, results, state)
	return s, nil
}

// profile saves /debug/pprof/<what> of p's admin server to ProfileDir;
// a profile that fails is logged in its place, it does not fail the run.
func (r *Runner) profile(ctx context.Context, p *proc.Proc, file, what string) {
	path := filepath.Join(r.ProfileDir, file)
	admin, err := p.Addr(ctx, "admin")
	if err == nil {
		err = savePprof(ctx, "http://"+admin+"/debug/pprof/"+what, path)
	}
	if err != nil {
		_ = os.WriteFile(path+".err", []byte(err.Error()+"\n"), 0o644)
	}
}

func savePprof(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return os.WriteFile(path, body, 0o644)
}

// settle waits until every process is ready and the computers hold every
// partition between them, each some: the run then measures the work and not
// the group's formation.
func (r *Runner) settle(ctx context.Context, agg *proc.Proc, computers []*proc.Proc) error {
	var admins []string
	for _, p := range append([]*proc.Proc{agg}, computers...) {
		admin, err := p.Addr(ctx, "admin")
		if err != nil {
			return err
		}
		if err := proc.Poll(ctx, 50*time.Millisecond, func() (bool, error) {
			if p.Exited() {
				return false, fmt.Errorf("%s exited early (log %s)", p.Name, p.LogPath)
			}
			return proc.Ready(ctx, admin), nil
		}); err != nil {
			return fmt.Errorf("%s not ready: %w", p.Name, err)
		}
		if p != agg {
			admins = append(admins, admin)
		}
	}
	err := proc.Poll(ctx, 50*time.Millisecond, func() (bool, error) {
		total := 0
		for _, a := range admins {
			v, err := proc.MetricSum(ctx, a, "kafka_scale_computer_assigned_partitions")
			if err != nil || v == 0 {
				return false, nil //nolint:nilerr // not settled yet
			}
			total += int(v)
		}
		return total == r.Partitions, nil
	})
	if err != nil {
		return fmt.Errorf("the group never settled: %w", err)
	}
	return nil
}

// waitComplete polls the aggregator's API until sources sources are
// complete with records records in all.
func waitComplete(ctx context.Context, api string, p *proc.Proc, sources, records int) error {
	return proc.Poll(ctx, 20*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, fmt.Errorf("%s exited early (log %s)", p.Name, p.LogPath)
		}
		var body apiv1.SourcesResponse
		if err := proc.GetJSON(ctx, "http://"+api+"/v1/sources", &body); err != nil {
			return false, nil //nolint:nilerr // not serving yet
		}
		complete, got := 0, uint64(0)
		for _, s := range body.Sources {
			got += s.Records
			if s.Complete {
				complete++
			}
		}
		return complete == sources && got == uint64(records), nil
	})
}

func cpuOf(ps []*proc.Proc) []time.Duration {
	out := make([]time.Duration, len(ps))
	for i, p := range ps {
		out[i] = p.CPU()
	}
	return out
}

// hwmWatch follows a process's peak resident memory, VmHWM of
// /proc/<pid>/status: the kernel's high-water mark of its memory since its
// exec. (getrusage's ru_maxrss of a child would not do: it starts from
// the parent's resident size at the fork, this benchmark's.) Peak returns
// the last mark read; the process is read every 50 ms while it runs, and
// once more on each call.
type hwmWatch struct {
	p    *proc.Proc
	mu   sync.Mutex
	peak int64
	done chan struct{}
}

func watchHWM(p *proc.Proc) *hwmWatch {
	w := &hwmWatch{p: p, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			w.read()
			select {
			case <-p.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *hwmWatch) read() {
	v, err := VmHWM(w.p.PID())
	if err != nil {
		return // ended
	}
	w.mu.Lock()
	w.peak = max(w.peak, v)
	w.mu.Unlock()
}

// Peak is the highest mark read so far.
func (w *hwmWatch) Peak() int64 {
	w.read()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peak
}

// VmHWM is a running process's peak resident memory in bytes.
func VmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmHWM(b)
}

func parseVmHWM(status []byte) (int64, error) {
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", rest, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no VmHWM in the process's status")
}

// MachineCPU is the CPU time the whole machine has used since its boot:
// /proc/stat's first line, every state but idle and iowait.
func MachineCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

func parseStatCPU(stat []byte) (time.Duration, error) {
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: first line %q: want cpu and its times", line)
	}
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are in user already
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %q: %w", v, err)
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / 100, nil // USER_HZ
}
