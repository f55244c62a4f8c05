package dashboards

import (
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "write the dashboards' JSON instead of comparing it")

// TestUpToDate fails when the committed JSON is not what this package
// builds: run `make dashboards` and commit the result.
func TestUpToDate(t *testing.T) {
	for _, f := range All() {
		t.Run(f.Name, func(t *testing.T) {
			got, err := Render(f.Dashboard)
			require.NoError(t, err)
			if *update {
				require.NoError(t, os.WriteFile(f.Name, got, 0o644))
				return
			}
			want, err := os.ReadFile(f.Name)
			require.NoError(t, err, "run `make dashboards`")
			if string(got) != string(want) {
				t.Fatalf("%s differs from what the generator builds (first difference: %s): run `make dashboards` and commit it",
					f.Name, firstDiff(string(want), string(got)))
			}
		})
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + itoa(i+1) + ": committed " + quote(x) + ", generated " + quote(y)
		}
	}
	return "none"
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func quote(s string) string { b, _ := json.Marshal(strings.TrimSpace(s)); return string(b) }

// jsonDashboard is the part of the dashboard JSON model the checks read.
type jsonDashboard struct {
	UID        string      `json:"uid"`
	Panels     []jsonPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type jsonPanel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Panels     []jsonPanel `json:"panels"`
	Datasource struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr       string `json:"expr"`
		RefID      string `json:"refId"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
}

// flatten lists the panels with those of collapsed rows.
func flatten(panels []jsonPanel) []jsonPanel {
	var out []jsonPanel
	for _, p := range panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// A metric selector: a kafka_scale metric name and what follows it.
var metricRef = regexp.MustCompile(`\bkafka_scale_[a-z0-9_]+(\{[^}]*\})?`)

// TestConventions: every panel has a unit and queries the templated data
// source, every series is selected by namespace, lag by group, and nothing
// by job.
func TestConventions(t *testing.T) {
	uids := map[string]bool{}
	for _, f := range All() {
		t.Run(f.Name, func(t *testing.T) {
			b, err := Render(f.Dashboard)
			require.NoError(t, err)
			var d jsonDashboard
			require.NoError(t, json.Unmarshal(b, &d))
			require.False(t, uids[d.UID], "uid %s used twice", d.UID)
			uids[d.UID] = true

			vars := map[string]string{}
			for _, v := range d.Templating.List {
				vars[v.Name] = v.Type
			}
			require.Equal(t, map[string]string{"datasource": "datasource", "namespace": "query", "group": "query"}, vars)

			ids, titles := map[int]bool{}, map[string]bool{}
			for _, p := range flatten(d.Panels) {
				require.False(t, ids[p.ID], "panel id %d used twice", p.ID)
				ids[p.ID] = true
				if p.Type == "row" {
					continue
				}
				require.False(t, titles[p.Title], "title %q used twice", p.Title)
				titles[p.Title] = true
				require.NotEmpty(t, p.FieldConfig.Defaults.Unit, "%s: no unit", p.Title)
				require.Equal(t, "${datasource}", p.Datasource.UID, p.Title)
				require.NotEmpty(t, p.Targets, p.Title)
				for _, tg := range p.Targets {
					require.Equal(t, "${datasource}", tg.Datasource.UID, p.Title)
					require.NotEmpty(t, tg.RefID, p.Title)
					require.NotContains(t, tg.Expr, "job", "%s: select by metric name, not by job", p.Title)
					refs := metricRef.FindAllStringSubmatch(tg.Expr, -1)
					require.NotEmpty(t, refs, "%s: %s", p.Title, tg.Expr)
					for _, m := range refs {
						require.Contains(t, m[1], `namespace=~"$namespace"`, "%s: %s", p.Title, m[0])
						if strings.HasPrefix(m[0], "kafka_scale_consumer_lag_") {
							require.Contains(t, m[1], `group=~"$group"`, "%s: %s", p.Title, m[0])
						}
					}
				}
			}
		})
	}
}
