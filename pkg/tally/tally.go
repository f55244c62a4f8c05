// Package tally provides the tabulation of census records: per month, the
// number of records, housing units by type, and the labor force by state
// and by sex and age group.
//
// A Tally is a partial aggregate: computers tabulate chunks of records into
// Tallies and the aggregator merges them. Everything in it is an integer
// (weights are summed raw, with their 4 implied decimals), so a merge is
// exact and the result does not depend on the order of records or merges.
// Weights become floats only at the edges, in Weight and the rates.
package tally

import (
	"cmp"
	"fmt"
	"iter"
	"maps"
	"slices"

	"github.com/kafka-scale/kafka-scale/pkg/census"
)

// WeightScale is what a raw weight is divided by: weights have 4 implied
// decimals.
const WeightScale = 10000

// Weight is a raw weight, or a sum of them, in persons.
func Weight(raw int64) float64 { return float64(raw) / WeightScale }

// Period is the month of a record's interview (HRYEAR4, HRMONTH).
type Period struct {
	Year, Month int
}

func (p Period) String() string { return fmt.Sprintf("%04d-%02d", p.Year, p.Month) }

// Compare orders periods in time: -1 if p is before q, 0 if equal, +1 if after.
func (p Period) Compare(q Period) int {
	if c := cmp.Compare(p.Year, q.Year); c != 0 {
		return c
	}
	return cmp.Compare(p.Month, q.Month)
}

// Labor is the labor force of an area in a month, following the BLS
// recipe: persons aged 16 and over with a PEMLR of 1-7, counted and
// weighted by PWCMPWGT (PWSSWGT before 1998: census.Record.LaborForceWeight).
// Weights are raw sums (see Weight).
type Labor struct {
	Employed, Unemployed, NotInLaborForce                   uint64
	EmployedWeight, UnemployedWeight, NotInLaborForceWeight int64
}

// Add adds the counts of o to l.
func (l *Labor) Add(o *Labor) {
	l.Employed += o.Employed
	l.Unemployed += o.Unemployed
	l.NotInLaborForce += o.NotInLaborForce
	l.EmployedWeight += o.EmployedWeight
	l.UnemployedWeight += o.UnemployedWeight
	l.NotInLaborForceWeight += o.NotInLaborForceWeight
}

// LaborForce is the number of persons counted in the labor force (employed
// or unemployed).
func (l Labor) LaborForce() uint64 { return l.Employed + l.Unemployed }

// LaborForceWeight is the raw weight of the labor force.
func (l Labor) LaborForceWeight() int64 { return l.EmployedWeight + l.UnemployedWeight }

// UnemploymentRate is the weighted share of the labor force that is
// unemployed, as BLS publishes it (not seasonally adjusted): 0.04 for 4%.
// It is 0 when the labor force is empty.
func (l Labor) UnemploymentRate() float64 {
	lf := l.LaborForceWeight()
	if lf == 0 {
		return 0
	}
	return float64(l.UnemployedWeight) / float64(lf)
}

// IsZero reports whether nothing was counted.
func (l Labor) IsZero() bool { return l == Labor{} }

// count counts one person of status with raw weight w.
func (l *Labor) count(status census.LaborForce, w int64) {
	switch status {
	case census.Employed:
		l.Employed++
		l.EmployedWeight += w
	case census.Unemployed:
		l.Unemployed++
		l.UnemployedWeight += w
	case census.NotInLaborForce:
		l.NotInLaborForce++
		l.NotInLaborForceWeight += w
	}
}

// Month is the tabulation of one period.
type Month struct {
	// Records counts every record, whatever its age or status.
	Records uint64
	// Housing counts records by HEHOUSUT code (0-12).
	Housing [census.MaxHousing + 1]uint64
	// HousingOther counts records whose HEHOUSUT is not a code 0-12, that
	// is -1, not in universe.
	HousingOther uint64
	// States is the labor force by GESTFIPS code; entry 0 holds records
	// whose code is not a state's (Parse rejects those, so it stays 0 on
	// parsed records).
	States [census.MaxState + 1]Labor
	// SexAge is the national labor force by PESEX code and age group
	// (census.AgeGroupOf); entry 0 holds records whose PESEX is neither 1
	// nor 2. It counts the same persons as States.
	SexAge [census.MaxSex + 1][census.NumAgeGroups]Labor
}

// Add adds the counts of o to m.
func (m *Month) Add(o *Month) {
	m.Records += o.Records
	for i := range m.Housing {
		m.Housing[i] += o.Housing[i]
	}
	m.HousingOther += o.HousingOther
	for i := range m.States {
		m.States[i].Add(&o.States[i])
	}
	for sex := range m.SexAge {
		for g := range m.SexAge[sex] {
			m.SexAge[sex][g].Add(&o.SexAge[sex][g])
		}
	}
}

// HousingCount is the number of records with HEHOUSUT code, -1 included.
func (m *Month) HousingCount(code int) uint64 {
	if code >= 0 && code <= census.MaxHousing {
		return m.Housing[code]
	}
	if code == -1 {
		return m.HousingOther
	}
	return 0
}

// State is the labor force of the state with FIPS code fips.
func (m *Month) State(fips int) Labor {
	if fips < 0 || fips > census.MaxState {
		return Labor{}
	}
	return m.States[fips]
}

// BySexAge is the national labor force of PESEX code sex (0 for neither 1
// nor 2) in age group g.
func (m *Month) BySexAge(sex int, g census.AgeGroup) Labor {
	if sex < 0 || sex > census.MaxSex || g < 0 || g >= census.NumAgeGroups {
		return Labor{}
	}
	return m.SexAge[sex][g]
}

// National is the labor force of all states together.
func (m *Month) National() Labor {
	var l Labor
	for i := range m.States {
		l.Add(&m.States[i])
	}
	return l
}

// IsZero reports whether nothing was counted.
func (m *Month) IsZero() bool { return *m == Month{} }

// Tally is the tabulation of any number of records, by period. The zero
// value is an empty Tally ready to use. A Tally is not safe for concurrent
// use.
type Tally struct {
	months map[Period]*Month
	// Records of one file share a period, so Add looks the map up only
	// when the period changes.
	lastPeriod Period
	last       *Month
}

// New returns an empty Tally.
func New() *Tally { return &Tally{} }

// month returns the Month of p, creating it if needed.
func (t *Tally) month(p Period) *Month {
	if t.last != nil && t.lastPeriod == p {
		return t.last
	}
	m := t.months[p]
	if m == nil {
		if t.months == nil {
			t.months = map[Period]*Month{}
		}
		m = &Month{}
		t.months[p] = m
	}
	t.lastPeriod, t.last = p, m
	return m
}

// Add counts one record: in Records and Housing always, and in the labor
// force of its state and of its sex and age group when PRTAGE >= 16 and
// PEMLR is 1-7. It allocates only for a period it has not seen.
func (t *Tally) Add(r *census.Record) {
	m := t.month(Period{Year: int(r.HRYEAR4), Month: int(r.HRMONTH)})
	m.Records++
	if h := r.HEHOUSUT; h >= 0 && h <= census.MaxHousing {
		m.Housing[h]++
	} else {
		m.HousingOther++
	}
	group, ok := census.AgeGroupOf(int(r.PRTAGE))
	if !ok {
		return
	}
	fips := r.GESTFIPS
	if fips < 0 || fips > census.MaxState {
		fips = 0
	}
	sex := r.PESEX
	if sex < 0 || sex > census.MaxSex {
		sex = 0
	}
	status := census.LaborForceStatus(int(r.PEMLR))
	if status == census.NotInUniverse {
		return
	}
	m.States[fips].count(status, r.LaborForceWeight)
	m.SexAge[sex][group].count(status, r.LaborForceWeight)
}

// AddMonth adds the counts of m to period p, as merging a Tally holding
// only them would.
func (t *Tally) AddMonth(p Period, m *Month) {
	t.month(p).Add(m)
}

// Merge adds the counts of o to t. o may be nil.
func (t *Tally) Merge(o *Tally) {
	if o == nil {
		return
	}
	for p, m := range o.months {
		t.month(p).Add(m)
	}
}

// Clone returns a copy of t that shares nothing with it.
func (t *Tally) Clone() *Tally {
	c := New()
	c.Merge(t)
	return c
}

// Equal reports whether t and o hold the same counts. Periods with nothing
// counted are the same as absent ones; nil is an empty Tally.
func (t *Tally) Equal(o *Tally) bool {
	return t.covers(o) && o.covers(t)
}

func (t *Tally) covers(o *Tally) bool {
	if t == nil {
		return o == nil || o.IsZero()
	}
	if o == nil {
		return true
	}
	for p, m := range t.months {
		om := o.months[p]
		if om == nil {
			if !m.IsZero() {
				return false
			}
			continue
		}
		if *m != *om {
			return false
		}
	}
	return true
}

// IsZero reports whether nothing was counted.
func (t *Tally) IsZero() bool {
	if t == nil {
		return true
	}
	for _, m := range t.months {
		if !m.IsZero() {
			return false
		}
	}
	return true
}

// Len is the number of periods in t.
func (t *Tally) Len() int {
	if t == nil {
		return 0
	}
	return len(t.months)
}

// Periods lists the periods in t, oldest first.
func (t *Tally) Periods() []Period {
	if t == nil {
		return nil
	}
	return slices.SortedFunc(maps.Keys(t.months), Period.Compare)
}

// All yields the periods in t, oldest first, with their counts. The caller
// must not modify them.
func (t *Tally) All() iter.Seq2[Period, *Month] {
	return func(yield func(Period, *Month) bool) {
		for _, p := range t.Periods() {
			if !yield(p, t.months[p]) {
				return
			}
		}
	}
}

// Month is the tabulation of a period, or nil when t has none. The caller
// must not modify it.
func (t *Tally) Month(year, month int) *Month {
	if t == nil {
		return nil
	}
	return t.months[Period{Year: year, Month: month}]
}

// Year is the sum of the months of year that t holds, and whether it holds
// any. Counts add up across months; for labor force levels of a year,
// average the months instead.
func (t *Tally) Year(year int) (Month, bool) {
	var sum Month
	found := false
	if t == nil {
		return sum, false
	}
	for p, m := range t.months {
		if p.Year == year {
			sum.Add(m)
			found = true
		}
	}
	return sum, found
}

// Records is the number of records in t, in every period.
func (t *Tally) Records() uint64 {
	if t == nil {
		return 0
	}
	var n uint64
	for _, m := range t.months {
		n += m.Records
	}
	return n
}

// UnemploymentRate is the national unemployment rate of a period (see
// Labor.UnemploymentRate), and whether t holds the period.
func (t *Tally) UnemploymentRate(year, month int) (float64, bool) {
	m := t.Month(year, month)
	if m == nil {
		return 0, false
	}
	l := m.National()
	return l.UnemploymentRate(), true
}

// Rejects counts rejected records by reason (census.Reason). Make it with
// Rejects{} or make: a nil Rejects cannot be added to.
type Rejects map[string]uint64

// Add counts n rejects for reason.
func (r Rejects) Add(reason string, n uint64) { r[reason] += n }

// Merge adds the counts of o to r.
func (r Rejects) Merge(o Rejects) {
	for reason, n := range o {
		r[reason] += n
	}
}

// Total is the number of rejects for every reason.
func (r Rejects) Total() uint64 {
	var n uint64
	for _, c := range r {
		n += c
	}
	return n
}

// Equal reports whether r and o hold the same counts; a reason with count 0
// is the same as an absent one.
func (r Rejects) Equal(o Rejects) bool {
	for reason, n := range r {
		if o[reason] != n {
			return false
		}
	}
	for reason, n := range o {
		if r[reason] != n {
			return false
		}
	}
	return true
}
