package simulate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAverageValueReplicas(t *testing.T) {
	for _, tc := range []struct {
		name          string
		status        int32
		usage, target float64
		tolerance     float64
		want          int32
	}{
		{name: "on target", status: 4, usage: 400, target: 100, tolerance: 0.1, want: 4},
		{name: "within tolerance above", status: 10, usage: 1090, target: 100, tolerance: 0.1, want: 10},
		{name: "tolerance is inclusive", status: 10, usage: 1100, target: 100, tolerance: 0.1, want: 10},
		{name: "just beyond tolerance", status: 10, usage: 1101, target: 100, tolerance: 0.1, want: 12},
		{name: "within tolerance below", status: 10, usage: 900, target: 100, tolerance: 0.1, want: 10},
		{name: "below tolerance", status: 10, usage: 850, target: 100, tolerance: 0.1, want: 9},
		{name: "ceil of usage over target", status: 1, usage: 1201, target: 100, tolerance: 0.1, want: 13},
		{name: "no lag asks for none", status: 6, usage: 0, target: 100, tolerance: 0.1, want: 0},
		{name: "no tolerance", status: 10, usage: 1010, target: 100, tolerance: 0, want: 11},
		{name: "capped kafka metric", status: 1, usage: 600, target: 100, tolerance: 0.1, want: 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, AverageValueReplicas(tc.status, tc.usage, tc.target, tc.tolerance))
		})
	}
}

func TestValueReplicas(t *testing.T) {
	for _, tc := range []struct {
		name           string
		current, ready int32
		usage, target  float64
		want           int32
	}{
		{name: "twice the target doubles the ready pods", current: 3, ready: 3, usage: 120, target: 60, want: 6},
		{name: "unready pods do not count", current: 4, ready: 2, usage: 120, target: 60, want: 4},
		{name: "within tolerance", current: 3, ready: 3, usage: 63, target: 60, want: 3},
		{name: "half the target halves", current: 6, ready: 6, usage: 30, target: 60, want: 3},
		{name: "from zero", current: 0, ready: 0, usage: 150, target: 60, want: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ValueReplicas(tc.current, tc.ready, tc.usage, tc.target, 0.1))
		})
	}
}

func TestKafkaMetric(t *testing.T) {
	for _, tc := range []struct {
		name       string
		lag        int64
		partitions int
		threshold  int64
		activation int64
		allowIdle  bool
		want       int64
		wantActive bool
	}{
		{name: "below the cap", lag: 350, partitions: 6, threshold: 100, want: 350, wantActive: true},
		{name: "capped at partitions x threshold", lag: 5000, partitions: 6, threshold: 100, want: 600, wantActive: true},
		// KEDA compares lag/threshold with integer division: 690/100 = 6
		// is not above 6 partitions, so 690 passes uncapped.
		{name: "integer division lets a little over the cap through", lag: 690, partitions: 6, threshold: 100, want: 690, wantActive: true},
		{name: "allowIdleConsumers lifts the cap", lag: 5000, partitions: 6, threshold: 100, allowIdle: true, want: 5000, wantActive: true},
		{name: "no lag is inactive", lag: 0, partitions: 6, threshold: 100, want: 0},
		{name: "activation threshold", lag: 10, partitions: 6, threshold: 100, activation: 10, want: 10},
		{name: "above activation", lag: 11, partitions: 6, threshold: 100, activation: 10, want: 11, wantActive: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, active := KafkaMetric(tc.lag, tc.partitions, tc.threshold, tc.activation, tc.allowIdle)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.wantActive, active)
		})
	}
}

func TestParsePolicies(t *testing.T) {
	ps, err := ParsePolicies("pods:4/60s, percent:100/1m")
	require.NoError(t, err)
	require.Equal(t, []Policy{{Pods, 4, time.Minute}, {Percent, 100, time.Minute}}, ps)
	require.Equal(t, "pods:4/1m0s,percent:100/1m0s", FormatPolicies(ps))
	for _, bad := range []string{"", "pods", "pods:4", "pods:0/60s", "nodes:1/60s", "pods:1/0s", "pods:1/1h"} {
		_, err := ParsePolicies(bad)
		require.Error(t, err, bad)
	}
}

// step is one sync of an HPA: at the time, the current replicas and what
// the metric asks for; want is what the controller sets.
type step struct {
	at               time.Duration
	current, desired int32
	want             int32
}

func TestHPAReconcile(t *testing.T) {
	s := time.Second
	// The computer chart's first behavior: up by 4 pods or 100 % a minute,
	// down one pod a minute after 300 s.
	chart := Behavior{
		ScaleUp:   Rules{Window: 0, Select: SelectMax, Policies: []Policy{{Pods, 4, 60 * s}, {Percent, 100, 60 * s}}},
		ScaleDown: Rules{Window: 300 * s, Select: SelectMin, Policies: []Policy{{Pods, 1, 60 * s}}},
	}
	for _, tc := range []struct {
		name     string
		min, max int32
		behavior Behavior
		steps    []step
	}{
		{
			name: "scale up by the larger of 4 pods and 100 % a minute", min: 1, max: 12, behavior: chart,
			steps: []step{
				{at: 0, current: 1, desired: 12, want: 5},      // max(1+4, 1*2)
				{at: 15 * s, current: 5, desired: 12, want: 5}, // the period started at 1
				{at: 45 * s, current: 5, desired: 12, want: 5},
				{at: 60 * s, current: 5, desired: 12, want: 10}, // the event of 0 s left the period: max(5+4, 5*2)
				{at: 75 * s, current: 10, desired: 12, want: 10},
				{at: 120 * s, current: 10, desired: 12, want: 12}, // capped by max
			},
		},
		{
			name: "Min select picks the smaller policy", min: 1, max: 12,
			behavior: Behavior{
				ScaleUp:   Rules{Select: SelectMin, Policies: []Policy{{Pods, 4, 60 * s}, {Percent, 100, 60 * s}}},
				ScaleDown: chart.ScaleDown,
			},
			steps: []step{{at: 0, current: 1, desired: 12, want: 2}, {at: 60 * s, current: 2, desired: 12, want: 4}},
		},
		{
			name: "scale down waits out the window, then one pod a minute", min: 1, max: 12, behavior: chart,
			steps: []step{
				{at: 0, current: 6, desired: 6, want: 6},
				{at: 15 * s, current: 6, desired: 0, want: 6},
				{at: 290 * s, current: 6, desired: 0, want: 6}, // 6 at 0 s is still in the window
				{at: 300 * s, current: 6, desired: 0, want: 5}, // 0 s is out (the window excludes its start)
				{at: 315 * s, current: 5, desired: 0, want: 5},
				{at: 360 * s, current: 5, desired: 0, want: 4},
				{at: 420 * s, current: 4, desired: 0, want: 3},
			},
		},
		{
			name: "a high recommendation in the window holds the replicas", min: 1, max: 12, behavior: chart,
			steps: []step{
				{at: 0, current: 4, desired: 4, want: 4},
				{at: 100 * s, current: 4, desired: 2, want: 4},
				{at: 200 * s, current: 4, desired: 3, want: 4},
				{at: 301 * s, current: 4, desired: 1, want: 3}, // max over (1 s, 301 s]: 3
				{at: 501 * s, current: 3, desired: 1, want: 2}, // 3 at 200 s expired; the pods policy allows 1 a minute
			},
		},
		{
			name: "Kubernetes' default behavior drops to the minimum at once after 300 s", min: 1, max: 12,
			behavior: DefaultBehavior(),
			steps: []step{
				{at: 0, current: 1, desired: 12, want: 5}, // max(1+4, 2)
				{at: 15 * s, current: 5, desired: 12, want: 10},
				{at: 30 * s, current: 10, desired: 0, want: 10},
				{at: 330 * s, current: 10, desired: 0, want: 1},
			},
		},
		{
			name: "a scale-up window takes the lowest recent recommendation", min: 1, max: 12,
			behavior: Behavior{
				ScaleUp:   Rules{Window: 30 * s, Select: SelectMax, Policies: []Policy{{Pods, 12, 15 * s}}},
				ScaleDown: chart.ScaleDown,
			},
			steps: []step{
				{at: 0, current: 1, desired: 1, want: 1},
				{at: 15 * s, current: 1, desired: 8, want: 1}, // 1 at 0 s is in the window
				{at: 30 * s, current: 1, desired: 8, want: 8}, // 0 s is out
			},
		},
		{
			name: "scale down by half a minute", min: 1, max: 12, behavior: ChartBehavior(),
			steps: []step{
				{at: 0, current: 7, desired: 0, want: 7},
				{at: 301 * s, current: 7, desired: 0, want: 3}, // the floor is int(7 * 0.5) = 3
				{at: 316 * s, current: 3, desired: 0, want: 3},
				{at: 361 * s, current: 3, desired: 0, want: 1},
			},
		},
		{
			name: "beyond max goes to max without the policies", min: 1, max: 6, behavior: chart,
			steps: []step{{at: 0, current: 9, desired: 9, want: 6}},
		},
		{
			name: "below min goes to min", min: 2, max: 6, behavior: chart,
			steps: []step{{at: 0, current: 1, desired: 0, want: 2}},
		},
		{
			name: "disabled scale-down never scales down", min: 1, max: 6,
			behavior: Behavior{ScaleUp: chart.ScaleUp, ScaleDown: Rules{Select: SelectDisabled, Policies: chart.ScaleDown.Policies}},
			steps:    []step{{at: 0, current: 6, desired: 1, want: 6}, {at: 600 * s, current: 6, desired: 1, want: 6}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &HPA{Min: tc.min, Max: tc.max, Tolerance: DefaultTolerance, Behavior: tc.behavior}
			for _, st := range tc.steps {
				require.Equal(t, st.want, h.Reconcile(st.at, st.current, st.desired), "at %v", st.at)
			}
		})
	}
}
