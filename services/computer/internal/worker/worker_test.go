package worker

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kafka-scale/kafka-scale/pkg/httpserver"
	"github.com/kafka-scale/kafka-scale/pkg/lagtime"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
)

var topic = "compute"

// fakeConsumer replays a script of events from Poll and records seeks.
type fakeConsumer struct {
	events    []kafka.Event
	cb        kafka.RebalanceCb
	committed map[int32]kafka.Offset
	seeks     []kafka.TopicPartition
	assigned  []kafka.TopicPartition
	lost      bool
	closed    bool
	cancel    context.CancelFunc // called when the script runs out
	queries   atomic.Int32       // QueryWatermarkOffsets calls
	eager     bool               // the classic protocol's eager rebalancing, not cooperative
	assignErr error              // returned by the assign calls
	revokeErr error              // returned by the unassign calls
	unassigns int
	// Assignment calls, each of which wakes librdkafka's group thread.
	assignments int
}

func (c *fakeConsumer) SubscribeTopics(_ []string, cb kafka.RebalanceCb) error { c.cb = cb; return nil }
func (c *fakeConsumer) Poll(int) kafka.Event {
	if len(c.events) == 0 {
		c.cancel()
		return nil
	}
	ev := c.events[0]
	c.events = c.events[1:]
	switch ev.(type) {
	case kafka.AssignedPartitions, kafka.RevokedPartitions:
		_ = c.cb(nil, ev) // as confluent-kafka-go does, the return is ignored
		return nil
	}
	return ev
}
func (c *fakeConsumer) GetRebalanceProtocol() string {
	if c.eager {
		return "EAGER"
	}
	return "COOPERATIVE"
}
func (c *fakeConsumer) Assign(ps []kafka.TopicPartition) error {
	if c.assignErr != nil {
		return c.assignErr
	}
	c.assigned = ps
	return nil
}
func (c *fakeConsumer) IncrementalAssign(ps []kafka.TopicPartition) error {
	if c.assignErr != nil {
		return c.assignErr
	}
	c.assigned = append(c.assigned, ps...)
	return nil
}
func (c *fakeConsumer) Unassign() error {
	c.unassigns++
	if c.revokeErr != nil {
		return c.revokeErr
	}
	c.assigned = nil
	return nil
}
func (c *fakeConsumer) IncrementalUnassign(ps []kafka.TopicPartition) error {
	c.unassigns++
	if c.revokeErr != nil {
		return c.revokeErr
	}
	c.assigned = slices.DeleteFunc(c.assigned, func(tp kafka.TopicPartition) bool {
		return slices.ContainsFunc(ps, func(r kafka.TopicPartition) bool { return r.Partition == tp.Partition })
	})
	return nil
}
func (c *fakeConsumer) Assignment() ([]kafka.TopicPartition, error) {
	c.assignments++
	return c.assigned, nil
}
func (c *fakeConsumer) AssignmentLost() bool { return c.lost }
func (c *fakeConsumer) Committed(ps []kafka.TopicPartition, _ int) ([]kafka.TopicPartition, error) {
	out := make([]kafka.TopicPartition, len(ps))
	for i, p := range ps {
		off, ok := c.committed[p.Partition]
		if !ok {
			off = kafka.OffsetInvalid
		}
		out[i] = kafka.TopicPartition{Topic: p.Topic, Partition: p.Partition, Offset: off}
	}
	return out, nil
}
func (c *fakeConsumer) Seek(tp kafka.TopicPartition, _ int) error {
	c.seeks = append(c.seeks, tp)
	return nil
}
func (c *fakeConsumer) GetConsumerGroupMetadata() (*kafka.ConsumerGroupMetadata, error) {
	return &kafka.ConsumerGroupMetadata{}, nil
}
func (c *fakeConsumer) Close() error { c.closed = true; return nil }
func (c *fakeConsumer) GetWatermarkOffsets(string, int32) (int64, int64, error) {
	return 0, 100, nil
}
func (c *fakeConsumer) QueryWatermarkOffsets(string, int32, int) (int64, int64, error) {
	c.queries.Add(1)
	return 0, 100, nil
}
func (c *fakeConsumer) Position(ps []kafka.TopicPartition) ([]kafka.TopicPartition, error) {
	out := make([]kafka.TopicPartition, len(ps))
	for i, p := range ps {
		out[i] = kafka.TopicPartition{Topic: p.Topic, Partition: p.Partition, Offset: 40}
	}
	return out, nil
}

// fakeProducer records the transaction calls.
type fakeProducer struct {
	mu         sync.Mutex // guards calls: a stuck call is left running
	calls      []string
	produced   int
	failAt     int // fail the produce call number failAt (1-based), 0: never
	offsets    [][]kafka.TopicPartition
	commitErrs []error
	sendErrs   []error       // returned by SendOffsetsToTransaction, one a call
	block      chan struct{} // when not nil, SendOffsetsToTransaction waits for it to close, whatever its context says
	abortErr   error         // returned by AbortTransaction
	initErr    error         // returned by InitTransactions
}

func (p *fakeProducer) record(call string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, call)
}

// callsSoFar is calls, for a test whose stuck call may still run.
func (p *fakeProducer) callsSoFar() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

func (p *fakeProducer) InitTransactions(context.Context) error {
	p.record("init")
	return p.initErr
}
func (p *fakeProducer) BeginTransaction() error { p.record("begin"); return nil }
func (p *fakeProducer) Produce(*kafka.Message, chan kafka.Event) error {
	p.produced++
	if p.produced == p.failAt {
		return kafka.NewError(kafka.ErrMsgSizeTooLarge, "too large", false)
	}
	return nil
}
func (p *fakeProducer) SendOffsetsToTransaction(_ context.Context, offsets []kafka.TopicPartition, _ *kafka.ConsumerGroupMetadata) error {
	p.record("offsets")
	if p.block != nil {
		<-p.block
		return nil
	}
	if len(p.sendErrs) > 0 {
		err := p.sendErrs[0]
		p.sendErrs = p.sendErrs[1:]
		return err
	}
	p.offsets = append(p.offsets, offsets)
	return nil
}
func (p *fakeProducer) CommitTransaction(context.Context) error {
	p.record("commit")
	if len(p.commitErrs) > 0 {
		err := p.commitErrs[0]
		p.commitErrs = p.commitErrs[1:]
		return err
	}
	return nil
}
func (p *fakeProducer) AbortTransaction(context.Context) error {
	p.record("abort")
	return p.abortErr
}
func (p *fakeProducer) Flush(int) int { return 0 }

type echo struct{}

func (echo) Process(msg *kafka.Message) ([]Output, error) {
	switch string(msg.Value) {
	case "garbage":
		return nil, fmt.Errorf("chunk: %w", schema.ErrMalformed)
	case "huge":
		return nil, fmt.Errorf("chunk: %w", schema.ErrLimit)
	case "newer":
		return nil, fmt.Errorf("chunk: %w", schema.ErrUnsupportedVersion)
	case "broken":
		return nil, errors.New("undecodable")
	}
	return []Output{{Key: msg.Key, Value: msg.Value}}, nil
}

func msg(partition int32, offset int64) *kafka.Message {
	return &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: partition, Offset: kafka.Offset(offset)},
		Value: []byte(fmt.Sprint(offset))}
}

func assign(ps ...int32) kafka.AssignedPartitions {
	var a kafka.AssignedPartitions
	for _, p := range ps {
		a.Partitions = append(a.Partitions, kafka.TopicPartition{Topic: &topic, Partition: p})
	}
	return a
}

func revoke(ps ...int32) kafka.RevokedPartitions {
	return kafka.RevokedPartitions{Partitions: assign(ps...).Partitions}
}

func offsetsOf(tps []kafka.TopicPartition) map[int32]int64 {
	m := map[int32]int64{}
	for _, tp := range tps {
		m[tp.Partition] = int64(tp.Offset)
	}
	return m
}

func run(t *testing.T, events []kafka.Event, p *fakeProducer, lost bool) (*fakeConsumer, *Metrics) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &fakeConsumer{events: events, committed: map[int32]kafka.Offset{0: 5}, lost: lost, cancel: cancel}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	lag := lagtime.New("computers", time.Now, 0)
	w := New(Config{ComputeTopic: topic, ResultsTopic: "results", BatchChunks: 2, BatchAge: time.Hour, OpTimeout: time.Second},
		c, p, echo{}, zaptest.NewLogger(t), m, nil, httpserver.NewProbe(reg, "test"), lag)
	require.NoError(t, w.Run(ctx))
	require.True(t, c.closed, "consumer closed")
	return c, m
}

func TestLagIsSampledAndForgottenOnRevoke(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &fakeConsumer{events: []kafka.Event{assign(0, 1), msg(0, 5)}, committed: map[int32]kafka.Offset{}, cancel: cancel}
	reg := prometheus.NewRegistry()
	lag := lagtime.New("computers", time.Now, 0)
	w := New(Config{ComputeTopic: topic, ResultsTopic: "results", BatchChunks: 10, BatchAge: time.Hour, OpTimeout: time.Second},
		c, &fakeProducer{}, echo{}, zaptest.NewLogger(t), NewMetrics(reg), nil, httpserver.NewProbe(reg, "test"), lag)
	require.NoError(t, w.Run(ctx))
	n, ok := lag.Records(topic, 1)
	require.True(t, ok)
	require.Equal(t, int64(60), n)

	w.lag.Observe(topic, 0, 100, 40)
	require.NoError(t, w.rebalance(nil, revoke(0)))
	_, ok = lag.Records(topic, 0)
	require.False(t, ok, "revoked partitions are forgotten")
}

func TestBatchesCommitOffsetsPastTheLastRecord(t *testing.T) {
	p := &fakeProducer{}
	run(t, []kafka.Event{assign(0, 1), msg(0, 5), msg(1, 9), msg(0, 6)}, p, false)
	// Two chunks make a batch; the third is committed at shutdown.
	require.Equal(t, []string{"init", "begin", "offsets", "commit", "begin", "offsets", "commit"}, p.calls)
	require.Equal(t, map[int32]int64{0: 6, 1: 10}, offsetsOf(p.offsets[0]))
	require.Equal(t, map[int32]int64{0: 7}, offsetsOf(p.offsets[1]))
}

func TestProduceFailureAbortsAndRewinds(t *testing.T) {
	p := &fakeProducer{failAt: 2}
	c, m := run(t, []kafka.Event{assign(0, 1), msg(0, 5), msg(1, 9), msg(0, 5), msg(1, 9)}, p, false)
	require.Equal(t, []string{"init", "begin", "abort", "begin", "offsets", "commit"}, p.calls)
	// Partition 0 back to its committed offset, partition 1 (none committed) to the beginning.
	require.ElementsMatch(t, []kafka.TopicPartition{
		{Topic: &topic, Partition: 0, Offset: 5}, {Topic: &topic, Partition: 1, Offset: kafka.OffsetBeginning},
	}, c.seeks)
	require.Equal(t, 1.0, testutil.ToFloat64(m.Transactions.WithLabelValues("aborted")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Transactions.WithLabelValues("committed")))
}

// staleGeneration is how the group coordinator refuses the offsets of a
// transaction opened before a rebalance: an abortable error.
var staleGeneration = kafka.NewError(kafka.ErrIllegalGeneration, "Specified group generation id is not valid", false)

func TestRefusedCommitIsReplayedWithoutRewinding(t *testing.T) {
	p := &fakeProducer{sendErrs: []error{staleGeneration}}
	c, m := run(t, []kafka.Event{assign(0, 1), msg(0, 5), msg(1, 9)}, p, false)
	// The batch's offsets are refused: abort, the two results produced
	// again in a new transaction, committed at shutdown with the same
	// offsets. The consumer is not rewound.
	require.Equal(t, []string{"init", "begin", "offsets", "abort", "begin", "offsets", "commit"}, p.calls)
	require.Equal(t, 4, p.produced)
	require.Equal(t, map[int32]int64{0: 6, 1: 10}, offsetsOf(p.offsets[0]))
	require.Empty(t, c.seeks)
	require.Equal(t, 1.0, testutil.ToFloat64(m.Transactions.WithLabelValues("aborted")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Transactions.WithLabelValues("committed")))
	require.Equal(t, 2.0, testutil.ToFloat64(m.ResultsWritten), "results counted once")
}

func TestRefusedCommitRewindsAfterMaxReplays(t *testing.T) {
	defer func(d time.Duration) { replayBackoff = d }(replayBackoff)
	replayBackoff = 0
	p := &fakeProducer{sendErrs: []error{staleGeneration, staleGeneration, staleGeneration, staleGeneration}}
	c, m := run(t, []kafka.Event{assign(0), msg(0, 5), msg(0, 6), nil, nil, nil}, p, false)
	require.Equal(t, []string{"init", "begin",
		"offsets", "abort", "begin", // replay 1
		"offsets", "abort", "begin", // replay 2
		"offsets", "abort", "begin", // replay 3
		"offsets", "abort", // then a rewind
	}, p.calls)
	require.Equal(t, []kafka.TopicPartition{{Topic: &topic, Partition: 0, Offset: 5}}, c.seeks)
	require.Equal(t, 4.0, testutil.ToFloat64(m.Transactions.WithLabelValues("aborted")))
}

func TestRefusedCommitOnRevokeRewinds(t *testing.T) {
	p := &fakeProducer{sendErrs: []error{staleGeneration}}
	c, _ := run(t, []kafka.Event{assign(0, 1), msg(0, 5), revoke(0, 1)}, p, false)
	require.Equal(t, []string{"init", "begin", "offsets", "abort"}, p.calls)
	require.Len(t, c.seeks, 2, "rewound, not replayed, for partitions being given up")
}

func TestAnEmptyPollCommits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &fakeProducer{}
	// A poll that comes back empty (nil) means the member has caught up:
	// the open transaction commits before it is full or old.
	c := &fakeConsumer{events: []kafka.Event{assign(0), msg(0, 5), nil, msg(0, 6)}, committed: map[int32]kafka.Offset{}, cancel: cancel}
	reg := prometheus.NewRegistry()
	w := New(Config{ComputeTopic: topic, ResultsTopic: "results", BatchChunks: 10, BatchAge: time.Hour, OpTimeout: time.Second},
		c, p, echo{}, zaptest.NewLogger(t), NewMetrics(reg), nil, httpserver.NewProbe(reg, "test"), nil)
	require.NoError(t, w.Run(ctx))
	require.Equal(t, []string{"init", "begin", "offsets", "commit", "begin", "offsets", "commit"}, p.calls)
	require.Equal(t, map[int32]int64{0: 6}, offsetsOf(p.offsets[0]))
	require.Equal(t, map[int32]int64{0: 7}, offsetsOf(p.offsets[1]))
}

func TestAssignmentWakesTheFetcher(t *testing.T) {
	c, _ := run(t, []kafka.Event{assign(0, 1), msg(0, 5), assign(2), msg(2, 1)}, &fakeProducer{}, false)
	require.Equal(t, int32(2), c.queries.Load(), "one request to a partition's leader after each assignment")
}

func TestRevokeCommitsTheOpenTransaction(t *testing.T) {
	p := &fakeProducer{}
	run(t, []kafka.Event{assign(0, 1), msg(0, 5), revoke(0, 1)}, p, false)
	require.Equal(t, []string{"init", "begin", "offsets", "commit"}, p.calls)
	require.Equal(t, map[int32]int64{0: 6}, offsetsOf(p.offsets[0]))
}

func TestLostAssignmentAborts(t *testing.T) {
	p := &fakeProducer{}
	_, m := run(t, []kafka.Event{assign(0), msg(0, 5), revoke(0)}, p, true)
	require.Equal(t, []string{"init", "begin", "abort"}, p.calls)
	require.Equal(t, 1.0, testutil.ToFloat64(m.Transactions.WithLabelValues("aborted")))
}

// An invalid message is counted by topic and reason, logged once with its
// partition and offset, produces nothing and has its offset committed with
// the good ones, so it never blocks its partition.
func TestInvalidMessagesAreSkippedAndCommitted(t *testing.T) {
	withValue := func(m *kafka.Message, v string) *kafka.Message { m.Value = []byte(v); return m }
	for _, tc := range []struct {
		name        string
		events      []kafka.Event
		wantReasons map[string]float64
		wantOffsets map[int32]int64
		produced    int
	}{
		{name: "garbage between good ones", events: []kafka.Event{assign(0), withValue(msg(0, 5), "garbage"), msg(0, 6)},
			wantReasons: map[string]float64{"malformed": 1}, wantOffsets: map[int32]int64{0: 7}, produced: 1},
		{name: "every reason, two partitions",
			events: []kafka.Event{assign(0, 1), withValue(msg(0, 5), "huge"), withValue(msg(1, 5), "garbage"),
				withValue(msg(0, 6), "newer"), withValue(msg(1, 6), "broken"), msg(0, 7), msg(1, 7)},
			wantReasons: map[string]float64{"over_limit": 1, "malformed": 1, "unsupported_version": 1, "other": 1},
			wantOffsets: map[int32]int64{0: 8, 1: 8}, produced: 2},
		{name: "only invalid ones", events: []kafka.Event{assign(0), withValue(msg(0, 5), "huge"), withValue(msg(0, 6), "huge")},
			wantReasons: map[string]float64{"over_limit": 2}, wantOffsets: map[int32]int64{0: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &fakeProducer{}
			_, m := run(t, tc.events, p, false)
			got := map[string]float64{}
			for _, reason := range schema.Reasons() {
				if n := testutil.ToFloat64(m.InvalidMessages.WithLabelValues(topic, reason)); n > 0 {
					got[reason] = n
				}
			}
			require.Equal(t, tc.wantReasons, got)
			all := map[int32]int64{}
			for _, o := range p.offsets {
				maps.Copy(all, offsetsOf(o))
			}
			require.Equal(t, tc.wantOffsets, all)
			require.Equal(t, tc.produced, p.produced)
		})
	}
}

// Each invalid message is logged once, with its topic, partition, offset
// and reason.
func TestInvalidMessageLoggedOnce(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bad := msg(0, 5)
	bad.Value = []byte("huge")
	c := &fakeConsumer{events: []kafka.Event{assign(0), bad, msg(0, 6)}, committed: map[int32]kafka.Offset{0: 5}, cancel: cancel}
	reg := prometheus.NewRegistry()
	w := New(Config{ComputeTopic: topic, ResultsTopic: "results", BatchChunks: 2, BatchAge: time.Hour, OpTimeout: time.Second},
		c, &fakeProducer{}, echo{}, zap.New(core), NewMetrics(reg), nil, httpserver.NewProbe(reg, "test"), nil)
	require.NoError(t, w.Run(ctx))
	entries := logs.FilterMessage("skipping invalid message").All()
	require.Len(t, entries, 1)
	f := entries[0].ContextMap()
	require.Equal(t, topic, f["topic"])
	require.Equal(t, int32(0), f["partition"])
	require.Equal(t, int64(5), f["offset"])
	require.Equal(t, "over_limit", f["reason"])
}

// TestStuckSendOffsetsEndsTheLoop: a SendOffsetsToTransaction that ignores
// its timeout, as librdkafka's does when the group coordinator it cached is
// gone, ends Run with ErrStuck once the timeout and its grace have passed,
// without a commit, an abort or a Close that would wait on it too.
func TestStuckSendOffsetsEndsTheLoop(t *testing.T) {
	defer func(g time.Duration) { stuckGrace = g }(stuckGrace)
	stuckGrace = 20 * time.Millisecond
	p := &fakeProducer{block: make(chan struct{})}
	defer close(p.block)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &fakeConsumer{events: []kafka.Event{assign(0), msg(0, 5), msg(0, 6)}, committed: map[int32]kafka.Offset{0: 5}, cancel: cancel}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	w := New(Config{ComputeTopic: topic, ResultsTopic: "results", BatchChunks: 2, BatchAge: time.Hour, OpTimeout: 30 * time.Millisecond},
		c, p, echo{}, zaptest.NewLogger(t), m, nil, httpserver.NewProbe(reg, "test"), lagtime.New("computers", time.Now, 0))
	err := w.Run(ctx)
	require.ErrorIs(t, err, ErrStuck)
	require.ErrorContains(t, err, "send offsets to transaction: no answer after")
	require.Equal(t, []string{"init", "begin", "offsets"}, p.callsSoFar(), "nothing after the stuck call")
	require.False(t, c.closed, "the consumer is not closed: Close would wait on the stuck client")
	require.Equal(t, 1.0, testutil.ToFloat64(m.Transactions.WithLabelValues("stuck")))
}

func TestRetriableCommitIsRetried(t *testing.T) {
	p := &fakeProducer{commitErrs: []error{kafka.NewError(kafka.ErrTimedOut, "timed out", false)}}
	run(t, []kafka.Event{assign(0), msg(0, 5), msg(0, 6)}, p, false)
	require.Equal(t, []string{"init", "begin", "offsets", "commit", "commit"}, p.calls)
}

// failingWriter fails every write.
type failingWriter struct{ writes int }

func (f *failingWriter) Write([]byte) (int, error) { f.writes++; return 0, errors.New("disk full") }

func TestProcessingLog(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events []kafka.Event
		lines  int
	}{
		{name: "a line per chunk, batches and shutdown", events: []kafka.Event{assign(0, 1), msg(0, 5), msg(1, 9), msg(0, 6)}, lines: 3},
		{name: "a revoke ends the transaction and writes its lines", events: []kafka.Event{assign(0), msg(0, 5), msg(0, 6), revoke(0)}, lines: 2},
		{name: "nothing processed", events: []kafka.Event{assign(0)}, lines: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := &fakeConsumer{events: tc.events, committed: map[int32]kafka.Offset{}, cancel: cancel}
			reg := prometheus.NewRegistry()
			var out bytes.Buffer
			before := time.Now().UnixNano()
			w := New(Config{ComputeTopic: topic, ResultsTopic: "results", BatchChunks: 2, BatchAge: time.Hour, OpTimeout: time.Second,
				ProcessingLog: &out}, c, &fakeProducer{}, echo{}, zaptest.NewLogger(t), NewMetrics(reg), nil, httpserver.NewProbe(reg, "test"), nil)
			require.NoError(t, w.Run(ctx))
			after := time.Now().UnixNano()

			lines := strings.Fields(out.String())
			require.Len(t, lines, tc.lines)
			prev := before
			for _, l := range lines {
				ns, err := strconv.ParseInt(l, 10, 64)
				require.NoError(t, err)
				require.GreaterOrEqual(t, ns, prev, "in order, after the start")
				require.LessOrEqual(t, ns, after)
				prev = ns
			}
		})
	}
}

func TestProcessingLogWriteFailureStopsOnlyTheLog(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &fakeConsumer{events: []kafka.Event{assign(0), msg(0, 5), msg(0, 6), msg(0, 7), msg(0, 8)}, committed: map[int32]kafka.Offset{}, cancel: cancel}
	reg := prometheus.NewRegistry()
	fw := &failingWriter{}
	p := &fakeProducer{}
	w := New(Config{ComputeTopic: topic, ResultsTopic: "results", BatchChunks: 2, BatchAge: time.Hour, OpTimeout: time.Second,
		ProcessingLog: fw}, c, p, echo{}, zaptest.NewLogger(t), NewMetrics(reg), nil, httpserver.NewProbe(reg, "test"), nil)
	require.NoError(t, w.Run(ctx))
	require.Equal(t, 1, fw.writes, "no writes after the first failure")
	require.Equal(t, []string{"init", "begin", "offsets", "commit", "begin", "offsets", "commit"}, p.calls)
}

// confluent-kafka-go ignores the rebalance callback's return value: what
// the callback failed to do ends Run with an error that says what failed,
// and the partitions revoked are given up all the same.
func TestRebalanceErrorsEndTheLoop(t *testing.T) {
	fenced := kafka.NewError(kafka.ErrFenced, "producer fenced", true)
	timedOut := kafka.NewError(kafka.ErrTimedOut, "abort timed out", false)
	unknown := kafka.NewError(kafka.ErrUnknownMemberID, "unknown member", false)
	for _, tc := range []struct {
		name          string
		events        []kafka.Event
		consumer      *fakeConsumer
		producer      *fakeProducer
		wantErr       error
		wantMsg       string
		wantUnassigns int
		wantCalls     []string
	}{
		{name: "commit on revoke", events: []kafka.Event{assign(0), msg(0, 5), revoke(0), msg(0, 6)},
			producer: &fakeProducer{commitErrs: []error{fenced}}, wantErr: fenced,
			wantMsg: "rebalance: commit transaction on revoke of 1 partitions: commit transaction: ", wantUnassigns: 1,
			wantCalls: []string{"init", "begin", "offsets", "commit"}},
		{name: "abort on lost assignment", events: []kafka.Event{assign(0), msg(0, 5), revoke(0), msg(0, 6)},
			consumer: &fakeConsumer{lost: true}, producer: &fakeProducer{abortErr: timedOut}, wantErr: timedOut,
			wantMsg: "rebalance: abort transaction on lost assignment of 1 partitions: ", wantUnassigns: 1,
			wantCalls: []string{"init", "begin", "abort"}},
		{name: "incremental assign", events: []kafka.Event{assign(0, 1), msg(0, 5)},
			consumer: &fakeConsumer{assignErr: unknown}, wantErr: unknown,
			wantMsg: "rebalance: assign 2 partitions of compute: ", wantCalls: []string{"init"}},
		{name: "eager assign", events: []kafka.Event{assign(0, 1), msg(0, 5)},
			consumer: &fakeConsumer{eager: true, assignErr: unknown}, wantErr: unknown,
			wantMsg: "rebalance: assign 2 partitions of compute: ", wantCalls: []string{"init"}},
		{name: "incremental unassign", events: []kafka.Event{assign(0), revoke(0), msg(0, 5)},
			consumer: &fakeConsumer{revokeErr: unknown}, wantErr: unknown,
			wantMsg: "rebalance: unassign 1 partitions of compute: ", wantUnassigns: 1, wantCalls: []string{"init"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c, p := cmp.Or(tc.consumer, &fakeConsumer{}), cmp.Or(tc.producer, &fakeProducer{})
			c.events, c.committed, c.cancel = tc.events, map[int32]kafka.Offset{}, cancel
			reg := prometheus.NewRegistry()
			w := New(Config{ComputeTopic: topic, ResultsTopic: "results", BatchChunks: 10, BatchAge: time.Hour, OpTimeout: time.Second},
				c, p, echo{}, zaptest.NewLogger(t), NewMetrics(reg), nil, httpserver.NewProbe(reg, "test"), nil)
			err := w.Run(ctx)
			require.ErrorIs(t, err, tc.wantErr)
			require.ErrorContains(t, err, tc.wantMsg)
			require.NotEmpty(t, c.events, "the loop ended at the rebalance, not at the end of the script")
			require.True(t, c.closed, "consumer closed")
			require.Equal(t, tc.wantUnassigns, c.unassigns, "revoked partitions given up")
			require.Equal(t, tc.wantCalls, p.calls)
		})
	}
}

// A producer that cannot start its transactions fails Run, which closes
// the consumer all the same.
func TestInitFailureClosesTheConsumer(t *testing.T) {
	c := &fakeConsumer{cancel: func() {}}
	reg := prometheus.NewRegistry()
	down := kafka.NewError(kafka.ErrTimedOut, "coordinator not available", false)
	w := New(Config{ComputeTopic: topic, ResultsTopic: "results", BatchChunks: 10, BatchAge: time.Hour, OpTimeout: time.Second},
		c, &fakeProducer{initErr: down}, echo{}, zaptest.NewLogger(t), NewMetrics(reg), nil, httpserver.NewProbe(reg, "test"), nil)
	err := w.Run(context.Background())
	require.ErrorIs(t, err, down)
	require.ErrorContains(t, err, "init transactions: ")
	require.True(t, c.closed)
	require.Nil(t, c.cb, "not subscribed")
}

// TestWakesTheGroupUntilAssigned: while a member holds no partition, each
// poll is followed by a request that wakes librdkafka's group thread (its
// heartbeats and rejoins wait for one); a member with partitions makes
// none beyond its own.
func TestWakesTheGroupUntilAssigned(t *testing.T) {
	idle := []kafka.Event{nil, nil, nil, nil, nil, nil}
	for _, tc := range []struct {
		name   string
		events []kafka.Event
		min    int
		max    int
	}{
		// One per poll (six empty, one that ends the script), and at
		// most two more: the first lag sample, the fetcher's wake after an
		// assignment.
		{name: "no partitions", events: idle, min: 7, max: 8},
		{name: "assigned", events: append([]kafka.Event{assign(0)}, idle...), min: 0, max: 2},
		{name: "revoked", events: append([]kafka.Event{assign(0), revoke(0)}, idle...), min: 8, max: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := run(t, tc.events, &fakeProducer{}, false)
			require.GreaterOrEqual(t, c.assignments, tc.min)
			require.LessOrEqual(t, c.assignments, tc.max)
		})
	}
}
