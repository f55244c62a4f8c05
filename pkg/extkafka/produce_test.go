package extkafka

import (
	"context"
	"errors"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

type queue struct {
	full    int // answers "queue full" this many times first
	tries   int
	flushes int
	err     error
}

func (q *queue) Produce(*kafka.Message, chan kafka.Event) error {
	q.tries++
	if q.full > 0 {
		q.full--
		return kafka.NewError(kafka.ErrQueueFull, "queue full", false)
	}
	return q.err
}

// Flush is *kafka.Producer's, which Produce must not call.
func (q *queue) Flush(int) int { q.flushes++; return 0 }

func TestProduce(t *testing.T) {
	other := kafka.NewError(kafka.ErrMsgSizeTooLarge, "too large", false)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name      string
		ctx       context.Context
		q         *queue
		wantWaits int
		wantErr   error
	}{
		{name: "accepted", ctx: context.Background(), q: &queue{}},
		{name: "full, then accepted", ctx: context.Background(), q: &queue{full: 3}, wantWaits: 3},
		{name: "other errors are returned", ctx: context.Background(), q: &queue{err: other}, wantErr: other},
		{name: "full until canceled", ctx: canceled, q: &queue{full: 1000}, wantErr: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			waits, err := Produce(tc.ctx, tc.q, &kafka.Message{})
			require.Equal(t, tc.wantWaits, waits)
			require.Equal(t, tc.wantWaits+1, min(tc.q.tries, tc.wantWaits+1), "tries")
			// A flush sends lingering batches at once and returns only when
			// the whole queue is acknowledged: a producer that keeps its
			// queue full then sends small batches and stalls.
			require.Zero(t, tc.q.flushes, "flushes")
			if tc.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.True(t, errors.Is(err, tc.wantErr), "got %v", err)
			}
		})
	}
}

func TestServeProducerEvents(t *testing.T) {
	topic := "results"
	core, logs := observer.New(zap.WarnLevel)
	events := make(chan kafka.Event, 3)
	events <- kafka.NewError(kafka.ErrAllBrokersDown, "all brokers down", false)
	events <- &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Error: kafka.NewError(kafka.ErrMsgTimedOut, "timed out", false)}}
	events <- &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic}}
	close(events)
	ServeProducerEvents(events, nil, zap.New(core)) // returns once the channel is closed
	var msgs []string
	for _, e := range logs.All() {
		msgs = append(msgs, e.Message)
	}
	require.Equal(t, []string{"producer error", "message not delivered"}, msgs)
}
