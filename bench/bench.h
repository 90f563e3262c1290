/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * bench.h - what the benchmarks share: the keys they look up and a clock.
 */
#ifndef TDB_BENCH_H
#define TDB_BENCH_H

#include <stdint.h>
#include <string.h>
#include <time.h>

static inline uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* 16-byte key i: a scrambled half, so that nothing sorts, and i itself. */
static inline void make_key(uint8_t *key, uint64_t i)
{
	uint64_t h = splitmix(i);

	memcpy(key, &h, 8);
	memcpy(key + 8, &i, 8);
}

/* Monotonic seconds. */
static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* TDB_BENCH_H */
