package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/kafka-scale/kafka-scale/bench/internal/report"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
)

// Defaults the sweeps compare with; each sweep runs them again next to the
// other settings. The chunk size and batch are the reader's and computer's
// flag defaults (their internal config packages, which the bench cannot
// import); the librdkafka settings are extkafka's.
const (
	defaultChunkSize   = 500
	defaultBatchChunks = 400
	defaultLinger      = extkafka.LoaderLingerMs
	defaultCodec       = "chunk-lz4"
	defaultFetchWait   = extkafka.DefaultFetchQueueBackoffMs
)

const (
	secChunkSize = "Sweep: reader --chunk-size (reader alone; one computer draining its topic)"
	secBatch     = "Sweep: computer --batch-chunks (--batch-age 500ms; one computer)"
	secFetch     = "Sweep: computer fetch.queue.backoff.ms (one computer)"
	secLinger    = "Sweep: reader linger.ms"
	secParallel  = "Sweep: reader --parallel (files read at once)"
	secCodec     = "Sweep: compression of the chunks (reader alone; one computer draining its topic)"
)

// setting is one value a sweep tries: its label and the flags it adds to
// the reader or the computer.
type setting struct {
	label        string
	reader       []string
	computer     []string
	withComputer bool
}

// sweep runs every setting once per round, round after round, so that a
// drifting load weighs on all of them alike: the reader (unless it only
// varies the computer, which then drains the stage's prefilled topic), then
// a computer on what the reader wrote.
func (b *bench) sweep(ctx context.Context, section, key string, readerVaries bool, settings []setting) error {
	readers := make([][]readerRun, len(settings))
	comps := make([][]computerRun, len(settings))
	for round := range b.opts.runs {
		for i, s := range settings {
			name := fmt.Sprintf("%s%d-%d", key, i, round)
			in := b.stages.prefilled
			if readerVaries {
				r, err := b.runReader(ctx, name, s.reader...)
				if err != nil {
					return err
				}
				readers[i] = append(readers[i], r)
				in = r
			}
			if !s.withComputer {
				continue
			}
			c, err := b.runComputers(ctx, name, in, 1, s.computer...)
			if err != nil {
				return err
			}
			comps[i] = append(comps[i], c)
		}
	}
	for i, s := range settings {
		if readerVaries {
			b.addSweepReader(section, s.label, readers[i])
		}
		if s.withComputer {
			b.addSweepComputer(section, s.label, comps[i])
		}
	}
	return nil
}

func (b *bench) measureSweeps(ctx context.Context) error {
	label := func(s string, isDefault bool) string {
		if isDefault {
			return s + " (default)"
		}
		return s
	}
	var chunk, batch, fetch, linger, codec, parallel []setting
	for _, n := range []int{2, 3} {
		parallel = append(parallel, setting{label: label(fmt.Sprintf("parallel %d", n), n == 2),
			reader: []string{"--parallel", strconv.Itoa(n)}})
	}
	for _, n := range b.opts.chunkSizes {
		chunk = append(chunk, setting{label: label(fmt.Sprintf("chunk %d", n), n == defaultChunkSize),
			reader: []string{"--chunk-size", strconv.Itoa(n)}, withComputer: true})
	}
	for _, n := range b.opts.batchChunks {
		batch = append(batch, setting{label: label(fmt.Sprintf("batch %d", n), n == defaultBatchChunks),
			computer: []string{"--batch-chunks", strconv.Itoa(n)}, withComputer: true})
	}
	for _, ms := range []int{defaultFetchWait, 1000} {
		l := label(fmt.Sprintf("fetch.queue.backoff.ms %d", ms), ms == defaultFetchWait)
		if ms == 1000 {
			l += " (librdkafka's default)"
		}
		fetch = append(fetch, setting{label: l, computer: []string{"--kafka-config", "fetch.queue.backoff.ms=" + strconv.Itoa(ms)}, withComputer: true})
	}
	for _, ms := range b.opts.lingers {
		linger = append(linger, setting{label: label(fmt.Sprintf("linger %d ms", ms), ms == defaultLinger),
			reader: []string{"--kafka-config", "linger.ms=" + strconv.Itoa(ms)}})
	}
	for _, c := range b.opts.codecs {
		args, l := codecArgs(c)
		codec = append(codec, setting{label: label(l, c == defaultCodec), reader: args, withComputer: true})
	}
	for _, s := range []struct {
		section, key string
		readerVaries bool
		settings     []setting
	}{
		{secChunkSize, "chunk", true, chunk},
		{secBatch, "batch", false, batch},
		{secFetch, "fetch", false, fetch},
		{secLinger, "linger", true, linger},
		{secParallel, "parallel", true, parallel},
		{secCodec, "codec", true, codec},
	} {
		if err := b.sweep(ctx, s.section, s.key, s.readerVaries, s.settings); err != nil {
			return err
		}
	}
	return nil
}

// codecArgs are the reader flags of a compression of the codec sweep:
// chunk-lz4 (the reader compresses each chunk's records), batch-<type>
// (librdkafka compresses the batches with compression.type <type>) or none.
func codecArgs(name string) ([]string, string) {
	switch {
	case name == "chunk-lz4":
		return []string{"--chunk-codec", "lz4"}, "records lz4-compressed in each chunk"
	case strings.HasPrefix(name, "batch-"):
		t := strings.TrimPrefix(name, "batch-")
		return []string{"--chunk-codec", "none", "--kafka-config", "compression.type=" + t}, "batches " + t + "-compressed by librdkafka"
	}
	return []string{"--chunk-codec", "none", "--kafka-config", "compression.type=none"}, "no compression"
}

func (b *bench) addSweepReader(section, label string, runs []readerRun) {
	var rps, cpu, bcpu, disk []report.Run
	for _, r := range runs {
		rps = append(rps, report.Run{Value: float64(r.records) / r.seconds, Load: r.load})
		cpu = append(cpu, report.Run{Value: r.cpu.Seconds(), Load: r.load})
		bcpu = append(bcpu, report.Run{Value: r.brokerCPU.Seconds(), Load: r.load})
		disk = append(disk, report.Run{Value: float64(r.logBytes) / 1e6, Load: r.load})
	}
	b.rep.Add(report.NewFigure(section, label+": reader", "records/s", rps),
		report.NewFigure(section, label+": the reader's CPU", "CPU s", cpu),
		report.NewFigure(section, label+": the broker's CPU during the reader", "CPU s", bcpu),
		report.NewFigure(section, label+": the compute topic on the broker's disk", "MB", disk))
}

func (b *bench) addSweepComputer(section, label string, runs []computerRun) {
	var rps, perCPU []report.Run
	for _, r := range runs {
		rps = append(rps, report.Run{Value: r.rate, Load: r.load})
		perCPU = append(perCPU, report.Run{Value: r.perCPU, Load: r.load})
	}
	b.rep.Add(report.NewFigure(section, label+": computer ×1", "records/s", rps),
		report.NewFigure(section, label+": computer ×1", "records/CPU s", perCPU))
}

// choices is the Markdown table of what each sweep says about its default:
// the setting with the best median for the reader and for a computer, next
// to the default, with the trade-off that decides between them.
func (b *bench) choices() string {
	var sb strings.Builder
	sb.WriteString("## Defaults against the sweeps\n\nThe fastest setting of each sweep by its median, next to the default. " +
		"bench/README.md says why each default is what it is.\n\n" +
		"| sweep | default | fastest reader (records/s) | fastest computer (records/s) | trade-off |\n|---|---|---|---|---|\n")
	best := func(section, suffix string) (label string, value float64) {
		for _, f := range b.rep.Figures {
			if f.Section != section || f.Unit != "records/s" || !strings.HasSuffix(f.Name, suffix) {
				continue
			}
			if f.Median > value {
				label, value = strings.TrimSuffix(f.Name, suffix), f.Median
			}
		}
		return label, value
	}
	defaultOf := func(section string) string {
		for _, f := range b.rep.Figures {
			if f.Section == section {
				if l, _, ok := strings.Cut(f.Name, ": "); ok && strings.Contains(l, "(default)") {
					return withoutDefault(l)
				}
			}
		}
		return "?"
	}
	cell := func(label string, v float64) string {
		if label == "" {
			return "–"
		}
		return fmt.Sprintf("%s (%s)", withoutDefault(label), report.Num(v))
	}
	for _, s := range []struct{ section, name, tradeoff string }{
		{secChunkSize, "chunk size", "a chunk is the unit of work and of redelivery; larger ones mean fewer messages and results, and a coarser spread over partitions"},
		{secBatch, "transaction size", "larger transactions commit less often, but results wait longer and an abort redoes more"},
		{secFetch, "fetch.queue.backoff.ms", "how soon a computer fetches again after its local queue was full"},
		{secLinger, "linger.ms", "batching against latency; the chunks are large already"},
		{secParallel, "reader --parallel", "files read at once: cores used, against memory and connections to the census site"},
		{secCodec, "compression", "bytes on the broker and the network, against CPU in the reader and the computers"},
	} {
		if defaultOf(s.section) == "?" {
			continue // the sweep did not run
		}
		rl, rv := best(s.section, ": reader")
		cl, cv := best(s.section, ": computer ×1")
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s |\n", s.name, defaultOf(s.section), cell(rl, rv), cell(cl, cv), s.tradeoff)
	}
	return strings.TrimRight(sb.String(), "\n")
}

// withoutDefault is a sweep's label without the " (default)" its default
// setting carries.
func withoutDefault(label string) string {
	return strings.TrimSpace(strings.ReplaceAll(label, "(default)", ""))
}
