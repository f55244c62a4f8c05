// Package api serves the aggregator's summaries over HTTP: /results in the
// original kafka-scale shape, and the versioned /v1 API described by the
// OpenAPI document at /v1/openapi.json.
package api

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/services/aggregator/internal/state"
)

//go:embed openapi.json
var openAPI []byte

// Handler returns the API's router over store.
func Handler(store *state.Store, log *zap.Logger, reg prometheus.Registerer) http.Handler {
	requests := promauto.With(reg).NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kafka_scale_aggregator_http_request_duration_seconds",
		Help:    "API requests by route and status code.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
	}, []string{"route", "code"})
	h := &handler{store: store, log: log}
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			ww := middleware.NewWrapResponseWriter(w, req.ProtoMajor)
			start := time.Now()
			next.ServeHTTP(ww, req)
			route := chi.RouteContext(req.Context()).RoutePattern()
			if route == "" {
				route = "unmatched"
			}
			requests.WithLabelValues(route, strconv.Itoa(ww.Status())).Observe(time.Since(start).Seconds())
		})
	})
	r.Get("/results", h.results)
	r.Route("/v1", func(r chi.Router) {
		r.Get("/sources", h.sources)
		r.Get("/housing", h.housing)
		r.Get("/labor-force", h.laborForce)
		r.Get("/labor-force/by-sex-age", h.laborForceBySexAge)
		r.Get("/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(openAPI)
		})
	})
	r.NotFound(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s; see /v1/openapi.json", req.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", req.Method, req.URL.Path))
	})
	return r
}

type handler struct {
	store *state.Store
	log   *zap.Logger
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiv1.Error{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// results serves the original kafka-scale shape: year -> housing code ->
// {"Description", "Count"}.
func (h *handler) results(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Results(h.store.Totals()))
}

func (h *handler) sources(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, apiv1.SourcesResponse{Sources: h.store.Sources()})
}

var errMissing = errors.New("is required")

// intParam reads an integer query parameter within [lo, hi]. Months may
// also be given as jan..dec.
// period reads the year and month parameters; the month may be left out
// unless monthRequired.
func period(r *http.Request, monthRequired bool) (year, month int, hasMonth bool, err error) {
	if year, _, err = intParam(r, "year", 1994, 2100, true); err != nil {
		return 0, 0, false, err
	}
	month, hasMonth, err = intParam(r, "month", 1, 12, monthRequired)
	return year, month, hasMonth, err
}

func intParam(r *http.Request, name string, lo, hi int, required bool) (int, bool, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		if required {
			return 0, false, fmt.Errorf("query parameter %s %w", name, errMissing)
		}
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil && name == "month" {
		if m, merr := census.ParseMonth(v); merr == nil {
			return m, true, nil
		}
	}
	if err != nil || n < lo || n > hi {
		return 0, false, fmt.Errorf("query parameter %s=%q: want a number from %d to %d", name, v, lo, hi)
	}
	return n, true, nil
}

// stateParam reads a state as a FIPS code ("6", "06") or a postal
// abbreviation ("CA").
func stateParam(r *http.Request) (int, bool, error) {
	v := strings.TrimSpace(r.URL.Query().Get("state"))
	if v == "" {
		return 0, false, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		if census.StateAbbrev(n) == "" {
			return 0, false, fmt.Errorf("query parameter state=%q: not a state FIPS code (1-56, 50 states and DC)", v)
		}
		return n, true, nil
	}
	if n := census.StateByAbbrev(strings.ToUpper(v)); n > 0 {
		return n, true, nil
	}
	return 0, false, fmt.Errorf("query parameter state=%q: want a FIPS code or a postal abbreviation such as CA", v)
}

func (h *handler) housing(w http.ResponseWriter, r *http.Request) {
	year, month, hasMonth, err := period(r, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, ok := Housing(h.store.Totals(), year, month, hasMonth)
	if !ok {
		writeError(w, http.StatusNotFound, noData(year, month, hasMonth))
		return
	}
	resp.IncompleteSources = h.store.IncompleteSources(schema.TabulationHousing, year, month)
	writeJSON(w, http.StatusOK, resp)
}

func (h *handler) laborForce(w http.ResponseWriter, r *http.Request) {
	year, month, _, err := period(r, true)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	st, hasState, err := stateParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, ok := LaborForce(h.store.Totals(), year, month, st, hasState)
	if !ok {
		writeError(w, http.StatusNotFound, noData(year, month, true))
		return
	}
	resp.IncompleteSources = h.store.IncompleteSources(schema.TabulationLaborForce, year, month)
	writeJSON(w, http.StatusOK, resp)
}

func (h *handler) laborForceBySexAge(w http.ResponseWriter, r *http.Request) {
	year, month, _, err := period(r, true)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, ok := LaborForceBySexAge(h.store.Totals(), year, month)
	if !ok {
		writeError(w, http.StatusNotFound, noData(year, month, true))
		return
	}
	resp.IncompleteSources = h.store.IncompleteSources(schema.TabulationSexAge, year, month)
	writeJSON(w, http.StatusOK, resp)
}

func noData(year, month int, hasMonth bool) string {
	if hasMonth {
		return fmt.Sprintf("no data for %d-%02d; GET /v1/sources lists what is loaded", year, month)
	}
	return fmt.Sprintf("no data for %d; GET /v1/sources lists what is loaded", year)
}
