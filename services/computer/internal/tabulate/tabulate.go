// Package tabulate turns one chunk of census records into its partial
// aggregate. Records that fail to parse are counted by source and reason,
// logged with their line numbers, and never stop the chunk's good records.
package tabulate

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
	"github.com/kafka-scale/kafka-scale/services/computer/internal/worker"
)

// logPerChunk bounds the rejected records logged per chunk; all are counted.
const logPerChunk = 3

// Tabulator processes chunks; it implements worker.Processor.
type Tabulator struct {
	log      *zap.Logger
	records  prometheus.Counter
	bytes    prometheus.Counter
	rejected *prometheus.CounterVec
	headers  []kafka.Header
	rec      census.Record
	buf      []byte // decompressed records, reused from chunk to chunk
	parsers  map[parserKey]*census.Parser
}

// parserKey is what chooses a chunk's parser: the source's month, which
// gives the layout, and its record length.
type parserKey struct {
	year, month int
	recordLen   int
}

// parser is the parser of the chunk's records, or an error that rejects
// all of them: a month before the first layout (reason "period"), records
// shorter than the layout (census.ErrLength, reason "length").
func (t *Tabulator) parser(c *schema.Chunk) (*census.Parser, error) {
	k := parserKey{year: c.Year, month: c.Month, recordLen: int(c.RecordLen)}
	if k.recordLen == 0 {
		k.recordLen = census.RecordLen // readers older than record_len
	}
	if p := t.parsers[k]; p != nil {
		return p, nil
	}
	p, err := census.NewParser(k.year, k.month, k.recordLen)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", c.Source, err)
	}
	if t.parsers == nil || len(t.parsers) > 64 {
		t.parsers = map[parserKey]*census.Parser{}
	}
	t.parsers[k] = p
	return p, nil
}

// New returns a Tabulator registering its metrics on reg.
func New(reg prometheus.Registerer, log *zap.Logger) *Tabulator {
	t := &Tabulator{
		log: log,
		records: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_computer_records_total",
			Help: "Records parsed and tabulated."}),
		bytes: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_computer_records_bytes_total",
			Help: "Bytes of records processed, good and bad."}),
		rejected: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "kafka_scale_computer_rejected_records_total",
			Help: "Records that failed to parse, by source and reason (length, field:<NAME>)."}, []string{"source", "reason"}),
	}
	for _, h := range schema.Headers(schema.TypeResult) {
		t.headers = append(t.headers, kafka.Header{Key: h.Key, Value: h.Value})
	}
	return t
}

// Process implements worker.Processor.
func (t *Tabulator) Process(msg *kafka.Message) ([]worker.Output, error) {
	headers := make([]schema.Header, len(msg.Headers))
	for i, h := range msg.Headers {
		headers[i] = schema.Header{Key: h.Key, Value: h.Value}
	}
	if err := schema.CheckHeaders(headers, schema.TypeChunk); err != nil {
		return nil, fmt.Errorf("chunk %q: %w", msg.Key, err)
	}
	var c schema.Chunk
	if err := schema.DecodeChunk(msg.Value, &c); err != nil {
		return nil, fmt.Errorf("chunk %q: %w", msg.Key, err)
	}
	data, err := c.RecordData(t.buf)
	if err != nil {
		return nil, fmt.Errorf("chunk %q: %w", msg.Key, err)
	}
	if c.Codec != schema.CodecNone {
		t.buf = data
	}
	c.Data, c.Codec = data, schema.CodecNone
	r := t.Tabulate(&c)
	return []worker.Output{{Key: r.Key(), Value: schema.AppendResult(nil, r), Headers: t.headers}}, nil
}

// tabulations are the tables every result carries, one slice that results
// share and nothing writes: no allocation per chunk.
var tabulations = schema.Tabulations()

// Tabulate parses the chunk's records and tabulates the good ones; c.Data
// holds the records as they are (CodecNone).
func (t *Tabulator) Tabulate(c *schema.Chunk) *schema.Result {
	r := &schema.Result{Source: c.Source, Fingerprint: c.Fingerprint, Year: c.Year, Month: c.Month, Seq: c.Seq,
		Last: c.Last, Error: c.Error, Rejects: map[string]uint64{}, Tally: tally.New(),
		Format: c.Format, NotPublished: c.NotPublished, Tabulations: tabulations}
	p, perr := t.parser(c)
	if perr != nil {
		t.log.Warn("rejecting a chunk's records", zap.String("source", c.Source), zap.Error(perr))
	}
	data := c.Data
	line := int(c.FirstLine)
	var good uint64
	for len(data) > 0 {
		rec := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			rec, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		r.Records++
		err := perr
		if err == nil {
			err = p.Parse(rec, line, &t.rec)
		}
		if err != nil {
			reason := census.Reason(err)
			if err == perr {
				reason = census.ReasonPeriod
				if errors.Is(err, census.ErrLength) {
					reason = census.ReasonLength
				}
			}
			r.Rejects[reason]++
			r.Rejected++
			if r.Rejected <= logPerChunk {
				t.log.Warn("rejected record", zap.String("source", c.Source), zap.Int("line", line), zap.String("reason", reason), zap.Error(err))
			}
		} else {
			r.Tally.Add(&t.rec)
			good++
		}
		line++
	}
	t.records.Add(float64(good))
	t.bytes.Add(float64(len(c.Data)))
	for reason, n := range r.Rejects {
		t.rejected.WithLabelValues(c.Source, reason).Add(float64(n))
	}
	return r
}
