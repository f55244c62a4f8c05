//go:build cgo && linux

package malloc

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/pkg/malloc/internal/probe"
)

// observed is what a child process saw of its allocator.
type observed struct {
	Settings []Setting
	Arenas   int
	Mapped   bool
}

const childEnv = "MALLOC_TEST_CHILD"

// The child's probes run on the main thread, whose blocks come from the
// main arena: a thread's own arena maps what it cannot carve from its
// heap whatever the threshold.
func init() { runtime.LockOSThread() }

// TestMain reports what the process saw of its allocator when the test
// binary is started again by observe: the allocator's parameters are set
// once, as the process starts.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "" {
		os.Exit(m.Run())
	}
	mapped := probe.MappedAfterRaise() // first, before other blocks leave room at the top of a heap
	o := observed{Settings: Settings(), Mapped: mapped, Arenas: probe.Arenas(12)}
	_ = json.NewEncoder(os.Stdout).Encode(o)
	os.Exit(0)
}

func observe(t *testing.T, env ...string) observed {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(withoutMalloc(os.Environ()), append(env, childEnv+"=1")...)
	out, err := cmd.Output()
	require.NoError(t, err, "child with %q", env)
	var o observed
	require.NoError(t, json.Unmarshal(out, &o), "child output %q", out)
	return o
}

// withoutMalloc drops the environment's allocator settings, so that the
// test sees glibc's defaults whatever it runs under.
func withoutMalloc(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "MALLOC_") || strings.HasPrefix(kv, "GLIBC_TUNABLES=") || strings.HasPrefix(kv, OffEnv+"=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func TestBound(t *testing.T) {
	for _, tc := range []struct {
		name         string
		env          []string
		wantSettings []Setting
		minArenas    int // of 12 threads allocating at once
		maxArenas    int
		wantMapped   bool
	}{
		{name: "bound", minArenas: 1, maxArenas: ArenaMax, wantMapped: true,
			wantSettings: []Setting{{Param: "M_ARENA_MAX", Value: ArenaMax}, {Param: "M_MMAP_THRESHOLD", Value: MmapThreshold}}},
		// glibc's own: an arena per thread, a threshold that rises.
		{name: "off", env: []string{OffEnv + "=glibc"}, minArenas: 8, maxArenas: 12,
			wantSettings: []Setting{{Param: "M_ARENA_MAX", Env: OffEnv}, {Param: "M_MMAP_THRESHOLD", Env: OffEnv}}},
		{name: "environment wins", env: []string{"MALLOC_ARENA_MAX=4", "MALLOC_MMAP_THRESHOLD_=33554432"},
			minArenas: 3, maxArenas: 4,
			wantSettings: []Setting{{Param: "M_ARENA_MAX", Env: "MALLOC_ARENA_MAX"}, {Param: "M_MMAP_THRESHOLD", Env: "MALLOC_MMAP_THRESHOLD_"}}},
		{name: "tunables win", env: []string{"GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.arena_max=3:glibc.malloc.mmap_threshold=33554432"},
			minArenas: 3, maxArenas: 3,
			wantSettings: []Setting{{Param: "M_ARENA_MAX", Env: "GLIBC_TUNABLES"}, {Param: "M_MMAP_THRESHOLD", Env: "GLIBC_TUNABLES"}}},
		{name: "a tunable's prefix is not it", env: []string{"GLIBC_TUNABLES=glibc.malloc.arena_max_x=3"},
			minArenas: 1, maxArenas: ArenaMax, wantMapped: true,
			wantSettings: []Setting{{Param: "M_ARENA_MAX", Value: ArenaMax}, {Param: "M_MMAP_THRESHOLD", Value: MmapThreshold}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := observe(t, tc.env...)
			require.Equal(t, tc.wantSettings, o.Settings)
			require.GreaterOrEqual(t, o.Arenas, tc.minArenas, "arenas")
			require.LessOrEqual(t, o.Arenas, tc.maxArenas, "arenas")
			require.Equal(t, tc.wantMapped, o.Mapped, "8 MiB block mapped after a 16 MiB one was freed")
		})
	}
}

func TestSettingString(t *testing.T) {
	require.Equal(t, "M_ARENA_MAX=2", Setting{Param: "M_ARENA_MAX", Value: 2}.String())
	require.Equal(t, "M_ARENA_MAX left to glibc by MALLOC_ARENA_MAX", Setting{Param: "M_ARENA_MAX", Env: "MALLOC_ARENA_MAX"}.String())
	require.Equal(t, "M_ARENA_MAX=2 refused", Setting{Param: "M_ARENA_MAX", Value: 2, Refused: true}.String())
}
