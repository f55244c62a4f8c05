package simulate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The HorizontalPodAutoscaler's algorithm as kube-controller-manager 1.33
// runs it (pkg/controller/podautoscaler: horizontal.go and
// replica_calculator.go), reduced to what an HPA with one external metric
// and a behavior uses. Time is the simulation's, not the wall clock.

// DefaultTolerance is the HPA controller's --horizontal-pod-autoscaler-tolerance:
// a usage ratio within 10 % of 1 changes nothing.
const DefaultTolerance = 0.1

// DefaultSyncPeriod is the controller's --horizontal-pod-autoscaler-sync-period.
const DefaultSyncPeriod = 15 * time.Second

// PolicyType is an HPAScalingPolicy's type.
type PolicyType string

// The two kinds of scaling policy.
const (
	Pods    PolicyType = "Pods"
	Percent PolicyType = "Percent"
)

// Policy limits how much the replicas may change within Period.
type Policy struct {
	Type   PolicyType
	Value  int32
	Period time.Duration
}

// SelectPolicy picks among policies: Max allows the largest change, Min the
// smallest, Disabled none.
type SelectPolicy string

// The HPA's policy selections.
const (
	SelectMax      SelectPolicy = "Max"
	SelectMin      SelectPolicy = "Min"
	SelectDisabled SelectPolicy = "Disabled"
)

// Rules are one direction's HPAScalingRules.
type Rules struct {
	// Window is stabilizationWindowSeconds: scaling up follows the lowest
	// recommendation of the window, scaling down the highest.
	Window   time.Duration
	Select   SelectPolicy
	Policies []Policy
}

// Behavior is the HPA's spec.behavior.
type Behavior struct {
	ScaleUp, ScaleDown Rules
}

// DefaultBehavior is Kubernetes' own when an HPA sets none: up by 4 pods or
// 100 % every 15 s, whichever is more, at once; down by up to 100 % every
// 15 s after a 300 s window.
func DefaultBehavior() Behavior {
	return Behavior{
		ScaleUp: Rules{Window: 0, Select: SelectMax, Policies: []Policy{
			{Type: Pods, Value: 4, Period: 15 * time.Second}, {Type: Percent, Value: 100, Period: 15 * time.Second}}},
		ScaleDown: Rules{Window: 300 * time.Second, Select: SelectMax, Policies: []Policy{
			{Type: Percent, Value: 100, Period: 15 * time.Second}}},
	}
}

// ParsePolicies reads policies written as TYPE:VALUE/PERIOD, comma-separated,
// e.g. "pods:4/60s,percent:100/60s".
func ParsePolicies(s string) ([]Policy, error) {
	var out []Policy
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kind, rest, ok1 := strings.Cut(item, ":")
		value, period, ok2 := strings.Cut(rest, "/")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("policy %q: want TYPE:VALUE/PERIOD, such as pods:4/60s", item)
		}
		var p Policy
		switch strings.ToLower(kind) {
		case "pods":
			p.Type = Pods
		case "percent":
			p.Type = Percent
		default:
			return nil, fmt.Errorf("policy %q: type %q: want pods or percent", item, kind)
		}
		v, err := strconv.ParseInt(value, 10, 32)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("policy %q: value %q: want a whole number above 0", item, value)
		}
		p.Value = int32(v)
		if p.Period, err = time.ParseDuration(period); err != nil || p.Period <= 0 || p.Period > 30*time.Minute {
			return nil, fmt.Errorf("policy %q: period %q: want a duration from 1s to 30m", item, period)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no policies in %q", s)
	}
	return out, nil
}

// FormatPolicies writes policies the way ParsePolicies reads them.
func FormatPolicies(ps []Policy) string {
	var b []string
	for _, p := range ps {
		b = append(b, fmt.Sprintf("%s:%d/%s", strings.ToLower(string(p.Type)), p.Value, p.Period))
	}
	return strings.Join(b, ",")
}

// ParseSelect reads a selectPolicy, case-insensitively.
func ParseSelect(s string) (SelectPolicy, error) {
	for _, p := range []SelectPolicy{SelectMax, SelectMin, SelectDisabled} {
		if strings.EqualFold(s, string(p)) {
			return p, nil
		}
	}
	return "", fmt.Errorf("select policy %q: want Max, Min or Disabled", s)
}

// Within reports whether usageRatio is close enough to 1 to leave the
// replicas alone.
func Within(usageRatio, tolerance float64) bool {
	return 1-tolerance <= usageRatio && usageRatio <= 1+tolerance
}

// AverageValueReplicas is GetExternalPerPodMetricReplicas: the replicas an
// external metric with an AverageValue target asks for. usage is the sum of
// the metric's series, statusReplicas the target's status.replicas (its
// pods, ready or not).
func AverageValueReplicas(statusReplicas int32, usage, targetPerPod, tolerance float64) int32 {
	ratio := usage / (targetPerPod * float64(statusReplicas))
	if Within(ratio, tolerance) {
		return statusReplicas
	}
	return int32(math.Ceil(usage / targetPerPod))
}

// ValueReplicas is GetExternalMetricReplicas: the replicas an external
// metric with a Value target asks for, in proportion to the ready pods.
func ValueReplicas(currentReplicas, readyPods int32, usage, target, tolerance float64) int32 {
	ratio := usage / target
	if currentReplicas == 0 {
		return int32(math.Ceil(ratio))
	}
	if Within(ratio, tolerance) {
		return currentReplicas
	}
	return int32(math.Ceil(ratio * float64(readyPods)))
}

// HPA is one HorizontalPodAutoscaler's controller state: the
// recommendations of its stabilization windows and the scale events its
// policies count.
type HPA struct {
	Min, Max  int32
	Tolerance float64
	Behavior  Behavior

	recommendations []timed
	ups, downs      []timed
}

type timed struct {
	at time.Duration
	n  int32
}

// Reconcile is one sync of the controller at time now: given the target's
// spec.replicas and the replicas the metric asks for, it returns the
// replicas to set.
func (h *HPA) Reconcile(now time.Duration, current, metricDesired int32) int32 {
	if len(h.recommendations) == 0 { // recordInitialRecommendation
		h.recommendations = append(h.recommendations, timed{now, current})
	}
	var desired int32
	switch {
	case current == 0 && h.Min != 0:
		return 0 // scaling is disabled while the target is at zero
	case current > h.Max:
		desired = h.Max
	case current < h.Min:
		desired = h.Min
	default:
		stabilized := h.stabilize(now, current, metricDesired)
		desired = h.limitRate(now, current, stabilized)
	}
	if desired != current {
		h.storeEvent(now, current, desired)
	}
	return desired
}

// stabilize is stabilizeRecommendationWithBehaviors: bounded below by the
// lowest recommendation of the scale-up window and above by the highest of
// the scale-down window, then the new recommendation is recorded.
func (h *HPA) stabilize(now time.Duration, current, desired int32) int32 {
	up, down := desired, desired
	upCutoff, downCutoff := now-h.Behavior.ScaleUp.Window, now-h.Behavior.ScaleDown.Window
	kept := h.recommendations[:0]
	for _, r := range h.recommendations {
		if r.at > upCutoff {
			up = min(up, r.n)
		}
		if r.at > downCutoff {
			down = max(down, r.n)
		}
		if r.at >= upCutoff || r.at >= downCutoff {
			kept = append(kept, r)
		}
	}
	h.recommendations = append(kept, timed{now, desired})
	rec := current
	if rec < up {
		rec = up
	}
	if rec > down {
		rec = down
	}
	return rec
}

// limitRate is convertDesiredReplicasWithBehaviorRate: the policies bound
// the change, and min and max the result.
func (h *HPA) limitRate(now time.Duration, current, desired int32) int32 {
	switch {
	case desired > current:
		limit := max(scaleLimit(now, current, h.ups, h.downs, h.Behavior.ScaleUp, scalingUp), current)
		return min(desired, min(h.Max, limit))
	case desired < current:
		limit := min(scaleLimit(now, current, h.ups, h.downs, h.Behavior.ScaleDown, scalingDown), current)
		return max(desired, max(h.Min, limit))
	}
	return desired
}

// changed is getReplicasChangePerPeriod: replicas added (or removed) by the
// events of the last period.
func changed(now, period time.Duration, events []timed) int32 {
	var n int32
	for _, e := range events {
		if e.at > now-period {
			n += e.n
		}
	}
	return n
}

// direction is the way the replicas change: +1 up, -1 down.
type direction int32

const (
	scalingUp   direction = 1
	scalingDown direction = -1
)

// scaleLimit is calculateScaleUpLimitWithScalingRules (up) and
// calculateScaleDownLimitWithBehaviors (down): the replicas r's policies
// allow in direction d, each counted from the replicas at the start of its
// period. Max selects the policy allowing the largest change, Min the
// smallest; a Percent policy rounds up when scaling up, so that a few
// replicas can grow at all, and truncates when scaling down.
func scaleLimit(now time.Duration, current int32, ups, downs []timed, r Rules, d direction) int32 {
	if r.Select == SelectDisabled {
		return current
	}
	result := int32(math.MaxInt32)
	pick := func(a, b int32) int32 { return min(a, b) }
	if (r.Select == SelectMin) == (d == scalingDown) { // the largest change up, or the smallest down
		result = math.MinInt32
		pick = func(a, b int32) int32 { return max(a, b) }
	}
	for _, p := range r.Policies {
		start := current - changed(now, p.Period, ups) + changed(now, p.Period, downs)
		var proposed int32
		switch {
		case p.Type == Pods:
			proposed = start + int32(d)*p.Value
		case d == scalingUp:
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		default:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

func longestPeriod(ps []Policy) time.Duration {
	var d time.Duration
	for _, p := range ps {
		d = max(d, p.Period)
	}
	return d
}

// storeEvent is storeScaleEvent; events older than the longest policy
// period are dropped, as the controller reuses their slots.
func (h *HPA) storeEvent(now time.Duration, from, to int32) {
	prune := func(events []timed, period time.Duration) []timed {
		kept := events[:0]
		for _, e := range events {
			if e.at >= now-period {
				kept = append(kept, e)
			}
		}
		return kept
	}
	if to > from {
		h.ups = append(prune(h.ups, longestPeriod(h.Behavior.ScaleUp.Policies)), timed{now, to - from})
	} else {
		h.downs = append(prune(h.downs, longestPeriod(h.Behavior.ScaleDown.Policies)), timed{now, from - to})
	}
}
