package extkafka

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// fakeAdmin is a cluster of one broker (id 1) in memory. Hooks let a test
// change the answers.
type fakeAdmin struct {
	mu     sync.Mutex
	topics map[string]kafka.TopicSpecification
	log    *zap.Logger
	// describeErr, when not nil, answers the next DescribeTopics calls
	// until it returns nil.
	describeErr func() error
	// leaderless counts describes that report no leaders yet.
	leaderless int
	// createHook runs before a create and may answer instead.
	createHook func(kafka.TopicSpecification) *kafka.Error
	creates    int
	// describeOptions are the options of the last DescribeTopics call;
	// metadataCalls counts GetMetadata calls.
	describeOptions []kafka.DescribeTopicsAdminOption
	metadataCalls   int
}

func newFakeAdmin(log *zap.Logger) *fakeAdmin {
	return &fakeAdmin{topics: map[string]kafka.TopicSpecification{}, log: log}
}

func (f *fakeAdmin) Logger() *zap.Logger { return f.log }

func (f *fakeAdmin) CreateTopics(_ context.Context, specs []kafka.TopicSpecification, _ ...kafka.CreateTopicsAdminOption) ([]kafka.TopicResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var res []kafka.TopicResult
	for _, s := range specs {
		f.creates++
		if f.createHook != nil {
			if e := f.createHook(s); e != nil {
				res = append(res, kafka.TopicResult{Topic: s.Topic, Error: *e})
				continue
			}
		}
		if _, ok := f.topics[s.Topic]; ok {
			res = append(res, kafka.TopicResult{Topic: s.Topic, Error: kafka.NewError(kafka.ErrTopicAlreadyExists, "exists", false)})
			continue
		}
		f.topics[s.Topic] = s
		res = append(res, kafka.TopicResult{Topic: s.Topic})
	}
	return res, nil
}

func (f *fakeAdmin) GetMetadata(*string, bool, int) (*kafka.Metadata, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.metadataCalls++
	return &kafka.Metadata{}, nil
}

func (f *fakeAdmin) DescribeTopics(_ context.Context, tc kafka.TopicCollection, options ...kafka.DescribeTopicsAdminOption) (kafka.DescribeTopicsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describeOptions = options
	if f.describeErr != nil {
		if err := f.describeErr(); err != nil {
			return kafka.DescribeTopicsResult{}, err
		}
		f.describeErr = nil
	}
	var res kafka.DescribeTopicsResult
	for _, name := range topicNames(tc) {
		s, ok := f.topics[name]
		if !ok {
			res.TopicDescriptions = append(res.TopicDescriptions, kafka.TopicDescription{Name: name,
				Error: kafka.NewError(kafka.ErrUnknownTopicOrPart, "unknown", false)})
			continue
		}
		d := kafka.TopicDescription{Name: name}
		broker := kafka.Node{ID: 1}
		for p := range s.NumPartitions {
			info := kafka.TopicPartitionInfo{Partition: p, Replicas: []kafka.Node{broker}, Isr: []kafka.Node{broker}}
			if f.leaderless == 0 {
				info.Leader = &broker
			}
			d.Partitions = append(d.Partitions, info)
		}
		if f.leaderless > 0 {
			f.leaderless--
		}
		res.TopicDescriptions = append(res.TopicDescriptions, d)
	}
	return res, nil
}

// topicNames reads the names back out of a TopicCollection, which has no
// accessor for them.
func topicNames(tc kafka.TopicCollection) []string {
	v := reflect.ValueOf(tc).FieldByName("topicNames")
	names := make([]string, v.Len())
	for i := range names {
		names[i] = v.Index(i).String()
	}
	return names
}

func TestEnsureTopic(t *testing.T) {
	spec := TopicSpec{Name: "compute", Partitions: 12, ReplicationFactor: 1, Config: map[string]string{"retention.ms": "86400000"}}
	ctx := context.Background()

	t.Run("creates a missing topic", func(t *testing.T) {
		f := newFakeAdmin(zap.NewNop())
		f.leaderless = 2 // leaders come a moment after the creation
		created, err := EnsureTopic(ctx, f, spec)
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, kafka.TopicSpecification{Topic: "compute", NumPartitions: 12, ReplicationFactor: 1,
			Config: map[string]string{"retention.ms": "86400000"}}, f.topics["compute"])
		require.Zero(t, f.leaderless, "waited for the leaders")

		created, err = EnsureTopic(ctx, f, spec)
		require.NoError(t, err)
		require.False(t, created, "second call is a no-op")
		require.Equal(t, 1, f.creates)
	})

	t.Run("loses the race to another replica", func(t *testing.T) {
		f := newFakeAdmin(zap.NewNop())
		f.createHook = func(s kafka.TopicSpecification) *kafka.Error {
			f.topics[s.Topic] = s // the other replica's
			e := kafka.NewError(kafka.ErrTopicAlreadyExists, "Topic 'compute' already exists.", false)
			return &e
		}
		created, err := EnsureTopic(ctx, f, spec)
		require.NoError(t, err)
		require.False(t, created)
	})

	t.Run("warns about fewer partitions and leaves them", func(t *testing.T) {
		core, logs := observer.New(zapcore.InfoLevel)
		f := newFakeAdmin(zap.New(core))
		f.topics["compute"] = kafka.TopicSpecification{Topic: "compute", NumPartitions: 6, ReplicationFactor: 1}
		created, err := EnsureTopic(ctx, f, spec)
		require.NoError(t, err)
		require.False(t, created)
		warn := logs.FilterLevelExact(zapcore.WarnLevel).All()
		require.Len(t, warn, 1)
		require.Equal(t, map[string]any{"topic": "compute", "partitions": int64(6), "configured_partitions": int64(12)}, warn[0].ContextMap())
		require.Equal(t, 6, f.topics["compute"].NumPartitions)
		require.Zero(t, f.creates)
	})

	t.Run("retries while the broker is not up", func(t *testing.T) {
		f := newFakeAdmin(zap.NewNop())
		failures := 3
		f.describeErr = func() error {
			if failures == 0 {
				return nil
			}
			failures--
			return kafka.NewError(kafka.ErrTransport, "Connection refused", false)
		}
		created, err := EnsureTopic(ctx, f, spec)
		require.NoError(t, err)
		require.True(t, created)
	})

	t.Run("bounds each describe and refreshes metadata after a timeout", func(t *testing.T) {
		// A broker that has just died can still be named as the one to
		// send the describe to: the attempt times out, and the next one
		// must go elsewhere.
		f := newFakeAdmin(zap.NewNop())
		failures := 2
		f.describeErr = func() error {
			if failures == 0 {
				return nil
			}
			failures--
			return kafka.NewError(kafka.ErrTimedOut, "Failed while waiting for controller: Local: Timed out", false)
		}
		created, err := EnsureTopic(ctx, f, spec)
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, 2, f.metadataCalls, "one metadata refresh per timed-out describe")
		require.Contains(t, f.describeOptions, kafka.DescribeTopicsAdminOption(kafka.SetAdminRequestTimeout(describeTimeout)))
	})

	t.Run("gives up when the context ends", func(t *testing.T) {
		f := newFakeAdmin(zap.NewNop())
		f.describeErr = func() error { return kafka.NewError(kafka.ErrAllBrokersDown, "all brokers down", false) }
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := EnsureTopic(ctx, f, spec)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorContains(t, err, `ensure topic "compute"`)
		require.ErrorContains(t, err, "all brokers down")
	})

	t.Run("fails on a broker's refusal", func(t *testing.T) {
		f := newFakeAdmin(zap.NewNop())
		f.createHook = func(kafka.TopicSpecification) *kafka.Error {
			e := kafka.NewError(kafka.ErrInvalidReplicationFactor, "Unable to replicate the partition 3 time(s)", false)
			return &e
		}
		_, err := EnsureTopic(ctx, f, TopicSpec{Name: "compute", Partitions: 1, ReplicationFactor: 3})
		require.ErrorContains(t, err, `ensure topic "compute": create topic: Unable to replicate the partition 3 time(s)`)
		require.Equal(t, 1, f.creates, "not retried")
	})
}

func TestTopicSpecValidation(t *testing.T) {
	f := newFakeAdmin(zap.NewNop())
	for _, tc := range []struct {
		spec    TopicSpec
		wantErr string
	}{
		{TopicSpec{Name: "compute", Partitions: 0, ReplicationFactor: 1}, `topic "compute": partitions 0: want at least 1`},
		{TopicSpec{Name: "compute", Partitions: 3, ReplicationFactor: 0}, `topic "compute": replication factor 0: want at least 1, or -1 for the broker's default`},
		{TopicSpec{Name: "compute", Partitions: 3, ReplicationFactor: -2}, `topic "compute": replication factor -2: want at least 1`},
		{TopicSpec{Name: "", Partitions: 3, ReplicationFactor: 1}, `topic name "": want 1-249 of a-z A-Z 0-9 . _ -`},
		{TopicSpec{Name: "results/v2", Partitions: 3, ReplicationFactor: 1}, `topic name "results/v2"`},
		{TopicSpec{Name: "..", Partitions: 3, ReplicationFactor: 1}, `topic name ".."`},
	} {
		_, err := EnsureTopic(context.Background(), f, tc.spec)
		require.ErrorContains(t, err, tc.wantErr)
	}
	require.Zero(t, f.creates)
}

func TestDescribeTopic(t *testing.T) {
	f := newFakeAdmin(zap.NewNop())
	_, err := DescribeTopic(context.Background(), f, "results")
	require.ErrorIs(t, err, ErrTopicNotFound)
	f.topics["results"] = kafka.TopicSpecification{Topic: "results", NumPartitions: 2}
	f.leaderless = 1
	info, err := DescribeTopic(context.Background(), f, "results")
	require.NoError(t, err)
	require.Equal(t, TopicInfo{Name: "results", Partitions: []PartitionInfo{
		{ID: 0, Leader: -1, Replicas: []int{1}, ISR: []int{1}},
		{ID: 1, Leader: -1, Replicas: []int{1}, ISR: []int{1}},
	}}, info)
	require.Equal(t, 2, info.Leaderless())
}
