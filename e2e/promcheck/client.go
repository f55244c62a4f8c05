// Package promcheck checks kafka-scale's dashboards and rules against a
// running Prometheus: a client of the parts of its HTTP API the checks read
// (queries, rules, targets, alerts), the queries of the dashboard JSON
// files, and Check, which runs every dashboard query and rule and reports
// those without data. The end-to-end observability test runs it against a
// Prometheus it starts; the charts' monitoring test against the one
// prometheus-operator runs in a pod.
package promcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client is a Prometheus HTTP API at URL (e.g. http://10.244.0.5:9090).
type Client struct {
	URL  string
	HTTP *http.Client // nil: http.DefaultClient
}

// response is the envelope of every answer of the API.
type response struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

// get decodes the data of the API's answer to path into v: a POST of form
// for the query endpoints, a GET for the others (form nil).
func (c Client) get(ctx context.Context, path string, form url.Values, v any) error {
	u := strings.TrimRight(c.URL, "/") + path
	var req *http.Request
	var err error
	if form == nil {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return fmt.Errorf("prometheus %s: %w", u, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("prometheus %s: %w", u, err)
	}
	defer resp.Body.Close()
	var r response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("prometheus %s: %s: decode: %w", u, resp.Status, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("prometheus %s %s: %s: %s: %s", u, form.Get("query"), resp.Status, r.ErrorType, r.Error)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		return fmt.Errorf("prometheus %s: decode data: %w", u, err)
	}
	return nil
}

// Sample is one series of a query's answer: its labels and, for an
// instant query, its value.
type Sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func unix(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }

// Instant is the series of an instant query at at.
func (c Client) Instant(ctx context.Context, expr string, at time.Time) ([]Sample, error) {
	var d struct {
		Result []Sample `json:"result"`
	}
	err := c.get(ctx, "/api/v1/query", url.Values{"query": {expr}, "time": {unix(at)}}, &d)
	return d.Result, err
}

// Query is the number of series an instant query has at at.
func (c Client) Query(ctx context.Context, expr string, at time.Time) (int, error) {
	r, err := c.Instant(ctx, expr, at)
	return len(r), err
}

// Value is the value of the single series of an instant query at at, or
// "" when it has none or several.
func (c Client) Value(ctx context.Context, expr string, at time.Time) (string, error) {
	r, err := c.Instant(ctx, expr, at)
	if err != nil || len(r) != 1 {
		return "", err
	}
	return fmt.Sprint(r[0].Value[1]), nil
}

// QueryRange is the number of series a range query has between start and
// end at step, as a Grafana time series panel asks for them.
func (c Client) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (int, error) {
	var d struct {
		Result []json.RawMessage `json:"result"`
	}
	err := c.get(ctx, "/api/v1/query_range", url.Values{"query": {expr}, "start": {unix(start)}, "end": {unix(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}, &d)
	return len(d.Result), err
}

// Rule is a recording or alerting rule as Prometheus evaluates it.
type Rule struct {
	Name           string    `json:"name"`
	Query          string    `json:"query"`
	Type           string    `json:"type"` // recording or alerting
	Health         string    `json:"health"`
	State          string    `json:"state"` // of an alerting rule: inactive, pending or firing
	LastError      string    `json:"lastError"`
	LastEvaluation time.Time `json:"lastEvaluation"`
}

// RuleGroup is a group of rules and the file it was loaded from.
type RuleGroup struct {
	Name     string  `json:"name"`
	File     string  `json:"file"`
	Interval float64 `json:"interval"` // seconds
	Rules    []Rule  `json:"rules"`
}

// Rules are the rule groups Prometheus has loaded.
func (c Client) Rules(ctx context.Context) ([]RuleGroup, error) {
	var d struct {
		Groups []RuleGroup `json:"groups"`
	}
	err := c.get(ctx, "/api/v1/rules", nil, &d)
	return d.Groups, err
}

// Target is an active scrape target.
type Target struct {
	Labels     map[string]string `json:"labels"`
	ScrapePool string            `json:"scrapePool"`
	ScrapeURL  string            `json:"scrapeUrl"`
	Health     string            `json:"health"` // up, down or unknown
	LastError  string            `json:"lastError"`
	LastScrape time.Time         `json:"lastScrape"`
}

// Targets are the active scrape targets.
func (c Client) Targets(ctx context.Context) ([]Target, error) {
	var d struct {
		ActiveTargets []Target `json:"activeTargets"`
	}
	err := c.get(ctx, "/api/v1/targets?state=active", nil, &d)
	return d.ActiveTargets, err
}

// Alert is a pending or firing alert.
type Alert struct {
	Labels   map[string]string `json:"labels"`
	State    string            `json:"state"`
	ActiveAt time.Time         `json:"activeAt"`
	Value    string            `json:"value"`
}

// Alerts are the pending and firing alerts.
func (c Client) Alerts(ctx context.Context) ([]Alert, error) {
	var d struct {
		Alerts []Alert `json:"alerts"`
	}
	err := c.get(ctx, "/api/v1/alerts", nil, &d)
	return d.Alerts, err
}
