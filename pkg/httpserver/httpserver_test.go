package httpserver

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestAdminServer(t *testing.T) {
	reg := prometheus.NewRegistry()
	probe := NewProbe(reg, "restoring state")
	srv, err := Listen("admin", "127.0.0.1:0", AdminHandler(reg, probe), zaptest.NewLogger(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	base := "http://" + srv.Addr()

	for _, tc := range []struct {
		name     string
		path     string
		ready    bool
		wantCode int
		wantBody string
	}{
		{name: "healthz", path: "/healthz", wantCode: 200, wantBody: "ok"},
		{name: "not ready", path: "/readyz", wantCode: 503, wantBody: "not ready: restoring state"},
		{name: "not ready gauge", path: "/metrics", wantCode: 200, wantBody: "kafka_scale_ready 0"},
		{name: "ready", path: "/readyz", ready: true, wantCode: 200, wantBody: "ok"},
		{name: "ready gauge", path: "/metrics", ready: true, wantCode: 200, wantBody: "kafka_scale_ready 1"},
		{name: "pprof", path: "/debug/pprof/", wantCode: 200, wantBody: "goroutine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ready {
				probe.SetReady()
			}
			code, body := get(t, base+tc.path)
			require.Equal(t, tc.wantCode, code)
			require.Contains(t, body, tc.wantBody)
		})
	}
	cancel()
	require.NoError(t, <-done)
	http.DefaultClient.CloseIdleConnections()
}

func TestListenError(t *testing.T) {
	_, err := Listen("api", "127.0.0.1:notaport", http.NotFoundHandler(), zaptest.NewLogger(t))
	require.ErrorContains(t, err, `api server: listen on "127.0.0.1:notaport"`)
}
