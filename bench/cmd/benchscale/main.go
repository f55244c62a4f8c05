// Command benchscale measures how the pipeline's cost grows with its input:
// the real reader, computers and aggregator end to end on 1, 3, 12 and 36
// generated months (150,000 records each) against a local broker it starts
// and removes, then 12 months on a local three-broker cluster. It writes
// bench/results/scale-<date>.md and a plot beside it (scale-<date>.png).
// `make bench-scale` runs it from the repository's top directory.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/kafka-scale/kafka-scale/bench/internal/machine"
	"github.com/kafka-scale/kafka-scale/bench/internal/scale"
)

func main() {
	os.Exit(run())
}

func run() int {
	cfg, out, keep, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started, loadBefore := time.Now(), machine.LoadAvg()
	if cfg.Work, err = os.MkdirTemp("", "kafka-scale-benchscale-"); err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		return 1
	}
	logf("run directory %s; load average %s", cfg.Work, loadBefore)
	points, cluster, err := cfg.Measure(ctx)
	if err == nil {
		err = write(cfg, out, points, cluster, started, loadBefore)
	}
	if keep {
		logf("logs kept in %s", cfg.Work)
	} else {
		_ = os.RemoveAll(cfg.Work)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string) (cfg *scale.Config, out string, keep bool, err error) {
	cfg = &scale.Config{Logf: logf}
	fs := flag.NewFlagSet("benchscale", flag.ContinueOnError)
	fs.StringVar(&cfg.Root, "root", ".", "the repository's top directory (bin/, scripts/)")
	fs.StringVar(&cfg.Cache, "cache", defaultCache(), "directory of the generated months, kept between runs")
	months := fs.String("months", "1,3,12,36", "input sizes, in months of --records records each, ascending")
	fs.IntVar(&cfg.Data.Records, "records", 150_000, "records per generated month")
	seed := fs.Uint64("seed", 1, "seed of the first month; month i gets seed+i")
	fs.IntVar(&cfg.Data.FirstYear, "first-year", 2020, "year of the first generated month (January)")
	fs.IntVar(&cfg.Runs, "runs", 3, "runs of every size; the report gives their median, min and max")
	fs.IntVar(&cfg.WarmUps, "warm-ups", 2, "unmeasured runs of the smallest size on each fresh broker")
	fs.IntVar(&cfg.Computers, "computers", 1, "computer replicas")
	fs.IntVar(&cfg.Partitions, "partitions", 12, "partitions of the compute topic")
	fs.IntVar(&cfg.Port, "port", 29520, "port of the single broker (KAFKA_PORT of scripts/kafka-local.sh; its controller the next)")
	fs.IntVar(&cfg.ClusterPort, "cluster-port", 29540, "first node's port of the three-broker cluster (KAFKA_CLUSTER_PORT of scripts/kafka-cluster.sh, 22 ports from it); 0 skips the cluster")
	fs.IntVar(&cfg.ClusterMonths, "cluster-months", 12, "size measured on the three-broker cluster too")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "directory for CPU and heap profiles of the services during the largest size's first run")
	fs.StringVar(&out, "out", "bench/results", "directory of the report, scale-<date>.md and .png")
	fs.BoolVar(&keep, "keep", false, "keep the run directory (logs) and print its path")
	if err := fs.Parse(args); err != nil {
		return nil, "", false, err
	}
	if fs.NArg() > 0 {
		return nil, "", false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.Data.Seed = *seed
	for f := range strings.SplitSeq(*months, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, "", false, fmt.Errorf("--months %q: %q is not a number", *months, f)
		}
		cfg.Months = append(cfg.Months, n)
	}
	if err := cfg.Validate(); err != nil {
		return nil, "", false, err
	}
	if cfg.Root, err = filepath.Abs(cfg.Root); err != nil {
		return nil, "", false, err
	}
	for _, bin := range scale.Services {
		if _, err := os.Stat(filepath.Join(cfg.Root, "bin", bin)); err != nil {
			return nil, "", false, fmt.Errorf("%w: run make build first", err)
		}
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, "", false, err
		}
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(cfg.Root, out)
	}
	scale.Cores = runtime.NumCPU()
	return cfg, out, keep, nil
}

// defaultCache is kafka-scale's cache directory (KAFKA_SCALE_CACHE, as the
// scripts read it), bench-data under it.
func defaultCache() string {
	if d := os.Getenv("KAFKA_SCALE_CACHE"); d != "" {
		return filepath.Join(d, "bench-data")
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "kafka-scale", "bench-data")
}

func write(cfg *scale.Config, dir string, points []scale.Point, cluster *scale.Point, started time.Time, loadBefore string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	date := time.Now().Format("2006-01-02")
	base := filepath.Join(dir, "scale-"+date)
	rep := &scale.Report{
		Title:    "kafka-scale scale curve, " + date,
		Command:  "make bench-scale",
		Plot:     filepath.Base(base) + ".png",
		Points:   points,
		Machine:  machineRows(loadBefore, started, cfg.KafkaVersion),
		Settings: scale.Settings(cfg),
	}
	if args := strings.Join(os.Args[1:], " "); args != "" {
		rep.Command = "go run ./bench/cmd/benchscale " + args
	}
	if cluster != nil {
		rep.Cluster = cluster
		for i := range points {
			if points[i].Months == cluster.Months {
				rep.ClusterBase = &points[i]
			}
		}
	}
	if err := scale.WritePNG(base+".png", points); err != nil {
		return err
	}
	f, err := os.Create(base + ".md")
	if err != nil {
		return err
	}
	if err := rep.WriteMarkdown(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	logf("report written to %s.md and .png (%v in all)", base, time.Since(started).Round(time.Second))
	return nil
}

func machineRows(loadBefore string, started time.Time, kafkaVersion string) [][2]string {
	_, rdver := kafka.LibraryVersion()
	return [][2]string{
		{"cores", strconv.Itoa(runtime.NumCPU())},
		{"CPU", machine.CPUModel()},
		{"load average before", loadBefore},
		{"load average after", machine.LoadAvg()},
		{"Go", runtime.Version()},
		{"librdkafka", rdver},
		{"Kafka", kafkaVersion},
		{"whole run", time.Since(started).Round(time.Second).String()},
	}
}

// logf prints progress on stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s benchscale: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
