package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// Services is a row per service with what its operator needs to find out
// why the overview looks wrong, and a row of the Kafka clients' own
// statistics (librdkafka).
func Services() *dashboard.DashboardBuilder {
	onAggregator := " and on (namespace, pod) " + aggregatorMetric + sel()
	return base("kafka-scale-services", "kafka-scale / Services",
		"Per service: reader downloads and producing, computer transactions and rebalances, aggregator state and API, and the Kafka clients' statistics.").
		WithRow(row("Reader")).
		WithPanel(graph("Download and read throughput", units.BytesPerSecondSI,
			"Bytes received from the census server (compressed) and bytes of records read from the files (decompressed).", 8,
			query{sum(rate("kafka_scale_reader_download_bytes_total")), "downloaded (compressed)"},
			query{sum(rate("kafka_scale_reader_records_bytes_total")), "records read"})).
		WithPanel(graph("Download retries and resumes", "cps",
			"Download requests retried, by reason (network, or the HTTP status), and interrupted downloads resumed with a Range request.", 8,
			query{sum(rate("kafka_scale_reader_download_retries_total"), "reason"), "retry: {{reason}}"},
			query{sum(rate("kafka_scale_reader_download_resumes_total")), "resumed"})).
		WithPanel(graph("Producing", "cps",
			"Chunks the producer failed to deliver, and times its queue was full and the reader waited.", 8,
			query{sum(rate("kafka_scale_reader_produce_errors_total")), "produce errors"},
			query{sum(rate("kafka_scale_reader_queue_full_total")), "queue full"})).
		WithPanel(single("Files read to their end", units.Short,
			"Census files read to their end by the readers in the time range.", 8,
			query{total("kafka_scale_downloaded_gzips"), "files"})).
		WithPanel(single("Read errors", units.Short,
			"Census files that could not be read to their end in the time range (truncated, corrupt).", 8,
			query{total("kafka_scale_reader_read_errors_total"), "files"})).
		WithPanel(single("Chunks written", units.Short,
			"Chunks acknowledged by the brokers on the compute topic in the time range.", 8,
			query{total("kafka_scale_chunks_written"), "chunks"})).
		WithRow(row("Computer")).
		WithPanel(graph("Transaction latency", units.Seconds,
			"Time from the start of a transaction to its commit.", 8,
			quantiles("kafka_scale_computer_transaction_duration_seconds")...)).
		WithPanel(graph("Chunks per transaction", units.Short,
			"Batch size: chunks committed per transaction.", 8,
			append(quantiles("kafka_scale_computer_transaction_chunks"),
				query{sum(rate("kafka_scale_computer_transaction_chunks_sum")) + " / " + sum(rate("kafka_scale_computer_transaction_chunks_count")), "mean"})...)).
		WithPanel(graph("Chunk processing time", units.Seconds,
			"Time to parse and tabulate one chunk.", 8,
			quantiles("kafka_scale_computer_chunk_duration_seconds")...)).
		WithPanel(graph("Records per computer", units.RecordsPerSecond,
			"Records tabulated by each computer pod.", 8,
			each("sum", rate("kafka_scale_computer_records_total"), "pod"))).
		WithPanel(graph("Assigned partitions", units.Short,
			"Partitions of the compute topic each computer holds.", 8,
			each("sum", computerMetric+sel(), "pod"))).
		WithPanel(graph("Rebalance events", units.OpsPerSecond,
			"Partitions assigned, revoked or lost, as seen by the computers.", 8,
			each("sum", rate("kafka_scale_computer_rebalance_events_total"), "event"))).
		WithPanel(graph("Lag per computer", units.Short,
			"Records of the group's partitions each member has yet to process.", 12,
			each("sum", "kafka_scale_consumer_lag_records"+groupSel(), "pod"))).
		WithPanel(graph("Transactions per computer", units.OpsPerSecond,
			"Transactions ended by each computer, by outcome.", 12,
			each("sum", rate("kafka_scale_computer_transactions_total"), "pod", "outcome"))).
		WithRow(row("Aggregator")).
		WithPanel(graph("Ready", units.Short,
			"1 once the aggregator has restored its state and caught up with the results topic; 0 while restoring.", 6,
			each("max", "kafka_scale_ready"+sel()+onAggregator, "pod"))).
		WithPanel(single("Restore time", units.Seconds,
			"Time from start until the state was restored and the results topic caught up.", 6,
			each("max", "kafka_scale_aggregator_restore_seconds"+sel(), "pod"))).
		WithPanel(single("Restored records", units.Short,
			"State-topic records read on restore.", 6,
			each("max", aggregatorMetric+sel(), "pod"))).
		WithPanel(graph("Snapshot latency", units.Seconds,
			"Time to write one state snapshot transaction.", 6,
			quantiles("kafka_scale_aggregator_snapshot_duration_seconds")...)).
		WithPanel(graph("Chunks by outcome", units.MessagesPerSecond,
			"Result messages read, and chunk results counted or ignored as duplicates (already counted: a reloaded file or a replay).", 8,
			query{sum(rate("kafka_scale_result_messages_read")), "results read"},
			each("sum", rate("kafka_scale_aggregator_chunks_total"), "outcome"))).
		WithPanel(graph("Snapshots by outcome", units.OpsPerSecond,
			"State snapshots written, committed or aborted.", 8,
			each("sum", rate("kafka_scale_aggregator_snapshots_total"), "outcome"))).
		WithPanel(graph("API latency (p99)", units.Seconds,
			"99th percentile of API request time, by route.", 8,
			query{quantile("0.99", "kafka_scale_aggregator_http_request_duration_seconds", "route"), "{{route}}"})).
		WithPanel(graph("API requests", units.RequestsPerSecond,
			"API requests by route and status code.", 24,
			each("sum", rate("kafka_scale_aggregator_http_request_duration_seconds_count"), "route", "code"))).
		WithRow(row("Kafka clients (librdkafka statistics)")).
		WithPanel(graph("Consumer lag by client", units.Short,
			"librdkafka's view: records between each consumer's position and the partition's last stable offset, per pod and topic.", 12,
			each("sum", "kafka_scale_kafka_consumer_lag_records"+sel(), "pod", "topic"))).
		WithPanel(graph("Fetch queue", units.Short,
			"Records fetched by each consumer and not yet handed to the service.", 12,
			each("sum", "kafka_scale_kafka_consumer_fetch_queue_records"+sel(), "pod", "client_id"))).
		WithPanel(graph("Producer queue", units.Short,
			"Messages in each producer's queues, waiting to be sent or acknowledged.", 8,
			each("sum", "kafka_scale_kafka_producer_queue_messages"+sel(), "pod", "client_id"))).
		WithPanel(graph("Producer queue size", units.BytesSI,
			"Bytes of the messages in each producer's queues.", 8,
			each("sum", "kafka_scale_kafka_producer_queue_bytes"+sel(), "pod", "client_id"))).
		WithPanel(graph("Transactional producers by state", units.Short,
			"Transactional producers per transaction manager state; FatalError means the producer must be recreated.", 8,
			each("count", "kafka_scale_kafka_producer_transaction_state"+sel()+" == 1", "state"))).
		WithPanel(graph("Messages", units.MessagesPerSecond,
			"Messages the producers sent and the consumers received.", 8,
			query{sum(rate("kafka_scale_kafka_produced_messages_total"), "pod"), "{{pod}} produced"},
			query{sum(rate("kafka_scale_kafka_consumed_messages_total"), "pod"), "{{pod}} consumed"})).
		WithPanel(graph("Network", units.BytesPerSecondSI,
			"Bytes the clients sent to and received from the brokers.", 8,
			query{sum(rate("kafka_scale_kafka_sent_bytes_total"), "pod", "type"), "{{pod}} {{type}} sent"},
			query{sum(rate("kafka_scale_kafka_received_bytes_total"), "pod", "type"), "{{pod}} {{type}} received"})).
		WithPanel(graph("Broker round trip", units.Seconds,
			"Round-trip time of the clients' requests to each broker over the last statistics interval.", 8,
			query{aggregate("max", "kafka_scale_kafka_broker_rtt_p99_seconds"+sel(), "broker"), "broker {{broker}} p99"},
			query{aggregate("avg", "kafka_scale_kafka_broker_rtt_avg_seconds"+sel(), "broker"), "broker {{broker}} mean"})).
		WithPanel(graph("Consumer assignment", units.Short,
			"Partitions assigned to each consumer.", 12,
			query{sum("kafka_scale_kafka_consumer_assigned_partitions"+sel(), "pod", "client_id"), "{{pod}} {{client_id}} partitions"})).
		WithPanel(graph("Consumer rebalances", units.OpsPerSecond,
			"Consumer group rebalances each consumer took part in.", 12,
			each("sum", rate("kafka_scale_kafka_consumer_rebalances_total"), "pod", "client_id")))
}
