package load

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/services/reader/internal/source"
)

// fakeProducer acknowledges messages on its events channel, failing those
// whose key is in fail, and reports a full queue every fullEvery calls.
type fakeProducer struct {
	mu        sync.Mutex
	events    chan kafka.Event
	fail      map[string]bool // keys whose delivery fails
	reject    map[string]bool // keys Produce refuses
	fullEvery int
	calls     int
	keys      []string
	codecs    []schema.Codec
}

func (p *fakeProducer) Produce(msg *kafka.Message, _ chan kafka.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.fullEvery > 0 && p.calls%p.fullEvery == 0 {
		return kafka.NewError(kafka.ErrQueueFull, "queue full", false)
	}
	if p.reject[string(msg.Key)] {
		return kafka.NewError(kafka.ErrMsgSizeTooLarge, "message too large", false)
	}
	var c schema.Chunk
	if err := schema.DecodeChunk(bytes.Clone(msg.Value), &c); err != nil {
		return err
	}
	// Every chunk's records come back whole, compressed or not.
	data, err := c.RecordData(nil)
	if err != nil {
		return err
	}
	if got := bytes.Count(data, []byte("\n")); got != int(c.Records) {
		return fmt.Errorf("chunk %s: %d records, %d lines", msg.Key, c.Records, got)
	}
	p.codecs = append(p.codecs, c.Codec)
	p.keys = append(p.keys, string(msg.Key))
	// As ProducerConfig asks: the report has no key, value or headers.
	ack := kafka.Message{TopicPartition: msg.TopicPartition, Opaque: msg.Opaque}
	if p.fail[string(msg.Key)] {
		ack.TopicPartition.Error = kafka.NewError(kafka.ErrMsgTimedOut, "delivery timed out", false)
	}
	go func() { p.events <- &ack }()
	return nil
}
func (p *fakeProducer) Events() chan kafka.Event { return p.events }
func (p *fakeProducer) Flush(int) int            { return 0 }
func (p *fakeProducer) Len() int                 { return 0 }

func writeFile(t *testing.T, dir, name string, lines int) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat(strings.Repeat("9", 200)+"\r\n", lines)), 0o600))
	return path
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	jan := writeFile(t, dir, "jan20pub.dat", 25)
	feb := writeFile(t, dir, "feb20pub.dat", 10)
	for _, tc := range []struct {
		name      string
		fail      map[string]bool
		reject    map[string]bool
		fullEvery int
		sources   []*source.Source
		wantErr   string
		wantAcked []uint32
		wantOK    float64
	}{
		{name: "all acknowledged", sources: []*source.Source{source.File(jan), source.File(feb)}, wantAcked: []uint32{3, 1}, wantOK: 2},
		{name: "queue full is waited out", fullEvery: 2, sources: []*source.Source{source.File(jan)}, wantAcked: []uint32{3}, wantOK: 1},
		{name: "a failed delivery fails its source only", fail: map[string]bool{"jan20pub.dat/1": true},
			sources: []*source.Source{source.File(jan), source.File(feb)}, wantAcked: []uint32{2, 1}, wantOK: 1,
			wantErr: "source jan20pub.dat: chunk not acknowledged: delivery timed out"},
		{name: "a refused chunk stops its source only", reject: map[string]bool{"jan20pub.dat/1": true},
			sources: []*source.Source{source.File(jan), source.File(feb)}, wantAcked: []uint32{1, 1}, wantOK: 1,
			wantErr: "source jan20pub.dat: produce chunk 1 of jan20pub.dat: message too large"},
		{name: "a missing file is reported", sources: []*source.Source{source.File(filepath.Join(dir, "nope.dat")), source.File(feb)},
			wantAcked: []uint32{0, 1}, wantOK: 1, wantErr: "source nope.dat: open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			p := &fakeProducer{events: make(chan kafka.Event), fail: tc.fail, reject: tc.reject, fullEvery: tc.fullEvery}
			l := &Loader{Producer: p, Topic: "compute", ChunkSize: 10, Codec: schema.CodecLZ4, Parallel: 2, Log: zaptest.NewLogger(t), Metrics: NewMetrics(reg)}
			reports, err := l.Load(context.Background(), tc.sources)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			var acked []uint32
			for _, r := range reports {
				acked = append(acked, r.Acked)
			}
			require.Equal(t, tc.wantAcked, acked)
			require.Contains(t, p.codecs, schema.CodecLZ4, "the records were compressed")
			require.Equal(t, tc.wantOK, testutil.ToFloat64(l.Metrics.Sources.WithLabelValues("ok")))
			require.Zero(t, testutil.ToFloat64(l.Metrics.ReadErrors), "no file was unreadable")
		})
	}
}

func TestProducerConfig(t *testing.T) {
	for _, tc := range []struct {
		codec           schema.Codec
		wantCompression kafka.ConfigValue
	}{
		{codec: schema.CodecLZ4, wantCompression: "none"}, // the records are compressed already
		{codec: schema.CodecNone, wantCompression: nil},   // extkafka's default applies
	} {
		t.Run(tc.codec.String(), func(t *testing.T) {
			cm := ProducerConfig(tc.codec)
			require.Equal(t, "none", cm["go.delivery.report.fields"])
			require.Equal(t, extkafka.LoaderLingerMs, cm["linger.ms"])
			require.Equal(t, 1000, cm["go.events.channel.size"], "a small events channel")
			require.Equal(t, tc.wantCompression, cm["compression.type"])
			cm["bootstrap.servers"] = "127.0.0.1:1"
			p, err := kafka.NewProducer(&cm)
			require.NoError(t, err, "confluent-kafka-go accepts it")
			p.Close()
		})
	}
}

// gzipRecords is a gzipped file of n records of 1,000 digits.
func gzipRecords(t *testing.T, n int) *bytes.Buffer {
	t.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write([]byte(strings.Repeat(strings.Repeat("1", 1000)+"\r\n", n)))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return &gz
}

// TestLoadUnreadable: a file that is no census file fails its source with
// an error naming it and is counted as a read error when it is found,
// before the load ends; the other months load.
func TestLoadUnreadable(t *testing.T) {
	gz := gzipRecords(t, 25)
	for _, tc := range []struct {
		name, body, wantErr string
	}{
		{"not compressed", "<html>maintenance</html>", "neither gzip nor zip"},
		{"a broken gzip header", "\x1f\x8bnot really", "gzip header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/2025/basic/sep25pub.dat.gz":
					_, _ = w.Write(gz.Bytes())
				case "/2025/basic/oct25pub.dat.gz":
					_, _ = w.Write([]byte(tc.body))
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			h := &source.HTTP{Client: srv.Client(), BaseURL: srv.URL, Log: zaptest.NewLogger(t), Retry: source.Retry{Attempts: 1}}
			reg := prometheus.NewRegistry()
			p := &fakeProducer{events: make(chan kafka.Event)}
			l := &Loader{Producer: p, Topic: "compute", ChunkSize: 10, Codec: schema.CodecLZ4, Parallel: 1, Log: zaptest.NewLogger(t), Metrics: NewMetrics(reg)}
			reports, err := l.Load(context.Background(), []*source.Source{h.Census(2025, 10), h.Census(2025, 9)})
			require.ErrorContains(t, err, tc.wantErr)
			require.Equal(t, StatusFailed, reports[0].Status)
			require.Contains(t, reports[0].Error, "oct25pub.dat.gz")
			require.Equal(t, StatusOK, reports[1].Status)
			require.EqualValues(t, 25, reports[1].Records)
			require.Equal(t, 1.0, testutil.ToFloat64(l.Metrics.ReadErrors), "the unreadable file is a read error")
			require.Equal(t, 1.0, testutil.ToFloat64(l.Metrics.Sources.WithLabelValues(StatusFailed)))
		})
	}
}

// TestLoadMonthNotPublished: a month the site does not have is reported as
// such, in the report, the metric and one empty chunk, and the other months
// load.
func TestLoadMonthNotPublished(t *testing.T) {
	gz := gzipRecords(t, 25)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/2025/basic/sep25pub.dat.gz", "/2025/basic/nov25pub.dat.gz":
			_, _ = w.Write(gz.Bytes())
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	h := &source.HTTP{Client: srv.Client(), BaseURL: srv.URL, Log: zaptest.NewLogger(t), Retry: source.Retry{Attempts: 1}}
	reg := prometheus.NewRegistry()
	p := &fakeProducer{events: make(chan kafka.Event)}
	l := &Loader{Producer: p, Topic: "compute", ChunkSize: 10, Codec: schema.CodecLZ4, Parallel: 1, Log: zaptest.NewLogger(t), Metrics: NewMetrics(reg)}
	reports, err := l.Load(context.Background(), []*source.Source{h.Census(2025, 9), h.Census(2025, 10), h.Census(2025, 11)})
	require.NoError(t, err, "a month not published fails nothing")
	var got [][4]any
	for _, r := range reports {
		got = append(got, [4]any{r.Source, r.Status, r.Records, r.Acked})
	}
	require.Equal(t, [][4]any{
		{"sep25pub.dat.gz", StatusOK, uint64(25), uint32(3)},
		{"oct25pub.dat.gz", StatusNotPublished, uint64(0), uint32(1)},
		{"nov25pub.dat.gz", StatusOK, uint64(25), uint32(3)},
	}, got)
	require.Contains(t, reports[1].Error, "2025-10: month not published")
	require.Equal(t, "gzip", reports[0].Format)
	require.EqualValues(t, 1000, reports[0].RecordLen)
	require.Contains(t, p.keys, "oct25pub.dat.gz/0")
	require.Equal(t, 2.0, testutil.ToFloat64(l.Metrics.Sources.WithLabelValues(StatusOK)))
	require.Equal(t, 1.0, testutil.ToFloat64(l.Metrics.Sources.WithLabelValues(StatusNotPublished)))
}
