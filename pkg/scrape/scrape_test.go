package scrape

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server serves a registry with a counter, a labelled gauge and a histogram
// through promhttp, as the services' admin servers do.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_records_total", Help: "Records."})
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "test_lag_seconds", Help: "Lag."}, []string{"topic", "partition"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "test_latency_seconds", Help: "Latency.", Buckets: []float64{0.1, 1}})
	reg.MustRegister(c, g, h)
	c.Add(42)
	g.WithLabelValues("census", "0").Set(1.5)
	g.WithLabelValues("census", "1").Set(4)
	g.WithLabelValues(`we"ird`, "2").Set(-3)
	h.Observe(0.05)
	h.Observe(0.5)
	h.Observe(5)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("test_records_total{ 42\n"))
	})
	mux.HandleFunc("GET /html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>hello</html>\n"))
	})
	mux.HandleFunc("GET /empty", func(http.ResponseWriter, *http.Request) {})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestGet(t *testing.T) {
	srv := server(t)
	for _, tc := range []struct {
		name    string
		path    string
		metric  string // for Sum and Max
		sum     float64
		n       int
		max     float64
		series  string // for Value
		value   float64
		found   bool
		wantErr string // of Get, or of Value when Get succeeds
	}{
		{name: "counter", path: "/metrics", metric: "test_records_total", sum: 42, n: 1, max: 42,
			series: "test_records_total", value: 42, found: true},
		{name: "labelled gauge", path: "/metrics", metric: "test_lag_seconds", sum: 2.5, n: 3, max: 4,
			series: `test_lag_seconds{topic="census",partition="1"}`, value: 4, found: true},
		{name: "labels in any order", path: "/metrics", metric: "test_lag_seconds", sum: 2.5, n: 3, max: 4,
			series: `test_lag_seconds{partition="0",topic="census"}`, value: 1.5, found: true},
		{name: "escaped label value", path: "/metrics", metric: "test_lag_seconds", sum: 2.5, n: 3, max: 4,
			series: `test_lag_seconds{topic="we\"ird",partition="2"}`, value: -3, found: true},
		{name: "incomplete label set", path: "/metrics", metric: "test_lag_seconds", sum: 2.5, n: 3, max: 4,
			series: `test_lag_seconds{topic="census"}`},
		{name: "histogram count", path: "/metrics", metric: "test_latency_seconds_count", sum: 3, n: 1, max: 3,
			series: `test_latency_seconds_bucket{le="1"}`, value: 2, found: true},
		{name: "histogram sum", path: "/metrics", metric: "test_latency_seconds_sum", sum: 5.55, n: 1, max: 5.55,
			series: `test_latency_seconds_bucket{le="+Inf"}`, value: 3, found: true},
		{name: "histogram buckets", path: "/metrics", metric: "test_latency_seconds_bucket", sum: 1 + 2 + 3, n: 3, max: 3,
			series: `test_latency_seconds_bucket{le="0.1"}`, value: 1, found: true},
		{name: "histogram by its family name", path: "/metrics", metric: "test_latency_seconds",
			series: "test_latency_seconds"},
		{name: "missing metric", path: "/metrics", metric: "test_missing_total",
			series: `test_missing_total{outcome="duplicate"}`},
		{name: "unparseable series", path: "/metrics", series: `test_lag_seconds{topic=census}`,
			wantErr: `parse series "test_lag_seconds{topic=census}"`},
		{name: "empty page", path: "/empty", metric: "test_records_total", series: "test_records_total"},
		{name: "HTTP error status", path: "/nowhere", wantErr: "HTTP status 404"},
		{name: "unparseable body", path: "/broken", wantErr: "decode metrics"},
		{name: "not a metrics page", path: "/html", wantErr: "decode metrics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Get(context.Background(), srv.URL+tc.path)
			if err != nil {
				require.NotEmpty(t, tc.wantErr, "unexpected error: %v", err)
				require.ErrorContains(t, err, tc.wantErr)
				if strings.Contains(tc.wantErr, "HTTP status") {
					require.ErrorIs(t, err, ErrStatus)
				}
				return
			}
			if tc.metric != "" {
				sum, n := s.Sum(tc.metric)
				require.InDelta(t, tc.sum, sum, 1e-9)
				require.Equal(t, tc.n, n)
				m, ok := s.Max(tc.metric)
				require.Equal(t, tc.n > 0, ok)
				require.InDelta(t, tc.max, m, 1e-9)
			}
			v, found, err := s.Value(tc.series)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.found, found)
			require.InDelta(t, tc.value, v, 1e-9)
		})
	}
}

func TestGetCanceled(t *testing.T) {
	srv := server(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Get(ctx, srv.URL+"/metrics")
	require.ErrorIs(t, err, context.Canceled)
}

func TestDecodeText(t *testing.T) {
	for _, tc := range []struct {
		name    string
		page    string
		sum     float64
		n       int
		max     float64
		wantErr bool
	}{
		{name: "untyped", page: "foo 1\nfoo{a=\"b\"} 2\nfoo_bar 7\n", sum: 3, n: 2, max: 2},
		{name: "typed with timestamp", page: "# TYPE foo gauge\nfoo{a=\"b\"} 2.5 1700000000000\n", sum: 2.5, n: 1, max: 2.5},
		{name: "exponent and negative", page: "foo{a=\"1\"} 1e3\nfoo{a=\"2\"} -2\n", sum: 998, n: 2, max: 1000},
		{name: "no trailing newline", page: "foo 1", wantErr: true},
		{name: "bad value", page: "foo one\n", wantErr: true},
		{name: "duplicate TYPE", page: "# TYPE foo gauge\n# TYPE foo counter\nfoo 1\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Decode(strings.NewReader(tc.page), expfmt.FmtUnknown)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			sum, n := s.Sum("foo")
			require.Equal(t, tc.n, n)
			require.InDelta(t, tc.sum, sum, 1e-9)
			m, ok := s.Max("foo")
			require.True(t, ok)
			require.InDelta(t, tc.max, m, 1e-9)
		})
	}
}
