//go:build integration

package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/kafkatest"
)

// run runs kafka-scale with args against the broker at bootstrap and
// returns its exit status, stdout and stderr.
func run(t *testing.T, bootstrap string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := cli.Env{Stdout: &stdout, Stderr: &stderr, LookupEnv: func(k string) (string, bool) {
		if k == "KAFKA_BOOTSTRAP_SERVERS" {
			return bootstrap, true
		}
		return "", false
	}}
	code := cli.Run(t.Context(), env, Commands(), args)
	t.Logf("kafka-scale %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), s)
	return v
}

// TestAdminIntegration creates a topic, produces to it, consumes part of it
// with a group that commits, and checks what topics, offsets and lag say,
// in tables and in JSON; then rmtopics, refusing and forced.
func TestAdminIntegration(t *testing.T) {
	bootstrap := kafkatest.Bootstrap(t)
	topic := kafkatest.TopicName(t, "admin")
	group := topic + "-group"
	const partitions, first, second = 3, 30, 12
	kafkatest.CreateTopic(t, bootstrap, topic, partitions)

	// The first records, all consumed and committed by the group.
	key := func(i int) []byte { return fmt.Appendf(nil, "key-%d", i) }
	values := func(n int) [][]byte {
		v := make([][]byte, n)
		for i := range v {
			v[i] = fmt.Appendf(nil, "record %d", i)
		}
		return v
	}
	batch1 := kafkatest.Produce(t, bootstrap, topic, values(first), key)
	cfg := kafkatest.Config(bootstrap, 0)
	cfg.ClientID = "admin-test-member"
	cons, err := extkafka.NewConsumer(extkafka.ConsumerConfig(cfg, group, extkafka.GroupProtocolClassic, nil), zaptest.NewLogger(t).Named("consumer"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cons.Close() })
	require.NoError(t, cons.Subscribe(topic, nil))
	for _, m := range kafkatest.Poll(t, cons, first, kafkatest.Timeout, nil) {
		_, err := cons.CommitMessage(m)
		require.NoError(t, err)
	}
	// The group stays a member while the rest arrives and is not consumed.
	// Their timestamps are the producer's clock when it took them.
	produced := time.Now()
	batch2 := kafkatest.Produce(t, bootstrap, topic, values(second), key)
	acked := time.Now()
	count := func(ms []*kafka.Message) map[int32]int64 {
		n := map[int32]int64{}
		for _, m := range ms {
			n[m.TopicPartition.Partition]++
		}
		return n
	}
	committed, lagging := count(batch1), count(batch2)
	time.Sleep(1500 * time.Millisecond) // so that lag in seconds is well above 0

	t.Run("topics", func(t *testing.T) {
		code, out, _ := run(t, bootstrap, "topics")
		require.Zero(t, code)
		require.Regexp(t, `(?m)^TOPIC +PARTITIONS +REPLICATION +LEADERS +UNDER-REPLICATED$`, out)
		require.Regexp(t, `(?m)^`+regexp.QuoteMeta(topic)+` +3 +1 +\d+:3 +0$`, out)
		require.NotContains(t, out, "__consumer_offsets")

		code, out, _ = run(t, bootstrap, "topics", "--topic", topic, "--partitions")
		require.Zero(t, code)
		for p := range partitions {
			require.Regexp(t, fmt.Sprintf(`(?m)^%s +%d +(\d+) +\d+ +\d+$`, regexp.QuoteMeta(topic), p), out)
		}

		code, out, _ = run(t, bootstrap, "topics", "--topic", topic, "-o", "json")
		require.Zero(t, code)
		r := decode[TopicsReport](t, out)
		require.Len(t, r.Topics, 1)
		require.Equal(t, topic, r.Topics[0].Name)
		require.False(t, r.Topics[0].Internal)
		require.Len(t, r.Topics[0].Partitions, partitions)
		for i, p := range r.Topics[0].Partitions {
			require.Equal(t, i, p.Partition)
			require.NotNil(t, p.Leader)
			require.Equal(t, []int{*p.Leader}, p.Replicas)
			require.Equal(t, p.Replicas, p.ISR)
		}

		code, _, stderr := run(t, bootstrap, "topics", "--topic", topic+"-missing")
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "Unknown topic or partition")
	})

	checkOffsets := func(t *testing.T, r OffsetsReport) {
		require.Equal(t, topic, r.Topic)
		require.Equal(t, group, r.Group)
		require.Equal(t, "Stable", r.State)
		require.Equal(t, 1, r.Members)
		require.Equal(t, int64(second), r.Lag)
		require.Len(t, r.Partitions, partitions)
		for i, p := range r.Partitions {
			require.Equal(t, int32(i), p.Partition)
			require.Zero(t, p.Start)
			require.Equal(t, committed[p.Partition]+lagging[p.Partition], p.End)
			require.NotNil(t, p.Committed)
			require.Equal(t, committed[p.Partition], *p.Committed)
			require.Equal(t, lagging[p.Partition], *p.Lag)
			require.Equal(t, cfg.ClientID, p.Member)
		}
	}
	t.Run("offsets", func(t *testing.T) {
		// Without --group: the group consuming the topic.
		code, out, _ := run(t, bootstrap, "offsets", "--topic", topic)
		require.Zero(t, code)
		require.Contains(t, out, fmt.Sprintf("Topic %s, group %s (Stable, 1 member): lag %d\n\n", topic, group, second))
		require.Regexp(t, `(?m)^PARTITION +START +END +COMMITTED +LAG +MEMBER$`, out)
		for p := range int32(partitions) {
			require.Regexp(t, fmt.Sprintf(`(?m)^%d +0 +%d +%d +%d +%s$`, p,
				committed[p]+lagging[p], committed[p], lagging[p], cfg.ClientID), out)
		}

		code, out, _ = run(t, bootstrap, "offsets", "--topic", topic, "-o", "json")
		require.Zero(t, code)
		checkOffsets(t, decode[OffsetsReport](t, out))

		code, out, _ = run(t, bootstrap, "offsets", "--topic", topic, "--group", group, "-o", "json")
		require.Zero(t, code)
		checkOffsets(t, decode[OffsetsReport](t, out))

		// A group that never consumed the topic has no committed offsets.
		code, out, _ = run(t, bootstrap, "offsets", "--topic", topic, "--group", group+"-other", "-o", "json")
		require.Zero(t, code)
		for _, p := range decode[OffsetsReport](t, out).Partitions {
			require.Nil(t, p.Committed)
			require.Nil(t, p.Lag)
		}
	})

	t.Run("lag", func(t *testing.T) {
		before := time.Now()
		code, out, _ := run(t, bootstrap, "lag", "--group", group, "-o", "json")
		after := time.Now()
		require.Zero(t, code)
		r := decode[LagReport](t, out)
		require.Len(t, r.Groups, 1)
		g := r.Groups[0]
		require.Equal(t, group, g.Group)
		require.Equal(t, "Stable", g.State)
		require.Equal(t, int64(second), g.Lag)
		require.Len(t, g.Partitions, partitions)
		// Now minus the timestamp of the record at the committed offset, the
		// first of the second batch: between these bounds.
		lo, hi := before.Sub(acked).Seconds()-0.001, after.Sub(produced).Seconds()+0.001
		for _, p := range g.Partitions {
			require.Equal(t, topic, p.Topic)
			require.Equal(t, lagging[p.Partition], *p.Lag)
			require.Equal(t, cfg.ClientID, p.Member)
			require.NotNil(t, p.LagSeconds)
			if lagging[p.Partition] == 0 {
				require.Zero(t, *p.LagSeconds)
				continue
			}
			require.GreaterOrEqual(t, *p.LagSeconds, lo)
			require.LessOrEqual(t, *p.LagSeconds, hi)
		}
		require.NotNil(t, g.LagSeconds)
		require.GreaterOrEqual(t, *g.LagSeconds, lo)
		require.LessOrEqual(t, *g.LagSeconds, hi)
		require.GreaterOrEqual(t, *g.LagSeconds, 1.5, "the test waited 1.5 s after producing")

		code, out, _ = run(t, bootstrap, "lag", "--group", group)
		require.Zero(t, code)
		require.Regexp(t, `(?m)^GROUP +STATE +MEMBERS +LAG +LAG-SECONDS$`, out)
		require.Regexp(t, fmt.Sprintf(`(?m)^%s +Stable +1 +%d +\d+\.\d$`, regexp.QuoteMeta(group), second), out)
		require.Regexp(t, `(?m)^GROUP +TOPIC +PARTITION +COMMITTED +END +LAG +LAG-SECONDS +MEMBER$`, out)
		for p := range int32(partitions) {
			require.Regexp(t, fmt.Sprintf(`(?m)^%s +%s +%d +%d +%d +%d +\d+\.\d +%s$`, regexp.QuoteMeta(group), regexp.QuoteMeta(topic), p,
				committed[p], committed[p]+lagging[p], lagging[p], cfg.ClientID), out)
		}

		// Every group: this one among them.
		code, out, _ = run(t, bootstrap, "lag", "-o", "json")
		require.Zero(t, code)
		var found bool
		for _, g := range decode[LagReport](t, out).Groups {
			found = found || g.Group == group
		}
		require.True(t, found)
	})

	t.Run("rmtopics", func(t *testing.T) {
		doomed := kafkatest.TopicName(t, "admin-rm")
		a := kafkatest.Admin(t, bootstrap)
		ctx, cancel := context.WithTimeout(t.Context(), kafkatest.Timeout)
		defer cancel()
		_, err := extkafka.EnsureTopic(ctx, a, extkafka.TopicSpec{Name: doomed, Partitions: 1, ReplicationFactor: 1})
		require.NoError(t, err)

		code, out, stderr := run(t, bootstrap, "rmtopics", "--topic", doomed)
		require.Equal(t, 2, code)
		require.Empty(t, out)
		require.Contains(t, stderr, "refusing to delete topics without --force: "+doomed)
		require.Contains(t, stderr, "kubectl delete kafkatopic <name>")
		_, err = extkafka.DescribeTopic(ctx, a, doomed)
		require.NoError(t, err, "the topic is still there")

		code, out, _ = run(t, bootstrap, "rmtopics", "--topic", doomed, "--force", "-o", "json")
		require.Zero(t, code)
		require.Equal(t, RmTopicsReport{Topics: []Deletion{{Topic: doomed, Deleted: true}}}, decode[RmTopicsReport](t, out))
		kafkatest.Eventually(t, kafkatest.Timeout, func() bool {
			_, err := extkafka.DescribeTopic(ctx, a, doomed)
			return errors.Is(err, extkafka.ErrTopicNotFound)
		}, "topic %s still exists", doomed)

		code, out, stderr = run(t, bootstrap, "rmtopics", "--topic", doomed, "--force")
		require.Equal(t, 1, code)
		require.Regexp(t, `(?m)^`+regexp.QuoteMeta(doomed)+` +not deleted: .*Unknown topic or partition`, out)
		require.Contains(t, stderr, "not deleted: "+doomed)
	})
}
