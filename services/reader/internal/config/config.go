// Package config holds the reader's configuration: flags, their environment
// twins, and validation that names the bad value.
package config

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/flagenv"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/pkg/service"
	"github.com/kafka-scale/kafka-scale/pkg/version"
	"github.com/kafka-scale/kafka-scale/services/reader/internal/source"
)

// DefaultChunkSize is the number of records per chunk; see the Performance
// section of the README for the measurements behind it.
const DefaultChunkSize = 500

// DefaultChunkCodec compresses each chunk's records with lz4, so that the
// producer need not compress the batches again (load.ProducerConfig).
const DefaultChunkCodec = "lz4"

// DefaultParallel is the number of sources read at once.
const DefaultParallel = 2

// Codec is the chunk codec of --chunk-codec; Validate has checked it.
func (c *Config) Codec() schema.Codec {
	codec, _ := schema.ParseCodec(c.ChunkCodec)
	return codec
}

// Config is everything the reader is told.
type Config struct {
	service.Common

	Files   flagenv.StringList
	Years   flagenv.StringList
	Months  flagenv.StringList
	BaseURL string

	ComputeTopic      string
	Partitions        int
	ReplicationFactor int
	TopicConfig       flagenv.StringList
	ChunkSize         int
	ChunkCodec        string
	Parallel          int

	DownloadAttempts   int
	DownloadBackoff    time.Duration
	DownloadMaxBackoff time.Duration
	DownloadTimeout    time.Duration
	MaxRetryAfter      time.Duration
	UserAgent          string
	ExitDelay          time.Duration
}

// DefaultUserAgent names the project and its version: the census site turns
// away clients that do not say who they are.
func DefaultUserAgent() string {
	return "kafka-scale-reader/" + version.Version + " (+https://github.com/kafka-scale/kafka-scale)"
}

// Parse reads args and the environment (lookup; os.LookupEnv when nil).
func Parse(args []string, lookup func(string) (string, bool)) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("reader", flag.ContinueOnError)
	b := flagenv.New(fs, "")
	fs.Var(&c.Files, "from-file", "census file to load (.gz or plain); repeatable or comma-separated")
	fs.Var(&c.Years, "years", "years to download from the census site, e.g. 2019,2020")
	fs.Var(&c.Months, "months", "months to download (jan..dec or 1..12), or '*' for all")
	fs.StringVar(&c.BaseURL, "census-base-url", source.DefaultCensusBaseURL,
		"base URL of the CPS datasets; files are <year>/basic/<mon><yy>pub.zip or <mon><yy>pub.dat.gz below it")
	fs.StringVar(&c.ComputeTopic, "compute-topic", "compute", "topic the chunks are produced to")
	fs.IntVar(&c.Partitions, "partitions", 12, "partitions of the compute topic when the reader creates it (the most computers that can share the work)")
	fs.IntVar(&c.ReplicationFactor, "replication-factor", extkafka.BrokerDefaultReplication,
		"replication factor of the compute topic when the reader creates it; -1 takes the broker's default.replication.factor (3 on a production cluster)")
	fs.Var(&c.TopicConfig, "topic-config", "topic config key=value for the compute topic when created; repeatable")
	fs.IntVar(&c.ChunkSize, "chunk-size", DefaultChunkSize, "records per chunk")
	fs.StringVar(&c.ChunkCodec, "chunk-codec", DefaultChunkCodec,
		"compression of each chunk's records: lz4 (chunk schema version 2; the compute topic's batches are then not compressed again) or none (version 1, for computers older than version 2)")
	fs.IntVar(&c.Parallel, "parallel", DefaultParallel, "sources read at once")
	fs.IntVar(&c.DownloadAttempts, "download-attempts", 6, "attempts per download request (network errors, 403, 429 and 5xx are retried)")
	fs.DurationVar(&c.DownloadBackoff, "download-backoff", time.Second, "first backoff between download attempts, doubled each time")
	fs.DurationVar(&c.DownloadMaxBackoff, "download-max-backoff", 30*time.Second, "longest backoff between download attempts")
	fs.DurationVar(&c.DownloadTimeout, "download-timeout", 30*time.Second, "time to wait for a server's response headers")
	fs.DurationVar(&c.MaxRetryAfter, "download-max-retry-after", 5*time.Minute, "longest wait a server's Retry-After header is granted")
	fs.StringVar(&c.UserAgent, "user-agent", DefaultUserAgent(), "User-Agent header of the downloads")
	fs.DurationVar(&c.ExitDelay, "exit-delay", 0,
		"keep the admin server up this long after the load, so that Prometheus scrapes the final counts (a scrape interval or two in Kubernetes)")
	c.Common.RegisterFlags(fs, b)
	if err := b.Parse(args, lookup); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q: sources are given with --from-file or --years/--months", fs.Args())
	}
	return c, nil
}

// Validate checks the configuration, naming the first bad values.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Files) == 0 && len(c.Years) == 0 {
		errs = append(errs, errors.New("no sources: give --from-file, or --years with --months"))
	}
	if len(c.Years) > 0 && len(c.Months) == 0 {
		errs = append(errs, errors.New("--years needs --months (e.g. --months jan,feb or '*')"))
	}
	if _, err := c.Periods(); err != nil {
		errs = append(errs, err)
	}
	if c.ComputeTopic == "" {
		errs = append(errs, errors.New("--compute-topic is empty"))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("--partitions %d: want at least 1", c.Partitions))
	}
	if c.ReplicationFactor < 1 && c.ReplicationFactor != extkafka.BrokerDefaultReplication {
		errs = append(errs, fmt.Errorf("--replication-factor %d: want at least 1, or -1 for the broker's default", c.ReplicationFactor))
	}
	if _, err := c.TopicConfigMap(); err != nil {
		errs = append(errs, err)
	}
	if c.ChunkSize < 1 || c.ChunkSize > 900 {
		// A chunk must fit Kafka's default 1 MB message size: 900 records of
		// 1001 bytes plus headers do.
		errs = append(errs, fmt.Errorf("--chunk-size %d: want 1 to 900 records", c.ChunkSize))
	}
	if _, err := schema.ParseCodec(c.ChunkCodec); err != nil {
		errs = append(errs, fmt.Errorf("--chunk-codec: %w", err))
	}
	if c.Parallel < 1 {
		errs = append(errs, fmt.Errorf("--parallel %d: want at least 1", c.Parallel))
	}
	if c.UserAgent == "" {
		errs = append(errs, errors.New("--user-agent is empty: the census site turns away requests without one"))
	}
	if c.DownloadAttempts < 1 {
		errs = append(errs, fmt.Errorf("--download-attempts %d: want at least 1", c.DownloadAttempts))
	}
	return errors.Join(errs...)
}

// Period is one month of one year.
type Period struct{ Year, Month int }

// Periods expands --years and --months.
func (c *Config) Periods() ([]Period, error) {
	var months []int
	for _, m := range c.Months {
		if m == "*" {
			months = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
			break
		}
		n, err := census.ParseMonth(m)
		if err != nil {
			return nil, fmt.Errorf("--months: %w", err)
		}
		months = append(months, n)
	}
	var out []Period
	for _, y := range c.Years {
		year, err := strconv.Atoi(y)
		if err != nil || year < 1994 || year > 2100 {
			return nil, fmt.Errorf("--years: %q is not a year of the basic monthly files (1994 on)", y)
		}
		for _, m := range months {
			out = append(out, Period{year, m})
		}
	}
	return out, nil
}

// TopicConfigMap parses --topic-config.
func (c *Config) TopicConfigMap() (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range c.TopicConfig {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--topic-config %q: want key=value", kv)
		}
		m[k] = v
	}
	return m, nil
}
