package extkafka

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafka-scale/kafka-scale/pkg/metrics"
)

// Stats turns librdkafka's statistics (the *kafka.Stats events of
// statistics.interval.ms) into Prometheus metrics. It keeps the latest
// statistics of each client and is itself the collector, so a series exists
// exactly as long as its subject: a partition revoked in a rebalance, or a
// closed client, leaves no stale series behind. One Stats serves all the
// clients of a process; it is safe for concurrent use.
//
// Consumer lag is measured from the consumer's position (the offset after
// the last record handed to the program; see rdPartition.lag before the
// first) to the partition's last stable offset (its end for a
// read_committed consumer; the high watermark when there is none).
// librdkafka's own consumer_lag counts from the offset the consumer itself
// committed, which a consumer whose offsets are committed by a transactional
// producer never does.
type Stats struct {
	mu      sync.Mutex
	clients map[string][]sample // latest statistics by client instance name
	closed  map[string]bool     // instances closed: late events are ignored
	retired map[seriesKey]float64
}

type metricID int

const (
	mConsumerLag metricID = iota
	mFetchQueue
	mAssigned
	mRebalances
	mProducerQueueMsgs
	mProducerQueueBytes
	mTxnState
	mTxBytes
	mRxBytes
	mTxMsgs
	mRxMsgs
	mBrokerRTTAvg
	mBrokerRTTP99
	numMetrics
)

type metricDef struct {
	name, help string
	labels     []string
	kind       prometheus.ValueType
	// combine merges the values of two clients with the same labels, as
	// two consumers of a process sharing the default client id.
	combine func(a, b float64) float64
}

func sum(a, b float64) float64   { return a + b }
func maxOf(a, b float64) float64 { return max(a, b) }

var metricDefs = [numMetrics]metricDef{
	mConsumerLag: {"consumer_lag_records", "Records between a consumer's position and the end of an assigned partition (last stable offset).",
		[]string{"client_id", "topic", "partition"}, prometheus.GaugeValue, maxOf},
	mFetchQueue: {"consumer_fetch_queue_records", "Records fetched by a consumer and not yet handed to the program.",
		[]string{"client_id"}, prometheus.GaugeValue, sum},
	mAssigned: {"consumer_assigned_partitions", "Partitions assigned to a consumer.",
		[]string{"client_id"}, prometheus.GaugeValue, sum},
	mRebalances: {"consumer_rebalances_total", "Consumer group rebalances (assignments and revocations) a consumer took part in.",
		[]string{"client_id"}, prometheus.CounterValue, sum},
	mProducerQueueMsgs: {"producer_queue_messages", "Messages in a producer's queues, waiting to be sent or acknowledged.",
		[]string{"client_id"}, prometheus.GaugeValue, sum},
	mProducerQueueBytes: {"producer_queue_bytes", "Bytes of the messages in a producer's queues.",
		[]string{"client_id"}, prometheus.GaugeValue, sum},
	mTxnState: {"producer_transaction_state", "State of a transactional producer's transaction manager: 1 for the current state (FatalError means the producer must be recreated).",
		[]string{"client_id", "state"}, prometheus.GaugeValue, maxOf},
	mTxBytes: {"sent_bytes_total", "Bytes a client sent to the brokers.",
		[]string{"client_id", "type"}, prometheus.CounterValue, sum},
	mRxBytes: {"received_bytes_total", "Bytes a client received from the brokers.",
		[]string{"client_id", "type"}, prometheus.CounterValue, sum},
	mTxMsgs: {"produced_messages_total", "Messages a producer sent to the brokers.",
		[]string{"client_id"}, prometheus.CounterValue, sum},
	mRxMsgs: {"consumed_messages_total", "Messages a consumer received from the brokers.",
		[]string{"client_id"}, prometheus.CounterValue, sum},
	mBrokerRTTAvg: {"broker_rtt_avg_seconds", "Mean round-trip time of a client's requests to a broker over the last statistics interval; a consumer's include the brokers' wait for data to fetch (fetch.wait.max.ms).",
		[]string{"client_id", "type", "broker"}, prometheus.GaugeValue, maxOf},
	mBrokerRTTP99: {"broker_rtt_p99_seconds", "99th percentile of the round-trip time of a client's requests to a broker over the last statistics interval; a consumer's include the brokers' wait for data to fetch (fetch.wait.max.ms).",
		[]string{"client_id", "type", "broker"}, prometheus.GaugeValue, maxOf},
}

var metricDescs = func() (descs [numMetrics]*prometheus.Desc) {
	for i, d := range metricDefs {
		descs[i] = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "kafka", d.name), d.help, d.labels, nil)
	}
	return descs
}()

type sample struct {
	m      metricID
	labels []string
	v      float64
}

type seriesKey struct {
	m      metricID
	labels string
}

func (s sample) key() seriesKey { return seriesKey{s.m, strings.Join(s.labels, "\xff")} }

// NewStats returns a Stats registered on reg; it panics if reg already has
// it, like prometheus.MustRegister. A nil reg registers nothing.
func NewStats(reg prometheus.Registerer) *Stats {
	s := &Stats{clients: map[string][]sample{}, closed: map[string]bool{}, retired: map[seriesKey]float64{}}
	if reg != nil {
		reg.MustRegister(s)
	}
	return s
}

// Update replaces a client's statistics with statsJSON, the String() of a
// *kafka.Stats event.
func (s *Stats) Update(statsJSON string) error {
	var st rdStats
	if err := json.Unmarshal([]byte(statsJSON), &st); err != nil {
		return fmt.Errorf("librdkafka statistics: %w", err)
	}
	if st.Name == "" {
		return errors.New("librdkafka statistics: no client name")
	}
	samples := st.samples()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed[st.Name] {
		s.clients[st.Name] = samples
	}
	return nil
}

// forget drops a closed client's series, keeping its counters' last values
// so that the totals of a client id never go down when a client is
// replaced.
func (s *Stats) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, smp := range s.clients[name] {
		if metricDefs[smp.m].kind == prometheus.CounterValue {
			s.retired[smp.key()] += smp.v
		}
	}
	delete(s.clients, name)
	s.closed[name] = true
}

// Describe implements prometheus.Collector.
func (s *Stats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range metricDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *Stats) Collect(ch chan<- prometheus.Metric) {
	type series struct {
		labels []string
		v      float64
	}
	merged := map[seriesKey]*series{}
	s.mu.Lock()
	for _, samples := range s.clients {
		for _, smp := range samples {
			k := smp.key()
			if cur, ok := merged[k]; ok {
				cur.v = metricDefs[smp.m].combine(cur.v, smp.v)
			} else {
				merged[k] = &series{smp.labels, smp.v}
			}
		}
	}
	for k, v := range s.retired {
		if cur, ok := merged[k]; ok {
			cur.v += v
		} else {
			merged[k] = &series{strings.Split(k.labels, "\xff"), v}
		}
	}
	s.mu.Unlock()
	for k, se := range merged {
		ch <- prometheus.MustNewConstMetric(metricDescs[k.m], metricDefs[k.m].kind, se.v, se.labels...)
	}
}

// rdStats is the part of librdkafka's statistics JSON that is exported;
// see STATISTICS.md in librdkafka. The top level's byte totals are spelled
// tx_bytes and rx_bytes (the brokers' txbytes and rxbytes), whatever that
// document says.
type rdStats struct {
	Name     string              `json:"name"`
	ClientID string              `json:"client_id"`
	Type     string              `json:"type"`
	MsgCnt   int64               `json:"msg_cnt"`
	MsgSize  int64               `json:"msg_size"`
	TxBytes  int64               `json:"tx_bytes"`
	RxBytes  int64               `json:"rx_bytes"`
	TxMsgs   int64               `json:"txmsgs"`
	RxMsgs   int64               `json:"rxmsgs"`
	Brokers  map[string]rdBroker `json:"brokers"`
	Topics   map[string]rdTopic  `json:"topics"`
	Cgrp     *rdCgrp             `json:"cgrp"`
	EOS      *rdEOS              `json:"eos"`
}

type rdBroker struct {
	NodeID int32    `json:"nodeid"`
	Source string   `json:"source"`
	RTT    rdWindow `json:"rtt"`
}

// rdWindow is a rolling window of microseconds.
type rdWindow struct {
	Avg int64 `json:"avg"`
	P99 int64 `json:"p99"`
	Cnt int64 `json:"cnt"`
}

type rdTopic struct {
	Topic      string                 `json:"topic"`
	Partitions map[string]rdPartition `json:"partitions"`
}

type rdPartition struct {
	Partition       int32  `json:"partition"`
	FetchState      string `json:"fetch_state"`
	FetchqCnt       int64  `json:"fetchq_cnt"`
	NextOffset      int64  `json:"next_offset"`
	AppOffset       int64  `json:"app_offset"`
	CommittedOffset int64  `json:"committed_offset"`
	HiOffset        int64  `json:"hi_offset"`
	LsOffset        int64  `json:"ls_offset"`
}

type rdCgrp struct {
	State          string `json:"state"`
	RebalanceCnt   int64  `json:"rebalance_cnt"`
	AssignmentSize int64  `json:"assignment_size"`
}

type rdEOS struct {
	TxnState string `json:"txn_state"`
}

// assigned tells a partition the consumer fetches from one it merely knows
// of: a partition of a subscribed topic assigned elsewhere, or revoked.
func (p rdPartition) assigned() bool {
	switch p.FetchState {
	case "", "none", "stopping", "stopped":
		return false
	}
	return true
}

// lag is the consumer lag of an assigned partition, if it is known yet.
// The position is the offset after the last record handed to the program;
// before the first, the committed offset, or for a partition without one,
// where the fetcher is less what it has fetched and not handed over.
func (p rdPartition) lag() (int64, bool) {
	end := p.LsOffset
	if end < 0 {
		end = p.HiOffset
	}
	pos := p.AppOffset
	if pos < 0 {
		pos = p.CommittedOffset
	}
	if pos < 0 && p.NextOffset >= 0 {
		pos = max(p.NextOffset-p.FetchqCnt, 0)
	}
	if end < 0 || pos < 0 {
		return 0, false
	}
	return max(end-pos, 0), true
}

func (st *rdStats) samples() []sample {
	id := st.ClientID
	var out []sample
	add := func(m metricID, v int64, labels ...string) {
		out = append(out, sample{m, labels, float64(v)})
	}
	add(mTxBytes, st.TxBytes, id, st.Type)
	add(mRxBytes, st.RxBytes, id, st.Type)
	for _, b := range st.Brokers {
		// Bootstrap and logical brokers (nodeid -1) are stand-ins for
		// the real ones, and an interval without requests has no RTT.
		if b.NodeID < 0 || b.RTT.Cnt == 0 {
			continue
		}
		broker := strconv.Itoa(int(b.NodeID))
		out = append(out,
			sample{mBrokerRTTAvg, []string{id, st.Type, broker}, float64(b.RTT.Avg) / 1e6},
			sample{mBrokerRTTP99, []string{id, st.Type, broker}, float64(b.RTT.P99) / 1e6})
	}
	switch st.Type {
	case "producer":
		add(mProducerQueueMsgs, st.MsgCnt, id)
		add(mProducerQueueBytes, st.MsgSize, id)
		add(mTxMsgs, st.TxMsgs, id)
		if st.EOS != nil && st.EOS.TxnState != "" {
			add(mTxnState, 1, id, st.EOS.TxnState)
		}
	case "consumer":
		add(mRxMsgs, st.RxMsgs, id)
		if st.Cgrp != nil {
			add(mRebalances, st.Cgrp.RebalanceCnt, id)
			add(mAssigned, st.Cgrp.AssignmentSize, id)
		}
		var fetchq int64
		for _, t := range st.Topics {
			for _, p := range t.Partitions {
				if p.Partition < 0 || !p.assigned() {
					continue
				}
				fetchq += p.FetchqCnt
				if lag, ok := p.lag(); ok {
					add(mConsumerLag, lag, id, t.Topic, strconv.Itoa(int(p.Partition)))
				}
			}
		}
		add(mFetchQueue, fetchq, id)
	}
	return out
}
