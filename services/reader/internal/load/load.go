// Package load reads census sources and produces their chunks to the compute
// topic, and reports once every chunk is acknowledged by the brokers.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/services/reader/internal/chunker"
	"github.com/kafka-scale/kafka-scale/services/reader/internal/source"
)

// Producer is the part of *kafka.Producer the loader uses.
type Producer interface {
	Produce(msg *kafka.Message, deliveryChan chan kafka.Event) error
	Events() chan kafka.Event
	Flush(timeoutMs int) int
	Len() int
}

// ProducerConfig is what the loader needs of its producer on top of
// extkafka's defaults: delivery reports that carry the opaque and the error,
// which is all it reads (by default confluent-kafka-go copies the key and
// value of every delivered message back into Go memory). Chunks whose
// records the loader compresses itself are not compressed again. Batches
// linger extkafka.LoaderLingerMs: the reader is a batch job. The events
// channel, which handleEvents empties as reports come, holds 1,000 events,
// not confluent-kafka-go's million: that buffer is 16 MB of live heap, which
// lets the Go heap grow to twice that before a collection, so the reader's
// resident memory grew with the length of a load.
func ProducerConfig(codec schema.Codec) kafka.ConfigMap {
	cm := kafka.ConfigMap{"go.delivery.report.fields": "none", "linger.ms": extkafka.LoaderLingerMs,
		"go.events.channel.size": 1000}
	if codec != schema.CodecNone {
		cm["compression.type"] = "none"
	}
	return cm
}

// Loader produces the chunks of sources to one topic.
type Loader struct {
	Producer  Producer
	Topic     string
	ChunkSize int
	Codec     schema.Codec // compression of each chunk's records
	Parallel  int          // sources read at once
	Log       *zap.Logger
	Metrics   *Metrics
	Stats     *extkafka.Stats // librdkafka statistics, may be nil

	// room is signalled on each delivery report, for produce to wait on
	// while the producer's queue is full (set by Load).
	room *extkafka.Room
}

// SourceReport is what happened to one source.
type SourceReport struct {
	Source      string `json:"source"`
	Year        int    `json:"year,omitempty"`
	Month       int    `json:"month,omitempty"`
	Status      string `json:"status"` // StatusOK, StatusFailed or StatusNotPublished
	Fingerprint string `json:"fingerprint"`
	Format      string `json:"format,omitempty"` // gzip, zip or plain
	// Records is the lines read and sent, good and bad: the computers
	// judge them (the aggregator's /v1/sources counts the rejected).
	Records   uint64 `json:"records"`
	RecordLen uint32 `json:"record_length,omitempty"` // characters per record, read from the source
	Chunks    uint32 `json:"chunks"`
	Acked     uint32 `json:"acked"`
	Bytes     uint64 `json:"bytes"`
	Err       error  `json:"-"`
	Error     string `json:"error,omitempty"`
}

// Statuses of a source in its report and the sources metric.
const (
	StatusOK           = "ok"            // every chunk acknowledged
	StatusFailed       = "failed"        // see the error
	StatusNotPublished = "not_published" // the site has no file for the month: one empty chunk says so
)

// progress tracks the acknowledgements of one source's chunks; it travels
// as the messages' opaque.
type progress struct {
	mu     sync.Mutex
	report SourceReport
	failed error
}

// Load produces every source and waits until each chunk is acknowledged or
// has failed. It returns one report per source, in order, and an error
// naming each source that was not loaded completely.
func (l *Loader) Load(ctx context.Context, sources []*source.Source) ([]SourceReport, error) {
	progs := make([]*progress, len(sources))
	for i, s := range sources {
		progs[i] = &progress{report: SourceReport{Source: s.Name, Year: s.Year, Month: s.Month}}
	}

	// Delivery reports and statistics arrive on the producer's event channel.
	l.room = extkafka.NewRoom()
	var pending sync.WaitGroup
	eventsDone := make(chan struct{})
	stopEvents := make(chan struct{})
	go func() {
		defer close(eventsDone)
		l.handleEvents(&pending, stopEvents)
	}()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, l.Parallel))
	for i, s := range sources {
		p := progs[i]
		g.Go(func() error {
			// One source failing does not stop the others: it is reported.
			p.setErr(l.loadSource(gctx, s, p, &pending))
			return nil
		})
	}
	_ = g.Wait()

	// Wait for every delivery report; the producer's own poller delivers
	// them to handleEvents. (Flush in a loop here made the last one wait
	// up to its 100 ms timeout: it polls librdkafka, which has nothing
	// more to say once the report is in the channel.)
	pending.Wait()
	close(stopEvents)
	<-eventsDone

	reports := make([]SourceReport, len(progs))
	var errs []error
	for i, p := range progs {
		p.mu.Lock()
		r := p.report
		if p.failed != nil {
			r.Err = p.failed
			r.Error = p.failed.Error()
			errs = append(errs, p.failed)
		} else if r.Acked != r.Chunks {
			r.Err = fmt.Errorf("%s: %d of %d chunks acknowledged", r.Source, r.Acked, r.Chunks)
			r.Error = r.Err.Error()
			errs = append(errs, r.Err)
		}
		p.mu.Unlock()
		switch {
		case r.Err != nil:
			r.Status = StatusFailed
		case r.Status == "":
			r.Status = StatusOK
		}
		reports[i] = r
		l.Metrics.Sources.WithLabelValues(r.Status).Inc()
	}
	return reports, errors.Join(errs...)
}

func (p *progress) setErr(err error) {
	if err == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed == nil {
		p.failed = err
	}
}

func (l *Loader) loadSource(ctx context.Context, s *source.Source, p *progress, pending *sync.WaitGroup) error {
	start := time.Now()
	raw, fp, err := s.Open(ctx)
	if errors.Is(err, source.ErrNotPublished) {
		return l.notPublished(ctx, s, p, pending, err)
	}
	if err != nil {
		return fmt.Errorf("source %s: %w", s.Name, err)
	}
	defer raw.Close()
	p.mu.Lock()
	p.report.Source, p.report.Fingerprint = s.Name, fp // over HTTP, the file the site had
	p.mu.Unlock()
	r, format, err := s.Records(raw)
	if err != nil {
		// Not a census file at all (neither gzip, zip nor records): as
		// unreadable as one that breaks off half-way.
		l.Metrics.ReadErrors.Inc()
		return fmt.Errorf("source %s: %w", s.Name, err)
	}
	l.Log.Info("reading source", zap.String("source", s.Name), zap.String("fingerprint", fp), zap.String("format", format))
	st, cutErr, produceErr := l.cutAndProduce(ctx, r, chunker.Source{Name: s.Name, Fingerprint: fp, Year: s.Year, Month: s.Month, Format: format}, p, pending)
	p.mu.Lock()
	p.report.Records, p.report.Bytes, p.report.Chunks = st.Lines, st.Bytes, st.Chunks
	p.report.Format, p.report.RecordLen = format, st.RecordLen
	p.mu.Unlock()
	l.Metrics.Records.Add(float64(st.Lines))
	l.Metrics.Bytes.Add(float64(st.Bytes))
	if produceErr != nil {
		return fmt.Errorf("source %s: %w", s.Name, produceErr)
	}
	if cutErr != nil {
		l.Metrics.ReadErrors.Inc()
		return fmt.Errorf("source %s: %w", s.Name, cutErr)
	}
	if zr, ok := r.(io.Closer); ok {
		_ = zr.Close()
	}
	l.Metrics.DownloadedGzips.Inc()
	l.Log.Info("source read", zap.String("source", s.Name), zap.Uint64("records", st.Lines),
		zap.Uint32("chunks", st.Chunks), zap.Duration("took", time.Since(start)))
	return nil
}

// notPublished reports a month the site does not have: one empty last
// chunk marked NotPublished, so that the aggregator lists the month as such,
// and a report that does not fail the load.
func (l *Loader) notPublished(ctx context.Context, s *source.Source, p *progress, pending *sync.WaitGroup, why error) error {
	l.Log.Warn("month not published", zap.String("source", s.Name), zap.Error(why))
	c := schema.Chunk{Source: s.Name, Fingerprint: "not-published", Year: s.Year, Month: s.Month, FirstLine: 1, Last: true, NotPublished: true}
	p.mu.Lock()
	p.report.Fingerprint, p.report.Status, p.report.Error, p.report.Chunks = c.Fingerprint, StatusNotPublished, why.Error(), 1
	p.mu.Unlock()
	enc := schema.ChunkEncoder{Codec: l.Codec}
	if err := l.produce(ctx, &c, enc.Append(nil, &c), p, pending); err != nil {
		return fmt.Errorf("source %s: %w", s.Name, err)
	}
	return nil
}

// chunkBuffers is how many chunk buffers circulate between a source's two
// goroutines: one being filled, one being encoded, one waiting.
const chunkBuffers = 3

// cutAndProduce cuts a source's records into chunks in this goroutine
// (decompressing as it reads) while another encodes and produces them, so
// that one source keeps two cores busy: decompression and compression
// each take about half of the reader's CPU. Chunk buffers go back and
// forth, never copied. It returns when every chunk is handed to the
// producer, or on the first error of either side: reading (cutErr) or
// producing (produceErr; cutting then stops).
func (l *Loader) cutAndProduce(ctx context.Context, r io.Reader, src chunker.Source, p *progress, pending *sync.WaitGroup) (st chunker.Stats, cutErr, produceErr error) {
	free := make(chan []byte, chunkBuffers)
	for range chunkBuffers {
		free <- make([]byte, 0, chunker.BufferCap(l.ChunkSize))
	}
	work := make(chan schema.Chunk, chunkBuffers-1)
	var (
		mu      sync.Mutex
		failure error // the first produce error, shared by both goroutines
	)
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return failure
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf []byte
		enc := schema.ChunkEncoder{Codec: l.Codec}
		for c := range work {
			// After a failure the rest is drained, its buffers returned.
			if failed() == nil {
				buf = enc.Append(buf[:0], &c)
				if err := l.produce(ctx, &c, buf, p, pending); err != nil {
					mu.Lock()
					failure = err
					mu.Unlock()
				}
			}
			free <- c.Data
		}
	}()
	st, cutErr = chunker.CutInto(ctx, r, src, l.ChunkSize, func() []byte { return <-free }, func(c *schema.Chunk) error {
		if err := failed(); err != nil {
			return err
		}
		work <- *c
		return nil
	})
	close(work)
	<-done
	if produceErr = failed(); produceErr != nil && errors.Is(cutErr, produceErr) {
		cutErr = nil // cutting stopped because producing had
	}
	return st, cutErr, produceErr
}

// produce hands one encoded chunk to the producer, waiting while its queue
// is full. librdkafka copies value, so the caller may reuse it.
func (l *Loader) produce(ctx context.Context, c *schema.Chunk, value []byte, p *progress, pending *sync.WaitGroup) error {
	msg := &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &l.Topic, Partition: kafka.PartitionAny},
		Key:            c.Key(),
		Value:          value,
		Opaque:         p,
	}
	for _, h := range schema.ChunkHeaders(l.Codec) {
		msg.Headers = append(msg.Headers, kafka.Header{Key: h.Key, Value: h.Value})
	}
	pending.Add(1)
	waits, err := extkafka.Produce(ctx, l.Producer, msg, l.room.C())
	l.Metrics.QueueFull.Add(float64(waits))
	if err != nil {
		pending.Done()
		if ctx.Err() == nil {
			l.Metrics.ProduceErrors.Inc()
		}
		return fmt.Errorf("produce chunk %d of %s: %w", c.Seq, c.Source, err)
	}
	return nil
}

func (l *Loader) handleEvents(pending *sync.WaitGroup, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case ev := <-l.Producer.Events():
			switch e := ev.(type) {
			case *kafka.Message:
				p, _ := e.Opaque.(*progress)
				if e.TopicPartition.Error != nil {
					l.Metrics.ProduceErrors.Inc()
					if p != nil {
						p.setErr(fmt.Errorf("source %s: chunk not acknowledged: %w", p.report.Source, e.TopicPartition.Error))
					}
				} else {
					l.Metrics.ChunksWritten.Inc()
					if p != nil {
						p.mu.Lock()
						p.report.Acked++
						p.mu.Unlock()
					}
				}
				pending.Done()
				l.room.Signal()
			case *kafka.Stats:
				if l.Stats != nil {
					if err := l.Stats.Update(e.String()); err != nil {
						l.Log.Warn("librdkafka statistics", zap.Error(err))
					}
				}
			case kafka.Error:
				l.Log.Warn("producer error", zap.Error(e), zap.Bool("fatal", e.IsFatal()))
			}
		}
	}
}

// Metrics are the reader's own series.
type Metrics struct {
	DownloadedGzips prometheus.Counter
	ChunksWritten   prometheus.Counter
	Records         prometheus.Counter
	Bytes           prometheus.Counter
	ReadErrors      prometheus.Counter
	ProduceErrors   prometheus.Counter
	QueueFull       prometheus.Counter
	Sources         *prometheus.CounterVec
	DownloadBytes   prometheus.Counter
	DownloadRetries *prometheus.CounterVec
	DownloadResumes prometheus.Counter
}

// NewMetrics registers the reader's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		// The original kafka-scale's names, kept for existing dashboards.
		DownloadedGzips: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_downloaded_gzips",
			Help: "Census files read to their end (name kept from the original kafka-scale)."}),
		ChunksWritten: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_chunks_written",
			Help: "Chunks acknowledged by the brokers on the compute topic (name kept from the original kafka-scale)."}),
		Records: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_reader_records_total",
			Help: "Records read from census files and cut into chunks."}),
		Bytes: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_reader_records_bytes_total",
			Help: "Bytes of records read, decompressed, line ends included."}),
		ReadErrors: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_reader_read_errors_total",
			Help: "Census files that could not be read to their end (truncated, corrupt, or no census file at all)."}),
		ProduceErrors: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_reader_produce_errors_total",
			Help: "Chunks the producer failed to deliver."}),
		QueueFull: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_reader_queue_full_total",
			Help: "Times the producer queue was full and the reader waited."}),
		Sources: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "kafka_scale_reader_sources_total",
			Help: "Sources finished, by result (ok: every chunk acknowledged; failed; not_published: the site has no file for the month)."}, []string{"result"}),
		DownloadBytes: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_reader_download_bytes_total",
			Help: "Bytes received from the census server, as stored (compressed)."}),
		DownloadRetries: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "kafka_scale_reader_download_retries_total",
			Help: "Download requests retried, by reason (network, or the HTTP status)."}, []string{"reason"}),
		DownloadResumes: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_reader_download_resumes_total",
			Help: "Interrupted downloads resumed with a Range request."}),
	}
	return m
}

// DownloadObserver counts download progress for the source package.
type DownloadObserver struct{ m *Metrics }

// Observer returns the download observer backed by m.
func (m *Metrics) Observer() DownloadObserver { return DownloadObserver{m} }

func (o DownloadObserver) Retried(_ string, reason string) {
	o.m.DownloadRetries.WithLabelValues(reason).Inc()
}
func (o DownloadObserver) Resumed(string)             { o.m.DownloadResumes.Inc() }
func (o DownloadObserver) Downloaded(_ string, n int) { o.m.DownloadBytes.Add(float64(n)) }
