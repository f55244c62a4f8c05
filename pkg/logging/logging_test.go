package logging

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "json", cfg: Config{Level: "info", Format: "json"}},
		{name: "console debug", cfg: Config{Level: "debug", Format: "console"}},
		{name: "bad level", cfg: Config{Level: "loud", Format: "json"}, wantErr: `log level "loud"`},
		{name: "bad format", cfg: Config{Level: "info", Format: "xml"}, wantErr: `log format "xml": want json or console`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, err := New(tc.cfg, "svc")
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, log)
		})
	}
}
