package promcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Dashboard is the queries of one dashboard JSON file, by panel.
type Dashboard struct {
	Name   string // the file's name without .json
	Panels []Panel
}

// Panel is a panel's title and queries.
type Panel struct {
	Title   string
	Targets []Query
}

// Query is one query of a panel.
type Query struct {
	Expr, RefID, Legend string
	Instant             bool
}

// Dashboards reads every panel query of the dashboard JSON files in dir, a
// collapsed row's panels too.
func Dashboards(dir string) ([]Dashboard, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("dashboards in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no dashboards (*.json) in %s", dir)
	}
	type jsonPanel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr         string `json:"expr"`
			RefID        string `json:"refId"`
			LegendFormat string `json:"legendFormat"`
			Instant      bool   `json:"instant"`
		} `json:"targets"`
		Panels []jsonPanel `json:"panels"`
	}
	var out []Dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("dashboard: %w", err)
		}
		var d struct {
			Panels []jsonPanel `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", f, err)
		}
		dq := Dashboard{Name: strings.TrimSuffix(filepath.Base(f), ".json")}
		var add func(p jsonPanel)
		add = func(p jsonPanel) {
			pq := Panel{Title: p.Title}
			for _, tg := range p.Targets {
				pq.Targets = append(pq.Targets, Query{Expr: tg.Expr, RefID: tg.RefID, Legend: tg.LegendFormat, Instant: tg.Instant})
			}
			if len(pq.Targets) > 0 {
				dq.Panels = append(dq.Panels, pq)
			}
			for _, child := range p.Panels {
				add(child)
			}
		}
		for _, p := range d.Panels {
			add(p)
		}
		out = append(out, dq)
	}
	return out, nil
}

var metricName = regexp.MustCompile(`\bkafka_scale[a-z0-9_:]*`)

// MetricNames are the kafka-scale metrics (and recording rules) expr reads,
// sorted, each once.
func MetricNames(expr string) []string {
	names := metricName.FindAllString(expr, -1)
	slices.Sort(names)
	return slices.Compact(names)
}

// Check is a check of dashboards and rules against a Prometheus that has
// scraped one namespace's pods between Start and End.
type Check struct {
	Client     Client
	Namespace  string // $namespace
	Group      string // $group, the computers' consumer group
	Start, End time.Time
	// Step is a range query's step and $__interval; RateInterval is
	// $__rate_interval, which Grafana makes at least four scrape intervals.
	Step, RateInterval time.Duration
	// KnownGaps are metrics that the run cannot be expected to show, and
	// why: a query whose only absent metrics are here is reported in the
	// table, not in Empty.
	KnownGaps map[string]string
}

// Report is what a check found.
type Report struct {
	table strings.Builder
	// Empty are the dashboard queries without series, each
	// "dashboard / panel / refId: expr".
	Empty []string
	// Unhealthy are the rules that are not healthy or read a metric
	// without series.
	Unhealthy []string
	// Missing are the metrics without series in the run that a query or
	// a rule reads, sorted.
	Missing []string
}

// Table is the series of every dashboard query and rule, a line each.
func (r *Report) Table() string { return r.table.String() }

// Run runs every query of dashboards (range queries over the run, instant
// ones at its end) and every rule of rules at the run's end.
func (c Check) Run(ctx context.Context, dashboards []Dashboard, rules []Rule) (*Report, error) {
	window := strconv.Itoa(int(c.End.Sub(c.Start).Seconds())+1) + "s"
	vars := strings.NewReplacer(
		"$namespace", c.Namespace,
		"$group", c.Group,
		"$__rate_interval", c.RateInterval.String(),
		"$__interval", c.Step.String(),
		"$__range", window,
	)
	// inRun is the series metric m has in the namespace during the run,
	// asked once per metric; one without any is missing.
	inRun := map[string]int{}
	series := func(m string) (int, error) {
		if n, ok := inRun[m]; ok {
			return n, nil
		}
		n, err := c.Client.Query(ctx, fmt.Sprintf(`last_over_time({__name__=%q, namespace=%q}[%s])`, m, c.Namespace, window), c.End)
		if err != nil {
			return 0, err
		}
		inRun[m] = n
		return n, nil
	}
	// absent are the metrics expr reads that have no series in the
	// namespace during the run.
	absent := func(expr string) ([]string, error) {
		var out []string
		for _, m := range MetricNames(expr) {
			n, err := series(m)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				out = append(out, m)
			}
		}
		return out, nil
	}
	known := func(ms []string) bool {
		for _, m := range ms {
			if _, ok := c.KnownGaps[m]; !ok {
				return false
			}
		}
		return len(ms) > 0
	}

	r := &Report{}
	tw := tabwriter.NewWriter(&r.table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DASHBOARD\tPANEL\tQUERY\tSERIES")
	for _, d := range dashboards {
		for _, p := range d.Panels {
			for _, q := range p.Targets {
				expr := vars.Replace(q.Expr)
				var n int
				var err error
				if q.Instant {
					n, err = c.Client.Query(ctx, expr, c.End)
				} else {
					n, err = c.Client.QueryRange(ctx, expr, c.Start, c.End, c.Step)
				}
				if err != nil {
					return nil, fmt.Errorf("dashboard %s, panel %q, query %s: %w", d.Name, p.Title, q.RefID, err)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s (%s)\t%d\n", d.Name, p.Title, q.RefID, q.Legend, n)
				if n > 0 {
					continue
				}
				ms, err := absent(q.Expr)
				if err != nil {
					return nil, err
				}
				if !known(ms) {
					r.Empty = append(r.Empty, fmt.Sprintf("%s / %s / %s: %s", d.Name, p.Title, q.RefID, expr))
				}
			}
		}
	}
	fmt.Fprintln(tw, "\nRULE\tHEALTH\tSTATE\tSERIES\tINPUTS (series in the run)")
	for _, rule := range rules {
		n, err := c.Client.Query(ctx, rule.Query, c.End)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", rule.Name, err)
		}
		var inputs []string
		for _, m := range MetricNames(rule.Query) {
			in, err := series(m)
			if err != nil {
				return nil, fmt.Errorf("rule %s: %w", rule.Name, err)
			}
			inputs = append(inputs, fmt.Sprintf("%s=%d", m, in))
			if in == 0 {
				if _, ok := c.KnownGaps[m]; !ok {
					r.Unhealthy = append(r.Unhealthy, fmt.Sprintf("%s reads %s, which has no series", rule.Name, m))
				}
			}
		}
		state := rule.State
		if rule.Type == "alerting" {
			fired, err := c.Client.Query(ctx, fmt.Sprintf(`max_over_time(ALERTS{alertname=%q, alertstate="firing", namespace=%q}[%s])`, rule.Name, c.Namespace, window), c.End)
			if err != nil {
				return nil, fmt.Errorf("rule %s: %w", rule.Name, err)
			}
			if fired > 0 {
				state += ", fired during the run"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", rule.Name, rule.Health, state, n, strings.Join(inputs, " "))
		if rule.Health != "ok" {
			r.Unhealthy = append(r.Unhealthy, fmt.Sprintf("%s: health %s: %s", rule.Name, rule.Health, rule.LastError))
		}
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	for m, n := range inRun {
		if n == 0 {
			r.Missing = append(r.Missing, m)
		}
	}
	slices.Sort(r.Missing)
	return r, nil
}
