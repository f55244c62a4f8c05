package schema

import (
	"fmt"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/schema/schemapb"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// AppendTally appends the encoding of t to b. Months, states and sex and
// age groups with nothing counted are left out.
func AppendTally(b []byte, t *tally.Tally) []byte {
	return appendVT(b, tallyToPB(t))
}

// tallyToPB converts t, months, states and sex and age groups with nothing
// counted left out.
// The messages of each kind share one allocation.
func tallyToPB(t *tally.Tally) *schemapb.Tally {
	var months, states, sexAges int
	for _, m := range t.All() {
		if m.IsZero() {
			continue
		}
		months++
		for i := range m.States {
			if !m.States[i].IsZero() {
				states++
			}
		}
		for sex := range m.SexAge {
			for g := range m.SexAge[sex] {
				if !m.SexAge[sex][g].IsZero() {
					sexAges++
				}
			}
		}
	}
	out := &schemapb.Tally{Months: make([]*schemapb.Month, 0, months)}
	mpb := make([]schemapb.Month, 0, months)
	spb := make([]schemapb.State, 0, states)
	sptr := make([]*schemapb.State, 0, states)
	sapb := make([]schemapb.SexAge, 0, sexAges)
	saptr := make([]*schemapb.SexAge, 0, sexAges)
	housing := make([]uint64, 0, months*len(tally.Month{}.Housing))
	for p, m := range t.All() {
		if m.IsZero() {
			continue
		}
		first := len(sptr)
		for fips := range m.States {
			l := &m.States[fips]
			if l.IsZero() {
				continue
			}
			spb = append(spb, schemapb.State{
				Fips: uint32(fips), Employed: l.Employed, Unemployed: l.Unemployed, NotInLaborForce: l.NotInLaborForce,
				EmployedWeight: l.EmployedWeight, UnemployedWeight: l.UnemployedWeight, NotInLaborForceWeight: l.NotInLaborForceWeight,
			})
			sptr = append(sptr, &spb[len(spb)-1])
		}
		firstSA := len(saptr)
		for sex := range m.SexAge {
			for g := range m.SexAge[sex] {
				l := &m.SexAge[sex][g]
				if l.IsZero() {
					continue
				}
				sapb = append(sapb, schemapb.SexAge{
					Sex: uint32(sex), AgeGroup: uint32(g), Employed: l.Employed, Unemployed: l.Unemployed, NotInLaborForce: l.NotInLaborForce,
					EmployedWeight: l.EmployedWeight, UnemployedWeight: l.UnemployedWeight, NotInLaborForceWeight: l.NotInLaborForceWeight,
				})
				saptr = append(saptr, &sapb[len(sapb)-1])
			}
		}
		h := len(housing)
		housing = append(housing, m.Housing[:]...)
		mpb = append(mpb, schemapb.Month{
			Year: uint32(p.Year), Month: uint32(p.Month), Records: m.Records,
			Housing: housing[h:len(housing):len(housing)], HousingOther: m.HousingOther,
			States: sptr[first:len(sptr):len(sptr)], SexAge: saptr[firstSA:len(saptr):len(saptr)],
		})
		out.Months = append(out.Months, &mpb[len(mpb)-1])
	}
	return out
}

// DecodeTally adds the counts encoded in b to t. A tally of more than
// MaxTallyMonths periods is rejected before the period past it is added.
func DecodeTally(b []byte, t *tally.Tally) error {
	var m schemapb.Tally
	if err := m.UnmarshalVT(b); err != nil {
		return malformed("tally", err)
	}
	return tallyFromPB(&m, t)
}

// tallyFromPB adds the counts of pb to t.
func tallyFromPB(pb *schemapb.Tally, t *tally.Tally) error {
	for _, mp := range pb.Months {
		p := tally.Period{Year: int(mp.Year), Month: int(mp.Month)}
		m := tally.Month{Records: mp.Records, HousingOther: mp.HousingOther}
		copy(m.Housing[:], mp.Housing)
		for _, s := range mp.States {
			if s.Fips > census.MaxState {
				return fmt.Errorf("%w: state FIPS %d", ErrMalformed, s.Fips)
			}
			m.States[s.Fips].Add(&tally.Labor{
				Employed: s.Employed, Unemployed: s.Unemployed, NotInLaborForce: s.NotInLaborForce,
				EmployedWeight: s.EmployedWeight, UnemployedWeight: s.UnemployedWeight, NotInLaborForceWeight: s.NotInLaborForceWeight,
			})
		}
		for _, sa := range mp.SexAge {
			if sa.Sex > census.MaxSex {
				return fmt.Errorf("%w: sex %d", ErrMalformed, sa.Sex)
			}
			if sa.AgeGroup >= uint32(census.NumAgeGroups) {
				return fmt.Errorf("%w: age group %d", ErrMalformed, sa.AgeGroup)
			}
			m.SexAge[sa.Sex][sa.AgeGroup].Add(&tally.Labor{
				Employed: sa.Employed, Unemployed: sa.Unemployed, NotInLaborForce: sa.NotInLaborForce,
				EmployedWeight: sa.EmployedWeight, UnemployedWeight: sa.UnemployedWeight, NotInLaborForceWeight: sa.NotInLaborForceWeight,
			})
		}
		if t.Month(p.Year, p.Month) == nil && t.Len() >= MaxTallyMonths {
			return limitErr("tally periods", uint64(t.Len())+1, MaxTallyMonths)
		}
		t.AddMonth(p, &m)
	}
	return nil
}
