// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/redis - tdb against Redis, the in-memory server people would pick
 * instead: workloads 2 and 3 of issue 7, on the same keys.
 *
 *   redis --redis PATH [--records N] [--seconds S] [--runs R] [--procs P]
 *
 * Starts nothing: tdb is the owner at $TDB_SOCKET (else the default
 * socket), reached through libtdb; Redis is the server listening on the
 * unix socket PATH, reached through hiredis.  Both get the same N records
 * (default 1000000; 16-byte keys from bench.h make_key(), 100-byte values
 * holding their key's index): tdb in a private table of durability
 * memory, loaded with batched puts; Redis in its database 0, loaded with
 * pipelined SETs, 64 at a time either way.  The keys stay in Redis
 * afterwards: give it a server of its own (scripts/bench-redis.sh does).
 *
 * Then, for S seconds each (default 5), tdb first and Redis second:
 *
 *   2. unbatched gets, one client: tdb_get() against GET through
 *      redisCommand(), one request then its answer, random existing
 *      keys; gets/s and the 50th and 99th percentile of the time of one
 *      get, taken around each call with clock_gettime() into a
 *      histogram of fixed size (10 ns steps up to 100 us, then 1 us).
 *   3. pipelined gets and sets, P client processes (default 4, forked;
 *      each connects anew, then all start together): rounds of 64
 *      operations on random existing keys, each a get or a set (of the
 *      key's same 100-byte value) with probability 1/2; tdb queues them
 *      with tdb_batch_get()/tdb_batch_put() into a batch of depth 64,
 *      submits and reaps all 64; Redis appends 64 GET/SET commands with
 *      redisAppendCommand() and reads the 64 replies with
 *      redisGetReply().  Operations/s, all processes together, over the
 *      longest process's time.
 *
 * Each measurement runs R times (default 3); the table shows the median
 * of each figure (for the percentiles: the median of the R runs'
 * percentiles), with the ratio tdb/Redis, and the targets.  Lines
 * "result NAME VALUE" repeat the figures for scripts.  Every answer is
 * checked (a get must return its key's value).  Exit status 1 on any
 * error.
 */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "tdb/tdb.h"

#define NAME "bench/redis"
#define KEY_LEN 16
#define VAL_LEN BENCH_VAL_LEN
#define DEPTH 64
#define RUNS_MAX 99

static uint64_t nrecords = 1000000;
static double seconds = 5.0;
static int runs = 3;
static int procs = 4;
static const char *redis_path;
static char table[TDB_NAME_MAX];

enum peer { PEER_TDB, PEER_REDIS, PEERS };
static const char *const peer_names[PEERS] = { "tdb", "Redis" };

static __attribute__((noreturn)) void fail(const char *what, int err)
{
	fprintf(stderr, NAME ": %s: %s\n", what, tdb_strerror(err));
	exit(1);
}

/* Frees @r after failing unless it is the status "OK" (a SET's answer). */
static void redis_check_ok(redisContext *c, redisReply *r)
{
	if (!r)
		redis_fail(NAME, c, "SET");
	if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK")) {
		fprintf(stderr, NAME ": Redis: SET answered %s\n",
			r->type == REDIS_REPLY_ERROR ? r->str : "not OK");
		exit(1);
	}
	freeReplyObject(r);
}

/* Frees @r after failing unless it is the value of key @i (GET). */
static void redis_check_val(redisContext *c, redisReply *r, uint64_t i)
{
	if (!r)
		redis_fail(NAME, c, "GET");
	if (r->type != REDIS_REPLY_STRING) {
		fprintf(stderr, NAME ": Redis: GET of key %llu answered %s\n",
			(unsigned long long)i,
			r->type == REDIS_REPLY_NIL   ? "nil" :
			r->type == REDIS_REPLY_ERROR ? r->str :
						       "not a string");
		exit(1);
	}
	check_val(NAME, "Redis", r->str, r->len, i);
	freeReplyObject(r);
}

/*
 * A round of pipelined operations: n of them (at most DEPTH), the k-th
 * on key idx[k], a set when set[k], else a get.  The same round goes to
 * either peer.
 */
struct round {
	unsigned int n;
	uint64_t idx[DEPTH];
	bool set[DEPTH];
};

/* Runs @rd through @b: queues all, submits, reaps all and checks them. */
static void tdb_round(struct tdb_batch *b, const struct round *rd)
{
	struct tdb_completion c[DEPTH];
	uint8_t key[KEY_LEN], val[VAL_LEN];
	unsigned int k, done;
	int err, n, j;

	for (k = 0; k < rd->n; k++) {
		make_key(key, rd->idx[k]);
		/* The slot rides in user, to check a get's value below. */
		if (rd->set[k]) {
			make_val(val, rd->idx[k]);
			err = tdb_batch_put(b, table, key, KEY_LEN, val,
					    VAL_LEN, 0, (void *)(uintptr_t)k);
		} else {
			err = tdb_batch_get(b, table, key, KEY_LEN,
					    (void *)(uintptr_t)k);
		}
		if (err)
			fail(rd->set[k] ? "tdb_batch_put" : "tdb_batch_get",
			     err);
	}
	err = tdb_batch_submit(b);
	if (err)
		fail("tdb_batch_submit", err);
	for (done = 0; done < rd->n; done += (unsigned int)n) {
		n = tdb_batch_reap(b, c, DEPTH, rd->n - done);
		if (n < 0)
			fail("tdb_batch_reap", n);
		for (j = 0; j < n; j++) {
			k = (unsigned int)(uintptr_t)c[j].user;
			if (c[j].status)
				fail(rd->set[k] ? "batched put" : "batched get",
				     c[j].status);
			if (!rd->set[k])
				check_val(NAME, "tdb", c[j].val, c[j].vlen,
					  rd->idx[k]);
		}
	}
}

/* Runs @rd through @c: appends all commands, then reads all replies. */
static void redis_round(redisContext *c, const struct round *rd)
{
	uint8_t key[KEY_LEN], val[VAL_LEN];
	unsigned int k;
	void *r;
	int err;

	for (k = 0; k < rd->n; k++) {
		make_key(key, rd->idx[k]);
		if (rd->set[k]) {
			make_val(val, rd->idx[k]);
			err = redisAppendCommand(c, "SET %b %b", key,
						 (size_t)KEY_LEN, val,
						 (size_t)VAL_LEN);
		} else {
			err = redisAppendCommand(c, "GET %b", key,
						 (size_t)KEY_LEN);
		}
		if (err != REDIS_OK)
			redis_fail(NAME, c, "redisAppendCommand");
	}
	/* Replies come in the order of the commands. */
	for (k = 0; k < rd->n; k++) {
		if (redisGetReply(c, &r) != REDIS_OK)
			redis_fail(NAME, c, "redisGetReply");
		if (rd->set[k])
			redis_check_ok(c, r);
		else
			redis_check_val(c, r, rd->idx[k]);
	}
}

/* Runs @rd through tdb's batch @b or through Redis's @rc (the other NULL). */
static void run_round(struct tdb_batch *b, redisContext *rc,
		      const struct round *rd)
{
	if (b)
		tdb_round(b, rd);
	else
		redis_round(rc, rd);
}

/*
 * Puts records 0 to nrecords - 1 into both peers, DEPTH per round; @t
 * gets each peer's seconds.
 */
static void load(struct tdb *db, redisContext *rc, double *t)
{
	struct tdb_batch *b;
	struct round rd;
	redisReply *r;
	enum peer p;
	uint64_t i;
	double t0;

	b = tdb_batch_new(db, DEPTH);
	if (!b)
		fail("tdb_batch_new", -errno);
	memset(rd.set, 1, sizeof(rd.set));
	for (p = 0; p < PEERS; p++) {
		t0 = now();
		for (i = 0; i < nrecords; i += rd.n) {
			for (rd.n = 0; rd.n < DEPTH && i + rd.n < nrecords;
			     rd.n++)
				rd.idx[rd.n] = i + rd.n;
			run_round(p == PEER_TDB ? b : NULL, rc, &rd);
		}
		t[p] = now() - t0;
	}
	tdb_batch_free(b);

	/* Another server's keys would make the peers unequal. */
	r = redisCommand(rc, "DBSIZE");
	if (!r || r->type != REDIS_REPLY_INTEGER)
		redis_fail(NAME, rc, "DBSIZE");
	if ((uint64_t)r->integer != nrecords) {
		fprintf(stderr,
			NAME
			": Redis: database 0 holds %lld keys, not %llu: use a server of its own\n",
			r->integer, (unsigned long long)nrecords);
		exit(1);
	}
	freeReplyObject(r);
}

/*
 * Latency histogram: 10 ns buckets below 100 us, 1 us buckets below
 * 10.1 ms, and one for the rest.  Fixed size, so that recording in the
 * timed loop allocates nothing and costs a division.
 */
#define HIST_FINE_NS 10
#define HIST_FINE 10000
#define HIST_COARSE_NS 1000
#define HIST_COARSE 10000
#define HIST_BUCKETS (HIST_FINE + HIST_COARSE + 1)

struct hist {
	uint64_t n;
	uint64_t max_ns;
	uint64_t count[HIST_BUCKETS];
};

static void hist_add(struct hist *h, uint64_t ns)
{
	uint64_t b = ns / HIST_FINE_NS;

	if (b >= HIST_FINE) {
		b = HIST_FINE +
		    (ns - HIST_FINE * HIST_FINE_NS) / HIST_COARSE_NS;
		if (b >= HIST_BUCKETS)
			b = HIST_BUCKETS - 1;
	}
	h->count[b]++;
	h->n++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

/* The @q quantile (0 to 1) in microseconds: its bucket's upper edge. */
static double hist_quantile_us(const struct hist *h, double q)
{
	uint64_t want = (uint64_t)(q * (double)h->n + 0.999999), seen = 0;
	unsigned int b;

	if (!want)
		want = 1;
	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= want)
			break;
	}
	if (b < HIST_FINE)
		return (b + 1) * HIST_FINE_NS / 1e3;
	if (b < HIST_BUCKETS - 1)
		return (HIST_FINE * HIST_FINE_NS +
			(b - HIST_FINE + 1) * HIST_COARSE_NS) /
		       1e3;
	return h->max_ns / 1e3;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* Workload 2: one get of key @i, request then answer, checked. */
static void get_one(enum peer p, struct tdb *db, redisContext *rc, uint64_t i)
{
	uint8_t key[KEY_LEN], val[VAL_LEN + 16];
	size_t vlen;
	int err;

	make_key(key, i);
	if (p == PEER_TDB) {
		err = tdb_get(db, table, key, KEY_LEN, val, sizeof(val), &vlen);
		if (err)
			fail("tdb_get", err);
		check_val(NAME, "tdb", val, vlen, i);
	} else {
		redis_check_val(
			rc, redisCommand(rc, "GET %b", key, (size_t)KEY_LEN),
			i);
	}
}

struct w2_figures {
	double rate, p50, p99;
};

/* Workload 2 for @p, run @run (its seed: both peers get the same keys). */
static struct w2_figures w2_run(enum peer p, struct tdb *db, redisContext *rc,
				struct hist *h, int run)
{
	uint64_t x = (uint64_t)run + 1, start, end, t0, t1;
	struct w2_figures f;

	memset(h, 0, sizeof(*h));
	start = now_ns();
	end = start + (uint64_t)(seconds * 1e9);
	do {
		x = splitmix(x);
		t0 = now_ns();
		get_one(p, db, rc, x % nrecords);
		t1 = now_ns();
		hist_add(h, t1 - t0);
	} while (t1 < end);
	f.rate = h->n / ((t1 - start) / 1e9);
	f.p50 = hist_quantile_us(h, 0.50);
	f.p99 = hist_quantile_us(h, 0.99);
	return f;
}

/* Workload 3: what a member gets from the parent. */
struct w3_arg {
	enum peer peer;
	struct tdb *parent_db;
	int run;
};

/* One client process of workload 3: connects, waits, runs its rounds. */
static void w3_client(int id, void *arg, struct team_result *r)
{
	const struct w3_arg *a = arg;
	uint64_t x = ((uint64_t)a->run << 32) + (uint64_t)id * 7919 + 1;
	struct tdb_batch *b = NULL;
	redisContext *rc = NULL;
	struct tdb *db = NULL;
	struct round rd;
	double start, end, t;
	unsigned int k;
	int err;

	/*
	 * The parent's rings are not ours (tdb.h, fork()); its Redis socket
	 * we leave alone.
	 */
	tdb_close(a->parent_db);
	if (a->peer == PEER_TDB) {
		err = tdb_connect(NULL, &db);
		if (err)
			fail("tdb_connect", err);
		b = tdb_batch_new(db, DEPTH);
		if (!b)
			fail("tdb_batch_new", -errno);
	} else {
		rc = redis_connect(NAME, redis_path);
	}
	rd.n = DEPTH;
	team_wait_go();
	start = now();
	end = start + seconds;
	do {
		for (k = 0; k < DEPTH; k++) {
			x = splitmix(x);
			rd.idx[k] = x % nrecords;
			x = splitmix(x);
			rd.set[k] = x & 1;
		}
		run_round(b, rc, &rd);
		r->ops += DEPTH;
		t = now();
	} while (t < end);
	r->elapsed = t - start;
	if (b) {
		tdb_batch_free(b);
		tdb_close(db);
	} else {
		redisFree(rc);
	}
}

/* Workload 3 for @p: operations/s, all processes together. */
static double w3_run(enum peer p, struct tdb *db, int run)
{
	struct w3_arg a = { .peer = p, .parent_db = db, .run = run };
	struct team_result sum;
	struct team team;

	team_start(&team, NAME, procs, w3_client, &a);
	if (team_run(&team, &sum)) {
		fprintf(stderr,
			NAME ": workload 3 (%s): a client process failed\n",
			peer_names[p]);
		exit(1);
	}
	return sum.ops / sum.elapsed;
}

/* The median of @v[0..runs-1], which stays in run order. */
static double median(const double *v)
{
	double s[RUNS_MAX];

	memcpy(s, v, runs * sizeof(*v));
	return bench_median(s, runs);
}

/*
 * The value of @field in the answer to "@cmd" (INFO's "name:value"
 * lines or CONFIG GET's pair), into @buf; "?" when missing.
 */
static void redis_info(redisContext *rc, const char *cmd, const char *field,
		       char *buf, size_t len)
{
	redisReply *r = redisCommand(rc, cmd);
	const char *s, *e;

	snprintf(buf, len, "?");
	if (!r)
		redis_fail(NAME, rc, cmd);
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		snprintf(buf, len, "%s", r->element[1]->str);
	} else if (r->type == REDIS_REPLY_STRING &&
		   (s = strstr(r->str, field))) {
		s += strlen(field);
		e = strpbrk(s, "\r\n");
		snprintf(buf, len, "%.*s", e ? (int)(e - s) : (int)strlen(s),
			 s);
	}
	freeReplyObject(r);
}

/* Prints workload @w's figures @v of every run for peer @p. */
static void runs_print(const char *w, enum peer p, const double *v)
{
	int i;

	printf("    workload %s, %-5s", w, peer_names[p]);
	for (i = 0; i < runs; i++)
		printf(" %.0f", v[i]);
	printf("\n");
}

static const char usage[] =
	"usage: redis --redis PATH [--records N] [--seconds S] [--runs R] [--procs P]\n"
	"Workloads 2 and 3 of issue 7: tdb at $TDB_SOCKET (tdbd) against the Redis\n"
	"server on the unix socket PATH, which it fills with N keys.\n";

/* One line of the table: both peers and their ratio. */
static void row(const char *what, const char *unit, int decimals,
		const double *v)
{
	printf("  %-44s %-5s %12.*f %12.*f %9.2f\n", what, unit, decimals,
	       v[PEER_TDB], decimals, v[PEER_REDIS],
	       v[PEER_TDB] / v[PEER_REDIS]);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "redis", required_argument, NULL, 'R' },
		{ "records", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'n' },
		{ "procs", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tdb_create_opts co = { .durability = TDB_DUR_MEMORY };
	double rate2[PEERS][RUNS_MAX], p50[PEERS][RUNS_MAX];
	double p99[PEERS][RUNS_MAX], rate3[PEERS][RUNS_MAX];
	double load_t[PEERS], m_rate2[PEERS], m_p50[PEERS], m_p99[PEERS];
	double m_rate3[PEERS], ratio2, ratio3;
	char version[64], save[64], aof[64];
	struct w2_figures f;
	struct tdb *db;
	redisContext *rc;
	struct hist *h;
	int c, err, i;
	enum peer p;

	while ((c = bench_getopt(argc, argv, "R:r:s:n:p:h", opts, usage)) !=
	       -1) {
		switch (c) {
		case 'R':
			redis_path = optarg;
			break;
		case 'r':
			nrecords = strtoull(optarg, NULL, 10);
			break;
		case 's':
			seconds = strtod(optarg, NULL);
			break;
		case 'n':
			runs = atoi(optarg);
			break;
		case 'p':
			procs = atoi(optarg);
			break;
		}
	}
	if (!redis_path || !nrecords || seconds <= 0 || runs < 1 ||
	    runs > RUNS_MAX || procs < 1 || procs > TEAM_MAX)
		usage_exit(usage, 2);
	/* Allocated now: the timed loop records into it and nothing else. */
	h = malloc(sizeof(*h));
	if (!h)
		fail("malloc", -ENOMEM);

	err = tdb_connect(NULL, &db);
	if (err)
		fail("tdb_connect (is tdbd running at $TDB_SOCKET?)", err);
	rc = redis_connect(NAME, redis_path);
	redis_info(rc, "INFO server", "redis_version:", version,
		   sizeof(version));
	redis_info(rc, "CONFIG GET save", "", save, sizeof(save));
	redis_info(rc, "CONFIG GET appendonly", "", aof, sizeof(aof));

	snprintf(table, sizeof(table), "bench_redis_%ld", (long)getpid());
	err = tdb_create(db, table, &co);
	if (err)
		fail("tdb_create", err);
	load(db, rc, load_t);

	for (i = 0; i < runs; i++)
		for (p = 0; p < PEERS; p++) {
			f = w2_run(p, db, rc, h, i);
			rate2[p][i] = f.rate;
			p50[p][i] = f.p50;
			p99[p][i] = f.p99;
		}
	for (i = 0; i < runs; i++)
		for (p = 0; p < PEERS; p++)
			rate3[p][i] = w3_run(p, db, i);
	for (p = 0; p < PEERS; p++) {
		m_rate2[p] = median(rate2[p]);
		m_p50[p] = median(p50[p]);
		m_p99[p] = median(p99[p]);
		m_rate3[p] = median(rate3[p]);
	}
	ratio2 = m_rate2[PEER_TDB] / m_rate2[PEER_REDIS];
	ratio3 = m_rate3[PEER_TDB] / m_rate3[PEER_REDIS];

	printf("tdb vs Redis: %llu records, %d-byte keys, %d-byte values; median of %d run%s, %.1f s each\n",
	       (unsigned long long)nrecords, KEY_LEN, VAL_LEN, runs,
	       runs == 1 ? "" : "s", seconds);
	printf("  tdb: tdbd at %s, a table of durability memory, through libtdb\n",
	       tdb_owner_path(NULL));
	printf("  Redis %s: %s, save '%s', appendonly %s, through hiredis\n",
	       version, redis_path, save, aof);
	printf("  load (%d per round, pipelined): tdb %.0f records/s, Redis %.0f records/s\n",
	       DEPTH, nrecords / load_t[PEER_TDB],
	       nrecords / load_t[PEER_REDIS]);
	printf("  %-44s %-5s %12s %12s %9s\n", "", "", "tdb", "Redis",
	       "tdb/Redis");
	printf("  2. unbatched gets, 1 client, request then answer\n");
	row("     tdb_get() vs GET by redisCommand()", "ops/s", 0, m_rate2);
	row("     latency of one get, 50th percentile", "us", 2, m_p50);
	row("     latency of one get, 99th percentile", "us", 2, m_p99);
	printf("  3. pipelined, %d processes, depth %d, 50%% gets 50%% sets, random keys\n",
	       procs, DEPTH);
	row("     tdb batch vs redisAppendCommand() x64", "ops/s", 0, m_rate3);
	printf("  targets (issue 7):\n");
	printf("    2: tdb >= 3x Redis:     %.2fx  %s\n", ratio2,
	       ratio2 >= 3 ? "met" : "MISSED");
	printf("    2: tdb p99 < 50 us:     %.2f us  %s\n", m_p99[PEER_TDB],
	       m_p99[PEER_TDB] < 50 ? "met" : "MISSED");
	printf("    3: tdb >= 2x Redis:     %.2fx  %s\n", ratio3,
	       ratio3 >= 2 ? "met" : "MISSED");
	/* The spread: on a busy machine the runs disagree. */
	printf("  each run, in order (ops/s):\n");
	for (p = 0; p < PEERS; p++) {
		runs_print("2", p, rate2[p]);
		runs_print("3", p, rate3[p]);
	}

	for (p = 0; p < PEERS; p++) {
		const char *n = p == PEER_TDB ? "tdb" : "redis";

		printf("result %s_load_records_per_s %.0f\n", n,
		       nrecords / load_t[p]);
		printf("result %s_get_ops_per_s %.0f\n", n, m_rate2[p]);
		printf("result %s_get_p50_us %.2f\n", n, m_p50[p]);
		printf("result %s_get_p99_us %.2f\n", n, m_p99[p]);
		printf("result %s_pipelined_ops_per_s %.0f\n", n, m_rate3[p]);
	}
	printf("result get_ratio %.2f\n", ratio2);
	printf("result pipelined_ratio %.2f\n", ratio3);

	err = tdb_drop(db, table);
	if (err)
		fail("tdb_drop", err);
	tdb_close(db);
	redisFree(rc);
	free(h);
	return 0;
}
