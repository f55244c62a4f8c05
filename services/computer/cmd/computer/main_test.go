package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGCPercent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		want   int
		wantOK bool
	}{
		{name: "computer's own", want: 400, wantOK: true},
		{name: "GOGC wins", env: map[string]string{"GOGC": "100"}},
		{name: "even GOGC=off", env: map[string]string{"GOGC": "off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := gcPercent(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, p)
		})
	}
}
