package httpserver

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

// Every server gets DefaultLimits, the body bound included.
func TestListenAppliesDefaultLimits(t *testing.T) {
	srv, err := Listen("api", "127.0.0.1:0", http.NotFoundHandler(), zaptest.NewLogger(t))
	require.NoError(t, err)
	defer srv.ln.Close()
	l := DefaultLimits
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"read header timeout", srv.srv.ReadHeaderTimeout, l.ReadHeaderTimeout},
		{"read timeout", srv.srv.ReadTimeout, l.ReadTimeout},
		{"write timeout", srv.srv.WriteTimeout, l.WriteTimeout},
		{"idle timeout", srv.srv.IdleTimeout, l.IdleTimeout},
		{"max header bytes", srv.srv.MaxHeaderBytes, l.MaxHeaderBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.got)
			require.NotZero(t, tc.got)
		})
	}
}

// serve starts a server with limits l; it stops at the end of the test.
func serve(t *testing.T, l Limits, h http.Handler) string {
	t.Helper()
	srv, err := ListenLimits("test", "127.0.0.1:0", h, zaptest.NewLogger(t), l)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return srv.Addr()
}

func testLimits() Limits {
	l := DefaultLimits
	l.ReadHeaderTimeout = 300 * time.Millisecond
	l.MaxHeaderBytes = 1 << 10
	l.MaxBodyBytes = 1 << 10
	return l
}

// A client that sends its headers a byte at a time (slowloris) is cut off
// once the read-header timeout has passed, long before it is done.
func TestSlowHeadersAreCutOff(t *testing.T) {
	addr := serve(t, testLimits(), http.NotFoundHandler())
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n")
	require.NoError(t, err)
	// A header line trickled out for up to 10 s, 30 times the timeout.
	// The server may answer 408 before it closes: read to the end.
	closed := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(conn)
		closed <- err
	}()
	start := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-closed:
			if err != nil {
				require.ErrorIs(t, err, syscall.ECONNRESET, "the server closed the connection")
			}
			require.Less(t, time.Since(start), 10*time.Second)
			return
		case <-tick.C:
			require.Less(t, time.Since(start), 10*time.Second, "still connected after 10 s of slow headers")
			_, _ = conn.Write([]byte("X"))
		}
	}
}

func TestOversizeHeadersGet431(t *testing.T) {
	addr := serve(t, testLimits(), http.NotFoundHandler())
	for _, tc := range []struct {
		name     string
		header   int
		wantCode int
	}{
		{"small header", 100, http.StatusNotFound},
		{"header over the limit", 8 << 10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", tc.header)+"\r\n\r\n")
			require.NoError(t, err)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.wantCode, resp.StatusCode)
		})
	}
}

// A body over MaxBodyBytes fails to read, so a handler answers 413.
func TestOversizeBodyIsRefused(t *testing.T) {
	addr := serve(t, testLimits(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	for _, tc := range []struct {
		name     string
		body     int
		wantCode int
	}{
		{"small body", 100, http.StatusNoContent},
		{"body over the limit", 4 << 10, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader(strings.Repeat("a", tc.body)))
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.wantCode, resp.StatusCode)
		})
	}
	http.DefaultClient.CloseIdleConnections()
}
