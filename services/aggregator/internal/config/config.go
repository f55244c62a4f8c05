// Package config holds the aggregator's configuration: flags, their
// environment twins, and validation that names the bad value.
package config

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/flagenv"
	"github.com/kafka-scale/kafka-scale/pkg/service"
)

// Config is everything the aggregator is told.
type Config struct {
	service.Common

	ResultsTopic      string
	StateTopic        string
	GroupID           string
	ReplicationFactor int
	ResultsPartitions int
	Listen            string
	SnapshotInterval  time.Duration
	OpTimeout         time.Duration
	TxnTimeout        time.Duration
}

// DefaultSnapshotInterval is how often changed state is written to the
// state topic, each time in one transaction of the state producer.
const DefaultSnapshotInterval = 2 * time.Second

// DefaultTxnTimeout is the snapshot transaction's timeout: how long a
// snapshot rides out a cluster that is down (its records wait in the
// producer's queue, its commit is resumed) before the aggregator gives up
// and exits. Long against extkafka's 60s because only the aggregator reads
// the state topic, and a new aggregator, with the same transactional id,
// aborts a dead one's open transaction at once. The broker caps it at
// transaction.max.timeout.ms (15 minutes by default).
const DefaultTxnTimeout = 5 * time.Minute

// Parse reads args and the environment (lookup; os.LookupEnv when nil).
func Parse(args []string, lookup func(string) (string, bool)) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("aggregator", flag.ContinueOnError)
	b := flagenv.New(fs, "")
	fs.StringVar(&c.ResultsTopic, "results-topic", "results", "topic the partial aggregates are consumed from")
	fs.StringVar(&c.StateTopic, "state-topic", "", "compacted topic of the aggregator's snapshots (default <results-topic>-aggregator-state)")
	fs.StringVar(&c.GroupID, "group", "", "consumer group its offsets are committed in, for lag monitoring only (default <results-topic>-aggregator)")
	fs.IntVar(&c.ReplicationFactor, "replication-factor", extkafka.BrokerDefaultReplication,
		"replication factor of the results and state topics when the aggregator creates them; -1 takes the broker's default.replication.factor (3 on a production cluster)")
	fs.IntVar(&c.ResultsPartitions, "results-partitions", 6, "partitions of the results topic when the aggregator creates it (the computers create it too, with the same default)")
	fs.StringVar(&c.Listen, "listen", ":8080", "API address")
	fs.DurationVar(&c.SnapshotInterval, "snapshot-interval", DefaultSnapshotInterval, "how often changed state is written to the state topic")
	fs.DurationVar(&c.OpTimeout, "kafka-op-timeout", 30*time.Second, "bound on metadata and transaction calls")
	fs.DurationVar(&c.TxnTimeout, "transaction-timeout", DefaultTxnTimeout,
		"the snapshot transaction's timeout: how long a snapshot waits for a cluster that is down before the aggregator exits (at most the broker's transaction.max.timeout.ms)")
	c.Common.RegisterFlags(fs, b)
	if err := b.Parse(args, lookup); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.StateTopic == "" {
		c.StateTopic = c.ResultsTopic + "-aggregator-state"
	}
	return c, nil
}

// TransactionalID is derived from the results topic: one aggregator per
// results topic, and a new one fences the old.
func (c *Config) TransactionalID() string { return c.ResultsTopic + "-aggregator" }

// Group is used only to commit offsets for lag monitoring: --group, else
// derived from the results topic.
func (c *Config) Group() string {
	if c.GroupID != "" {
		return c.GroupID
	}
	return c.ResultsTopic + "-aggregator"
}

// Validate checks the configuration, naming the bad values.
func (c *Config) Validate() error {
	var errs []error
	if c.ResultsTopic == "" {
		errs = append(errs, errors.New("--results-topic is empty"))
	}
	if c.StateTopic == c.ResultsTopic {
		errs = append(errs, fmt.Errorf("--state-topic %q is the results topic", c.StateTopic))
	}
	if c.ResultsPartitions < 1 {
		errs = append(errs, fmt.Errorf("--results-partitions %d: want at least 1", c.ResultsPartitions))
	}
	if c.ReplicationFactor < 1 && c.ReplicationFactor != extkafka.BrokerDefaultReplication {
		errs = append(errs, fmt.Errorf("--replication-factor %d: want at least 1, or -1 for the broker's default", c.ReplicationFactor))
	}
	if c.SnapshotInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("--snapshot-interval %v: want at least 100ms", c.SnapshotInterval))
	}
	if c.OpTimeout < time.Second {
		errs = append(errs, fmt.Errorf("--kafka-op-timeout %v: want at least 1s", c.OpTimeout))
	}
	if c.TxnTimeout < c.OpTimeout {
		errs = append(errs, fmt.Errorf("--transaction-timeout %v: want at least --kafka-op-timeout (%v)", c.TxnTimeout, c.OpTimeout))
	}
	return errors.Join(errs...)
}
