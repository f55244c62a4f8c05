package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/kafka-scale/kafka-scale/bench/internal/machine"
	"github.com/kafka-scale/kafka-scale/bench/internal/proc"
	"github.com/kafka-scale/kafka-scale/bench/internal/report"
	"github.com/kafka-scale/kafka-scale/bench/internal/stat"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
)

// The rebalance scenario: the first computer processes alone for
// rebalanceWarmup; a second joins, and once it has processed a chunk (with
// the classic protocol that takes two rebalances) it works for
// rebalanceShared and leaves (SIGTERM); once the first holds every partition
// again it goes on for rebalanceAfter and is stopped. The first must have
// chunks to process on its partitions until then, so the topic holds
// rebalanceBudget of its processing rate (at most rebalanceMaxRecords):
// while it holds half the partitions, which can last several seconds (the
// protocols reassign on heartbeats, 250 ms apart with the computer's and
// kafka-local.sh's settings, but 3 s and 5 s with a client's or a broker's
// defaults), only their chunks are left to it.
//
// The same scenario measures a new computer's start: from the second's
// process start to its first chunk processed, what an autoscaler's new
// replica takes to help, with the first one's longest pause meanwhile.
const (
	rebalanceWarmup     = time.Second
	rebalanceShared     = time.Second
	rebalanceAfter      = time.Second
	rebalanceBudget     = 26 * time.Second
	rebalanceMaxRecords = 40_000_000
)

// rebalanceRun is what the first computer's processing log showed.
type rebalanceRun struct {
	before   stat.Gap      // longest pause while alone, before the join: the baseline
	join     stat.Gap      // from the join until the leave
	leave    stat.Gap      // from the leave to the end
	joinWait time.Duration // the second's start to its first chunk
	takeBack time.Duration // the second's exit to the first holding every partition
	drained  bool          // the first ran out of chunks: the run says less
}

func (b *bench) measureRebalance(ctx context.Context) error {
	// A topic that keeps one computer busy for the whole scenario.
	rate := 0.0
	for _, r := range b.stages.computer1 {
		rate = max(rate, r.rate)
	}
	if rate == 0 {
		rate = b.limits.tallyRPS
	}
	if rate == 0 {
		// -only startup measures neither.
		rate = startupOnlyRate
	}
	copies := int(math.Ceil(min(rate*rebalanceBudget.Seconds(), rebalanceMaxRecords) / float64(b.records)))
	topic := b.topic("compute", "rebalance")
	if err := b.createTopic(ctx, topic, b.opts.partitions); err != nil {
		return err
	}
	st, err := b.produceChunks(ctx, topic, 500, copies, schema.CodecLZ4, nil)
	if err != nil {
		return err
	}
	logf("rebalance topic: %d chunks (%d copies of the files) in %.1f s", st.messages, copies, st.took.Seconds())

	for _, protocol := range []struct{ flag, name string }{
		{"classic", "classic, cooperative-sticky"},
		{"consumer", "consumer (KIP-848)"},
	} {
		var (
			before, join, leave, worst, joinWait, takeBack []report.Run
			drained                                        int
		)
		if b.opts.only != "" {
			// Alone, the broker has not run a group yet: its first
			// rebalances would measure its JIT compiler.
			r, err := b.runRebalance(ctx, "rebalance-"+protocol.flag+"-warmup", topic, protocol.flag)
			if err != nil {
				return err
			}
			logf("rebalance %s warm-up: the second's start to its first chunk %v (not counted)", protocol.name, r.joinWait.Round(time.Millisecond))
		}
		for i := range b.opts.startupRuns {
			l := machine.Load1()
			r, err := b.runRebalance(ctx, fmt.Sprintf("rebalance-%s%d", protocol.flag, i), topic, protocol.flag)
			if err != nil {
				return err
			}
			if r.drained {
				// The pauses up to the end of the topic still count.
				drained++
				logf("rebalance %s run %d: the topic ran out before the end of the scenario", protocol.flag, i)
			}
			logf("rebalance %s: the second's start to its first chunk %v; longest pause alone %v, join %v, leave %v, load %.1f", protocol.name,
				r.joinWait.Round(time.Millisecond), r.before.Length.Round(time.Millisecond), r.join.Length.Round(time.Millisecond), r.leave.Length.Round(time.Millisecond), l)
			before = append(before, report.Run{Value: r.before.Length.Seconds(), Load: l})
			join = append(join, report.Run{Value: r.join.Length.Seconds(), Load: l})
			leave = append(leave, report.Run{Value: r.leave.Length.Seconds(), Load: l})
			worst = append(worst, report.Run{Value: max(r.join.Length, r.leave.Length).Seconds(), Load: l})
			joinWait = append(joinWait, report.Run{Value: r.joinWait.Seconds(), Load: l})
			takeBack = append(takeBack, report.Run{Value: r.takeBack.Seconds(), Load: l})
		}
		figs := []report.Figure{
			report.NewFigure(secRebalance, protocol.name+": alone, before the join (baseline: commits)", "s", before),
			report.NewFigure(secRebalance, protocol.name+": while the second joins and works", "s", join),
			report.NewFigure(secRebalance, protocol.name+": after the second leaves", "s", leave),
			report.NewFigure(secRebalance, protocol.name+": longest, join or leave", "s", worst),
			report.NewFigure(secRebalance, protocol.name+": the second's start to its first chunk", "s", joinWait),
			report.NewFigure(secRebalance, protocol.name+": the second's exit to the first holding every partition", "s", takeBack),
		}
		if drained > 0 {
			figs[2].Note = fmt.Sprintf("the first ran out of chunks in %d runs", drained)
		}
		b.rep.Add(figs...)
	}
	return nil
}

func (b *bench) runRebalance(ctx context.Context, name, topic, protocol string) (rebalanceRun, error) {
	var r rebalanceRun
	group, results := b.topic("group", name), b.topic("results", name)
	wctx, cancel := context.WithTimeout(ctx, stageTimeout)
	defer cancel()
	start := func(i int, plog string) (*proc.Proc, string, error) {
		args := []string{"--compute-topic", topic, "--results-topic", results, "--group", group, "--group-protocol", protocol,
			"--transactional-id", fmt.Sprintf("%s-%d", group, i), "--metrics-addr", "127.0.0.1:0"}
		if plog != "" {
			args = append(args, "--processing-log", plog)
		}
		p, err := b.procs.Start(fmt.Sprintf("computer-%s-%d", name, i), b.bin("computer"), args...)
		if err != nil {
			return nil, "", err
		}
		admin, err := p.Addr(wctx, "admin")
		return p, admin, err
	}
	// A computer has begun processing once it has read a chunk.
	processing := func(admin string) error {
		return proc.Poll(wctx, 20*time.Millisecond, func() (bool, error) {
			v, err := proc.MetricSum(wctx, admin, "kafka_scale_compute_messages_read")
			return v > 0, err
		})
	}
	plog := filepath.Join(b.work, "logs", "computer-"+name+"-0.chunks")
	first, admin, err := start(0, plog)
	if err != nil {
		return r, err
	}
	defer func() { _ = first.Stop(30 * time.Second) }()
	if err := processing(admin); err != nil {
		return r, err
	}
	time.Sleep(rebalanceWarmup)
	joined := time.Now()
	second, admin2, err := start(1, "")
	if err != nil {
		return r, err
	}
	defer func() { _ = second.Stop(30 * time.Second) }()
	// Ready means an assignment, possibly empty: wait for chunks.
	if err := processing(admin2); err != nil {
		return r, fmt.Errorf("%s never processed a chunk: %w", second.Name, err)
	}
	r.joinWait = time.Since(second.Started)
	time.Sleep(rebalanceShared)
	left := time.Now()
	if err := second.Stop(30 * time.Second); err != nil {
		return r, err
	}
	exited := time.Now()
	if err := proc.Poll(wctx, 20*time.Millisecond, func() (bool, error) {
		v, err := proc.MetricSum(wctx, admin, "kafka_scale_computer_assigned_partitions")
		return int(v) == b.opts.partitions, err
	}); err != nil {
		return r, fmt.Errorf("%s never held every partition again: %w", first.Name, err)
	}
	r.takeBack = time.Since(exited)
	time.Sleep(rebalanceAfter)
	end := time.Now()
	if err := first.Stop(30 * time.Second); err != nil {
		return r, err
	}
	ts, err := readStamps(plog)
	if err != nil {
		return r, err
	}
	if len(ts) < 2 {
		return r, fmt.Errorf("%s processed %d chunks", first.Name, len(ts))
	}
	// The first computer must have been busy to the end: its last chunk
	// came shortly before it was stopped.
	r.drained = end.Sub(time.Unix(0, ts[len(ts)-1])) > 500*time.Millisecond
	r.before = stat.LongestGap(ts, 0, joined.UnixNano())
	r.join = stat.LongestGap(ts, joined.UnixNano(), left.UnixNano())
	r.leave = stat.LongestGap(ts, left.UnixNano(), end.UnixNano())
	return r, nil
}
