package report

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
)

// fakeAPI serves /v1/sources in the aggregator's order (by name) and a
// housing and labor-force table for any month.
func fakeAPI(t *testing.T, srcs []apiv1.Source) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		require.NoError(t, json.NewEncoder(w).Encode(v))
	}
	mux.HandleFunc("/v1/sources", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, map[string]any{"sources": srcs})
	})
	mux.HandleFunc("/v1/housing", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, map[string]any{"records": 0, "housing": []any{}})
	})
	mux.HandleFunc("/v1/labor-force", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, map[string]any{"national": apiv1.LaborFigures{}, "states": []any{}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestReportCalendarOrder(t *testing.T) {
	byName := []apiv1.Source{
		{Source: "apr19pub", Year: 2019, Month: 4},
		{Source: "feb20pub", Year: 2020, Month: 2},
		{Source: "jan20pub", Year: 2020, Month: 1},
		{Source: "mar20pub", Year: 2020, Month: 3},
	}
	srv := fakeAPI(t, byName)
	var out bytes.Buffer
	err := runReport(context.Background(), cli.Env{Stdout: &out, LookupEnv: noEnv}, []string{"--api", srv.URL})
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		re   string
	}{
		{"sources table", `(?m)^\s*(\w+pub)\s+\d{4}-\d\d\s`},
		{"housing tables", `(?m)^Housing, (\d{4}-\d\d)`},
		{"labor-force tables", `(?m)^Labor force, (\d{4}-\d\d)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, m := range regexp.MustCompile(tc.re).FindAllStringSubmatch(out.String(), -1) {
				got = append(got, m[1])
			}
			want := []string{"2019-04", "2020-01", "2020-02", "2020-03"}
			if tc.name == "sources table" {
				want = []string{"apr19pub", "jan20pub", "feb20pub", "mar20pub"}
			}
			require.Equal(t, want, got, "output:\n%s", out.String())
		})
	}
}

func TestCheckCalendarOrder(t *testing.T) {
	dir := t.TempDir()
	for _, month := range []int{2, 1, 3} {
		_, exp, err := censusgen.WriteFile(dir, censusgen.Options{Year: 2020, Month: month, Records: 20, Seed: 1})
		require.NoError(t, err)
		_, err = censusgen.WriteExpected(dir, exp)
		require.NoError(t, err)
	}
	require.Len(t, must(filepath.Glob(filepath.Join(dir, "*.expected.json"))), 3)
	srv := fakeAPI(t, nil)
	var out bytes.Buffer
	// The fake API's empty tables never match; the errors name the months in order.
	err := runReport(context.Background(), cli.Env{Stdout: &out, LookupEnv: noEnv}, []string{"--api", srv.URL, "--check-expected", dir})
	require.Error(t, err)
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^(2020-\d\d): \d+ records`).FindAllStringSubmatch(err.Error(), -1) {
		got = append(got, m[1])
	}
	require.Equal(t, []string{"2020-01", "2020-02", "2020-03"}, got, "error:\n%v", err)
}

func noEnv(string) (string, bool) { return "", false }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
