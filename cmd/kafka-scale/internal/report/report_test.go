package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
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
	mux.HandleFunc("/v1/labor-force/by-sex-age", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, apiv1.LaborForceBySexAgeResponse{Groups: []apiv1.SexAgeFigures{}})
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

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func figures(l tally.Labor) apiv1.LaborFigures {
	return apiv1.LaborFigures{Employed: tally.Weight(l.EmployedWeight), Unemployed: tally.Weight(l.UnemployedWeight),
		NotInLaborForce: tally.Weight(l.NotInLaborForceWeight), LaborForce: tally.Weight(l.LaborForceWeight()),
		UnemploymentRate: l.UnemploymentRate(),
		Persons:          apiv1.Persons{Employed: l.Employed, Unemployed: l.Unemployed, NotInLaborForce: l.NotInLaborForce}}
}

// tallyAPI serves exp's tabulation as the aggregator would, with the
// figures of one group changed by tamper when it is not nil.
func tallyAPI(t *testing.T, exp *censusgen.Expected, tamper func(*apiv1.LaborForceBySexAgeResponse)) *httptest.Server {
	t.Helper()
	m := exp.Tally.Month(exp.Year, exp.Month)
	require.NotNil(t, m)
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		require.NoError(t, json.NewEncoder(w).Encode(v))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/sources", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, apiv1.SourcesResponse{Sources: []apiv1.Source{{Source: exp.File, Year: exp.Year, Month: exp.Month,
			Records: m.Records, Counted: m.Records, Complete: true, Status: apiv1.StatusComplete}}})
	})
	mux.HandleFunc("/v1/housing", func(w http.ResponseWriter, _ *http.Request) {
		h := apiv1.HousingResponse{Year: exp.Year, Month: &exp.Month, Records: m.Records}
		for code := -1; code <= census.MaxHousing; code++ {
			if n := m.HousingCount(code); n > 0 {
				h.Housing = append(h.Housing, apiv1.HousingCount{Code: code, Description: census.HousingDescription(code), Count: n})
			}
		}
		reply(w, h)
	})
	mux.HandleFunc("/v1/labor-force", func(w http.ResponseWriter, _ *http.Request) {
		lf := apiv1.LaborForceResponse{Year: exp.Year, Month: exp.Month, National: figures(m.National())}
		for _, fips := range census.States() {
			if l := m.State(fips); !l.IsZero() {
				lf.States = append(lf.States, apiv1.StateFigures{FIPS: fips, State: census.StateAbbrev(fips), LaborFigures: figures(l)})
			}
		}
		reply(w, lf)
	})
	mux.HandleFunc("/v1/labor-force/by-sex-age", func(w http.ResponseWriter, _ *http.Request) {
		sa := apiv1.LaborForceBySexAgeResponse{Year: exp.Year, Month: exp.Month}
		for _, sex := range []int{1, 2} {
			for g := range census.NumAgeGroups {
				sa.Groups = append(sa.Groups, apiv1.SexAgeFigures{Sex: census.SexName(sex), AgeGroup: g.String(), LaborFigures: figures(m.BySexAge(sex, g))})
			}
		}
		if tamper != nil {
			tamper(&sa)
		}
		reply(w, sa)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestReportGolden(t *testing.T) {
	exp, err := censusgen.Generate(io.Discard, censusgen.Options{Year: 2020, Month: 1, Records: 2000, Seed: 3})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, runReport(context.Background(), cli.Env{Stdout: &out, LookupEnv: noEnv}, []string{"--api", tallyAPI(t, exp, nil).URL}))
	golden := filepath.Join("testdata", "report.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update")
	require.Equal(t, string(want), out.String())
}

// TestCheckSexAge: --check-expected passes on the generator's tabulation
// and names any group of the labor force by sex and age that differs.
func TestCheckSexAge(t *testing.T) {
	dir := t.TempDir()
	_, exp, err := censusgen.WriteFile(dir, censusgen.Options{Year: 2020, Month: 1, Records: 2000, Seed: 3})
	require.NoError(t, err)
	_, err = censusgen.WriteExpected(dir, exp)
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		tamper  func(*apiv1.LaborForceBySexAgeResponse)
		wantErr string
	}{
		{name: "exact"},
		{name: "weight", tamper: func(r *apiv1.LaborForceBySexAgeResponse) { r.Groups[7].Employed += 0.0001 },
			wantErr: "2020-01: labor force of female 25-54:"},
		{name: "persons", tamper: func(r *apiv1.LaborForceBySexAgeResponse) { r.Groups[0].Persons.Unemployed++ },
			wantErr: "2020-01: labor force of male 16-19:"},
		{name: "missing", tamper: func(r *apiv1.LaborForceBySexAgeResponse) { r.Groups = r.Groups[:9] },
			wantErr: "2020-01: labor force by sex and age: no female 65+"},
		{name: "extra", tamper: func(r *apiv1.LaborForceBySexAgeResponse) {
			r.Groups = append(r.Groups, apiv1.SexAgeFigures{Sex: "unknown", AgeGroup: "16-19", LaborFigures: apiv1.LaborFigures{Employed: 1}})
		}, wantErr: "2020-01: labor force of unknown 16-19:"},
		{name: "unknown group", tamper: func(r *apiv1.LaborForceBySexAgeResponse) {
			r.Groups = append(r.Groups, apiv1.SexAgeFigures{Sex: "male", AgeGroup: "15"})
		}, wantErr: "2020-01: labor force by sex and age: unexpected group male 15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runReport(context.Background(), cli.Env{Stdout: &out, LookupEnv: noEnv},
				[]string{"--api", tallyAPI(t, exp, tc.tamper).URL, "--check-expected", dir})
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.Contains(t, out.String(), "matches the generator's expected tabulation")
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}
