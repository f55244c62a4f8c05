// Package worker runs the computer's consume-transform-produce loop in Kafka
// transactions: chunks consumed from the compute topic are turned into
// partial aggregates produced to the results topic, and the consumed offsets
// are committed in the same transaction (SendOffsetsToTransaction), so each
// chunk is counted exactly once whatever happens to the process.
//
// Several chunks share a transaction, up to a count or an age, or until the
// member has caught up. On a
// cooperative rebalance the open transaction is committed before partitions
// are given up; when the assignment is lost it is aborted. A commit refused
// for a reason the transaction survives (the group moved to a new
// generation while it was open, which happens at every rebalance of the
// classic protocol) aborts it and produces its results again in a new one,
// from memory, keeping the consumer where it is. Any other abort rewinds
// the consumer to the committed offsets, so nothing is skipped.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/httpserver"
	"github.com/kafka-scale/kafka-scale/pkg/lagtime"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
)

// Output is one message to produce to the results topic.
type Output struct {
	Key, Value []byte
	Headers    []kafka.Header
}

// Processor turns one consumed message into the messages to produce. An
// error means the message cannot be processed at all (not one bad record:
// those are counted inside the output); the message is then skipped and
// counted, never retried forever.
type Processor interface {
	Process(msg *kafka.Message) ([]Output, error)
}

// Config tunes the loop.
type Config struct {
	ComputeTopic string
	ResultsTopic string
	// Group and TransactionalID name the consumer group and the producer's
	// transactional id in the errors of a refusal for want of an ACL.
	Group           string
	TransactionalID string
	// A transaction is committed once it holds BatchChunks chunks or is
	// BatchAge old, whichever comes first.
	BatchChunks int
	BatchAge    time.Duration
	// OpTimeout bounds transactional operations (init, commit, abort).
	OpTimeout time.Duration
	// ProcessingLog, when not nil, gets one line per chunk processed: the
	// Unix time in nanoseconds when its processing ended. The gaps between
	// lines show how long the loop stood still, during a rebalance for
	// example. Lines are kept in memory and written when the transaction
	// ends, so the loop makes no system call per chunk for them.
	ProcessingLog io.Writer
}

// Consumer is the part of *kafka.Consumer the worker uses.
type Consumer interface {
	SubscribeTopics(topics []string, cb kafka.RebalanceCb) error
	Poll(timeoutMs int) kafka.Event
	Assignment() ([]kafka.TopicPartition, error)
	AssignmentLost() bool
	Committed(partitions []kafka.TopicPartition, timeoutMs int) ([]kafka.TopicPartition, error)
	Seek(partition kafka.TopicPartition, ignoredTimeoutMs int) error
	GetConsumerGroupMetadata() (*kafka.ConsumerGroupMetadata, error)
	GetWatermarkOffsets(topic string, partition int32) (low, high int64, err error)
	QueryWatermarkOffsets(topic string, partition int32, timeoutMs int) (low, high int64, err error)
	Position(partitions []kafka.TopicPartition) ([]kafka.TopicPartition, error)
	// The rebalance callback assigns and unassigns itself, to see the
	// errors: those of the library's own calls are lost.
	GetRebalanceProtocol() string
	Assign(partitions []kafka.TopicPartition) error
	IncrementalAssign(partitions []kafka.TopicPartition) error
	Unassign() error
	IncrementalUnassign(partitions []kafka.TopicPartition) error
	Close() error
}

// Producer is the part of *kafka.Producer the worker uses.
type Producer interface {
	InitTransactions(ctx context.Context) error
	BeginTransaction() error
	Produce(msg *kafka.Message, deliveryChan chan kafka.Event) error
	SendOffsetsToTransaction(ctx context.Context, offsets []kafka.TopicPartition, md *kafka.ConsumerGroupMetadata) error
	CommitTransaction(ctx context.Context) error
	AbortTransaction(ctx context.Context) error
	Flush(timeoutMs int) int
}

// Worker is one computer's loop.
type Worker struct {
	cfg      Config
	consumer Consumer
	producer Producer
	proc     Processor
	log      *zap.Logger
	m        *Metrics
	stats    *extkafka.Stats
	probe    *httpserver.Probe
	lag      *lagtime.Lag
	lagAt    time.Time

	inTxn     bool
	txnStart  time.Time
	txnChunks int
	txnOuts   int
	outputs   []Output                              // produced in the open transaction, for a replay
	replays   int                                   // replays since the last commit
	commitAt  time.Time                             // no commit before this, after a replay
	wake      bool                                  // a rebalance paused the fetchers: wake them
	waking    sync.WaitGroup                        // wake requests in flight, waited for before Close
	offsets   map[partitionKey]kafka.TopicPartition // next offset to consume, per partition in the open transaction
	assigned  int
	plog      []byte    // processing log lines not yet written
	plogOut   io.Writer // cfg.ProcessingLog, nil once a write failed
	// rebalanceErr is what the rebalance callback failed to do; the loop
	// returns it (confluent-kafka-go ignores the callback's return).
	rebalanceErr error
}

type partitionKey struct {
	topic     string
	partition int32
}

// LagInterval is how often the worker samples its partitions' log end
// offsets and positions for the lag metrics.
const LagInterval = time.Second

// New returns a worker. probe is set ready once partitions are assigned;
// lag, when not nil, is fed the assigned partitions' log end offsets and
// positions every LagInterval.
func New(cfg Config, c Consumer, p Producer, proc Processor, log *zap.Logger, m *Metrics, stats *extkafka.Stats, probe *httpserver.Probe, lag *lagtime.Lag) *Worker {
	// Every reason's series exists from the start, at 0, so that rates
	// and alerts on them see the first invalid message.
	for _, reason := range schema.Reasons() {
		m.InvalidMessages.WithLabelValues(cfg.ComputeTopic, reason)
	}
	return &Worker{cfg: cfg, consumer: c, producer: p, proc: proc, log: log, m: m, stats: stats, probe: probe, lag: lag,
		offsets: map[partitionKey]kafka.TopicPartition{}, plogOut: cfg.ProcessingLog}
}

// Run consumes until ctx is done or a fatal error occurs. On the way out it
// commits the open transaction (or aborts it when that fails) and leaves the
// group cleanly. It closes the consumer, on every path but ErrStuck's.
func (w *Worker) Run(ctx context.Context) (err error) {
	ictx, cancel := context.WithTimeout(context.Background(), w.cfg.OpTimeout)
	err = w.producer.InitTransactions(ictx)
	cancel()
	if err != nil {
		return errors.Join(fmt.Errorf("init transactions: %w",
			extkafka.NotAuthorized(err, extkafka.ResourceTransactionalID, w.cfg.TransactionalID, "Describe", "Write")), w.closeConsumer())
	}
	if err := w.consumer.SubscribeTopics([]string{w.cfg.ComputeTopic}, w.rebalance); err != nil {
		return errors.Join(fmt.Errorf("subscribe to %s: %w", w.cfg.ComputeTopic, err), w.closeConsumer())
	}
	defer func() {
		if errors.Is(err, ErrStuck) {
			// librdkafka is wedged: a commit or a Close would wait on it
			// too. The process must exit; the next computer with this
			// transactional id aborts the open transaction.
			return
		}
		if w.inTxn {
			if cerr := w.commit("shutdown"); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
		w.writeProcessingLog()
		w.waking.Wait()
		// Close leaves the group; with cooperative rebalancing the others
		// keep their partitions and take over ours. It runs the rebalance
		// callback for the partitions it gives up.
		if cerr := w.closeConsumer(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		if rerr := w.takeRebalanceErr(); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	for ctx.Err() == nil {
		if err := w.step(); err != nil {
			return err
		}
	}
	return nil
}

func (w *Worker) closeConsumer() error {
	if err := w.consumer.Close(); err != nil {
		return fmt.Errorf("close consumer: %w", err)
	}
	return nil
}

// step polls once and commits the transaction when it is due.
func (w *Worker) step() error {
	ev := w.consumer.Poll(100)
	if err := w.takeRebalanceErr(); err != nil {
		return err
	}
	if w.wake {
		w.wake = false
		w.wakeFetcher()
	}
	if w.assigned == 0 {
		w.wakeGroup()
	}
	switch e := ev.(type) {
	case *kafka.Message:
		if err := w.handle(e); err != nil {
			return err
		}
	case kafka.Error:
		if e.IsFatal() {
			return fmt.Errorf("consumer: fatal error: %w", e)
		}
		// A refusal for want of an ACL lasts until an operator acts:
		// the service stops, saying which ACL it lacks.
		if _, ok := extkafka.AuthorizationResource(e); ok {
			return fmt.Errorf("consumer of %s: %w", w.cfg.ComputeTopic, extkafka.Needs{
				extkafka.ResourceTopic: {Name: w.cfg.ComputeTopic, Operations: []string{"Read", "Describe"}},
				extkafka.ResourceGroup: {Name: w.cfg.Group, Operations: []string{"Read"}},
			}.Explain(e))
		}
		w.log.Warn("consumer error", zap.Error(e))
	case *kafka.Stats:
		if w.stats != nil {
			if err := w.stats.Update(e.String()); err != nil {
				w.log.Warn("librdkafka statistics", zap.Error(err))
			}
		}
	}
	// A transaction is due when full, when old, or when a poll came back
	// empty: the member has caught up, and its results should not wait for
	// the batch age (at the end of a load that wait was most of the time
	// from the last chunk read to its results being visible).
	due := w.txnChunks >= w.cfg.BatchChunks || time.Since(w.txnStart) >= w.cfg.BatchAge || ev == nil
	if w.inTxn && due && !time.Now().Before(w.commitAt) {
		if err := w.commit("batch"); err != nil {
			return err
		}
	}
	if w.lag != nil && time.Since(w.lagAt) >= LagInterval {
		w.lagAt = time.Now()
		w.sampleLag()
	}
	return nil
}

// wakeFetcher asks the leader of an assigned partition for its offsets, in
// the background. librdkafka pauses every fetcher while the application
// handles a rebalance and resumes them without waking the broker thread,
// which then sleeps up to a second before it fetches again (seen in its
// fetch debug log, and as one-second pauses in make bench's rebalance
// runs); a request to that broker wakes it at once.
func (w *Worker) wakeFetcher() {
	assigned, err := w.consumer.Assignment()
	if err != nil || len(assigned) == 0 {
		return
	}
	tp := assigned[0]
	w.waking.Go(func() { _, _, _ = w.consumer.QueryWatermarkOffsets(*tp.Topic, tp.Partition, wakeTimeoutMs) })
}

// wakeGroup runs librdkafka's group state machine now. librdkafka sends a
// heartbeat, or a JoinGroup a rebalance asked for, only when its main
// thread wakes: for a request of the application's or a broker's answer,
// else on a timer up to a second later. A member with partitions makes such
// requests all the time (commits ask for the group metadata); one waiting
// for its first partitions makes none, and in make bench a new computer's
// heartbeats went out 0.3 to 0.5 s apart instead of every 250 ms, and its
// rejoin for the second round of a cooperative rebalance up to a second
// late. Asking for the assignment is such a request, served by that thread
// in microseconds: the worker makes it after every poll (at most ten a
// second) while it holds no partition.
func (w *Worker) wakeGroup() { _, _ = w.consumer.Assignment() }

// wakeTimeoutMs bounds a wake request, which the shutdown waits for.
const wakeTimeoutMs = 2000

// sampleLag feeds the lag tracker the log end offset librdkafka last saw
// for each assigned partition and this member's position in it. The
// compute topic is written without transactions, so a drained partition's
// position equals its log end and the lag reaches 0.
func (w *Worker) sampleLag() {
	assigned, err := w.consumer.Assignment()
	if err != nil || len(assigned) == 0 {
		return
	}
	positions, err := w.consumer.Position(assigned)
	if err != nil {
		return
	}
	for _, tp := range positions {
		_, high, err := w.consumer.GetWatermarkOffsets(*tp.Topic, tp.Partition)
		if err != nil || high < 0 || tp.Offset < 0 {
			continue // nothing fetched yet
		}
		w.lag.Observe(*tp.Topic, tp.Partition, high, int64(tp.Offset))
	}
}

func (w *Worker) handle(msg *kafka.Message) error {
	w.m.MessagesRead.Inc()
	if !w.inTxn {
		if err := w.producer.BeginTransaction(); err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		w.inTxn, w.txnStart, w.txnChunks, w.txnOuts = true, time.Now(), 0, 0
		w.outputs = w.outputs[:0]
	}
	start := time.Now()
	outs, perr := w.proc.Process(msg)
	end := time.Now()
	w.m.ChunkSeconds.Observe(end.Sub(start).Seconds())
	if perr != nil {
		// The message is unusable as a whole (undecodable, newer schema): it
		// is counted and its offset committed, so it cannot wedge the
		// partition. Its records, if any, are reported by the processor.
		reason := schema.Reason(perr)
		w.m.InvalidMessages.WithLabelValues(*msg.TopicPartition.Topic, reason).Inc()
		w.log.Error("skipping invalid message", zap.String("topic", *msg.TopicPartition.Topic),
			zap.Int32("partition", msg.TopicPartition.Partition), zap.Int64("offset", int64(msg.TopicPartition.Offset)),
			zap.String("reason", reason), zap.Error(perr))
	}
	for _, o := range outs {
		if err := w.produce(o); err != nil {
			return w.abort(fmt.Errorf("produce result: %w", err))
		}
		w.outputs = append(w.outputs, o)
	}
	tp := msg.TopicPartition
	w.offsets[partitionKey{*tp.Topic, tp.Partition}] = kafka.TopicPartition{Topic: tp.Topic, Partition: tp.Partition, Offset: tp.Offset + 1}
	w.txnChunks++
	w.txnOuts += len(outs)
	if w.plogOut != nil {
		w.plog = strconv.AppendInt(w.plog, end.UnixNano(), 10)
		w.plog = append(w.plog, '\n')
	}
	return nil
}

func (w *Worker) produce(o Output) error {
	_, err := extkafka.Produce(context.Background(), w.producer, &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &w.cfg.ResultsTopic, Partition: kafka.PartitionAny},
		Key:            o.Key, Value: o.Value, Headers: o.Headers,
	}, nil)
	return err
}

// commit sends the transaction's offsets and commits it. A failure that
// needs an abort aborts and rewinds; a fatal one is returned.
func (w *Worker) commit(why string) error {
	if !w.inTxn {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.OpTimeout)
	defer cancel()
	offsets := make([]kafka.TopicPartition, 0, len(w.offsets))
	for _, tp := range w.offsets {
		offsets = append(offsets, tp)
	}
	if len(offsets) > 0 {
		md, err := w.consumer.GetConsumerGroupMetadata()
		if err != nil {
			return w.abort(fmt.Errorf("consumer group metadata: %w", err))
		}
		err = w.bounded(ctx, "send offsets to transaction", func(ctx context.Context) error {
			return w.producer.SendOffsetsToTransaction(ctx, offsets, md)
		})
		if errors.Is(err, ErrStuck) {
			return err
		}
		if err != nil {
			return w.abortOrReplay(why, fmt.Errorf("send offsets to transaction: %w", err))
		}
	}
	for {
		err := w.bounded(ctx, "commit transaction", w.producer.CommitTransaction)
		if errors.Is(err, ErrStuck) {
			return err
		}
		if err == nil {
			break
		}
		if extkafka.IsRetriable(err) && ctx.Err() == nil {
			w.log.Warn("commit transaction, retrying", zap.Error(err))
			continue
		}
		return w.abortOrReplay(why, fmt.Errorf("commit transaction: %w", err))
	}
	w.m.Transactions.WithLabelValues("committed").Inc()
	w.m.TransactionSeconds.Observe(time.Since(w.txnStart).Seconds())
	w.m.TransactionChunks.Observe(float64(w.txnChunks))
	w.m.ResultsWritten.Add(float64(w.txnOuts))
	w.log.Debug("transaction committed", zap.String("why", why), zap.Int("chunks", w.txnChunks))
	w.endTxn()
	return nil
}

func (w *Worker) endTxn() {
	w.inTxn = false
	w.replays = 0
	clear(w.offsets)
	w.writeProcessingLog()
}

// writeProcessingLog writes the processing log's pending lines. The log is
// a measuring aid: when it cannot be written it is turned off, and the
// chunks are processed as ever.
func (w *Worker) writeProcessingLog() {
	if w.plogOut == nil || len(w.plog) == 0 {
		return
	}
	if _, err := w.plogOut.Write(w.plog); err != nil {
		w.log.Warn("processing log: write failed; no more lines are written", zap.Error(err))
		w.plogOut = nil
	}
	w.plog = w.plog[:0]
}

// abortOrReplay handles a failed commit: a fatal error is returned; else
// the transaction is aborted and, when the commit was the loop's own (not a
// revocation's or the shutdown's) and every partition it read is still
// assigned, its results are produced again in a new transaction that takes
// over its offsets, so the consumer goes on from where it is. Rewinding
// instead would cost a fetch restart: librdkafka resumes fetching a seeked
// partition up to a second later (make bench's rebalance pauses).
func (w *Worker) abortOrReplay(why string, err error) error {
	if _, ok := extkafka.AuthorizationResource(err); ok {
		// Retrying cannot help: the transaction is aborted (or, if that
		// fails too, left to the broker's timeout) and the error returned.
		w.m.Transactions.WithLabelValues("failed").Inc()
		_ = w.abortTxn()
		w.endTxn()
		return extkafka.Needs{
			extkafka.ResourceTopic:           {Name: w.cfg.ResultsTopic, Operations: []string{"Write"}},
			extkafka.ResourceGroup:           {Name: w.cfg.Group, Operations: []string{"Read"}},
			extkafka.ResourceTransactionalID: {Name: w.cfg.TransactionalID, Operations: []string{"Write"}},
		}.Explain(err)
	}
	if extkafka.IsFatal(err) {
		w.m.Transactions.WithLabelValues("failed").Inc()
		return err
	}
	if why != "batch" || w.replays >= maxReplays || !w.stillAssigned() {
		return w.abort(err)
	}
	w.replays++
	w.log.Warn("aborting transaction; producing its results again in a new one", zap.Error(err),
		zap.Int("chunks", w.txnChunks), zap.Int("results", len(w.outputs)))
	if aerr := w.abortTxn(); aerr != nil {
		return fmt.Errorf("abort transaction after %v: %w", err, aerr)
	}
	if berr := w.producer.BeginTransaction(); berr != nil {
		return fmt.Errorf("begin transaction: %w", berr)
	}
	for _, o := range w.outputs {
		if perr := w.produce(o); perr != nil {
			return w.abort(fmt.Errorf("produce result again: %w", perr))
		}
	}
	// The new transaction holds the same chunks: offsets, counts and the
	// processing log carry over; its age starts again, and its commit waits
	// a moment for the group to settle.
	w.txnStart = time.Now()
	w.commitAt = w.txnStart.Add(replayBackoff)
	return nil
}

// A failed commit is replayed at most maxReplays times in a row, each
// replayBackoff after the last; then the transaction is aborted and the
// consumer rewound.
const maxReplays = 3

var replayBackoff = 50 * time.Millisecond // a variable for the tests

// stillAssigned reports whether every partition the open transaction read
// is still assigned to this member.
func (w *Worker) stillAssigned() bool {
	assigned, err := w.consumer.Assignment()
	if err != nil {
		return false
	}
	have := make(map[partitionKey]bool, len(assigned))
	for _, tp := range assigned {
		have[partitionKey{*tp.Topic, tp.Partition}] = true
	}
	for k := range w.offsets {
		if !have[k] {
			return false
		}
	}
	return true
}

// ErrStuck: a transactional call into librdkafka did not return in time.
// librdkafka's send_offsets_to_transaction can wait past its timeout when
// the group coordinator it cached has gone, as after every broker of the
// cluster restarted; the computer then exits, and its restart (by
// Kubernetes) aborts the open transaction and goes on from the committed
// offsets.
var ErrStuck = errors.New("librdkafka did not return within the operation timeout and its grace: the Kafka client is stuck; exiting so that a restart aborts the open transaction and resumes from the committed offsets")

// stuckGrace is how long past its context's deadline a transactional call
// may take before the worker gives up on it (a variable for the tests).
var stuckGrace = 10 * time.Second

// bounded runs op, a transactional call, with ctx and waits for it at most
// until ctx's deadline and stuckGrace after. A call that does not return by
// then is left running and ErrStuck returned: the process must exit.
func (w *Worker) bounded(ctx context.Context, what string, op func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- op(ctx) }()
	wait := stuckGrace
	if dl, ok := ctx.Deadline(); ok {
		wait += time.Until(dl)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		w.m.Transactions.WithLabelValues("stuck").Inc()
		return fmt.Errorf("%s: no answer after %s: %w", what, wait.Round(time.Second), ErrStuck)
	}
}

// abortTxn aborts the open transaction, bounded by OpTimeout, and counts
// it; the callers decide what follows.
func (w *Worker) abortTxn() error {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.OpTimeout)
	defer cancel()
	if err := w.bounded(ctx, "abort transaction", w.producer.AbortTransaction); err != nil {
		return err
	}
	w.m.Transactions.WithLabelValues("aborted").Inc()
	return nil
}

// abort aborts the open transaction and rewinds the consumer to the
// committed offsets, so the aborted chunks are consumed again. It returns nil
// when that worked: the loop goes on.
func (w *Worker) abort(cause error) error {
	w.log.Warn("aborting transaction", zap.Error(cause))
	if err := w.abortTxn(); err != nil {
		return fmt.Errorf("abort transaction after %v: %w", cause, err)
	}
	w.endTxn()
	if err := w.rewind(); err != nil {
		return fmt.Errorf("rewind after abort: %w", err)
	}
	return nil
}

// rewind seeks every assigned partition back to its committed offset.
func (w *Worker) rewind() error {
	assigned, err := w.consumer.Assignment()
	if err != nil {
		return fmt.Errorf("assignment: %w", err)
	}
	if len(assigned) == 0 {
		return nil
	}
	committed, err := w.consumer.Committed(assigned, int(w.cfg.OpTimeout.Milliseconds()))
	if err != nil {
		return fmt.Errorf("committed offsets: %w", err)
	}
	for _, tp := range committed {
		if tp.Offset < 0 {
			tp.Offset = kafka.OffsetBeginning
		}
		if err := w.consumer.Seek(tp, 0); err != nil {
			return fmt.Errorf("seek %s[%d] to %v: %w", *tp.Topic, tp.Partition, tp.Offset, err)
		}
	}
	return nil
}

// rebalance runs inside Poll (and Close). Before partitions are revoked
// the open transaction is committed, so the next owner starts where this
// one stopped; when the assignment was lost (the session timed out,
// another member may own the partitions already) it is aborted instead.
// confluent-kafka-go ignores the callback's return value, and the errors
// of the assign calls it makes when the callback does not: the callback
// makes them itself and keeps every error for the loop to return.
func (w *Worker) rebalance(_ *kafka.Consumer, ev kafka.Event) error {
	var err error
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		err = w.assign(e.Partitions)
	case kafka.RevokedPartitions:
		err = w.revoke(e.Partitions)
	}
	if err != nil {
		w.rebalanceErr = errors.Join(w.rebalanceErr, err)
	}
	return err
}

// takeRebalanceErr returns, once, what the rebalance callback failed to do.
func (w *Worker) takeRebalanceErr() error {
	err := w.rebalanceErr
	w.rebalanceErr = nil
	if err != nil {
		return fmt.Errorf("rebalance: %w", err)
	}
	return nil
}

func (w *Worker) cooperative() bool { return w.consumer.GetRebalanceProtocol() == "COOPERATIVE" }

func (w *Worker) assign(partitions []kafka.TopicPartition) error {
	w.m.Rebalances.WithLabelValues("assigned").Inc()
	var err error
	if w.cooperative() {
		err = w.consumer.IncrementalAssign(partitions)
	} else {
		err = w.consumer.Assign(partitions)
	}
	if err != nil {
		return fmt.Errorf("assign %d partitions of %s: %w", len(partitions), w.cfg.ComputeTopic, err)
	}
	w.assigned += len(partitions)
	w.m.AssignedPartitions.Set(float64(w.assigned))
	w.log.Info("partitions assigned", zap.Int("added", len(partitions)), zap.Int("assigned", w.assigned))
	w.wake = true
	w.probe.SetReady()
	return nil
}

// revoke ends the open transaction and gives the partitions up, whether
// or not the transaction could be ended: they are no longer this member's.
func (w *Worker) revoke(partitions []kafka.TopicPartition) error {
	w.m.Rebalances.WithLabelValues("revoked").Inc()
	var errs []error
	if w.consumer.AssignmentLost() {
		w.log.Warn("assignment lost; aborting the open transaction", zap.Int("partitions", len(partitions)))
		if w.inTxn {
			if err := w.abortTxn(); err != nil {
				errs = append(errs, fmt.Errorf("abort transaction on lost assignment of %d partitions: %w", len(partitions), err))
			}
		}
	} else if w.inTxn {
		if err := w.commit("revoke"); err != nil {
			errs = append(errs, fmt.Errorf("commit transaction on revoke of %d partitions: %w", len(partitions), err))
		}
	}
	if w.inTxn {
		// The commit or the abort failed and the loop ends: the
		// transaction read partitions no longer this member's, and the
		// shutdown must not commit it. The broker aborts it at its
		// timeout, or the next producer with this transactional id does.
		w.endTxn()
	}
	var err error
	if w.cooperative() {
		err = w.consumer.IncrementalUnassign(partitions)
	} else {
		err = w.consumer.Unassign()
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("unassign %d partitions of %s: %w", len(partitions), w.cfg.ComputeTopic, err))
	}
	if w.lag != nil {
		for _, tp := range partitions {
			w.lag.Forget(*tp.Topic, tp.Partition)
		}
	}
	w.assigned = max(0, w.assigned-len(partitions))
	w.m.AssignedPartitions.Set(float64(w.assigned))
	w.log.Info("partitions revoked", zap.Int("removed", len(partitions)), zap.Int("assigned", w.assigned))
	return errors.Join(errs...)
}

// Metrics are the computer's loop series.
type Metrics struct {
	MessagesRead       prometheus.Counter
	ResultsWritten     prometheus.Counter
	InvalidMessages    *prometheus.CounterVec
	Transactions       *prometheus.CounterVec
	TransactionSeconds prometheus.Histogram
	TransactionChunks  prometheus.Histogram
	ChunkSeconds       prometheus.Histogram
	Rebalances         *prometheus.CounterVec
	AssignedPartitions prometheus.Gauge
}

// NewMetrics registers the loop's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		MessagesRead: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_compute_messages_read",
			Help: "Chunks consumed from the compute topic (name kept from the original kafka-scale)."}),
		ResultsWritten: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "kafka_scale_result_messages_written",
			Help: "Partial aggregates committed to the results topic (name kept from the original kafka-scale)."}),
		InvalidMessages: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "kafka_scale_computer_invalid_messages_total",
			Help: "Messages that could not be decoded, or declared a size or count over a limit, and were skipped (their offsets committed), by topic and reason (schema.Reasons)."},
			[]string{"topic", "reason"}),
		Transactions: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "kafka_scale_computer_transactions_total",
			Help: "Transactions ended, by outcome: committed, aborted, failed, stuck (librdkafka did not return; the computer exits)."}, []string{"outcome"}),
		TransactionSeconds: promauto.With(reg).NewHistogram(prometheus.HistogramOpts{Name: "kafka_scale_computer_transaction_duration_seconds",
			Help: "Time from the start of a transaction to its commit.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
		TransactionChunks: promauto.With(reg).NewHistogram(prometheus.HistogramOpts{Name: "kafka_scale_computer_transaction_chunks",
			Help: "Chunks per committed transaction.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		ChunkSeconds: promauto.With(reg).NewHistogram(prometheus.HistogramOpts{Name: "kafka_scale_computer_chunk_duration_seconds",
			Help: "Time to parse and tabulate one chunk.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}),
		Rebalances: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "kafka_scale_computer_rebalance_events_total",
			Help: "Partitions assigned or revoked events seen by this member."}, []string{"event"}),
		AssignedPartitions: promauto.With(reg).NewGauge(prometheus.GaugeOpts{Name: "kafka_scale_computer_assigned_partitions",
			Help: "Partitions of the compute topic assigned to this member."}),
	}
	return m
}
