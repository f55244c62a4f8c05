// Package service runs a service's main: the configuration every service
// shares (admin address, Kafka connection, logs, --version), the logger,
// the metrics registry, the admin server, signal handling, and one exit
// point with conventional exit codes.
//
// The admin server starts before the service and stops after it: /healthz
// answers from the first second, whatever Kafka is doing, and /readyz
// answers from the probe the service sets as its lifecycle goes on. A slow
// or absent broker shows as "not ready", never as a liveness failure.
package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/flagenv"
	"github.com/kafka-scale/kafka-scale/pkg/httpserver"
	"github.com/kafka-scale/kafka-scale/pkg/logging"
	"github.com/kafka-scale/kafka-scale/pkg/malloc"
	"github.com/kafka-scale/kafka-scale/pkg/metrics"
	"github.com/kafka-scale/kafka-scale/pkg/version"
)

// Common is the configuration every service shares.
type Common struct {
	MetricsAddr string
	Version     bool
	Kafka       extkafka.Config
	Log         logging.Config
}

// RegisterFlags adds --metrics-addr, --version, the Kafka connection and
// the log flags to fs.
func (c *Common) RegisterFlags(fs *flag.FlagSet, b *flagenv.Binder) {
	fs.StringVar(&c.MetricsAddr, "metrics-addr", ":9090", "admin server address: /metrics, /healthz, /readyz, /debug/pprof")
	fs.BoolVar(&c.Version, "version", false, "print the version and exit")
	c.Kafka.RegisterFlags(fs, b)
	c.Log.RegisterFlags(fs)
}

// Base returns c; services embed Common and so satisfy Config's Base.
func (c *Common) Base() *Common { return c }

// Config is a service's configuration.
type Config interface {
	Base() *Common
	Validate() error
}

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1 // the service ran and failed
	ExitUsage  = 2 // bad flags or configuration
)

// Runtime is what Main hands a service: the logger, the process's one
// metrics registry (served on /metrics), and the probe /readyz answers
// from, which starts not ready ("starting").
type Runtime struct {
	Log      *zap.Logger
	Registry *prometheus.Registry
	Probe    *httpserver.Probe
	// AdminAddr is the address the admin server listens on.
	AdminAddr string
}

// Main parses the configuration, builds the logger, starts the admin
// server, and runs serve until it returns or SIGINT/SIGTERM cancels its
// context; the admin server stops last. It returns the exit code.
func Main[C Config](name string, parse func() (C, error), serve func(context.Context, C, *Runtime) error) int {
	return run(name, os.Stdout, os.Stderr, parse, serve)
}

func run[C Config](name string, stdout, stderr io.Writer, parse func() (C, error), serve func(context.Context, C, *Runtime) error) int {
	cfg, err := parse()
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return ExitUsage
	}
	base := cfg.Base()
	if base.Version {
		fmt.Fprintln(stdout, version.String(name, "librdkafka", extkafka.LibraryVersion()))
		return ExitOK
	}
	if err := errors.Join(cfg.Validate(), base.Kafka.Validate()); err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration: %v\n", name, err)
		return ExitUsage
	}
	log, err := logging.New(base.Log, name)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return ExitUsage
	}
	defer func() { _ = log.Sync() }()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("starting", zap.String("version", version.Version), zap.String("commit", version.Commit))
	extkafka.LogLinkInfo(log)
	boundMemory(log)

	reg := metrics.NewRegistry(name)
	probe := httpserver.NewProbe(reg, "starting")
	admin, err := httpserver.Listen("admin", base.MetricsAddr, httpserver.AdminHandler(reg, probe), log)
	if err != nil {
		log.Error(name+" failed", zap.Error(err))
		return ExitFailed
	}
	// A service that cannot serve its probes is restarted by the kubelet
	// anyway: an admin server that fails stops the service too.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	adminCtx, stopAdmin := context.WithCancel(context.Background())
	adminDone := make(chan error, 1)
	go func() {
		err := admin.Serve(adminCtx)
		if err != nil {
			cancel(err)
		}
		adminDone <- err
	}()
	// Stopping is not ready: a shutdown that flushes and commits takes a
	// while, and no new work should be routed here meanwhile.
	stopping := context.AfterFunc(ctx, func() { probe.SetNotReady("stopping") })
	err = serve(ctx, cfg, &Runtime{Log: log, Registry: reg, Probe: probe, AdminAddr: admin.Addr()})
	stopping()
	stopAdmin()
	if aerr := <-adminDone; aerr != nil {
		err = errors.Join(err, aerr)
	}
	if err != nil {
		log.Error(name+" failed", zap.Error(err))
		return ExitFailed
	}
	log.Info("stopped cleanly")
	return ExitOK
}

// DefaultGCPercent is the Go garbage collector's target (GOGC) a service
// runs with unless the environment sets GOGC: the heap may grow to 1.5
// times what is live between collections, not Go's 2 times. Each service
// turns over its input in buffers that are garbage a moment later (fetched
// messages, chunks, results), so its heap target, not its live data, sets
// its resident memory. On 2 cores, a 36-month load peaked at computer 34 MB
// against 50 MB at Go's default, reader 36 against 41 MB, and took no more
// CPU (bench/README.md).
const DefaultGCPercent = 50

// setGCPercent sets DefaultGCPercent unless lookupEnv (os.LookupEnv) finds
// GOGC, which the runtime has read, and says which is in force.
func setGCPercent(lookupEnv func(string) (string, bool)) string {
	if v, ok := lookupEnv("GOGC"); ok {
		return v + " (GOGC)"
	}
	debug.SetGCPercent(DefaultGCPercent)
	return strconv.Itoa(DefaultGCPercent)
}

// boundMemory sets the garbage collector's target and logs it with the C
// allocator's parameters as package malloc left them (every service
// imports it through this package).
func boundMemory(log *zap.Logger) {
	gc := setGCPercent(os.LookupEnv)
	settings := malloc.Settings()
	for _, s := range settings {
		if s.Refused {
			log.Warn("C allocator setting refused", zap.Stringer("setting", s))
		}
	}
	log.Info("memory", zap.String("gogc", gc), zap.Stringers("malloc", settings))
}
