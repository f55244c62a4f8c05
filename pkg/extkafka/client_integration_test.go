//go:build integration

package extkafka_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/kafkatest"
)

// verifyNoLeaks checks, after every other cleanup of the test (clients
// closed, topics deleted), that no goroutine the test started is left.
func verifyNoLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

func TestIntegrationProduceConsume(t *testing.T) {
	verifyNoLeaks(t)
	bootstrap := kafkatest.Bootstrap(t)
	topic := kafkatest.TopicName(t, "")
	kafkatest.CreateTopic(t, bootstrap, topic, 3)

	const n = 60
	values := make([][]byte, n)
	for i := range values {
		values[i] = fmt.Appendf(nil, "record-%02d", i)
	}
	acked := kafkatest.Produce(t, bootstrap, topic, values, func(i int) []byte { return fmt.Appendf(nil, "key-%d", i%7) })
	require.Len(t, acked, n)

	log := zaptest.NewLogger(t)
	c, err := extkafka.NewConsumer(extkafka.ConsumerConfig(kafkatest.Config(bootstrap, 0), kafkatest.TopicName(t, "group"), extkafka.GroupProtocolClassic, nil), log, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	require.NoError(t, c.Subscribe(topic, nil))

	msgs := kafkatest.Poll(t, c, n, kafkatest.Timeout, nil)
	got := make([]string, 0, n)
	next := map[int32]kafka.TopicPartition{} // per partition: last offset + 1
	for _, m := range msgs {
		got = append(got, string(m.Value))
		tp := m.TopicPartition
		tp.Offset++
		next[tp.Partition] = tp
	}
	want := make([]string, n)
	for i, v := range values {
		want[i] = string(v)
	}
	slices.Sort(got)
	require.Equal(t, want, got, "every record exactly once")

	toCommit := make([]kafka.TopicPartition, 0, len(next))
	for _, tp := range next {
		toCommit = append(toCommit, tp)
	}
	_, err = c.CommitOffsets(toCommit)
	require.NoError(t, err)

	committed, err := c.Committed(toCommit, int(kafkatest.Timeout.Milliseconds()))
	require.NoError(t, err)
	for _, tp := range committed {
		require.NoError(t, tp.Error)
		require.Equal(t, next[tp.Partition].Offset, tp.Offset, "committed offset of partition %d", tp.Partition)
	}
	total := kafka.Offset(0)
	for _, tp := range next {
		total += tp.Offset
	}
	require.EqualValues(t, n, total, "committed offsets add up to the records produced")
}

func TestIntegrationTransactions(t *testing.T) {
	verifyNoLeaks(t)
	bootstrap := kafkatest.Bootstrap(t)
	topic := kafkatest.TopicName(t, "")
	kafkatest.CreateTopic(t, bootstrap, topic, 1)
	log := zaptest.NewLogger(t)
	cfg := kafkatest.Config(bootstrap, 0)

	p, err := extkafka.NewProducer(extkafka.TransactionalProducerConfig(cfg, kafkatest.TopicName(t, "txn"), nil), log, nil)
	require.NoError(t, err)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	require.NoError(t, p.InitTransactions(ctx))

	txn := func(commit bool, values ...string) {
		t.Helper()
		require.NoError(t, p.BeginTransaction())
		delivered := make(chan kafka.Event, len(values))
		for _, v := range values {
			require.NoError(t, p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: 0}, Value: []byte(v)}, delivered))
		}
		if commit {
			require.NoError(t, p.CommitTransaction(ctx))
			return
		}
		// Written before the abort, so that read_uncommitted sees them;
		// an abort purges the records still queued.
		for range values {
			select {
			case ev := <-delivered:
				m, ok := ev.(*kafka.Message)
				require.True(t, ok, "delivery report: %v", ev)
				require.NoError(t, m.TopicPartition.Error)
			case <-ctx.Done():
				t.Fatal("records of the transaction to abort not delivered")
			}
		}
		require.NoError(t, p.AbortTransaction(ctx))
	}
	txn(true, "c1", "c2")
	txn(false, "a1", "a2")
	txn(true, "c3")
	// Offsets: c1 c2 marker a1 a2 marker c3 marker.
	const end = 8

	for _, tc := range []struct {
		isolation string
		want      []string
	}{
		{"read_committed", []string{"c1", "c2", "c3"}},
		{"read_uncommitted", []string{"c1", "c2", "a1", "a2", "c3"}},
	} {
		t.Run(tc.isolation, func(t *testing.T) {
			c, err := extkafka.NewConsumer(extkafka.ConsumerConfig(cfg, kafkatest.TopicName(t, "group"), "", kafka.ConfigMap{
				"isolation.level": tc.isolation,
			}), log, nil)
			require.NoError(t, err)
			defer func() { require.NoError(t, c.Close()) }()
			tp := kafka.TopicPartition{Topic: &topic, Partition: 0, Offset: kafka.OffsetBeginning}
			require.NoError(t, c.Assign([]kafka.TopicPartition{tp}))

			msgs := kafkatest.Poll(t, c, len(tc.want), kafkatest.Timeout, nil)
			got := make([]string, len(msgs))
			for i, m := range msgs {
				got[i] = string(m.Value)
			}
			require.Equal(t, tc.want, got)

			// After the last record of a transaction, a further poll
			// moves the position past the commit marker: a consumer
			// that commits its position reaches lag 0.
			kafkatest.Eventually(t, 10*time.Second, func() bool {
				if ev := c.Poll(100); ev != nil {
					if m, ok := ev.(*kafka.Message); ok {
						t.Fatalf("unexpected record %q at offset %v", m.Value, m.TopicPartition.Offset)
					}
				}
				pos, err := c.Position([]kafka.TopicPartition{{Topic: &topic, Partition: 0}})
				return err == nil && pos[0].Offset == end
			}, "position did not reach %d, the offset after the last marker", end)
			lo, hi, err := c.QueryWatermarkOffsets(topic, 0, int(kafkatest.Timeout.Milliseconds()))
			require.NoError(t, err)
			require.Equal(t, []int64{0, end}, []int64{lo, hi})
		})
	}
}

func TestIntegrationGroupProtocols(t *testing.T) {
	verifyNoLeaks(t)
	bootstrap := kafkatest.Bootstrap(t)
	for _, protocol := range []string{extkafka.GroupProtocolClassic, extkafka.GroupProtocolConsumer} {
		t.Run(protocol, func(t *testing.T) {
			topic := kafkatest.TopicName(t, "")
			kafkatest.CreateTopic(t, bootstrap, topic, 4)
			kafkatest.Produce(t, bootstrap, topic, [][]byte{[]byte("a"), []byte("b"), []byte("c")}, nil)

			c, err := extkafka.NewConsumer(extkafka.ConsumerConfig(kafkatest.Config(bootstrap, 0), kafkatest.TopicName(t, "group"), protocol, nil), zaptest.NewLogger(t), nil)
			require.NoError(t, err)
			defer func() { require.NoError(t, c.Close()) }()

			var assigned []kafka.TopicPartition
			require.NoError(t, c.Subscribe(topic, func(c *kafka.Consumer, ev kafka.Event) error {
				if e, ok := ev.(kafka.AssignedPartitions); ok {
					assigned = append(assigned, e.Partitions...)
				}
				return nil
			}))
			msgs := kafkatest.Poll(t, c, 3, kafkatest.Timeout, nil)
			require.Len(t, msgs, 3)
			kafkatest.Eventually(t, kafkatest.Timeout, func() bool {
				c.Poll(50)
				a, err := c.Assignment()
				return err == nil && len(a) == 4
			}, "the only member of the group was not assigned all 4 partitions")
			require.Len(t, assigned, 4, "rebalance callback saw the assignment")

			md, err := c.GetConsumerGroupMetadata()
			require.NoError(t, err)
			require.NotNil(t, md)
		})
	}
}

func TestIntegrationAdmin(t *testing.T) {
	verifyNoLeaks(t)
	bootstrap := kafkatest.Bootstrap(t)
	a := kafkatest.Admin(t, bootstrap)
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	res, err := a.DescribeCluster(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, res.Nodes)
}

// TestIntegrationFencedProducer: a second producer with the same
// transactional id fences the first, whose next transaction fails with
// an error IsFatal recognises.
func TestIntegrationFencedProducer(t *testing.T) {
	verifyNoLeaks(t)
	bootstrap := kafkatest.Bootstrap(t)
	topic := kafkatest.TopicName(t, "")
	kafkatest.CreateTopic(t, bootstrap, topic, 1)
	log := zaptest.NewLogger(t)
	cm := extkafka.TransactionalProducerConfig(kafkatest.Config(bootstrap, 0), kafkatest.TopicName(t, "txn"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()

	old, err := extkafka.NewProducer(cm, log, nil)
	require.NoError(t, err)
	defer old.Close()
	require.NoError(t, old.InitTransactions(ctx))
	successor, err := extkafka.NewProducer(cm, log, nil)
	require.NoError(t, err)
	defer successor.Close()
	require.NoError(t, successor.InitTransactions(ctx))

	err = old.BeginTransaction()
	if err == nil {
		err = old.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: 0}, Value: []byte("zombie")}, nil)
	}
	if err == nil {
		err = old.CommitTransaction(ctx)
	}
	require.Error(t, err)
	require.True(t, extkafka.IsFatal(err), "fenced: %v", err)
	require.False(t, extkafka.IsRetriable(err))
}
