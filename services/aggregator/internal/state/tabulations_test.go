package state

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/pkg/schema"
)

// TestTabulationsOfOldAndNewComputers: in a rolling upgrade, computers of
// two versions count chunks of the same source. A table is incomplete for
// a source while one of its counted chunks came from a computer without
// it, the state snapshot keeps that, and a new load counted by computers
// that carry every table completes it. Results from computers before the
// list (none) carry the released tables: housing and labor force, not the
// sex and age groups added since.
func TestTabulationsOfOldAndNewComputers(t *testing.T) {
	decoded := func(r *schema.Result) *schema.Result {
		var out schema.Result
		require.NoError(t, schema.DecodeResult(schema.AppendResult(nil, r), &out))
		return &out
	}
	// A computer that knows every table of this build, one before the
	// list (nothing on the wire), and one that knows only housing: the
	// shape of a computer older than a table added later.
	current := func(r *schema.Result) *schema.Result { r.Tabulations = schema.Tabulations(); return decoded(r) }
	beforeList := func(r *schema.Result) *schema.Result { r.Tabulations = nil; return decoded(r) }
	housingOnly := func(r *schema.Result) *schema.Result {
		r.Tabulations = []schema.Tabulation{schema.TabulationHousing}
		return decoded(r)
	}

	s := New()
	require.Equal(t, Counted, s.Apply(current(chunkResult("a", "f1", 0, 10, false)), 1))
	require.Equal(t, Counted, s.Apply(beforeList(chunkResult("a", "f1", 1, 10, true)), 2))
	require.Equal(t, []string{"sex_age"}, s.Sources()[0].IncompleteTabulations, "results before the list carry the released tables")
	require.Equal(t, []string{"a"}, s.IncompleteSources(schema.TabulationSexAge, 2020, 1))
	require.Empty(t, s.IncompleteSources(schema.TabulationLaborForce, 2020, 1))

	require.Equal(t, Counted, s.Apply(current(chunkResult("b", "f1", 0, 10, false)), 3))
	require.Equal(t, Counted, s.Apply(housingOnly(chunkResult("b", "f1", 1, 10, true)), 4))
	b := s.Sources()[1]
	require.True(t, b.Complete, "every chunk counted")
	require.Equal(t, []string{"labor_force", "sex_age"}, b.IncompleteTabulations)
	require.Equal(t, []string{"b"}, s.IncompleteSources(schema.TabulationLaborForce, 2020, 1))
	require.Equal(t, []string{"b"}, s.IncompleteSources(schema.TabulationLaborForce, 2020, 0))
	require.Empty(t, s.IncompleteSources(schema.TabulationLaborForce, 2020, 2))
	require.Empty(t, s.IncompleteSources(schema.TabulationHousing, 2020, 1))

	// A copy from a current computer of a chunk counted already counts
	// nothing, so it cannot complete the table.
	require.Equal(t, Duplicate, s.Apply(current(chunkResult("b", "f1", 1, 10, true)), 5))
	require.Equal(t, []string{"b"}, s.IncompleteSources(schema.TabulationLaborForce, 2020, 1))

	// The snapshot keeps it across a restart.
	restored := New()
	for _, g := range s.TakeDirty() {
		var out schema.GenerationState
		require.NoError(t, schema.DecodeGenerationState(schema.AppendGenerationState(nil, g), &out))
		restored.Restore(&out)
	}
	require.Equal(t, []string{"b"}, restored.IncompleteSources(schema.TabulationLaborForce, 2020, 1))
	require.Equal(t, []string{"labor_force", "sex_age"}, restored.Sources()[1].IncompleteTabulations)
	require.Equal(t, []string{"sex_age"}, restored.Sources()[0].IncompleteTabulations)

	// A new load of b, counted by current computers, is complete and
	// becomes the generation the tables use.
	require.Equal(t, Counted, restored.Apply(current(chunkResult("b", "f2", 0, 10, false)), 6))
	require.Equal(t, []string{"b"}, restored.IncompleteSources(schema.TabulationLaborForce, 2020, 1), "the new load is not complete yet")
	require.Equal(t, Counted, restored.Apply(current(chunkResult("b", "f2", 1, 10, true)), 7))
	require.Empty(t, restored.IncompleteSources(schema.TabulationLaborForce, 2020, 1))
	require.Empty(t, restored.Sources()[1].IncompleteTabulations)
}
