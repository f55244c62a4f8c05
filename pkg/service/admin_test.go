package service

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// probe answers a GET of url: its status and body, or 0 and the error.
func probe(url string) (int, string) {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The admin server answers before the service has done anything: /healthz
// at once, /readyz with 503 and the probe's reason until the service says
// it is ready, then 200.
func TestAdminServerAnswersBeforeReady(t *testing.T) {
	c := cfg{Common: Common{MetricsAddr: anyPort, Log: defaultLog, Kafka: local}}
	var stdout, stderr bytes.Buffer
	code := run("svc", &stdout, &stderr, func() (*cfg, error) { return &c, nil }, func(_ context.Context, _ *cfg, rt *Runtime) error {
		base := "http://" + rt.AdminAddr
		for _, tc := range []struct {
			name     string
			path     string
			setReady bool
			wantCode int
			wantBody string
		}{
			{name: "alive before ready", path: "/healthz", wantCode: http.StatusOK, wantBody: "ok"},
			{name: "not ready, saying why", path: "/readyz", wantCode: http.StatusServiceUnavailable, wantBody: "not ready: starting"},
			{name: "metrics", path: "/metrics", wantCode: http.StatusOK, wantBody: "kafka_scale_ready 0"},
			{name: "ready", path: "/readyz", setReady: true, wantCode: http.StatusOK, wantBody: "ok"},
			{name: "still alive", path: "/healthz", wantCode: http.StatusOK, wantBody: "ok"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.setReady {
					rt.Probe.SetReady()
				}
				code, body := probe(base + tc.path)
				require.Equal(t, tc.wantCode, code, body)
				require.Contains(t, body, tc.wantBody)
			})
		}
		return nil
	})
	require.Equal(t, ExitOK, code, stderr.String())
}

// The admin server answers while the service runs and is closed once it
// has returned.
func TestAdminServerClosesAfterTheService(t *testing.T) {
	c := cfg{Common: Common{MetricsAddr: anyPort, Log: defaultLog, Kafka: local}}
	var addr string
	code := run("svc", io.Discard, io.Discard, func() (*cfg, error) { return &c, nil }, func(_ context.Context, _ *cfg, rt *Runtime) error {
		addr = rt.AdminAddr
		code, _ := probe("http://" + addr + "/healthz")
		require.Equal(t, http.StatusOK, code)
		return nil
	})
	require.Equal(t, ExitOK, code)
	_, err := net.Dial("tcp", addr)
	require.Error(t, err, "the admin server is closed once the service has returned")
}

// An admin address that cannot be bound fails the service before it starts.
func TestAdminAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c := cfg{Common: Common{MetricsAddr: ln.Addr().String(), Log: defaultLog, Kafka: local}}
	served := false
	code := run("svc", io.Discard, io.Discard, func() (*cfg, error) { return &c, nil }, func(context.Context, *cfg, *Runtime) error {
		served = true
		return nil
	})
	require.Equal(t, ExitFailed, code)
	require.False(t, served)
}

// SIGTERM cancels the service's context, and the service is not ready
// while it stops; the admin server still answers.
func TestNotReadyWhileStopping(t *testing.T) {
	c := cfg{Common: Common{MetricsAddr: anyPort, Log: defaultLog, Kafka: local}}
	code := run("svc", io.Discard, io.Discard, func() (*cfg, error) { return &c, nil }, func(ctx context.Context, _ *cfg, rt *Runtime) error {
		rt.Probe.SetReady()
		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
		<-ctx.Done()
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, body := probe("http://" + rt.AdminAddr + "/readyz")
			if code == http.StatusServiceUnavailable {
				require.Contains(t, body, "not ready: stopping")
				break
			}
			require.True(t, time.Now().Before(deadline), "still ready 5 s after SIGTERM: %d %s", code, body)
			time.Sleep(10 * time.Millisecond) // polling interval
		}
		code, _ := probe("http://" + rt.AdminAddr + "/healthz")
		require.Equal(t, http.StatusOK, code)
		return nil
	})
	require.Equal(t, ExitOK, code)
}
