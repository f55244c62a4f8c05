package api

import (
	"strconv"

	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// Results is year -> housing code -> count, summed over the months of each
// year. Codes with no records are left out, as the original did.
func Results(t *tally.Tally) apiv1.Results {
	out := apiv1.Results{}
	for p, m := range t.All() {
		y := strconv.Itoa(p.Year)
		codes := out[y]
		if codes == nil {
			codes = map[string]apiv1.LegacyCount{}
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

// Housing tabulates one month, or every month of a year when hasMonth is
// false. ok is false when there is no data for the period.
func Housing(t *tally.Tally, year, month int, hasMonth bool) (apiv1.HousingResponse, bool) {
	var m tally.Month
	if hasMonth {
		mm := t.Month(year, month)
		if mm == nil {
			return apiv1.HousingResponse{}, false
		}
		m = *mm
	} else {
		var ok bool
		if m, ok = t.Year(year); !ok {
			return apiv1.HousingResponse{}, false
		}
	}
	resp := apiv1.HousingResponse{Year: year, Records: m.Records, Housing: []apiv1.HousingCount{}}
	if hasMonth {
		resp.Month = &month
	}
	for code := -1; code <= census.MaxHousing; code++ {
		if n := m.HousingCount(code); n > 0 {
			resp.Housing = append(resp.Housing, apiv1.HousingCount{Code: code, Description: housingDescription(code), Count: n})
		}
	}
	return resp, true
}

// Figures converts a tally's labor counts into weighted figures.
func Figures(l tally.Labor) apiv1.LaborFigures {
	return apiv1.LaborFigures{
		Employed: tally.Weight(l.EmployedWeight), Unemployed: tally.Weight(l.UnemployedWeight),
		NotInLaborForce: tally.Weight(l.NotInLaborForceWeight), LaborForce: tally.Weight(l.LaborForceWeight()),
		UnemploymentRate: l.UnemploymentRate(),
		Persons:          apiv1.Persons{Employed: l.Employed, Unemployed: l.Unemployed, NotInLaborForce: l.NotInLaborForce},
	}
}

// LaborForce is the labor force of one month, national and by state (one
// state when hasState). ok is false when there is no data for the month.
func LaborForce(t *tally.Tally, year, month, state int, hasState bool) (apiv1.LaborForceResponse, bool) {
	m := t.Month(year, month)
	if m == nil {
		return apiv1.LaborForceResponse{}, false
	}
	resp := apiv1.LaborForceResponse{Year: year, Month: month, National: Figures(m.National()), States: []apiv1.StateFigures{}}
	for _, fips := range census.States() {
		if hasState && fips != state {
			continue
		}
		l := m.State(fips)
		if l.IsZero() && !hasState {
			continue
		}
		resp.States = append(resp.States, apiv1.StateFigures{FIPS: fips, State: census.StateAbbrev(fips), Name: census.StateName(fips), LaborFigures: Figures(l)})
	}
	return resp, true
}

// LaborForceBySexAge is the national labor force of one month by sex and
// age group. ok is false when there is no data for the month.
func LaborForceBySexAge(t *tally.Tally, year, month int) (apiv1.LaborForceBySexAgeResponse, bool) {
	m := t.Month(year, month)
	if m == nil {
		return apiv1.LaborForceBySexAgeResponse{}, false
	}
	resp := apiv1.LaborForceBySexAgeResponse{Year: year, Month: month, Groups: []apiv1.SexAgeFigures{}}
	for _, sex := range []int{1, 2, 0} {
		for g := range census.NumAgeGroups {
			l := m.BySexAge(sex, g)
			if sex == 0 && l.IsZero() {
				continue
			}
			resp.Groups = append(resp.Groups, apiv1.SexAgeFigures{Sex: census.SexName(sex), AgeGroup: g.String(), LaborFigures: Figures(l)})
		}
	}
	return resp, true
}
