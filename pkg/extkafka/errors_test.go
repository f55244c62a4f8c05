package extkafka

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
)

func TestErrorClassification(t *testing.T) {
	fatal := kafka.NewError(kafka.ErrFenced, "producer fenced", true)
	timedOut := kafka.NewError(kafka.ErrTimedOut, "", false)
	for _, tc := range []struct {
		name                            string
		err                             error
		retriable, abort, isFatal, tout bool
	}{
		{name: "nil", err: nil},
		{name: "not Kafka's", err: errors.New("disk full")},
		{name: "fatal", err: fatal, isFatal: true},
		{name: "fatal, wrapped", err: fmt.Errorf("commit transaction: %w", fatal), isFatal: true},
		{name: "fatal, as a pointer", err: fmt.Errorf("x: %w", &fatal), isFatal: true},
		{name: "fatal transient code is not retriable", err: kafka.NewError(kafka.ErrTimedOut, "", true), isFatal: true, tout: true},
		{name: "local timeout", err: timedOut, retriable: true, tout: true},
		{name: "local timeout, joined", err: errors.Join(errors.New("other"), timedOut), retriable: true, tout: true},
		{name: "message timed out", err: kafka.NewError(kafka.ErrMsgTimedOut, "", false), tout: true},
		{name: "broker request timed out", err: kafka.NewError(kafka.ErrRequestTimedOut, "", false), retriable: true, tout: true},
		{name: "coordinator moving", err: kafka.NewError(kafka.ErrNotCoordinator, "", false), retriable: true},
		{name: "all brokers down", err: kafka.NewError(kafka.ErrAllBrokersDown, "", false), retriable: true},
		{name: "topic exists", err: kafka.NewError(kafka.ErrTopicAlreadyExists, "", false)},
		{name: "authorization", err: kafka.NewError(kafka.ErrTopicAuthorizationFailed, "", false)},
		{name: "context deadline", err: fmt.Errorf("ensure topic: %w", context.DeadlineExceeded), tout: true},
		{name: "context canceled", err: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.retriable, IsRetriable(tc.err), "IsRetriable")
			require.Equal(t, tc.abort, TxnRequiresAbort(tc.err), "TxnRequiresAbort")
			require.Equal(t, tc.isFatal, IsFatal(tc.err), "IsFatal")
			require.Equal(t, tc.tout, IsTimeout(tc.err), "IsTimeout")
		})
	}
}
