// Package config holds the computer's configuration: flags, their
// environment twins, and validation that names the bad value.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/flagenv"
	"github.com/kafka-scale/kafka-scale/pkg/service"
)

// Defaults of the flags that the computer chart sets too
// (charts/computer/values.yaml; a test keeps the chart's equal).
const (
	DefaultBatchChunks = 400
	DefaultBatchAge    = 500 * time.Millisecond
	// DefaultTxnTimeout is short against extkafka's 60s: a crashed member's
	// open transaction holds back the aggregator (read_committed) this long.
	DefaultTxnTimeout = 15 * time.Second
	// DefaultHeartbeatInterval is the classic protocol's heartbeat
	// interval (extkafka says why it is short).
	DefaultHeartbeatInterval = extkafka.DefaultHeartbeatInterval
)

// Bounds of --heartbeat-interval: a heartbeat every few milliseconds would
// keep the coordinator busy for nothing, and librdkafka wants the interval
// well below session.timeout.ms (45 s).
const (
	minHeartbeatInterval = 10 * time.Millisecond
	maxHeartbeatInterval = 15 * time.Second
)

// Config is everything the computer is told.
type Config struct {
	service.Common

	ComputeTopic      string
	ResultsTopic      string
	Group             string
	GroupProtocol     string
	TransactionalID   string
	Partitions        int
	ReplicationFactor int
	BatchChunks       int
	BatchAge          time.Duration
	TxnTimeout        time.Duration
	HeartbeatInterval time.Duration
	ProcessingLog     string
}

// Parse reads args and the environment (lookup; os.LookupEnv when nil).
func Parse(args []string, lookup func(string) (string, bool)) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("computer", flag.ContinueOnError)
	b := flagenv.New(fs, "")
	fs.StringVar(&c.ComputeTopic, "compute-topic", "compute", "topic the chunks are consumed from")
	fs.StringVar(&c.ResultsTopic, "results-topic", "results", "topic the partial aggregates are produced to")
	fs.StringVar(&c.Group, "group", "computer", "consumer group the computers share")
	fs.StringVar(&c.GroupProtocol, "group-protocol", "classic", "consumer group protocol: classic (cooperative-sticky) or consumer (KIP-848)")
	fs.StringVar(&c.TransactionalID, "transactional-id", "", "transactional id of this member's producer (default: <group>-<hostname>-<pid>; must be unique per running member)")
	fs.IntVar(&c.Partitions, "results-partitions", 6, "partitions of the results topic when the computer creates it")
	fs.IntVar(&c.ReplicationFactor, "replication-factor", extkafka.BrokerDefaultReplication,
		"replication factor of the results topic when the computer creates it; -1 takes the broker's default.replication.factor (3 on a production cluster)")
	fs.IntVar(&c.BatchChunks, "batch-chunks", DefaultBatchChunks, "chunks per transaction at most")
	fs.DurationVar(&c.BatchAge, "batch-age", DefaultBatchAge, "longest time a transaction stays open")
	fs.DurationVar(&c.TxnTimeout, "transaction-timeout", DefaultTxnTimeout,
		"broker-side transaction timeout and bound on commit/abort calls; a crashed member's open transaction holds back read_committed readers of the results topic this long")
	fs.DurationVar(&c.HeartbeatInterval, "heartbeat-interval", DefaultHeartbeatInterval,
		"heartbeat interval of the classic protocol: how soon a member hears of a rebalance, twice when a computer joins; with --group-protocol consumer the broker sets it (group.consumer.heartbeat.interval.ms)")
	fs.StringVar(&c.ProcessingLog, "processing-log", "",
		"file to append one line per processed chunk to: the Unix time in nanoseconds its processing ended (for measuring pauses such as rebalances); none when empty")
	c.Common.RegisterFlags(fs, b)
	if err := b.Parse(args, lookup); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.TransactionalID == "" {
		host, _ := os.Hostname()
		c.TransactionalID = fmt.Sprintf("%s-%s-%d", c.Group, host, os.Getpid())
	}
	return c, nil
}

var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// Validate checks the configuration, naming the bad values.
func (c *Config) Validate() error {
	var errs []error
	for flagName, v := range map[string]string{"--compute-topic": c.ComputeTopic, "--results-topic": c.ResultsTopic} {
		if !topicName.MatchString(v) {
			errs = append(errs, fmt.Errorf("%s %q: not a valid topic name", flagName, v))
		}
	}
	if c.ComputeTopic == c.ResultsTopic {
		errs = append(errs, fmt.Errorf("--compute-topic and --results-topic are both %q", c.ComputeTopic))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("--group is empty"))
	}
	if c.GroupProtocol != "classic" && c.GroupProtocol != "consumer" {
		errs = append(errs, fmt.Errorf("--group-protocol %q: want classic or consumer", c.GroupProtocol))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("--results-partitions %d: want at least 1", c.Partitions))
	}
	if c.ReplicationFactor < 1 && c.ReplicationFactor != extkafka.BrokerDefaultReplication {
		errs = append(errs, fmt.Errorf("--replication-factor %d: want at least 1, or -1 for the broker's default", c.ReplicationFactor))
	}
	if c.BatchChunks < 1 {
		errs = append(errs, fmt.Errorf("--batch-chunks %d: want at least 1", c.BatchChunks))
	}
	if c.BatchAge <= 0 {
		errs = append(errs, fmt.Errorf("--batch-age %v: want more than 0", c.BatchAge))
	}
	if c.TxnTimeout < time.Second {
		errs = append(errs, fmt.Errorf("--transaction-timeout %v: want at least 1s", c.TxnTimeout))
	}
	if c.HeartbeatInterval < minHeartbeatInterval || c.HeartbeatInterval > maxHeartbeatInterval {
		errs = append(errs, fmt.Errorf("--heartbeat-interval %v: want %v to %v", c.HeartbeatInterval, minHeartbeatInterval, maxHeartbeatInterval))
	}
	return errors.Join(errs...)
}

// ConsumerConfig is the librdkafka configuration of the computer's
// consumer: extkafka's, with the group settings of this configuration.
func (c *Config) ConsumerConfig() kafka.ConfigMap {
	var extra kafka.ConfigMap
	if c.GroupProtocol == extkafka.GroupProtocolClassic {
		// The consumer protocol rejects it: the broker owns the interval.
		extra = kafka.ConfigMap{"heartbeat.interval.ms": int(c.HeartbeatInterval.Milliseconds())}
	}
	return extkafka.ConsumerConfig(c.Kafka, c.Group, c.GroupProtocol, extra)
}
