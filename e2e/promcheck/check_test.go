package promcheck

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`sum(rate(kafka_scale_computer_records_total{namespace="$namespace"}[$__rate_interval]))`, []string{"kafka_scale_computer_records_total"}},
		{`kafka_scale:consumer_lag_seconds:max > 300 and on (pod) kafka_scale_ready == 0 or kafka_scale_ready`,
			[]string{"kafka_scale:consumer_lag_seconds:max", "kafka_scale_ready"}},
		{`up{job="x"}`, nil},
	} {
		require.Equal(t, tc.want, MetricNames(tc.expr), tc.expr)
	}
}

// TestDashboards: every dashboard the repository ships has panels, each
// with at least one query, collapsed rows' panels included.
func TestDashboards(t *testing.T) {
	ds, err := Dashboards(filepath.Join("..", "..", "dashboards"))
	require.NoError(t, err)
	require.Len(t, ds, 2)
	for _, d := range ds {
		require.NotEmpty(t, d.Panels, d.Name)
		for _, p := range d.Panels {
			require.NotEmpty(t, p.Targets, "%s / %s", d.Name, p.Title)
			for _, q := range p.Targets {
				require.NotEmpty(t, q.Expr, "%s / %s / %s", d.Name, p.Title, q.RefID)
			}
		}
	}

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "row.json"), []byte(`{"panels": [
		{"title": "a row", "type": "row", "panels": [{"title": "inside", "targets": [{"expr": "kafka_scale_ready", "refId": "A", "instant": true}]}]},
		{"title": "text"}]}`), 0o600))
	ds, err = Dashboards(dir)
	require.NoError(t, err)
	require.Equal(t, []Dashboard{{Name: "row", Panels: []Panel{{Title: "inside", Targets: []Query{{Expr: "kafka_scale_ready", RefID: "A", Instant: true}}}}}}, ds)

	_, err = Dashboards(t.TempDir())
	require.ErrorContains(t, err, "no dashboards")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"panels": [`), 0o600))
	_, err = Dashboards(dir)
	require.ErrorContains(t, err, "broken.json")
}

// fakeProm answers the queries of series with one series, and every other
// with none; /api/v1/rules, /targets and /alerts with canned data.
func fakeProm(t *testing.T, series map[string]bool, queries *[]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/query", "/api/v1/query_range":
			require.NoError(t, r.ParseForm())
			q := r.PostForm.Get("query")
			*queries = append(*queries, q)
			if q == "bad(" {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error"}`)
				return
			}
			result := `[]`
			for s := range series {
				if strings.Contains(q, s) {
					result = `[{"metric":{"namespace":"ns"},"value":[1,"42"]}]`
				}
			}
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":%s}}`, result)
		case "/api/v1/rules":
			fmt.Fprint(w, `{"status":"success","data":{"groups":[{"name":"g","file":"/etc/prometheus/rules/ns-ks.yaml","interval":5,"rules":[
				{"name":"r:sum","query":"sum(kafka_scale_a)","type":"recording","health":"ok"}]}]}}`)
		case "/api/v1/targets":
			require.Equal(t, "active", r.URL.Query().Get("state"))
			fmt.Fprint(w, `{"status":"success","data":{"activeTargets":[{"labels":{"namespace":"ns","pod":"p"},"scrapePool":"podMonitor/ns/ks-computer/0","scrapeUrl":"http://10.0.0.1:9090/metrics","health":"up","lastError":""}]}}`)
		case "/api/v1/alerts":
			fmt.Fprint(w, `{"status":"success","data":{"alerts":[{"labels":{"alertname":"A","namespace":"ns"},"state":"firing","activeAt":"2026-01-02T03:04:05Z","value":"1e+00"}]}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestClient(t *testing.T) {
	var queries []string
	srv := fakeProm(t, map[string]bool{"kafka_scale_a": true}, &queries)
	c := Client{URL: srv.URL}
	ctx := context.Background()

	v, err := c.Value(ctx, "kafka_scale_a", time.Now())
	require.NoError(t, err)
	require.Equal(t, "42", v)
	v, err = c.Value(ctx, "kafka_scale_b", time.Now())
	require.NoError(t, err)
	require.Empty(t, v)
	_, err = c.Query(ctx, "bad(", time.Now())
	require.ErrorContains(t, err, "bad_data: parse error")
	require.ErrorContains(t, err, "bad(", "the error names the query")

	gs, err := c.Rules(ctx)
	require.NoError(t, err)
	require.Equal(t, "r:sum", gs[0].Rules[0].Name)
	require.Equal(t, 5.0, gs[0].Interval)
	ts, err := c.Targets(ctx)
	require.NoError(t, err)
	require.Equal(t, "up", ts[0].Health)
	require.Equal(t, "p", ts[0].Labels["pod"])
	as, err := c.Alerts(ctx)
	require.NoError(t, err)
	require.Equal(t, "firing", as[0].State)
	require.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), as[0].ActiveAt)

	_, err = Client{URL: "http://127.0.0.1:1"}.Rules(ctx)
	require.ErrorContains(t, err, "127.0.0.1:1/api/v1/rules")
}

func TestCheck(t *testing.T) {
	dashboards := []Dashboard{{Name: "d", Panels: []Panel{
		{Title: "has data", Targets: []Query{{Expr: `rate(kafka_scale_a{namespace="$namespace"}[$__rate_interval])`, RefID: "A"}}},
		{Title: "empty", Targets: []Query{{Expr: `kafka_scale_b{group="$group"}`, RefID: "B", Instant: true}}},
		{Title: "known gap", Targets: []Query{{Expr: `kafka_scale_gap`, RefID: "C"}}},
	}}}
	rules := []Rule{
		{Name: "ok", Query: "kafka_scale_a > 0", Type: "alerting", Health: "ok", State: "inactive"},
		{Name: "reads b", Query: "sum(kafka_scale_b)", Type: "recording", Health: "ok"},
		{Name: "broken", Query: "kafka_scale_a", Type: "recording", Health: "err", LastError: "many-to-many"},
	}
	for _, tc := range []struct {
		name          string
		series        map[string]bool
		wantEmpty     []string
		wantUnhealthy []string
		wantMissing   []string
	}{
		{
			name:          "b and the gap without series",
			series:        map[string]bool{"kafka_scale_a": true},
			wantEmpty:     []string{`d / empty / B: kafka_scale_b{group="computer"}`},
			wantUnhealthy: []string{"reads b reads kafka_scale_b, which has no series", "broken: health err: many-to-many"},
			wantMissing:   []string{"kafka_scale_b", "kafka_scale_gap"},
		},
		{
			name:          "every series",
			series:        map[string]bool{"kafka_scale_a": true, "kafka_scale_b": true, "kafka_scale_gap": true},
			wantUnhealthy: []string{"broken: health err: many-to-many"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var queries []string
			srv := fakeProm(t, tc.series, &queries)
			end := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
			c := Check{Client: Client{URL: srv.URL}, Namespace: "ns", Group: "computer", Start: end.Add(-time.Minute), End: end,
				Step: time.Second, RateInterval: 20 * time.Second, KnownGaps: map[string]string{"kafka_scale_gap": "not in this run"}}
			r, err := c.Run(context.Background(), dashboards, rules)
			require.NoError(t, err)
			require.Equal(t, tc.wantEmpty, r.Empty)
			require.Equal(t, tc.wantUnhealthy, r.Unhealthy)
			require.Equal(t, tc.wantMissing, r.Missing)
			require.Contains(t, queries, `rate(kafka_scale_a{namespace="ns"}[20s])`, "the variables replaced")
			require.Regexp(t, `(?m)^d\s+has data\s+A \(\)\s+1$`, r.Table())
		})
	}

	var queries []string
	srv := fakeProm(t, nil, &queries)
	_, err := Check{Client: Client{URL: srv.URL}}.Run(context.Background(), []Dashboard{{Name: "d", Panels: []Panel{{Title: "p", Targets: []Query{{Expr: "bad(", RefID: "Z", Instant: true}}}}}}, nil)
	require.ErrorContains(t, err, `dashboard d, panel "p", query Z`)
}
