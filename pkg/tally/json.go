package tally

import (
	"encoding/json"
	"fmt"

	"github.com/kafka-scale/kafka-scale/pkg/census"
)

// Doc is the JSON form of a Tally. It is stable: periods in time order,
// housing codes and states in code order, and only what was counted
// (absent means 0). Weights are raw integers, to be divided by
// WeightScale. Descriptions, state abbreviations, the national labor force
// and the rates are derived, for readers; UnmarshalJSON ignores them.
//
//	{
//	  "weight_scale": 10000,
//	  "periods": [
//	    {
//	      "year": 2020, "month": 1, "records": 150000,
//	      "housing": [{"code": 1, "description": "HOUSE, APARTMENT, FLAT", "count": 141200}, ...],
//	      "labor_force": {"employed": 70100, "unemployed": 2900, "not_in_labor_force": 45000,
//	                      "employed_weight": 1301234567890, ..., "unemployment_rate": 0.0401},
//	      "states": [{"fips": 1, "state": "AL", "employed": 1100, ...}, ...],
//	      "sex_age": [{"sex": 1, "sex_name": "male", "age_group": "16-19", "employed": 900, ...}, ...]
//	    }
//	  ]
//	}
type Doc struct {
	WeightScale int         `json:"weight_scale"`
	Periods     []PeriodDoc `json:"periods"`
}

// PeriodDoc is one period of a Doc.
type PeriodDoc struct {
	Year       int          `json:"year"`
	Month      int          `json:"month"`
	Records    uint64       `json:"records"`
	Housing    []HousingDoc `json:"housing"`
	LaborForce LaborDoc     `json:"labor_force"` // derived: the sum of States
	States     []StateDoc   `json:"states"`
	SexAge     []SexAgeDoc  `json:"sex_age"`
}

// HousingDoc is the count of one HEHOUSUT code; code -1 is Month.HousingOther.
type HousingDoc struct {
	Code        int    `json:"code"`
	Description string `json:"description,omitempty"` // derived
	Count       uint64 `json:"count"`
}

// LaborDoc is a Labor in a Doc.
type LaborDoc struct {
	Employed              uint64  `json:"employed"`
	Unemployed            uint64  `json:"unemployed"`
	NotInLaborForce       uint64  `json:"not_in_labor_force"`
	EmployedWeight        int64   `json:"employed_weight"`
	UnemployedWeight      int64   `json:"unemployed_weight"`
	NotInLaborForceWeight int64   `json:"not_in_labor_force_weight"`
	UnemploymentRate      float64 `json:"unemployment_rate"` // derived
}

// StateDoc is the labor force of one state in a Doc.
type StateDoc struct {
	FIPS   int    `json:"fips"`
	Abbrev string `json:"state,omitempty"` // derived
	LaborDoc
}

// SexAgeDoc is the national labor force of one sex and age group in a
// Doc: Month.SexAge.
type SexAgeDoc struct {
	Sex      int    `json:"sex"`                // PESEX code, 0 for neither 1 nor 2
	SexName  string `json:"sex_name,omitempty"` // derived
	AgeGroup string `json:"age_group"`          // census.AgeGroup's name: "16-19", ..., "65+"
	LaborDoc
}

func laborDoc(l *Labor) LaborDoc {
	return LaborDoc{
		Employed: l.Employed, Unemployed: l.Unemployed, NotInLaborForce: l.NotInLaborForce,
		EmployedWeight: l.EmployedWeight, UnemployedWeight: l.UnemployedWeight, NotInLaborForceWeight: l.NotInLaborForceWeight,
		UnemploymentRate: l.UnemploymentRate(),
	}
}

func (d *LaborDoc) labor() Labor {
	return Labor{
		Employed: d.Employed, Unemployed: d.Unemployed, NotInLaborForce: d.NotInLaborForce,
		EmployedWeight: d.EmployedWeight, UnemployedWeight: d.UnemployedWeight, NotInLaborForceWeight: d.NotInLaborForceWeight,
	}
}

// Doc returns the JSON form of t.
func (t *Tally) Doc() Doc {
	d := Doc{WeightScale: WeightScale, Periods: []PeriodDoc{}}
	for p, m := range t.All() {
		pd := PeriodDoc{Year: p.Year, Month: p.Month, Records: m.Records, Housing: []HousingDoc{}, States: []StateDoc{}, SexAge: []SexAgeDoc{}}
		if m.HousingOther > 0 {
			pd.Housing = append(pd.Housing, HousingDoc{Code: -1, Count: m.HousingOther})
		}
		for code, n := range m.Housing {
			if n > 0 {
				pd.Housing = append(pd.Housing, HousingDoc{Code: code, Description: census.HousingDescription(code), Count: n})
			}
		}
		national := m.National()
		pd.LaborForce = laborDoc(&national)
		for fips := range m.States {
			if l := &m.States[fips]; !l.IsZero() {
				pd.States = append(pd.States, StateDoc{FIPS: fips, Abbrev: census.StateAbbrev(fips), LaborDoc: laborDoc(l)})
			}
		}
		for sex := range m.SexAge {
			for g := range m.SexAge[sex] {
				if l := &m.SexAge[sex][g]; !l.IsZero() {
					pd.SexAge = append(pd.SexAge, SexAgeDoc{Sex: sex, SexName: census.SexName(sex),
						AgeGroup: census.AgeGroup(g).String(), LaborDoc: laborDoc(l)})
				}
			}
		}
		d.Periods = append(d.Periods, pd)
	}
	return d
}

// FromDoc builds a Tally from its JSON form, ignoring the derived fields.
func FromDoc(d *Doc) (*Tally, error) {
	if d.WeightScale != 0 && d.WeightScale != WeightScale {
		return nil, fmt.Errorf("weight_scale %d: want %d", d.WeightScale, WeightScale)
	}
	t := New()
	for _, pd := range d.Periods {
		p := Period{Year: pd.Year, Month: pd.Month}
		if p.Month < 1 || p.Month > 12 {
			return nil, fmt.Errorf("period %s: month %d is not 1-12", p, p.Month)
		}
		m := Month{Records: pd.Records}
		for _, h := range pd.Housing {
			switch {
			case h.Code == -1:
				m.HousingOther += h.Count
			case h.Code >= 0 && h.Code <= census.MaxHousing:
				m.Housing[h.Code] += h.Count
			default:
				return nil, fmt.Errorf("period %s: housing code %d is not -1..%d", p, h.Code, census.MaxHousing)
			}
		}
		for _, s := range pd.States {
			if s.FIPS < 0 || s.FIPS > census.MaxState {
				return nil, fmt.Errorf("period %s: state fips %d is not 0..%d", p, s.FIPS, census.MaxState)
			}
			l := s.labor()
			m.States[s.FIPS].Add(&l)
		}
		for _, sa := range pd.SexAge {
			if sa.Sex < 0 || sa.Sex > census.MaxSex {
				return nil, fmt.Errorf("period %s: sex %d is not 0..%d", p, sa.Sex, census.MaxSex)
			}
			g, ok := ageGroup(sa.AgeGroup)
			if !ok {
				return nil, fmt.Errorf("period %s: age group %q is not one of 16-19, 20-24, 25-54, 55-64, 65+", p, sa.AgeGroup)
			}
			l := sa.labor()
			m.SexAge[sa.Sex][g].Add(&l)
		}
		t.AddMonth(p, &m)
	}
	return t, nil
}

func ageGroup(name string) (census.AgeGroup, bool) {
	for g := range census.NumAgeGroups {
		if g.String() == name {
			return g, true
		}
	}
	return 0, false
}

// MarshalJSON encodes t as its Doc.
func (t *Tally) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.Doc())
}

// UnmarshalJSON decodes a Doc into t, replacing what t held.
func (t *Tally) UnmarshalJSON(b []byte) error {
	var d Doc
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("decode tally: %w", err)
	}
	n, err := FromDoc(&d)
	if err != nil {
		return fmt.Errorf("decode tally: %w", err)
	}
	*t = *n
	return nil
}
