package simulate

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Signal is what the autoscaler scales on.
type Signal string

const (
	// Records is KEDA's kafka trigger: the group's lag in messages, with an
	// AverageValue target of lagThreshold per consumer.
	Records Signal = "records"
	// Seconds is KEDA's prometheus trigger on the computers' own
	// kafka_scale_consumer_lag_seconds, max over partitions, with a Value
	// target: the replicas grow in proportion to how late the group is.
	Seconds Signal = "seconds"
)

// Load is a batch of messages the reader produces: Messages from At on, at
// Rate messages a second (0: all at once), spread evenly over the
// partitions (the reader's keys hash them so).
type Load struct {
	At       time.Duration
	Messages float64
	Rate     float64
}

// Workload is what the computers are given to do and how they behave.
type Workload struct {
	Partitions int
	Loads      []Load
	// Throughput is the messages one computer processes a second when its
	// partitions have work.
	Throughput float64
	// PodStart is the time from the Deployment's scale-up to the new
	// computer consuming: scheduling, image, start, joining the group.
	PodStart time.Duration
	// Rebalance is how long the group stops consuming when a member joins
	// or leaves.
	Rebalance time.Duration
}

// Autoscaler is the ScaledObject (and the HPA KEDA makes of it) and the HPA
// controller's settings.
type Autoscaler struct {
	Signal Signal
	// LagThreshold is the kafka trigger's target lag per consumer.
	LagThreshold int64
	// ActivationLagThreshold decides between 0 and 1 replica; with
	// MinReplicas of 1 or more it changes nothing.
	ActivationLagThreshold int64
	AllowIdleConsumers     bool
	// TargetSeconds is the prometheus trigger's target lag in seconds.
	TargetSeconds float64
	// MetricDelay is how old the metric is when the HPA reads it: 0 for the
	// kafka trigger, which asks the broker; about a scrape interval for
	// Prometheus.
	MetricDelay time.Duration

	MinReplicas, MaxReplicas, InitialReplicas int32
	Behavior                                  Behavior
	Tolerance                                 float64
	SyncPeriod                                time.Duration
	// SyncOffset is when, after 0, the HPA controller's first sync falls.
	SyncOffset time.Duration
	// PollingInterval and CooldownPeriod are KEDA's, for scaling between 0
	// and 1 when MinReplicas is 0.
	PollingInterval, CooldownPeriod time.Duration
}

// Config is one simulation.
type Config struct {
	Workload   Workload
	Autoscaler Autoscaler
	// Step is the simulation's time step; Sample the interval of the
	// samples kept.
	Step, Sample time.Duration
	// Duration ends the run; 0 runs until the load is processed and the
	// replicas are back at their minimum, at most Limit.
	Duration, Limit time.Duration
	// Recorded, when set, is a recorded run whose metric the autoscaler
	// reads in place of the modelled workload's: the autoscaler model
	// alone, held against the real HPA's decisions. Where the recording
	// has what the HPA itself read (HasHPAMetric), a sync takes the value
	// the samples show a third of a period after it, once the HPA has
	// written it to its status; otherwise the metric the trigger served,
	// the last sample at or before the sync, which a metric changing
	// between that sample and the sync can put on the other side of a
	// threshold. The run lasts as long as the recording (Duration 0).
	Recorded []Sample
}

// Validate names the first setting that cannot be simulated.
func (c *Config) Validate() error {
	w, a := c.Workload, c.Autoscaler
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(w.Partitions >= 1, "partitions %d: want at least 1", w.Partitions)
	check(w.Throughput > 0, "throughput %g: want more than 0 messages a second", w.Throughput)
	check(w.PodStart >= 0 && w.Rebalance >= 0, "pod start %v, rebalance %v: want 0 or more", w.PodStart, w.Rebalance)
	for _, l := range w.Loads {
		check(l.At >= 0 && l.Messages >= 0 && l.Rate >= 0, "load %+v: want no negative values", l)
	}
	check(a.Signal == Records || a.Signal == Seconds, "signal %q: want records or seconds", a.Signal)
	check(a.Signal != Records || a.LagThreshold >= 1, "lag threshold %d: want at least 1", a.LagThreshold)
	check(a.Signal != Seconds || a.TargetSeconds > 0, "target seconds %g: want more than 0", a.TargetSeconds)
	check(a.MinReplicas >= 0 && a.MinReplicas <= a.MaxReplicas && a.MaxReplicas >= 1,
		"replicas min %d max %d: want 0 <= min <= max, max >= 1", a.MinReplicas, a.MaxReplicas)
	check(a.InitialReplicas >= 0, "initial replicas %d: want 0 or more", a.InitialReplicas)
	check(a.Tolerance >= 0 && a.Tolerance < 1, "tolerance %g: want 0 to 1", a.Tolerance)
	check(a.SyncPeriod > 0, "sync period %v: want more than 0", a.SyncPeriod)
	check(len(a.Behavior.ScaleUp.Policies) > 0 && len(a.Behavior.ScaleDown.Policies) > 0, "behavior: want policies for both directions")
	check(c.Step > 0 && c.Step <= time.Second, "step %v: want 1ms to 1s", c.Step)
	check(c.Sample >= c.Step, "sample %v: want at least the step %v", c.Sample, c.Step)
	return errors.Join(errs...)
}

// Sample is the state at one time.
type Sample struct {
	T time.Duration
	// Replicas is the Deployment's spec.replicas; Members the computers in
	// the group (started and joined).
	Replicas, Members int32
	// Lag is the group's lag in messages; LagSeconds how long the oldest
	// unprocessed message has waited.
	Lag        float64
	LagSeconds float64
	// Metric is what the autoscaler last read (messages, capped, or
	// seconds).
	Metric float64
	// Rate is the messages processed a second over the last sample.
	Rate float64
	// HPAMetric is, in a recorded run that has it (HasHPAMetric), the
	// metric the HPA read at its last sync, from its status.
	HPAMetric    float64
	HasHPAMetric bool
}

// Summary is what a run comes to.
type Summary struct {
	// Drain is when the lag first reached 0 with every load produced.
	Drain time.Duration
	// Drained says whether it did within the run.
	Drained bool
	// Settle is when the replicas were last changed, back at the minimum.
	Settle  time.Duration
	Settled bool
	// PeakLag, PeakLagSeconds and PeakReplicas are maxima.
	PeakLag        float64
	PeakLagSeconds float64
	PeakReplicas   int32
	// ScaleEvents counts the changes of spec.replicas; DirectionChanges how
	// often a change went the other way than the one before (up then down
	// is 1: a well-behaved burst).
	ScaleEvents, DirectionChanges int
	// ReplicaSeconds is the integral of the replicas: the run's cost.
	ReplicaSeconds float64
}

// Result is a run's samples and summary.
type Result struct {
	Samples []Sample
	Summary Summary
}

// chunk is messages that arrived at one time on one partition.
type chunk struct {
	at time.Duration
	n  float64
}

type partition struct {
	queue []chunk
	lag   float64
}

func (p *partition) add(at time.Duration, n float64) {
	if n <= 0 {
		return
	}
	if k := len(p.queue); k > 0 && p.queue[k-1].at == at {
		p.queue[k-1].n += n
	} else {
		p.queue = append(p.queue, chunk{at, n})
	}
	p.lag += n
}

// take consumes up to n messages and returns how many it took.
func (p *partition) take(n float64) float64 {
	taken := 0.0
	for n > 1e-9 && len(p.queue) > 0 {
		c := &p.queue[0]
		k := math.Min(n, c.n)
		c.n -= k
		n -= k
		taken += k
		if c.n <= 1e-9 {
			p.queue = p.queue[1:]
		}
	}
	p.lag -= taken
	if len(p.queue) == 0 {
		p.lag = 0
	}
	return taken
}

func (p *partition) oldest(now time.Duration) time.Duration {
	if len(p.queue) == 0 {
		return 0
	}
	return now - p.queue[0].at
}

type pod struct {
	id      int
	created time.Duration
	joined  bool
}

// Run simulates c.
func Run(c Config) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w, a := c.Workload, c.Autoscaler
	parts := make([]partition, w.Partitions)
	hpa := &HPA{Min: max(a.MinReplicas, 1), Max: a.MaxReplicas, Tolerance: a.Tolerance, Behavior: a.Behavior}
	var pods []pod
	replicas := a.InitialReplicas
	nextID := 0
	resize := func(now time.Duration, n int32) {
		for int32(len(pods)) < n {
			nextID++
			pods = append(pods, pod{id: nextID, created: now})
		}
		// The ReplicaSet deletes the newest pods first.
		if int32(len(pods)) > n {
			pods = pods[:n]
		}
	}
	resize(-w.PodStart, replicas) // the initial computers are up at 0
	members := func() int32 {
		n := int32(0)
		for _, p := range pods {
			if p.joined {
				n++
			}
		}
		return n
	}
	// Partition i belongs to the (i mod m)th member; when a member joins
	// or leaves, the partitions that change hands stop for a rebalance
	// (cooperative-sticky moves only those).
	owner := make([]int, w.Partitions)
	pausedUntil := make([]time.Duration, w.Partitions)
	first := true
	assign := func(now time.Duration) {
		var ids []int
		for _, p := range pods {
			if p.joined {
				ids = append(ids, p.id)
			}
		}
		for i := range owner {
			o := 0
			if len(ids) > 0 {
				o = ids[i%len(ids)]
			}
			if o != owner[i] && !first {
				pausedUntil[i] = now + w.Rebalance
			}
			owner[i] = o
		}
		first = false
	}
	membership := ""

	// current is the autoscaler's signal as it is now; a delayed metric
	// (Prometheus's) is read from a history of it.
	current := func(now time.Duration) float64 {
		var v float64
		switch a.Signal {
		case Records:
			total := 0.0
			for i := range parts {
				total += parts[i].lag
			}
			m, _ := KafkaMetric(lagRecords(total), w.Partitions, a.LagThreshold, a.ActivationLagThreshold, a.AllowIdleConsumers)
			v = float64(m)
		case Seconds:
			for i := range parts {
				v = math.Max(v, parts[i].oldest(now).Seconds())
			}
		}
		return v
	}
	type metricAt struct {
		t time.Duration
		v float64
	}
	var history []metricAt
	hpaView := len(c.Recorded) > 0 && c.Recorded[0].HasHPAMetric
	recordedAt := func(now time.Duration) float64 {
		if hpaView {
			i := sort.Search(len(c.Recorded), func(i int) bool { return c.Recorded[i].T >= now+a.SyncPeriod/3 })
			return c.Recorded[min(i, len(c.Recorded)-1)].HPAMetric
		}
		i := sort.Search(len(c.Recorded), func(i int) bool { return c.Recorded[i].T > now }) - 1
		if i < 0 {
			return 0
		}
		return c.Recorded[i].Metric
	}
	readMetric := func(now time.Duration) float64 {
		if len(c.Recorded) > 0 {
			return recordedAt(now)
		}
		if a.MetricDelay <= 0 {
			return current(now)
		}
		want := now - a.MetricDelay
		i := sort.Search(len(history), func(i int) bool { return history[i].t > want }) - 1
		return history[max(i, 0)].v
	}
	activeTotal := func(now time.Duration) bool {
		if len(c.Recorded) > 0 {
			return recordedAt(now) > float64(a.ActivationLagThreshold)
		}
		total := 0.0
		for i := range parts {
			total += parts[i].lag
		}
		_, active := KafkaMetric(lagRecords(total), w.Partitions, a.LagThreshold, a.ActivationLagThreshold, a.AllowIdleConsumers)
		return active
	}

	limit := c.Limit
	if limit <= 0 {
		limit = 6 * time.Hour
	}
	end := c.Duration
	if end <= 0 && len(c.Recorded) > 0 {
		end = c.Recorded[len(c.Recorded)-1].T
	}
	if end <= 0 || end > limit {
		end = limit
	}
	loadsEnd := time.Duration(0)
	for _, l := range w.Loads {
		e := l.At
		if l.Rate > 0 {
			e += time.Duration(l.Messages / l.Rate * float64(time.Second))
		}
		loadsEnd = max(loadsEnd, e)
	}

	res := &Result{}
	sum := &res.Summary
	nextSync := a.SyncOffset
	nextPoll := time.Duration(0)
	var lastActive time.Duration
	var metric float64
	var processed, sampledProcessed float64
	nextSample := time.Duration(0)
	lastDirection := 0
	settledAt := time.Duration(-1)

	for now := time.Duration(0); now <= end; now += c.Step {
		// Arrivals in [now, now+step).
		for _, l := range w.Loads {
			var n float64
			if l.Rate <= 0 {
				if l.At >= now && l.At < now+c.Step {
					n = l.Messages
				}
			} else {
				from, to := max(now, l.At), now+c.Step
				if stop := l.At + time.Duration(l.Messages/l.Rate*float64(time.Second)); to > stop {
					to = stop
				}
				if to > from {
					n = l.Rate * (to - from).Seconds()
				}
			}
			for i := range parts {
				parts[i].add(now, n/float64(w.Partitions))
			}
		}

		arrived := 0.0
		for i := range parts {
			arrived += parts[i].lag
		}
		sum.PeakLag = math.Max(sum.PeakLag, arrived)

		// Computers whose start is over join the group.
		for i := range pods {
			if !pods[i].joined && now-pods[i].created >= w.PodStart {
				pods[i].joined = true
			}
		}

		if a.MetricDelay > 0 {
			history = append(history, metricAt{now, current(now)})
			if len(history) > 1 && history[1].t < now-a.MetricDelay-time.Second {
				history = history[1:]
			}
		}

		// KEDA alone moves between 0 and 1 replica.
		if a.MinReplicas == 0 && now >= nextPoll {
			nextPoll = now + a.PollingInterval
			if activeTotal(now) {
				lastActive = now
				if replicas == 0 {
					replicas = 1
					resize(now, replicas)
					lastDirection, sum.ScaleEvents = countChange(lastDirection, 1, sum)
				}
			} else if replicas > 0 && now-lastActive >= a.CooldownPeriod {
				replicas = 0
				resize(now, 0)
				lastDirection, sum.ScaleEvents = countChange(lastDirection, -1, sum)
			}
		}

		// The HPA controller's sync.
		if now >= nextSync {
			nextSync += a.SyncPeriod
			metric = readMetric(now)
			if replicas > 0 {
				var want int32
				switch a.Signal {
				case Records:
					want = AverageValueReplicas(int32(len(pods)), metric, float64(a.LagThreshold), a.Tolerance)
				case Seconds:
					want = ValueReplicas(replicas, members(), metric, a.TargetSeconds, a.Tolerance)
				}
				if got := hpa.Reconcile(now, replicas, want); got != replicas {
					dir := 1
					if got < replicas {
						dir = -1
					}
					lastDirection, sum.ScaleEvents = countChange(lastDirection, dir, sum)
					replicas = got
					resize(now, replicas)
				}
			}
		}

		// A change of membership stops the group for a rebalance.
		var b strings.Builder
		for _, p := range pods {
			if p.joined {
				fmt.Fprintf(&b, "%d,", p.id)
			}
		}
		if b.String() != membership || first {
			membership = b.String()
			assign(now)
		}

		// Consumption: partition i belongs to member i mod m; a member
		// shares its throughput among its partitions that have work.
		if members() > 0 {
			budget := w.Throughput * c.Step.Seconds()
			byOwner := map[int][]int{}
			for i, o := range owner {
				if o != 0 && now >= pausedUntil[i] {
					byOwner[o] = append(byOwner[o], i)
				}
			}
			for _, mine := range byOwner {
				processed += share(parts, mine, budget)
			}
		}

		// Summary and samples.
		total, oldest := 0.0, 0.0
		for i := range parts {
			total += parts[i].lag
			oldest = math.Max(oldest, parts[i].oldest(now).Seconds())
		}
		sum.PeakLag = math.Max(sum.PeakLag, total)
		sum.PeakLagSeconds = math.Max(sum.PeakLagSeconds, oldest)
		sum.PeakReplicas = max(sum.PeakReplicas, replicas)
		sum.ReplicaSeconds += float64(replicas) * c.Step.Seconds()
		if !sum.Drained && now >= loadsEnd && total < 0.5 && sum.PeakLag > 0 {
			sum.Drained, sum.Drain = true, now
		}
		if replicas == max(a.MinReplicas, 0) && (a.MinReplicas > 0 || replicas == 0) {
			if settledAt < 0 {
				settledAt = now
			}
		} else {
			settledAt = -1
		}
		if now >= nextSample {
			res.Samples = append(res.Samples, Sample{T: now, Replicas: replicas, Members: members(), Lag: total,
				LagSeconds: oldest, Metric: metric, Rate: (processed - sampledProcessed) / c.Sample.Seconds()})
			sampledProcessed = processed
			nextSample += c.Sample
		}
		// Stop once drained and back at the minimum for a sync, unless told
		// how long to run: nothing changes after that.
		if c.Duration <= 0 && len(c.Recorded) == 0 && sum.Drained && settledAt >= 0 && now-settledAt >= a.SyncPeriod {
			break
		}
	}
	if sum.Drained && settledAt >= 0 {
		sum.Settled, sum.Settle = true, settledAt
	}
	return res, nil
}

// countChange counts a scale event and whether it turned around.
func countChange(last, dir int, sum *Summary) (int, int) {
	if last != 0 && dir != last {
		sum.DirectionChanges++
	}
	return dir, sum.ScaleEvents + 1
}

// share spreads budget over the partitions idx that have work, as evenly as
// their lag allows, and returns what was consumed.
func share(parts []partition, idx []int, budget float64) float64 {
	consumed := 0.0
	for budget > 1e-9 {
		var busy []int
		for _, i := range idx {
			if parts[i].lag > 1e-9 {
				busy = append(busy, i)
			}
		}
		if len(busy) == 0 {
			break
		}
		each := budget / float64(len(busy))
		used := 0.0
		for _, i := range busy {
			used += parts[i].take(each)
		}
		consumed += used
		budget -= used
		if used < 1e-9 {
			break
		}
	}
	return consumed
}
