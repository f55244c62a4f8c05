package harness

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		ended  bool
		want   []string
	}{
		{name: "nothing", want: nil},
		{name: "whole lines", writes: []string{"a\nb\n"}, want: []string{"a", "b"}},
		{name: "split writes", writes: []string{"a", "b\nc", "d\n"}, want: []string{"ab", "cd"}},
		{name: "a line being printed", writes: []string{"a\nb"}, want: []string{"a"}},
		{name: "the last line once ended", writes: []string{"a\nb"}, ended: true, want: []string{"a", "b"}},
		{name: "empty lines", writes: []string{"\n\n"}, want: []string{"", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l lines
			for _, w := range tc.writes {
				n, err := l.Write([]byte(w))
				require.NoError(t, err)
				require.Equal(t, len(w), n)
			}
			require.Equal(t, tc.want, l.get(tc.ended))
		})
	}
}
