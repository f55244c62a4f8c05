// Package lagtime provides consumer lag in records and in seconds, as a
// Prometheus collector a consumer exports about itself.
//
// Lag in records says how much work is queued; lag in seconds says how
// late the results are, which is what a service level and an autoscaler
// care about. The seconds are estimated the way kafka-lag-exporter does:
// for each partition a bounded table remembers when the log end offset was
// seen at which value, and the lag of a consumer at offset o is now minus
// the time, interpolated in that table, at which the log end offset passed
// o. A consumer at or past the log end has no lag.
//
// The collector exports, with the consumer group as a label so that
// dashboards, alerts and a Prometheus-driven autoscaler can select one
// group across all its members:
//
//	kafka_scale_consumer_lag_records{group,topic,partition}
//	kafka_scale_consumer_lag_seconds{group,topic,partition}
//
// Each member exports only the partitions it observes, so the series of a
// group are summed (or maxed, to be safe while a rebalance moves a
// partition) over its pods.
package lagtime

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxSamples is the table size New uses when given 0: with one
// observation every 5 s it remembers 5 minutes of the log's growth; older
// positions are extrapolated from the table's trend.
const DefaultMaxSamples = 60

// Lag tracks the lag of one consumer group member's partitions. It is safe
// for concurrent use: the consumer observes while Prometheus collects.
type Lag struct {
	now        func() time.Time
	maxSamples int
	records    *prometheus.Desc
	seconds    *prometheus.Desc

	mu         sync.Mutex
	partitions map[topicPartition]*table
}

type topicPartition struct {
	topic     string
	partition int32
}

// sample says the log end offset was offset at time at.
type sample struct {
	offset int64
	at     time.Time
}

// table is the table of one partition: a ring of samples, oldest
// first, whose offsets and times never decrease.
type table struct {
	label    string // the partition number, formatted once
	ring     []sample
	first, n int
	consumed int64 // the consumer's position; < 0 when unknown
}

// New returns the lag of group's member. now is the clock (time.Now when
// nil); maxSamples bounds each partition's table (DefaultMaxSamples when 0,
// at least 2).
func New(group string, now func() time.Time, maxSamples int) *Lag {
	if now == nil {
		now = time.Now
	}
	if maxSamples == 0 {
		maxSamples = DefaultMaxSamples
	}
	maxSamples = max(maxSamples, 2)
	labels := prometheus.Labels{"group": group}
	return &Lag{
		now:        now,
		maxSamples: maxSamples,
		records: prometheus.NewDesc("kafka_scale_consumer_lag_records",
			"Records between the consumer's position and the partition's log end offset.",
			[]string{"topic", "partition"}, labels),
		seconds: prometheus.NewDesc("kafka_scale_consumer_lag_seconds",
			"Estimated age of the next record the consumer will read: now minus the interpolated time the log end offset passed the consumer's position.",
			[]string{"topic", "partition"}, labels),
		partitions: map[topicPartition]*table{},
	}
}

// Observe records that topic's partition had the log end offset logEnd
// (the high watermark: the offset the next record produced will get) and
// that the consumer's position there is consumed (the offset of the next
// record it will process, as committed or as Position reports it; < 0,
// such as librdkafka's OffsetInvalid, when it has none yet).
//
// Call it for every assigned partition at a steady interval, whether or not
// records arrive: the table learns the log's growth only from these calls,
// and an idle or stalled consumer must keep observing for its lag in
// seconds to grow. With read_committed, pass the last stable offset rather
// than the high watermark if you have it; the difference is the records of
// open transactions.
func (l *Lag) Observe(topic string, partition int32, logEnd, consumed int64) {
	at := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.partitions[topicPartition{topic, partition}]
	if p == nil {
		p = &table{label: strconv.FormatInt(int64(partition), 10), ring: make([]sample, l.maxSamples)}
		l.partitions[topicPartition{topic, partition}] = p
	}
	p.consumed = consumed
	p.add(sample{offset: logEnd, at: at})
}

// Forget drops topic's partition, so that its series disappear: call it
// when the partition is revoked or lost, since its new owner reports it.
func (l *Lag) Forget(topic string, partition int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.partitions, topicPartition{topic, partition})
}

// Records returns the lag in records of topic's partition, and false when
// it is not known (never observed, or no position yet).
func (l *Lag) Records(topic string, partition int32) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.partitions[topicPartition{topic, partition}]
	if p == nil || p.consumed < 0 {
		return 0, false
	}
	return p.lagRecords(), true
}

// Seconds returns the estimated lag in seconds of topic's partition now,
// and false when it is not known.
func (l *Lag) Seconds(topic string, partition int32) (float64, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.partitions[topicPartition{topic, partition}]
	if p == nil || p.consumed < 0 {
		return 0, false
	}
	return p.lagSeconds(now), true
}

// Describe implements prometheus.Collector.
func (l *Lag) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.records
	ch <- l.seconds
}

// Collect implements prometheus.Collector.
func (l *Lag) Collect(ch chan<- prometheus.Metric) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for tp, p := range l.partitions {
		if p.consumed < 0 {
			continue
		}
		ch <- prometheus.MustNewConstMetric(l.records, prometheus.GaugeValue, float64(p.lagRecords()), tp.topic, p.label)
		ch <- prometheus.MustNewConstMetric(l.seconds, prometheus.GaugeValue, p.lagSeconds(now), tp.topic, p.label)
	}
}

func (p *table) at(i int) *sample { return &p.ring[(p.first+i)%len(p.ring)] }

func (p *table) last() *sample { return p.at(p.n - 1) }

// add appends s to the table, keeping offsets and times non-decreasing.
func (p *table) add(s sample) {
	if p.n == 0 {
		p.first, p.n = 0, 1
		p.ring[0] = s
		return
	}
	last := p.last()
	switch {
	case s.offset < last.offset:
		// The log went backwards: the topic was deleted and created again,
		// or this is another cluster. What the table knew is of no use.
		p.first, p.n = 0, 1
		p.ring[0] = s
	case !s.at.After(last.at):
		// No time has passed (a coarse or fake clock): keep the newest
		// offset at that time.
		last.offset = s.offset
	case s.offset == last.offset && p.n >= 2 && p.at(p.n-2).offset == s.offset:
		// A flat line stays one segment whose right end moves on, so an
		// idle partition does not push its history out of the table.
		last.at = s.at
	case p.n == len(p.ring):
		p.ring[p.first] = s
		p.first = (p.first + 1) % len(p.ring)
	default:
		*p.at(p.n) = s
		p.n++
	}
}

func (p *table) lagRecords() int64 {
	if p.n == 0 {
		return 0
	}
	return max(0, p.last().offset-p.consumed)
}

// lagSeconds is now minus the time the log end offset passed the
// consumer's position, never negative.
func (p *table) lagSeconds(now time.Time) float64 {
	if p.n == 0 || p.consumed >= p.last().offset {
		return 0
	}
	return max(0, now.Sub(p.timeOf(p.consumed)).Seconds())
}

// timeOf estimates when the log end offset was o, for o below the newest
// sample's offset.
func (p *table) timeOf(o int64) time.Time {
	first := p.at(0)
	if o < first.offset {
		// Before the table: extrapolate the table's trend up to where the
		// log end reached its newest offset, since an idle tail says
		// nothing about how fast those older records were written. A
		// table that saw no growth only says the record is older than its
		// first sample, which is the best bound there is.
		i := p.n - 1
		for i > 0 && p.at(i-1).offset == p.at(i).offset {
			i--
		}
		if i == 0 {
			return first.at
		}
		return interpolate(*first, *p.at(i), o)
	}
	// The newest segment [l, r) holding o: the table is ordered, so
	// searching from the newest finds the last time the log end was at o.
	for i := p.n - 1; i > 0; i-- {
		l, r := p.at(i-1), p.at(i)
		if l.offset <= o && o < r.offset {
			return interpolate(*l, *r, o)
		}
	}
	return first.at // unreachable: first.offset <= o < last.offset
}

// interpolate returns the time on the line through l and r (r.offset >
// l.offset) at which the offset is o.
func interpolate(l, r sample, o int64) time.Time {
	dt := float64(r.at.Sub(l.at))
	do := float64(r.offset - l.offset)
	return r.at.Add(-time.Duration(float64(r.offset-o) * dt / do))
}
