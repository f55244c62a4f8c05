//go:build cgo && linux

// Package probe observes glibc's allocator for malloc's tests: how many
// arenas threads that allocate at once get, and whether a block below a
// freed larger one is still mapped for itself.
package probe

/*
#cgo LDFLAGS: -lpthread
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <malloc.h>

static pthread_barrier_t ks_barrier;
static void *ks_blocks[64];

static void *ks_alloc(void *arg) {
	void **slot = arg;
	*slot = malloc(64);
	pthread_barrier_wait(&ks_barrier); // all threads hold a block at once
	return NULL;
}

// ks_arenas starts n threads that each allocate while the others hold
// their blocks, and counts the arenas the blocks came from: a thread's
// arena other than the main one is a heap aligned to HEAP_MAX_SIZE
// (64 MiB on 64-bit), so blocks in one arena share their address's
// bits above that.
static int ks_arenas(int n) {
	pthread_t t[64];
	if (n > 64) n = 64;
	pthread_barrier_init(&ks_barrier, NULL, n);
	for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, ks_alloc, &ks_blocks[i]);
	for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
	pthread_barrier_destroy(&ks_barrier);
	int count = 0;
	for (int i = 0; i < n; i++) {
		uintptr_t h = (uintptr_t)ks_blocks[i] >> 26;
		int seen = 0;
		for (int j = 0; j < i; j++) seen |= ((uintptr_t)ks_blocks[j] >> 26) == h;
		count += !seen;
	}
	for (int i = 0; i < n; i++) free(ks_blocks[i]);
	return count;
}

// ks_mapped_after_raise frees a 16 MiB block, which raises a dynamic
// mmap threshold to its size, then reports whether an 8 MiB block is
// still mapped for itself.
// The blocks go through a volatile pointer: a compiler may drop a
// malloc whose block is only freed.
static void *volatile ks_block;

static int ks_mapped_after_raise(void) {
	ks_block = malloc(16 << 20);
	free(ks_block);
	size_t before = mallinfo2().hblks;
	ks_block = malloc(8 << 20);
	int mapped = mallinfo2().hblks == before + 1;
	free(ks_block);
	return mapped;
}
*/
import "C"

// Arenas is the number of arenas n threads that allocate at once get.
func Arenas(n int) int { return int(C.ks_arenas(C.int(n))) }

// MappedAfterRaise reports whether an 8 MiB block is mapped for itself
// after a 16 MiB one was freed: false where glibc's dynamic threshold
// rose to 16 MiB, true where the threshold is fixed below 8 MiB.
func MappedAfterRaise() bool { return C.ks_mapped_after_raise() == 1 }
