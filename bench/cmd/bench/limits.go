package main

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
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

	"github.com/kafka-scale/kafka-scale/bench/internal/machine"
	"github.com/kafka-scale/kafka-scale/bench/internal/report"
	"github.com/klauspost/compress/gzip"

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

// measureCPULimits measures parsing and gzip decoding in process, before
// the broker starts: a core of a quiet machine is what the services are
// compared with.
func (b *bench) measureCPULimits(ctx context.Context) error {
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
	var parseRPS, parseMBps, tallyRPS, gzMBps, gzSec, stdMBps []report.Run
	for range n {
		for _, withTally := range []bool{false, true} {
			l := machine.Load1()
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
		l := machine.Load1()
		passes := 0
		raw, s, err := repeat(func() (int64, error) { passes++; return gunzipAll(lf.gz, readerGzip) })
		if err != nil {
			return err
		}
		gzMBps = append(gzMBps, report.Run{Value: float64(raw) / s / 1e6, Load: l})
		gzSec = append(gzSec, report.Run{Value: s / float64(passes), Load: l})
		l = machine.Load1()
		raw, s, err = repeat(func() (int64, error) { return gunzipAll(lf.gz, stdGzip) })
		if err != nil {
			return err
		}
		stdMBps = append(stdMBps, report.Run{Value: float64(raw) / s / 1e6, Load: l})
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	add := b.addLimit
	lf.parseRPS = add(secLimitsCPU, "census parse only", "records/s", parseRPS).Median
	add(secLimitsCPU, "census parse only", "MB/s of records", parseMBps)
	lf.tallyRPS = add(secLimitsCPU, "parse and tally (the computer's work per record)", "records/s", tallyRPS).Median
	add(secLimitsCPU, "gzip decode (klauspost/compress, as the reader)", "MB/s of records", gzMBps)
	lf.gzipSeconds = add(secLimitsCPU, "gzip decode of every file (klauspost/compress)", "s", gzSec).Median
	add(secLimitsCPU, "gzip decode (compress/gzip, the standard library, for comparison)", "MB/s of records", stdMBps)
	return nil
}

func (b *bench) addLimit(sec, name, unit string, runs []report.Run) report.Figure {
	f := report.NewFigure(sec, name, unit, runs)
	b.rep.Add(f)
	logf("%s: %s %s (min %s, max %s)", name, report.Num(f.Median), unit, report.Num(f.Min), report.Num(f.Max))
	return f
}

// measureBrokerLimits measures the broker's produce and consume rates for
// the reader's chunks.
func (b *bench) measureBrokerLimits(ctx context.Context) error {
	add := b.addLimit

	// The broker: the reader's chunks, produced with the reader's producer
	// settings and read back with the computer's consumer settings.
	var prodMBps, prodRPS, prodCPU, consMBps, consRPS []report.Run
	for i := range b.opts.runs {
		topic := b.topic("limit", i)
		if err := b.createTopic(ctx, topic, b.opts.partitions); err != nil {
			return err
		}
		l := machine.Load1()
		cpu0 := b.brokerCPU()
		st, err := b.produceChunks(ctx, topic, 500, 1, schema.CodecLZ4, nil)
		if err != nil {
			return err
		}
		cpu := b.brokerCPU() - cpu0
		prodMBps = append(prodMBps, report.Run{Value: float64(st.bytes) / st.took.Seconds() / 1e6, Load: l})
		prodRPS = append(prodRPS, report.Run{Value: float64(st.records) / st.took.Seconds(), Load: l})
		prodCPU = append(prodCPU, report.Run{Value: cpu.Seconds(), Load: l})
		l = machine.Load1()
		cst, err := b.consumeAll(ctx, topic, b.opts.partitions, st.messages)
		if err != nil {
			return err
		}
		consMBps = append(consMBps, report.Run{Value: float64(cst.bytes) / cst.took.Seconds() / 1e6, Load: l})
		consRPS = append(consRPS, report.Run{Value: float64(st.records) / cst.took.Seconds(), Load: l})
	}
	add(secLimitsBroker, "produce, the reader's chunks of 500 records (records lz4-compressed; linger 50 ms, acks=all)", "records/s", prodRPS)
	add(secLimitsBroker, "produce, the reader's chunks of 500 records", "MB/s of messages", prodMBps)
	add(secLimitsBroker, "broker CPU while producing every chunk once", "CPU s", prodCPU)
	add(secLimitsBroker, "consume (the computer's settings: read_committed)", "records/s", consRPS)
	add(secLimitsBroker, "consume (the computer's settings: read_committed)", "MB/s of messages", consMBps)
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

// A gzip decoder: the reader's, and the standard library's for comparison.
type gunzipper func(io.Reader) (io.Reader, error)

func readerGzip(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
func stdGzip(r io.Reader) (io.Reader, error)    { return stdgzip.NewReader(r) }

// gunzipAll decompresses every file as the reader does (256 KiB buffers on
// either side of the decoder) and returns the bytes of records.
func gunzipAll(files [][]byte, newReader gunzipper) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for _, gz := range files {
		zr, err := newReader(bufio.NewReaderSize(bytes.NewReader(gz), 256<<10))
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
	records  int64
	messages int
	bytes    int64
	took     time.Duration
}

// produceChunks produces copies of every chunk to topic, encoded with codec
// and with the reader's producer settings (extra overrides them), and waits
// for every delivery.
func (b *bench) produceChunks(ctx context.Context, topic string, size, copies int, codec schema.Codec, extra kafka.ConfigMap) (transfer, error) {
	cfg := kafka.ConfigMap{"linger.ms": defaultLinger} // as the reader
	if codec != schema.CodecNone {
		cfg["compression.type"] = "none" // as the reader: the records are compressed already
	}
	for k, v := range extra {
		cfg[k] = v
	}
	cm := extkafka.ProducerConfig(extkafka.Config{BootstrapServers: b.addr}, cfg)
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
	for _, h := range schema.ChunkHeaders(codec) {
		headers = append(headers, kafka.Header{Key: h.Key, Value: h.Value})
	}
	var (
		st  transfer
		buf []byte
		enc = schema.ChunkEncoder{Codec: codec}
	)
	start := time.Now()
	for c := range copies {
		err := b.forEachChunk(size, c, func(ch *schema.Chunk) error {
			buf = enc.Append(buf[:0], ch)
			st.messages++
			st.records += int64(ch.Records)
			st.bytes += int64(len(buf))
			_, err := extkafka.Produce(ctx, p, &kafka.Message{
				TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
				Key:            ch.Key(), Value: buf, Headers: headers,
			}, nil)
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
