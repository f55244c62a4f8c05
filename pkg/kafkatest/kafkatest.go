// Package kafkatest supports integration tests against a real Kafka
// broker: where it is, topics of a test's own, producing and consuming.
// It is imported by _test files only.
//
// Integration tests never skip for want of a broker: a test that needs one
// and finds no KAFKA_BOOTSTRAP_SERVERS fails and says how to start one.
package kafkatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
)

// Timeout bounds each broker operation of the helpers.
const Timeout = 60 * time.Second

// Bootstrap is the broker's address from KAFKA_BOOTSTRAP_SERVERS. Without
// it the test fails.
func Bootstrap(t testing.TB) string {
	t.Helper()
	b := strings.TrimSpace(os.Getenv("KAFKA_BOOTSTRAP_SERVERS"))
	if b == "" {
		t.Fatal("KAFKA_BOOTSTRAP_SERVERS is not set; integration tests need a Kafka broker. " +
			"Run `make test-integration` (or `make test`), which starts one, or start one with " +
			"`scripts/kafka-local.sh start` and set KAFKA_BOOTSTRAP_SERVERS to the address it prints last.")
	}
	return b
}

// Config is an extkafka.Config for the broker at bootstrap, with
// statistics every statsInterval (0: none).
func Config(bootstrap string, statsInterval time.Duration) extkafka.Config {
	return extkafka.Config{BootstrapServers: bootstrap, ClientID: "kafkatest", StatsInterval: statsInterval}
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// TopicName is a topic name of t's own: the test's name and a random
// suffix, so that reruns and parallel tests never share a topic.
func TopicName(t testing.TB, prefix string) string {
	name := unsafeChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 120 {
		name = name[:120]
	}
	if prefix != "" {
		name = prefix + "-" + name
	}
	return fmt.Sprintf("%s-%08x", name, rand.Uint32())
}

// Admin is an admin client for the broker at bootstrap, closed when the
// test ends.
func Admin(t testing.TB, bootstrap string) *extkafka.Admin {
	t.Helper()
	a, err := extkafka.NewAdmin(extkafka.AdminConfig(Config(bootstrap, 0)), zaptest.NewLogger(t).Named("admin"))
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// CreateTopic creates a topic of partitions partitions (replication factor
// 1) and deletes it when the test ends.
func CreateTopic(t testing.TB, bootstrap, name string, partitions int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	a := Admin(t, bootstrap)
	if _, err := extkafka.EnsureTopic(ctx, a, extkafka.TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: 1}); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	t.Cleanup(func() { DeleteTopic(t, a, name) })
}

// DeleteTopic deletes a topic, failing the test if that fails.
func DeleteTopic(t testing.TB, a *extkafka.Admin, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	res, err := a.DeleteTopics(ctx, []string{name}, kafka.SetAdminOperationTimeout(Timeout))
	if err == nil && len(res) == 1 && res[0].Error.Code() != kafka.ErrNoError {
		err = res[0].Error
	}
	if err != nil {
		t.Errorf("delete topic %s: %v", name, err)
	}
}

// Produce writes records to topic with an idempotent producer, keyed by
// key(i) when key is not nil, and fails the test unless all are
// acknowledged. It returns the acknowledged messages in order.
func Produce(t testing.TB, bootstrap, topic string, values [][]byte, key func(i int) []byte) []*kafka.Message {
	t.Helper()
	p, err := extkafka.NewProducer(extkafka.ProducerConfig(Config(bootstrap, 0), nil), zaptest.NewLogger(t).Named("producer"), nil)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	delivered := make(chan kafka.Event, len(values))
	for i, v := range values {
		m := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}, Value: v}
		if key != nil {
			m.Key = key(i)
		}
		if err := p.Produce(m, delivered); err != nil {
			t.Fatalf("produce record %d: %v", i, err)
		}
	}
	out := make([]*kafka.Message, 0, len(values))
	deadline := time.After(Timeout)
	for range values {
		select {
		case ev := <-delivered:
			m, ok := ev.(*kafka.Message)
			if !ok {
				t.Fatalf("delivery report: unexpected event %v", ev)
			}
			if m.TopicPartition.Error != nil {
				t.Fatalf("delivery of a record to %s: %v", topic, m.TopicPartition.Error)
			}
			out = append(out, m)
		case <-deadline:
			t.Fatalf("%d of %d records acknowledged after %v", len(out), len(values), Timeout)
		}
	}
	return out
}

// Poll polls c until n messages have been read or timeout passes, failing
// the test on a consumer error, and returns the messages. Other events go
// to onEvent when it is not nil.
func Poll(t testing.TB, c *kafka.Consumer, n int, timeout time.Duration, onEvent func(kafka.Event)) []*kafka.Message {
	t.Helper()
	var out []*kafka.Message
	deadline := time.Now().Add(timeout)
	for len(out) < n && time.Now().Before(deadline) {
		switch e := c.Poll(100).(type) {
		case nil:
		case *kafka.Message:
			if e.TopicPartition.Error != nil {
				t.Fatalf("consume: %v", e.TopicPartition.Error)
			}
			out = append(out, e)
		case kafka.Error:
			if e.IsFatal() {
				t.Fatalf("consumer: %v", e)
			}
			t.Logf("consumer error: %v", e)
		default:
			if onEvent != nil {
				onEvent(e)
			}
		}
	}
	if len(out) < n {
		t.Fatalf("read %d of %d records in %v", len(out), n, timeout)
	}
	return out
}

// Eventually polls cond every 50ms until it holds or timeout passes, then
// fails the test with msg.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: "+msg, append([]any{timeout}, args...)...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
