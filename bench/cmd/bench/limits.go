package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/kafka-scale/kafka-scale/bench/internal/report"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// minRun is the least time one run of an in-process limit takes.
const minRun = 500 * time.Millisecond

const (
	secLimitsCPU    = "Limits: one core, in process"
	secLimitsBroker = "Limits: the broker, librdkafka with no processing"
)

// limitFigures are the medians the targets compare the stages with.
type limitFigures struct {
	rawBytes, gzBytes int64 // of all files: records with line ends, and gzipped
	parseRPS          float64
	tallyRPS          float64
	gzipSeconds       float64 // to decompress every file on one core
	gz, plain         [][]byte
}

// loadData reads the generated files, and their records decompressed with
// "\n" line ends as chunks carry them.
func (b *bench) loadData() error {
	lf := &b.limits
	for _, path := range b.files {
		gz, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		lf.gz = append(lf.gz, gz)
		lf.gzBytes += int64(len(gz))
		lf.rawBytes += int64(len(raw))
		lf.plain = append(lf.plain, bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")))
	}
	return nil
}

func (b *bench) measureLimits(ctx context.Context) error {
	lf := &b.limits
	n := b.opts.limitRuns

	// A run goes over every file as often as it takes to last half a
	// second, so that one scheduling hiccup on a shared machine weighs
	// little.
	repeat := func(fn func() (int64, error)) (n int64, secs float64, err error) {
		runtime.GC()
		start := time.Now()
		for time.Since(start) < minRun {
			m, err := fn()
			if err != nil {
				return n, 0, err
			}
			n += m
		}
		return n, time.Since(start).Seconds(), nil
	}
	var parseRPS, parseMBps, tallyRPS, gzMBps, gzSec []report.Run
	for range n {
		for _, withTally := range []bool{false, true} {
			l := load1()
			passes := 0
			recs, s, err := repeat(func() (int64, error) {
				passes++
				n, err := parseAll(lf.plain, withTally)
				return int64(n), err
			})
			if err != nil {
				return err
			}
			if withTally {
				tallyRPS = append(tallyRPS, report.Run{Value: float64(recs) / s, Load: l})
			} else {
				parseRPS = append(parseRPS, report.Run{Value: float64(recs) / s, Load: l})
				parseMBps = append(parseMBps, report.Run{Value: float64(passes) * float64(lf.rawBytes) / s / 1e6, Load: l})
			}
		}
		l := load1()
		passes := 0
		raw, s, err := repeat(func() (int64, error) { passes++; return gunzipAll(lf.gz) })
		if err != nil {
			return err
		}
		gzMBps = append(gzMBps, report.Run{Value: float64(raw) / s / 1e6, Load: l})
		gzSec = append(gzSec, report.Run{Value: s / float64(passes), Load: l})
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	add := func(sec, name, unit string, runs []report.Run) report.Figure {
		f := report.NewFigure(sec, name, unit, runs)
		b.rep.Add(f)
		logf("%s: %s %s (min %s, max %s)", name, report.Num(f.Median), unit, report.Num(f.Min), report.Num(f.Max))
		return f
	}
	lf.parseRPS = add(secLimitsCPU, "census parse only", "records/s", parseRPS).Median
	add(secLimitsCPU, "census parse only", "MB/s of records", parseMBps)
	lf.tallyRPS = add(secLimitsCPU, "parse and tally (the computer's work per record)", "records/s", tallyRPS).Median
	add(secLimitsCPU, "gzip decode (compress/gzip, as the reader)", "MB/s of records", gzMBps)
	lf.gzipSeconds = add(secLimitsCPU, "gzip decode of every file", "s", gzSec).Median

	// The broker: the reader's chunks, produced with the reader's producer
	// settings and read back with the computer's consumer settings.
	var prodMBps, prodChunks, prodCPU, consMBps []report.Run
	for i := range b.opts.runs {
		topic := b.topic("limit", i)
		if err := b.createTopic(ctx, topic, b.opts.partitions); err != nil {
			return err
		}
		l := load1()
		cpu0 := b.brokerCPU()
		st, err := b.produceChunks(ctx, topic, 500, 1, nil)
		if err != nil {
			return err
		}
		cpu := b.brokerCPU() - cpu0
		prodMBps = append(prodMBps, report.Run{Value: float64(st.bytes) / st.took.Seconds() / 1e6, Load: l})
		prodChunks = append(prodChunks, report.Run{Value: float64(st.messages) / st.took.Seconds(), Load: l})
		prodCPU = append(prodCPU, report.Run{Value: cpu.Seconds(), Load: l})
		l = load1()
		cst, err := b.consumeAll(ctx, topic, b.opts.partitions, st.messages)
		if err != nil {
			return err
		}
		consMBps = append(consMBps, report.Run{Value: float64(cst.bytes) / cst.took.Seconds() / 1e6, Load: l})
	}
	add(secLimitsBroker, "produce, chunks of 500 records (reader's settings: lz4, linger 10 ms, acks=all)", "MB/s of chunks", prodMBps)
	add(secLimitsBroker, "produce, chunks of 500 records", "chunks/s", prodChunks)
	add(secLimitsBroker, "broker CPU while producing every chunk once", "CPU s", prodCPU)
	add(secLimitsBroker, "consume (computer's settings: read_committed)", "MB/s of chunks", consMBps)
	return nil
}

// parseAll parses every record of plain, as the computer does (line by
// line with bytes.IndexByte), and tallies them when withTally.
func parseAll(plain [][]byte, withTally bool) (int, error) {
	var (
		rec  census.Record
		t    = tally.New()
		recs int
	)
	for _, data := range plain {
		line := 0
		for len(data) > 0 {
			rec1 := data
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				rec1, data = data[:i], data[i+1:]
			} else {
				data = nil
			}
			line++
			if err := census.Parse(rec1, line, &rec); err != nil {
				return recs, err
			}
			if withTally {
				t.Add(&rec)
			}
			recs++
		}
	}
	return recs, nil
}

// gunzipAll decompresses every file as the reader does (256 KiB buffers on
// either side of compress/gzip) and returns the bytes of records.
func gunzipAll(files [][]byte) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for _, gz := range files {
		zr, err := gzip.NewReader(bufio.NewReaderSize(bytes.NewReader(gz), 256<<10))
		if err != nil {
			return n, err
		}
		for {
			m, err := zr.Read(buf)
			n += int64(m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// forEachChunk cuts the records into chunks of size records as the reader
// does; copy numbers the source names, so that copies are distinct sources.
func (b *bench) forEachChunk(size, copy int, fn func(*schema.Chunk) error) error {
	for i, data := range b.limits.plain {
		name := filepath.Base(b.files[i])
		if copy > 0 {
			name = fmt.Sprintf("%s.%d", name, copy)
		}
		c := schema.Chunk{Source: name, Fingerprint: "bench", Year: b.opts.year, Month: b.opts.months[i], FirstLine: 1}
		for len(data) > 0 {
			end, recs := 0, 0
			for recs < size && end < len(data) {
				j := bytes.IndexByte(data[end:], '\n')
				if j < 0 {
					end = len(data)
				} else {
					end += j + 1
				}
				recs++
			}
			c.Data, c.Records, data = data[:end], uint32(recs), data[end:]
			c.Last = len(data) == 0
			if err := fn(&c); err != nil {
				return err
			}
			c.Seq++
			c.FirstLine += uint64(recs)
		}
	}
	return nil
}

type transfer struct {
	messages int
	bytes    int64
	took     time.Duration
}

// produceChunks produces copies of every chunk to topic with the reader's
// producer settings (extra overrides them) and waits for every delivery.
func (b *bench) produceChunks(ctx context.Context, topic string, size, copies int, extra kafka.ConfigMap) (transfer, error) {
	cm := extkafka.ProducerConfig(extkafka.Config{BootstrapServers: b.addr}, extra)
	cm["go.logs.channel.enable"] = false
	cm["statistics.interval.ms"] = 0
	p, err := kafka.NewProducer(&cm)
	if err != nil {
		return transfer{}, err
	}
	defer p.Close()
	var delivered, failed atomic.Int64
	var firstErr atomic.Value
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range p.Events() {
			if m, ok := ev.(*kafka.Message); ok {
				if m.TopicPartition.Error != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, m.TopicPartition.Error)
				}
				delivered.Add(1)
			}
		}
	}()
	headers := []kafka.Header{}
	for _, h := range schema.Headers(schema.TypeChunk) {
		headers = append(headers, kafka.Header{Key: h.Key, Value: h.Value})
	}
	var (
		st  transfer
		buf []byte
	)
	start := time.Now()
	for c := range copies {
		err := b.forEachChunk(size, c, func(ch *schema.Chunk) error {
			buf = schema.AppendChunk(buf[:0], ch)
			st.messages++
			st.bytes += int64(len(buf))
			_, err := extkafka.Produce(ctx, p, &kafka.Message{
				TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
				Key:            ch.Key(), Value: buf, Headers: headers,
			})
			return err
		})
		if err != nil {
			return st, err
		}
	}
	for delivered.Load() < int64(st.messages) {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		p.Flush(100)
	}
	st.took = time.Since(start)
	if n := failed.Load(); n > 0 {
		return st, fmt.Errorf("produce to %s: %d of %d chunks failed: %v", topic, n, st.messages, firstErr.Load())
	}
	return st, nil
}

// consumeAll reads want messages from every partition of topic with the
// computer's consumer settings, from the beginning, and times it.
func (b *bench) consumeAll(ctx context.Context, topic string, partitions, want int) (transfer, error) {
	cm := extkafka.ConsumerConfig(extkafka.Config{BootstrapServers: b.addr}, b.topic("reader-of", topic), extkafka.GroupProtocolClassic, nil)
	cm["go.logs.channel.enable"] = false
	cm["statistics.interval.ms"] = 0
	c, err := kafka.NewConsumer(&cm)
	if err != nil {
		return transfer{}, err
	}
	defer c.Close()
	tps := make([]kafka.TopicPartition, partitions)
	for i := range tps {
		tps[i] = kafka.TopicPartition{Topic: &topic, Partition: int32(i), Offset: kafka.OffsetBeginning}
	}
	start := time.Now()
	if err := c.Assign(tps); err != nil {
		return transfer{}, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	var st transfer
	for st.messages < want {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("consume %s: %d of %d messages after 5 minutes", topic, st.messages, want)
		}
		switch e := c.Poll(100).(type) {
		case *kafka.Message:
			st.messages++
			st.bytes += int64(len(e.Value))
		case kafka.Error:
			if e.IsFatal() {
				return st, e
			}
		}
	}
	st.took = time.Since(start)
	return st, nil
}
