package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/bench/internal/machine"
	"github.com/kafka-scale/kafka-scale/bench/internal/proc"
	"github.com/kafka-scale/kafka-scale/bench/internal/report"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
)

// bench is one benchmark run: its broker, data, processes and report.
type bench struct {
	opts    *options
	work    string
	prefix  string // of every topic and group name, unique per run
	started time.Time

	brokerUp  bool
	brokerDir string
	addr      string
	brokerPID int
	admin     *extkafka.Admin
	procs     *proc.Group

	files   []string // generated census files
	records int      // in all of them
	rep     report.Report
	// Figures the targets and the later stages build on.
	limits   limitFigures
	stages   stageRuns
	profiled map[string]bool
	warming  bool
}

func newBench(o *options) (*bench, error) {
	work, err := os.MkdirTemp("", "kafka-scale-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{opts: o, work: work, started: time.Now(), prefix: "bench-" + strconv.FormatInt(time.Now().Unix()%1e7, 36)}
	b.brokerDir = filepath.Join(work, "kafka")
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(work, "logs"), 0o755); err != nil {
		return nil, err
	}
	return b, nil
}

// close stops every process and the broker, and removes the work directory
// unless asked to keep it.
func (b *bench) close() {
	if b.procs != nil {
		b.procs.Close()
	}
	if b.admin != nil {
		b.admin.Close()
	}
	if b.brokerUp {
		logf("stopping the broker")
		if out, err := b.script("clean"); err != nil {
			logf("stopping the broker: %v: %s", err, out)
		}
	}
	if !b.opts.keep {
		_ = os.RemoveAll(b.work)
	}
}

func (b *bench) script(args ...string) ([]byte, error) {
	return proc.Script(context.Background(), filepath.Join(b.opts.root, "scripts", "kafka-local.sh"),
		[]string{"KAFKA_PORT=" + strconv.Itoa(b.opts.port), "KAFKA_LOCAL_DIR=" + b.brokerDir}, args...)
}

func (b *bench) run(ctx context.Context) error {
	loadBefore := machine.LoadAvg()
	logf("work directory %s; load average %s", b.work, loadBefore)

	// The data, and what one core does with it, before anything else runs.
	if err := b.generate(); err != nil {
		return err
	}
	if err := b.loadData(); err != nil {
		return err
	}
	whole := b.opts.only == ""
	if whole {
		logf("== limits, in process")
		if err := b.measureCPULimits(ctx); err != nil {
			return fmt.Errorf("limits: %w", err)
		}
	}

	logf("starting a broker on port %d", b.opts.port)
	b.brokerUp = true // from here on, close stops it whatever happens
	out, err := b.script("start")
	if err != nil {
		return fmt.Errorf("start the broker: %w: %s", err, out)
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	b.addr = lines[len(lines)-1]
	pid, err := os.ReadFile(filepath.Join(b.brokerDir, "kafka.pid"))
	if err != nil {
		return fmt.Errorf("broker pid: %w", err)
	}
	b.brokerPID, _ = strconv.Atoi(strings.TrimSpace(string(pid)))
	b.admin, err = extkafka.NewAdmin(extkafka.AdminConfig(extkafka.Config{BootstrapServers: b.addr}), zap.NewNop())
	if err != nil {
		return err
	}
	b.procs = proc.NewGroup(filepath.Join(b.work, "logs"),
		"KAFKA_BOOTSTRAP_SERVERS="+b.addr, "LOG_FORMAT=json", "LOG_LEVEL=info")

	steps := []struct {
		name string
		fn   func(context.Context) error
		on   bool
	}{
		{"warm-up", b.warmUp, whole},
		{"limits, the broker", b.measureBrokerLimits, whole},
		{"stages", b.measureStages, whole},
		{"end to end", b.measureEndToEnd, whole},
		{"rebalance", b.measureRebalance, b.opts.rebalance},
		{"sweeps", b.measureSweeps, b.opts.sweeps},
	}
	for _, s := range steps {
		if !s.on {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		logf("== %s", s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return b.writeReport(loadBefore)
}

// warmUp runs every path of the broker the benchmark measures (produce,
// fetch, transactions, a group) before anything is measured: a fresh
// broker's JIT compiler otherwise takes a core for the first minute, and the
// first figures would measure it.
func (b *bench) warmUp(ctx context.Context) error {
	start := time.Now()
	b.warming = true
	defer func() { b.warming = false }()
	// The produce path takes the longest to compile: a reader run still
	// cost the broker's compiler threads most of a CPU second after two.
	for i := range warmUpReaders {
		r, err := b.runReader(ctx, fmt.Sprintf("warmup%d", i))
		if err != nil {
			return err
		}
		if i >= 2 {
			continue
		}
		if _, err := b.consumeAll(ctx, r.topic, b.opts.partitions, r.chunks); err != nil {
			return err
		}
		c, err := b.runComputers(ctx, fmt.Sprintf("warmup%d", i), r, 1)
		if err != nil {
			return err
		}
		if _, _, err := b.runAggregator(ctx, fmt.Sprintf("warmup%d", i), c.results, r); err != nil {
			return err
		}
	}
	// The fetch and transaction paths at the computers' pace: three drains
	// of the topic the computers are measured on. Without them the first
	// measured drains ran a third slower than the same drain in the sweeps
	// minutes later.
	if err := b.prefill(ctx); err != nil {
		return err
	}
	for i := range warmUpComputers {
		if _, err := b.runComputers(ctx, fmt.Sprintf("warmup-prefilled%d", i), b.stages.prefilled, 1); err != nil {
			return err
		}
	}
	logf("warmed up in %v", time.Since(start).Round(time.Millisecond))
	return nil
}

// warmUpComputers is how many drains of the prefilled topic warm the
// broker's fetch path up.
const warmUpComputers = 3

// warmUpReaders is how many reader runs warm the broker up: with 8, the
// broker's JIT compiler still took 0.2-0.3 CPU s during each measured
// reader run that followed.
const warmUpReaders = 16

// maybeProfile saves a CPU profile of p from its admin server's
// /debug/pprof when asked to (--profile), once per kind of process.
func (b *bench) maybeProfile(ctx context.Context, p *proc.Proc, kind string) {
	if b.opts.profileDir == "" || b.warming || b.profiled[kind] {
		return
	}
	if b.profiled == nil {
		b.profiled = map[string]bool{}
	}
	b.profiled[kind] = true
	go func() {
		admin, err := p.Addr(ctx, "admin")
		if err != nil {
			return
		}
		path := filepath.Join(b.opts.profileDir, kind+".pprof")
		if err := proc.SaveProfile(ctx, admin, 2*time.Second, path); err != nil {
			logf("profile of %s: %v", p.Name, err)
			return
		}
		logf("CPU profile of %s in %s", p.Name, path)
	}()
}

// generate writes the census files the benchmark loads.
func (b *bench) generate() error {
	dir := filepath.Join(b.work, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	for i, m := range b.opts.months {
		path, _, err := censusgen.WriteFile(dir, censusgen.Options{Year: b.opts.year, Month: m, Records: b.opts.records, Seed: uint64(i + 1)})
		if err != nil {
			return err
		}
		b.files = append(b.files, path)
		b.records += b.opts.records
	}
	logf("generated %d files of %d records in %v", len(b.files), b.opts.records, time.Since(start).Round(time.Millisecond))
	return nil
}

// topic returns a topic (or group) name unique to this benchmark.
func (b *bench) topic(parts ...any) string {
	s := b.prefix
	for _, p := range parts {
		s += "-" + fmt.Sprint(p)
	}
	return s
}

// createTopic creates a topic of n partitions.
func (b *bench) createTopic(ctx context.Context, name string, partitions int) error {
	_, err := extkafka.EnsureTopic(ctx, b.admin, extkafka.TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: 1})
	return err
}

func (b *bench) bin(name string) string { return filepath.Join(b.opts.root, "bin", name) }

// topicLogBytes is the size of a topic's log segments in the broker's data
// directory (the index files are preallocated and left out).
func (b *bench) topicLogBytes(topic string) int64 {
	paths, _ := filepath.Glob(filepath.Join(b.brokerDir, "data", topic+"-*", "*.log"))
	var n int64
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

// brokerCPU is the CPU time the broker has used so far.
func (b *bench) brokerCPU() time.Duration {
	d, _ := proc.CPUOf(b.brokerPID)
	return d
}

func (b *bench) writeReport(loadBefore string) error {
	r := &b.rep
	r.Title = "kafka-scale benchmark, " + time.Now().Format("2006-01-02")
	if b.opts.only != "" {
		r.Title += ", " + b.opts.only + " only"
	}
	r.Command = "make bench"
	if args := strings.Join(os.Args[1:], " "); args != "" {
		r.Command = "go run ./bench/cmd/bench " + args
	}
	_, rdver := kafka.LibraryVersion()
	r.Machine = [][2]string{
		{"cores", strconv.Itoa(runtime.NumCPU())},
		{"CPU", machine.CPUModel()},
		{"memory", memTotal()},
		{"load average before", loadBefore},
		{"load average after", machine.LoadAvg()},
		{"Go", runtime.Version()},
		{"librdkafka", rdver},
		{"Kafka", machine.KafkaVersion(filepath.Join(b.brokerDir, "kafka.log")) + " (scripts/kafka-local.sh: one KRaft node on 127.0.0.1, default heap)"},
		{"whole run", time.Since(b.started).Round(time.Second).String()},
	}
	r.Settings = [][2]string{
		{"data", fmt.Sprintf("%d generated files (`kafka-scale gen`, %d) of %s records: %s records, %s MB of records, %s MB gzipped",
			len(b.files), b.opts.year, report.Num(float64(b.opts.records)), report.Num(float64(b.records)),
			report.Num(float64(b.limits.rawBytes)/1e6), report.Num(float64(b.limits.gzBytes)/1e6))},
		{"topics", fmt.Sprintf("compute: %d partitions; results: 6 partitions; replication factor 1", b.opts.partitions)},
		{"runs", fmt.Sprintf("%d of each pipeline measurement, %d of each in-process limit, %d of the rebalance scenario per protocol; the table gives their median, min and max", b.opts.runs, b.opts.limitRuns, b.opts.startupRuns)},
		{"defaults", fmt.Sprintf("reader --chunk-size %d --chunk-codec lz4 --parallel 2, producing with compression.type none (the records are compressed already), linger.ms %d, acks=all, idempotent; computer --batch-chunks %d --batch-age 500ms, fetch.queue.backoff.ms %d, producing its results lz4-compressed",
			defaultChunkSize, defaultLinger, defaultBatchChunks, defaultFetchWait)},
	}
	if b.opts.sweeps {
		r.Notes = append(r.Notes, b.choices())
	}
	if t := b.startupTable(); t != "" {
		r.Notes = append(r.Notes, t)
		fmt.Println(t)
	}
	r.Notes = append(r.Notes, b.targets())
	dir := b.opts.out
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(b.opts.root, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := time.Now().Format("2006-01-02")
	if b.opts.only != "" {
		// Not to overwrite the day's whole report.
		name += "-" + b.opts.only
	}
	path := filepath.Join(dir, name+".md")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteMarkdown(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	logf("report written to %s (%v in all)", path, time.Since(b.started).Round(time.Second))
	return nil
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb float64
			if _, err := fmt.Sscan(rest, &kb); err == nil {
				return fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	return "unknown"
}
