package extkafka

import (
	"context"
	"errors"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Producer is the part of *kafka.Producer that Produce uses.
type Producer interface {
	Produce(msg *kafka.Message, deliveryChan chan kafka.Event) error
	Flush(timeoutMs int) int
}

// Produce hands msg to p. While librdkafka's queue is full it serves the
// queue with Flush and tries again, until ctx is done; waits is how many
// times it had to. librdkafka copies the message, so the caller may reuse
// its buffers when Produce returns.
func Produce(ctx context.Context, p Producer, msg *kafka.Message) (waits int, err error) {
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
		p.Flush(100)
	}
}
