// Command computer turns chunks of census records from the compute topic
// into partial aggregates on the results topic, exactly once. Replicas share
// one consumer group; add or remove them at will.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/httpserver"
	"github.com/kafka-scale/kafka-scale/pkg/lagtime"
	"github.com/kafka-scale/kafka-scale/pkg/metrics"
	"github.com/kafka-scale/kafka-scale/pkg/service"
	"github.com/kafka-scale/kafka-scale/services/computer/internal/config"
	"github.com/kafka-scale/kafka-scale/services/computer/internal/tabulate"
	"github.com/kafka-scale/kafka-scale/services/computer/internal/worker"
)

func main() {
	os.Exit(service.Main("computer", func() (*config.Config, error) { return config.Parse(os.Args[1:], nil) }, serve))
}

func serve(ctx context.Context, cfg *config.Config, log *zap.Logger) error {
	reg := metrics.NewRegistry("computer")
	stats := extkafka.NewStats(reg)
	lag := lagtime.New(cfg.Group, time.Now, lagtime.DefaultMaxSamples)
	reg.MustRegister(lag)
	probe := httpserver.NewProbe(reg, "waiting for a partition assignment")
	admin, err := httpserver.Listen("admin", cfg.MetricsAddr, httpserver.AdminHandler(reg, probe), log)
	if err != nil {
		return err
	}

	ac, err := extkafka.NewAdmin(extkafka.AdminConfig(cfg.Kafka), log)
	if err != nil {
		return err
	}
	_, err = extkafka.EnsureTopic(ctx, ac, extkafka.TopicSpec{Name: cfg.ResultsTopic, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor})
	ac.Close()
	if err != nil {
		return err
	}

	consumer, err := extkafka.NewConsumer(extkafka.ConsumerConfig(cfg.Kafka, cfg.Group, cfg.GroupProtocol, nil), log, stats)
	if err != nil {
		return err
	}
	producer, err := extkafka.NewProducer(extkafka.TransactionalProducerConfig(cfg.Kafka, cfg.TransactionalID, kafka.ConfigMap{
		"transaction.timeout.ms": strconv.FormatInt(cfg.TxnTimeout.Milliseconds(), 10),
	}), log, stats)
	if err != nil {
		consumer.Close()
		return err
	}
	defer producer.Close()
	log.Info("starting", zap.String("group", cfg.Group), zap.String("protocol", cfg.GroupProtocol),
		zap.String("transactional_id", cfg.TransactionalID), zap.String("compute_topic", cfg.ComputeTopic), zap.String("results_topic", cfg.ResultsTopic))

	var processingLog io.Writer
	if cfg.ProcessingLog != "" {
		f, err := os.OpenFile(cfg.ProcessingLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			consumer.Close()
			return fmt.Errorf("processing log: %w", err)
		}
		defer f.Close()
		processingLog = f
	}

	w := worker.New(worker.Config{
		ComputeTopic: cfg.ComputeTopic, ResultsTopic: cfg.ResultsTopic,
		BatchChunks: cfg.BatchChunks, BatchAge: cfg.BatchAge, OpTimeout: cfg.TxnTimeout,
		ProcessingLog: processingLog,
	}, consumer, producer, tabulate.New(reg, log), log, worker.NewMetrics(reg), stats, probe, lag)

	adminCtx, stopAdmin := context.WithCancel(context.Background())
	g := new(errgroup.Group)
	g.Go(func() error { return admin.Serve(adminCtx) })
	err = w.Run(ctx)
	stopAdmin()
	return errors.Join(err, g.Wait())
}
