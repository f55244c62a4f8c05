package main

import (
	"fmt"
	"strings"

	"github.com/kafka-scale/kafka-scale/bench/internal/report"
)

// targets is the Markdown table of the targets, from the medians.
func (b *bench) targets() string {
	var sb strings.Builder
	sb.WriteString("## " + secTargets + "\n\nFrom the medians above.\n\n| target | measured | met |\n|---|---|---|\n")
	row := func(target, measured string, met bool) {
		yes := "no"
		if met {
			yes = "yes"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s |\n", target, measured, yes)
	}
	if c, ok := b.rep.Find(secStages, "computer ×1: records per CPU second while draining (librdkafka's threads included)"); ok && b.limits.parseRPS > 0 {
		ratio := b.limits.parseRPS / c.Median
		row("the computer within 2× of parse-only, per core",
			fmt.Sprintf("parse only %s records/s on one core, computer ×1 %s records per CPU second: %.2f×", report.Num(b.limits.parseRPS), report.Num(c.Median), ratio), ratio <= 2)
	}
	if r, ok := b.rep.Find(secStages, "reader: files to every chunk acknowledged"); ok && b.limits.gzipSeconds > 0 {
		ratio := r.Median / b.limits.gzipSeconds
		row("reader within 1.5× of gzip decoding",
			fmt.Sprintf("gzip decode of every file %.2f s on one core, reader %.2f s: %.2f×", b.limits.gzipSeconds, r.Median, ratio), ratio <= 1.5)
	}
	for _, p := range []string{"classic, cooperative-sticky", "consumer (KIP-848)"} {
		if f, ok := b.rep.Find(secRebalance, p+": longest, join or leave"); ok {
			row("rebalance pause under 1 s, "+p,
				fmt.Sprintf("median %.3f s, worst run %.3f s", f.Median, f.Max), f.Max < 1)
		}
	}
	return strings.TrimRight(sb.String(), "\n")
}
