package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/kafka-scale/kafka-scale/bench/internal/report"
)

// Defaults the sweeps compare with; each sweep runs them again next to the
// other settings.
const (
	defaultChunkSize   = 500
	defaultBatchChunks = 100
	defaultLinger      = 10
	defaultCodec       = "lz4"
	defaultFetchWait   = 50
)

const (
	secChunkSize = "Sweep: reader --chunk-size (reader alone; one computer draining its topic)"
	secBatch     = "Sweep: computer --batch-chunks (--batch-age 500ms; one computer)"
	secFetch     = "Sweep: computer fetch.queue.backoff.ms (one computer)"
	secLinger    = "Sweep: reader linger.ms"
	secParallel  = "Sweep: reader --parallel (files read at once)"
	secCodec     = "Sweep: reader compression.type (reader alone; one computer draining its topic)"
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
// varies the computer, which then drains the stage's topics), then a
// computer on what the reader wrote.
func (b *bench) sweep(ctx context.Context, section, key string, readerVaries bool, settings []setting) error {
	readers := make([][]readerRun, len(settings))
	comps := make([][]computerRun, len(settings))
	for round := range b.opts.runs {
		for i, s := range settings {
			name := fmt.Sprintf("%s%d-%d", key, i, round)
			in := b.stages.readers[round%len(b.stages.readers)]
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
		codec = append(codec, setting{label: label(c, c == defaultCodec),
			reader: []string{"--kafka-config", "compression.type=" + c}, withComputer: true})
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
