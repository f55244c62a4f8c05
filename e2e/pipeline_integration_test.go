//go:build integration

// End-to-end tests of the real binaries against a real broker. Run them
// with `make test-integration` (it builds the binaries and starts a local
// broker).
package e2e

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/e2e/harness"
	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

const waitComplete = 4 * time.Minute

func filesArgs(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.dat.gz"))
	var args []string
	for _, m := range matches {
		args = append(args, "--from-file", m)
	}
	return args
}

// TestE2EPipeline: three generated months through reader -> 2 computers
// -> aggregator give exactly the generator's tabulations.
func TestE2EPipeline(t *testing.T) {
	dir := t.TempDir()
	want, _ := harness.Generate(t, dir, 2020, []int{1, 2, 3}, 20_000, 1)
	p := harness.NewPipeline(t, "e2e")

	agg := p.Aggregator("aggregator")
	api := agg.Addr("api", time.Minute)
	// Both computers hold partitions before any data arrives, so both take part.
	p.CreateComputeTopic(6)
	c1 := p.Computer("computer-1")
	c2 := p.Computer("computer-2")
	c1.WaitReady(time.Minute)
	c2.WaitReady(time.Minute)
	reader := p.Reader("reader", filesArgs(dir)...)
	require.Equal(t, 0, reader.Wait(3*time.Minute), "reader exit code")

	report := lastReport(t, reader)
	require.Equal(t, uint64(60_000), report.Records)
	for _, s := range report.Sources {
		require.Equal(t, s.Chunks, s.Acked, s.Source)
	}

	srcs := harness.WaitSources(t, api, waitComplete, harness.AllComplete(3))
	for _, s := range srcs {
		require.Equal(t, uint64(20_000), s.Records, s.Source)
		require.Zero(t, s.Rejected, s.Source)
	}
	harness.CheckAPI(t, api, want)

	// Once drained, the group's lag is 0 on every partition: the compute
	// topic holds no transaction markers that would leave a lag of 1.
	harness.Eventually(t, time.Minute, func() (bool, string) {
		var total float64
		partitions := 0
		for _, c := range []*harness.Proc{c1, c2} {
			sum, n, err := harness.MetricSum(context.Background(), c.Addr("admin", time.Second), "kafka_scale_consumer_lag_records")
			if err != nil {
				return false, err.Error()
			}
			total += sum
			partitions += n
		}
		return partitions == 6 && total == 0, fmt.Sprintf("lag %v over %d partitions, want 0 over 6", total, partitions)
	})

	// The aggregator commits its consumer's position, past the results
	// topic's transaction markers, so its group's lag reaches 0 too.
	harness.Eventually(t, time.Minute, func() (bool, string) {
		lag, err := p.GroupLag(p.ResultsTopic+"-aggregator", p.ResultsTopic)
		return err == nil && lag == 0, fmt.Sprintf("aggregator group lag %d (%v)", lag, err)
	})

	// Both computers took part, and both leave cleanly.
	for _, c := range []*harness.Proc{c1, c2} {
		n, ok, err := harness.Metric(context.Background(), c.Addr("admin", time.Second), "kafka_scale_compute_messages_read")
		require.NoError(t, err)
		require.True(t, ok)
		require.Positive(t, n, "%s consumed nothing", c.Name)
	}
	c1.Stop(time.Minute)
	c2.Stop(time.Minute)
	agg.Stop(time.Minute)
}

// TestE2EChaos: while the pipeline runs, SIGKILL one computer, start two
// more, SIGTERM one, restart the aggregator and load one file twice; the
// results are still exact and every source completes.
func TestE2EChaos(t *testing.T) {
	dir := t.TempDir()
	want, _ := harness.Generate(t, dir, 2019, []int{1, 2, 3}, 40_000, 2)
	p := harness.NewPipeline(t, "chaos")
	// Small transactions, and short timeouts so that the killed member's
	// partitions and open transaction are recovered quickly.
	small := []string{"--batch-chunks", "4", "--batch-age", "200ms", "--transaction-timeout", "10s",
		"--kafka-config", "session.timeout.ms=6000,heartbeat.interval.ms=1000"}

	agg := p.Aggregator("aggregator-1")
	api := agg.Addr("api", time.Minute)
	a := p.Computer("computer-a", small...)
	b := p.Computer("computer-b", small...)
	reader := p.Reader("reader", append(filesArgs(dir), "--chunk-size", "50")...)

	progress := func(min uint64) func([]apiv1.Source) (bool, string) {
		return func(s []apiv1.Source) (bool, string) {
			var n uint64
			for _, src := range s {
				n += src.Records
			}
			return n >= min, "records counted: " + itoa(n)
		}
	}
	harness.WaitSources(t, api, time.Minute, progress(5_000))
	a.Kill() // SIGKILL: its open transaction is aborted by the broker
	c := p.Computer("computer-c", small...)
	d := p.Computer("computer-d", small...)
	harness.WaitSources(t, api, time.Minute, progress(30_000))
	b.Stop(time.Minute) // SIGTERM: commits or aborts, leaves the group

	agg.Stop(time.Minute)
	agg2 := p.Aggregator("aggregator-2")
	api = agg2.Addr("api", time.Minute)
	require.Equal(t, 0, reader.Wait(3*time.Minute), "reader exit code")

	// Load one file a second time: nothing may be counted twice.
	again := p.Reader("reader-again", "--from-file", filepath.Join(dir, census.FileName(2019, 2)))
	require.Equal(t, 0, again.Wait(2*time.Minute))

	srcs := harness.WaitSources(t, api, waitComplete, harness.AllComplete(3))
	for _, s := range srcs {
		require.Equal(t, uint64(40_000), s.Records, s.Source)
		require.Equal(t, 1, s.Loads, s.Source)
	}
	// Duplicates were seen and ignored, not counted.
	harness.Eventually(t, time.Minute, func() (bool, string) {
		n, _, err := harness.Metric(context.Background(), agg2.Addr("admin", time.Second), `kafka_scale_aggregator_chunks_total{outcome="duplicate"}`)
		return err == nil && n > 0, "no duplicate chunk seen yet"
	})
	harness.CheckAPI(t, api, want)

	// A restarted aggregator serves the same numbers and is ready only once caught up.
	agg2.Stop(time.Minute)
	agg3 := p.Aggregator("aggregator-3")
	api3 := agg3.Addr("api", time.Minute)
	harness.Eventually(t, time.Minute, func() (bool, string) {
		code, _ := harness.GetJSON(context.Background(), "http://"+agg3.Addr("admin", time.Second)+"/readyz", nil)
		return code == 200, "aggregator-3 not ready"
	})
	harness.CheckAPI(t, api3, want)
	c.Stop(time.Minute)
	d.Stop(time.Minute)
	agg3.Stop(time.Minute)
}

// TestE2EKIP848: computers on the KIP-848 consumer group protocol.
func TestE2EKIP848(t *testing.T) {
	dir := t.TempDir()
	want, _ := harness.Generate(t, dir, 2021, []int{6}, 20_000, 3)
	p := harness.NewPipeline(t, "kip848")
	agg := p.Aggregator("aggregator")
	api := agg.Addr("api", time.Minute)
	c1 := p.Computer("computer-1", "--group-protocol", "consumer")
	c2 := p.Computer("computer-2", "--group-protocol", "consumer")
	require.Equal(t, 0, p.Reader("reader", filesArgs(dir)...).Wait(2*time.Minute))
	harness.WaitSources(t, api, waitComplete, harness.AllComplete(1))
	harness.CheckAPI(t, api, want)
	c1.Stop(time.Minute)
	c2.Stop(time.Minute)
	agg.Stop(time.Minute)
}

// censusServer serves generated files under <year>/basic/<file>, with
// per-file behaviour for the first requests.
type censusServer struct {
	mu       sync.Mutex
	files    map[string][]byte
	requests map[string]int
	agents   map[string]int // User-Agent headers seen
	script   map[string]func(n int, w http.ResponseWriter, r *http.Request) bool
}

func (s *censusServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := filepath.Base(r.URL.Path)
	s.mu.Lock()
	s.requests[name]++
	if s.agents == nil {
		s.agents = map[string]int{}
	}
	s.agents[r.Header.Get("User-Agent")]++
	n := s.requests[name]
	content, ok := s.files[name]
	script := s.script[name]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if script != nil && script(n, w, r) {
		return
	}
	w.Header().Set("ETag", `"`+name+`"`)
	http.ServeContent(w, r, name, time.Unix(1700000000, 0), bytes.NewReader(content))
}

// TestE2EBadInput: over HTTP, an HTTP 500 then success, an interrupted
// download that resumes, a month the site does not have (404) and an HTML
// page served with status 200; locally, a truncated gzip, a truncated zip,
// a file with short and over-long lines and a bad field, and a file whose
// records belong to another month. Each gives a clear error, status or
// reject count, and no good record is lost.
func TestE2EBadInput(t *testing.T) {
	dir := t.TempDir()
	p := harness.NewPipeline(t, "bad")
	want := tally.New()

	// Served over HTTP: jan (500 first), feb (transfer cut, then resumed);
	// mar is missing (404), jun is an HTML page.
	srv := &censusServer{files: map[string][]byte{}, requests: map[string]int{}, script: map[string]func(int, http.ResponseWriter, *http.Request) bool{}}
	for _, m := range []int{1, 2} {
		var buf bytes.Buffer
		exp, err := censusgen.GenerateGzip(&buf, censusgen.Options{Year: 2018, Month: m, Records: 15_000, Seed: 4})
		require.NoError(t, err)
		want.Merge(exp.Tally)
		srv.files[census.FileName(2018, m)] = buf.Bytes()
	}
	srv.script[census.FileName(2018, 1)] = func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n == 1 {
			http.Error(w, "try later", http.StatusInternalServerError)
			return true
		}
		return false
	}
	feb := srv.files[census.FileName(2018, 2)]
	srv.script[census.FileName(2018, 2)] = func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n != 1 {
			return false
		}
		w.Header().Set("Content-Length", itoa(uint64(len(feb))))
		w.Header().Set("Accept-Ranges", "bytes")
		w.Header().Set("ETag", `"feb18pub.dat.gz"`)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(feb[:len(feb)/2])
		w.(http.Flusher).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return true
	}
	srv.files[census.FileName(2018, 6)] = nil
	srv.script[census.FileName(2018, 6)] = func(_ int, w http.ResponseWriter, _ *http.Request) bool {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html><head><title>Request Rejected</title></head><body>The requested URL was rejected.</body></html>"))
		return true
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	// Local files: a truncated gzip, a truncated zip, a file with bad lines,
	// and August's name on September's records.
	var full bytes.Buffer
	_, err := censusgen.GenerateGzip(&full, censusgen.Options{Year: 2018, Month: 4, Records: 15_000, Seed: 5})
	require.NoError(t, err)
	truncated := filepath.Join(dir, census.FileName(2018, 4))
	require.NoError(t, os.WriteFile(truncated, full.Bytes()[:full.Len()*2/3], 0o600))
	good := goodPrefix(t, truncated)
	want.Merge(good)

	var fullZip bytes.Buffer
	_, err = censusgen.GenerateZip(&fullZip, censusgen.Options{Year: 2018, Month: 7, Records: 15_000, Seed: 8})
	require.NoError(t, err)
	truncatedZip := filepath.Join(dir, census.ZipFileName(2018, 7))
	require.NoError(t, os.WriteFile(truncatedZip, fullZip.Bytes()[:fullZip.Len()/2], 0o600))
	goodZip := goodZipPrefix(t, truncatedZip)
	want.Merge(goodZip)

	badLines := []censusgen.Bad{{Line: 10, Kind: censusgen.Short}, {Line: 5000, Kind: censusgen.Long}, {Line: 9000, Kind: censusgen.BadPEMLR}}
	_, expBad, err := censusgen.WriteFile(dir, censusgen.Options{Year: 2018, Month: 5, Records: 10_000, Seed: 6, Bad: badLines})
	require.NoError(t, err)
	want.Merge(expBad.Tally)

	var sep bytes.Buffer
	_, err = censusgen.GenerateGzip(&sep, censusgen.Options{Year: 2018, Month: 9, Records: 2_000, Seed: 9})
	require.NoError(t, err)
	misnamed := filepath.Join(dir, census.FileName(2018, 8))
	require.NoError(t, os.WriteFile(misnamed, sep.Bytes(), 0o600))

	agg := p.Aggregator("aggregator")
	api := agg.Addr("api", time.Minute)
	comp := p.Computer("computer")

	web := p.Reader("reader-web", "--census-base-url", hs.URL, "--years", "2018", "--months", "jan,feb,mar,jun",
		"--download-backoff", "10ms", "--download-max-backoff", "50ms")
	require.Equal(t, 1, web.Wait(2*time.Minute), "an HTML page must fail the reader")
	require.Contains(t, web.Log(), "2018-03: month not published: not found: 404 for "+hs.URL+"/2018/basic/mar18pub.dat.gz and "+hs.URL+"/2018/basic/mar18pub.zip")
	require.Contains(t, web.Log(), "download interrupted, resuming")
	require.Contains(t, web.Log(), `GET `+hs.URL+`/2018/basic/jun18pub.dat.gz: 200 OK, Content-Type \"text/html; charset=utf-8\": neither gzip nor zip: first bytes \"<html><head><title>Request Rejected`)
	webReport := lastReport(t, web)
	webStatus := map[string]string{}
	for _, s := range webReport.Sources {
		webStatus[s.Source] = s.Status
	}
	require.Equal(t, map[string]string{"jan18pub.dat.gz": "ok", "feb18pub.dat.gz": "ok", "mar18pub.dat.gz": "not_published", "jun18pub.dat.gz": "failed"}, webStatus)

	local := p.Reader("reader-local", "--from-file", truncated, "--from-file", filepath.Join(dir, census.FileName(2018, 5)),
		"--from-file", truncatedZip, "--from-file", misnamed)
	require.Equal(t, 1, local.Wait(2*time.Minute), "a truncated file must fail the reader")
	require.Contains(t, local.Log(), "apr18pub.dat.gz: after line")
	require.Contains(t, local.Log(), "unexpected EOF")
	require.Contains(t, local.Log(), "jul18pub.zip: after line")
	require.Contains(t, local.Log(), "zip: member jul18pub.dat: after ")

	srcs := harness.WaitSources(t, api, waitComplete, func(s []apiv1.Source) (bool, string) {
		done := 0
		for _, src := range s {
			if src.Complete || src.Error != "" && src.TotalChunks != nil && int64(src.Chunks) == *src.TotalChunks {
				done++
			}
		}
		return len(s) == 7 && done == 7, "sources: " + jsonString(s)
	})
	bySource := map[string]apiv1.Source{}
	for _, s := range srcs {
		bySource[s.Source] = s
	}
	require.True(t, bySource["jan18pub.dat.gz"].Complete)
	require.True(t, bySource["feb18pub.dat.gz"].Complete)
	mar := bySource["mar18pub.dat.gz"]
	require.Equal(t, "not_published", mar.Status)
	require.True(t, mar.Complete)
	require.Zero(t, mar.Records)
	for name, g := range map[string]*tally.Tally{"apr18pub.dat.gz": good, "jul18pub.zip": goodZip} {
		s := bySource[name]
		require.False(t, s.Complete, name)
		require.Equal(t, "failed", s.Status, name)
		require.Contains(t, s.Error, "unexpected EOF", name)
		require.Equal(t, g.Records(), s.Counted, "good records of the truncated %s", name)
	}
	may := bySource["may18pub.dat.gz"]
	require.True(t, may.Complete)
	require.Equal(t, uint64(10_003), may.Records)
	require.Equal(t, uint64(3), may.Rejected)
	require.Equal(t, map[string]uint64{"length": 2, "field:PEMLR": 1}, may.Rejects)
	aug := bySource["aug18pub.dat.gz"]
	require.True(t, aug.Complete)
	require.Equal(t, uint64(2_000), aug.Records)
	require.Equal(t, map[string]uint64{"period": 2_000}, aug.Rejects, "September's records under August's name")
	require.Zero(t, aug.Counted)
	harness.CheckAPI(t, api, want)

	n, ok, err := harness.Metric(context.Background(), comp.Addr("admin", time.Second), `kafka_scale_computer_rejected_records_total{reason="length",source="may18pub.dat.gz"}`)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 2.0, n)
	n, ok, err = harness.Metric(context.Background(), comp.Addr("admin", time.Second), `kafka_scale_computer_rejected_records_total{reason="period",source="aug18pub.dat.gz"}`)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 2000.0, n)
	comp.Stop(time.Minute)
	agg.Stop(time.Minute)
}

// goodZipPrefix tabulates the complete records a truncated one-member zip
// still holds.
func goodZipPrefix(t *testing.T, path string) *tally.Tally {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "PK\x03\x04", string(b[:4]))
	start := 30 + int(binary.LittleEndian.Uint16(b[26:])) + int(binary.LittleEndian.Uint16(b[28:]))
	return tabulateTruncated(t, flate.NewReader(bytes.NewReader(b[start:])))
}

// goodPrefix tabulates the complete records a truncated gzip still holds.
func goodPrefix(t *testing.T, path string) *tally.Tally {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	return tabulateTruncated(t, zr)
}

// tabulateTruncated tabulates the complete records of a stream cut short.
func tabulateTruncated(t *testing.T, r io.Reader) *tally.Tally {
	t.Helper()
	b, err := io.ReadAll(r)
	require.True(t, errors.Is(err, io.ErrUnexpectedEOF), "want a truncated stream, got %v", err)
	out := tally.New()
	lines := strings.Split(string(b), "\n")
	for i, line := range lines[:len(lines)-1] { // the last piece has no line end
		var r census.Record
		require.NoError(t, census.Parse([]byte(line), i+1, &r))
		out.Add(&r)
	}
	return out
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
