package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedTableIsCurrent fails when pkg/census/layouts_gen.go is not
// what layouts.tsv gives: run go generate ./pkg/census/.
func TestGeneratedTableIsCurrent(t *testing.T) {
	f, err := os.Open("../../layouts/layouts.tsv")
	require.NoError(t, err)
	defer f.Close()
	want, err := Generate(f, "layouts/layouts.tsv")
	require.NoError(t, err)
	got, err := os.ReadFile("../../layouts_gen.go")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "pkg/census/layouts_gen.go is stale: run go generate ./pkg/census/")
}

func TestGenerateRejects(t *testing.T) {
	const header = "first_month\tlast_month\tlayout\tfield\tstart\tend\timplied_decimals\n"
	for _, tc := range []struct {
		name, tsv, want string
	}{
		{"no header", "1994-01\t1994-03\tx\tHRHHID\t1\t12\t0\n", "line 1: want the header"},
		{"columns", header + "1994-01\t1994-03\tx\tHRHHID\t1\n", "line 2: 5 columns, want 7"},
		{"bad columns", header + "1994-01\t1994-03\tx\tHRHHID\t12\t1\t0\n", `line 2: field HRHHID: columns "12"-"1"`},
		{"missing field", header + "1994-01\t1994-03\tx\tHRHHID\t1\t12\t0\n", "layout x: no field HRMONTH"},
		{
			"overlapping months", header + "1994-01\t1994-03\tx\tHRHHID\t1\t12\t0\n1994-03\t1994-05\ty\tHRHHID\t1\t12\t0\n",
			"line 3: layout y begins 1994-03, before x ends (1994-03)",
		},
		{"empty", header, "no layouts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(strings.NewReader(tc.tsv), "test.tsv")
			require.ErrorContains(t, err, tc.want)
		})
	}
}
