package extkafka

import (
	"context"
	"errors"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// kafkaError finds a kafka.Error in err's chain, as a value or a pointer.
func kafkaError(err error) (kafka.Error, bool) {
	var ke kafka.Error
	if errors.As(err, &ke) {
		return ke, true
	}
	var pke *kafka.Error
	if errors.As(err, &pke) && pke != nil {
		return *pke, true
	}
	return kafka.Error{}, false
}

// transient are error codes after which the same request may well succeed:
// the cluster is moving leaders or coordinators, or a broker is briefly
// unreachable. librdkafka retries most of them itself; they reach the
// program when its own timeouts are shorter.
var transient = map[kafka.ErrorCode]bool{
	kafka.ErrTimedOut:                     true,
	kafka.ErrTimedOutQueue:                true,
	kafka.ErrTransport:                    true,
	kafka.ErrAllBrokersDown:               true,
	kafka.ErrRequestTimedOut:              true,
	kafka.ErrLeaderNotAvailable:           true,
	kafka.ErrNotLeaderForPartition:        true,
	kafka.ErrNotCoordinator:               true,
	kafka.ErrCoordinatorNotAvailable:      true,
	kafka.ErrCoordinatorLoadInProgress:    true,
	kafka.ErrNotEnoughReplicas:            true,
	kafka.ErrNotEnoughReplicasAfterAppend: true,
	kafka.ErrNetworkException:             true,
	kafka.ErrConcurrentTransactions:       true,
}

// IsRetriable reports whether the operation that failed with err may be
// tried again as it is: librdkafka says so (the transactional API marks its
// retriable errors), or the error is a transient cluster condition. Fatal
// errors and errors that need the transaction aborted first are never
// retriable.
func IsRetriable(err error) bool {
	ke, ok := kafkaError(err)
	if !ok || ke.IsFatal() || ke.TxnRequiresAbort() {
		return false
	}
	return ke.IsRetriable() || transient[ke.Code()]
}

// TxnRequiresAbort reports whether err needs the current transaction
// aborted (AbortTransaction) before a new one can begin.
func TxnRequiresAbort(err error) bool {
	ke, ok := kafkaError(err)
	return ok && ke.TxnRequiresAbort()
}

// IsFatal reports whether err leaves the client unusable: the program must
// close it and create a new one (a fenced transactional producer, an
// idempotent producer's broken sequence).
func IsFatal(err error) bool {
	ke, ok := kafkaError(err)
	return ok && ke.IsFatal()
}

// IsTimeout reports whether err is a timeout: of a local operation, of a
// request on the broker, of a message's delivery, or of a context.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	ke, ok := kafkaError(err)
	if !ok {
		return false
	}
	switch ke.Code() {
	case kafka.ErrTimedOut, kafka.ErrTimedOutQueue, kafka.ErrMsgTimedOut, kafka.ErrRequestTimedOut:
		return true
	}
	return false
}
