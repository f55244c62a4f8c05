package extkafka

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

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
			waits, err := Produce(tc.ctx, tc.q, &kafka.Message{}, nil)
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

// TestProduceWaitsForRoom: a full queue is tried again as soon as room is
// signalled, and after queueFullWait without a signal (in a synctest
// bubble, whose clock moves only when every goroutine waits).
func TestProduceWaitsForRoom(t *testing.T) {
	// Channels are made in the bubble: only a wait on those is durable.
	for _, tc := range []struct {
		name string
		room func() <-chan struct{}
		want time.Duration
	}{
		{name: "signalled", room: func() <-chan struct{} { c := make(chan struct{}); close(c); return c }, want: 0},
		{name: "no room channel", room: func() <-chan struct{} { return nil }, want: 3 * queueFullWait},
		{name: "never signalled", room: func() <-chan struct{} { return make(chan struct{}) }, want: 3 * queueFullWait},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := &queue{full: 3}
				start := time.Now()
				waits, err := Produce(context.Background(), q, &kafka.Message{}, tc.room())
				require.NoError(t, err)
				require.Equal(t, 3, waits)
				require.Equal(t, tc.want, time.Since(start))
			})
		})
	}
}

func TestRoom(t *testing.T) {
	r := NewRoom()
	r.Signal()
	r.Signal() // never blocks
	<-r.C()
	select {
	case <-r.C():
		t.Fatal("two signals kept: one is enough")
	default:
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
