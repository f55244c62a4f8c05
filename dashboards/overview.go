package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// The computers are the pods exporting this metric; nothing else does.
const computerMetric = "kafka_scale_computer_assigned_partitions"

// Likewise the aggregator's.
const aggregatorMetric = "kafka_scale_aggregator_restored_records"

// Overview is the pipeline at a glance: throughput per stage, progress per
// source, lag, rejects, errors and transaction aborts.
func Overview() *dashboard.DashboardBuilder {
	lagRecords := aggregate("max", "kafka_scale_consumer_lag_records"+groupSel(), "topic", "partition")
	tx := sum(rate("kafka_scale_computer_transactions_total"))
	good := sum(rate("kafka_scale_computer_records_total"))
	rejected := orZero(sum(rate("kafka_scale_computer_rejected_records_total")), good)
	return base("kafka-scale-overview", "kafka-scale / Overview",
		"The kafka-scale pipeline: reader -> compute topic -> computers -> results topic -> aggregator.").
		WithRow(row("Pipeline")).
		WithPanel(single("Computers", units.Short,
			"Computer pods running, ready, and holding partitions of the consumer group.", 6,
			query{aggregate("count", computerMetric+sel()), "running"},
			query{aggregate("count", "kafka_scale_ready"+sel()+" == 1 and on (namespace, pod) "+computerMetric+sel()), "ready"},
			query{aggregate("count", aggregate("count", "kafka_scale_consumer_lag_records"+groupSel(), "pod")), "consuming"})).
		WithPanel(single("Lag", units.Short,
			"Records of the compute topic not yet processed by the group.", 4,
			query{sum(lagRecords), "records"})).
		WithPanel(single("Lag in seconds", units.Seconds,
			"Age of the oldest unprocessed record, estimated from when the log end passed each member's position.", 4,
			query{aggregate("max", "kafka_scale_consumer_lag_seconds"+groupSel()), "seconds"})).
		WithPanel(single("Aggregator ready", "bool_yes_no",
			"The aggregator has restored its state and caught up with the results topic.", 4,
			query{aggregate("min", "kafka_scale_ready"+sel()+" and on (namespace, pod) "+aggregatorMetric+sel()), "ready"})).
		WithPanel(single("Sources read", units.Short,
			"Census files the readers finished in the time range, by result (ok: every chunk acknowledged).", 6,
			query{total("kafka_scale_reader_sources_total", "result"), "{{result}}"})).
		WithRow(row("Throughput and progress")).
		WithPanel(graph("Records per stage", units.RecordsPerSecond,
			"Census records read by the readers, tabulated by the computers, and rejected as unparsable.", 12,
			query{sum(rate("kafka_scale_reader_records_total")), "reader: read"},
			query{good, "computer: tabulated"},
			query{rejected, "computer: rejected"})).
		WithPanel(graph("Chunks per stage", units.MessagesPerSecond,
			"Chunks written to the compute topic, consumed by the computers, their results written, and counted by the aggregator.", 12,
			query{sum(rate("kafka_scale_chunks_written")), "reader: written"},
			query{sum(rate("kafka_scale_compute_messages_read")), "computer: read"},
			query{sum(rate("kafka_scale_result_messages_written")), "computer: results written"},
			query{sum(rate("kafka_scale_aggregator_chunks_total", `outcome="counted"`)), "aggregator: counted"})).
		WithPanel(gauges("Progress per source", units.PercentUnit,
			"Chunks counted by the aggregator out of the chunks in the source; known once the source's last chunk has arrived.", 12, 1,
			query{aggregate("max", "kafka_scale_aggregator_source_chunks"+sel(), "source") + " / " + aggregate("max", "kafka_scale_aggregator_source_expected_chunks"+sel(), "source"), "{{source}}"})).
		WithPanel(graph("Chunks counted per source", units.Short,
			"Distinct chunks of each source the aggregator has counted.", 12,
			each("max", "kafka_scale_aggregator_source_chunks"+sel(), "source"))).
		WithRow(row("Lag")).
		WithPanel(graph("Lag per partition", units.Short,
			"Records between the group's position and the log end offset, per partition of the compute topic.", 12,
			query{lagRecords, "{{topic}} [{{partition}}]"})).
		WithPanel(graph("Lag in seconds per partition", units.Seconds,
			"How old the next record each partition hands the group is: now minus when the log end passed the group's position.", 12,
			query{aggregate("max", "kafka_scale_consumer_lag_seconds"+groupSel(), "topic", "partition"), "{{topic}} [{{partition}}]"})).
		WithRow(row("Rejects and errors")).
		WithPanel(graph("Rejected records by reason", units.RecordsPerSecond,
			"Records the computers could not parse: length (a short or long line) or field:<NAME> (a bad value).", 8,
			each("sum", rate("kafka_scale_computer_rejected_records_total"), "reason"))).
		WithPanel(graph("Reject ratio", units.PercentUnit,
			"Rejected records out of all records the computers processed.", 8,
			query{rejected + " / (" + good + " + " + rejected + ")", "rejected"})).
		WithPanel(graph("Errors", "cps",
			"Census files that could not be read to their end, chunks the reader failed to deliver, and messages skipped as invalid (undecodable, or over a limit: by topic and reason in kafka_scale_*_invalid_messages_total). Sources that failed are counted in Sources read.", 8,
			query{sum(rate("kafka_scale_reader_read_errors_total")), "reader: read errors"},
			query{sum(rate("kafka_scale_reader_produce_errors_total")), "reader: produce errors"},
			query{sum(rate("kafka_scale_computer_invalid_messages_total")), "computer: invalid messages"},
			query{sum(rate("kafka_scale_aggregator_invalid_messages_total")), "aggregator: invalid messages"})).
		WithPanel(graph("Transactions by outcome", units.OpsPerSecond,
			"Computer transactions ended: committed, aborted (on a lost assignment, or a refused commit: its results are then produced again, or the consumer rewound) or failed.", 12,
			each("sum", rate("kafka_scale_computer_transactions_total"), "outcome"))).
		WithPanel(graph("Transaction aborts", units.PercentUnit,
			"Computer transactions not committed, out of all that ended.", 12,
			query{orZero(sum(rate("kafka_scale_computer_transactions_total", `outcome!="committed"`)), tx) + " / " + tx, "aborted or failed"}))
}
