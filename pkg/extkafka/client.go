package extkafka

import (
	"errors"
	"fmt"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewProducer creates a producer from cm whose librdkafka logs go to log.
//
// Statistics events are for stats, which forgets the producer's series when
// it is closed; with a nil stats statistics are turned off, as nothing
// would make metrics of them. The caller serves Events() (or Poll) as
// usual and hands *kafka.Stats events to stats.Update.
func NewProducer(cm kafka.ConfigMap, log *zap.Logger, stats *Stats) (*kafka.Producer, error) {
	cm, err := clientConfig(cm, stats)
	if err != nil {
		return nil, err
	}
	p, err := kafka.NewProducer(&cm)
	if err != nil {
		return nil, fmt.Errorf("create Kafka producer: %w", err)
	}
	forward(p.String(), p.Logs(), nil, log, stats)
	return p, nil
}

// NewConsumer creates a consumer from cm whose librdkafka logs go to log;
// stats as for NewProducer.
func NewConsumer(cm kafka.ConfigMap, log *zap.Logger, stats *Stats) (*kafka.Consumer, error) {
	cm, err := clientConfig(cm, stats)
	if err != nil {
		return nil, err
	}
	c, err := kafka.NewConsumer(&cm)
	if err != nil {
		return nil, fmt.Errorf("create Kafka consumer: %w", err)
	}
	forward(c.String(), c.Logs(), nil, log, stats)
	return c, nil
}

// Admin is confluent's admin client with its librdkafka logs in zap.
//
// confluent's own admin client cannot hand its logs to Go, so this one is
// derived from a producer that can; Close closes both. Every
// kafka.AdminClient method is available.
type Admin struct {
	*kafka.AdminClient
	producer *kafka.Producer
	log      *zap.Logger
	done     chan struct{}
}

// NewAdmin creates an admin client from cm (see AdminConfig).
func NewAdmin(cm kafka.ConfigMap, log *zap.Logger) (*Admin, error) {
	cm, err := clientConfig(cm, nil)
	if err != nil {
		return nil, err
	}
	// The producer carries no records: its queues stay small.
	cm["go.events.channel.size"] = 100
	cm["go.produce.channel.size"] = 1
	p, err := kafka.NewProducer(&cm)
	if err != nil {
		return nil, fmt.Errorf("create Kafka admin client: %w", err)
	}
	ac, err := kafka.NewAdminClientFromProducer(p)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("create Kafka admin client: %w", err)
	}
	return &Admin{AdminClient: ac, producer: p, log: log,
		done: forward(p.String(), p.Logs(), p.Events(), log, nil)}, nil
}

// Close closes the admin client and waits until its last logs are written.
func (a *Admin) Close() {
	a.AdminClient.Close()
	a.producer.Close()
	<-a.done
}

// Logger is the logger the admin client was created with.
func (a *Admin) Logger() *zap.Logger { return a.log }

// clientConfig copies cm and makes it fit for forward: logs on the channel
// that the client creates (and closes on Close), statistics off without a
// Stats to take them.
func clientConfig(cm kafka.ConfigMap, stats *Stats) (kafka.ConfigMap, error) {
	if _, ok := cm["go.logs.channel"]; ok {
		return nil, errors.New("config go.logs.channel: set by extkafka, which routes the logs to zap")
	}
	out := make(kafka.ConfigMap, len(cm)+2)
	for k, v := range cm {
		out[k] = v
	}
	out["go.logs.channel.enable"] = true
	if stats == nil {
		out["statistics.interval.ms"] = 0
	}
	return out, nil
}

// forward writes the client's librdkafka logs to log until the client closes
// the logs channel, which it does in Close, then forgets the client's
// statistics. events, when not nil, is drained too (an admin client's
// producer has nobody else to read them) and is logged at debug level, as
// librdkafka logs the same errors. The returned channel is closed when both
// are closed and everything is written.
func forward(name string, logs chan kafka.LogEvent, events chan kafka.Event, log *zap.Logger, stats *Stats) chan struct{} {
	done := make(chan struct{})
	log = log.With(zap.String("client", name))
	go func() {
		defer close(done)
		for logs != nil || events != nil {
			select {
			case ev, ok := <-logs:
				if !ok {
					logs = nil
					continue
				}
				if ce := log.Check(logLevel(ev.Level), ev.Message); ce != nil {
					ce.Write(zap.String("librdkafka_tag", ev.Tag), zap.Int("syslog_level", ev.Level))
				}
			case ev, ok := <-events:
				if !ok {
					events = nil
					continue
				}
				log.Debug("librdkafka event", zap.Stringer("event", ev))
			}
		}
		if stats != nil {
			stats.forget(name)
		}
	}()
	return done
}

// logLevel maps a syslog level (0 emergency ... 7 debug), as librdkafka
// logs, to zap's. Nothing maps above error: librdkafka's "critical" lines
// are reports, and the program decides whether to stop.
func logLevel(syslog int) zapcore.Level {
	switch {
	case syslog <= 3:
		return zapcore.ErrorLevel
	case syslog == 4:
		return zapcore.WarnLevel
	case syslog <= 6:
		return zapcore.InfoLevel
	default:
		return zapcore.DebugLevel
	}
}

// LibraryVersion is the version of the linked librdkafka, e.g. "2.11.1".
func LibraryVersion() string {
	_, v := kafka.LibraryVersion()
	return v
}

// LogLinkInfo logs the librdkafka version and how it is linked, once at
// start, so that a log shows which client a pod ran.
func LogLinkInfo(log *zap.Logger) {
	log.Info("librdkafka", zap.String("version", LibraryVersion()), zap.String("link_info", kafka.LibrdkafkaLinkInfo))
}
