// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/index - lookups per second on one thread and memory per record, by
 * table size, through the table layer (hash, index walk, key compare).
 *
 *   index [--quick] [--rounds N] [--lookups N] [--sizes N,N,...]
 *
 * Records have 16-byte keys and 100-byte values.  Each size is loaded into
 * a fresh table, then looked up at random, one key at a time
 * (tdb_table_lookup) and in batches of 64 (tdb_table_lookup_batch, the path
 * a ring frame of gets takes).  Each figure is the median of the rounds.
 * Overhead is what the table holds (heap pages, including slab slack, plus
 * index heads) beyond the 116 bytes of key and value, per record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "pool.h"
#include "table.h"

#define KEY_LEN 16
#define VAL_LEN 100
#define BATCH 64

/* Lookups per second, one key at a time. */
static double run_single(struct tdb_table *t, u64 nrec, u64 nlook)
{
	u64 i, found = 0, seed = 12345;
	u8 key[KEY_LEN];
	double t0;

	t0 = now();
	rcu_read_lock();
	for (i = 0; i < nlook; i++) {
		seed = splitmix(seed);
		make_key(key, seed % nrec);
		found += tdb_table_lookup(t, key, KEY_LEN) != NULL;
		if ((i & 1023) == 1023) {
			rcu_read_unlock();
			rcu_read_lock();
		}
	}
	rcu_read_unlock();
	if (found != nlook) {
		fprintf(stderr, "index: %llu of %llu lookups missed\n",
			(unsigned long long)(nlook - found),
			(unsigned long long)nlook);
		exit(1);
	}
	return nlook / (now() - t0);
}

/* Lookups per second, BATCH keys per call. */
static double run_batch(struct tdb_table *t, u64 nrec, u64 nlook)
{
	static u8 keys[BATCH][KEY_LEN];
	const void *kp[BATCH];
	const struct tdb_rec *out[BATCH];
	u32 kl[BATCH];
	u64 i, found = 0, seed = 67890;
	double t0;
	int j;

	for (j = 0; j < BATCH; j++) {
		kp[j] = keys[j];
		kl[j] = KEY_LEN;
	}
	t0 = now();
	for (i = 0; i < nlook; i += BATCH) {
		for (j = 0; j < BATCH; j++) {
			seed = splitmix(seed);
			make_key(keys[j], seed % nrec);
		}
		rcu_read_lock();
		tdb_table_lookup_batch(t, BATCH, kp, kl, out);
		for (j = 0; j < BATCH; j++)
			found += out[j] != NULL;
		rcu_read_unlock();
	}
	if (found != i) {
		fprintf(stderr, "index: batched lookups missed\n");
		exit(1);
	}
	return i / (now() - t0);
}

struct result {
	u64 records;
	double single, batch, load, overhead;
};

static void run_size(struct tdb_db *db, u64 nrec, u64 nlook, int rounds,
		     struct result *res)
{
	double single[16], batch[16];
	struct tdb_table_stats st;
	struct tdb_table *t;
	u8 key[KEY_LEN], val[VAL_LEN];
	double t0;
	u64 i;
	int r;

	if (tdb_table_create(db, "bench", NULL))
		exit(1);
	rcu_read_lock();
	t = tdb_table_find(db, "bench");
	rcu_read_unlock();
	memset(val, 'v', sizeof(val));
	t0 = now();
	for (i = 0; i < nrec; i++) {
		make_key(key, i);
		memcpy(val, &i, sizeof(i));
		if (tdb_table_put(t, key, KEY_LEN, val, VAL_LEN, 0)) {
			fprintf(stderr, "index: put failed at %llu\n",
				(unsigned long long)i);
			exit(1);
		}
	}
	res->load = nrec / (now() - t0);
	for (r = 0; r < rounds; r++) {
		single[r] = run_single(t, nrec, nlook);
		batch[r] = run_batch(t, nrec, nlook);
	}
	tdb_table_stats(t, &st);
	res->records = nrec;
	res->single = bench_median(single, rounds);
	res->batch = bench_median(batch, rounds);
	res->overhead = (double)(st.heap_bytes + st.index_bytes) / nrec -
			(KEY_LEN + VAL_LEN);
	tdb_table_drop(db, "bench", NULL, NULL);
}

int main(int argc, char **argv)
{
	u64 sizes[8] = { 10000, 1000000, 10000000 };
	int nsizes = 3, rounds = 3, i;
	u64 nlook = 5000000;
	struct result res[8];
	struct tdb_db db;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			sizes[0] = 10000;
			sizes[1] = 100000;
			sizes[2] = 1000000;
			nlook = 1000000;
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = atoi(argv[++i]);
			if (rounds < 1 || rounds > 16)
				rounds = 3;
		} else if (!strcmp(argv[i], "--lookups") && i + 1 < argc) {
			nlook = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
			char *s = argv[++i];

			for (nsizes = 0; *s && nsizes < 8; nsizes++) {
				sizes[nsizes] = strtoull(s, &s, 10);
				if (*s == ',')
					s++;
			}
		} else {
			fprintf(stderr, "usage: %s [--quick] [--rounds N] "
				"[--lookups N] [--sizes N,N,...]\n", argv[0]);
			return 2;
		}
	}

	rcu_register_thread();
	tdb_pcache_init();
	tdb_db_init(&db);
	printf("bench/index: %d-byte keys, %d-byte values, %llu random "
	       "lookups per round on one thread, median of %d rounds, "
	       "batches of %d\n",
	       KEY_LEN, VAL_LEN, (unsigned long long)nlook, rounds, BATCH);
	printf("%12s %12s %14s %14s %16s\n", "records", "load Mput/s",
	       "get Mops/s", "batch Mops/s", "overhead B/rec");
	for (i = 0; i < nsizes; i++) {
		run_size(&db, sizes[i], nlook, rounds, &res[i]);
		printf("%12llu %12.2f %14.2f %14.2f %16.1f\n",
		       (unsigned long long)res[i].records, res[i].load / 1e6,
		       res[i].single / 1e6, res[i].batch / 1e6,
		       res[i].overhead);
		fflush(stdout);
	}
	printf("largest/smallest: get %.2f, batch %.2f (target: batch >= 0.75)\n",
	       res[nsizes - 1].single / res[0].single,
	       res[nsizes - 1].batch / res[0].batch);
	tdb_db_fini(&db);
	tdb_pcache_fini();
	rcu_unregister_thread();
	return 0;
}
