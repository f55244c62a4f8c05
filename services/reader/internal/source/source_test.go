package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

type countingObserver struct {
	mu      sync.Mutex
	retries []string
	resumes int
	bytes   int
}

func (o *countingObserver) Retried(_ string, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retries = append(o.retries, reason)
}
func (o *countingObserver) Resumed(string) { o.mu.Lock(); o.resumes++; o.mu.Unlock() }
func (o *countingObserver) Downloaded(_ string, n int) {
	o.mu.Lock()
	o.bytes += n
	o.mu.Unlock()
}

func payload(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

// server serves content at /2020/basic/jan20pub.dat.gz, running behaviour
// first for each request (numbered from 1); behaviour returns true when it
// answered the request itself.
func server(t *testing.T, content []byte, behaviour func(n int, w http.ResponseWriter, r *http.Request) bool) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		if r.URL.Path != "/2020/basic/jan20pub.dat.gz" {
			http.NotFound(w, r)
			return
		}
		if behaviour != nil && behaviour(i, w, r) {
			return
		}
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "jan20pub.dat.gz", time.Unix(1700000000, 0), bytes.NewReader(content))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// cut answers with the headers of the whole file but only its first half,
// then drops the connection.
func cut(content []byte, ranges bool) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.Header().Set("ETag", `"v1"`)
		if ranges {
			w.Header().Set("Accept-Ranges", "bytes")
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(content[:len(content)/2])
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}
}

func TestHTTPDownload(t *testing.T) {
	content := payload(300_000)
	for _, tc := range []struct {
		name        string
		behaviour   func(n int, w http.ResponseWriter, r *http.Request) bool
		wantErr     error
		wantErrText string
		wantRetries []string
		wantResumes int
	}{
		{name: "plain"},
		{name: "500 then success", behaviour: func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n <= 2 {
				http.Error(w, "busy", http.StatusInternalServerError)
				return true
			}
			return false
		}, wantRetries: []string{"500", "500"}},
		{name: "404", behaviour: func(_ int, w http.ResponseWriter, r *http.Request) bool {
			http.NotFound(w, r)
			return true
		}, wantErr: ErrNotPublished, wantErrText: "2020-01: month not published: not found: 404 for http://"},
		{name: "persistent 503 gives up", behaviour: func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		}, wantErrText: "giving up after 3 attempts: GET", wantRetries: []string{"503", "503", "503"}},
		{name: "interrupted transfer resumes", behaviour: func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n == 1 {
				cut(content, true)(w)
				return true
			}
			return false
		}, wantResumes: 1},
		{name: "interrupted twice, once with a 502 on resume", behaviour: func(n int, w http.ResponseWriter, r *http.Request) bool {
			switch n {
			case 1:
				cut(content, true)(w)
				return true
			case 2:
				http.Error(w, "bad gateway", http.StatusBadGateway)
				return true
			}
			return false
		}, wantResumes: 1, wantRetries: []string{"502"}},
		{name: "interrupted without range support fails", behaviour: func(n int, w http.ResponseWriter, _ *http.Request) bool {
			cut(content, false)(w)
			return true
		}, wantErrText: "after 150000 bytes: unexpected EOF"},
		{name: "file changed between requests", behaviour: func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				cut(content, true)(w)
				return true
			}
			w.Header().Set("ETag", `"v2"`)
			http.ServeContent(w, r, "x", time.Unix(1700000001, 0), bytes.NewReader(content))
			return true
		}, wantErrText: "server sent the whole file again", wantResumes: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := server(t, content, tc.behaviour)
			obs := &countingObserver{}
			h := &HTTP{Client: srv.Client(), BaseURL: srv.URL + "/", Retry: Retry{Attempts: 3, Base: time.Millisecond, Max: 5 * time.Millisecond},
				Log: zaptest.NewLogger(t), Observe: obs}
			src := h.Census(2020, 1)
			require.Equal(t, "jan20pub.dat.gz", src.Name)
			require.Equal(t, 2020, src.Year)
			rc, fp, err := src.Open(context.Background())
			var got []byte
			if err == nil {
				require.Equal(t, "size:300000,etag:v1", fp)
				got, err = io.ReadAll(rc)
				rc.Close()
			}
			if tc.wantErr != nil || tc.wantErrText != "" {
				require.Error(t, err)
				if tc.wantErr != nil {
					require.ErrorIs(t, err, tc.wantErr)
				}
				require.ErrorContains(t, err, tc.wantErrText)
			} else {
				require.NoError(t, err)
				require.True(t, bytes.Equal(content, got), "downloaded bytes differ")
				require.Equal(t, len(content), obs.bytes)
			}
			require.Equal(t, tc.wantRetries, obs.retries)
			require.Equal(t, tc.wantResumes, obs.resumes)
		})
	}
}

func TestFileAndDecompress(t *testing.T) {
	dir := t.TempDir()
	records := []byte("0001 line one\r\n0002 line two\r\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(records)
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "feb19pub.dat.gz"), gz.Bytes(), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "feb19pub.dat"), records, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "truncated.dat.gz"), gz.Bytes()[:gz.Len()-10], 0o600))

	for _, tc := range []struct {
		file      string
		year      int
		month     int
		wantErrIs error
	}{
		{file: "feb19pub.dat.gz", year: 2019, month: 2},
		{file: "feb19pub.dat", year: 2019, month: 2},
		{file: "truncated.dat.gz", wantErrIs: io.ErrUnexpectedEOF},
	} {
		t.Run(tc.file, func(t *testing.T) {
			src := File(filepath.Join(dir, tc.file))
			require.Equal(t, tc.year, src.Year)
			require.Equal(t, tc.month, src.Month)
			rc, fp, err := src.Open(context.Background())
			require.NoError(t, err)
			defer rc.Close()
			require.Contains(t, fp, "size:")
			r, err := Decompress(rc)
			require.NoError(t, err)
			got, err := io.ReadAll(r)
			if tc.wantErrIs != nil {
				require.True(t, errors.Is(err, tc.wantErrIs), "got %v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, records, got)
		})
	}
	_, _, err := File(filepath.Join(dir, "missing.dat.gz")).Open(context.Background())
	require.ErrorContains(t, err, "missing.dat.gz: no such file")
}
