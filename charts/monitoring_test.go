//go:build kube

package charts

// The monitoring test: the umbrella chart's PodMonitors and PrometheusRule as
// a real prometheus-operator acts on them. scripts/prometheus-operator-local.sh
// runs the operator and a Prometheus that selects release=$PROMETHEUS_RELEASE,
// as kube-prometheus-stack's does; make test-monitoring starts it beside the
// cluster and the broker, and sets PROMETHEUS_URL to its pod.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// prometheusAPI is the Prometheus that the operator configured.
type prometheusAPI struct{ base string }

func requirePrometheus(t *testing.T) (prometheusAPI, string) {
	t.Helper()
	base, release := os.Getenv("PROMETHEUS_URL"), os.Getenv("PROMETHEUS_RELEASE")
	if base == "" || release == "" {
		t.Fatal(`PROMETHEUS_URL or PROMETHEUS_RELEASE is not set: run make test-monitoring, or scripts/prometheus-operator-local.sh start and eval "$(scripts/prometheus-operator-local.sh env)"`)
	}
	return prometheusAPI{base: base}, release
}

// get decodes the data of a GET on the API into v.
func (p prometheusAPI) get(t *testing.T, path string, q url.Values, v any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := p.base + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("request %s: %w", u, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("decode %s: %w", u, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("get %s: %s: %s", u, r.Status, r.Error)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		return fmt.Errorf("decode data of %s: %w", u, err)
	}
	return nil
}

type promTarget struct {
	Labels     map[string]string `json:"labels"`
	ScrapePool string            `json:"scrapePool"`
	Health     string            `json:"health"`
	LastError  string            `json:"lastError"`
}

func (p prometheusAPI) targets(t *testing.T) ([]promTarget, error) {
	var d struct {
		ActiveTargets []promTarget `json:"activeTargets"`
	}
	err := p.get(t, "/api/v1/targets", url.Values{"state": {"active"}}, &d)
	return d.ActiveTargets, err
}

type promRuleGroup struct {
	Name  string `json:"name"`
	File  string `json:"file"`
	Rules []struct {
		Name      string `json:"name"`
		Type      string `json:"type"`
		Health    string `json:"health"`
		LastError string `json:"lastError"`
		State     string `json:"state"`
	} `json:"rules"`
}

func (p prometheusAPI) ruleGroups(t *testing.T, ns string) ([]promRuleGroup, error) {
	var d struct {
		Groups []promRuleGroup `json:"groups"`
	}
	if err := p.get(t, "/api/v1/rules", nil, &d); err != nil {
		return nil, err
	}
	// The operator writes each PrometheusRule to a file named for its
	// namespace and name.
	var out []promRuleGroup
	for _, g := range d.Groups {
		if strings.Contains(g.File, ns+"-") {
			out = append(out, g)
		}
	}
	return out, nil
}

func (p prometheusAPI) series(t *testing.T, expr string) (int, error) {
	var d struct {
		Result []json.RawMessage `json:"result"`
	}
	err := p.get(t, "/api/v1/query", url.Values{"query": {expr}}, &d)
	return len(d.Result), err
}

// nsTargets are the targets of ns's pods, by their PodMonitor's scrape pool.
func nsTargets(ts []promTarget, ns string) []promTarget {
	var out []promTarget
	for _, tg := range ts {
		if tg.Labels["namespace"] == ns {
			out = append(out, tg)
		}
	}
	return out
}

// TestMonitoringOperator: prometheus-operator finds the chart's pods
// through its PodMonitors alone and loads its PrometheusRule, and lets both
// go when the release label no longer matches.
func TestMonitoringOperator(t *testing.T) {
	requireCluster(t)
	prom, release := requirePrometheus(t)
	buildDeps(t)
	ns := testNamespace(t)
	installed := false
	t.Cleanup(func() {
		if installed {
			if out, err := runHelm(t, "uninstall", "ks", "-n", ns, "--wait", "--timeout", "3m"); err != nil {
				t.Logf("helm uninstall: %v: %s", err, out)
			}
		}
	})
	tag := imageTag(t)
	// The reader's Job would fetch from the Census Bureau's site, which
	// pods cannot reach: it stays out, as in TestKubeInstallScaleUninstall.
	helm(t, append([]string{"install", "ks", Umbrella, "-n", ns, "--wait", "--timeout", "5m",
		"--set", "global.kafka.bootstrapServers=" + podBroker(t),
		"--set", "global.topics.compute.replicas=1",
		"--set", "global.topics.results.replicas=1",
		"--set", "global.topics.state.replicas=1",
		"--set", "global.monitoring.enabled=true",
		"--set", "global.monitoring.labels.release=" + release,
		"--set", "global.monitoring.interval=5s",
		"--set", "global.monitoring.scrapeTimeout=4s",
		"--set", "reader.enabled=false",
		"--set", "computer.replicaCount=2",
	}, imageValues(t)...)...)
	installed = true
	readyPods(t, ns, "computer", "ghcr.io/kafka-scale/computer:"+tag, 2)
	readyPods(t, ns, "aggregator", "ghcr.io/kafka-scale/aggregator:"+tag, 1)

	// Every pod is an up target, in the scrape pool of its service's PodMonitor.
	want := map[string]int{"computer": 2, "aggregator": 1}
	var ours []promTarget
	eventually(t, 3*time.Minute, "every pod an up target", func() (bool, string) {
		ts, err := prom.targets(t)
		if err != nil {
			return false, err.Error()
		}
		ours = nsTargets(ts, ns)
		up := map[string]int{}
		for _, tg := range ours {
			if tg.Health == "up" {
				for c := range want {
					if strings.Contains(tg.ScrapePool, "podMonitor/"+ns+"/ks-"+c+"/") {
						up[c]++
					}
				}
			}
		}
		return up["computer"] == want["computer"] && up["aggregator"] == want["aggregator"], fmt.Sprintf("up by service %v of %d targets", up, len(ours))
	})
	for _, tg := range ours {
		t.Logf("target %s pod=%s health=%s %s", tg.ScrapePool, tg.Labels["pod"], tg.Health, tg.LastError)
	}

	// The PrometheusRule is loaded, every rule healthy, and the recording
	// rules have series.
	var groups []promRuleGroup
	eventually(t, 3*time.Minute, "the PrometheusRule loaded and its rules healthy with series", func() (bool, string) {
		var err error
		if groups, err = prom.ruleGroups(t, ns); err != nil {
			return false, err.Error()
		}
		if len(groups) == 0 {
			return false, "no rule group of " + ns
		}
		for _, g := range groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return false, fmt.Sprintf("%s/%s: health %q %s", g.Name, r.Name, r.Health, r.LastError)
				}
				if r.Type == "recording" {
					n, err := prom.series(t, fmt.Sprintf(`%s{namespace=%q}`, r.Name, ns))
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
		t.Logf("rule group %s (%s): %s", g.Name, g.File, strings.Join(rs, " "))
	}

	// With another release label the operator selects neither any more.
	helm(t, "upgrade", "ks", Umbrella, "-n", ns, "--reuse-values", "--wait", "--timeout", "5m",
		"--set", "global.monitoring.labels.release="+release+"-not")
	eventually(t, 3*time.Minute, "the targets and rules gone", func() (bool, string) {
		ts, err := prom.targets(t)
		if err != nil {
			return false, err.Error()
		}
		gs, err := prom.ruleGroups(t, ns)
		if err != nil {
			return false, err.Error()
		}
		left := nsTargets(ts, ns)
		pools := slices.Compact(slices.Sorted(func(yield func(string) bool) {
			for _, tg := range left {
				if !yield(tg.ScrapePool) {
					return
				}
			}
		}))
		return len(left) == 0 && len(gs) == 0, fmt.Sprintf("%d targets (%s), %d rule groups", len(left), strings.Join(pools, " "), len(gs))
	})
	t.Logf("release label %s-not: no target and no rule group of %s left", release, ns)
}
