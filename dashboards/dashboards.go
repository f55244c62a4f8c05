// Package dashboards provides kafka-scale's Grafana dashboards, built with
// the Grafana Foundation SDK and committed as JSON beside this file, where
// the chart picks them up. `make dashboards` writes them; a test fails when
// the committed JSON differs from what this package builds.
//
// Every query selects its series by metric name and by the labels a
// kube-prometheus PodMonitor adds (namespace, pod), never by job, so the
// dashboards work whatever the scrape configuration calls the services.
// They are templated on the data source, the namespace and the consumer
// group.
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// File is one dashboard and the name of its JSON file.
type File struct {
	Name      string
	Dashboard *dashboard.DashboardBuilder
}

// All returns every dashboard.
func All() []File {
	return []File{
		{Name: "kafka-scale-overview.json", Dashboard: Overview()},
		{Name: "kafka-scale-services.json", Dashboard: Services()},
	}
}

// Render builds a dashboard and returns its JSON, with panel ids numbered
// in order so that the output is stable.
func Render(b *dashboard.DashboardBuilder) ([]byte, error) {
	d, err := b.Build()
	if err != nil {
		return nil, err
	}
	id := uint32(0)
	next := func() uint32 { id++; return id }
	for _, p := range d.Panels {
		switch {
		case p.RowPanel != nil:
			p.RowPanel.Id = next()
			for i := range p.RowPanel.Panels {
				p.RowPanel.Panels[i].Id = cog.ToPtr(next())
			}
		case p.Panel != nil:
			p.Panel.Id = cog.ToPtr(next())
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // keep PromQL's <, > and & readable
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", *d.Title, err)
	}
	return buf.Bytes(), nil
}

// The data source every panel and variable queries.
var datasource = dashboard.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// sel is a selector of the dashboard's namespace plus matchers.
func sel(matchers ...string) string {
	return "{" + strings.Join(append([]string{`namespace=~"$namespace"`}, matchers...), ", ") + "}"
}

// groupSel also selects the consumer group.
func groupSel(matchers ...string) string {
	return sel(append([]string{`group=~"$group"`}, matchers...)...)
}

// rate is the per-second rate of counter over Grafana's rate interval.
func rate(counter string, matchers ...string) string {
	return "rate(" + counter + sel(matchers...) + "[$__rate_interval])"
}

// aggregate is op(expr), or op by (by) (expr).
func aggregate(op, expr string, by ...string) string {
	if len(by) == 0 {
		return op + "(" + expr + ")"
	}
	return op + " by (" + strings.Join(by, ", ") + ") (" + expr + ")"
}

// sum is sum(expr), or sum by (by) (expr).
func sum(expr string, by ...string) string { return aggregate("sum", expr, by...) }

// each is op of expr by the labels by: a series per combination of their
// values, named by them.
func each(op, expr string, by ...string) query {
	return query{aggregate(op, expr, by...), legend(by...)}
}

// legend names a series by the values of labels: "{{pod}} {{topic}}".
func legend(labels ...string) string {
	var names []string
	for _, l := range labels {
		names = append(names, "{{"+l+"}}")
	}
	return strings.Join(names, " ")
}

// total is a counter's highest value in the dashboard's time range, summed
// over the pods: what pods that run once, such as the readers, counted.
func total(counter string, by ...string) string {
	return sum("max_over_time("+counter+sel()+"[$__range])", by...)
}

// quantile is the phi-quantile of histogram, by the labels by.
func quantile(phi, histogram string, by ...string) string {
	return "histogram_quantile(" + phi + ", " + sum(rate(histogram+"_bucket"), append([]string{"le"}, by...)...) + ")"
}

// orZero is expr, or 0 while the series expr needs have not appeared yet
// but the metric like does: a counter of events (aborts, failed sources)
// has no series until the first event, and a panel should then show 0,
// not "No data" -- while a misspelt metric still shows nothing.
func orZero(expr, like string) string {
	return "(" + expr + " or " + like + " * 0)"
}

// quantiles are histogram_quantile queries of histogram at p50, p90, p99.
func quantiles(histogram string, by ...string) []query {
	var qs []query
	for _, q := range []struct{ phi, name string }{{"0.5", "p50"}, {"0.9", "p90"}, {"0.99", "p99"}} {
		qs = append(qs, query{quantile(q.phi, histogram, by...), strings.TrimSpace(legend(by...) + " " + q.name)})
	}
	return qs
}

type query struct{ expr, legend string }

func targets(qs []query, instant bool) []cog.Builder[variants.Dataquery] {
	var out []cog.Builder[variants.Dataquery]
	for i, q := range qs {
		b := prometheus.NewDataqueryBuilder().Expr(q.expr).RefId(string(rune('A' + i))).Datasource(datasource)
		if q.legend != "" {
			b.LegendFormat(q.legend)
		}
		if instant {
			b.Instant()
		} else {
			b.Range()
		}
		out = append(out, b)
	}
	return out
}

// graph is a time series panel of qs, in unit, w grid units wide.
func graph(title, unit, description string, w uint32, qs ...query) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).Description(description).Unit(unit).Min(0).
		Datasource(datasource).Targets(targets(qs, false)).
		Span(w).Height(8).
		FillOpacity(10).ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeTable).Placement(common.LegendPlacementBottom).
			ShowLegend(true).Calcs([]string{"mean", "max", "lastNotNull"})).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
}

// single is a stat panel of the latest value of qs.
func single(title, unit, description string, w uint32, qs ...query) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).Description(description).Unit(unit).
		Datasource(datasource).Targets(targets(qs, true)).
		Span(w).Height(4).
		GraphMode(common.BigValueGraphModeNone).Orientation(common.VizOrientationAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
}

// gauges is a bar gauge per series of qs, from 0 to max.
func gauges(title, unit, description string, w uint32, max float64, qs ...query) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().
		Title(title).Description(description).Unit(unit).Min(0).Max(max).
		Datasource(datasource).Targets(targets(qs, true)).
		Span(w).Height(8).
		Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeBasic).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
}

func row(title string) *dashboard.RowBuilder { return dashboard.NewRowBuilder(title) }

// base is a dashboard with the variables every kafka-scale dashboard has.
func base(uid, title, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"kafka-scale"}).
		Editable().
		Refresh("30s").
		Time("now-1h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("kafka-scale").
			Type(dashboard.DashboardLinkTypeDashboards).Tags([]string{"kafka-scale"}).
			AsDropdown(true).IncludeVars(true).KeepTime(true)).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").Type("prometheus")).
		WithVariable(dashboard.NewQueryVariableBuilder("namespace").
			Label("Namespace").Datasource(datasource).
			Query(dashboard.StringOrMap{String: cog.ToPtr("label_values(kafka_scale_build_info, namespace)")}).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc)).
		WithVariable(dashboard.NewQueryVariableBuilder("group").
			Label("Consumer group").Datasource(datasource).
			Description("Consumer group of the computers: the group label of kafka_scale_consumer_lag_records.").
			Query(dashboard.StringOrMap{String: cog.ToPtr(`label_values(kafka_scale_consumer_lag_records{namespace=~"$namespace"}, group)`)}).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc).
			IncludeAll(true).AllValue(".+"))
}
