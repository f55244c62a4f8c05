package extkafka

import (
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Group protocols accepted by ConsumerConfig.
const (
	// GroupProtocolClassic is the classic rebalance protocol, with the
	// cooperative-sticky assignor so that a rebalance moves only the
	// partitions that change owner.
	GroupProtocolClassic = "classic"
	// GroupProtocolConsumer is KIP-848's protocol: the broker assigns,
	// rebalances are incremental and need no group-wide barrier.
	GroupProtocolConsumer = "consumer"
)

// Defaults the builders set; each can be overridden by extra or by
// --kafka-config.
const (
	// lz4 rather than zstd: chunks of fixed-width census text compress well
	// with either and zstd's are somewhat smaller, but lz4 takes a fraction
	// of the CPU to compress and decompress, and the computers, which
	// decompress every chunk, are bound by CPU, not by the network.
	defaultCompression = "lz4"
	// A few milliseconds of batching cost nothing against the time to
	// tabulate a chunk and fill batches when many small results are sent.
	defaultLingerMs = 10
	// A broker unreachable for two minutes becomes a delivery error the
	// service reports rather than a longer silent stall (librdkafka's
	// default is five minutes).
	defaultMessageTimeoutMs = 120_000
	// Bounded producer memory (librdkafka's default allows 1 GiB); a full
	// queue is ErrQueueFull, which Produce waits out. The reader cuts chunks
	// faster than the brokers take them, so its queue is full whatever its
	// size, and the size is what its resident memory grows by; 4 MiB holds
	// the reader's 50 ms batches at the 25 MB/s of compressed chunks a
	// 2-core pipeline takes, and four times the largest record
	// (message.max.bytes, 1 MB). On 2 cores, a 36-month load peaked at
	// reader 40 MB against 71 MB with 64 MiB; with 2 MiB the 3-month
	// pipeline idled more (bench/README.md).
	defaultQueueKBytes = 4 * 1024
	// A consumer's local queue of fetched records
	// (queued.max.messages.kbytes; librdkafka's default is 64 MiB) and the
	// most one fetch request brings (fetch.max.bytes; 50 MiB), bounded as
	// the producer's queue is: 8 MiB of compressed chunks is some 140,000
	// records, a tenth of a second's work for a computer draining a
	// backlog. At 2 MiB the computer waited for fetches; at 64 MiB a
	// 36-month load peaked at computer 83 MB against 37 MB.
	defaultFetchQueueKBytes = 8 * 1024
	defaultFetchMaxBytes    = defaultFetchQueueKBytes * 1024
	// What TransactionalProducerConfig sets as transaction.timeout.ms:
	// long enough for a batch under load, short enough that the broker
	// aborts a dead member's transaction (and unblocks read_committed
	// consumers) within a minute.
	defaultTransactionTimeoutMs = 60_000
	// How long librdkafka waits before fetching again for a partition
	// whose messages fill the local queue (queued.max.messages.kbytes).
	// Its default of a second starves a consumer that empties the queue
	// faster than that: one fetch of compressed chunks fills the queue,
	// which a computer processes in a fraction of a second, then waits
	// out the rest. On 2 cores, with librdkafka's 64 MiB queue, draining
	// 3,000 chunks of 500 records: 160,000 records/s at 1000 ms, 900,000
	// at 50 ms, no better at 10 ms (see bench/README.md).
	DefaultFetchQueueBackoffMs = 50
)

// DefaultHeartbeatInterval is the classic protocol's heartbeat.interval.ms
// that ConsumerConfig sets (librdkafka's default is 3 s). A member learns
// of a rebalance only from a heartbeat's answer, and a member that joins a
// cooperative-sticky group waits for two: the others' (to rejoin, first
// round) and its own (to rejoin for the partitions they gave up, second
// round). At 3 s that was 4.3 to 4.9 s from a new computer's start to its
// first chunk in make bench; at 250 ms, about 1 s. A heartbeat is one small
// request to the group coordinator: four a second per member.
// KIP-848's consumer protocol takes the interval from the broker
// (group.consumer.heartbeat.interval.ms).
const DefaultHeartbeatInterval = 250 * time.Millisecond

// LoaderLingerMs is the linger.ms of a producer that loads a batch job's
// records as fast as the brokers take them (the reader), on top of
// ProducerConfig's 10: make bench measured fewer, larger produce requests
// as a faster load and a less busy broker.
const LoaderLingerMs = 50

// commonConfig is what every client gets: where the cluster is, how to
// authenticate, logs to the Go channel, statistics.
func commonConfig(c Config) kafka.ConfigMap {
	cm := kafka.ConfigMap{
		"bootstrap.servers":       c.BootstrapServers,
		"client.id":               c.clientID(),
		"security.protocol":       c.protocol(),
		"go.logs.channel.enable":  true,
		"statistics.interval.ms":  int(c.StatsInterval.Milliseconds()),
		"socket.keepalive.enable": true, // idle connections survive NAT and conntrack timeouts
	}
	proto := c.protocol()
	if isSASL(proto) {
		cm["sasl.mechanisms"] = c.SASLMechanism
		cm["sasl.username"] = c.SASLUsername
		cm["sasl.password"] = c.password()
	}
	if isTLS(proto) {
		for key, path := range map[string]string{
			"ssl.ca.location":          c.TLSCAFile,
			"ssl.certificate.location": c.TLSCertFile,
			"ssl.key.location":         c.TLSKeyFile,
		} {
			if path != "" {
				cm[key] = path
			}
		}
	}
	return cm
}

// finish applies extra, then the operator's --kafka-config overrides.
// Validate has checked the overrides; a malformed one is skipped here.
func finish(c Config, cm, extra kafka.ConfigMap) kafka.ConfigMap {
	for k, v := range extra {
		cm[k] = v
	}
	kvs, _ := parseOverrides(c.Overrides)
	for _, kv := range kvs {
		cm[kv[0]] = kv[1]
	}
	return cm
}

func producerDefaults(c Config) kafka.ConfigMap {
	cm := commonConfig(c)
	for k, v := range map[string]kafka.ConfigValue{
		// Idempotence: retries never duplicate or reorder a partition's
		// records, which also needs acks=all and at most 5 in flight.
		"enable.idempotence":                    true,
		"acks":                                  "all",
		"max.in.flight.requests.per.connection": 5,
		"compression.type":                      defaultCompression,
		"linger.ms":                             defaultLingerMs,
		"queue.buffering.max.kbytes":            defaultQueueKBytes,
		// confluent-kafka-go's ProduceChannel, which nothing here uses,
		// gets a buffer of a million message pointers by default: 8 MB
		// that every garbage collection scans, empty or not.
		"go.produce.channel.size": 0,
	} {
		cm[k] = v
	}
	return cm
}

// ProducerConfig is an idempotent producer's configuration: acks=all, lz4,
// a short linger, bounded queue memory and a two-minute delivery timeout.
// extra (may be nil) overrides the defaults; --kafka-config overrides both.
func ProducerConfig(c Config, extra kafka.ConfigMap) kafka.ConfigMap {
	cm := producerDefaults(c)
	cm["message.timeout.ms"] = defaultMessageTimeoutMs
	return finish(c, cm, extra)
}

// TransactionalProducerConfig is ProducerConfig for a transactional
// producer with the given transactional.id, which must be unique among the
// running members and stable across a member's restarts where possible (a
// restarted member then fences its predecessor at once). The transaction
// timeout is 60s; message.timeout.ms is left to librdkafka, which derives it
// from the transaction timeout (setting it above that is an error).
func TransactionalProducerConfig(c Config, transactionalID string, extra kafka.ConfigMap) kafka.ConfigMap {
	cm := producerDefaults(c)
	cm["transactional.id"] = transactionalID
	cm["transaction.timeout.ms"] = defaultTransactionTimeoutMs
	return finish(c, cm, extra)
}

// ConsumerConfig is the configuration of a member of group: offsets are
// committed by the program only (no auto commit, no auto offset store),
// only committed transactions are read, a group without offsets starts at
// the earliest record, the local queue and each fetch hold at most 8 MiB,
// a full queue delays the next fetch by 50 ms, not a second, and a
// classic member heartbeats every DefaultHeartbeatInterval.
//
// protocol is GroupProtocolClassic (or "") for the classic protocol with
// the cooperative-sticky assignor, or GroupProtocolConsumer for KIP-848's,
// which takes no client-side assignor or session settings (librdkafka
// rejects them: the broker owns them). Any other value is passed on as
// group.protocol, for librdkafka to reject when the consumer is created.
func ConsumerConfig(c Config, group, protocol string, extra kafka.ConfigMap) kafka.ConfigMap {
	cm := commonConfig(c)
	for k, v := range map[string]kafka.ConfigValue{
		"group.id":                   group,
		"enable.auto.commit":         false,
		"enable.auto.offset.store":   false,
		"isolation.level":            "read_committed",
		"auto.offset.reset":          "earliest",
		"fetch.queue.backoff.ms":     DefaultFetchQueueBackoffMs,
		"queued.max.messages.kbytes": defaultFetchQueueKBytes,
		"fetch.max.bytes":            defaultFetchMaxBytes,
	} {
		cm[k] = v
	}
	switch protocol {
	case "", GroupProtocolClassic:
		cm["partition.assignment.strategy"] = "cooperative-sticky"
		cm["heartbeat.interval.ms"] = int(DefaultHeartbeatInterval.Milliseconds())
	default:
		cm["group.protocol"] = protocol
	}
	return finish(c, cm, extra)
}

// AdminConfig is the configuration of an admin client for NewAdmin.
// Statistics are off: an admin client has no metrics worth having.
func AdminConfig(c Config) kafka.ConfigMap {
	cm := commonConfig(c)
	cm["statistics.interval.ms"] = 0
	return finish(c, cm, nil)
}
