package extkafka

import (
	"context"
	"errors"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/zap"
)

// Producer is the part of *kafka.Producer that Produce uses.
type Producer interface {
	Produce(msg *kafka.Message, deliveryChan chan kafka.Event) error
}

// Produce hands msg to p. While librdkafka's queue is full it waits for
// room, a receive from room (nil: none) or queueFullWait, whichever comes
// first, and tries again, until ctx is done; waits is how many times it
// had to. A caller that reads p's delivery reports signals room on each
// (Room); librdkafka copies the message, so the caller may reuse its
// buffers when Produce returns.
func Produce(ctx context.Context, p Producer, msg *kafka.Message, room <-chan struct{}) (waits int, err error) {
	var timer *time.Timer
	for {
		err := p.Produce(msg, nil)
		var kerr kafka.Error
		if !errors.As(err, &kerr) || kerr.Code() != kafka.ErrQueueFull {
			return waits, err
		}
		if ctx.Err() != nil {
			return waits, ctx.Err()
		}
		waits++
		if timer == nil {
			timer = time.NewTimer(queueFullWait)
			defer timer.Stop()
		} else {
			timer.Reset(queueFullWait)
		}
		select {
		case <-ctx.Done():
			return waits, ctx.Err()
		case <-room:
		case <-timer.C:
		}
	}
}

// queueFullWait is the longest Produce waits for room in a full queue,
// which the client's own goroutine drains as the brokers acknowledge.
//
// Produce waits rather than flushing: a flush sends every lingering batch
// at once and returns only when the queue is empty or its time is up, so
// a producer that keeps its queue full (the reader, which cuts chunks
// faster than the brokers take them) sent small batches and, at a 100 ms
// flush, waited for its whole queue each time, the pipeline idle
// meanwhile. A fixed wait alone is either long (the reader alone loaded
// 3 months in a median 1.33 s retrying every 5 ms, 0.78 s every 1 ms) or
// a busy retry while the brokers are slow: a producer whose queue fills in
// the normal course passes a room channel, signalled by its delivery
// reports, and this is only the fallback (bench/README.md).
const queueFullWait = 10 * time.Millisecond

// Room is a signal that a producer's queue has room: Signal it on each
// delivery report, and hand C to Produce.
type Room struct{ c chan struct{} }

// NewRoom returns a Room.
func NewRoom() *Room { return &Room{c: make(chan struct{}, 1)} }

// Signal says that a message left the queue. It never blocks: one signal
// waits for the next Produce.
func (r *Room) Signal() {
	select {
	case r.c <- struct{}{}:
	default:
	}
}

// C is what Produce waits on.
func (r *Room) C() <-chan struct{} { return r.c }

// TransactionalEvents are the settings of a transactional producer whose
// events ServeProducerEvents serves: no report per message, since a failed
// delivery fails the transaction's commit, and a small events channel. The
// default buffer, a million events, is 16 MB that Go counts as live heap,
// so that the heap grows to twice that before it is collected.
func TransactionalEvents() kafka.ConfigMap {
	return kafka.ConfigMap{"go.delivery.reports": false, "go.events.channel.size": 1000}
}

// ServeProducer serves p's events channel with ServeProducerEvents until
// p is closed. The function it returns closes p and waits until its last
// events are handled.
func ServeProducer(p *kafka.Producer, stats *Stats, log *zap.Logger) (closeProducer func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		ServeProducerEvents(p.Events(), stats, log)
	}()
	return func() {
		p.Close() // closes its events channel
		<-done
	}
}

// ServeProducerEvents handles what a producer reports on its events
// channel until the channel is closed: statistics go to stats (which may
// be nil), errors and failed deliveries to the log. A producer's channel
// must be served: unserved, it keeps statistics, errors and delivery
// reports in memory until it is full, and then stops the producer's
// event loop.
func ServeProducerEvents(events <-chan kafka.Event, stats *Stats, log *zap.Logger) {
	for ev := range events {
		switch e := ev.(type) {
		case *kafka.Stats:
			if stats != nil {
				if err := stats.Update(e.String()); err != nil {
					log.Warn("librdkafka statistics", zap.Error(err))
				}
			}
		case kafka.Error:
			log.Warn("producer error", zap.Error(e), zap.Bool("fatal", e.IsFatal()))
		case *kafka.Message:
			if e.TopicPartition.Error != nil {
				log.Warn("message not delivered", zap.Error(e.TopicPartition.Error))
			}
		}
	}
}
