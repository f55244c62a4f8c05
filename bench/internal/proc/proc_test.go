package proc

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStartStopAndCPU(t *testing.T) {
	g := NewGroup(t.TempDir(), "PROC_TEST=1")
	defer g.Close()
	p, err := g.Start("sh", "/bin/sh", "-c", `echo "$PROC_TEST"; echo '{"msg":"listening","server":"admin","addr":"127.0.0.1:1"}' >&2; exec sleep 30`)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, err := p.Addr(ctx, "admin")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:1", addr)

	own, err := CPUOf(os.Getpid())
	require.NoError(t, err)
	threads, err := ThreadCPU(os.Getpid())
	require.NoError(t, err)
	var sum time.Duration
	for _, d := range threads {
		sum += d
	}
	require.InDelta(t, own.Seconds(), sum.Seconds(), 0.5, "threads add up to the process")

	require.Error(t, p.Stop(5*time.Second), "sleep dies of SIGTERM")
	require.True(t, p.Exited())
	require.Equal(t, "1\n", string(p.Stdout()))
	log, err := os.ReadFile(filepath.Join(filepath.Dir(p.LogPath), "sh.log"))
	require.NoError(t, err)
	require.Contains(t, string(log), `"listening"`)
}
