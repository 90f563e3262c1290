// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/ring - gets per second through a running owner (tdbd), over the
 * rings, with libtdb's public API.
 *
 *   ring [--records N] [--seconds S] [--quick]
 *
 * Starts nothing: it connects to $TDB_SOCKET (else the default socket),
 * creates a private table, loads N records (default 100000; 16-byte keys,
 * 100-byte values) with batched puts, then measures random gets for S
 * seconds each (default 2):
 *
 *   unbatched  tdb_get(), one round trip per get
 *   batched    tdb_batch_get() x 64, tdb_batch_submit(), tdb_batch_reap()
 *
 * from 1 and from 4 client processes (forked; each connects anew).  Prints
 * one table and drops the table.  Exit status 1 on any error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "tdb/tdb.h"

#define KEY_LEN 16
#define VAL_LEN 100
#define DEPTH 64

static unsigned long nrecords = 100000;
static double seconds = 2.0;
static char table[64];

static void fail(const char *what, int err)
{
	fprintf(stderr, "bench/ring: %s: %s\n", what, tdb_strerror(err));
	exit(1);
}

/* Loads the records, DEPTH puts per batch. */
static void load(struct tdb *db)
{
	struct tdb_completion c[DEPTH];
	uint8_t key[KEY_LEN], val[VAL_LEN];
	struct tdb_batch *b;
	unsigned long i;
	int n, err, j;

	b = tdb_batch_new(db, DEPTH);
	if (!b)
		fail("tdb_batch_new", -ENOMEM);
	for (i = 0; i < nrecords;) {
		for (j = 0; j < DEPTH && i < nrecords; j++, i++) {
			make_key(key, i);
			memset(val, (int)(i & 0xff), sizeof(val));
			memcpy(val, &i, sizeof(i));
			err = tdb_batch_put(b, table, key, KEY_LEN, val, VAL_LEN,
					    0, NULL);
			if (err)
				fail("tdb_batch_put", err);
		}
		err = tdb_batch_submit(b);
		if (err)
			fail("tdb_batch_submit", err);
		n = tdb_batch_reap(b, c, DEPTH, (unsigned int)j);
		if (n < 0)
			fail("tdb_batch_reap", n);
		while (n--)
			if (c[n].status)
				fail("put", c[n].status);
	}
	tdb_batch_free(b);
}

/*
 * One client (a team member; @arg points to true when batched): gets for
 * the set time, from its connection on.
 */
static void run_client(int id, void *arg, struct team_result *r)
{
	struct tdb_completion c[DEPTH];
	uint8_t key[KEY_LEN], val[VAL_LEN + 16];
	uint64_t ops = 0, x = (uint64_t)id * 7919 + 1;
	struct tdb_batch *b = NULL;
	bool batched = *(bool *)arg;
	double end;
	struct tdb *db;
	size_t vlen;
	int err, n, j, k;

	/* As ever, each starts on its own: not after all have connected. */
	team_wait_go();
	err = tdb_connect(NULL, &db);
	if (err)
		fail("tdb_connect", err);
	if (batched) {
		b = tdb_batch_new(db, DEPTH);
		if (!b)
			fail("tdb_batch_new", -ENOMEM);
	}
	end = now() + seconds;
	while (now() < end) {
		/* Check the clock every 64 gets either way. */
		if (!batched) {
			for (j = 0; j < DEPTH; j++) {
				x = splitmix(x);
				make_key(key, x % nrecords);
				err = tdb_get(db, table, key, KEY_LEN, val,
					      sizeof(val), &vlen);
				if (err || vlen != VAL_LEN)
					fail("tdb_get", err ? err : -EPROTO);
			}
		} else {
			for (j = 0; j < DEPTH; j++) {
				x = splitmix(x);
				make_key(key, x % nrecords);
				err = tdb_batch_get(b, table, key, KEY_LEN, NULL);
				if (err)
					fail("tdb_batch_get", err);
			}
			err = tdb_batch_submit(b);
			if (err)
				fail("tdb_batch_submit", err);
			for (j = 0; j < DEPTH; j += n) {
				n = tdb_batch_reap(b, c, DEPTH, DEPTH - j);
				if (n < 0)
					fail("tdb_batch_reap", n);
				for (k = 0; k < n; k++)
					if (c[k].status || c[k].vlen != VAL_LEN)
						fail("batched get",
						     c[k].status ? c[k].status :
								   -EPROTO);
			}
		}
		ops += DEPTH;
	}
	if (b)
		tdb_batch_free(b);
	tdb_close(db);
	r->ops = ops;
}

/* Runs @procs clients at once; gets per second, all together. */
static double run(bool batched, int procs)
{
	struct team_result sum;
	struct team team;

	team_start(&team, "bench/ring", procs, run_client, &batched);
	if (team_run(&team, &sum))
		exit(1);
	/* Each client ran for `seconds`; connecting is not counted. */
	return sum.ops / seconds;
}

static const char usage[] =
	"usage: ring [--records N] [--seconds S] [--quick]\n"
	"Measures gets/s through the owner at $TDB_SOCKET (tdbd).\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "records", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const int procs[] = { 1, 4 };
	struct tdb_create_opts co = { .durability = TDB_DUR_MEMORY };
	double rate[2][2];
	struct tdb *db;
	int c, err, i;

	while ((c = bench_getopt(argc, argv, "r:s:qh", opts, usage)) != -1) {
		switch (c) {
		case 'r':
			nrecords = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seconds = strtod(optarg, NULL);
			break;
		case 'q':
			nrecords = 10000;
			seconds = 0.5;
			break;
		}
	}
	if (!nrecords || seconds <= 0)
		usage_exit(usage, 2);

	snprintf(table, sizeof(table), "bench_ring_%ld", (long)getpid());
	err = tdb_connect(NULL, &db);
	if (err)
		fail("tdb_connect (is tdbd running at $TDB_SOCKET?)", err);
	err = tdb_create(db, table, &co);
	if (err)
		fail("tdb_create", err);
	load(db);

	for (i = 0; i < 2; i++) {
		rate[0][i] = run(false, procs[i]);
		rate[1][i] = run(true, procs[i]);
	}

	printf("gets/s through the rings (%lu records, %d-byte keys, %d-byte values, %.1f s each)\n",
	       nrecords, KEY_LEN, VAL_LEN, seconds);
	printf("%-22s %14s %14s\n", "", "1 process", "4 processes");
	printf("%-22s %14.0f %14.0f\n", "unbatched (tdb_get)", rate[0][0],
	       rate[0][1]);
	printf("%-22s %14.0f %14.0f\n", "batched (depth 64)", rate[1][0],
	       rate[1][1]);

	err = tdb_drop(db, table);
	if (err)
		fail("tdb_drop", err);
	tdb_close(db);
	return 0;
}
