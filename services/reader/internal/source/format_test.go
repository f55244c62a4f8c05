package source

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

// records are census-like lines, each 1000 characters.
func records(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		line := fmt.Sprintf("%015d", i) + strings.Repeat(" ", 985)
		b.WriteString(line + "\r\n")
	}
	return b.Bytes()
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return out.Bytes()
}

// zipped is a zip with members name -> content, as the census site writes
// them (deflate; archive/zip adds a data descriptor).
func zipped(t testing.TB, members ...string) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for i := 0; i+1 < len(members); i += 2 {
		w, err := zw.Create(members[i])
		require.NoError(t, err)
		_, err = w.Write([]byte(members[i+1]))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return out.Bytes()
}

// zippedNoDescriptor is a one-member zip whose local header carries the CRC
// and sizes.
func zippedNoDescriptor(t testing.TB, name string, content []byte) []byte {
	t.Helper()
	var deflated bytes.Buffer
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	var d bytes.Buffer
	dw := zip.NewWriter(&d)
	w, err := dw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	require.NoError(t, err)
	_, err = w.Write(content)
	require.NoError(t, err)
	require.NoError(t, dw.Close())
	zr, err := zip.NewReader(bytes.NewReader(d.Bytes()), int64(d.Len()))
	require.NoError(t, err)
	raw, err := zr.File[0].OpenRaw()
	require.NoError(t, err)
	_, err = io.Copy(&deflated, raw)
	require.NoError(t, err)
	h := zr.File[0].FileHeader
	h.Flags &^= 0x8
	rw, err := zw.CreateRaw(&h)
	require.NoError(t, err)
	_, err = rw.Write(deflated.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return out.Bytes()
}

func TestDecode(t *testing.T) {
	recs := records(300)
	zip1 := zipped(t, "jan94pub.dat", string(recs))
	badCRC := bytes.Clone(zippedNoDescriptor(t, "jan94pub.dat", recs))
	badCRC[14] ^= 0xff // the local header's CRC-32
	for _, tc := range []struct {
		name       string
		in         []byte
		plain      bool
		wantFormat string
		want       []byte // the records read, also before an error
		wantErr    error
		wantText   string
	}{
		{name: "gzip", in: gzipped(t, recs), wantFormat: FormatGzip, want: recs},
		{name: "zip with a data descriptor", in: zip1, wantFormat: FormatZip, want: recs},
		{name: "zip with sizes in the header", in: zippedNoDescriptor(t, "jan94pub.dat", recs), wantFormat: FormatZip, want: recs},
		{name: "plain, local", in: recs, plain: true, wantFormat: FormatPlain, want: recs},
		{name: "plain over HTTP is not data", in: recs, wantErr: ErrNotCensusFile, wantText: `content: neither gzip nor zip: first bytes "000000000000000`},
		{name: "HTML", in: []byte("<html><head><title>Request Rejected</title></head></html>"), plain: true,
			wantErr: ErrNotCensusFile, wantText: `first bytes "<html><head><title>Request Rejected`},
		{name: "HTML over HTTP", in: []byte("<html>Sorry, you have been blocked</html>"), wantErr: ErrNotCensusFile},
		{name: "empty zip", in: zipped(t), wantErr: ErrZip, wantText: "a zip file with no member"},
		{name: "two members", in: zipped(t, "a.dat", string(recs[:2004]), "b.dat", "x"), want: recs[:2004], wantErr: ErrZip,
			wantText: "more than one member after a.dat"},
		{name: "truncated zip keeps the records before the damage", in: zip1[:len(zip1)/2], wantErr: io.ErrUnexpectedEOF,
			wantText: "zip: member jan94pub.dat: after "},
		{name: "CRC mismatch", in: badCRC, want: recs, wantErr: ErrZip, wantText: "the zip says 300600 bytes with"},
		{name: "truncated header", in: zip1[:20], wantErr: io.ErrUnexpectedEOF, wantText: "zip: local header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, format, err := Decode(bytes.NewReader(tc.in), tc.plain)
			var got []byte
			if err == nil {
				if tc.wantFormat != "" {
					require.Equal(t, tc.wantFormat, format)
				}
				got, err = io.ReadAll(r)
			}
			if tc.wantErr == nil {
				require.NoError(t, err)
				require.True(t, bytes.Equal(tc.want, got), "records differ")
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			require.ErrorContains(t, err, tc.wantText)
			if tc.want != nil {
				require.True(t, bytes.Equal(tc.want, got), "records before the error differ")
			}
			if strings.HasPrefix(tc.name, "truncated zip") {
				require.NotEmpty(t, got)
				require.True(t, bytes.HasPrefix(recs, got), "what was read is the records' beginning")
			}
		})
	}
}

// site serves files by path, each answer chosen by behaviour (nil: serve
// the file), and records the User-Agent of every request.
type site struct {
	mu        sync.Mutex
	files     map[string][]byte
	behaviour map[string]func(n int, w http.ResponseWriter) bool
	n         map[string]int
	agents    []string
	paths     []string
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.n[r.URL.Path]++
	n := s.n[r.URL.Path]
	s.agents = append(s.agents, r.Header.Get("User-Agent"))
	s.paths = append(s.paths, r.URL.Path)
	b, ok := s.files[r.URL.Path]
	behave := s.behaviour[r.URL.Path]
	s.mu.Unlock()
	if behave != nil && behave(n, w) {
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, "", time.Unix(1700000000, 0), bytes.NewReader(b))
}

// TestCensusSite: what the census site serves, and what the reader makes of
// it.
func TestCensusSite(t *testing.T) {
	recs := records(50)
	html := []byte("<html><head><title>Request Rejected</title></head><body>The requested URL was rejected.</body></html>")
	for _, tc := range []struct {
		name        string
		year, month int
		files       map[string][]byte
		behaviour   map[string]func(n int, w http.ResponseWriter) bool
		wantName    string
		wantFormat  string
		wantErr     error
		wantText    string
		wantRetries []string
		wantWaits   []time.Duration
		wantPaths   []string
	}{
		{name: "gzip from 2015", year: 2020, month: 1, files: map[string][]byte{"/2020/basic/jan20pub.dat.gz": gzipped(t, recs)},
			wantName: "jan20pub.dat.gz", wantFormat: FormatGzip, wantPaths: []string{"/2020/basic/jan20pub.dat.gz"}},
		{name: "zip before 2015", year: 1994, month: 1, files: map[string][]byte{"/1994/basic/jan94pub.zip": zipped(t, "jan94pub.dat", string(recs))},
			wantName: "jan94pub.zip", wantFormat: FormatZip, wantPaths: []string{"/1994/basic/jan94pub.zip"}},
		{name: "December 2018 asks for its zip first", year: 2018, month: 12,
			files:    map[string][]byte{"/2018/basic/dec18pub.zip": zipped(t, "dec18pub.dat", string(recs)), "/2018/basic/dec18pub.dat.gz": html[:247%len(html)]},
			wantName: "dec18pub.zip", wantFormat: FormatZip, wantPaths: []string{"/2018/basic/dec18pub.zip"}},
		{name: "404 for the gzip falls back to the zip", year: 2015, month: 3, files: map[string][]byte{"/2015/basic/mar15pub.zip": zipped(t, "mar15pub.dat", string(recs))},
			wantName: "mar15pub.zip", wantFormat: FormatZip, wantPaths: []string{"/2015/basic/mar15pub.dat.gz", "/2015/basic/mar15pub.zip"}},
		{name: "a zip where a gzip was asked", year: 2020, month: 1, files: map[string][]byte{"/2020/basic/jan20pub.dat.gz": zipped(t, "jan20pub.dat", string(recs))},
			wantName: "jan20pub.dat.gz", wantFormat: FormatZip, wantPaths: []string{"/2020/basic/jan20pub.dat.gz"}},
		{name: "an HTML page with status 200", year: 2020, month: 1, files: map[string][]byte{"/2020/basic/jan20pub.dat.gz": html},
			wantErr: ErrNotCensusFile, wantPaths: []string{"/2020/basic/jan20pub.dat.gz"},
			wantText: `/2020/basic/jan20pub.dat.gz: 200 OK, Content-Type "text/html; charset=utf-8": neither gzip nor zip: first bytes "<html><head><title>Request Rejected`},
		{name: "403 then success", year: 2020, month: 1, files: map[string][]byte{"/2020/basic/jan20pub.dat.gz": gzipped(t, recs)},
			behaviour: map[string]func(int, http.ResponseWriter) bool{"/2020/basic/jan20pub.dat.gz": func(n int, w http.ResponseWriter) bool {
				if n == 1 {
					http.Error(w, "Sorry, you have been blocked", http.StatusForbidden)
					return true
				}
				return false
			}},
			wantName: "jan20pub.dat.gz", wantFormat: FormatGzip, wantRetries: []string{"403"}, wantWaits: []time.Duration{time.Millisecond},
			wantPaths: []string{"/2020/basic/jan20pub.dat.gz", "/2020/basic/jan20pub.dat.gz"}},
		{name: "429 with Retry-After", year: 2020, month: 1, files: map[string][]byte{"/2020/basic/jan20pub.dat.gz": gzipped(t, recs)},
			behaviour: map[string]func(int, http.ResponseWriter) bool{"/2020/basic/jan20pub.dat.gz": func(n int, w http.ResponseWriter) bool {
				if n <= 2 {
					w.Header().Set("Retry-After", []string{"7", "120"}[n-1])
					http.Error(w, "slow down", http.StatusTooManyRequests)
					return true
				}
				return false
			}},
			wantName: "jan20pub.dat.gz", wantFormat: FormatGzip, wantRetries: []string{"429", "429"},
			wantWaits: []time.Duration{7 * time.Second, time.Minute}, // the second capped by MaxRetryAfter
			wantPaths: []string{"/2020/basic/jan20pub.dat.gz", "/2020/basic/jan20pub.dat.gz", "/2020/basic/jan20pub.dat.gz"}},
		{name: "not published", year: 2025, month: 10, wantErr: ErrNotPublished,
			wantText:  "2025-10: month not published: not found: 404 for http://",
			wantPaths: []string{"/2025/basic/oct25pub.dat.gz", "/2025/basic/oct25pub.zip"}},
		{name: "a 5xx is not a missing month", year: 2020, month: 1,
			behaviour: map[string]func(int, http.ResponseWriter) bool{"/2020/basic/jan20pub.dat.gz": func(int, http.ResponseWriter) bool { return false }},
			files:     map[string][]byte{},
			wantErr:   ErrNotPublished, wantPaths: []string{"/2020/basic/jan20pub.dat.gz", "/2020/basic/jan20pub.zip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &site{files: tc.files, behaviour: tc.behaviour, n: map[string]int{}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			obs := &countingObserver{}
			var waits []time.Duration
			h := &HTTP{Client: srv.Client(), BaseURL: srv.URL, Log: zaptest.NewLogger(t), Observe: obs, UserAgent: "kafka-scale-reader/test",
				Retry: Retry{Attempts: 3, Base: 2 * time.Millisecond, Max: 2 * time.Millisecond, MaxRetryAfter: time.Minute},
				sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
			src := h.Census(tc.year, tc.month)
			rc, _, err := src.Open(context.Background())
			var got []byte
			var format string
			if err == nil {
				var r io.Reader
				r, format, err = src.Records(rc)
				if err == nil {
					got, err = io.ReadAll(r)
				}
				rc.Close()
			}
			require.Equal(t, tc.wantPaths, s.paths)
			for _, a := range s.agents {
				require.Equal(t, "kafka-scale-reader/test", a)
			}
			require.Equal(t, tc.wantRetries, obs.retries)
			if tc.wantWaits != nil {
				// A backoff is 1-2 ms with its jitter; a Retry-After is exact.
				require.Len(t, waits, len(tc.wantWaits))
				for i, w := range tc.wantWaits {
					if w == time.Millisecond {
						require.LessOrEqual(t, waits[i], 2*time.Millisecond)
						continue
					}
					require.Equal(t, w, waits[i])
				}
			}
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.ErrorContains(t, err, tc.wantText)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantName, src.Name)
			require.Equal(t, tc.wantFormat, format)
			require.True(t, bytes.Equal(recs, got), "records differ")
		})
	}
	require.False(t, errors.Is(ErrNotCensusFile, ErrNotFound))
}
