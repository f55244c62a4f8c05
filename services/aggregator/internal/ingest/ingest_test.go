package ingest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/httpserver"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
	"github.com/kafka-scale/kafka-scale/services/aggregator/internal/state"
)

const (
	resultsTopic = "results"
	stateTopic   = "results-aggregator-state"
)

func newIngest(t *testing.T) (*Ingest, *state.Store, *observer.ObservedLogs) {
	core, logs := observer.New(zap.InfoLevel)
	reg := prometheus.NewRegistry()
	store := state.New()
	in := New(Config{ResultsTopic: resultsTopic, StateTopic: stateTopic}, Clients{}, store, zap.New(core),
		NewMetrics(reg), nil, httpserver.NewProbe(reg, "test"))
	return in, store, logs
}

var offset int64

func message(topic string, partition int32, key, value []byte, headers ...kafka.Header) *kafka.Message {
	offset++
	return &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: partition, Offset: kafka.Offset(offset)},
		Key: key, Value: value, Headers: headers, Timestamp: time.UnixMilli(1700000000000)}
}

func resultMessage(r *schema.Result) *kafka.Message {
	var hs []kafka.Header
	for _, h := range schema.Headers(schema.TypeResult) {
		hs = append(hs, kafka.Header{Key: h.Key, Value: h.Value})
	}
	return message(resultsTopic, 0, r.Key(), schema.AppendResult(nil, r), hs...)
}

func result(seq uint32, last bool) *schema.Result {
	t := tally.New()
	for range 3 {
		t.Add(&census.Record{HRYEAR4: 2020, HRMONTH: 1, HEHOUSUT: 1, GESTFIPS: 6, PRTAGE: 30, PEMLR: 1, LaborForceWeight: 10_000})
	}
	return &schema.Result{Source: "jan20pub.dat.gz", Fingerprint: "fp", Year: 2020, Month: 1, Seq: seq, Last: last, Records: 3, Tally: t}
}

// Invalid results among good ones are counted by reason, logged once each
// with topic, partition and offset, skipped with their offsets passed, and
// change nothing in the totals.
func TestInvalidResultsAreSkipped(t *testing.T) {
	good := []*kafka.Message{resultMessage(result(0, false)), resultMessage(result(1, true))}
	encoded := schema.AppendResult(nil, result(1, true))
	for _, tc := range []struct {
		name   string
		bad    *kafka.Message
		reason string
	}{
		{"garbage", message(resultsTopic, 0, nil, []byte{0xff, 0xfe, 0xfd, 0x00}), "malformed"},
		{"chunk number near 2^32", resultMessage(&schema.Result{Source: "jan20pub.dat.gz", Fingerprint: "fp", Seq: math.MaxUint32 - 1, Records: 1}), "over_limit"},
		{"absurd record count", message(resultsTopic, 0, nil, protowire.AppendVarint(protowire.AppendTag(schema.AppendResult(nil, result(5, false)), 8, protowire.VarintType), 1<<50)), "over_limit"},
		{"truncated", message(resultsTopic, 0, nil, encoded[:len(encoded)-3]), "malformed"},
		{"no source", message(resultsTopic, 0, nil, schema.AppendResult(nil, &schema.Result{Records: 3})), "missing_field"},
		{"newer version", message(resultsTopic, 0, nil, encoded, kafka.Header{Key: schema.HeaderVersion, Value: []byte("99")}), "unsupported_version"},
		{"a chunk", message(resultsTopic, 0, nil, encoded, kafka.Header{Key: schema.HeaderType, Value: []byte("chunk")}), "wrong_type"},
		{"past the last chunk", resultMessage(result(7, false)), ReasonOutOfRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, store, logs := newIngest(t)
			in.apply(good[0])
			in.apply(good[1])
			want := store.Totals().Clone()
			in.apply(tc.bad)
			require.True(t, want.Equal(store.Totals()), "totals changed")
			require.True(t, store.Sources()[0].Complete)
			require.Equal(t, 1.0, testutil.ToFloat64(in.m.InvalidMessages.WithLabelValues(resultsTopic, tc.reason)))
			total := 0.0
			for _, reason := range append(schema.Reasons(), ReasonOutOfRange) {
				total += testutil.ToFloat64(in.m.InvalidMessages.WithLabelValues(resultsTopic, reason))
			}
			require.Equal(t, 1.0, total, "counted once, under one reason")
			require.Equal(t, int64(tc.bad.TopicPartition.Offset)+1, in.next[0], "offset passed")
			entries := logs.FilterMessage("skipping invalid message").All()
			require.Len(t, entries, 1)
			f := entries[0].ContextMap()
			require.Equal(t, resultsTopic, f["topic"])
			require.Equal(t, int32(0), f["partition"])
			require.Equal(t, int64(tc.bad.TopicPartition.Offset), f["offset"])
			require.Equal(t, tc.reason, f["reason"])
		})
	}
}

// An invalid state-topic record is counted and skipped; the records around
// it are restored.
func TestInvalidStateRecordsAreSkipped(t *testing.T) {
	g := schema.GenerationState{Source: "jan20pub.dat.gz", Fingerprint: "fp", Year: 2020, Month: 1, Seen: []uint64{3}, Chunks: 2, Total: 2,
		Records: 6, Rejects: map[string]uint64{}, Tally: result(0, false).Tally}
	genKey := schema.GenerationKey(schema.SourceKey{Source: g.Source, Fingerprint: g.Fingerprint})
	offsets := schema.AppendOffsets(nil, &schema.Offsets{Topic: resultsTopic, Offsets: map[int32]int64{0: 42}})
	for _, tc := range []struct {
		name   string
		bad    *kafka.Message
		reason string
	}{
		{"garbage generation", message(stateTopic, 0, []byte("gen/x/y"), []byte{0xff, 0xff}), "malformed"},
		{"huge bitset", message(stateTopic, 0, []byte("gen/x/y"),
			schema.AppendGenerationState(nil, &schema.GenerationState{Source: "x", Seen: make([]uint64, schema.MaxChunks/64+1)})), "over_limit"},
		{"partition out of range", message(stateTopic, 0, schema.OffsetsKey("other"),
			protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1<<40|1<<20))), "over_limit"},
		{"unknown key", message(stateTopic, 0, []byte("what/ever"), []byte("x")), ReasonUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, store, logs := newIngest(t)
			in.restoreRecord(message(stateTopic, 0, genKey, schema.AppendGenerationState(nil, &g)))
			in.restoreRecord(tc.bad)
			in.restoreRecord(message(stateTopic, 0, schema.OffsetsKey(resultsTopic), offsets))
			require.Len(t, store.Sources(), 1)
			require.True(t, store.Sources()[0].Complete)
			require.Equal(t, uint64(3), store.Totals().Records())
			require.Equal(t, map[int32]int64{0: 42}, in.next)
			require.Equal(t, 1.0, testutil.ToFloat64(in.m.InvalidMessages.WithLabelValues(stateTopic, tc.reason)))
			require.Len(t, logs.FilterMessage("skipping invalid message").All(), 1)
		})
	}
}

// metadataAnswers answers GetMetadata with its errors in turn, then with
// the topic and one partition.
type metadataAnswers struct {
	errs  []kafka.ErrorCode
	calls int
}

func (m *metadataAnswers) GetMetadata(topic *string, _ bool, _ int) (*kafka.Metadata, error) {
	m.calls++
	tm := kafka.TopicMetadata{Topic: *topic, Partitions: []kafka.PartitionMetadata{{ID: 0}}}
	if len(m.errs) > 0 {
		tm = kafka.TopicMetadata{Topic: *topic, Error: kafka.NewError(m.errs[0], "", false)}
		m.errs = m.errs[1:]
	}
	return &kafka.Metadata{Topics: map[string]kafka.TopicMetadata{*topic: tm}}, nil
}

// TestTopicMetadataWaitsForANewTopic: a topic just created, not yet known
// to the broker asked, is asked for again; an error that lasts is returned.
func TestTopicMetadataWaitsForANewTopic(t *testing.T) {
	in := &Ingest{cfg: Config{OpTimeout: 2 * time.Second}}
	m := &metadataAnswers{errs: []kafka.ErrorCode{kafka.ErrUnknownTopicOrPart, kafka.ErrLeaderNotAvailable}}
	tm, err := in.topicMetadata(context.Background(), m, "state")
	require.NoError(t, err)
	require.Len(t, tm.Partitions, 1)
	require.Equal(t, 3, m.calls)

	in.cfg.OpTimeout = 0
	_, err = in.topicMetadata(context.Background(), &metadataAnswers{errs: []kafka.ErrorCode{kafka.ErrUnknownTopicOrPart}}, "state")
	require.ErrorContains(t, err, "state: not found after 0s")
}
