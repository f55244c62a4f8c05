package censusgen

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/kafka-scale/kafka-scale/pkg/census"
)

// statePopulation is the 2020 census population by FIPS code, in thousands.
var statePopulation = [census.MaxState + 1]float64{
	1: 5024, 2: 733, 4: 7152, 5: 3012, 6: 39538, 8: 5774, 9: 3606, 10: 990, 11: 690, 12: 21538,
	13: 10712, 15: 1455, 16: 1839, 17: 12813, 18: 6786, 19: 3190, 20: 2938, 21: 4506, 22: 4658,
	23: 1362, 24: 6177, 25: 7030, 26: 10077, 27: 5706, 28: 2961, 29: 6155, 30: 1084, 31: 1962,
	32: 3105, 33: 1378, 34: 9289, 35: 2118, 36: 20201, 37: 10439, 38: 779, 39: 11799, 40: 3959,
	41: 4237, 42: 13003, 44: 1097, 45: 5118, 46: 887, 47: 6911, 48: 29146, 49: 3272, 50: 643,
	51: 8631, 53: 7705, 54: 1794, 55: 5894, 56: 577,
}

// Like the survey, the sample favours small states: a state's share of the
// sample grows as population^sampleExponent, and its weights are larger
// where the sample is thinner.
const sampleExponent = 0.8

// nominalRecords is the file size the weights are scaled for, so that a
// person's weight does not depend on the number of records asked for.
const nominalRecords = 150_000

type stateTables struct {
	fips   []int       // the 51 codes
	cdf    []float64   // cumulative sample share, parallel to fips
	weight [57]float64 // mean weight of a person, in persons
	factor [57]float64 // unemployment relative to the national rate, 0.7-1.3
}

var states = func() *stateTables {
	st := &stateTables{fips: census.States()}
	total := 0.0
	for _, f := range st.fips {
		total += math.Pow(statePopulation[f], sampleExponent)
	}
	acc := 0.0
	for _, f := range st.fips {
		share := math.Pow(statePopulation[f], sampleExponent) / total
		acc += share
		st.cdf = append(st.cdf, acc)
		st.weight[f] = statePopulation[f] * 1000 / (nominalRecords * share)
		// Fixed for a state whatever the seed, so states keep their rank.
		st.factor[f] = 0.7 + 0.6*rand.New(rand.NewPCG(uint64(f), 0x73746174)).Float64()
	}
	st.cdf[len(st.cdf)-1] = 1
	return st
}()

// periodRate is the base unemployment rate of a month, 3.5-5%, the same
// whatever the seed so that a month can be told from another.
func periodRate(year, month int) float64 {
	return 0.035 + 0.015*rand.New(rand.NewPCG(uint64(year)<<4|uint64(month), 0x756e656d)).Float64()
}

// choice draws from a discrete distribution.
type choice struct {
	values []int
	cdf    []float64
}

func newChoice(pairs ...float64) choice {
	var c choice
	total := 0.0
	for i := 1; i < len(pairs); i += 2 {
		total += pairs[i]
	}
	acc := 0.0
	for i := 0; i+1 < len(pairs); i += 2 {
		acc += pairs[i+1] / total
		c.values = append(c.values, int(pairs[i]))
		c.cdf = append(c.cdf, acc)
	}
	c.cdf[len(c.cdf)-1] = 1
	return c
}

func (c *choice) draw(rng *rand.Rand) int {
	return c.values[sort.SearchFloat64s(c.cdf, rng.Float64())]
}

var (
	householdSize = newChoice(1, 28, 2, 35, 3, 15, 4, 13, 5, 6, 6, 2, 7, 1)
	// HEHOUSUT: mostly houses and flats, a few percent mobile homes.
	housingType = newChoice(1, 925, 5, 40, 6, 15, 0, 3, 2, 2, 3, 1, 4, 2, 7, 2, 8, 1, 9, 0.5, 10, 0.5, 11, 6, 12, 2)
	// HETENURE is asked in months in sample 1 and 5 only: -1 elsewhere.
	tenure  = newChoice(1, 65, 2, 32, 3, 2, -2, 0.5, -3, 0.5)
	hufinal = newChoice(201, 55, 1, 40, 203, 3, 2, 2)
)

// generator builds records one at a time in a reused line buffer.
type generator struct {
	layout   *census.Layout // of the month: where each field goes
	ageTop   int            // the month's PRTAGE top code
	hhidMod  uint64         // 10^(HRHHID's width)
	rng      *rand.Rand
	baseRate float64
	line     [census.RecordLen + 4]byte
	// The templates with the period filled in, ending in CRLF.
	employed, notEmployed [census.RecordLen + 2]byte

	// The household being written.
	size, nth int
	refAge    int
	hhid      uint64
	fips      int
	housing   int
	tenure    int
	hufinal   int
}

func newGenerator(o *Options) *generator {
	layout, err := census.LayoutOf(o.Year, o.Month)
	if err != nil {
		panic(err) // Options.validate checked the month
	}
	_, start, end := layout.Columns(census.HRHHID)
	g := &generator{
		layout:   layout,
		ageTop:   census.AgeTopCode(o.Year, o.Month),
		hhidMod:  uint64(math.Pow10(end - start + 1)),
		rng:      rand.New(rand.NewPCG(o.Seed, uint64(o.Year)<<4|uint64(o.Month))),
		baseRate: periodRate(o.Year, o.Month),
	}
	if o.UnemploymentRate > 0 {
		g.baseRate = o.UnemploymentRate
	}
	for _, t := range []struct {
		dst *[census.RecordLen + 2]byte
		src string
	}{{&g.employed, templateEmployed}, {&g.notEmployed, templateNotEmployed}} {
		copy(t.dst[:], t.src)
		copy(t.dst[census.RecordLen:], "\r\n")
		if g.layout.TwoDigitYear() {
			// The template's 2020 period is not where these layouts
			// have one: leave no valid period in the newest layout's
			// columns, so that a file read in the wrong layout is
			// rejected rather than read.
			putInt(t.dst[:], census.HRMONTH, -1)
			putInt(t.dst[:], census.HRYEAR4, -1)
		}
		g.putInt(t.dst[:], census.HRMONTH, int64(o.Month))
		year := o.Year
		if g.layout.TwoDigitYear() {
			year %= 100
		}
		g.putZeroPadded(t.dst[:], census.HRYEAR4, uint64(year))
	}
	return g
}

func (g *generator) newHousehold() {
	g.size, g.nth = householdSize.draw(g.rng), 0
	g.hhid = g.rng.Uint64N(1_000_000_000_000_000) % g.hhidMod
	g.fips = states.fips[sort.SearchFloat64s(states.cdf, g.rng.Float64())]
	g.housing = housingType.draw(g.rng)
	g.tenure = -1
	if g.rng.IntN(4) == 0 {
		g.tenure = tenure.draw(g.rng)
	}
	g.hufinal = hufinal.draw(g.rng)
	g.refAge = adultAge(g.rng)
}

// adultAge draws the age of an adult, 18-90, before top-coding.
func adultAge(rng *rand.Rand) int {
	switch u := rng.Float64(); {
	case u < 0.30:
		return 18 + rng.IntN(17)
	case u < 0.65:
		return 35 + rng.IntN(20)
	case u < 0.82:
		return 55 + rng.IntN(10)
	default:
		return 65 + rng.IntN(26)
	}
}

// age draws the age of the household's next person.
func (g *generator) age() int {
	switch {
	case g.nth == 0:
		return g.refAge
	case g.nth == 1 && g.rng.Float64() < 0.7: // spouse or partner
		return min(90, max(18, g.refAge+int(math.Round(5*g.rng.NormFloat64()))))
	case g.rng.Float64() < 0.75 && g.refAge < 65:
		return g.rng.IntN(18)
	}
	return adultAge(g.rng)
}

// topCode writes ages as PRTAGE does in the month: from April 2004, 80
// for 80-84 and 85 for 85 and over; 80 for 80 and over from 2003; 90 and
// over as 90 before.
func (g *generator) topCode(age int) int {
	switch {
	case g.ageTop == 85 && age >= 85:
		return 85
	case age >= 80 && g.ageTop <= 85:
		return 80
	}
	return min(age, g.ageTop)
}

// participation is the share of a civilian age group in the labor force.
func participation(age int) float64 {
	switch {
	case age < 20:
		return 0.35
	case age < 25:
		return 0.70
	case age < 55:
		return 0.83
	case age < 65:
		return 0.65
	case age < 75:
		return 0.27
	}
	return 0.08
}

// pemlr draws the labor force status of a civilian aged 15 or more.
func (g *generator) pemlr(age int) int {
	rng := g.rng
	if rng.Float64() >= participation(age) {
		switch u := rng.Float64(); {
		case age >= 62 && u < 0.85, age < 62 && u < 0.05:
			return 5 // retired
		case age >= 62 && u < 0.92, age < 62 && u < 0.30:
			return 6 // disabled
		}
		return 7
	}
	rate := g.baseRate * states.factor[g.fips]
	if age < 25 {
		rate *= 2
	} else {
		rate *= 0.9
	}
	if rng.Float64() < rate {
		if rng.Float64() < 0.12 {
			return 3 // on layoff
		}
		return 4
	}
	if rng.Float64() < 0.04 {
		return 2 // absent from work
	}
	return 1
}

// next builds the next good record and returns it with its CRLF.
func (g *generator) next() []byte {
	if g.nth >= g.size {
		g.newHousehold()
	}
	rng := g.rng
	age := g.age()
	g.nth++
	pertype, status := 1, -1 // a child: no labor force items
	if age >= 15 {
		pertype = 2
		if age < 50 && rng.Float64() < 0.005 {
			pertype = 3 // armed forces: not in universe either
		} else {
			status = g.pemlr(age)
		}
	}
	tmpl := &g.notEmployed
	if status == 1 || status == 2 {
		tmpl = &g.employed
	}
	line := g.line[:census.RecordLen+2]
	copy(line, tmpl[:])

	g.putZeroPadded(line, census.HRHHID, g.hhid)
	g.putZeroPadded(line, census.HUFINAL, uint64(g.hufinal))
	g.putInt(line, census.HETENURE, int64(g.tenure))
	g.putInt(line, census.HEHOUSUT, int64(g.housing))
	g.putZeroPadded(line, census.GESTFIPS, uint64(g.fips))
	g.putInt(line, census.PRTAGE, int64(g.topCode(age)))
	g.putInt(line, census.PESEX, int64(1+rng.IntN(2)))
	g.putInt(line, census.PRPERTYP, int64(pertype))
	g.putInt(line, census.PEMLR, int64(status))

	// Weights in persons, written raw with 4 implied decimals.
	w := min(9999, max(100, states.weight[g.fips]*math.Exp(0.25*rng.NormFloat64())))
	g.putInt(line, census.PWSSWGT, raw(w))
	var composite, longitudinal float64
	if status != -1 {
		composite = w * (0.97 + 0.06*rng.Float64())
	}
	if age >= 16 && pertype == 2 && rng.Float64() < 0.7 {
		longitudinal = w * (1.1 + 0.5*rng.Float64())
	}
	g.putInt(line, census.PWCMPWGT, raw(composite))
	g.putInt(line, census.PWLGWGT, raw(longitudinal))
	return line
}

func raw(weight float64) int64 { return int64(math.Round(weight * 10000)) }

// bad builds a bad line of the given kind.
func (g *generator) bad(kind BadKind) []byte {
	line := g.line[:]
	copy(line, g.notEmployed[:census.RecordLen])
	switch kind {
	case Short:
		return append(line[:census.RecordLen-2], "\r\n"...)
	case Long:
		return append(line[:census.RecordLen], "  \r\n"...)
	default:
		copy(g.layout.Bytes(census.PEMLR, line), "x1")
		return append(line[:census.RecordLen], "\r\n"...)
	}
}

// putInt writes v into f's columns of the month's layout; nothing where the
// layout has no f.
func (g *generator) putInt(line []byte, f census.Field, v int64) {
	if b := g.layout.Bytes(f, line); b != nil {
		putIntAt(b, v)
	}
}

// putZeroPadded is putZeroPadded in the month's layout.
func (g *generator) putZeroPadded(line []byte, f census.Field, v uint64) {
	if b := g.layout.Bytes(f, line); b != nil {
		putZeroPaddedAt(b, v)
	}
}

// putInt writes v into f's columns of the newest layout, right-justified
// and space-padded.
func putInt(line []byte, f census.Field, v int64) { putIntAt(f.Bytes(line), v) }

func putIntAt(b []byte, v int64) {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	i := writeDigits(b, u)
	if neg {
		i--
		b[i] = '-'
	}
	for i > 0 {
		i--
		b[i] = ' '
	}
}

// putZeroPadded writes v into f's columns, padded with zeros as the layout
// writes HRHHID, HUFINAL and GESTFIPS.
func putZeroPadded(line []byte, f census.Field, v uint64) { putZeroPaddedAt(f.Bytes(line), v) }

func putZeroPaddedAt(b []byte, v uint64) {
	for i := writeDigits(b, v); i > 0; {
		i--
		b[i] = '0'
	}
}

// writeDigits writes u right-aligned into b and returns where it begins.
func writeDigits(b []byte, u uint64) int {
	i := len(b)
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			return i
		}
	}
}
