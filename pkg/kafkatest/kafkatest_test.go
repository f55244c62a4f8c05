package kafkatest

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTopicName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
	seen := map[string]bool{}
	for range 100 {
		name := TopicName(t, "compute")
		require.Regexp(t, valid, name)
		require.Regexp(t, `^compute-TestTopicName-[0-9a-f]{8}$`, name)
		require.False(t, seen[name], "unique")
		seen[name] = true
	}
	t.Run("sub test/with spaces", func(t *testing.T) {
		require.Regexp(t, `^TestTopicName-sub_test-with_spaces-[0-9a-f]{8}$`, TopicName(t, ""))
	})
}

// fatalRecorder is a testing.TB whose Fatal only records the message.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper()                      {}
func (f *fatalRecorder) Fatal(args ...any)            { f.msg = fmt.Sprint(args...) }
func (f *fatalRecorder) Fatalf(s string, args ...any) { f.msg = fmt.Sprintf(s, args...) }

func TestBootstrapFailsWithoutABroker(t *testing.T) {
	t.Setenv("KAFKA_BOOTSTRAP_SERVERS", "")
	rec := &fatalRecorder{TB: t}
	Bootstrap(rec)
	require.Contains(t, rec.msg, "KAFKA_BOOTSTRAP_SERVERS is not set")
	require.Contains(t, rec.msg, "scripts/kafka-local.sh start")
	require.Contains(t, rec.msg, "make test")

	t.Setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:29092")
	rec = &fatalRecorder{TB: t}
	require.Equal(t, "127.0.0.1:29092", Bootstrap(rec))
	require.Empty(t, rec.msg)
}
