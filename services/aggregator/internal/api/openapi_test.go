package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/services/aggregator/internal/state"
)

// The API tested from its own OpenAPI document, property-based: requests
// are generated from the document (every path and operation, parameters
// drawn from their schemas by a seeded generator, plus hostile values,
// unknown parameters, wrong methods and unknown paths) and sent to the
// handler over a store holding generated months. Properties: the
// document is valid; no response is a 5xx; every response to a documented
// operation matches the document (status, content type, body schema);
// every other response is the API's JSON error.

const requestsPerOperation = 300

// generatedStore holds two generated months, one complete and one with a
// chunk missing, so that every view has data to show.
func generatedStore(t *testing.T) *state.Store {
	s := state.New()
	for i, month := range []int{1, 2} {
		exp, err := censusgen.Generate(io.Discard, censusgen.Options{Year: 2020, Month: month, Records: 3000, Seed: uint64(10 + i)})
		require.NoError(t, err)
		s.Apply(&schema.Result{Source: exp.File, Fingerprint: "size:1", Year: 2020, Month: month, Seq: 0, Last: month == 1,
			Records: exp.Tally.Records(), Rejects: map[string]uint64{}, Tally: exp.Tally}, 1700000000000)
	}
	return s
}

func loadDocument(t *testing.T) *openapi3.T {
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()), "the OpenAPI document is invalid")
	return doc
}

func TestOpenAPIDocumentValid(t *testing.T) { loadDocument(t) }

// hostileValues are tried for every parameter, whatever its schema.
var hostileValues = []string{"", "0", "-1", "1993", "2101", "99999999999999999999999", "-9223372036854775809", "1e3", "0x10",
	"12.5", " 2020", "2020 ", "jan,feb", "ünïcødé", "\u202e2020", "%00", "\x00", "null", "[]", "{}", "'; DROP TABLE x;--",
	strings.Repeat("9", 4096), strings.Repeat("a", 10000)}

// value draws a value for a parameter from its schema, or a hostile one.
func value(r *rand.Rand, s *openapi3.Schema) string {
	if r.IntN(4) == 0 || s == nil {
		return hostileValues[r.IntN(len(hostileValues))]
	}
	switch {
	case s.Type.Is("integer") && r.IntN(2) == 0:
		return "2020" // the store's year
	case s.Type.Is("integer"):
		lo, hi := -1000.0, 3000.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = *s.Max
		}
		return fmt.Sprint(int64(lo) + r.Int64N(int64(hi-lo)+1))
	case len(s.Enum) > 0:
		return fmt.Sprint(s.Enum[r.IntN(len(s.Enum))])
	}
	// Strings: what the API's month and state parameters take, and others.
	words := []string{"1", "2", "3", "12", "13", "jan", "feb", "Jan", "all", "6", "06", "36", "CA", "ca", "NY", "US", "57", "99", "x"}
	return words[r.IntN(len(words))]
}

// query builds a query string for op's parameters: each present or not,
// repeated now and then, and an unknown parameter sometimes.
func query(r *rand.Rand, op *openapi3.Operation) string {
	q := url.Values{}
	for _, p := range op.Parameters {
		if p.Value.In != openapi3.ParameterInQuery || r.IntN(4) == 0 {
			continue
		}
		var s *openapi3.Schema
		if p.Value.Schema != nil {
			s = p.Value.Schema.Value
		}
		for range 1 + r.IntN(2)*r.IntN(3) {
			q.Add(p.Value.Name, value(r, s))
		}
	}
	if r.IntN(5) == 0 {
		q.Add([]string{"unknown", "", "year[]", "ü"}[r.IntN(4)], value(r, nil))
	}
	return q.Encode()
}

func TestOpenAPIProperties(t *testing.T) {
	doc := loadDocument(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	h := Handler(generatedStore(t), zaptest.NewLogger(t), prometheus.NewRegistry())
	r := rand.New(rand.NewPCG(15, 4))

	serve := func(req *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Less(t, rec.Code, 500, "%s %s: %d %s", req.Method, req.URL, rec.Code, rec.Body)
		return rec
	}
	checkDocumented := func(req *http.Request, rec *httptest.ResponseRecorder) {
		route, params, err := router.FindRoute(req)
		require.NoError(t, err, "%s %s", req.Method, req.URL)
		err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{MultiError: true}},
			Status: rec.Code, Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		})
		require.NoError(t, err, "%s %s: %d %s", req.Method, req.URL, rec.Code, truncate(rec.Body.String()))
	}
	checkError := func(req *http.Request, rec *httptest.ResponseRecorder, want int) {
		require.Equal(t, want, rec.Code, "%s %s", req.Method, req.URL)
		require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
		require.Contains(t, rec.Body.String(), `"error"`)
	}

	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	statuses := map[string]map[int]int{}
	for _, path := range paths {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			key := method + " " + path
			statuses[key] = map[int]int{}
			for range requestsPerOperation {
				target := path
				if qs := query(r, op); qs != "" {
					target += "?" + qs
				}
				req := httptest.NewRequest(method, "http://aggregator"+target, nil)
				rec := serve(req)
				statuses[key][rec.Code]++
				checkDocumented(req, rec)
			}
			// Methods the path does not have.
			for _, wrong := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
				if item.GetOperation(wrong) != nil {
					continue
				}
				req := httptest.NewRequest(wrong, "http://aggregator"+path, strings.NewReader(`{"year": 2020}`))
				checkError(req, serve(req), http.StatusMethodNotAllowed)
			}
		}
	}
	// Paths the document does not have.
	for _, path := range []string{"/", "/v1", "/v1/", "/v2/sources", "/v1/sources/x", "/v1/housing/../sources", "/%ff", "/" + strings.Repeat("a", 5000)} {
		req := httptest.NewRequest(http.MethodGet, "http://aggregator/", nil)
		req.URL.Path = path
		checkError(req, serve(req), http.StatusNotFound)
	}
	// Every operation answered both successes and refusals.
	for key, codes := range statuses {
		t.Logf("%s: statuses %v", key, codes)
		require.Positive(t, codes[http.StatusOK], "%s never answered 200", key)
	}
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// TestGoldenMatchesOpenAPI validates every golden response against the
// document's schema for its route and status. TestAPI ties the goldens to
// the server, so the two tests together keep the server and the document
// from drifting apart.
func TestGoldenMatchesOpenAPI(t *testing.T) {
	doc := loadDocument(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, len(apiCases), "a golden file that is no case of TestAPI")
	for _, tc := range apiCases {
		t.Run(tc.name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "golden", tc.name+".json"))
			require.NoError(t, err)
			req := httptest.NewRequest(http.MethodGet, "http://aggregator"+tc.path, nil)
			route, params, err := router.FindRoute(req)
			// The legacy router makes a new RouteError each time.
			if re := (*routers.RouteError)(nil); errors.As(err, &re) && re.Reason == routers.ErrPathNotFound.Error() {
				// Paths the document does not have answer its Error.
				var v any
				require.NoError(t, json.Unmarshal(body, &v))
				require.NoError(t, doc.Components.Schemas["Error"].Value.VisitJSON(v), "%s", body)
				return
			}
			require.NoError(t, err, tc.path)
			err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
				Status:                 tc.wantCode,
				Header:                 http.Header{"Content-Type": {"application/json"}},
				Body:                   io.NopCloser(bytes.NewReader(body)),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
			})
			require.NoError(t, err, "%s: %d %s", tc.path, tc.wantCode, truncate(string(body)))
		})
	}
}
