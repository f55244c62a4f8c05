package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kafka-scale/kafka-scale/bench/internal/machine"
	"github.com/kafka-scale/kafka-scale/bench/internal/proc"
	"github.com/kafka-scale/kafka-scale/bench/internal/report"
	"github.com/kafka-scale/kafka-scale/bench/internal/stat"
	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
)

const (
	secStages    = "Each stage alone"
	secEndToEnd  = "End to end: files to every source complete"
	secRebalance = "Rebalance: the first computer's longest pause while a second joins and leaves"
	secTargets   = "Targets"
	stageTimeout = 5 * time.Minute
	// readerTimeout bounds a reader's run: one took a few seconds on a
	// loaded machine, but a topic creation has been seen to hang.
	readerTimeout = 2 * time.Minute
)

// readerRun is one run of the reader alone.
type readerRun struct {
	topic     string
	records   int
	chunks    int
	sources   int
	seconds   float64 // from its JSON report: reading to the last acknowledgement
	cpu       time.Duration
	brokerCPU time.Duration
	brokerJIT time.Duration // of brokerCPU, in the JVM's JIT compiler threads
	rdkCPU    time.Duration // of cpu, in librdkafka's threads (sampled every 100 ms)
	logBytes  int64         // the topic's log segments on the broker's disk
	load      float64
}

// runReader loads every file into a new compute topic; args are more
// reader flags.
func (b *bench) runReader(ctx context.Context, name string, args ...string) (readerRun, error) {
	r := readerRun{topic: b.topic("compute", name), load: machine.Load1()}
	all := []string{"--compute-topic", r.topic, "--partitions", strconv.Itoa(b.opts.partitions), "--metrics-addr", "127.0.0.1:0"}
	for _, f := range b.files {
		all = append(all, "--from-file", f)
	}
	all = append(all, args...)
	threads0, _ := proc.ThreadCPU(b.brokerPID)
	cpu0 := b.brokerCPU()
	p, err := b.procs.Start("reader-"+name, b.bin("reader"), all...)
	if err != nil {
		return r, err
	}
	wctx, cancel := context.WithTimeout(ctx, readerTimeout)
	defer cancel()
	b.maybeProfile(wctx, p, "reader")
	sampled := make(chan time.Duration)
	go func() {
		var last time.Duration
		for !p.Exited() {
			if d := p.LibrdkafkaCPU(); d > 0 {
				last = d
			}
			time.Sleep(100 * time.Millisecond)
		}
		sampled <- last
	}()
	if err := p.Wait(wctx); err != nil {
		p.Kill()
		<-sampled
		return r, err
	}
	r.rdkCPU = <-sampled
	r.brokerCPU = b.brokerCPU() - cpu0
	threads1, _ := proc.ThreadCPU(b.brokerPID)
	for name, d := range threads1 {
		// comm is cut to 15 characters: "C2 CompilerThre".
		if strings.Contains(name, "CompilerThre") {
			r.brokerJIT += d - threads0[name]
		}
	}
	r.cpu = p.CPU()
	var rep struct {
		Records int     `json:"records"`
		Seconds float64 `json:"seconds"`
		Sources []struct {
			Chunks int `json:"chunks"`
		} `json:"sources"`
	}
	if err := json.Unmarshal(p.Stdout(), &rep); err != nil {
		return r, fmt.Errorf("reader %s report %q: %w", name, p.Stdout(), err)
	}
	r.records, r.seconds, r.sources = rep.Records, rep.Seconds, len(rep.Sources)
	r.logBytes = b.topicLogBytes(r.topic)
	for _, s := range rep.Sources {
		r.chunks += s.Chunks
	}
	if r.records != b.records {
		return r, fmt.Errorf("reader %s: %d records, want %d", name, r.records, b.records)
	}
	logf("reader %s: %d records in %.2f s (%s records/s), CPU %.2f s (librdkafka %.2f s), broker CPU %.2f s (JIT %.2f s), load %.1f",
		name, r.records, r.seconds, report.Num(float64(r.records)/r.seconds), r.cpu.Seconds(), r.rdkCPU.Seconds(), r.brokerCPU.Seconds(), r.brokerJIT.Seconds(), r.load)
	return r, nil
}

// computerRun is one drain of a compute topic by one or more computers.
type computerRun struct {
	results string        // the results topic they wrote
	rate    float64       // records/s while every replica was processing
	drain   time.Duration // first chunk processed to the last, over all replicas
	cpu     time.Duration // of every replica, start to exit
	records int
	// perCPU is records per CPU second of the replicas between the first
	// poll that saw a chunk read and the end of the drain; rdkShare is the
	// part of that CPU in librdkafka's threads.
	perCPU   float64
	rdkShare float64
	load     float64
}

// runComputers drains the compute topic of a reader run with replicas
// computers in a new group; args are more computer flags.
func (b *bench) runComputers(ctx context.Context, name string, in readerRun, replicas int, args ...string) (computerRun, error) {
	r := computerRun{results: b.topic("results", name), load: machine.Load1(), records: in.records}
	group := b.topic("group", name)
	ps := make([]*proc.Proc, replicas)
	logs := make([]string, replicas)
	for i := range ps {
		logs[i] = filepath.Join(b.work, "logs", fmt.Sprintf("computer-%s-%d.chunks", name, i))
		all := append([]string{"--compute-topic", in.topic, "--results-topic", r.results, "--group", group,
			"--transactional-id", fmt.Sprintf("%s-%d", group, i), "--metrics-addr", "127.0.0.1:0", "--processing-log", logs[i]}, args...)
		p, err := b.procs.Start(fmt.Sprintf("computer-%s-%d", name, i), b.bin("computer"), all...)
		if err != nil {
			return r, err
		}
		ps[i] = p
	}
	defer func() {
		for _, p := range ps {
			_ = p.Stop(30 * time.Second)
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, stageTimeout)
	defer cancel()
	admins := make([]string, replicas)
	for i, p := range ps {
		a, err := p.Addr(wctx, "admin")
		if err != nil {
			return r, err
		}
		admins[i] = a
	}
	b.maybeProfile(wctx, ps[0], "computer")
	var (
		read0, read1 float64
		cpu0, cpu1   time.Duration
		rdk0, rdk1   time.Duration
	)
	err := proc.Poll(wctx, 200*time.Millisecond, func() (bool, error) {
		written, read := 0.0, 0.0
		var cpu, rdk time.Duration
		for i, a := range admins {
			if ps[i].Exited() {
				return false, fmt.Errorf("%s exited early (log %s)", ps[i].Name, ps[i].LogPath)
			}
			v, err := proc.MetricSum(wctx, a, "kafka_scale_result_messages_written")
			if err != nil {
				return false, err
			}
			written += v
			if v, err = proc.MetricSum(wctx, a, "kafka_scale_compute_messages_read"); err != nil {
				return false, err
			}
			read += v
			cpu += ps[i].CPU()
			rdk += ps[i].LibrdkafkaCPU()
		}
		if read0 == 0 && read > 0 {
			read0, cpu0, rdk0 = read, cpu, rdk
		}
		read1, cpu1, rdk1 = read, cpu, rdk
		return int(written) >= in.chunks, nil
	})
	if err != nil {
		return r, fmt.Errorf("computers %s: %w", name, err)
	}
	if cpu1 > cpu0 {
		r.perCPU = (read1 - read0) * float64(in.records) / float64(in.chunks) / (cpu1 - cpu0).Seconds()
		r.rdkShare = (rdk1 - rdk0).Seconds() / (cpu1 - cpu0).Seconds()
	}
	for _, p := range ps {
		if err := p.Stop(30 * time.Second); err != nil {
			return r, err
		}
		r.cpu += p.CPU()
	}
	stamps := make([][]int64, replicas)
	var first, last int64
	for i, path := range logs {
		ts, err := readStamps(path)
		if err != nil {
			return r, err
		}
		stamps[i] = ts
		if len(ts) > 0 {
			if first == 0 || ts[0] < first {
				first = ts[0]
			}
			last = max(last, ts[len(ts)-1])
		}
	}
	chunksPerSec, _, _ := stat.Rate(stamps...)
	r.rate = chunksPerSec * float64(in.records) / float64(in.chunks)
	r.drain = time.Duration(last - first)
	logf("computers %s ×%d: %s records/s, drained in %.2f s, CPU %.2f s (%s records per CPU s draining), load %.1f",
		name, replicas, report.Num(r.rate), r.drain.Seconds(), r.cpu.Seconds(), report.Num(r.perCPU), r.load)
	return r, nil
}

// readStamps reads a computer's processing log.
func readStamps(path string) ([]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ts []int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ts = append(ts, v)
	}
	return ts, sc.Err()
}

// waitComplete polls the aggregator's API until sources sources are
// complete with records records in all, and returns when it first saw any
// record.
func (b *bench) waitComplete(ctx context.Context, api string, p *proc.Proc, sources, records int) (firstSeen time.Time, err error) {
	err = proc.Poll(ctx, 20*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, fmt.Errorf("%s exited early (log %s)", p.Name, p.LogPath)
		}
		var body apiv1.SourcesResponse
		if err := proc.GetJSON(ctx, "http://"+api+"/v1/sources", &body); err != nil {
			return false, nil // not serving yet
		}
		complete, got := 0, uint64(0)
		for _, s := range body.Sources {
			got += s.Records
			if s.Complete {
				complete++
			}
		}
		if got > 0 && firstSeen.IsZero() {
			firstSeen = time.Now()
		}
		return complete == sources && got == uint64(records), nil
	})
	return firstSeen, err
}

// runAggregator reads a results topic from the start into a new state
// topic until the sources of in are complete; it returns the time from its
// start and from the first record it showed.
func (b *bench) runAggregator(ctx context.Context, name, results string, in readerRun) (fromStart, drain time.Duration, err error) {
	p, err := b.procs.Start("aggregator-"+name, b.bin("aggregator"), "--results-topic", results,
		"--state-topic", b.topic("state", name), "--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = p.Stop(30 * time.Second) }()
	wctx, cancel := context.WithTimeout(ctx, stageTimeout)
	defer cancel()
	api, err := p.Addr(wctx, "api")
	if err != nil {
		return 0, 0, err
	}
	first, err := b.waitComplete(wctx, api, p, in.sources, in.records)
	if err != nil {
		return 0, 0, fmt.Errorf("aggregator %s: %w", name, err)
	}
	now := time.Now()
	return now.Sub(p.Started), now.Sub(first), nil
}

// stageRuns keeps the default stage runs that sweeps reuse.
type stageRuns struct {
	readers   []readerRun
	prefilled readerRun // the compute topic the computers drain
	computer1 []computerRun
}

// prefill writes opts.stageCopies copies of every file to a compute topic,
// encoded as the reader does, for the computers to drain: the reader's own
// topic lasts well under a second of a computer's work.
func (b *bench) prefill(ctx context.Context) error {
	topic := b.topic("compute", "prefilled")
	if err := b.createTopic(ctx, topic, b.opts.partitions); err != nil {
		return err
	}
	st, err := b.produceChunks(ctx, topic, defaultChunkSize, b.opts.stageCopies, schema.CodecLZ4, nil)
	if err != nil {
		return err
	}
	b.stages.prefilled = readerRun{topic: topic, records: int(st.records), chunks: st.messages, sources: b.opts.stageCopies * len(b.files)}
	logf("prefilled %s: %d records in %d chunks (%d copies of the files) in %.1f s", topic, st.records, st.messages, b.opts.stageCopies, st.took.Seconds())
	return nil
}

func (b *bench) measureStages(ctx context.Context) error {
	n := b.opts.runs
	for i := range n {
		r, err := b.runReader(ctx, fmt.Sprintf("stage%d", i))
		if err != nil {
			return err
		}
		b.stages.readers = append(b.stages.readers, r)
	}
	b.addReaderFigures(secStages, "reader", b.stages.readers)

	if b.stages.prefilled.topic == "" {
		if err := b.prefill(ctx); err != nil {
			return err
		}
	}
	for _, replicas := range []int{1, 2} {
		var runs []computerRun
		for i := range n {
			r, err := b.runComputers(ctx, fmt.Sprintf("stage%d-x%d", i, replicas), b.stages.prefilled, replicas)
			if err != nil {
				return err
			}
			runs = append(runs, r)
		}
		b.addComputerFigures(secStages, fmt.Sprintf("computer ×%d", replicas), runs)
		if replicas == 1 {
			b.stages.computer1 = runs
		}
	}

	var fromStart, drain []report.Run
	for i, c := range b.stages.computer1 {
		l := machine.Load1()
		s, d, err := b.runAggregator(ctx, fmt.Sprintf("stage%d", i), c.results, b.stages.prefilled)
		if err != nil {
			return err
		}
		logf("aggregator %d: complete %.2f s after its start, %.2f s after its first record, load %.1f", i, s.Seconds(), d.Seconds(), l)
		fromStart = append(fromStart, report.Run{Value: s.Seconds(), Load: l})
		drain = append(drain, report.Run{Value: d.Seconds(), Load: l})
	}
	b.rep.Add(report.NewFigure(secStages, "aggregator: start to every source complete", "s", fromStart),
		report.NewFigure(secStages, "aggregator: first record shown to every source complete", "s", drain))
	return nil
}

func (b *bench) addReaderFigures(section, name string, runs []readerRun) {
	var rps, secs, mbps, cpu, rdk, bcpu, jit []report.Run
	for _, r := range runs {
		rps = append(rps, report.Run{Value: float64(r.records) / r.seconds, Load: r.load})
		secs = append(secs, report.Run{Value: r.seconds, Load: r.load})
		mbps = append(mbps, report.Run{Value: float64(b.limits.rawBytes) / r.seconds / 1e6, Load: r.load})
		cpu = append(cpu, report.Run{Value: r.cpu.Seconds(), Load: r.load})
		rdk = append(rdk, report.Run{Value: r.rdkCPU.Seconds(), Load: r.load})
		bcpu = append(bcpu, report.Run{Value: r.brokerCPU.Seconds(), Load: r.load})
		jit = append(jit, report.Run{Value: r.brokerJIT.Seconds(), Load: r.load})
	}
	b.rep.Add(report.NewFigure(section, name+": files to every chunk acknowledged", "s", secs),
		report.NewFigure(section, name, "records/s", rps),
		report.NewFigure(section, name, "MB/s of records", mbps),
		report.NewFigure(section, name+": its CPU", "CPU s", cpu),
		report.NewFigure(section, name+": of which librdkafka's threads (lz4, requests)", "CPU s", rdk),
		report.NewFigure(section, name+": the broker's CPU meanwhile", "CPU s", bcpu),
		report.NewFigure(section, name+": of which the broker's JIT compiler", "CPU s", jit))
}

func (b *bench) addComputerFigures(section, name string, runs []computerRun) {
	var rps, drain, perCPU, rdk []report.Run
	for _, r := range runs {
		rps = append(rps, report.Run{Value: r.rate, Load: r.load})
		drain = append(drain, report.Run{Value: r.drain.Seconds(), Load: r.load})
		perCPU = append(perCPU, report.Run{Value: r.perCPU, Load: r.load})
		rdk = append(rdk, report.Run{Value: 100 * r.rdkShare, Load: r.load})
	}
	b.rep.Add(report.NewFigure(section, name+": draining a prefilled topic", "records/s", rps),
		report.NewFigure(section, name+": first chunk to last", "s", drain),
		report.NewFigure(section, name+": records per CPU second while draining (librdkafka's threads included)", "records/CPU s", perCPU),
		report.NewFigure(section, name+": share of that CPU in librdkafka's threads (fetch, produce, transactions)", "%", rdk))
}

// runEndToEnd loads the files with computers replicas running and an
// aggregator, and times the reader's start to every source complete.
func (b *bench) runEndToEnd(ctx context.Context, name string, replicas int) (time.Duration, error) {
	compute, results, group := b.topic("compute", name), b.topic("results", name), b.topic("group", name)
	if err := b.createTopic(ctx, compute, b.opts.partitions); err != nil {
		return 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, stageTimeout)
	defer cancel()
	agg, err := b.procs.Start("aggregator-"+name, b.bin("aggregator"), "--results-topic", results,
		"--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	ps := []*proc.Proc{agg}
	defer func() {
		for _, p := range ps {
			_ = p.Stop(30 * time.Second)
		}
	}()
	for i := range replicas {
		p, err := b.procs.Start(fmt.Sprintf("computer-%s-%d", name, i), b.bin("computer"), "--compute-topic", compute,
			"--results-topic", results, "--group", group, "--transactional-id", fmt.Sprintf("%s-%d", group, i), "--metrics-addr", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		ps = append(ps, p)
	}
	var admins []string
	for _, p := range ps {
		admin, err := p.Addr(wctx, "admin")
		if err != nil {
			return 0, err
		}
		if err := proc.Poll(wctx, 50*time.Millisecond, func() (bool, error) { return proc.Ready(wctx, admin), nil }); err != nil {
			return 0, fmt.Errorf("%s not ready: %w", p.Name, err)
		}
		if p != agg {
			admins = append(admins, admin)
		}
	}
	// Ready means a first assignment, possibly empty: wait until the group
	// has settled, every computer holding partitions and all of them held,
	// so that the run measures the work and not the group's formation.
	if err := proc.Poll(wctx, 50*time.Millisecond, func() (bool, error) {
		total := 0
		for _, a := range admins {
			v, err := proc.MetricSum(wctx, a, "kafka_scale_computer_assigned_partitions")
			if err != nil || v == 0 {
				return false, nil
			}
			total += int(v)
		}
		return total == b.opts.partitions, nil
	}); err != nil {
		return 0, fmt.Errorf("end to end %s: the group never settled: %w", name, err)
	}
	api, err := agg.Addr(wctx, "api")
	if err != nil {
		return 0, err
	}
	args := []string{"--compute-topic", compute, "--metrics-addr", "127.0.0.1:0"}
	for _, f := range b.files {
		args = append(args, "--from-file", f)
	}
	start := time.Now()
	reader, err := b.procs.Start("reader-"+name, b.bin("reader"), args...)
	if err != nil {
		return 0, err
	}
	ps = append(ps, reader)
	if _, err := b.waitComplete(wctx, api, agg, len(b.files), b.records); err != nil {
		return 0, fmt.Errorf("end to end %s: %w", name, err)
	}
	took := time.Since(start)
	if err := reader.Wait(wctx); err != nil {
		return 0, err
	}
	return took, nil
}

func (b *bench) measureEndToEnd(ctx context.Context) error {
	for _, replicas := range []int{1, 2} {
		var secs, rps []report.Run
		for i := range b.opts.runs {
			l := machine.Load1()
			took, err := b.runEndToEnd(ctx, fmt.Sprintf("e2e%d-x%d", i, replicas), replicas)
			if err != nil {
				return err
			}
			logf("end to end ×%d: %d records in %.2f s (%s records/s), load %.1f", replicas, b.records, took.Seconds(),
				report.Num(float64(b.records)/took.Seconds()), l)
			secs = append(secs, report.Run{Value: took.Seconds(), Load: l})
			rps = append(rps, report.Run{Value: float64(b.records) / took.Seconds(), Load: l})
		}
		name := fmt.Sprintf("%d computer", replicas)
		if replicas > 1 {
			name += "s"
		}
		b.rep.Add(report.NewFigure(secEndToEnd, name+": reader start to every source complete", "s", secs),
			report.NewFigure(secEndToEnd, name, "records/s", rps))
	}
	return nil
}
