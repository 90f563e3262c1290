// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/lookup - longest-prefix lookups per second through libtdb, on a
 * table keyed by cidr4 (scripts/bench-load.sh loads one with 1M
 * prefixes).
 *
 *   lookup --table T [--procs N] [--seconds S] [--batch B]
 *          [--mode random|inside] [--prefixes FILE] [--sync] [--seed X]
 *          [--check N]
 *
 * N client processes (default 1, forked), each with its own connection,
 * look up IPv4 addresses for S seconds (default 5): each queues B
 * (default 64) tdb_batch_lookup() operations, then reaps their B
 * completions, and again.  --sync uses one tdb_lookup() call per address
 * instead (one round trip each).  The owner is the one in TDB_SOCKET.
 *
 * Addresses: --mode random (the default) draws them uniformly from the
 * whole IPv4 space, so the hit rate is the fraction of the space the
 * table covers; --mode inside draws a prefix of FILE, then an address
 * inside it (every lookup hits).  Each process has its own sequence,
 * from the seed (default 1).
 *
 * FILE holds the table's prefixes as "PREFIX ACTION" lines (plain.txt
 * from bench/prefixes), none overlapping another.  With it, before the
 * measured runs, one connection checks --check (default 100000) lookups,
 * half random, half inside: a hit must return the prefix that contains
 * the address, with its action (the field "action" of the table's
 * schema, or, for a table without one, a value equal to the action's
 * name when the value is not empty); a miss must be -ENOENT exactly when
 * no prefix of FILE contains the address.
 *
 * Prints lookups/s (all processes together), the hit rate, and
 * "result lookup_MODE_pN_per_s R" for the script (MODE random, inside,
 * or sync_random...).  Exit status 1 on any error or wrong answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdb/schema.h"
#include "tdb/tdb.h"

#include "bench.h"

struct prefix {
	uint32_t addr;		/* host order */
	uint8_t len;
	uint8_t action;
};

static const char *table;
static int procs = 1, sync_mode, inside;
static double seconds = 5.0;
static unsigned int batch = 64;
static uint64_t seed = 1;
static struct prefix *pfx;
static size_t npfx;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench/lookup: %s: %s\n", what, tdb_strerror(err));
	exit(1);
}

static int cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct prefix *)a)->addr;
	uint32_t y = ((const struct prefix *)b)->addr;

	return x < y ? -1 : x > y;
}

/* Reads FILE into pfx[], sorted by address. */
static void load_prefixes(const char *file)
{
	struct prefix_line *lines =
		read_prefix_file("bench/lookup", file, &npfx);
	size_t i;

	pfx = malloc((npfx ? npfx : 1) * sizeof(*pfx));
	if (!pfx) {
		fputs("bench/lookup: out of memory\n", stderr);
		exit(1);
	}
	for (i = 0; i < npfx; i++) {
		const uint8_t *k = lines[i].key;

		pfx[i].addr = (uint32_t)k[0] << 24 | k[1] << 16 | k[2] << 8 |
			      k[3];
		pfx[i].len = k[4];
		pfx[i].action = lines[i].action;
	}
	free(lines);
	qsort(pfx, npfx, sizeof(*pfx), cmp);
}

/* The prefix of pfx[] containing @addr, or NULL. */
static const struct prefix *find(uint32_t addr)
{
	size_t lo = 0, hi = npfx;
	const struct prefix *p;

	while (lo < hi) {	/* the first with addr > @addr */
		size_t mid = lo + (hi - lo) / 2;

		if (pfx[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	p = &pfx[lo - 1];
	if (p->len && (addr ^ p->addr) >> (32 - p->len))
		return NULL;
	return p;
}

/* The next address (host order), from the state @s. */
static uint32_t next_addr(uint64_t *s, int in)
{
	uint64_t r = splitmix((*s)++);
	const struct prefix *p;

	if (!in)
		return (uint32_t)r;
	p = &pfx[(r >> 32) % npfx];
	return p->addr | (p->len == 32 ? 0 :
			  ((uint32_t)r & (0xffffffffU >> p->len)));
}

struct check_arg {
	const char *want;
	int found;
};

static int check_field(void *arg, const char *name, const char *text)
{
	struct check_arg *a = arg;

	if (strcmp(name, "action"))
		return 0;
	a->found = 1 + !strcmp(text, a->want);
	return 1;
}

/*
 * Checks one answer: @addr looked up, @status, the prefix @key and the
 * value.  0, or -1 after printing what is wrong.
 */
static int check_one(const struct tdb_schema *schema, uint32_t addr,
		     int status, const uint8_t *key, size_t klen,
		     const void *val, size_t vlen)
{
	const struct prefix *p = find(addr);
	uint32_t be = htonl(addr);
	char a[INET_ADDRSTRLEN];
	uint8_t want[5];

	inet_ntop(AF_INET, &be, a, sizeof(a));
	if (!p) {
		if (status == -ENOENT)
			return 0;
		fprintf(stderr, "bench/lookup: %s: no prefix contains it, lookup says %s\n",
			a, status ? tdb_strerror(status) : "found");
		return -1;
	}
	be = htonl(p->addr);
	memcpy(want, &be, 4);
	want[4] = p->len;
	if (status || klen != 5 || memcmp(key, want, 5)) {
		fprintf(stderr, "bench/lookup: %s: should match /%u, lookup says %s (klen %zu, /%u)\n",
			a, p->len, status ? tdb_strerror(status) : "found",
			klen, klen == 5 ? key[4] : 0);
		return -1;
	}
	if (schema && tdb_schema_nfields(schema)) {
		struct check_arg ca = { prefix_actions[p->action], 0 };

		if (tdb_record_decode(schema, val, vlen, check_field, &ca) < 0 ||
		    ca.found != 2) {
			fprintf(stderr, "bench/lookup: %s: action is not %s\n",
				a, ca.want);
			return -1;
		}
	} else if (vlen && (vlen != strlen(prefix_actions[p->action]) ||
			    memcmp(val, prefix_actions[p->action], vlen))) {
		fprintf(stderr, "bench/lookup: %s: value is not %s\n", a,
			prefix_actions[p->action]);
		return -1;
	}
	return 0;
}

/* Checks @n lookups, half random, half inside.  Returns the hits. */
static uint64_t check(unsigned long n)
{
	struct tdb_schema *schema = NULL;
	struct tdb_completion *c;
	uint32_t *addrs;
	uint64_t s = splitmix(seed ^ 0xc4ec), hits = 0;
	struct tdb_batch *b;
	char *text = NULL, err[256];
	unsigned long done = 0, i;
	struct tdb *db;
	size_t len;
	int rc, k;

	rc = tdb_connect(NULL, &db);
	if (rc)
		die("tdb_connect", rc);
	rc = tdb_table_schema(db, table, &text, &len);
	if (rc)
		die("tdb_table_schema", rc);
	if (text && tdb_schema_parse(text, len, &schema, err, sizeof(err))) {
		fprintf(stderr, "bench/lookup: the table's schema: %s\n", err);
		exit(1);
	}
	free(text);
	b = tdb_batch_new(db, batch);
	c = calloc(batch, sizeof(*c));
	addrs = malloc(batch * sizeof(*addrs));
	if (!b || !c || !addrs)
		die("tdb_batch_new", -errno);
	while (done < n) {
		for (i = 0; i < batch; i++) {
			uint32_t be;

			addrs[i] = next_addr(&s, (done + i) & 1);
			be = htonl(addrs[i]);
			rc = tdb_batch_lookup(b, table, &be, 4, &addrs[i]);
			if (rc)
				die("tdb_batch_lookup", rc);
		}
		for (i = 0; i < batch; i += k) {
			k = tdb_batch_reap(b, c, batch - i, batch - i);
			if (k < 0)
				die("tdb_batch_reap", k);
			for (int j = 0; j < k; j++) {
				if (check_one(schema, *(uint32_t *)c[j].user,
					      c[j].status, c[j].key, c[j].klen,
					      c[j].val, c[j].vlen))
					exit(1);
				hits += !c[j].status;
			}
		}
		done += batch;
	}
	tdb_batch_free(b);
	tdb_close(db);
	tdb_schema_free(schema);
	free(c);
	free(addrs);
	printf("checked %lu lookups against the prefix file (half random, half inside a prefix): %llu hits, all right\n",
	       done, (unsigned long long)hits);
	return hits;
}

/* One client (a team member): once connected, looks up for S s. */
static void client(int id, void *arg, struct team_result *r)
{
	uint64_t s = splitmix(seed) + ((uint64_t)id << 48);
	struct tdb_completion *c = calloc(batch, sizeof(*c));
	double start, end, t;
	struct tdb_batch *b = NULL;
	struct tdb *db;
	uint8_t key[17], val[256];
	size_t klen, vlen;
	unsigned int i;
	int rc, k;

	rc = tdb_connect(NULL, &db);
	if (rc)
		die("tdb_connect", rc);
	if (!sync_mode) {
		b = tdb_batch_new(db, batch);
		if (!b || !c)
			die("tdb_batch_new", -errno);
	}
	team_wait_go();
	start = now();
	end = start + seconds;
	do {
		for (i = 0; i < batch; i++) {
			uint32_t be = htonl(next_addr(&s, inside));

			if (sync_mode) {
				rc = tdb_lookup(db, table, &be, 4, key, &klen,
						val, sizeof(val), &vlen);
				if (rc && rc != -ENOENT)
					die("tdb_lookup", rc);
				r->hits += !rc;
				continue;
			}
			rc = tdb_batch_lookup(b, table, &be, 4, NULL);
			if (rc)
				die("tdb_batch_lookup", rc);
		}
		for (i = 0; !sync_mode && i < batch; i += k) {
			k = tdb_batch_reap(b, c, batch - i, batch - i);
			if (k < 0)
				die("tdb_batch_reap", k);
			for (int j = 0; j < k; j++) {
				if (c[j].status && c[j].status != -ENOENT)
					die("lookup", c[j].status);
				r->hits += !c[j].status;
			}
		}
		r->ops += batch;
		t = now();
	} while (t < end);
	r->elapsed = t - start;
	tdb_batch_free(b);
	tdb_close(db);
	free(c);
}

static const char usage[] =
	"usage: lookup --table T [--procs N] [--seconds S] [--batch B]\n"
	"              [--mode random|inside] [--prefixes FILE] [--sync]\n"
	"              [--seed X] [--check N]\n"
	"Measures longest-prefix lookups/s through libtdb (TDB_SOCKET).\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "table", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{ "mode", required_argument, NULL, 'M' },
		{ "prefixes", required_argument, NULL, 'f' },
		{ "sync", no_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 'x' },
		{ "check", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *mode = "random";
	unsigned long ncheck = 100000;
	struct team_result sum;
	struct team team;
	char name[64];
	double rate;
	int c;

	while ((c = bench_getopt(argc, argv, "t:p:s:b:M:f:Sx:c:h", opts,
				 usage)) != -1) {
		switch (c) {
		case 't':
			table = optarg;
			break;
		case 'p':
			procs = atoi(optarg);
			break;
		case 's':
			seconds = strtod(optarg, NULL);
			break;
		case 'b':
			batch = strtoul(optarg, NULL, 10);
			break;
		case 'M':
			mode = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'S':
			sync_mode = 1;
			break;
		case 'x':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'c':
			ncheck = strtoul(optarg, NULL, 10);
			break;
		}
	}
	inside = !strcmp(mode, "inside");
	if (!table || procs < 1 || procs > TEAM_MAX || seconds <= 0 || !batch ||
	    batch > 65535 || (!inside && strcmp(mode, "random")) ||
	    (inside && !file))
		usage_exit(usage, 2);
	if (file) {
		load_prefixes(file);
		if (!npfx) {
			fprintf(stderr, "bench/lookup: %s holds no prefix\n",
				file);
			return 1;
		}
		if (ncheck)
			check(ncheck);
	}

	team_start(&team, "bench/lookup", procs, client, NULL);
	if (team_run(&team, &sum)) {
		fputs("bench/lookup: a client failed\n", stderr);
		return 1;
	}

	rate = sum.ops / sum.elapsed;
	if (sync_mode)
		printf("tdb longest-prefix lookups/s (%d process%s, one tdb_lookup() per address, %s addresses, %.1f s)\n",
		       procs, procs > 1 ? "es" : "", mode, seconds);
	else
		printf("tdb longest-prefix lookups/s (%d process%s, batches of %u tdb_batch_lookup(), %s addresses, %.1f s)\n",
		       procs, procs > 1 ? "es" : "", batch, mode, seconds);
	printf("  %-28s %12.0f\n", "lookups/s", rate);
	printf("  %-28s %12.1f\n", "hits, %",
	       sum.ops ? 100.0 * sum.hits / sum.ops : 0);
	snprintf(name, sizeof(name), "lookup_%s%s_p%d_per_s",
		 sync_mode ? "sync_" : "", mode, procs);
	printf("result %s %.0f\n", name, rate);
	return 0;
}
