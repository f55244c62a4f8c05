package lagtime

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newClock() *clock { return &clock{t: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)} }

// obs is one Observe call after advancing the clock by after.
type obs struct {
	after            time.Duration
	logEnd, consumed int64
}

// growing observes a log growing by perSecond records every second from 0
// to secs seconds, with the consumer at consumed(second).
func growing(secs int, perSecond int64, consumed func(int) int64) []obs {
	var out []obs
	for s := 0; s <= secs; s++ {
		after := time.Second
		if s == 0 {
			after = 0
		}
		out = append(out, obs{after: after, logEnd: int64(s) * perSecond, consumed: consumed(s)})
	}
	return out
}

func at(o int64) func(int) int64 { return func(int) int64 { return o } }

func TestLag(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxSamples  int
		obs         []obs
		then        time.Duration // clock advance after the last observation
		known       bool
		wantRecords int64
		wantSeconds float64
	}{
		{name: "never observed"},
		{name: "no position yet", obs: []obs{{logEnd: 100, consumed: -1001}}},
		{
			name:  "caught up",
			obs:   growing(10, 100, func(s int) int64 { return int64(s) * 100 }),
			then:  30 * time.Second,
			known: true,
		},
		{
			name:  "position past the log end",
			obs:   []obs{{logEnd: 100, consumed: 120}},
			known: true,
		},
		{
			name:        "one sample: lag counts from the first sight of the log end",
			obs:         []obs{{logEnd: 100, consumed: 40}},
			then:        7 * time.Second,
			known:       true,
			wantRecords: 60,
			wantSeconds: 7,
		},
		{
			name:        "on a sample",
			obs:         growing(10, 100, at(500)),
			known:       true,
			wantRecords: 500,
			wantSeconds: 5,
		},
		{
			name:        "between samples",
			obs:         growing(10, 100, at(550)),
			known:       true,
			wantRecords: 450,
			wantSeconds: 4.5,
		},
		{
			name:        "time goes on after the last sample",
			obs:         growing(10, 100, at(550)),
			then:        2 * time.Second,
			known:       true,
			wantRecords: 450,
			wantSeconds: 6.5,
		},
		{
			name:        "older than the table: extrapolated from its trend",
			maxSamples:  3, // keeps t=8,9,10: offsets 800..1000
			obs:         growing(10, 100, at(200)),
			known:       true,
			wantRecords: 800,
			wantSeconds: 8,
		},
		{
			name:       "uneven growth is interpolated per segment",
			maxSamples: 10,
			obs: []obs{
				{logEnd: 0, consumed: 0},
				{after: 10 * time.Second, logEnd: 1000, consumed: 0},
				{after: 10 * time.Second, logEnd: 1100, consumed: 0},
				{after: 10 * time.Second, logEnd: 4100, consumed: 1050},
			},
			known:       true,
			wantRecords: 3050,
			wantSeconds: 15, // 1050 is halfway between t=10 (1000) and t=20 (1100)
		},
		{
			name:       "an idle log stays one segment and keeps its history",
			maxSamples: 4,
			obs: append(growing(5, 100, at(400)), // t=0..5, log end 500
				repeat(60, obs{after: time.Second, logEnd: 500, consumed: 400})...), // t=6..65, idle
			known:       true,
			wantRecords: 100,
			wantSeconds: 61, // the log end passed 400 at t=4; now is t=65
		},
		{
			name:       "a stalled consumer's lag grows while the log is idle",
			maxSamples: 4,
			obs: append(growing(5, 100, at(0)),
				repeat(30, obs{after: time.Second, logEnd: 500, consumed: 0})...),
			then:        10 * time.Second,
			known:       true,
			wantRecords: 500,
			wantSeconds: 45,
		},
		{
			name:        "an idle table extrapolates no trend",
			maxSamples:  3,
			obs:         repeat(5, obs{after: time.Second, logEnd: 500, consumed: 100}), // one segment: t=1 and t=5
			known:       true,
			wantRecords: 400,
			wantSeconds: 4,
		},
		{
			name: "the log going backwards starts the table again",
			obs: append(growing(10, 100, at(1000)),
				obs{after: time.Second, logEnd: 50, consumed: 0}),
			then:        3 * time.Second,
			known:       true,
			wantRecords: 50,
			wantSeconds: 3,
		},
		{
			name: "samples at the same instant keep the newest offset",
			obs: []obs{
				{logEnd: 0, consumed: 0},
				{after: 10 * time.Second, logEnd: 100, consumed: 0},
				{logEnd: 200, consumed: 50},
			},
			known:       true,
			wantRecords: 150,
			wantSeconds: 7.5,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l := New("computers", c.now, tc.maxSamples)
			for _, o := range tc.obs {
				c.t = c.t.Add(o.after)
				l.Observe("compute", 3, o.logEnd, o.consumed)
			}
			c.t = c.t.Add(tc.then)
			records, ok := l.Records("compute", 3)
			require.Equal(t, tc.known, ok, "records known")
			require.Equal(t, tc.wantRecords, records)
			seconds, ok := l.Seconds("compute", 3)
			require.Equal(t, tc.known, ok, "seconds known")
			require.InDelta(t, tc.wantSeconds, seconds, 1e-6)
		})
	}
}

func repeat(n int, o obs) []obs {
	out := make([]obs, n)
	for i := range out {
		out[i] = o
	}
	return out
}

func TestCollect(t *testing.T) {
	c := newClock()
	l := New("computers", c.now, 0)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(l))

	l.Observe("compute", 0, 0, 0)
	l.Observe("compute", 1, 0, 0)
	l.Observe("compute", 2, 10, -1001) // assigned, no position yet: not exported
	c.t = c.t.Add(10 * time.Second)
	l.Observe("compute", 0, 1000, 1000)
	l.Observe("compute", 1, 2000, 500)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP kafka_scale_consumer_lag_records Records between the consumer's position and the partition's log end offset.
# TYPE kafka_scale_consumer_lag_records gauge
kafka_scale_consumer_lag_records{group="computers",partition="0",topic="compute"} 0
kafka_scale_consumer_lag_records{group="computers",partition="1",topic="compute"} 1500
# HELP kafka_scale_consumer_lag_seconds Estimated age of the next record the consumer will read: now minus the interpolated time the log end offset passed the consumer's position.
# TYPE kafka_scale_consumer_lag_seconds gauge
kafka_scale_consumer_lag_seconds{group="computers",partition="0",topic="compute"} 0
kafka_scale_consumer_lag_seconds{group="computers",partition="1",topic="compute"} 7.5
`)))

	l.Forget("compute", 1)
	l.Forget("compute", 2)
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Equal(t, 2, n, "partition 0's two series")
}

func TestObserveDoesNotAllocate(t *testing.T) {
	c := newClock()
	l := New("computers", c.now, 8)
	var off int64
	l.Observe("compute", 0, off, off)
	allocs := testing.AllocsPerRun(1000, func() {
		c.t = c.t.Add(time.Second)
		off += 100
		l.Observe("compute", 0, off, off-50)
	})
	require.Zero(t, allocs)
}

// TestConcurrent is for -race: the consumer observes while Prometheus
// collects.
func TestConcurrent(t *testing.T) {
	l := New("computers", nil, 0)
	reg := prometheus.NewRegistry()
	reg.MustRegister(l)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range int64(2000) {
			l.Observe("compute", int32(i%4), i, i/2)
			if i%100 == 0 {
				l.Forget("compute", int32(i%4))
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 50 {
			_, err := reg.Gather()
			require.NoError(t, err)
		}
	}()
	wg.Wait()
}
