// Command reader loads census files into the compute topic: local files or
// the Census site's files by year and month, cut into chunks of records. It
// exits 0 once every chunk is acknowledged by the brokers.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/service"
	"github.com/kafka-scale/kafka-scale/services/reader/internal/config"
	"github.com/kafka-scale/kafka-scale/services/reader/internal/load"
	"github.com/kafka-scale/kafka-scale/services/reader/internal/source"
)

func main() {
	os.Exit(service.Main("reader", func() (*config.Config, error) { return config.Parse(os.Args[1:], nil) }, run))
}

func run(ctx context.Context, cfg *config.Config, rt *service.Runtime) error {
	log, reg, probe := rt.Log, rt.Registry, rt.Probe
	m := load.NewMetrics(reg)
	stats := extkafka.NewStats(reg)
	probe.SetNotReady("creating the compute topic")

	sources, err := sourcesOf(cfg, log, m)
	if err != nil {
		return err
	}

	ac, err := extkafka.NewAdmin(extkafka.AdminConfig(cfg.Kafka), log)
	if err != nil {
		return err
	}
	topicCfg, _ := cfg.TopicConfigMap()
	created, err := extkafka.EnsureTopic(ctx, ac, extkafka.TopicSpec{
		Name: cfg.ComputeTopic, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor, Config: topicCfg,
	})
	ac.Close()
	if err != nil {
		return err
	}
	log.Info("compute topic ready", zap.String("topic", cfg.ComputeTopic), zap.Bool("created", created))
	probe.SetReady()

	producer, err := extkafka.NewProducer(extkafka.ProducerConfig(cfg.Kafka, load.ProducerConfig(cfg.Codec())), log, stats)
	if err != nil {
		return err
	}
	defer producer.Close()

	loader := &load.Loader{Producer: producer, Topic: cfg.ComputeTopic, ChunkSize: cfg.ChunkSize, Codec: cfg.Codec(), Parallel: cfg.Parallel,
		Log: log, Metrics: m, Stats: stats}
	start := time.Now()
	reports, err := loader.Load(ctx, sources)
	took := time.Since(start)
	var records uint64
	for _, r := range reports {
		records += r.Records
		log.Info("source report", zap.String("source", r.Source), zap.String("status", r.Status), zap.String("format", r.Format),
			zap.String("fingerprint", r.Fingerprint),
			zap.Uint64("records", r.Records), zap.Uint32("chunks", r.Chunks), zap.Uint32("acked", r.Acked), zap.String("error", r.Error))
	}
	summary, _ := json.Marshal(map[string]any{"sources": reports, "records": records, "seconds": took.Seconds()})
	fmt.Println(string(summary))
	if cfg.ExitDelay > 0 {
		log.Info("keeping the admin server up before exiting", zap.Duration("exit_delay", cfg.ExitDelay))
		select {
		case <-ctx.Done():
		case <-time.After(cfg.ExitDelay):
		}
	}
	return err
}

func sourcesOf(cfg *config.Config, log *zap.Logger, m *load.Metrics) ([]*source.Source, error) {
	var out []*source.Source
	for _, f := range cfg.Files {
		out = append(out, source.File(f))
	}
	periods, err := cfg.Periods()
	if err != nil {
		return nil, err
	}
	if len(periods) > 0 {
		h := &source.HTTP{
			Client: &http.Client{Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				ResponseHeaderTimeout: cfg.DownloadTimeout,
				TLSHandshakeTimeout:   cfg.DownloadTimeout,
				IdleConnTimeout:       time.Minute,
			}},
			BaseURL: cfg.BaseURL,
			Retry: source.Retry{Attempts: cfg.DownloadAttempts, Base: cfg.DownloadBackoff, Max: cfg.DownloadMaxBackoff,
				MaxRetryAfter: cfg.MaxRetryAfter},
			Log:       log,
			Observe:   m.Observer(),
			UserAgent: cfg.UserAgent,
		}
		for _, p := range periods {
			out = append(out, h.Census(p.Year, p.Month))
		}
	}
	return out, nil
}
