package service

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

type cfg struct {
	Common
	bad error
}

func (c *cfg) Validate() error { return c.bad }

func TestRun(t *testing.T) {
	boom := errors.New("broker unreachable")
	for _, tc := range []struct {
		name       string
		parseErr   error
		cfg        cfg
		serveErr   error
		wantCode   int
		wantOut    string
		wantErr    string
		wantServed bool
	}{
		{name: "serves", cfg: cfg{Common: Common{MetricsAddr: anyPort, Log: defaultLog, Kafka: local}}, wantCode: ExitOK, wantServed: true},
		{name: "serve fails", cfg: cfg{Common: Common{MetricsAddr: anyPort, Log: defaultLog, Kafka: local}}, serveErr: boom, wantCode: ExitFailed, wantServed: true},
		{name: "version", cfg: cfg{Common: Common{Version: true}}, wantCode: ExitOK, wantOut: "svc dev (commit unknown"},
		{name: "help", parseErr: flag.ErrHelp, wantCode: ExitOK},
		{name: "bad flag", parseErr: errors.New("flag provided but not defined: -x"), wantCode: ExitUsage, wantErr: "svc: flag provided but not defined: -x"},
		{name: "invalid", cfg: cfg{Common: Common{MetricsAddr: anyPort, Log: defaultLog, Kafka: local}, bad: errors.New("--partitions 0: want at least 1")}, wantCode: ExitUsage,
			wantErr: "svc: invalid configuration: --partitions 0: want at least 1"},
		{name: "bad log level", cfg: cfg{Common: Common{MetricsAddr: anyPort, Log: badLog, Kafka: local}}, wantCode: ExitUsage, wantErr: `log level "loud"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			served := false
			c := tc.cfg
			code := run("svc", &stdout, &stderr, func() (*cfg, error) { return &c, tc.parseErr },
				func(context.Context, *cfg, *Runtime) error { served = true; return tc.serveErr })
			require.Equal(t, tc.wantCode, code)
			require.Equal(t, tc.wantServed, served)
			require.Contains(t, stdout.String(), tc.wantOut)
			require.Contains(t, stderr.String(), tc.wantErr)
		})
	}
}

var (
	defaultLog = logConfig("info")
	badLog     = logConfig("loud")
)

func TestSetGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	for _, tc := range []struct {
		name        string
		env         map[string]string
		want        string
		wantPercent int // in force afterwards
	}{
		{name: "default", want: "50", wantPercent: DefaultGCPercent},
		{name: "GOGC wins", env: map[string]string{"GOGC": "200"}, want: "200 (GOGC)", wantPercent: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100) // as the runtime would have it
			got := setGCPercent(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.wantPercent, debug.SetGCPercent(100))
		})
	}
}
