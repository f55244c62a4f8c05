package charts

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// What Grafana of a default kube-prometheus-stack install expects of a
// dashboard ConfigMap, as read in prometheus-community/helm-charts
// (charts/kube-prometheus-stack), the grafana chart it depends on
// (grafana-community/helm-charts, charts/grafana) and kiwigrid/k8s-sidecar.
const (
	// kube-prometheus-stack values.yaml, grafana.sidecar.dashboards.label
	// and .labelValue: the sidecar (env LABEL, LABEL_VALUE) collects
	// ConfigMaps labelled grafana_dashboard: "1".
	sidecarLabel, sidecarLabelValue = "grafana_dashboard", "1"
	// k8s-sidecar README, FOLDER_ANNOTATION: the annotation that moves a
	// ConfigMap's files into a subdirectory, when the grafana chart's
	// sidecar.dashboards.folderAnnotation (default null, not set by
	// kube-prometheus-stack) names no other. It becomes a Grafana folder
	// only with sidecar.dashboards.provider.foldersFromFilesStructure
	// (default false).
	sidecarFolderAnnotation = "k8s-sidecar-target-directory"
	// kube-prometheus-stack values.yaml, grafana.sidecar.datasources.name
	// and .uid, provisioned by templates/grafana/configmaps-datasources.yaml
	// as the default (isDefaultDatasource: true) data source of type
	// prometheus.
	stackDatasourceName, stackDatasourceUID = "Prometheus", "prometheus"
	// Grafana refuses a dashboard uid longer than 40 characters.
	maxUIDLen = 40
	// The API server refuses a ConfigMap whose data exceeds 1 MiB.
	maxConfigMapData = 1 << 20
)

// datasourceRefs are the references that reach the stack's Prometheus: the
// dashboard's data source variable, or the stack's data source itself.
var datasourceRefs = map[string]bool{
	"${datasource}": true, "$datasource": true,
	stackDatasourceUID: true, stackDatasourceName: true,
}

// sidecarProblems lists how the dashboard ConfigMaps fall short of what the
// sidecar and Grafana need: the label, data keys holding dashboard JSON,
// uids unique and short enough, queries on the stack's Prometheus.
func sidecarProblems(cms []Object) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	uids := map[string]string{}
	for _, cm := range cms {
		name := cm.Name()
		if got, ok := get(cm, "metadata", "labels", sidecarLabel).(string); !ok || got != sidecarLabelValue {
			add("%s: label %s is %v, the sidecar reads %q", name, sidecarLabel, get(cm, "metadata", "labels", sidecarLabel), sidecarLabelValue)
		}
		data, _ := get(cm, "data").(map[string]any)
		if len(data) == 0 {
			add("%s: no data", name)
		}
		size := 0
		for key, v := range data {
			where := name + "/" + key
			text, _ := v.(string)
			size += len(key) + len(text)
			if !strings.HasSuffix(key, ".json") {
				add("%s: Grafana's file provider reads *.json only", where)
			}
			var d map[string]any
			if err := json.Unmarshal([]byte(text), &d); err != nil {
				add("%s: not JSON: %v", where, err)
				continue
			}
			for _, field := range []string{"title", "uid", "panels", "schemaVersion"} {
				if d[field] == nil {
					add("%s: no %s", where, field)
				}
			}
			uid, _ := d["uid"].(string)
			if len(uid) > maxUIDLen {
				add("%s: uid %q longer than %d characters", where, uid, maxUIDLen)
			}
			if other, dup := uids[uid]; dup && uid != "" {
				add("%s: uid %q also in %s", where, uid, other)
			}
			uids[uid] = where
			problems = append(problems, datasourceProblems(where, d)...)
		}
		if size > maxConfigMapData {
			add("%s: %d bytes of data, over the API server's %d", name, size, maxConfigMapData)
		}
	}
	sort.Strings(problems)
	return problems
}

// datasourceProblems checks the dashboard's data source variable and every
// data source reference of its variables, panels (rows' too) and targets.
func datasourceProblems(where string, d map[string]any) []string {
	var problems []string
	check := func(what string, ref any) {
		if ref == nil {
			return // Grafana then uses the panel's or the default data source
		}
		var s string
		switch r := ref.(type) {
		case string: // a name, as older dashboards have it
			s = r
		case map[string]any:
			s, _ = r["uid"].(string)
		}
		if !datasourceRefs[s] {
			problems = append(problems, fmt.Sprintf("%s: %s queries data source %v, neither the variable nor the stack's %s/%s", where, what, ref, stackDatasourceName, stackDatasourceUID))
		}
	}
	hasVar := false
	vars, _ := get(d, "templating", "list").([]any)
	for _, v := range vars {
		name, _ := get(v, "name").(string)
		if get(v, "type") == "datasource" && name == "datasource" && get(v, "query") == "prometheus" {
			hasVar = true
		}
		check("variable "+name, get(v, "datasource"))
	}
	if !hasVar {
		problems = append(problems, where+`: no variable "datasource" of type datasource and query prometheus`)
	}
	var walk func(panels any)
	walk = func(panels any) {
		list, _ := panels.([]any)
		for _, p := range list {
			title, _ := get(p, "title").(string)
			check("panel "+title, get(p, "datasource"))
			targets, _ := get(p, "targets").([]any)
			for i, tg := range targets {
				check(fmt.Sprintf("panel %s target %d", title, i), get(tg, "datasource"))
			}
			walk(get(p, "panels"))
		}
	}
	walk(d["panels"])
	return problems
}

// deepCopy copies rendered objects, so that a case alters its own.
func deepCopy(t *testing.T, objs []Object) []Object {
	t.Helper()
	b, err := json.Marshal(objs)
	require.NoError(t, err)
	var out []Object
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// dashboardConfigMaps renders the umbrella chart with its dashboards and
// returns their ConfigMaps.
func dashboardConfigMaps(t *testing.T, sets ...string) []Object {
	t.Helper()
	out, err := render(t, Umbrella, nil, sets...)
	require.NoError(t, err)
	return find(decode(t, out), "ConfigMap", "-dashboard-")
}

// TestGrafanaSidecarContract renders the umbrella chart with the dashboards
// of dashboards/ and checks that a default kube-prometheus-stack Grafana
// picks each up and can draw it, with the default values and with other
// monitoring settings.
func TestGrafanaSidecarContract(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(Umbrella, "files", "dashboards", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, tc := range []struct {
		name        string
		sets        []string
		namespace   string
		annotations map[string]any
	}{
		{name: "default", namespace: "kafka-scale"},
		{name: "other monitoring labels and interval", namespace: "kafka-scale",
			sets: []string{"global.monitoring.labels.release=monitoring", "global.monitoring.interval=60s", "global.monitoring.scrapeTimeout=20s"}},
		{name: "in Grafana's namespace", namespace: "monitoring",
			sets: []string{"dashboards.namespace=monitoring"}},
		{name: "in a folder", namespace: "kafka-scale",
			sets:        []string{"dashboards.annotations." + sidecarFolderAnnotation + "=kafka-scale"},
			annotations: map[string]any{sidecarFolderAnnotation: "kafka-scale"}},
		{name: "extra label", namespace: "kafka-scale",
			sets: []string{"dashboards.labels.team=census"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cms := dashboardConfigMaps(t, tc.sets...)
			require.Len(t, cms, len(files), "one ConfigMap per dashboard")
			require.Empty(t, sidecarProblems(cms))
			for _, cm := range cms {
				require.Equal(t, tc.namespace, str(cm, "metadata", "namespace"), cm.Name())
				// No folder unless asked: the sidecar would read the
				// annotation even when the values never mention it.
				annotations, _ := get(cm, "metadata", "annotations").(map[string]any)
				require.Equal(t, tc.annotations, annotations, cm.Name())
			}
		})
	}
}

// TestSidecarProblems shows each check of sidecarProblems failing on a
// rendered dashboard ConfigMap altered the way a chart or generator change
// could.
func TestSidecarProblems(t *testing.T) {
	// dashboard edits the JSON of a ConfigMap's only data key.
	dashboard := func(edit func(d map[string]any)) func(cm Object) {
		return func(cm Object) {
			data := cm["data"].(map[string]any)
			for key, v := range data {
				var d map[string]any
				if err := json.Unmarshal([]byte(v.(string)), &d); err != nil {
					panic(err)
				}
				edit(d)
				b, _ := json.Marshal(d)
				data[key] = string(b)
			}
		}
	}
	firstPanel := func(d map[string]any) map[string]any {
		for _, p := range d["panels"].([]any) {
			if p.(map[string]any)["type"] != "row" {
				return p.(map[string]any)
			}
		}
		panic("no panel")
	}
	rendered := dashboardConfigMaps(t)
	require.GreaterOrEqual(t, len(rendered), 2, "the uid case needs two dashboards")
	require.Empty(t, sidecarProblems(rendered))
	for _, tc := range []struct {
		name  string
		alter func(cms []Object)
		want  string
	}{
		{"label missing", func(cms []Object) {
			delete(cms[0]["metadata"].(map[string]any)["labels"].(map[string]any), sidecarLabel)
		}, "label grafana_dashboard is <nil>"},
		{"label value other than the stack's", func(cms []Object) {
			cms[0]["metadata"].(map[string]any)["labels"].(map[string]any)[sidecarLabel] = "true"
		}, `label grafana_dashboard is true, the sidecar reads "1"`},
		{"no data", func(cms []Object) { delete(cms[0], "data") }, "no data"},
		{"key not .json", func(cms []Object) {
			data := cms[0]["data"].(map[string]any)
			for k, v := range data {
				delete(data, k)
				data[strings.TrimSuffix(k, ".json")+".yaml"] = v
			}
		}, "reads *.json only"},
		{"not JSON", func(cms []Object) {
			data := cms[0]["data"].(map[string]any)
			for k := range data {
				data[k] = "{"
			}
		}, "not JSON"},
		{"no title", func(cms []Object) { dashboard(func(d map[string]any) { delete(d, "title") })(cms[0]) }, "no title"},
		{"no uid", func(cms []Object) { dashboard(func(d map[string]any) { delete(d, "uid") })(cms[0]) }, "no uid"},
		{"no panels", func(cms []Object) { dashboard(func(d map[string]any) { delete(d, "panels") })(cms[0]) }, "no panels"},
		{"no schemaVersion", func(cms []Object) { dashboard(func(d map[string]any) { delete(d, "schemaVersion") })(cms[0]) }, "no schemaVersion"},
		{"uid too long", func(cms []Object) {
			dashboard(func(d map[string]any) { d["uid"] = strings.Repeat("u", maxUIDLen+1) })(cms[0])
		}, "longer than 40 characters"},
		{"uid twice", func(cms []Object) {
			dashboard(func(d map[string]any) { d["uid"] = "same" })(cms[0])
			dashboard(func(d map[string]any) { d["uid"] = "same" })(cms[1])
		}, `uid "same" also in`},
		{"no datasource variable", func(cms []Object) {
			dashboard(func(d map[string]any) {
				vars := d["templating"].(map[string]any)["list"].([]any)
				d["templating"].(map[string]any)["list"] = vars[1:]
			})(cms[0])
		}, `no variable "datasource"`},
		{"datasource variable of another type", func(cms []Object) {
			dashboard(func(d map[string]any) {
				d["templating"].(map[string]any)["list"].([]any)[0].(map[string]any)["query"] = "loki"
			})(cms[0])
		}, `no variable "datasource"`},
		{"variable on another data source", func(cms []Object) {
			dashboard(func(d map[string]any) {
				d["templating"].(map[string]any)["list"].([]any)[1].(map[string]any)["datasource"] = map[string]any{"type": "prometheus", "uid": "thanos"}
			})(cms[0])
		}, "variable namespace queries data source"},
		{"panel on another data source", func(cms []Object) {
			dashboard(func(d map[string]any) { firstPanel(d)["datasource"] = "Mimir" })(cms[0])
		}, "queries data source Mimir"},
		{"target on another data source", func(cms []Object) {
			dashboard(func(d map[string]any) {
				firstPanel(d)["targets"].([]any)[0].(map[string]any)["datasource"] = map[string]any{"uid": "P1809F7CD0C75ACF3"}
			})(cms[0])
		}, "target 0 queries data source"},
		{"panel in a row on another data source", func(cms []Object) {
			dashboard(func(d map[string]any) {
				row := d["panels"].([]any)[0].(map[string]any)
				row["panels"] = []any{map[string]any{"title": "inner", "datasource": map[string]any{"uid": "other"}}}
			})(cms[0])
		}, "panel inner queries data source"},
		{"over 1 MiB", func(cms []Object) {
			cms[0]["data"].(map[string]any)["padding.json"] = `{"title":"p","uid":"p","panels":[],"schemaVersion":1,"templating":{"list":[{"name":"datasource","type":"datasource","query":"prometheus"}]},"description":"` + strings.Repeat("x", maxConfigMapData) + `"}`
		}, "bytes of data, over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cms := deepCopy(t, rendered)
			tc.alter(cms)
			problems := sidecarProblems(cms)
			require.NotEmpty(t, problems)
			require.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
}
