// Package malloc bounds the C allocator's memory in a process whose C
// code (librdkafka) allocates from many threads. glibc's malloc gives
// each thread an arena of its own, up to eight per core, and raises its
// mmap threshold, up to 32 MiB, each time a block above it is freed, so
// that librdkafka's message buffers end up in arenas that keep the pages
// of their freed blocks: a service's resident memory then grows with the
// length of its input long after its queues stop growing.
//
// Importing the package caps the arenas at ArenaMax and fixes the
// threshold at MmapThreshold, so that blocks of that size and over
// (produce batches, fetch responses) are mapped for themselves and
// unmapped when freed. It does so in a C constructor, before the Go
// runtime starts its threads (each of which would take an arena that a
// later cap cannot take back), as go.uber.org/automaxprocs sets
// GOMAXPROCS on import.
//
// Each parameter is left as glibc has it where the environment sets it
// (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, or GLIBC_TUNABLES's
// glibc.malloc.arena_max, glibc.malloc.mmap_threshold); both are where
// KAFKA_SCALE_MALLOC=glibc. Without glibc or cgo the package does
// nothing.
package malloc

import "fmt"

// The defaults. On 2 cores, a 36-month load (5.4 million records)
// peaked at reader 58.7 MB and computer 57.9 MB with glibc's own
// settings, and at 46.3 MB and 55.5 MB with these (see bench/README.md).
const (
	ArenaMax      = 2
	MmapThreshold = 128 << 10
)

// OffEnv is the environment variable that, set to "glibc", leaves both
// parameters to glibc.
const OffEnv = "KAFKA_SCALE_MALLOC"

// A Setting is one parameter of the allocator as the package left it.
type Setting struct {
	Param string // mallopt's name: M_ARENA_MAX, M_MMAP_THRESHOLD
	// Value is what the package set; 0 where it set nothing.
	Value int
	// Env is the environment variable that left it to glibc, if any.
	Env string
	// Refused says that mallopt refused Value.
	Refused bool
}

func (s Setting) String() string {
	switch {
	case s.Env != "":
		return fmt.Sprintf("%s left to glibc by %s", s.Param, s.Env)
	case s.Refused:
		return fmt.Sprintf("%s=%d refused", s.Param, s.Value)
	}
	return fmt.Sprintf("%s=%d", s.Param, s.Value)
}

// Settings returns each parameter as the package left it when the
// process started; nil without glibc.
func Settings() []Setting { return settings() }
