//go:build cgo && linux

package malloc

/*
#include <stdlib.h>
#include <string.h>

// What the constructor did with each parameter: 0 set, 1 left to glibc
// by MALLOC_*, 2 by GLIBC_TUNABLES, 3 by KAFKA_SCALE_MALLOC, 4 refused,
// -1 not glibc.
static int ks_arena_state = -1, ks_mmap_state = -1;

// The values the constructor sets; Settings reports these, and the
// package's test checks them against ArenaMax and MmapThreshold.
enum { ks_arena_max = 2, ks_mmap_threshold = 128 << 10 };

#ifdef __GLIBC__
#include <malloc.h>

// ks_has_tunable reports whether GLIBC_TUNABLES (name=value pairs
// separated by colons) sets name.
static int ks_has_tunable(const char *name) {
	const char *t = getenv("GLIBC_TUNABLES");
	size_t n = strlen(name);
	while (t != NULL && *t != '\0') {
		if (strncmp(t, name, n) == 0 && t[n] == '=') return 1;
		t = strchr(t, ':');
		if (t != NULL) t++;
	}
	return 0;
}

static int ks_bound(int param, int value, const char *env, const char *tunable) {
	const char *off = getenv("KAFKA_SCALE_MALLOC");
	if (off != NULL && strcmp(off, "glibc") == 0) return 3;
	if (getenv(env) != NULL) return 1;
	if (ks_has_tunable(tunable)) return 2;
	return mallopt(param, value) == 1 ? 0 : 4;
}

__attribute__((constructor)) static void ks_malloc_init(void) {
	ks_arena_state = ks_bound(M_ARENA_MAX, ks_arena_max, "MALLOC_ARENA_MAX", "glibc.malloc.arena_max");
	ks_mmap_state = ks_bound(M_MMAP_THRESHOLD, ks_mmap_threshold, "MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold");
}
#endif

static int ks_arena(void) { return ks_arena_state; }
static int ks_mmap(void) { return ks_mmap_state; }
*/
import "C"

func settings() []Setting {
	if C.ks_arena() < 0 {
		return nil
	}
	return []Setting{
		setting("M_ARENA_MAX", C.ks_arena_max, "MALLOC_ARENA_MAX", int(C.ks_arena())),
		setting("M_MMAP_THRESHOLD", C.ks_mmap_threshold, "MALLOC_MMAP_THRESHOLD_", int(C.ks_mmap())),
	}
}

func setting(param string, value int, env string, state int) Setting {
	switch state {
	case 1:
		return Setting{Param: param, Env: env}
	case 2:
		return Setting{Param: param, Env: "GLIBC_TUNABLES"}
	case 3:
		return Setting{Param: param, Env: OffEnv}
	case 4:
		return Setting{Param: param, Value: value, Refused: true}
	}
	return Setting{Param: param, Value: value}
}
