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

func TestNotAuthorized(t *testing.T) {
	needs := Needs{
		ResourceTopic:           {Name: "compute", Operations: []string{"Read", "Describe"}},
		ResourceGroup:           {Name: "computer", Operations: []string{"Read"}},
		ResourceTransactionalID: {Name: "computer-0", Operations: []string{"Describe", "Write"}},
	}
	for _, tc := range []struct {
		name string
		err  error
		want string // the message, or "" for err unchanged
	}{
		{name: "topic", err: kafka.NewError(kafka.ErrTopicAuthorizationFailed, "Broker: Topic authorization failed", false),
			want: `not authorized on topic "compute" (TOPIC_AUTHORIZATION_FAILED): the Kafka user needs an ACL allowing Read, Describe on topic "compute": Broker: Topic authorization failed`},
		{name: "group, wrapped", err: fmt.Errorf("commit: %w", kafka.NewError(kafka.ErrGroupAuthorizationFailed, "Broker: Group authorization failed", false)),
			want: `not authorized on group "computer" (GROUP_AUTHORIZATION_FAILED): the Kafka user needs an ACL allowing Read on group "computer": commit: Broker: Group authorization failed`},
		{name: "transactional id", err: kafka.NewError(kafka.ErrTransactionalIDAuthorizationFailed, "x", true),
			want: `not authorized on transactionalId "computer-0" (TRANSACTIONAL_ID_AUTHORIZATION_FAILED): the Kafka user needs an ACL allowing Describe, Write on transactionalId "computer-0": Fatal error: x`},
		{name: "cluster, not in needs", err: kafka.NewError(kafka.ErrClusterAuthorizationFailed, "x", false)},
		{name: "not an authorization failure", err: kafka.NewError(kafka.ErrTimedOut, "x", false)},
		{name: "not Kafka's", err: errors.New("disk full")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := needs.Explain(tc.err)
			var nae *NotAuthorizedError
			if tc.want == "" {
				require.Equal(t, tc.err, got)
				require.False(t, errors.As(got, &nae))
				return
			}
			require.ErrorAs(t, got, &nae)
			require.EqualError(t, got, tc.want)
			require.ErrorIs(t, got, tc.err, "the cause stays in the chain")
			require.False(t, IsRetriable(got), "an authorization failure is not retried")
		})
	}
}
