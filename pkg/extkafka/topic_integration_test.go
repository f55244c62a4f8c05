//go:build integration

package extkafka_test

import (
	"context"
	"sync"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/kafkatest"
)

func TestIntegrationEnsureTopic(t *testing.T) {
	verifyNoLeaks(t)
	bootstrap := kafkatest.Bootstrap(t)
	core, logs := observer.New(zapcore.InfoLevel)
	a, err := extkafka.NewAdmin(extkafka.AdminConfig(kafkatest.Config(bootstrap, 0)), zap.New(core))
	require.NoError(t, err)
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()

	spec := extkafka.TopicSpec{Name: kafkatest.TopicName(t, ""), Partitions: 3, ReplicationFactor: 1,
		Config: map[string]string{"retention.ms": "3600000", "cleanup.policy": "delete"}}
	created, err := extkafka.EnsureTopic(ctx, a, spec)
	require.NoError(t, err)
	require.True(t, created)
	defer kafkatest.DeleteTopic(t, a, spec.Name)

	info, err := extkafka.DescribeTopic(ctx, a, spec.Name)
	require.NoError(t, err)
	require.Len(t, info.Partitions, 3)
	require.Zero(t, info.Leaderless())
	for _, p := range info.Partitions {
		require.Equal(t, []int{p.Leader}, p.Replicas)
		require.Equal(t, p.Replicas, p.ISR)
	}
	cfgs, err := a.DescribeConfigs(ctx, []kafka.ConfigResource{{Type: kafka.ResourceTopic, Name: spec.Name}})
	require.NoError(t, err)
	require.Equal(t, "3600000", cfgs[0].Config["retention.ms"].Value)

	created, err = extkafka.EnsureTopic(ctx, a, spec)
	require.NoError(t, err)
	require.False(t, created, "second call is a no-op")

	more := spec
	more.Partitions = 6
	created, err = extkafka.EnsureTopic(ctx, a, more)
	require.NoError(t, err)
	require.False(t, created)
	warn := logs.FilterLevelExact(zapcore.WarnLevel).FilterField(zap.String("topic", spec.Name)).All()
	require.Len(t, warn, 1)
	require.EqualValues(t, 3, warn[0].ContextMap()["partitions"])
	info, err = extkafka.DescribeTopic(ctx, a, spec.Name)
	require.NoError(t, err)
	require.Len(t, info.Partitions, 3, "never changed")

	_, err = extkafka.DescribeTopic(ctx, a, kafkatest.TopicName(t, "missing"))
	require.ErrorIs(t, err, extkafka.ErrTopicNotFound)

	_, err = extkafka.EnsureTopic(ctx, a, extkafka.TopicSpec{Name: kafkatest.TopicName(t, "rf"), Partitions: 1, ReplicationFactor: 3})
	require.ErrorContains(t, err, "eplication factor", "three replicas on a one-broker cluster")
}

func TestIntegrationEnsureTopicConcurrently(t *testing.T) {
	verifyNoLeaks(t)
	bootstrap := kafkatest.Bootstrap(t)
	name := kafkatest.TopicName(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()

	// Replicas starting at once, each with its own client.
	const replicas = 5
	var wg sync.WaitGroup
	created := make([]bool, replicas)
	errs := make([]error, replicas)
	for i := range replicas {
		a := kafkatest.Admin(t, bootstrap)
		wg.Go(func() {
			created[i], errs[i] = extkafka.EnsureTopic(ctx, a, extkafka.TopicSpec{Name: name, Partitions: 2, ReplicationFactor: 1})
		})
	}
	wg.Wait()
	a := kafkatest.Admin(t, bootstrap)
	defer kafkatest.DeleteTopic(t, a, name)
	n := 0
	for i := range replicas {
		require.NoError(t, errs[i], "replica %d", i)
		if created[i] {
			n++
		}
	}
	require.Equal(t, 1, n, "exactly one replica created the topic")
	info, err := extkafka.DescribeTopic(ctx, a, name)
	require.NoError(t, err)
	require.Len(t, info.Partitions, 2)
}
