//go:build kube

package charts

// The monitoring test: the umbrella chart's PodMonitors, PrometheusRule and
// dashboards as a real prometheus-operator and the Prometheus it runs act on
// them. scripts/prometheus-operator-local.sh runs the operator and a
// Prometheus that selects release=$PROMETHEUS_RELEASE, as
// kube-prometheus-stack's does; make test-monitoring starts it beside the
// cluster and the broker, and sets PROMETHEUS_URL to its pod.

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/e2e/promcheck"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
)

// requirePrometheus is the Prometheus that the operator configured, and the
// release label its selectors match.
func requirePrometheus(t *testing.T) (promcheck.Client, string) {
	t.Helper()
	base, release := os.Getenv("PROMETHEUS_URL"), os.Getenv("PROMETHEUS_RELEASE")
	if base == "" || release == "" {
		t.Fatal(`PROMETHEUS_URL or PROMETHEUS_RELEASE is not set: run make test-monitoring, or scripts/prometheus-operator-local.sh start and eval "$(scripts/prometheus-operator-local.sh env)"`)
	}
	return promcheck.Client{URL: base}, release
}

func promCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// nsTargets are the active targets of ns's pods.
func nsTargets(ts []promcheck.Target, ns string) []promcheck.Target {
	var out []promcheck.Target
	for _, tg := range ts {
		if tg.Labels["namespace"] == ns {
			out = append(out, tg)
		}
	}
	return out
}

// nsRuleGroups are the rule groups of ns's PrometheusRules: the operator
// writes each to a file named for its namespace and name.
func nsRuleGroups(gs []promcheck.RuleGroup, ns string) []promcheck.RuleGroup {
	var out []promcheck.RuleGroup
	for _, g := range gs {
		if strings.Contains(filepath.Base(g.File), ns+"-") {
			out = append(out, g)
		}
	}
	return out
}

// alertState is alertname's state for ns: firing, pending, or "" when
// Prometheus lists no such alert.
func alertState(prom promcheck.Client, alertname, ns string) (promcheck.Alert, error) {
	ctx, cancel := promCtx()
	defer cancel()
	as, err := prom.Alerts(ctx)
	if err != nil {
		return promcheck.Alert{}, err
	}
	for _, a := range as {
		if a.Labels["alertname"] == alertname && a.Labels["namespace"] == ns {
			return a, nil
		}
	}
	return promcheck.Alert{}, nil
}

// TestMonitoringOperator: with monitoring on, prometheus-operator finds
// every service's pods through the chart's PodMonitors alone, loads its
// PrometheusRule (healthy rules, recording rules with series), the
// dashboards' queries have data, KafkaScaleReaderFailing fires for a file
// that is no census file and resolves when the reader has gone; and with
// another release label the operator lets the PodMonitors and the rule go.
func TestMonitoringOperator(t *testing.T) {
	requireCluster(t)
	prom, release := requirePrometheus(t)
	buildDeps(t)
	const year, records = 2024, 20000
	site := newCensusSite(t)
	ns := testNamespace(t)
	group := "monitoring-" + strings.TrimPrefix(ns, "kafka-scale-test-")
	installed := uninstallAtCleanup(t, ns)
	tag := imageTag(t)

	// Months 1 and 2 held half-way, so that the reader's pod runs while the
	// checks look at it, month 1 refused once (a download retried) and
	// month 2 with bad lines (records rejected), as the dashboards' panels
	// of them need; month 3 is a page that is no census file.
	good := site.addLoadWith(t, year, []int{1, 2}, records, true, func(o *censusgen.Options) {
		if o.Month == 2 {
			o.Bad = []censusgen.Bad{{Line: 10, Kind: censusgen.Short}, {Line: 7000, Kind: censusgen.Long}}
		}
	})
	site.mu.Lock()
	site.files[fmt.Sprintf("/%d/basic/%s", year, census.FileName(year, 1))].fail.Store(1)
	site.files[fmt.Sprintf("/%d/basic/%s", year, census.FileName(year, 3))] = &censusFile{body: []byte("<html>The site is down for maintenance.</html>")}
	site.mu.Unlock()

	start := time.Now()
	helm(t, append([]string{"install", "ks", Umbrella, "-n", ns, "--wait", "--timeout", "5m",
		"--set", "global.kafka.bootstrapServers=" + podBroker(t),
		"--set", "global.topics.compute.name=" + group + "-compute",
		"--set", "global.topics.results.name=" + group + "-results",
		"--set", "global.topics.compute.replicas=1",
		"--set", "global.topics.results.replicas=1",
		"--set", "global.topics.state.replicas=1",
		"--set", "global.monitoring.enabled=true",
		"--set", "global.monitoring.labels.release=" + release,
		"--set", "global.monitoring.interval=5s",
		"--set", "global.monitoring.scrapeTimeout=4s",
		"--set", "computer.group=" + group,
		"--set", "computer.replicaCount=2",
		"--set-string", fmt.Sprintf("reader.years=%d,reader.months=1\\,2\\,3", year),
		"--set", "reader.censusBaseUrl=" + site.URL,
		"--set", "reader.parallel=3",
		"--set", "reader.download.attempts=3",
		// Two scrapes of the reader's final counts (sources by result).
		"--set", "reader.exitDelay=12s",
		"--set", "reader.job.backoffLimit=0",
	}, imageValues(t)...)...)
	*installed = true
	readyPods(t, ns, "computer", "ghcr.io/kafka-scale/computer:"+tag, 2)
	readyPods(t, ns, "aggregator", "ghcr.io/kafka-scale/aggregator:"+tag, 1)
	api := serviceAddr(t, ns)

	// 1. Every pod is an up target, in the scrape pool of its service's
	// PodMonitor: the reader's too, while it holds the first two months.
	want := map[string]int{"computer": 2, "aggregator": 1, "reader": 1}
	var ours []promcheck.Target
	eventually(t, 3*time.Minute, "every pod an up target", func() (bool, string) {
		ctx, cancel := promCtx()
		defer cancel()
		ts, err := prom.Targets(ctx)
		if err != nil {
			return false, err.Error()
		}
		ours = nsTargets(ts, ns)
		up := map[string]int{}
		for _, tg := range ours {
			for c := range want {
				if tg.Health == "up" && strings.HasPrefix(tg.ScrapePool, "podMonitor/"+ns+"/ks-"+c+"/") {
					up[c]++
				}
			}
		}
		return maps.Equal(up, want), fmt.Sprintf("up by service %v of %d targets", up, len(ours))
	})
	for _, tg := range ours {
		t.Logf("target %s %s pod=%s container=%s health=%s %s", tg.ScrapePool, tg.ScrapeURL, tg.Labels["pod"], tg.Labels["container"], tg.Health, tg.LastError)
	}

	// 2. The page that is no census file: KafkaScaleReaderFailing fires (it
	// has no `for`) while the reader's pod runs.
	var firing promcheck.Alert
	eventually(t, 2*time.Minute, "KafkaScaleReaderFailing firing", func() (bool, string) {
		a, err := alertState(prom, "KafkaScaleReaderFailing", ns)
		if err != nil {
			return false, err.Error()
		}
		firing = a
		return a.State == "firing", fmt.Sprintf("state %q", a.State)
	})
	firedSeen := time.Now()
	t.Logf("alert KafkaScaleReaderFailing %s: active at %s (%v after the install began), seen firing at %s; labels %v",
		firing.State, firing.ActiveAt.UTC().Format(time.RFC3339), firing.ActiveAt.Sub(start).Round(time.Second),
		firedSeen.UTC().Format(time.RFC3339), firing.Labels)

	// 3. The reader finishes the good months and exits (failed: one source
	// was bad, and backoffLimit 0 retries nothing); the operator's scrape
	// configuration drops finished pods, the reader's series go stale and
	// the alert resolves.
	good.release()
	eventually(t, 3*time.Minute, "the reader's Job Failed", func() (bool, string) {
		out, err := kubectl(t, "", "get", "jobs", "-n", ns, "-l", "app.kubernetes.io/instance=ks",
			"-o", `jsonpath={range .items[*]}{.metadata.name} failed={.status.failed} succeeded={.status.succeeded}{"\n"}{end}`)
		return err == nil && strings.Contains(out, "failed=1"), out
	})
	eventually(t, 3*time.Minute, "KafkaScaleReaderFailing resolved", func() (bool, string) {
		a, err := alertState(prom, "KafkaScaleReaderFailing", ns)
		if err != nil {
			return false, err.Error()
		}
		return a.State == "", fmt.Sprintf("state %q", a.State)
	})
	resolved := time.Now()
	t.Logf("alert KafkaScaleReaderFailing resolved: seen at %s, %v after it was seen firing",
		resolved.UTC().Format(time.RFC3339), resolved.Sub(firedSeen).Round(time.Second))

	// The good months are counted exactly, the bad one not at all.
	waitCounted(t, api, year, good.months, good.want)
	counted := time.Now() // after the last of waitCounted's requests to the API

	// 4. The PrometheusRule is loaded, every rule healthy, and the
	// recording rules have series of this release's pods.
	var groups []promcheck.RuleGroup
	eventually(t, 3*time.Minute, "the PrometheusRule loaded and its rules healthy with series", func() (bool, string) {
		ctx, cancel := promCtx()
		defer cancel()
		gs, err := prom.Rules(ctx)
		if err != nil {
			return false, err.Error()
		}
		if groups = nsRuleGroups(gs, ns); len(groups) == 0 {
			return false, "no rule group of " + ns
		}
		for _, g := range groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return false, fmt.Sprintf("%s/%s: health %q %s", g.Name, r.Name, r.Health, r.LastError)
				}
				if r.Type == "recording" {
					n, err := prom.Query(ctx, fmt.Sprintf(`%s{namespace=%q}`, r.Name, ns), time.Now())
					if err != nil || n == 0 {
						return false, fmt.Sprintf("recording rule %s: %d series (%v)", r.Name, n, err)
					}
				}
			}
		}
		return true, ""
	})
	for _, g := range groups {
		var rs []string
		for _, r := range g.Rules {
			rs = append(rs, fmt.Sprintf("%s(%s,%s)", r.Name, r.Type, r.Health))
		}
		t.Logf("rule group %s (%s, evaluated every %gs): %s", g.Name, filepath.Base(g.File), g.Interval, strings.Join(rs, " "))
	}

	// 5. Every query of the dashboards the chart ships returns data over
	// the run: the check of the end-to-end observability test, against this
	// Prometheus.
	// Three scrapes of every pod after the API's requests, so that a range
	// query's steps (5 s apart) have one whose rate has two samples.
	eventually(t, time.Minute, "three scrapes of the computers and the aggregator after the load", func() (bool, string) {
		ctx, cancel := promCtx()
		defer cancel()
		expr := fmt.Sprintf(`min(timestamp(up{namespace=%q, container!="reader"})) > %d`, ns, counted.Unix()+11)
		n, err := prom.Query(ctx, expr, time.Now())
		return err == nil && n == 1, fmt.Sprintf("%s: %d series (%v)", expr, n, err)
	})
	end := time.Now()
	dashboards, err := promcheck.Dashboards(filepath.Join(chartsDir(t), Umbrella, "files", "dashboards"))
	require.NoError(t, err)
	var rules []promcheck.Rule
	for _, g := range groups {
		rules = append(rules, g.Rules...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// $__rate_interval as Grafana makes it for a 5 s scrape interval: four
	// of them.
	check := promcheck.Check{Client: prom, Namespace: ns, Group: group, Start: start, End: end,
		Step: 5 * time.Second, RateInterval: 20 * time.Second}
	report, err := check.Run(ctx, dashboards, rules)
	require.NoError(t, err)
	t.Logf("series per dashboard query and rule over the %v run:\n%s", end.Sub(start).Round(time.Second), report.Table())
	require.Empty(t, report.Empty, "dashboard queries without data")
	require.Empty(t, report.Unhealthy, "rules")

	// 6. With another release label the operator selects neither any more.
	helm(t, "upgrade", "ks", Umbrella, "-n", ns, "--reuse-values", "--wait", "--timeout", "5m",
		"--set", "global.monitoring.labels.release="+release+"-not")
	eventually(t, 3*time.Minute, "the targets and rules gone", func() (bool, string) {
		ctx, cancel := promCtx()
		defer cancel()
		ts, err := prom.Targets(ctx)
		if err != nil {
			return false, err.Error()
		}
		gs, err := prom.Rules(ctx)
		if err != nil {
			return false, err.Error()
		}
		left := nsTargets(ts, ns)
		var pools []string
		for _, tg := range left {
			pools = append(pools, tg.ScrapePool)
		}
		pools = slices.Compact(slices.Sorted(slices.Values(pools)))
		groups := nsRuleGroups(gs, ns)
		return len(left) == 0 && len(groups) == 0, fmt.Sprintf("%d targets (%s), %d rule groups", len(left), strings.Join(pools, " "), len(groups))
	})
	t.Logf("release label %s-not: no target and no rule group of %s left", release, ns)
}
