// Command bench measures the pipeline on this machine and writes a Markdown
// report of every figure: the limits (parsing and gzip on one core, the
// broker's produce and consume rates), each service alone, the whole
// pipeline with one and two computers, the computer's pause when a member
// joins or leaves its group, and the settings behind the defaults (chunk
// size, transaction batch, linger, compression).
//
// It starts its own broker with scripts/kafka-local.sh on a port of its own
// and stops it at the end whatever happens; it runs the binaries of
// `make build`. `make bench` runs it from the repository's top directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kafka-scale/kafka-scale/pkg/census"
)

type options struct {
	root        string
	port        int
	year        int
	months      []int
	records     int
	runs        int
	limitRuns   int
	out         string
	sweeps      bool
	rebalance   bool
	only        string
	startupRuns int
	keep        bool
	profileDir  string
	partitions  int
	stageCopies int
	chunkSizes  []int
	batchChunks []int
	lingers     []int
	codecs      []string
}

func main() {
	os.Exit(run())
}

func run() int {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := newBench(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	err = b.run(ctx)
	b.close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if b.work != "" && opts.keep {
			fmt.Fprintln(os.Stderr, "bench: logs in", b.work)
		}
		return 1
	}
	return 0
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.root, "root", ".", "the repository's top directory (bin/, scripts/)")
	fs.IntVar(&o.port, "port", 29492, "port of the broker the benchmark starts (KAFKA_PORT of scripts/kafka-local.sh)")
	fs.IntVar(&o.year, "year", 2020, "year of the generated census files")
	months := fs.String("months", "jan,feb,mar", "months of the generated census files")
	fs.IntVar(&o.records, "records", 150_000, "records per generated file")
	fs.IntVar(&o.runs, "runs", 3, "runs of each pipeline measurement; the report gives their median, min and max")
	fs.IntVar(&o.limitRuns, "limit-runs", 5, "runs of each in-process limit (parse, gzip)")
	fs.IntVar(&o.partitions, "partitions", 12, "partitions of the compute topics")
	fs.IntVar(&o.stageCopies, "stage-copies", 4, "copies of the files in the compute topic the computers drain alone (at least 1)")
	fs.StringVar(&o.out, "out", "bench/results", "directory of the report, <date>.md")
	fs.BoolVar(&o.sweeps, "sweeps", true, "measure the settings behind the defaults: chunk size, batch, linger, compression")
	fs.BoolVar(&o.rebalance, "rebalance", true, "measure the computer's pause when a member joins and leaves")
	fs.StringVar(&o.only, "only", "", "run one part alone: startup (a new computer's start to its first chunk, and the first's pause, for both protocols; a minute or two)")
	fs.IntVar(&o.startupRuns, "startup-runs", 5, "runs of the rebalance scenario per protocol, which measures a new computer's start")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (data, logs) and print its path")
	fs.StringVar(&o.profileDir, "profile", "", "directory to save 2 s CPU profiles of the first measured reader and computer in (reader.pprof, computer.pprof)")
	chunkSizes := fs.String("chunk-sizes", "100,250,500,900", "chunk sizes of the sweep (records)")
	batches := fs.String("batch-chunks", "100,200,400,800", "computer --batch-chunks of the sweep")
	lingers := fs.String("lingers", "10,50,100", "reader linger.ms of the sweep")
	codecs := fs.String("codecs", "chunk-lz4,batch-lz4,batch-zstd,none",
		"compressions of the sweep: chunk-lz4 (the reader's --chunk-codec), batch-<compression.type> (librdkafka's), none")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, m := range strings.Split(*months, ",") {
		n, err := census.ParseMonth(strings.TrimSpace(m))
		if err != nil {
			return nil, fmt.Errorf("--months: %w", err)
		}
		o.months = append(o.months, n)
	}
	var err error
	if o.chunkSizes, err = ints("--chunk-sizes", *chunkSizes); err != nil {
		return nil, err
	}
	if o.batchChunks, err = ints("--batch-chunks", *batches); err != nil {
		return nil, err
	}
	if o.lingers, err = ints("--lingers", *lingers); err != nil {
		return nil, err
	}
	o.codecs = strings.Split(*codecs, ",")
	for _, c := range o.codecs {
		if c != "chunk-lz4" && c != "none" && !strings.HasPrefix(c, "batch-") {
			return nil, fmt.Errorf("--codecs: %q: want chunk-lz4, batch-<compression.type> or none", c)
		}
	}
	switch o.only {
	case "":
	case onlyStartup:
		o.rebalance, o.sweeps = true, false
	default:
		return nil, fmt.Errorf("--only %q: want startup", o.only)
	}
	switch {
	case o.startupRuns < 1:
		return nil, fmt.Errorf("--startup-runs %d: want at least 1", o.startupRuns)
	case o.runs < 1 || o.limitRuns < 1:
		return nil, fmt.Errorf("--runs %d, --limit-runs %d: want at least 1", o.runs, o.limitRuns)
	case o.stageCopies < 1:
		return nil, fmt.Errorf("--stage-copies %d: want at least 1", o.stageCopies)
	case o.records < 1000:
		return nil, fmt.Errorf("--records %d: want at least 1000", o.records)
	}
	if o.root, err = filepath.Abs(o.root); err != nil {
		return nil, err
	}
	for _, bin := range []string{"reader", "computer", "aggregator"} {
		if _, err := os.Stat(filepath.Join(o.root, "bin", bin)); err != nil {
			return nil, fmt.Errorf("%w: run make build first", err)
		}
	}
	return o, nil
}

func ints(flagName, s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n < 0 {
			return nil, fmt.Errorf("%s: %q is not a number", flagName, f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New(flagName + ": empty")
	}
	return out, nil
}

// logf prints progress on stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
