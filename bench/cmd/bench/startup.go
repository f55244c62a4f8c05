package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/kafka-scale/kafka-scale/bench/internal/report"
)

// onlyStartup is -only's value that runs the rebalance scenario alone.
const onlyStartup = "startup"

// secStartup is the section of the startup table.
const secStartup = "A new computer's start"

// startupOnlyRate is the processing rate, in records per second, that the
// rebalance topic is sized for when -only startup has not measured one: the
// fastest one-computer drain of the reports so far.
const startupOnlyRate = 2_000_000

// The targets of a computer that joins its group: working within
// startupTarget of its start, and the members already there pausing no
// longer than pauseTarget meanwhile.
const (
	startupTarget = 1500 * time.Millisecond
	pauseTarget   = 200 * time.Millisecond
)

// startupTable is the Markdown table of a new computer's start and the
// first computer's pause meanwhile, per protocol, from the rebalance
// figures; make bench also prints it when it ends.
func (b *bench) startupTable() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "## %s\n\nMedian (min–max) of the rebalance scenario's runs: the second computer's process start to its first chunk processed (target under %v), and the first computer's longest time without processing a chunk from then until the second leaves (target under %v).\n\n",
		secStartup, startupTarget, pauseTarget)
	sb.WriteString("| protocol | start to first chunk | met | pause of the first | met | load |\n|---|---|---|---|---|---|\n")
	yes := func(v float64, target time.Duration) string {
		if v < target.Seconds() {
			return "yes"
		}
		return "no"
	}
	rows := 0
	for _, p := range []string{"classic, cooperative-sticky", "consumer (KIP-848)"} {
		start, ok1 := b.rep.Find(secRebalance, p+": the second's start to its first chunk")
		pause, ok2 := b.rep.Find(secRebalance, p+": while the second joins and works")
		if !ok1 || !ok2 {
			continue
		}
		rows++
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %.1f–%.1f |\n", p, span(start), yes(start.Median, startupTarget), span(pause), yes(pause.Median, pauseTarget),
			start.LoadMin, start.LoadMax)
	}
	if rows == 0 {
		return ""
	}
	return strings.TrimRight(sb.String(), "\n")
}

// span is a figure's median with its min and max, in seconds.
func span(f report.Figure) string {
	return fmt.Sprintf("%.3f s (%.3f–%.3f, %d runs)", f.Median, f.Min, f.Max, f.Runs)
}
