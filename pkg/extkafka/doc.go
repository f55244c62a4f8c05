// Package extkafka is the project's layer over confluent-kafka-go: client
// configuration from flags, config maps with safe defaults, construction of
// clients whose librdkafka logs go to zap, topic creation, librdkafka
// statistics as Prometheus metrics, and error classification.
//
// Clients are confluent's own types (*kafka.Producer, *kafka.Consumer), so a
// service keeps full control of its poll loop; it hands the *kafka.Stats
// events it sees to Stats.Update. Only the admin client is wrapped (Admin),
// because confluent's admin client cannot route its logs.
//
// # What a consumer must commit
//
// A committed offset is the offset of the next record to read: commit the
// offset of the last processed record + 1, never the record's own offset, or
// the record is processed again after a restart or a rebalance. Commit on
// revoke too, and not at all when the assignment was lost.
//
// On a topic written by transactional producers every transaction ends with
// a commit or abort marker, a control record that occupies an offset but is
// never handed to the application. A consumer that commits last-offset+1
// after the last record of a transaction therefore stays one offset behind
// the end of the partition, and its lag never reaches 0 when idle. librdkafka
// moves the consumer's position past a marker once the consumer has polled
// after reading the transaction's last record, so a consumer that is caught
// up should commit its position (Consumer.Position) rather than
// last-offset+1; both are correct, only the position lets idle lag reach 0.
// Offsets sent with Producer.SendOffsetsToTransaction follow the same rule.
//
// Offsets committed through a producer's transaction are not seen by the
// consumer's own statistics (librdkafka's consumer_lag stays -1), which is
// why Stats measures lag from the consumer's position; see
// NewStats.
package extkafka
