// Command aggregator merges the computers' partial aggregates from the
// results topic and serves the summaries over HTTP. Its state lives in a
// compacted Kafka topic, so a restart serves the same numbers.
package main

import (
	"context"
	"errors"
	"os"
	"strconv"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/httpserver"
	"github.com/kafka-scale/kafka-scale/pkg/service"
	"github.com/kafka-scale/kafka-scale/services/aggregator/internal/api"
	"github.com/kafka-scale/kafka-scale/services/aggregator/internal/config"
	"github.com/kafka-scale/kafka-scale/services/aggregator/internal/ingest"
	"github.com/kafka-scale/kafka-scale/services/aggregator/internal/state"
)

func main() {
	os.Exit(service.Main("aggregator", func() (*config.Config, error) { return config.Parse(os.Args[1:], nil) }, serve))
}

func serve(ctx context.Context, cfg *config.Config, rt *service.Runtime) (err error) {
	log, reg, probe := rt.Log, rt.Registry, rt.Probe
	stats := extkafka.NewStats(reg)
	store := state.New()
	reg.MustRegister(state.NewCollector(store))
	apiSrv, err := httpserver.Listen("api", cfg.Listen, api.Handler(store, log, reg), log)
	if err != nil {
		return err
	}
	// The API answers from the start, from an empty store until the state
	// is restored; /readyz says when it is.
	apiCtx, stopAPI := context.WithCancel(context.Background())
	apiDone := make(chan error, 1)
	go func() { apiDone <- apiSrv.Serve(apiCtx) }()
	defer func() {
		stopAPI()
		if aerr := <-apiDone; aerr != nil {
			err = errors.Join(err, aerr)
		}
	}()

	probe.SetNotReady("creating the topics " + cfg.ResultsTopic + " and " + cfg.StateTopic)
	ac, err := extkafka.NewAdmin(extkafka.AdminConfig(cfg.Kafka), log)
	if err != nil {
		return err
	}
	// The aggregator may start before any computer has created the results
	// topic; both create it if missing, with the same defaults.
	for _, spec := range []extkafka.TopicSpec{
		{Name: cfg.ResultsTopic, Partitions: cfg.ResultsPartitions, ReplicationFactor: cfg.ReplicationFactor},
		{Name: cfg.StateTopic, Partitions: 1, ReplicationFactor: cfg.ReplicationFactor,
			Config: map[string]string{"cleanup.policy": "compact", "min.compaction.lag.ms": "60000", "segment.ms": "3600000"}},
	} {
		if _, err = extkafka.EnsureTopic(ctx, ac, spec); err != nil {
			break
		}
	}
	ac.Close()
	if err != nil {
		return err
	}

	eof := kafka.ConfigMap{"enable.partition.eof": true}
	results, err := extkafka.NewConsumer(extkafka.ConsumerConfig(cfg.Kafka, cfg.Group(), "classic", eof), log, stats)
	if err != nil {
		return err
	}
	defer results.Close()
	stateConsumer, err := extkafka.NewConsumer(extkafka.ConsumerConfig(cfg.Kafka, cfg.Group()+"-restore", "classic",
		kafka.ConfigMap{"enable.partition.eof": true, "statistics.interval.ms": 0}), log, nil)
	if err != nil {
		return err
	}
	defer stateConsumer.Close()
	extra := extkafka.TransactionalEvents()
	extra["transaction.timeout.ms"] = strconv.FormatInt(cfg.TxnTimeout.Milliseconds(), 10)
	producer, err := extkafka.NewProducer(extkafka.TransactionalProducerConfig(cfg.Kafka, cfg.TransactionalID(), extra), log, stats)
	if err != nil {
		return err
	}
	defer extkafka.ServeProducer(producer, stats, log)()

	in := ingest.New(ingest.Config{ResultsTopic: cfg.ResultsTopic, StateTopic: cfg.StateTopic,
		Group: cfg.Group(), TransactionalID: cfg.TransactionalID(),
		SnapshotInterval: cfg.SnapshotInterval, OpTimeout: cfg.OpTimeout, TxnTimeout: cfg.TxnTimeout},
		ingest.Clients{Results: results, State: stateConsumer, Producer: producer}, store, log, ingest.NewMetrics(reg), stats, probe)

	return in.Run(ctx)
}
