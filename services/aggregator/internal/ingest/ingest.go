// Package ingest feeds the aggregator's store: it restores the last snapshot
// from the state topic, consumes the results topic from the offsets that
// snapshot covers, and writes new snapshots in transactions.
//
// Restarts lose nothing and count nothing twice: the store ignores chunks it
// has counted, and a snapshot and the offsets it covers are written in one
// transaction. The consumer is assigned every partition of the results
// topic (one aggregator reads them all); its group is used only to commit
// offsets for lag monitoring, never to decide where to resume.
package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/httpserver"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/services/aggregator/internal/state"
)

// Config names the topics and paces snapshots.
type Config struct {
	ResultsTopic string
	StateTopic   string
	// Group is the consumer group the offsets are committed in, and
	// TransactionalID the producer's: both are named in the errors of a
	// refusal for want of an ACL.
	Group            string
	TransactionalID  string
	SnapshotInterval time.Duration
	OpTimeout        time.Duration
	// TxnTimeout is the producer's transaction.timeout.ms: a commit is
	// resumed until it has been tried for that long.
	TxnTimeout time.Duration
}

// Clients are the Kafka clients ingest uses; it closes none of them.
type Clients struct {
	// Results is assigned the results topic's partitions; it must have
	// enable.partition.eof=true and isolation.level=read_committed.
	Results ResultsConsumer
	// State reads the state topic on restore (read_committed, no group).
	State StateConsumer
	// Producer is transactional; it writes snapshots.
	Producer Producer
}

// ResultsConsumer is the part of *kafka.Consumer that reads the results
// topic.
type ResultsConsumer interface {
	metadataSource
	Assign(partitions []kafka.TopicPartition) error
	Poll(timeoutMs int) kafka.Event
	Position(partitions []kafka.TopicPartition) ([]kafka.TopicPartition, error)
	CommitOffsets(offsets []kafka.TopicPartition) ([]kafka.TopicPartition, error)
}

// StateConsumer is the part of *kafka.Consumer that reads the state topic
// on restore.
type StateConsumer interface {
	metadataSource
	Assign(partitions []kafka.TopicPartition) error
	Unassign() error
	Poll(timeoutMs int) kafka.Event
}

// Producer is the part of *kafka.Producer that writes snapshots.
type Producer interface {
	extkafka.Producer
	InitTransactions(ctx context.Context) error
	BeginTransaction() error
	CommitTransaction(ctx context.Context) error
	AbortTransaction(ctx context.Context) error
}

// Ingest runs restore, consume and snapshot.
type Ingest struct {
	cfg   Config
	c     Clients
	store *state.Store
	log   *zap.Logger
	m     *Metrics
	stats *extkafka.Stats
	probe *httpserver.Probe

	next     map[int32]int64 // next offset to consume per results partition
	eof      map[int32]bool
	caughtUp bool
	started  time.Time
}

// New returns an Ingest over store.
func New(cfg Config, c Clients, store *state.Store, log *zap.Logger, m *Metrics, stats *extkafka.Stats, probe *httpserver.Probe) *Ingest {
	// Every reason's series exists from the start, at 0, so that rates
	// and alerts on them see the first invalid message.
	for _, reason := range schema.Reasons() {
		m.InvalidMessages.WithLabelValues(cfg.ResultsTopic, reason)
		m.InvalidMessages.WithLabelValues(cfg.StateTopic, reason)
	}
	m.InvalidMessages.WithLabelValues(cfg.ResultsTopic, ReasonOutOfRange)
	m.InvalidMessages.WithLabelValues(cfg.StateTopic, ReasonUnknownKey)
	return &Ingest{cfg: cfg, c: c, store: store, log: log, m: m, stats: stats, probe: probe,
		next: map[int32]int64{}, eof: map[int32]bool{}}
}

// Run restores, then consumes until ctx is done, and writes a last snapshot.
func (in *Ingest) Run(ctx context.Context) error {
	in.started = time.Now()
	ictx, cancel := context.WithTimeout(ctx, in.cfg.OpTimeout)
	err := in.c.Producer.InitTransactions(ictx)
	cancel()
	if err != nil {
		// A live aggregator with the same transactional id is fenced by
		// this call; failing here means the broker is not reachable, or
		// refuses the transactional id.
		return fmt.Errorf("init transactions: %w",
			extkafka.NotAuthorized(err, extkafka.ResourceTransactionalID, in.cfg.TransactionalID, "Describe", "Write"))
	}
	in.probe.SetNotReady("restoring state from " + in.cfg.StateTopic)
	if err := in.restore(ctx); err != nil {
		return err
	}
	if err := in.assign(); err != nil {
		return err
	}
	in.probe.SetNotReady("catching up on " + in.cfg.ResultsTopic)

	tick := time.NewTicker(in.cfg.SnapshotInterval)
	defer tick.Stop()
	dirty := false
	for ctx.Err() == nil {
		select {
		case <-tick.C:
			if in.advancePastMarkers() {
				dirty = true
			}
			if dirty {
				if err := in.snapshot(); err != nil {
					return err
				}
				dirty = false
			}
		default:
		}
		ev := in.c.Results.Poll(100)
		switch e := ev.(type) {
		case *kafka.Message:
			in.apply(e)
			dirty = true
		case kafka.PartitionEOF:
			in.eof[e.Partition] = true
			in.checkCaughtUp()
		case kafka.Error:
			if e.IsFatal() {
				return fmt.Errorf("results consumer: fatal error: %w", e)
			}
			// A refusal for want of an ACL lasts until an operator acts.
			if _, ok := extkafka.AuthorizationResource(e); ok {
				return fmt.Errorf("results consumer: %w", extkafka.Needs{
					extkafka.ResourceTopic: {Name: in.cfg.ResultsTopic, Operations: []string{"Read", "Describe"}},
					extkafka.ResourceGroup: {Name: in.cfg.Group, Operations: []string{"Read"}},
				}.Explain(e))
			}
			in.log.Warn("results consumer error", zap.Error(e))
		case *kafka.Stats:
			if in.stats != nil {
				if err := in.stats.Update(e.String()); err != nil {
					in.log.Warn("librdkafka statistics", zap.Error(err))
				}
			}
		}
	}
	if in.advancePastMarkers() || dirty {
		return in.snapshot()
	}
	return nil
}

func (in *Ingest) checkCaughtUp() {
	if in.caughtUp {
		return
	}
	for p := range in.next {
		if !in.eof[p] {
			return
		}
	}
	in.caughtUp = true
	in.m.RestoreSeconds.Set(time.Since(in.started).Seconds())
	in.log.Info("caught up; ready", zap.Duration("took", time.Since(in.started)), zap.Int("sources", len(in.store.Sources())))
	in.probe.SetReady()
}

func (in *Ingest) apply(msg *kafka.Message) {
	p := msg.TopicPartition.Partition
	in.next[p] = int64(msg.TopicPartition.Offset) + 1
	in.m.MessagesRead.Inc()
	headers := make([]schema.Header, len(msg.Headers))
	for i, h := range msg.Headers {
		headers[i] = schema.Header{Key: h.Key, Value: h.Value}
	}
	var r schema.Result
	err := schema.CheckHeaders(headers, schema.TypeResult)
	if err == nil {
		err = schema.DecodeResult(msg.Value, &r)
	}
	if err != nil {
		in.invalid(msg, in.cfg.ResultsTopic, schema.Reason(err), err)
		return
	}
	switch in.store.Apply(&r, msg.Timestamp.UnixMilli()) {
	case state.Counted:
		in.m.Chunks.WithLabelValues("counted").Inc()
	case state.Duplicate:
		in.m.Chunks.WithLabelValues("duplicate").Inc()
	case state.OutOfRange:
		in.invalid(msg, in.cfg.ResultsTopic, ReasonOutOfRange,
			fmt.Errorf("result of %s@%s: chunk %d is past the source's chunks", r.Source, r.Fingerprint, r.Seq))
	}
}

// Reasons of invalid messages beyond schema.Reasons.
const (
	// ReasonOutOfRange: a result whose chunk number is past its source's
	// last chunk.
	ReasonOutOfRange = "out_of_range"
	// ReasonUnknownKey: a state-topic record whose key is neither a
	// generation's nor an offsets'.
	ReasonUnknownKey = "unknown_key"
)

// invalid counts, logs once and skips a message that cannot be used. Its
// offset has been recorded, so the next snapshot covers it and a restart
// does not read it again.
func (in *Ingest) invalid(msg *kafka.Message, topic, reason string, err error) {
	in.m.InvalidMessages.WithLabelValues(topic, reason).Inc()
	in.log.Error("skipping invalid message", zap.String("topic", topic), zap.Int32("partition", msg.TopicPartition.Partition),
		zap.Int64("offset", int64(msg.TopicPartition.Offset)), zap.String("reason", reason), zap.Error(err))
}

// restore reads the state topic to its end.
func (in *Ingest) restore(ctx context.Context) error {
	start := time.Now()
	tm, err := in.topicMetadata(ctx, in.c.State, in.cfg.StateTopic)
	if err != nil {
		return fmt.Errorf("state topic: %w", err)
	}
	var parts []kafka.TopicPartition
	for _, p := range tm.Partitions {
		parts = append(parts, kafka.TopicPartition{Topic: &in.cfg.StateTopic, Partition: p.ID, Offset: kafka.OffsetBeginning})
	}
	if err := in.c.State.Assign(parts); err != nil {
		return fmt.Errorf("assign %s: %w", in.cfg.StateTopic, err)
	}
	defer func() { _ = in.c.State.Unassign() }()
	eof := map[int32]bool{}
	records := 0
	for len(eof) < len(parts) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch e := in.c.State.Poll(100).(type) {
		case *kafka.Message:
			records++
			in.restoreRecord(e)
		case kafka.PartitionEOF:
			eof[e.Partition] = true
		case kafka.Error:
			if e.IsFatal() {
				return fmt.Errorf("state consumer: %w", e)
			}
			// Only the topic matters: the restore consumer is assigned its
			// partitions and never commits, so a refused group is harmless.
			if rt, ok := extkafka.AuthorizationResource(e); ok && rt == extkafka.ResourceTopic {
				return fmt.Errorf("state consumer: %w", extkafka.NotAuthorized(e, extkafka.ResourceTopic, in.cfg.StateTopic, "Read", "Describe"))
			}
			in.log.Warn("state consumer error", zap.Error(e))
		}
	}
	in.m.RestoredRecords.Set(float64(records))
	in.log.Info("state restored", zap.Int("records", records), zap.Int("sources", len(in.store.Sources())),
		zap.Duration("took", time.Since(start)))
	return nil
}

// restoreRecord restores one state-topic record. One that cannot be
// decoded is counted, logged and skipped: the results it summarised are
// then read again from the results topic when the offsets allow, and the
// aggregator starts rather than failing on every restart.
func (in *Ingest) restoreRecord(msg *kafka.Message) {
	kind, _ := schema.ParseSnapshotKey(msg.Key)
	if msg.Value == nil {
		return // a tombstone
	}
	switch kind {
	case schema.KeyGenerationPrefix:
		var g schema.GenerationState
		if err := schema.DecodeGenerationState(msg.Value, &g); err != nil {
			in.invalid(msg, in.cfg.StateTopic, schema.Reason(err), fmt.Errorf("generation %q: %w", msg.Key, err))
			return
		}
		in.store.Restore(&g)
	case schema.KeyOffsetsPrefix:
		var o schema.Offsets
		if err := schema.DecodeOffsets(msg.Value, &o); err != nil {
			in.invalid(msg, in.cfg.StateTopic, schema.Reason(err), fmt.Errorf("offsets %q: %w", msg.Key, err))
			return
		}
		if o.Topic == in.cfg.ResultsTopic {
			clear(in.next)
			for p, off := range o.Offsets {
				in.next[p] = off
			}
		}
	default:
		in.invalid(msg, in.cfg.StateTopic, ReasonUnknownKey, fmt.Errorf("unknown key %q", msg.Key))
	}
}

// metadataSource is what topicMetadata asks: a consumer.
type metadataSource interface {
	GetMetadata(topic *string, allTopics bool, timeoutMs int) (*kafka.Metadata, error)
}

// metadataRetry is how often topicMetadata asks again.
const metadataRetry = 100 * time.Millisecond

// topicMetadata is topic's metadata with its partitions. A topic created a
// moment ago (by this aggregator, or another service) may not be known yet
// to the broker asked, a restarted one especially: unknown topic and leader
// not available are asked again until OpTimeout has passed.
func (in *Ingest) topicMetadata(ctx context.Context, c metadataSource, topic string) (kafka.TopicMetadata, error) {
	deadline := time.Now().Add(in.cfg.OpTimeout)
	for {
		md, err := c.GetMetadata(&topic, false, int(in.cfg.OpTimeout.Milliseconds()))
		if err != nil {
			return kafka.TopicMetadata{}, fmt.Errorf("metadata of %s: %w", topic, err)
		}
		tm, ok := md.Topics[topic]
		code := tm.Error.Code()
		if ok && code == kafka.ErrNoError && len(tm.Partitions) > 0 {
			return tm, nil
		}
		transient := !ok || code == kafka.ErrUnknownTopicOrPart || code == kafka.ErrLeaderNotAvailable || code == kafka.ErrNoError
		if !transient || time.Now().After(deadline) {
			return kafka.TopicMetadata{}, fmt.Errorf("%s: not found after %s (%v)", topic, in.cfg.OpTimeout, tm.Error)
		}
		select {
		case <-ctx.Done():
			return kafka.TopicMetadata{}, ctx.Err()
		case <-time.After(metadataRetry):
		}
	}
}

// assign gives the results consumer every partition, at the restored
// offsets or the beginning.
func (in *Ingest) assign() error {
	tm, err := in.topicMetadata(context.Background(), in.c.Results, in.cfg.ResultsTopic)
	if err != nil {
		return fmt.Errorf("results topic: %w", err)
	}
	var parts []kafka.TopicPartition
	for _, p := range tm.Partitions {
		off, ok := in.next[p.ID]
		if !ok {
			off = int64(kafka.OffsetBeginning)
			in.next[p.ID] = off
		}
		parts = append(parts, kafka.TopicPartition{Topic: &in.cfg.ResultsTopic, Partition: p.ID, Offset: kafka.Offset(off)})
	}
	in.log.Info("consuming results", zap.String("topic", in.cfg.ResultsTopic), zap.Int("partitions", len(parts)))
	return in.c.Results.Assign(parts)
}

// commitTransaction commits the snapshot's transaction. A commit that fails
// with a retriable error, a timeout above all, is still going on inside
// librdkafka: the call must be made again to resume it, and an abort is
// refused meanwhile ("Conflicting commit_transaction API call is already in
// progress"), as seen after a whole cluster restarted. So it is called
// again, each time with a deadline of OpTimeout, for as long as the
// transaction may live (TxnTimeout): past it the broker aborts the
// transaction and the records in it time out.
func (in *Ingest) commitTransaction() error {
	var err error
	for attempt := 1; attempt <= in.commitAttempts(); attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), in.cfg.OpTimeout)
		err = in.c.Producer.CommitTransaction(ctx)
		cancel()
		if err == nil || !extkafka.IsRetriable(err) {
			return err
		}
		in.log.Warn("snapshot commit not done yet; calling it again to resume", zap.Int("attempt", attempt), zap.Error(err))
	}
	return err
}

// commitAttempts is how many OpTimeout-long calls of the commit fit in the
// transaction's timeout; at least one.
func (in *Ingest) commitAttempts() int {
	if in.cfg.OpTimeout <= 0 {
		return 1
	}
	return max(1, int(in.cfg.TxnTimeout/in.cfg.OpTimeout))
}

// snapshot writes the changed generations and the offsets they cover in one
// transaction, then commits the offsets to the group for lag monitoring.
func (in *Ingest) snapshot() error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), in.cfg.OpTimeout)
	defer cancel()
	dirty := in.store.TakeDirty()
	if err := in.c.Producer.BeginTransaction(); err != nil {
		return fmt.Errorf("snapshot: begin transaction: %w", err)
	}
	produce := func(key, value []byte) error {
		msg := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &in.cfg.StateTopic, Partition: kafka.PartitionAny}, Key: key, Value: value}
		for _, h := range schema.Headers(schema.TypeSnapshot) {
			msg.Headers = append(msg.Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
		_, err := extkafka.Produce(ctx, in.c.Producer, msg, nil)
		return err
	}
	var err error
	for _, g := range dirty {
		if err = produce(schema.GenerationKey(schema.SourceKey{Source: g.Source, Fingerprint: g.Fingerprint}), schema.AppendGenerationState(nil, g)); err != nil {
			break
		}
	}
	offsets := schema.Offsets{Topic: in.cfg.ResultsTopic, Offsets: map[int32]int64{}}
	for p, off := range in.next {
		if off >= 0 {
			offsets.Offsets[p] = off
		}
	}
	if err == nil {
		err = produce(schema.OffsetsKey(in.cfg.ResultsTopic), schema.AppendOffsets(nil, &offsets))
	}
	if err == nil {
		err = in.commitTransaction()
	}
	if err != nil {
		in.store.MarkDirty(dirty)
		// The snapshot's deadline may be spent: the abort gets its own.
		ctx, cancel := context.WithTimeout(context.Background(), in.cfg.OpTimeout)
		defer cancel()
		if _, ok := extkafka.AuthorizationResource(err); ok {
			_ = in.c.Producer.AbortTransaction(ctx)
			return fmt.Errorf("snapshot: %w", extkafka.Needs{
				extkafka.ResourceTopic:           {Name: in.cfg.StateTopic, Operations: []string{"Write"}},
				extkafka.ResourceTransactionalID: {Name: in.cfg.TransactionalID, Operations: []string{"Write"}},
			}.Explain(err))
		}
		if aerr := in.c.Producer.AbortTransaction(ctx); aerr != nil || extkafka.IsFatal(err) {
			return fmt.Errorf("snapshot: %w (abort: %v)", err, aerr)
		}
		in.m.Snapshots.WithLabelValues("aborted").Inc()
		in.log.Warn("snapshot aborted; will retry", zap.Error(err))
		return nil
	}
	in.m.Snapshots.WithLabelValues("committed").Inc()
	in.m.SnapshotSeconds.Observe(time.Since(start).Seconds())
	var tps []kafka.TopicPartition
	for p, off := range offsets.Offsets {
		tps = append(tps, kafka.TopicPartition{Topic: &in.cfg.ResultsTopic, Partition: p, Offset: kafka.Offset(off)})
	}
	if len(tps) > 0 {
		if _, err := in.c.Results.CommitOffsets(tps); err != nil {
			// Offsets are committed for lag monitoring only, and a failed
			// commit is tried again at the next snapshot; but a group the
			// user may not use would leave the lag unwatched for good.
			if _, ok := extkafka.AuthorizationResource(err); ok {
				return fmt.Errorf("commit offsets for lag monitoring: %w",
					extkafka.NotAuthorized(err, extkafka.ResourceGroup, in.cfg.Group, "Read"))
			}
			in.log.Debug("commit offsets for monitoring", zap.Error(err))
		}
	}
	return nil
}

// advancePastMarkers moves the next offsets up to the consumer's positions.
// The results topic is written in transactions: after a transaction's last
// record comes its commit marker, which is never delivered, and the
// position has already moved past it. Resuming (and committing, for lag
// monitoring) from the position rather than from the last record + 1 keeps
// an idle aggregator's lag at 0. Nothing is skipped: every message the
// position has passed was delivered and applied, or was a marker.
func (in *Ingest) advancePastMarkers() (moved bool) {
	var parts []kafka.TopicPartition
	for p := range in.next {
		parts = append(parts, kafka.TopicPartition{Topic: &in.cfg.ResultsTopic, Partition: p})
	}
	positions, err := in.c.Results.Position(parts)
	if err != nil {
		in.log.Debug("consumer positions", zap.Error(err))
		return false
	}
	for _, tp := range positions {
		if off := int64(tp.Offset); off >= 0 && off > in.next[tp.Partition] {
			in.next[tp.Partition] = off
			moved = true
		}
	}
	return moved
}

// Metrics are the aggregator's ingest series.
type Metrics struct {
	MessagesRead    prometheus.Counter
	InvalidMessages *prometheus.CounterVec
	Chunks          *prometheus.CounterVec
	Snapshots       *prometheus.CounterVec
	SnapshotSeconds prometheus.Histogram
	RestoreSeconds  prometheus.Gauge
	RestoredRecords prometheus.Gauge
}

// NewMetrics registers the ingest metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		MessagesRead: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_result_messages_read",
			Help: "Messages consumed from the results topic (name kept from the original kafka-scale)."}),
		InvalidMessages: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "kafka_scale_aggregator_invalid_messages_total",
			Help: "Results-topic and state-topic messages that could not be decoded, declared a size or count over a limit, or a chunk past their source's last, and were skipped, by topic and reason (schema.Reasons, out_of_range, unknown_key)."},
			[]string{"topic", "reason"}),
		Chunks: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "kafka_scale_aggregator_chunks_total",
			Help: "Chunk results applied, by outcome: counted, or duplicate (already counted, ignored)."}, []string{"outcome"}),
		Snapshots: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "kafka_scale_aggregator_snapshots_total",
			Help: "State snapshots written, by outcome: committed or aborted."}, []string{"outcome"}),
		SnapshotSeconds: promauto.With(reg).NewHistogram(prometheus.HistogramOpts{Name: "kafka_scale_aggregator_snapshot_duration_seconds",
			Help: "Time to write one state snapshot transaction.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		RestoreSeconds: promauto.With(reg).NewGauge(prometheus.GaugeOpts{Name: "kafka_scale_aggregator_restore_seconds",
			Help: "Time from start until the state was restored and the results topic caught up."}),
		RestoredRecords: promauto.With(reg).NewGauge(prometheus.GaugeOpts{Name: "kafka_scale_aggregator_restored_records",
			Help: "State-topic records read on restore."}),
	}
	return m
}
