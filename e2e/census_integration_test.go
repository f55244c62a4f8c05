//go:build integration

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/e2e/harness"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// readerReport is the JSON line the reader prints at its end.
type readerReport struct {
	Records uint64 `json:"records"`
	Sources []struct {
		Source string `json:"source"`
		Status string `json:"status"`
		Format string `json:"format"`
		Chunks uint32 `json:"chunks"`
		Acked  uint32 `json:"acked"`
		Error  string `json:"error"`
	} `json:"sources"`
}

func lastReport(t *testing.T, reader *harness.Proc) readerReport {
	t.Helper()
	out := reader.Stdout()
	require.NotEmpty(t, out)
	var r readerReport
	require.NoError(t, json.Unmarshal([]byte(out[len(out)-1]), &r))
	return r
}

// TestE2ECensusLayouts: the first month of each of the 20 record layouts
// since January 1994, generated in its layout (zipped before 2015, as the
// census site has them, gzipped after), through reader -> 2 computers ->
// aggregator gives exactly the generator's tabulations, and /v1/sources
// names each month's layout, weight and format.
func TestE2ECensusLayouts(t *testing.T) {
	dir := t.TempDir()
	layouts := census.Layouts()
	require.Len(t, layouts, 20)
	want := tally.New()
	var args []string
	wantLayout := map[string]*census.Layout{}
	for i, l := range layouts {
		year, _ := strconv.Atoi(l.First[:4])
		month, _ := strconv.Atoi(l.First[5:])
		format := censusgen.FormatGzip
		if year < 2015 {
			format = censusgen.FormatZip
		}
		path, exp, err := censusgen.WriteFile(dir, censusgen.Options{Year: year, Month: month, Records: 3000, Seed: uint64(100 + i),
			Format: format, Bad: []censusgen.Bad{{Line: 7, Kind: censusgen.BadPEMLR}}})
		require.NoError(t, err)
		require.Equal(t, l.Name, exp.Layout)
		want.Merge(exp.Tally)
		args = append(args, "--from-file", path)
		wantLayout[filepath.Base(path)] = l
	}

	p := harness.NewPipeline(t, "layouts")
	agg := p.Aggregator("aggregator")
	api := agg.Addr("api", time.Minute)
	p.CreateComputeTopic(4)
	c1 := p.Computer("computer-1")
	c2 := p.Computer("computer-2")
	c1.WaitReady(time.Minute)
	c2.WaitReady(time.Minute)
	reader := p.Reader("reader", args...)
	require.Equal(t, 0, reader.Wait(3*time.Minute), "reader exit code")
	report := lastReport(t, reader)
	require.Equal(t, uint64(20*3001), report.Records)

	srcs := harness.WaitSources(t, api, waitComplete, harness.AllComplete(20))
	for _, s := range srcs {
		l := wantLayout[s.Source]
		require.NotNil(t, l, s.Source)
		require.Equal(t, "complete", s.Status, s.Source)
		require.Equal(t, l.Name, s.Layout.Name, s.Source)
		require.Equal(t, l.Weight().String(), s.Weight, s.Source)
		wantFormat := censusgen.FormatGzip
		if s.Year < 2015 {
			wantFormat = censusgen.FormatZip
		}
		require.Equal(t, wantFormat, s.Format, s.Source)
		require.Equal(t, uint64(3001), s.Records, s.Source)
		require.Equal(t, uint64(3000), s.Counted, s.Source)
		require.Equal(t, map[string]uint64{"field:PEMLR": 1}, s.Rejects, s.Source)
		t.Logf("%-16s layout %-12s %s..%s weight %-8s format %-4s records %d counted %d rejected %d",
			s.Source, s.Layout.Name, s.Layout.First, s.Layout.Last, s.Weight, s.Format, s.Records, s.Counted, s.Rejected)
	}
	harness.CheckAPI(t, api, want)
	c1.Stop(time.Minute)
	c2.Stop(time.Minute)
	agg.Stop(time.Minute)
}

// TestE2ECensusSite: the reader asks a server laid out like the census
// site for January and October of 1994, 1997, 2003 and 2025. The first
// three years have only zips; January 2025 is a zip where a gzip was asked;
// one answer is 403 and another 429 with Retry-After before they succeed;
// October 2025 was never published. Every published month loads exactly,
// the unpublished one is reported as such, and nothing fails.
func TestE2ECensusSite(t *testing.T) {
	srv := &censusServer{files: map[string][]byte{}, requests: map[string]int{}, script: map[string]func(int, http.ResponseWriter, *http.Request) bool{}}
	want := tally.New()
	for _, year := range []int{1994, 1997, 2003, 2025} {
		for _, month := range []int{1, 10} {
			if year == 2025 && month == 10 {
				continue
			}
			var buf bytes.Buffer
			exp, err := censusgen.GenerateZip(&buf, censusgen.Options{Year: year, Month: month, Records: 2000, Seed: uint64(year + month)})
			require.NoError(t, err)
			want.Merge(exp.Tally)
			name := census.ZipFileName(year, month)
			if year == 2025 {
				name = census.FileName(year, month) // a zip behind the .dat.gz name
			}
			srv.files[name] = buf.Bytes()
		}
	}
	srv.script[census.ZipFileName(1997, 1)] = func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n == 1 {
			http.Error(w, "Request Rejected", http.StatusForbidden)
			return true
		}
		return false
	}
	srv.script[census.ZipFileName(2003, 10)] = func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return true
		}
		return false
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	p := harness.NewPipeline(t, "site")
	agg := p.Aggregator("aggregator")
	api := agg.Addr("api", time.Minute)
	p.Computer("computer")
	reader := p.Reader("reader", "--census-base-url", hs.URL, "--years", "1994,1997,2003,2025", "--months", "jan,oct",
		"--download-backoff", "10ms", "--download-max-backoff", "50ms")
	require.Equal(t, 0, reader.Wait(2*time.Minute), "a month not published fails nothing")
	log := reader.Log()
	require.Contains(t, log, `jan97pub.zip: 403 Forbidden`)
	require.Contains(t, log, `"backoff":1,"error":"GET `+hs.URL+`/2003/basic/oct03pub.zip: 429 Too Many Requests"`, "Retry-After: 1 is honoured")
	require.Contains(t, log, "month not published")

	report := lastReport(t, reader)
	status := map[string]string{}
	for _, s := range report.Sources {
		status[s.Source] = s.Status + " " + s.Format
		require.Equal(t, s.Chunks, s.Acked, s.Source)
	}
	require.Equal(t, map[string]string{
		"jan94pub.zip": "ok zip", "oct94pub.zip": "ok zip", "jan97pub.zip": "ok zip", "oct97pub.zip": "ok zip",
		"jan03pub.zip": "ok zip", "oct03pub.zip": "ok zip", "jan25pub.dat.gz": "ok zip", "oct25pub.dat.gz": "not_published ",
	}, status)
	require.Equal(t, uint64(7*2000), report.Records)

	srcs := harness.WaitSources(t, api, waitComplete, harness.AllComplete(8))
	for _, s := range srcs {
		wantStatus := "complete"
		if s.Source == "oct25pub.dat.gz" {
			wantStatus = "not_published"
		}
		require.Equal(t, wantStatus, s.Status, s.Source)
		t.Logf("%-16s %-13s layout %-12s weight %-8s format %-4s records %d", s.Source, s.Status, s.Layout.Name, s.Weight, s.Format, s.Records)
	}
	harness.CheckAPI(t, api, want)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	t.Logf("requests: %v", srv.requests)
	require.Len(t, srv.agents, 1, "one User-Agent: %v", srv.agents)
	for ua := range srv.agents {
		require.Regexp(t, `^kafka-scale-reader/\S+ \(\+https://github.com/kafka-scale/kafka-scale\)$`, ua)
	}
}
