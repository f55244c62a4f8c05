//go:build integration

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/e2e/harness"
	"github.com/kafka-scale/kafka-scale/e2e/promcheck"
	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
)

// TestE2EObservability: while the pipeline runs on generated data, a real
// Prometheus scrapes every service with the labels a PodMonitor gives them
// and evaluates dashboards/rules; then every query of every dashboard must
// return series, and every rule must evaluate with all the metrics it
// reads present. The data is chosen so that the event series exist too: a
// download that fails once (a retry), one cut mid-transfer (a resume), bad
// lines (rejects), a truncated file (a read error, a failed source) and a
// file loaded twice (duplicates).
func TestE2EObservability(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found in PATH: install the Debian package prometheus (scripts/install-deps.sh does): %v", err)
	}
	root := harness.RepoRoot(t)
	const namespace = "kafka-scale-e2e"
	p := harness.NewPipeline(t, "obs")

	srv := observedCensus(t)
	hs := httptest.NewServer(srv)
	defer hs.Close()

	// librdkafka statistics as often as Prometheus scrapes, so that even
	// the short-lived reader reports them.
	stats := []string{"--kafka-stats-interval", "1s"}
	agg := p.Aggregator("aggregator", stats...)
	api := agg.Addr("api", time.Minute)
	c1 := p.Computer("computer-1", stats...)
	c2 := p.Computer("computer-2", stats...)
	readerAddr, againAddr := freeAddr(t), freeAddr(t)
	targets := []scrapeTarget{
		{pod: "aggregator", container: "aggregator", addr: agg.Addr("admin", time.Minute)},
		{pod: "computer-1", container: "computer", addr: c1.Addr("admin", time.Minute)},
		{pod: "computer-2", container: "computer", addr: c2.Addr("admin", time.Minute)},
		{pod: "reader", container: "reader", addr: readerAddr},
		{pod: "reader-again", container: "reader", addr: againAddr},
	}
	prom := startPrometheus(t, promBin, namespace, targets, filepath.Join(root, "dashboards", "rules", "kafka-scale.yaml"))
	start := time.Now()
	prom.waitFor(t, time.Minute, fmt.Sprintf(`count(up{namespace=%q} == 1) >= 3`, namespace), "aggregator and computers scraped")

	web := []string{"--kafka-stats-interval", "1s", "--exit-delay", "3s", "--census-base-url", hs.URL, "--years", "2017", "--download-backoff", "10ms", "--download-max-backoff", "50ms"}
	reader := p.Reader("reader", append(web, "--metrics-addr", readerAddr, "--months", "jan,feb,mar,apr")...)
	require.Equal(t, 1, reader.Wait(3*time.Minute), "the truncated apr17 must fail the reader")
	harness.WaitSources(t, api, waitComplete, func(s []apiv1.Source) (bool, string) {
		done := 0
		for _, src := range s {
			if src.Complete || src.Error != "" && src.TotalChunks != nil && int64(src.Chunks) == *src.TotalChunks {
				done++
			}
		}
		return len(s) == 4 && done == 4, "sources: " + jsonString(s)
	})
	again := p.Reader("reader-again", append(web, "--metrics-addr", againAddr, "--months", "mar")...)
	require.Equal(t, 0, again.Wait(2*time.Minute), "reader-again exit code")
	harness.Eventually(t, time.Minute, func() (bool, string) {
		n, _, err := harness.Metric(context.Background(), agg.Addr("admin", time.Second), `kafka_scale_aggregator_chunks_total{outcome="duplicate"}`)
		return err == nil && n > 0, "the reloaded mar17 gave no duplicate yet"
	})
	// Every client's statistics reach the metrics, the aggregator's
	// transactional producer's too: its events channel is served.
	harness.Eventually(t, time.Minute, func() (bool, string) {
		_, n, err := harness.MetricSum(context.Background(), agg.Addr("admin", time.Second), "kafka_scale_kafka_producer_transaction_state")
		return err == nil && n > 0, fmt.Sprintf("the aggregator reports no producer_transaction_state (%d series, %v)", n, err)
	})

	// Prometheus has scraped the final state, and evaluated every rule on it.
	done := time.Now()
	prom.waitFor(t, time.Minute, fmt.Sprintf(`min(timestamp(up{namespace=%q, container!="reader"})) > %d`, namespace, done.Unix()+1),
		"a scrape of every running service after the pipeline finished")
	rules := prom.waitRules(t, time.Minute, done)
	end := time.Now()

	dashboards, err := promcheck.Dashboards(filepath.Join(root, "dashboards"))
	require.NoError(t, err)
	check := promcheck.Check{Client: prom.client, Namespace: namespace, Group: p.Group, Start: start, End: end,
		Step: time.Second, RateInterval: 15 * time.Second, KnownGaps: knownGaps}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	report, err := check.Run(ctx, dashboards, rules)
	require.NoError(t, err)
	t.Logf("series per dashboard query (range queries over the %v run, instant ones at its end) and per rule:\n%s", end.Sub(start).Round(time.Second), report.Table())

	window := strconv.Itoa(int(end.Sub(start).Seconds())+1) + "s"
	for _, m := range []string{"kafka_scale_consumer_lag_records", "kafka_scale_consumer_lag_seconds"} {
		t.Logf("peak of %s during the run: %s", m,
			prom.value(t, fmt.Sprintf(`max(max_over_time(%s{namespace=%q, group=%q}[%s]))`, m, namespace, p.Group, window), end))
	}

	for _, m := range report.Missing {
		if why, known := knownGaps[m]; known {
			t.Logf("known gap: %s has no series: %s", m, why)
		}
	}
	for m := range knownGaps {
		if !slices.Contains(report.Missing, m) {
			t.Logf("%s has series now: take it off knownGaps", m)
		}
	}
	if len(report.Empty) > 0 || len(report.Unhealthy) > 0 {
		t.Errorf("metrics with no series in the run: %s\nqueries without series:\n  %s\nrules:\n  %s",
			strings.Join(report.Missing, ", "), strings.Join(report.Empty, "\n  "), strings.Join(report.Unhealthy, "\n  "))
	}

	c1.Stop(time.Minute)
	c2.Stop(time.Minute)
	agg.Stop(time.Minute)
	prom.proc.Stop(time.Minute)
}

// knownGaps are metrics the dashboards or rules read that this run cannot
// be expected to show yet, and why (promcheck.Check.KnownGaps). A query
// whose only absent metrics are here is logged, not failed; take a metric
// off once it is there.
var knownGaps = map[string]string{}

// observedCensus serves four months of 2017, throttled so that the reader
// lives through several scrapes: jan fails once with a 500, feb is cut
// mid-transfer, mar has bad lines, apr is a truncated gzip.
func observedCensus(t *testing.T) http.Handler {
	t.Helper()
	srv := &censusServer{files: map[string][]byte{}, requests: map[string]int{}, script: map[string]func(int, http.ResponseWriter, *http.Request) bool{}}
	total := 0
	for m := 1; m <= 4; m++ {
		var buf bytes.Buffer
		opts := censusgen.Options{Year: 2017, Month: m, Records: 20_000, Seed: uint64(10 + m)}
		if m == 3 {
			opts.Bad = []censusgen.Bad{{Line: 10, Kind: censusgen.Short}, {Line: 7000, Kind: censusgen.Long}, {Line: 12000, Kind: censusgen.BadPEMLR}}
		}
		_, err := censusgen.GenerateGzip(&buf, opts)
		require.NoError(t, err)
		b := buf.Bytes()
		if m == 4 {
			b = b[:len(b)*2/3]
		}
		srv.files[census.FileName(2017, m)] = b
		total += len(b)
	}
	srv.script[census.FileName(2017, 1)] = func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n == 1 {
			http.Error(w, "try later", http.StatusInternalServerError)
			return true
		}
		return false
	}
	feb := srv.files[census.FileName(2017, 2)]
	srv.script[census.FileName(2017, 2)] = func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n != 1 {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(feb)))
		w.Header().Set("Accept-Ranges", "bytes")
		w.Header().Set("ETag", `"feb17pub.dat.gz"`)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(feb[:len(feb)/2])
		w.(http.Flusher).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return true
	}
	// Two downloads at a time (the reader's default): about 12 s in all.
	perSecond := max(total/2/12, 64<<10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(&throttled{ResponseWriter: w, perSecond: perSecond}, r)
	})
}

// throttled writes at most perSecond bytes a second: a slow network.
type throttled struct {
	http.ResponseWriter
	perSecond int
}

func (w *throttled) Write(b []byte) (int, error) {
	const piece = 16 << 10
	written := 0
	for len(b) > 0 {
		n := min(len(b), piece)
		m, err := w.ResponseWriter.Write(b[:n])
		written += m
		if err != nil {
			return written, err
		}
		b = b[n:]
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		time.Sleep(time.Duration(n) * time.Second / time.Duration(w.perSecond))
	}
	return written, nil
}

func (w *throttled) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *throttled) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

type scrapeTarget struct{ pod, container, addr string }

// promServer is a Prometheus started for one test.
type promServer struct {
	proc   *harness.Proc
	base   string
	client promcheck.Client
}

// startPrometheus runs prometheus scraping targets every second, with the
// labels a kube-prometheus PodMonitor gives a pod (namespace, pod,
// container, a job named namespace/monitor) and the service label a
// ServiceMonitor adds, named like a chart's Service: it takes the place
// of kafka_scale_build_info's own service label, so the dashboards must
// not select on that.
func startPrometheus(t *testing.T, bin, namespace string, targets []scrapeTarget, ruleFile string) *promServer {
	t.Helper()
	dir := t.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	fmt.Fprintf(&cfg, "rule_files:\n  - %q\n", ruleFile)
	fmt.Fprintf(&cfg, "scrape_configs:\n  - job_name: %q\n    static_configs:\n", namespace+"/kafka-scale")
	for _, tg := range targets {
		fmt.Fprintf(&cfg, "      - targets: [%q]\n        labels: {namespace: %q, pod: %q, container: %q, service: %q}\n",
			tg.addr, namespace, tg.pod, tg.container, "kafka-scale-"+tg.container)
	}
	config := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(config, []byte(cfg.String()), 0o600))
	addr := freeAddr(t)
	proc := harness.Start(t, "prometheus", bin, []string{
		"--config.file=" + config,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--log.level=warn",
	})
	s := &promServer{proc: proc, base: "http://" + addr, client: promcheck.Client{URL: "http://" + addr}}
	harness.Eventually(t, time.Minute, func() (bool, string) {
		if proc.Exited() {
			return false, "prometheus exited: " + proc.Log()
		}
		code, _ := harness.GetJSON(context.Background(), s.base+"/-/ready", nil)
		return code == 200, "prometheus not ready"
	})
	return s
}

// instant is the number of series expr has at ts.
func (s *promServer) instant(t *testing.T, expr string, ts time.Time) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := s.client.Query(ctx, expr, ts)
	require.NoError(t, err)
	return n
}

// value is the value of the single series expr has at ts, or "none".
func (s *promServer) value(t *testing.T, expr string, ts time.Time) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := s.client.Value(ctx, expr, ts)
	require.NoError(t, err)
	if v == "" {
		return "none"
	}
	return v
}

func (s *promServer) waitFor(t *testing.T, timeout time.Duration, expr, what string) {
	t.Helper()
	harness.Eventually(t, timeout, func() (bool, string) {
		return s.instant(t, expr, time.Now()) > 0, "prometheus: waiting for " + what + ": " + expr
	})
}

// waitRules returns the rules once each has been evaluated after since.
func (s *promServer) waitRules(t *testing.T, timeout time.Duration, since time.Time) []promcheck.Rule {
	t.Helper()
	var rules []promcheck.Rule
	harness.Eventually(t, timeout, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		groups, err := s.client.Rules(ctx)
		if err != nil {
			return false, err.Error()
		}
		rules = rules[:0]
		for _, g := range groups {
			rules = append(rules, g.Rules...)
		}
		for _, r := range rules {
			if r.LastEvaluation.Before(since) {
				return false, "rule " + r.Name + " not evaluated since the pipeline finished"
			}
		}
		return len(rules) > 0, "no rules loaded"
	})
	return rules
}
