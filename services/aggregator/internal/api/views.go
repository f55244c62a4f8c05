package api

import (
	"strconv"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// LegacyCount is one cell of /results, in the original kafka-scale shape.
type LegacyCount struct {
	Description string
	Count       uint64
}

// Results is year -> housing code -> count, summed over the months of each
// year. Codes with no records are left out, as the original did.
func Results(t *tally.Tally) map[string]map[string]LegacyCount {
	out := map[string]map[string]LegacyCount{}
	for p, m := range t.All() {
		y := strconv.Itoa(p.Year)
		codes := out[y]
		if codes == nil {
			codes = map[string]LegacyCount{}
			out[y] = codes
		}
		for code := -1; code <= census.MaxHousing; code++ {
			n := m.HousingCount(code)
			if n == 0 {
				continue
			}
			k := strconv.Itoa(code)
			c := codes[k]
			c.Description = housingDescription(code)
			c.Count += n
			codes[k] = c
		}
	}
	return out
}

func housingDescription(code int) string {
	if code == -1 {
		return "NOT IN UNIVERSE"
	}
	return census.HousingDescription(code)
}

// HousingCount is one housing code's count.
type HousingCount struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
	Count       uint64 `json:"count"`
}

// HousingResponse is the body of /v1/housing.
type HousingResponse struct {
	Year    int            `json:"year"`
	Month   *int           `json:"month"`
	Records uint64         `json:"records"`
	Housing []HousingCount `json:"housing"`
	// IncompleteSources: sources of the period counted in part from results
	// without this table (computers older than it); their counts are short.
	IncompleteSources []string `json:"incomplete_sources,omitempty"`
}

// Housing tabulates one month, or every month of a year when hasMonth is
// false. ok is false when there is no data for the period.
func Housing(t *tally.Tally, year, month int, hasMonth bool) (HousingResponse, bool) {
	var m tally.Month
	if hasMonth {
		mm := t.Month(year, month)
		if mm == nil {
			return HousingResponse{}, false
		}
		m = *mm
	} else {
		var ok bool
		if m, ok = t.Year(year); !ok {
			return HousingResponse{}, false
		}
	}
	resp := HousingResponse{Year: year, Records: m.Records, Housing: []HousingCount{}}
	if hasMonth {
		resp.Month = &month
	}
	for code := -1; code <= census.MaxHousing; code++ {
		if n := m.HousingCount(code); n > 0 {
			resp.Housing = append(resp.Housing, HousingCount{Code: code, Description: housingDescription(code), Count: n})
		}
	}
	return resp, true
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

// Figures converts a tally's labor counts into weighted figures.
func Figures(l tally.Labor) LaborFigures {
	return LaborFigures{
		Employed: tally.Weight(l.EmployedWeight), Unemployed: tally.Weight(l.UnemployedWeight),
		NotInLaborForce: tally.Weight(l.NotInLaborForceWeight), LaborForce: tally.Weight(l.LaborForceWeight()),
		UnemploymentRate: l.UnemploymentRate(),
		Persons:          Persons{Employed: l.Employed, Unemployed: l.Unemployed, NotInLaborForce: l.NotInLaborForce},
	}
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

// LaborForce is the labor force of one month, national and by state (one
// state when hasState). ok is false when there is no data for the month.
func LaborForce(t *tally.Tally, year, month, state int, hasState bool) (LaborForceResponse, bool) {
	m := t.Month(year, month)
	if m == nil {
		return LaborForceResponse{}, false
	}
	resp := LaborForceResponse{Year: year, Month: month, National: Figures(m.National()), States: []StateFigures{}}
	for _, fips := range census.States() {
		if hasState && fips != state {
			continue
		}
		l := m.State(fips)
		if l.IsZero() && !hasState {
			continue
		}
		resp.States = append(resp.States, StateFigures{FIPS: fips, State: census.StateAbbrev(fips), Name: census.StateName(fips), LaborFigures: Figures(l)})
	}
	return resp, true
}
