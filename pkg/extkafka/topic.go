package extkafka

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/zap"
)

// TopicAdmin is the part of an admin client (*Admin, *kafka.AdminClient)
// that EnsureTopic and DescribeTopic use.
type TopicAdmin interface {
	CreateTopics(ctx context.Context, topics []kafka.TopicSpecification, options ...kafka.CreateTopicsAdminOption) ([]kafka.TopicResult, error)
	DescribeTopics(ctx context.Context, topics kafka.TopicCollection, options ...kafka.DescribeTopicsAdminOption) (kafka.DescribeTopicsResult, error)
}

// metadataRefresher is the admin client's metadata request (*Admin and
// *kafka.AdminClient have it). Any live broker answers it, and the answer
// names the broker that librdkafka sends DescribeTopics to.
type metadataRefresher interface {
	GetMetadata(topic *string, allTopics bool, timeoutMs int) (*kafka.Metadata, error)
}

// describeTimeout bounds one DescribeTopics request. librdkafka sends it to
// the broker that the last metadata named as controller and waits for that
// broker to be up, which a broker that has just died never is. Kafka names
// a dead broker until the controller fences it (broker.session.timeout.ms,
// 9 s by default), so a client started in those seconds would wait the
// whole admin timeout; a bounded attempt and a metadata refresh let the
// next attempt go to a live broker.
const describeTimeout = 10 * time.Second

// TopicSpec is a topic as a service wants it.
type TopicSpec struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	// Config holds topic configs (cleanup.policy, retention.ms, ...) set
	// when the topic is created; an existing topic's are left alone.
	Config map[string]string
}

// ErrTopicNotFound is returned (wrapped) by DescribeTopic for a topic that
// does not exist.
var ErrTopicNotFound = errors.New("topic not found")

// TopicInfo describes a topic's partitions.
type TopicInfo struct {
	Name       string
	Partitions []PartitionInfo
}

// PartitionInfo is one partition of a topic; broker ids are node ids.
type PartitionInfo struct {
	ID       int
	Leader   int // -1 while the partition has no leader
	Replicas []int
	ISR      []int
}

// Leaderless is the number of partitions without a leader.
func (t TopicInfo) Leaderless() int {
	n := 0
	for _, p := range t.Partitions {
		if p.Leader < 0 {
			n++
		}
	}
	return n
}

var topicNameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// BrokerDefaultReplication as a TopicSpec's ReplicationFactor lets the
// broker choose: its default.replication.factor (3 on a production
// cluster, 1 on the single local broker), with its min.insync.replicas.
const BrokerDefaultReplication = -1

func (s TopicSpec) validate() error {
	var errs []error
	if !topicNameRE.MatchString(s.Name) || s.Name == "." || s.Name == ".." {
		errs = append(errs, fmt.Errorf("topic name %q: want 1-249 of a-z A-Z 0-9 . _ -", s.Name))
	}
	if s.Partitions < 1 {
		errs = append(errs, fmt.Errorf("topic %q: partitions %d: want at least 1", s.Name, s.Partitions))
	}
	if s.ReplicationFactor < 1 && s.ReplicationFactor != BrokerDefaultReplication {
		errs = append(errs, fmt.Errorf("topic %q: replication factor %d: want at least 1, or %d for the broker's default", s.Name, s.ReplicationFactor, BrokerDefaultReplication))
	}
	return errors.Join(errs...)
}

// EnsureTopic creates the topic spec describes unless it exists, and reports
// whether it created it. Several replicas may call it at once: the losers
// of the race find the topic created. An existing topic with fewer
// partitions than asked is logged as a warning and left alone: adding
// partitions would move keys to other partitions, a decision for an
// operator. Transient failures (a broker not up yet) are retried until ctx
// ends; when it returns, the topic's partitions have leaders.
//
// The warning goes to admin's logger when admin has one (*Admin does).
func EnsureTopic(ctx context.Context, admin TopicAdmin, spec TopicSpec) (created bool, err error) {
	if err := spec.validate(); err != nil {
		return false, err
	}
	log := zap.NewNop()
	if l, ok := admin.(interface{ Logger() *zap.Logger }); ok && l.Logger() != nil {
		log = l.Logger()
	}
	log = log.With(zap.String("topic", spec.Name))
	err = retry(ctx, log, "ensure topic", func() error {
		info, err := DescribeTopic(ctx, admin, spec.Name)
		if IsTimeout(err) && ctx.Err() == nil {
			refreshMetadata(log, admin)
		}
		if err == nil {
			checkExisting(log, spec, info)
			return waitLeaders(info)
		}
		if !errors.Is(err, ErrTopicNotFound) {
			return err
		}
		if err := createTopic(ctx, admin, spec); err != nil {
			var ke kafka.Error
			if errors.As(err, &ke) && ke.Code() == kafka.ErrTopicAlreadyExists {
				return errRetryNow // created meanwhile by another replica
			}
			return err
		}
		created = true
		log.Info("created topic", zap.Int("partitions", spec.Partitions), zap.Int("replication_factor", spec.ReplicationFactor), zap.Any("config", spec.Config))
		return errRetryNow // describe it until its partitions have leaders
	})
	if err != nil {
		return created, fmt.Errorf("ensure topic %q: %w", spec.Name, err)
	}
	return created, nil
}

// refreshMetadata asks any live broker for the cluster's metadata, so that
// the next admin request goes to a broker that is up.
func refreshMetadata(log *zap.Logger, admin TopicAdmin) {
	r, ok := admin.(metadataRefresher)
	if !ok {
		return
	}
	if _, err := r.GetMetadata(nil, false, int(describeTimeout.Milliseconds())); err != nil {
		log.Info("refresh metadata after a timed-out describe", zap.Error(err))
	}
}

func checkExisting(log *zap.Logger, spec TopicSpec, info TopicInfo) {
	if len(info.Partitions) < spec.Partitions {
		log.Warn("topic has fewer partitions than configured; not changing it (add partitions with kafka-topics --alter if wanted)",
			zap.Int("partitions", len(info.Partitions)), zap.Int("configured_partitions", spec.Partitions))
	}
}

// errLeaderless asks retry to wait: a new topic's partitions get leaders a
// moment after it is created.
var errLeaderless = errors.New("partitions without a leader")

func waitLeaders(info TopicInfo) error {
	if n := info.Leaderless(); n > 0 {
		return fmt.Errorf("%w: %d of %d", errLeaderless, n, len(info.Partitions))
	}
	return nil
}

var errRetryNow = errors.New("retry at once")

// retry calls f until it succeeds, fails for good, or ctx ends, backing off
// from 100ms to 2s between transient failures.
func retry(ctx context.Context, log *zap.Logger, what string, f func() error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errRetryNow) && attempt < 10:
			continue
		case errors.Is(err, errLeaderless), errors.Is(err, errRetryNow), IsRetriable(err):
			if attempt > 1 {
				log.Info(what+": retrying", zap.Error(err), zap.Int("attempt", attempt), zap.Duration("backoff", backoff))
			}
		default:
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func createTopic(ctx context.Context, admin TopicAdmin, spec TopicSpec) error {
	ts := kafka.TopicSpecification{
		Topic:             spec.Name,
		NumPartitions:     spec.Partitions,
		ReplicationFactor: spec.ReplicationFactor,
		Config:            spec.Config,
	}
	// The broker answers once the topic is created, or after this long
	// with a timeout that retry treats as transient.
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{ts}, kafka.SetAdminOperationTimeout(30*time.Second))
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			return fmt.Errorf("create topic: %w", NotAuthorized(r.Error, ResourceTopic, spec.Name, "Create"))
		}
	}
	return nil
}

// DescribeTopic describes a topic's partitions; for a topic that does not
// exist the error wraps ErrTopicNotFound.
func DescribeTopic(ctx context.Context, admin TopicAdmin, name string) (TopicInfo, error) {
	res, err := admin.DescribeTopics(ctx, kafka.NewTopicCollectionOfTopicNames([]string{name}), kafka.SetAdminRequestTimeout(describeTimeout))
	if err != nil {
		return TopicInfo{}, fmt.Errorf("describe topic %q: %w", name, err)
	}
	if len(res.TopicDescriptions) != 1 {
		return TopicInfo{}, fmt.Errorf("describe topic %q: %d descriptions in the answer", name, len(res.TopicDescriptions))
	}
	d := res.TopicDescriptions[0]
	switch d.Error.Code() {
	case kafka.ErrNoError:
	case kafka.ErrUnknownTopicOrPart, kafka.ErrUnknownTopic:
		return TopicInfo{}, fmt.Errorf("describe topic %q: %w", name, ErrTopicNotFound)
	default:
		return TopicInfo{}, fmt.Errorf("describe topic %q: %w", name, NotAuthorized(d.Error, ResourceTopic, name, "Describe"))
	}
	info := TopicInfo{Name: d.Name, Partitions: make([]PartitionInfo, 0, len(d.Partitions))}
	for _, p := range d.Partitions {
		pi := PartitionInfo{ID: p.Partition, Leader: -1, Replicas: nodeIDs(p.Replicas), ISR: nodeIDs(p.Isr)}
		if p.Leader != nil {
			pi.Leader = p.Leader.ID
		}
		info.Partitions = append(info.Partitions, pi)
	}
	return info, nil
}

func nodeIDs(nodes []kafka.Node) []int {
	ids := make([]int, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids
}
