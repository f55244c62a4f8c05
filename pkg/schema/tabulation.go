package schema

import (
	"fmt"
	"slices"

	"github.com/kafka-scale/kafka-scale/pkg/schema/schemapb"
)

// Tabulation is a table the computers tabulate into a result's tally.
//
// A result lists the tabulations it carries. During a rolling upgrade that
// adds one, older computers go on writing results without it; the
// aggregator counts, per generation, the chunks whose results lacked each
// tabulation, and the API marks that table incomplete for the source until
// a load counted by computers that carry it replaces the generation.
// Results of computers before the list existed carry ReleasedTabulations.
type Tabulation uint32

// Tabulations, as schema.proto numbers them.
const (
	TabulationHousing    = Tabulation(schemapb.Tabulation_TABULATION_HOUSING)
	TabulationLaborForce = Tabulation(schemapb.Tabulation_TABULATION_LABOR_FORCE)
	TabulationSexAge     = Tabulation(schemapb.Tabulation_TABULATION_SEX_AGE)
)

// MaxTabulations bounds the tabulations a result lists.
const MaxTabulations = 64

// ReleasedTabulations are the tabulations of results without a list: what
// the computers of the first releases filled in.
var ReleasedTabulations = []Tabulation{TabulationHousing, TabulationLaborForce}

// Tabulations lists the tabulations this build knows, which its computers
// fill in and its aggregator tracks.
func Tabulations() []Tabulation {
	return []Tabulation{TabulationHousing, TabulationLaborForce, TabulationSexAge}
}

// String is the tabulation's name in the API: "housing", "labor_force",
// "sex_age".
func (t Tabulation) String() string {
	switch t {
	case TabulationHousing:
		return "housing"
	case TabulationLaborForce:
		return "labor_force"
	case TabulationSexAge:
		return "sex_age"
	}
	return fmt.Sprintf("tabulation(%d)", uint32(t))
}

func tabulationsToPB(ts []Tabulation) []schemapb.Tabulation {
	if len(ts) == 0 {
		return nil
	}
	out := make([]schemapb.Tabulation, len(ts))
	for i, t := range ts {
		out[i] = schemapb.Tabulation(t)
	}
	return out
}

// tabulationsFromPB reads a result's list, sorted and without repeats; an
// empty list is ReleasedTabulations.
func tabulationsFromPB(ts []schemapb.Tabulation) ([]Tabulation, error) {
	if len(ts) == 0 {
		return slices.Clone(ReleasedTabulations), nil
	}
	if len(ts) > MaxTabulations {
		return nil, limitErr("tabulations", uint64(len(ts)), MaxTabulations)
	}
	out := make([]Tabulation, 0, len(ts))
	for _, t := range ts {
		if t == schemapb.Tabulation_TABULATION_UNSPECIFIED || t < 0 {
			return nil, fmt.Errorf("%w: tabulation %d", ErrMalformed, int32(t))
		}
		out = append(out, Tabulation(t))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Carries reports whether the result's tally holds tabulation t. A result
// without a list carries ReleasedTabulations, as on the wire.
func (r *Result) Carries(t Tabulation) bool {
	if len(r.Tabulations) == 0 {
		return slices.Contains(ReleasedTabulations, t)
	}
	return slices.Contains(r.Tabulations, t)
}
