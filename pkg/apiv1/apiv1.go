// Package apiv1 holds the types of the aggregator's HTTP API, the one
// definition the server encodes and every client (the kafka-scale CLI, the
// end-to-end harness, the benchmarks) decodes: the /v1 responses described
// by the aggregator's OpenAPI document, and the /results shape kept from
// the original kafka-scale.
package apiv1

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

// Statuses of a Source.
const (
	StatusLoading      = "loading"       // chunks still to come
	StatusComplete     = "complete"      // every chunk counted
	StatusFailed       = "failed"        // the reader could not read it to its end: see error
	StatusNotPublished = "not_published" // the census site has no file for the month
)

// SourcesResponse is the body of /v1/sources.
type SourcesResponse struct {
	Sources []Source `json:"sources"`
}

// Source is a source as /v1/sources shows it: its chosen generation.
type Source struct {
	Source      string `json:"source"`
	Fingerprint string `json:"fingerprint"`
	Year        int    `json:"year"`
	Month       int    `json:"month"`
	Status      string `json:"status"`           // Status* above
	Format      string `json:"format,omitempty"` // gzip, zip or plain
	// Layout and Weight are the record layout the month's records are read
	// in and the field that weights its labor force levels.
	Layout *Layout `json:"layout,omitempty"`
	Weight string  `json:"weight,omitempty"`
	// Records is every line read from the source, good and rejected;
	// Counted is those the tabulations count (Records - Rejected).
	Records     uint64            `json:"records"`
	Counted     uint64            `json:"counted"`
	Rejected    uint64            `json:"rejected"`
	Rejects     map[string]uint64 `json:"rejects"`
	Chunks      uint32            `json:"chunks"`
	TotalChunks *int64            `json:"total_chunks"`
	Complete    bool              `json:"complete"`
	Error       string            `json:"error,omitempty"`
	Loads       int               `json:"loads"`
	// IncompleteTabulations names the tables (housing, labor_force,
	// sex_age) some counted chunk's result did not carry: results of
	// computers older than the table, in a rolling upgrade. The table's
	// counts for the source are short until the source is loaded again.
	IncompleteTabulations []string `json:"incomplete_tabulations,omitempty"`
}

// Layout names a record layout and the months it covers, yyyy-mm.
type Layout struct {
	Name  string `json:"name"`
	First string `json:"first"`
	Last  string `json:"last"`
}

// HousingCount is one housing code's count.
type HousingCount struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
	Count       uint64 `json:"count"`
}

// HousingResponse is the body of /v1/housing: a month, or a whole year
// when Month is nil.
type HousingResponse struct {
	Year    int            `json:"year"`
	Month   *int           `json:"month"`
	Records uint64         `json:"records"`
	Housing []HousingCount `json:"housing"`
	// IncompleteSources: sources of the period counted in part from results
	// without this table (computers older than it); their counts are short.
	IncompleteSources []string `json:"incomplete_sources,omitempty"`
}

// Persons are unweighted record counts.
type Persons struct {
	Employed        uint64 `json:"employed"`
	Unemployed      uint64 `json:"unemployed"`
	NotInLaborForce uint64 `json:"not_in_labor_force"`
}

// LaborFigures are the weighted labor force figures of an area.
type LaborFigures struct {
	Employed         float64 `json:"employed"`
	Unemployed       float64 `json:"unemployed"`
	NotInLaborForce  float64 `json:"not_in_labor_force"`
	LaborForce       float64 `json:"labor_force"`
	UnemploymentRate float64 `json:"unemployment_rate"`
	Persons          Persons `json:"persons"`
}

// StateFigures are a state's figures with its names.
type StateFigures struct {
	FIPS  int    `json:"fips"`
	State string `json:"state"`
	Name  string `json:"name"`
	LaborFigures
}

// LaborForceResponse is the body of /v1/labor-force.
type LaborForceResponse struct {
	Year     int            `json:"year"`
	Month    int            `json:"month"`
	National LaborFigures   `json:"national"`
	States   []StateFigures `json:"states"`
	// IncompleteSources: as in HousingResponse.
	IncompleteSources []string `json:"incomplete_sources,omitempty"`
}

// SexAgeFigures are the national figures of one sex and age group.
type SexAgeFigures struct {
	Sex      string `json:"sex"`       // "male", "female", or "unknown" (PESEX neither)
	AgeGroup string `json:"age_group"` // "16-19", "20-24", "25-54", "55-64" or "65+"
	LaborFigures
}

// LaborForceBySexAgeResponse is the body of /v1/labor-force/by-sex-age:
// every age group of men, then of women, youngest first; then those of
// unknown sex, if any were counted.
type LaborForceBySexAgeResponse struct {
	Year   int             `json:"year"`
	Month  int             `json:"month"`
	Groups []SexAgeFigures `json:"groups"`
	// IncompleteSources: as in HousingResponse.
	IncompleteSources []string `json:"incomplete_sources,omitempty"`
}

// LegacyCount is one cell of /results, in the original kafka-scale shape.
type LegacyCount struct {
	Description string
	Count       uint64
}

// Results is the body of /results: year -> housing code -> count, summed
// over the months of each year.
type Results map[string]map[string]LegacyCount
