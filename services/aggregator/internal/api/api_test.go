package api

import (
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
	"github.com/kafka-scale/kafka-scale/services/aggregator/internal/state"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixtureStore holds two months of a few hand-made records, one incomplete
// source, a month of 1996 read from a zip and a month not published. A
// chunk of April 2020 comes from a computer that tabulates housing only,
// as one older than a table would in a rolling upgrade, and the month of
// 1996 from a released computer, whose results list no tabulations (so
// housing and labor force, without the sex and age groups).
func fixtureStore() *state.Store {
	s := state.New()
	add := func(source string, seq uint32, last bool, recs ...census.Record) {
		t := tally.New()
		for i := range recs {
			t.Add(&recs[i])
		}
		s.Apply(&schema.Result{Source: source, Fingerprint: "size:100", Year: int(recs[0].HRYEAR4), Month: int(recs[0].HRMONTH),
			Seq: seq, Last: last, Records: uint64(len(recs)) + 1, Rejected: 1, Rejects: map[string]uint64{"length": 1}, Tally: t,
			Tabulations: schema.Tabulations()}, 1700000000000)
	}
	rec := func(month, housing, fips, age, sex, pemlr int, w int64) census.Record {
		return census.Record{HRYEAR4: 2020, HRMONTH: int16(month), HEHOUSUT: int16(housing), GESTFIPS: int16(fips),
			PRTAGE: int16(age), PESEX: int16(sex), PEMLR: int16(pemlr), PWCMPWGT: w, LaborForceWeight: w}
	}
	add("jan20pub.dat.gz", 0, false, rec(1, 1, 6, 40, 1, 1, 17347552), rec(1, 1, 6, 30, 2, 4, 12000000), rec(1, 5, 36, 70, 2, 5, 15000000))
	add("jan20pub.dat.gz", 1, true, rec(1, 1, 36, 25, 1, 2, 16000000), rec(1, 0, 6, 10, 2, -1, 0))
	add("apr20pub.dat.gz", 0, false, rec(4, 1, 1, 72, 1, 1, 17395013), rec(4, 2, 1, 50, 2, 3, 20000000))
	housingOnly := tally.New()
	housingOnly.Add(&census.Record{HRYEAR4: 2020, HRMONTH: 4, HEHOUSUT: 1})
	s.Apply(&schema.Result{Source: "apr20pub.dat.gz", Fingerprint: "size:100", Year: 2020, Month: 4, Seq: 1, Records: 1,
		Tally: housingOnly, Tabulations: []schema.Tabulation{schema.TabulationHousing}}, 1700000000000)
	old := tally.New()
	old.Add(&census.Record{HRYEAR4: 1996, HRMONTH: 3, HEHOUSUT: 1, GESTFIPS: 6, PRTAGE: 44, PEMLR: 1, PWSSWGT: 15000000, LaborForceWeight: 15000000})
	s.Apply(&schema.Result{Source: "mar96pub.zip", Fingerprint: "size:90", Year: 1996, Month: 3, Seq: 0, Last: true,
		Records: 1, Tally: old, Format: "zip"}, 1700000000000)
	s.Apply(&schema.Result{Source: "oct25pub.dat.gz", Fingerprint: "not-published", Year: 2025, Month: 10, Seq: 0, Last: true,
		NotPublished: true, Tabulations: schema.Tabulations()}, 1700000000000)
	return s
}

// apiCases are the requests whose responses are kept in
// testdata/golden/<name>.json: TestAPI compares the server with them and
// TestGoldenMatchesOpenAPI the document.
var apiCases = []struct {
	name     string
	path     string
	wantCode int
}{
	{name: "results", path: "/results", wantCode: 200},
	{name: "sources", path: "/v1/sources", wantCode: 200},
	{name: "housing-month", path: "/v1/housing?year=2020&month=jan", wantCode: 200},
	{name: "housing-year", path: "/v1/housing?year=2020", wantCode: 200},
	{name: "labor-force", path: "/v1/labor-force?year=2020&month=1", wantCode: 200},
	{name: "labor-force-state", path: "/v1/labor-force?year=2020&month=1&state=CA", wantCode: 200},
	{name: "labor-force-state-fips", path: "/v1/labor-force?year=2020&month=1&state=06", wantCode: 200},
	{name: "labor-force-incomplete", path: "/v1/labor-force?year=2020&month=4", wantCode: 200},
	{name: "labor-force-by-sex-age", path: "/v1/labor-force/by-sex-age?year=2020&month=jan", wantCode: 200},
	{name: "labor-force-by-sex-age-incomplete", path: "/v1/labor-force/by-sex-age?year=2020&month=apr", wantCode: 200},
	{name: "error-missing-year", path: "/v1/housing", wantCode: 400},
	{name: "error-bad-month", path: "/v1/labor-force?year=2020&month=13", wantCode: 400},
	{name: "error-missing-month", path: "/v1/labor-force?year=2020", wantCode: 400},
	{name: "error-bad-state", path: "/v1/labor-force?year=2020&month=1&state=ZZ", wantCode: 400},
	{name: "error-bad-state-fips", path: "/v1/labor-force?year=2020&month=1&state=3", wantCode: 400},
	{name: "error-no-data", path: "/v1/labor-force?year=2019&month=1", wantCode: 404},
	{name: "error-by-sex-age-no-data", path: "/v1/labor-force/by-sex-age?year=2020&month=2", wantCode: 404},
	{name: "error-no-route", path: "/v2/nothing", wantCode: 404},
}

func TestAPI(t *testing.T) {
	srv := httptest.NewServer(Handler(fixtureStore(), zaptest.NewLogger(t), prometheus.NewRegistry()))
	defer srv.Close()
	for _, tc := range apiCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tc.wantCode, resp.StatusCode, string(body))
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			golden(t, filepath.Join("testdata", "golden", tc.name+".json"), body)
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test -update")
	require.Equal(t, string(want), string(got))
}

func TestMethodNotAllowed(t *testing.T) {
	srv := httptest.NewServer(Handler(state.New(), zaptest.NewLogger(t), prometheus.NewRegistry()))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/results", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// TestOpenAPICoversRoutes checks that the document describes exactly the
// routes the router serves, each answering 200 with data loaded.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(openAPI, &doc))
	require.Equal(t, "3.0.3", doc.OpenAPI)
	var documented []string
	for p, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+p)
		}
	}
	h := Handler(fixtureStore(), zaptest.NewLogger(t), prometheus.NewRegistry())
	routes, ok := h.(chi.Routes)
	require.True(t, ok, "Handler returns a %T, not a chi router", h)
	var served []string
	require.NoError(t, chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served = append(served, method+" "+route)
		return nil
	}))
	require.ElementsMatch(t, documented, served)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for p := range doc.Paths {
		resp, err := http.Get(srv.URL + p + "?year=2020&month=1")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, p)
	}
}
