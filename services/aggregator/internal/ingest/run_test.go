package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-scale/kafka-scale/pkg/httpserver"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/services/aggregator/internal/state"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeConsumer is a results or state consumer: its topic has partitions
// partitions, Poll replays events and, once they have run out, cancels
// the run.
type fakeConsumer struct {
	partitions int
	events     []kafka.Event
	cancel     context.CancelFunc
	positions  map[int32]kafka.Offset // what Position answers; none: offsets unknown

	assigned   []kafka.TopicPartition
	unassigned bool
	commits    [][]kafka.TopicPartition
	probe      *httpserver.Probe
	ready      []bool // the probe's state at each Poll: after the events before it
}

func (c *fakeConsumer) GetMetadata(topic *string, _ bool, _ int) (*kafka.Metadata, error) {
	tm := kafka.TopicMetadata{Topic: *topic}
	for p := range c.partitions {
		tm.Partitions = append(tm.Partitions, kafka.PartitionMetadata{ID: int32(p)})
	}
	return &kafka.Metadata{Topics: map[string]kafka.TopicMetadata{*topic: tm}}, nil
}
func (c *fakeConsumer) Assign(ps []kafka.TopicPartition) error { c.assigned = ps; return nil }
func (c *fakeConsumer) Unassign() error                        { c.unassigned = true; return nil }
func (c *fakeConsumer) Poll(int) kafka.Event {
	if c.probe != nil {
		ready, _ := c.probe.Ready()
		c.ready = append(c.ready, ready)
	}
	if len(c.events) == 0 {
		c.cancel()
		return nil
	}
	ev := c.events[0]
	c.events = c.events[1:]
	return ev
}
func (c *fakeConsumer) Position(ps []kafka.TopicPartition) ([]kafka.TopicPartition, error) {
	out := make([]kafka.TopicPartition, len(ps))
	for i, p := range ps {
		off, ok := c.positions[p.Partition]
		if !ok {
			off = kafka.OffsetInvalid
		}
		out[i] = kafka.TopicPartition{Topic: p.Topic, Partition: p.Partition, Offset: off}
	}
	return out, nil
}
func (c *fakeConsumer) CommitOffsets(offsets []kafka.TopicPartition) ([]kafka.TopicPartition, error) {
	c.commits = append(c.commits, offsets)
	return offsets, nil
}

// fakeProducer records the transaction calls and the records produced.
type fakeProducer struct {
	calls      []string
	produced   []*kafka.Message
	commitErrs []error // what the commits return, in turn; then nil
}

func (p *fakeProducer) InitTransactions(context.Context) error {
	p.calls = append(p.calls, "init")
	return nil
}
func (p *fakeProducer) BeginTransaction() error { p.calls = append(p.calls, "begin"); return nil }
func (p *fakeProducer) Produce(msg *kafka.Message, _ chan kafka.Event) error {
	p.produced = append(p.produced, msg)
	return nil
}
func (p *fakeProducer) Flush(int) int { return 0 }
func (p *fakeProducer) CommitTransaction(context.Context) error {
	p.calls = append(p.calls, "commit")
	if len(p.commitErrs) > 0 {
		err := p.commitErrs[0]
		p.commitErrs = p.commitErrs[1:]
		return err
	}
	return nil
}
func (p *fakeProducer) AbortTransaction(context.Context) error {
	p.calls = append(p.calls, "abort")
	return nil
}

// snapshot is what a producer wrote: the generations by source and the
// offsets of the results topic.
type snapshot struct {
	sources []string
	offsets map[int32]int64
}

func (p *fakeProducer) snapshots(t *testing.T) []snapshot {
	t.Helper()
	var out []snapshot
	var cur snapshot
	for _, m := range p.produced {
		require.Equal(t, stateTopic, *m.TopicPartition.Topic)
		kind, _ := schema.ParseSnapshotKey(m.Key)
		switch kind {
		case schema.KeyGenerationPrefix:
			var g schema.GenerationState
			require.NoError(t, schema.DecodeGenerationState(m.Value, &g))
			cur.sources = append(cur.sources, g.Source)
		case schema.KeyOffsetsPrefix:
			var o schema.Offsets
			require.NoError(t, schema.DecodeOffsets(m.Value, &o))
			require.Equal(t, resultsTopic, o.Topic)
			cur.offsets = o.Offsets
			out = append(out, cur) // the offsets come last in a snapshot
			cur = snapshot{}
		default:
			t.Fatalf("unknown key %q", m.Key)
		}
	}
	return out
}

func at(topic string, partition int32, offset int64, m *kafka.Message) *kafka.Message {
	m.TopicPartition = kafka.TopicPartition{Topic: &topic, Partition: partition, Offset: kafka.Offset(offset)}
	return m
}

func eof(topic string, partition int32) kafka.PartitionEOF {
	return kafka.PartitionEOF{Topic: &topic, Partition: partition}
}

func generationRecord(g *schema.GenerationState) *kafka.Message {
	return &kafka.Message{Key: schema.GenerationKey(schema.SourceKey{Source: g.Source, Fingerprint: g.Fingerprint}),
		Value: schema.AppendGenerationState(nil, g)}
}

func offsetsRecord(topic string, offsets map[int32]int64) *kafka.Message {
	return &kafka.Message{Key: schema.OffsetsKey(topic), Value: schema.AppendOffsets(nil, &schema.Offsets{Topic: topic, Offsets: offsets})}
}

// restored is a complete source of two chunks, as a snapshot holds it.
var restored = schema.GenerationState{Source: "dec19pub.dat.gz", Fingerprint: "fp19", Year: 2019, Month: 12, Seen: []uint64{3},
	Chunks: 2, Total: 2, Records: 6, Rejects: map[string]uint64{}, Tally: result(0, false).Tally}

type runResult struct {
	in       *Ingest
	store    *state.Store
	results  *fakeConsumer
	state    *fakeConsumer
	producer *fakeProducer
	err      error
}

// runIngest runs an Ingest over a state topic of one partition and a
// results topic of two, until the results script has run out.
func runIngest(t *testing.T, stateEvents, resultEvents []kafka.Event, positions map[int32]kafka.Offset) runResult {
	t.Helper()
	return runIngestWith(t, &fakeProducer{}, 3*time.Second, stateEvents, resultEvents, positions)
}

// runIngestWith is runIngest with a producer and a transaction timeout
// (OpTimeout is a second).
func runIngestWith(t *testing.T, producer *fakeProducer, txnTimeout time.Duration, stateEvents, resultEvents []kafka.Event, positions map[int32]kafka.Offset) runResult {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	probe := httpserver.NewProbe(reg, "starting")
	r := runResult{
		store:    state.New(),
		results:  &fakeConsumer{partitions: 2, events: resultEvents, cancel: cancel, positions: positions, probe: probe},
		state:    &fakeConsumer{partitions: 1, events: stateEvents, cancel: cancel},
		producer: producer,
	}
	r.in = New(Config{ResultsTopic: resultsTopic, StateTopic: stateTopic, SnapshotInterval: time.Hour, OpTimeout: time.Second, TxnTimeout: txnTimeout},
		Clients{Results: r.results, State: r.state, Producer: r.producer}, r.store, zaptest.NewLogger(t), NewMetrics(reg), nil, probe)
	r.err = r.in.Run(ctx)
	return r
}

// Restore reads the state topic to its end: the generations go back into
// the store, and the results consumer is assigned every partition at the
// offsets the snapshot covers, or the beginning.
func TestRestoreFromTheStateTopic(t *testing.T) {
	for _, tc := range []struct {
		name        string
		state       []kafka.Event
		wantSources int
		wantOffsets map[int32]kafka.Offset
		wantRecords float64
	}{
		{name: "empty state topic", state: []kafka.Event{eof(stateTopic, 0)},
			wantOffsets: map[int32]kafka.Offset{0: kafka.OffsetBeginning, 1: kafka.OffsetBeginning}},
		{name: "a snapshot", state: []kafka.Event{
			at(stateTopic, 0, 0, generationRecord(&restored)), at(stateTopic, 0, 1, offsetsRecord(resultsTopic, map[int32]int64{0: 42})), eof(stateTopic, 0),
		}, wantSources: 1, wantOffsets: map[int32]kafka.Offset{0: 42, 1: kafka.OffsetBeginning}, wantRecords: 2},
		{name: "the last offsets win", state: []kafka.Event{
			at(stateTopic, 0, 0, offsetsRecord(resultsTopic, map[int32]int64{0: 42, 1: 7})),
			at(stateTopic, 0, 1, generationRecord(&restored)),
			at(stateTopic, 0, 2, offsetsRecord(resultsTopic, map[int32]int64{1: 9})),
			eof(stateTopic, 0),
		}, wantSources: 1, wantOffsets: map[int32]kafka.Offset{0: kafka.OffsetBeginning, 1: 9}, wantRecords: 3},
		{name: "another topic's offsets and a tombstone are ignored", state: []kafka.Event{
			at(stateTopic, 0, 0, offsetsRecord("other", map[int32]int64{0: 42})),
			at(stateTopic, 0, 1, &kafka.Message{Key: schema.GenerationKey(schema.SourceKey{Source: "gone", Fingerprint: "x"})}),
			eof(stateTopic, 0),
		}, wantOffsets: map[int32]kafka.Offset{0: kafka.OffsetBeginning, 1: kafka.OffsetBeginning}, wantRecords: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runIngest(t, tc.state, nil, nil)
			require.NoError(t, r.err)
			require.Len(t, r.store.Sources(), tc.wantSources)
			if tc.wantSources > 0 {
				require.True(t, r.store.Sources()[0].Complete)
				require.Equal(t, uint64(6), r.store.Sources()[0].Records)
			}
			require.Equal(t, []kafka.TopicPartition{{Topic: &stateTopicName, Partition: 0, Offset: kafka.OffsetBeginning}}, r.state.assigned)
			require.True(t, r.state.unassigned, "the state consumer is unassigned once restored")
			got := map[int32]kafka.Offset{}
			for _, tp := range r.results.assigned {
				require.Equal(t, resultsTopic, *tp.Topic)
				got[tp.Partition] = tp.Offset
			}
			require.Equal(t, tc.wantOffsets, got)
			require.Equal(t, tc.wantRecords, testutil.ToFloat64(r.in.m.RestoredRecords))
			require.Equal(t, []string{"init"}, r.producer.calls, "nothing consumed: no snapshot")
		})
	}
}

var stateTopicName = stateTopic

// A snapshot holds the generations changed since the last one and the
// next offset of every partition, in one transaction; the offsets are
// then committed to the group for lag monitoring.
func TestSnapshotsAreWritten(t *testing.T) {
	r := runIngest(t, []kafka.Event{eof(stateTopic, 0)}, []kafka.Event{
		at(resultsTopic, 0, 10, resultMessage(result(0, false))),
		at(resultsTopic, 1, 3, resultMessage(result(1, true))),
	}, nil)
	require.NoError(t, r.err)
	require.Equal(t, []string{"init", "begin", "commit"}, r.producer.calls)
	require.Equal(t, []snapshot{{sources: []string{"jan20pub.dat.gz"}, offsets: map[int32]int64{0: 11, 1: 4}}}, r.producer.snapshots(t))
	for _, m := range r.producer.produced {
		require.NoError(t, schema.CheckHeaders(headersOf(m), schema.TypeSnapshot))
	}
	require.Len(t, r.results.commits, 1)
	require.Equal(t, map[int32]int64{0: 11, 1: 4}, offsetsOf(r.results.commits[0]))
	require.Equal(t, 1.0, testutil.ToFloat64(r.in.m.Snapshots.WithLabelValues("committed")))
	require.Equal(t, 2.0, testutil.ToFloat64(r.in.m.Chunks.WithLabelValues("counted")))
}

// A commit that timed out is still going on in librdkafka, which refuses an
// abort meanwhile: the snapshot calls the commit again to resume it, for as
// long as the transaction may live (OpTimeout a second here), and aborts
// only when the error asks for it or the transaction's time is up.
func TestSnapshotCommitResumedAfterATimeout(t *testing.T) {
	timedOut := kafka.NewError(kafka.ErrTimedOut, "Timed out waiting for operation to finish, retry call to resume", false)
	for _, tc := range []struct {
		name       string
		txnTimeout time.Duration
		commitErrs []error
		wantCalls  []string
		committed  float64
	}{
		{name: "resumed", txnTimeout: 3 * time.Second, commitErrs: []error{timedOut, timedOut},
			wantCalls: []string{"init", "begin", "commit", "commit", "commit"}, committed: 1},
		{name: "still timing out: aborted and kept for the next snapshot", txnTimeout: 3 * time.Second, commitErrs: []error{timedOut, timedOut, timedOut},
			wantCalls: []string{"init", "begin", "commit", "commit", "commit", "abort"}},
		{name: "a cluster down for longer: resumed while the transaction lives", txnTimeout: 5 * time.Second,
			commitErrs: []error{timedOut, timedOut, timedOut, timedOut},
			wantCalls:  []string{"init", "begin", "commit", "commit", "commit", "commit", "commit"}, committed: 1},
		{name: "not retriable: aborted at once", txnTimeout: 3 * time.Second, commitErrs: []error{kafka.NewError(kafka.ErrInvalidTxnState, "invalid state", false)},
			wantCalls: []string{"init", "begin", "commit", "abort"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runIngestWith(t, &fakeProducer{commitErrs: tc.commitErrs}, tc.txnTimeout, []kafka.Event{eof(stateTopic, 0)},
				[]kafka.Event{at(resultsTopic, 0, 10, resultMessage(result(0, false)))}, nil)
			require.NoError(t, r.err)
			require.Equal(t, tc.wantCalls, r.producer.calls)
			require.Equal(t, tc.committed, testutil.ToFloat64(r.in.m.Snapshots.WithLabelValues("committed")))
		})
	}
}

// The results topic is written in transactions, and a read_committed
// consumer never sees their commit markers: the position is past the
// marker that follows a transaction's last record. The snapshot's offsets
// are the position, not the last record + 1, so that a restart does not
// ask for the marker again and an idle aggregator's lag is 0; without new
// records, a position that moved is a change worth a snapshot.
func TestSnapshotOffsetsArePastTransactionMarkers(t *testing.T) {
	for _, tc := range []struct {
		name        string
		results     []kafka.Event
		positions   map[int32]kafka.Offset
		wantOffsets map[int32]int64
		wantCalls   []string
	}{
		{name: "past the commit marker", results: []kafka.Event{at(resultsTopic, 0, 10, resultMessage(result(0, false)))},
			positions: map[int32]kafka.Offset{0: 12}, wantOffsets: map[int32]int64{0: 12}, wantCalls: []string{"init", "begin", "commit"}},
		{name: "only markers since the restore", positions: map[int32]kafka.Offset{0: 5, 1: 2},
			wantOffsets: map[int32]int64{0: 5, 1: 2}, wantCalls: []string{"init", "begin", "commit"}},
		{name: "position not known yet", results: []kafka.Event{at(resultsTopic, 0, 10, resultMessage(result(0, false)))},
			wantOffsets: map[int32]int64{0: 11}, wantCalls: []string{"init", "begin", "commit"}},
		{name: "never behind the records delivered", results: []kafka.Event{at(resultsTopic, 0, 10, resultMessage(result(0, false)))},
			positions: map[int32]kafka.Offset{0: 4}, wantOffsets: map[int32]int64{0: 11}, wantCalls: []string{"init", "begin", "commit"}},
		{name: "nothing moved: no snapshot", wantCalls: []string{"init"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runIngest(t, []kafka.Event{eof(stateTopic, 0)}, tc.results, tc.positions)
			require.NoError(t, r.err)
			require.Equal(t, tc.wantCalls, r.producer.calls)
			if tc.wantOffsets != nil {
				snaps := r.producer.snapshots(t)
				require.Len(t, snaps, 1)
				require.Equal(t, tc.wantOffsets, snaps[0].offsets)
			}
		})
	}
}

// The aggregator is ready only once every partition of the results topic
// has reported its end: a restore followed by catching up.
func TestReadyOnlyOnceCaughtUp(t *testing.T) {
	r := runIngest(t, []kafka.Event{eof(stateTopic, 0)}, []kafka.Event{
		at(resultsTopic, 0, 0, resultMessage(result(0, false))),
		eof(resultsTopic, 0),
		at(resultsTopic, 1, 0, resultMessage(result(1, true))),
		eof(resultsTopic, 1),
		at(resultsTopic, 1, 1, resultMessage(result(2, false))),
	}, nil)
	require.NoError(t, r.err)
	// The probe at each poll of the results consumer: before anything, after
	// a record of partition 0, after 0's end, after a record of 1, after
	// 1's end, and after a later record.
	require.Equal(t, []bool{false, false, false, false, true, true}, r.results.ready)
	require.Positive(t, testutil.ToFloat64(r.in.m.RestoreSeconds))
}

// Not ready, saying why, while restoring and while catching up.
func TestNotReadyReasons(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	probe := httpserver.NewProbe(reg, "starting")
	var reasons []string
	record := func() {
		_, why := probe.Ready()
		reasons = append(reasons, why)
	}
	st := &pollHook{fakeConsumer: &fakeConsumer{partitions: 1, events: []kafka.Event{eof(stateTopic, 0)}, cancel: cancel}, hook: record}
	res := &pollHook{fakeConsumer: &fakeConsumer{partitions: 1, cancel: cancel}, hook: record}
	in := New(Config{ResultsTopic: resultsTopic, StateTopic: stateTopic, SnapshotInterval: time.Hour, OpTimeout: time.Second},
		Clients{Results: res, State: st, Producer: &fakeProducer{}}, state.New(), zaptest.NewLogger(t), NewMetrics(reg), nil, probe)
	require.NoError(t, in.Run(ctx))
	require.Equal(t, []string{"restoring state from " + stateTopic, "catching up on " + resultsTopic}, reasons)
}

// pollHook calls hook before each Poll.
type pollHook struct {
	*fakeConsumer
	hook func()
}

func (p *pollHook) Poll(ms int) kafka.Event { p.hook(); return p.fakeConsumer.Poll(ms) }

func headersOf(m *kafka.Message) []schema.Header {
	hs := make([]schema.Header, len(m.Headers))
	for i, h := range m.Headers {
		hs[i] = schema.Header{Key: h.Key, Value: h.Value}
	}
	return hs
}

func offsetsOf(tps []kafka.TopicPartition) map[int32]int64 {
	m := map[int32]int64{}
	for _, tp := range tps {
		m[tp.Partition] = int64(tp.Offset)
	}
	return m
}
