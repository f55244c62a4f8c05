// Package simulate is kafka-scale's simulate command: a model of lag-based
// autoscaling of the computers, to choose the autoscaler's settings before
// a real cluster pays for them. It runs the HorizontalPodAutoscaler's
// algorithm (a usage ratio with a 10 % tolerance, stabilization windows,
// scaling policies, a 15 s sync period) on the metric KEDA's kafka trigger
// serves (the group's lag, capped at partitions x lagThreshold) or a lag in
// seconds, against a workload: bursts or steady arrivals of messages, a
// throughput per computer, partitions, the time a computer takes to start
// and the pause of each rebalance.
package simulate

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
	"github.com/kafka-scale/kafka-scale/pkg/flagenv"
)

// EnvPrefix begins the environment variable of every flag: --partitions is
// also KAFKA_SCALE_SIMULATE_PARTITIONS.
const EnvPrefix = "KAFKA_SCALE_SIMULATE_"

// Command is the simulate command.
func Command() cli.Command {
	return cli.Command{Name: "simulate", Summary: "simulate lag-based autoscaling of the computers (HPA and KEDA)", Run: run}
}

const help = `Simulates the computers' autoscaler: Kubernetes' HorizontalPodAutoscaler
algorithm fed by KEDA's kafka trigger (the consumer group's lag in messages,
capped at partitions x lagThreshold) or by the lag in seconds, against a
workload of loads, a throughput per computer and partitions. Prints the
replicas and the lag over time, then when the lag drained, its peak, and how
often the replicas changed direction. The defaults are the charts'
(charts/computer/values.yaml) and ten years of census months (36,000 chunks
of 500 records) produced at 1,000 chunks a second.

A load is AT:MESSAGES[@RATE]: MESSAGES messages (chunks of 500 census
records) produced from AT on, at RATE a second, or all at once without
@RATE; --load is repeatable. Policies are TYPE:VALUE/PERIOD, comma-separated
(pods:4/60s,percent:100/60s).

--sweep-lag-threshold and --sweep-scale-down-window run every combination of
their values and print one summary line each instead of a timeline.
--compare reads a recorded run (CSV with t_seconds and replicas columns, as
the autoscaling test writes) and prints how closely the simulation's replicas
follow it. --replay takes the simulation's settings from the "# flag=value"
lines at the top of such a file too, then compares. With --recorded-metric
the autoscaler reads the recorded run's metric instead of the modelled
workload's lag: its hpa_metric column (what the HPA read at each sync, from
its status) where it has one, else its metric column (what the trigger
served, sampled). The comparison then checks the autoscaler model alone,
apart from how well the workload is modelled.
`

// options is the command line, checked.
type options struct {
	cfg          Config
	every        time.Duration
	csvPath      string
	comparePath  string
	replayPath   string
	compareTol   int
	recorded     bool
	sweepLag     []int64
	sweepWindows []time.Duration
}

// Defaults is the simulation of the charts' defaults: KEDA's kafka trigger
// with the computer chart's lagThreshold and behavior on 12 partitions,
// computers as fast as one with the chart's resources, and ten years of
// months (120 x 300 chunks) loaded from local files.
func Defaults() Config {
	return Config{
		Workload: Workload{
			Partitions: 12,
			Loads:      []Load{{At: 0, Messages: 36000, Rate: 1000}},
			Throughput: DefaultThroughput,
			PodStart:   10 * time.Second,
			Rebalance:  3 * time.Second,
		},
		Autoscaler: Autoscaler{
			Signal:                 Records,
			LagThreshold:           10000,
			ActivationLagThreshold: 0,
			TargetSeconds:          60,
			MinReplicas:            1,
			MaxReplicas:            12,
			InitialReplicas:        1,
			Behavior:               ChartBehavior(),
			Tolerance:              DefaultTolerance,
			SyncPeriod:             DefaultSyncPeriod,
			PollingInterval:        15 * time.Second,
			CooldownPeriod:         300 * time.Second,
		},
		Step:   250 * time.Millisecond,
		Sample: time.Second,
		Limit:  6 * time.Hour,
	}
}

// DefaultThroughput is the messages (chunks of 500 records) a second one
// computer processes with the chart's resources (a request of 250
// millicores, a limit of one core): measured at 230-270 on a 2-core
// machine with a local broker, both with a quota of 250 millicores and of
// one core.
const DefaultThroughput = 250.0

// ChartBehavior is the behavior charts/computer/values.yaml sets.
func ChartBehavior() Behavior {
	return Behavior{
		ScaleUp: Rules{Window: 0, Select: SelectMax, Policies: []Policy{
			{Type: Pods, Value: 4, Period: 60 * time.Second}, {Type: Percent, Value: 100, Period: 60 * time.Second}}},
		ScaleDown: Rules{Window: 300 * time.Second, Select: SelectMin, Policies: []Policy{
			{Type: Percent, Value: 50, Period: 60 * time.Second}}},
	}
}

type durationList []time.Duration

func (d *durationList) String() string {
	var s []string
	for _, v := range *d {
		s = append(s, v.String())
	}
	return strings.Join(s, ",")
}

func (d *durationList) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		x, err := time.ParseDuration(strings.TrimSpace(item))
		if err != nil || x < 0 {
			return fmt.Errorf("%q: want durations such as 60s,5m", item)
		}
		*d = append(*d, x)
	}
	return nil
}

type intList []int64

func (l *intList) String() string {
	var s []string
	for _, v := range *l {
		s = append(s, strconv.FormatInt(v, 10))
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		x, err := strconv.ParseInt(strings.TrimSpace(item), 10, 64)
		if err != nil || x < 1 {
			return fmt.Errorf("%q: want whole numbers above 0, such as 50,100", item)
		}
		*l = append(*l, x)
	}
	return nil
}

// ParseLoad reads AT:MESSAGES[@RATE].
func ParseLoad(s string) (Load, error) {
	at, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Load{}, fmt.Errorf("load %q: want AT:MESSAGES[@RATE], such as 0s:3600 or 60s:1000@20", s)
	}
	var l Load
	var err error
	if l.At, err = time.ParseDuration(at); err != nil || l.At < 0 {
		return Load{}, fmt.Errorf("load %q: time %q: want a duration such as 90s", s, at)
	}
	msgs, rate, hasRate := strings.Cut(rest, "@")
	if l.Messages, err = strconv.ParseFloat(msgs, 64); err != nil || l.Messages < 0 {
		return Load{}, fmt.Errorf("load %q: messages %q: want a number", s, msgs)
	}
	if hasRate {
		if l.Rate, err = strconv.ParseFloat(rate, 64); err != nil || l.Rate <= 0 {
			return Load{}, fmt.Errorf("load %q: rate %q: want messages a second above 0", s, rate)
		}
	}
	return l, nil
}

func parse(env cli.Env, args []string) (*options, error) {
	o, err := parseWith(env, args, "", nil)
	if err != nil {
		return nil, err
	}
	if o.replayPath == "" {
		return o, o.check()
	}
	params, err := ReadParams(o.replayPath)
	if err != nil {
		return nil, cli.Usagef("--replay: %w", err)
	}
	if len(params) == 0 {
		return nil, cli.Usagef("--replay %s: no \"# flag=value\" lines to take the run's settings from", o.replayPath)
	}
	if o, err = parseWith(env, args, o.replayPath, params); err != nil {
		return nil, err
	}
	o.comparePath = o.replayPath
	return o, o.check()
}

// check rejects what only the whole command line makes wrong.
func (o *options) check() error {
	if o.recorded && o.comparePath == "" {
		return cli.Usagef("--recorded-metric: needs --compare or --replay, a recorded run to read the metric from")
	}
	return nil
}

// ReadParams reads the "# flag=value" comment lines at the top of a
// recorded run's CSV: the simulation's flags for the same workload.
func ReadParams(path string) ([][2]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "#")
		if !ok {
			break
		}
		k, v, ok := strings.Cut(strings.TrimSpace(rest), "=")
		if ok && !strings.ContainsAny(k, " \t") {
			out = append(out, [2]string{k, v})
		}
	}
	return out, nil
}

// parseWith parses the command line over params, flag values set first
// (those of the recorded run in the file from): the command line wins over
// them, they win over the environment.
func parseWith(env cli.Env, args []string, from string, params [][2]string) (*options, error) {
	d := Defaults()
	o := &options{cfg: d}
	c := &o.cfg
	w, a := &c.Workload, &c.Autoscaler
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	var (
		loads                     flagenv.StringList
		signal                    = string(a.Signal)
		upPolicies, downPolicies  = FormatPolicies(a.Behavior.ScaleUp.Policies), FormatPolicies(a.Behavior.ScaleDown.Policies)
		upSelect, downSelect      = string(a.Behavior.ScaleUp.Select), string(a.Behavior.ScaleDown.Select)
		minR, maxR, initialR      = int(a.MinReplicas), int(a.MaxReplicas), int(a.InitialReplicas)
		sweepLag                  intList
		sweepWindows              durationList
		lagThreshold, activateLag = a.LagThreshold, a.ActivationLagThreshold
	)
	fs.IntVar(&w.Partitions, "partitions", w.Partitions, "`partitions` of the compute topic")
	fs.Var(&loads, "load", "a load, `AT:MESSAGES[@RATE]`; repeatable (default 0s:36000@1000, ten years of months)")
	fs.Float64Var(&w.Throughput, "throughput", w.Throughput, "`messages` a second one computer processes")
	fs.DurationVar(&w.PodStart, "pod-start", w.PodStart, "`time` from a scale-up to the new computer consuming")
	fs.DurationVar(&w.Rebalance, "rebalance", w.Rebalance, "`time` the group stops consuming when a member joins or leaves")
	fs.StringVar(&signal, "signal", signal, "scale on `records` (KEDA's kafka trigger) or seconds (a Prometheus trigger on kafka_scale_consumer_lag_seconds)")
	fs.Int64Var(&lagThreshold, "lag-threshold", lagThreshold, "kafka trigger's target lag per computer, in `messages`")
	fs.Int64Var(&activateLag, "activation-lag-threshold", activateLag, "kafka trigger's activation lag, in `messages` (only matters with --min-replicas 0)")
	fs.BoolVar(&a.AllowIdleConsumers, "allow-idle-consumers", a.AllowIdleConsumers, "do not cap the metric at partitions x lag threshold")
	fs.Float64Var(&a.TargetSeconds, "target-seconds", a.TargetSeconds, "with --signal seconds: the lag in `seconds` the replicas are proportioned to")
	fs.DurationVar(&a.MetricDelay, "metric-delay", a.MetricDelay, "`age` of the metric when the HPA reads it (about a scrape interval through Prometheus)")
	fs.IntVar(&minR, "min-replicas", minR, "fewest `computers`")
	fs.IntVar(&maxR, "max-replicas", maxR, "most `computers`")
	fs.IntVar(&initialR, "initial-replicas", initialR, "`computers` at the start")
	fs.DurationVar(&a.Behavior.ScaleUp.Window, "scale-up-window", a.Behavior.ScaleUp.Window, "scale-up stabilization `window`")
	fs.StringVar(&upPolicies, "scale-up-policies", upPolicies, "scale-up `policies`")
	fs.StringVar(&upSelect, "scale-up-select", upSelect, "scale-up select `policy`: Max, Min or Disabled")
	fs.DurationVar(&a.Behavior.ScaleDown.Window, "scale-down-window", a.Behavior.ScaleDown.Window, "scale-down stabilization `window`")
	fs.StringVar(&downPolicies, "scale-down-policies", downPolicies, "scale-down `policies`")
	fs.StringVar(&downSelect, "scale-down-select", downSelect, "scale-down select `policy`: Max, Min or Disabled")
	fs.Float64Var(&a.Tolerance, "tolerance", a.Tolerance, "HPA `tolerance` around a usage ratio of 1")
	fs.DurationVar(&a.SyncPeriod, "sync-period", a.SyncPeriod, "HPA controller's sync `period`")
	fs.DurationVar(&a.SyncOffset, "sync-offset", a.SyncOffset, "`time` of the HPA's first sync after the start")
	fs.DurationVar(&c.Step, "step", c.Step, "simulation time `step`")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "simulated `time`; 0: until the lag is drained and the replicas are back at the minimum")
	fs.DurationVar(&o.every, "every", 15*time.Second, "`interval` of the printed timeline; 0 prints only the summary")
	fs.StringVar(&o.csvPath, "csv", "", "also write every second of the run to `file` as CSV")
	fs.StringVar(&o.comparePath, "compare", "", "compare the replicas with a recorded run's, a CSV `file`")
	fs.StringVar(&o.replayPath, "replay", "", "simulate a recorded run: take the settings from its CSV `file`'s \"# flag=value\" lines (flags given win), and compare")
	fs.IntVar(&o.compareTol, "compare-tolerance", 1, "with --compare: `replicas` of difference that still agree")
	fs.BoolVar(&o.recorded, "recorded-metric", false, "with --compare or --replay: the autoscaler reads the recorded run's metric (hpa_metric, else metric column), not the modelled lag")
	fs.Var(&sweepLag, "sweep-lag-threshold", "sweep these lag `thresholds`, comma-separated")
	fs.Var(&sweepWindows, "sweep-scale-down-window", "sweep these scale-down `windows`, comma-separated")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s simulate [flags]\n\n%s\nFlags:\n", cli.Name, help)
		fs.PrintDefaults()
	}
	for _, p := range params {
		if p[0] == "replay" || fs.Lookup(p[0]) == nil {
			return nil, cli.Usagef("--replay %s: unknown setting %q", from, p[0])
		}
		if err := fs.Set(p[0], p[1]); err != nil {
			return nil, cli.Usagef("--replay %s: %s=%s: %w", from, p[0], p[1], err)
		}
	}
	if err := cli.ParseFlags(fs, env, EnvPrefix, args); err != nil {
		return nil, err
	}
	if len(loads) > 0 {
		w.Loads = nil
		for _, s := range loads {
			l, err := ParseLoad(s)
			if err != nil {
				return nil, cli.Usagef("--load: %w", err)
			}
			w.Loads = append(w.Loads, l)
		}
	}
	switch Signal(signal) {
	case Records, Seconds:
		a.Signal = Signal(signal)
	default:
		return nil, cli.Usagef("--signal %q: want records or seconds", signal)
	}
	a.LagThreshold, a.ActivationLagThreshold = lagThreshold, activateLag
	a.MinReplicas, a.MaxReplicas, a.InitialReplicas = int32(minR), int32(maxR), int32(initialR)
	var err error
	if a.Behavior.ScaleUp.Policies, err = ParsePolicies(upPolicies); err != nil {
		return nil, cli.Usagef("--scale-up-policies: %w", err)
	}
	if a.Behavior.ScaleDown.Policies, err = ParsePolicies(downPolicies); err != nil {
		return nil, cli.Usagef("--scale-down-policies: %w", err)
	}
	if a.Behavior.ScaleUp.Select, err = ParseSelect(upSelect); err != nil {
		return nil, cli.Usagef("--scale-up-select: %w", err)
	}
	if a.Behavior.ScaleDown.Select, err = ParseSelect(downSelect); err != nil {
		return nil, cli.Usagef("--scale-down-select: %w", err)
	}
	if o.every < 0 {
		return nil, cli.Usagef("--every %v: want 0 or more", o.every)
	}
	if o.compareTol < 0 {
		return nil, cli.Usagef("--compare-tolerance %d: want 0 or more", o.compareTol)
	}
	o.sweepLag, o.sweepWindows = sweepLag, sweepWindows
	if (len(o.sweepLag) > 0 || len(o.sweepWindows) > 0) && (o.comparePath != "" || o.csvPath != "") {
		return nil, cli.Usagef("--sweep-* and --compare or --csv: one at a time")
	}
	if a.InitialReplicas < a.MinReplicas || a.InitialReplicas > a.MaxReplicas {
		return nil, cli.Usagef("--initial-replicas %d: want from --min-replicas %d to --max-replicas %d", a.InitialReplicas, a.MinReplicas, a.MaxReplicas)
	}
	if err := c.Validate(); err != nil {
		return nil, &cli.UsageError{Err: err}
	}
	return o, nil
}

func run(_ context.Context, env cli.Env, args []string) error {
	o, err := parse(env, args)
	if err != nil {
		return err
	}
	if len(o.sweepLag) > 0 || len(o.sweepWindows) > 0 {
		return sweep(env.Stdout, o)
	}
	var recorded []Sample
	if o.comparePath != "" {
		f, err := os.Open(o.comparePath)
		if err != nil {
			return fmt.Errorf("open %s: %w", o.comparePath, err)
		}
		recorded, err = ReadCSV(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", o.comparePath, err)
		}
		if o.recorded {
			o.cfg.Recorded = recorded
		}
	}
	res, err := Run(o.cfg)
	if err != nil {
		return err
	}
	describe(env.Stdout, o.cfg)
	if o.every > 0 {
		if err := timeline(env.Stdout, res.Samples, o.every); err != nil {
			return err
		}
	}
	summarize(env.Stdout, o.cfg, res.Summary)
	if o.csvPath != "" {
		f, err := os.Create(o.csvPath)
		if err != nil {
			return fmt.Errorf("create %s: %w", o.csvPath, err)
		}
		if err := WriteCSV(f, res.Samples); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", o.csvPath, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", o.csvPath, err)
		}
	}
	if o.comparePath != "" {
		ag := Compare(recorded, res.Samples, int32(o.compareTol), o.cfg.Autoscaler.MinReplicas)
		fmt.Fprintf(env.Stdout, "\ncompared with %s:\n%s", o.comparePath, ag)
	}
	return nil
}

func describe(w io.Writer, c Config) {
	wl, a := c.Workload, c.Autoscaler
	var loads []string
	for _, l := range wl.Loads {
		s := fmt.Sprintf("%g messages at %v", l.Messages, l.At)
		if l.Rate > 0 {
			s = fmt.Sprintf("%g messages from %v at %g/s", l.Messages, l.At, l.Rate)
		}
		loads = append(loads, s)
	}
	fmt.Fprintf(w, "workload: %s; %d partitions; %g messages/s per computer; pod start %v; rebalance %v\n",
		strings.Join(loads, ", "), wl.Partitions, wl.Throughput, wl.PodStart, wl.Rebalance)
	signal := fmt.Sprintf("kafka lag, lagThreshold %d, activation %d", a.LagThreshold, a.ActivationLagThreshold)
	if a.Signal == Seconds {
		signal = fmt.Sprintf("lag seconds (max over partitions), target %gs, metric delay %v", a.TargetSeconds, a.MetricDelay)
	}
	if len(c.Recorded) > 0 {
		signal += ", read from the recorded run"
	}
	fmt.Fprintf(w, "autoscaler: %s; replicas %d-%d from %d; tolerance %g; sync %v\n",
		signal, a.MinReplicas, a.MaxReplicas, a.InitialReplicas, a.Tolerance, a.SyncPeriod)
	b := a.Behavior
	fmt.Fprintf(w, "behavior: up window %v %s %s; down window %v %s %s\n\n",
		b.ScaleUp.Window, b.ScaleUp.Select, FormatPolicies(b.ScaleUp.Policies),
		b.ScaleDown.Window, b.ScaleDown.Select, FormatPolicies(b.ScaleDown.Policies))
}

func timeline(w io.Writer, samples []Sample, every time.Duration) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREPLICAS\tMEMBERS\tLAG\tLAG-SECONDS\tMETRIC\tMESSAGES/S")
	next := time.Duration(0)
	for i, s := range samples {
		changed := i > 0 && s.Replicas != samples[i-1].Replicas
		if s.T < next && !changed && i != len(samples)-1 {
			continue
		}
		if s.T >= next {
			next = s.T.Truncate(every) + every
		}
		fmt.Fprintf(tw, "%v\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.1f\n", s.T, s.Replicas, s.Members, s.Lag, s.LagSeconds, s.Metric, s.Rate)
	}
	fmt.Fprintln(tw)
	return tw.Flush()
}

func summarize(w io.Writer, c Config, s Summary) {
	drain := "not drained within the run"
	if s.Drained {
		drain = "drained after " + s.Drain.String()
	}
	settle := "not back at the minimum within the run"
	if s.Settled {
		settle = fmt.Sprintf("back at %d at %v", c.Autoscaler.MinReplicas, s.Settle)
	}
	fmt.Fprintf(w, "lag: %s, peak %.0f messages, oldest waited %.0fs\n", drain, s.PeakLag, s.PeakLagSeconds)
	fmt.Fprintf(w, "replicas: peak %d, %s; %d scale events, %d direction changes; %.1f replica-minutes\n",
		s.PeakReplicas, settle, s.ScaleEvents, s.DirectionChanges, s.ReplicaSeconds/60)
}

func sweep(w io.Writer, o *options) error {
	lags := o.sweepLag
	if len(lags) == 0 {
		lags = []int64{o.cfg.Autoscaler.LagThreshold}
	}
	windows := o.sweepWindows
	if len(windows) == 0 {
		windows = []time.Duration{o.cfg.Autoscaler.Behavior.ScaleDown.Window}
	}
	describe(w, o.cfg)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LAG-THRESHOLD\tDOWN-WINDOW\tDRAIN\tPEAK-LAG-S\tPEAK-REPLICAS\tBACK-AT-MIN\tSCALE-EVENTS\tDIRECTION-CHANGES\tREPLICA-MINUTES")
	for _, lag := range lags {
		for _, win := range windows {
			c := o.cfg
			c.Autoscaler.LagThreshold = lag
			c.Autoscaler.Behavior.ScaleDown.Window = win
			res, err := Run(c)
			if err != nil {
				return err
			}
			s := res.Summary
			drain, settle := "-", "-"
			if s.Drained {
				drain = s.Drain.String()
			}
			if s.Settled {
				settle = s.Settle.String()
			}
			fmt.Fprintf(tw, "%d\t%v\t%s\t%.0f\t%d\t%s\t%d\t%d\t%.1f\n", lag, win, drain, s.PeakLagSeconds, s.PeakReplicas,
				settle, s.ScaleEvents, s.DirectionChanges, s.ReplicaSeconds/60)
		}
	}
	return tw.Flush()
}
