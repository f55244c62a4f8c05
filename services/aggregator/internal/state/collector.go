package state

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports per-source progress for the generation the totals use:
// chunks counted, the expected total once the last chunk has arrived (so
// that counted/expected is a progress ratio), records and rejects.
type Collector struct {
	store                                     *Store
	chunks, expected, records, rejected, done *prometheus.Desc
}

// NewCollector returns a collector over store; register it on the
// process's registry.
func NewCollector(store *Store) *Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"source"}, nil)
	}
	return &Collector{
		store:    store,
		chunks:   d("kafka_scale_aggregator_source_chunks", "Distinct chunks of the source counted."),
		expected: d("kafka_scale_aggregator_source_expected_chunks", "Chunks the source has, known once its last chunk has been counted."),
		records:  d("kafka_scale_aggregator_source_records", "Records of the source counted, good and bad."),
		rejected: d("kafka_scale_aggregator_source_rejected_records", "Records of the source that failed to parse."),
		done:     d("kafka_scale_aggregator_source_complete", "1 once every chunk of the source has been counted and it was read to its end."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.chunks, c.expected, c.records, c.rejected, c.done} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.store.Sources() {
		ch <- prometheus.MustNewConstMetric(c.chunks, prometheus.GaugeValue, float64(s.Chunks), s.Source)
		if s.TotalChunks != nil {
			ch <- prometheus.MustNewConstMetric(c.expected, prometheus.GaugeValue, float64(*s.TotalChunks), s.Source)
		}
		ch <- prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, float64(s.Records), s.Source)
		ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.GaugeValue, float64(s.Rejected), s.Source)
		complete := 0.0
		if s.Complete {
			complete = 1
		}
		ch <- prometheus.MustNewConstMetric(c.done, prometheus.GaugeValue, complete, s.Source)
	}
}
