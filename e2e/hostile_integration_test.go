//go:build integration

package e2e

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/e2e/harness"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
)

// hostile is a message that no consumer may count: its value, headers and
// the reason its consumer gives for skipping it.
type hostile struct {
	name    string
	value   []byte
	headers []kafka.Header
	reason  string
}

func kafkaHeaders(hs []schema.Header) []kafka.Header {
	var out []kafka.Header
	for _, h := range hs {
		out = append(out, kafka.Header{Key: h.Key, Value: h.Value})
	}
	return out
}

// hostileChunks are put on the compute topic: each names a real source,
// so a computer that let one through would change its results.
func hostileChunks(source string) []hostile {
	rec := make([]byte, census.RecordLen)
	for i := range rec {
		rec[i] = '0'
	}
	rec = append(rec, '\n')
	real := schema.AppendChunk(nil, &schema.Chunk{Source: source, Fingerprint: "fp", Year: 2020, Month: 2, Seq: 3, Records: 1, Data: rec})
	v1 := kafkaHeaders(schema.ChunkHeaders(schema.CodecNone))
	return []hostile{
		{"garbage bytes", []byte("\xff\xfe\x00garbage\x00\x01"), nil, "malformed"},
		{"truncated protobuf", real[:len(real)-200], v1, "malformed"},
		{"absurd record count", schema.AppendChunk(nil, &schema.Chunk{Source: source, Fingerprint: "fp", Seq: 3, Records: math.MaxUint32, Data: rec}), v1, "over_limit"},
		{"chunk number near 2^32", schema.AppendChunk(nil, &schema.Chunk{Source: source, Fingerprint: "fp", Seq: math.MaxUint32 - 1, Records: 1, Data: rec}), v1, "over_limit"},
		{"newer schema", real, kafkaHeaders([]schema.Header{{Key: schema.HeaderType, Value: []byte("chunk")}, {Key: schema.HeaderVersion, Value: []byte("99")}}), "unsupported_version"},
	}
}

// hostileResults are put on the results topic, naming real sources too.
func hostileResults(source string) []hostile {
	h := kafkaHeaders(schema.Headers(schema.TypeResult))
	real := schema.AppendResult(nil, &schema.Result{Source: source, Fingerprint: "fp", Year: 2020, Month: 2, Seq: 1, Records: 500})
	return []hostile{
		{"garbage bytes", []byte("\xff\xfe\x00garbage\x00\x01"), nil, "malformed"},
		{"truncated protobuf", real[:len(real)-1], h, "malformed"}, // inside the last varint
		{"chunk number near 2^32", schema.AppendResult(nil, &schema.Result{Source: source, Fingerprint: "fp", Seq: math.MaxUint32 - 1, Records: 1, Last: true}), h, "over_limit"},
		{"absurd record count", schema.AppendResult(nil, &schema.Result{Source: source, Fingerprint: "fp", Seq: 2, Records: 1 << 40}), h, "over_limit"},
		{"no source", schema.AppendResult(nil, &schema.Result{Fingerprint: "fp", Records: 3}), h, "missing_field"},
	}
}

// produceHostile writes msgs to every partition of topic.
func produceHostile(t *testing.T, bootstrap, topic string, partitions int, msgs []hostile) {
	t.Helper()
	pr, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": true})
	require.NoError(t, err)
	defer pr.Close()
	done := make(chan kafka.Event, len(msgs)*partitions)
	for p := range partitions {
		for _, m := range msgs {
			require.NoError(t, pr.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: int32(p)},
				Key: []byte(m.name), Value: m.value, Headers: m.headers}, done))
		}
	}
	for range len(msgs) * partitions {
		ev := (<-done).(*kafka.Message)
		require.NoError(t, ev.TopicPartition.Error, "produce to %s", topic)
	}
}

// reasonCounts reads a metric's samples for topic by reason, over procs.
func reasonCounts(t *testing.T, name, topic string, procs ...*harness.Proc) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, p := range procs {
		for _, reason := range append(schema.Reasons(), "out_of_range", "unknown_key") {
			v, ok, err := harness.Metric(context.Background(), p.Addr("admin", time.Second), fmt.Sprintf(`%s{topic=%q,reason=%q}`, name, topic, reason))
			require.NoError(t, err)
			if ok && v > 0 {
				out[reason] += v
			}
		}
	}
	return out
}

// TestE2EHostileMessages: garbage, truncated and over-limit messages put on
// compute and results between and during real loads are counted by reason
// and skipped; the results are exactly the generator's, every source
// completes, and the group's lag drains, so no partition is blocked.
func TestE2EHostileMessages(t *testing.T) {
	dir := t.TempDir()
	want, _ := harness.Generate(t, dir, 2020, []int{1, 2, 3}, 20_000, 7)
	p := harness.NewPipeline(t, "hostile")
	const partitions = 6

	agg := p.Aggregator("aggregator")
	api := agg.Addr("api", time.Minute)
	p.CreateComputeTopic(partitions)
	c1 := p.Computer("computer-1")
	c2 := p.Computer("computer-2")
	c1.WaitReady(time.Minute)
	c2.WaitReady(time.Minute)

	// January first, so that the results topic exists and has results.
	jan := filepath.Join(dir, census.FileName(2020, 1))
	require.Equal(t, 0, p.Reader("reader-jan", "--from-file", jan).Wait(3*time.Minute))
	harness.WaitSources(t, api, waitComplete, harness.AllComplete(1))

	// Hostile messages behind January's chunks and results, then February
	// and March loaded while more arrive.
	chunks := hostileChunks(census.FileName(2020, 2))
	results := hostileResults(census.FileName(2020, 2))
	produceHostile(t, p.Bootstrap, p.ComputeTopic, partitions, chunks)
	produceHostile(t, p.Bootstrap, p.ResultsTopic, 1, results)
	rest := p.Reader("reader-rest", "--from-file", filepath.Join(dir, census.FileName(2020, 2)), "--from-file", filepath.Join(dir, census.FileName(2020, 3)))
	produceHostile(t, p.Bootstrap, p.ComputeTopic, partitions, chunks)
	produceHostile(t, p.Bootstrap, p.ResultsTopic, 1, results)
	require.Equal(t, 0, rest.Wait(3*time.Minute), "reader exit code")

	srcs := harness.WaitSources(t, api, waitComplete, harness.AllComplete(3))
	for _, s := range srcs {
		require.Equal(t, uint64(20_000), s.Records, s.Source)
		require.Equal(t, 1, s.Loads, s.Source)
	}
	harness.CheckAPI(t, api, want)

	// Every hostile compute message was counted once, by its reason, over
	// the two computers; and every hostile result by the aggregator.
	wantChunks := map[string]float64{}
	for _, m := range chunks {
		wantChunks[m.reason] += 2 * partitions
	}
	harness.Eventually(t, time.Minute, func() (bool, string) {
		got := reasonCounts(t, "kafka_scale_computer_invalid_messages_total", p.ComputeTopic, c1, c2)
		return fmt.Sprint(got) == fmt.Sprint(wantChunks), fmt.Sprintf("computers counted %v, want %v", got, wantChunks)
	})
	wantResults := map[string]float64{}
	for _, m := range results {
		wantResults[m.reason] += 2
	}
	harness.Eventually(t, time.Minute, func() (bool, string) {
		got := reasonCounts(t, "kafka_scale_aggregator_invalid_messages_total", p.ResultsTopic, agg)
		return fmt.Sprint(got) == fmt.Sprint(wantResults), fmt.Sprintf("aggregator counted %v, want %v", got, wantResults)
	})
	for _, c := range []*harness.Proc{c1, c2, agg} {
		require.Contains(t, c.Log(), "skipping invalid message")
		require.False(t, c.Exited(), "%s exited", c.Name)
	}

	// The skipped messages' offsets were committed: the group drains.
	harness.Eventually(t, time.Minute, func() (bool, string) {
		lag, err := p.GroupLag(p.Group, p.ComputeTopic)
		return err == nil && lag == 0, fmt.Sprintf("computers' lag %d (%v)", lag, err)
	})

	// A restarted aggregator restores the same state and skips the same
	// messages again without counting them.
	agg.Stop(time.Minute)
	agg2 := p.Aggregator("aggregator-2")
	api2 := agg2.Addr("api", time.Minute)
	agg2.WaitReady(time.Minute)
	harness.WaitSources(t, api2, waitComplete, harness.AllComplete(3))
	harness.CheckAPI(t, api2, want)
	c1.Stop(time.Minute)
	c2.Stop(time.Minute)
	agg2.Stop(time.Minute)
}
