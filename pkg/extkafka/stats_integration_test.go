//go:build integration

package extkafka_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/kafkatest"
)

// recordDir, when set, receives the statistics the test saw, to refresh
// testdata/stats (whose unit tests then need their expectations updated).
var recordDir = os.Getenv("EXTKAFKA_RECORD_STATS")

func record(t *testing.T, name, statsJSON string) {
	if recordDir == "" {
		return
	}
	require.NoError(t, os.WriteFile(filepath.Join(recordDir, name), []byte(statsJSON+"\n"), 0o644))
}

// TestIntegrationStats has a consumer stop half-way through one partition,
// finish another and find a third empty, and checks the lag its statistics
// give; then a transactional producer's.
func TestIntegrationStats(t *testing.T) {
	verifyNoLeaks(t)
	bootstrap := kafkatest.Bootstrap(t)
	topic := kafkatest.TopicName(t, "compute")
	kafkatest.CreateTopic(t, bootstrap, topic, 3)
	values := func(n int) [][]byte {
		v := make([][]byte, n)
		for i := range v {
			v[i] = fmt.Appendf(nil, "chunk %d", i)
		}
		return v
	}
	produceTo := func(partition int32, n int) {
		// Without delivery reports, which nobody would read: Flush
		// counts unread events as outstanding.
		p, err := extkafka.NewProducer(extkafka.ProducerConfig(kafkatest.Config(bootstrap, 0), kafka.ConfigMap{"go.delivery.reports": false}), zaptest.NewLogger(t), nil)
		require.NoError(t, err)
		defer p.Close()
		for _, v := range values(n) {
			require.NoError(t, p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: partition}, Value: v}, nil))
		}
		require.Zero(t, p.Flush(int(kafkatest.Timeout.Milliseconds())))
	}
	produceTo(0, 600)
	produceTo(1, 300)

	reg := prometheus.NewPedanticRegistry()
	stats := extkafka.NewStats(reg)
	log := zaptest.NewLogger(t)
	cfg := kafkatest.Config(bootstrap, 200*time.Millisecond)
	cfg.ClientID = "computer-0"
	c, err := extkafka.NewConsumer(extkafka.ConsumerConfig(cfg, kafkatest.TopicName(t, "group"), extkafka.GroupProtocolClassic, nil), log, stats)
	require.NoError(t, err)
	closed := false
	defer func() {
		if !closed {
			require.NoError(t, c.Close())
		}
	}()
	require.NoError(t, c.Subscribe(topic, nil))

	// Read partition 1 to its end and 100 records of partition 0, then
	// pause 0 so that its position stays at 100.
	read := map[int32]int{}
	var p0 kafka.TopicPartition
	for deadline := time.Now().Add(kafkatest.Timeout); read[0] < 100 || read[1] < 300; {
		require.True(t, time.Now().Before(deadline), "read %v, want 100 of partition 0 and 300 of partition 1", read)
		switch e := c.Poll(100).(type) {
		case *kafka.Message:
			tp := e.TopicPartition
			read[tp.Partition]++
			if tp.Partition == 0 && read[0] == 100 {
				p0 = tp
				require.NoError(t, c.Pause([]kafka.TopicPartition{tp}))
			}
		case *kafka.Stats:
			require.NoError(t, stats.Update(e.String()))
		}
	}
	require.Equal(t, map[int32]int{0: 100, 1: 300}, read, "nothing of partition 0 after the pause")
	p0.Offset++
	_, err = c.CommitOffsets([]kafka.TopicPartition{p0})
	require.NoError(t, err)

	// Statistics after the commit show it.
	kafkatest.Eventually(t, kafkatest.Timeout, func() bool {
		e, ok := c.Poll(100).(*kafka.Stats)
		if !ok {
			return false
		}
		require.NoError(t, stats.Update(e.String()))
		if !strings.Contains(e.String(), `"committed_offset":100,`) {
			return false
		}
		record(t, "consumer.json", e.String())
		return true
	}, "no statistics with the commit")

	lag := func(partition string) float64 {
		return testutil.ToFloat64(lagGauge(t, reg, "computer-0", topic, partition))
	}
	require.Equal(t, 500.0, lag("0"))
	require.Equal(t, 0.0, lag("1"))
	require.Equal(t, 0.0, lag("2"))
	n, err := testutil.GatherAndCount(reg, "kafka_scale_kafka_consumer_lag_records")
	require.NoError(t, err)
	require.Equal(t, 3, n, "one lag series per assigned partition, none for partition -1")
	n, err = testutil.GatherAndCount(reg, "kafka_scale_kafka_consumed_messages_total", "kafka_scale_kafka_consumer_rebalances_total", "kafka_scale_kafka_consumer_assigned_partitions")
	require.NoError(t, err)
	require.Equal(t, 3, n)

	require.NoError(t, c.Close())
	closed = true
	kafkatest.Eventually(t, 5*time.Second, func() bool {
		n, err := testutil.GatherAndCount(reg, "kafka_scale_kafka_consumer_lag_records")
		return err == nil && n == 0
	}, "lag series outlived the closed consumer")
	n, err = testutil.GatherAndCount(reg, "kafka_scale_kafka_consumed_messages_total")
	require.NoError(t, err)
	require.Equal(t, 1, n, "counters keep the closed client's total")

	// A transactional producer.
	cfg.ClientID = "computer-0"
	p, err := extkafka.NewProducer(extkafka.TransactionalProducerConfig(cfg, kafkatest.TopicName(t, "txn"), nil), log, stats)
	require.NoError(t, err)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	require.NoError(t, p.InitTransactions(ctx))
	require.NoError(t, p.BeginTransaction())
	for _, v := range values(20) {
		require.NoError(t, p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: 2}, Value: v}, nil))
	}
	require.NoError(t, p.CommitTransaction(ctx))
	kafkatest.Eventually(t, kafkatest.Timeout, func() bool {
		select {
		case ev := <-p.Events():
			e, ok := ev.(*kafka.Stats)
			if !ok || !strings.Contains(e.String(), `"txmsgs":20,`) {
				return false
			}
			require.NoError(t, stats.Update(e.String()))
			record(t, "producer-transactional.json", e.String())
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	}, "no producer statistics with the 20 records")
	require.Equal(t, 20.0, testutil.ToFloat64(counter(t, reg, "kafka_scale_kafka_produced_messages_total", "computer-0")))
	n, err = testutil.GatherAndCount(reg, "kafka_scale_kafka_producer_transaction_state")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	problems, err := testutil.CollectAndLint(stats)
	require.NoError(t, err)
	require.Empty(t, problems)
}

// lagGauge reads one lag series from reg.
func lagGauge(t *testing.T, reg *prometheus.Registry, clientID, topic, partition string) prometheus.Collector {
	return series(t, reg, "kafka_scale_kafka_consumer_lag_records", map[string]string{"client_id": clientID, "topic": topic, "partition": partition})
}

func counter(t *testing.T, reg *prometheus.Registry, name, clientID string) prometheus.Collector {
	return series(t, reg, name, map[string]string{"client_id": clientID})
}

// series is a collector of the one gathered series of name with labels,
// failing the test when there is not exactly one.
func series(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var found []float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			switch {
			case m.GetGauge() != nil:
				found = append(found, m.GetGauge().GetValue())
			case m.GetCounter() != nil:
				found = append(found, m.GetCounter().GetValue())
			}
		}
	}
	require.Len(t, found, 1, "series %s%v", name, labels)
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "value", Help: "value"}, func() float64 { return found[0] })
}
