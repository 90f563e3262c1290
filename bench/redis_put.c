// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/redis_put - durable puts per second in Redis, the peer of tdb's
 * sync tables in workload 4 of issue 7 (with bench/lmdb_put).
 *
 *   redis_put --redis PATH [--procs N] [--seconds S] [--depth D]
 *             [--mode plain|pipelined|both]
 *
 * Starts nothing: Redis is the server listening on the unix socket PATH,
 * reached through hiredis.  It should run in its documented fully
 * durable mode (appendonly yes, appendfsync always: a write is answered
 * only after the append-only file is fsynced), with nothing else in its
 * database 0 that the run could mistake for its own keys;
 * scripts/bench-durable.sh starts one so and says how.  The program
 * reads that configuration back (CONFIG GET) and refuses to measure a
 * server that does not fsync every write.
 *
 * N writer processes (default 4, forked; each connects anew) SET new
 * keys, the keys and values of bench/durable (16 bytes from make_key(),
 * writer w using indexes w << 40 onwards, plain and pipelined apart;
 * 100-byte values), for S seconds each (default 5), starting together:
 *
 *   plain      redisCommand(), one SET then its answer: each writer has
 *              one write waiting for the fsync at a time
 *   pipelined  redisAppendCommand(), at most D SETs in flight per writer
 *              (default 64), D/4 sent at a time, as bench/durable's
 *              pipelined tdb writers do
 *
 * --mode runs one of the two alone (default both, plain first).  Every
 * answer must be +OK, and afterwards DBSIZE must have grown by the
 * number of answers: every put was a new key.  Prints puts/s (all
 * writers together, over the longest writer's time from the start to
 * its last answer) and lines "result redis_plain_puts_per_s N" and
 * "result redis_pipelined_puts_per_s N" (those run) for
 * scripts/bench-durable.sh.
 * Exit status 1 on any error.
 */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench.h"

#define NAME "bench/redis_put"
#define KEY_LEN 16
#define VAL_LEN BENCH_VAL_LEN
#define DEPTH_MAX 65535U

static const char *redis_path;
static int procs = 4;
static double seconds = 5.0;
static unsigned int depth = 64;
static bool pipelined;
static const char *mode = "both";

/* Frees @r after failing unless it is the status "OK" of SET @i. */
static void check_ok(redisContext *c, redisReply *r, uint64_t i)
{
	if (!r)
		redis_fail(NAME, c, "SET");
	if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK")) {
		fprintf(stderr, NAME ": Redis: SET of key %#llx answered %s\n",
			(unsigned long long)i,
			r->type == REDIS_REPLY_ERROR ? r->str : "not OK");
		exit(1);
	}
	freeReplyObject(r);
}

/* Queues SET of key @i (not sent until a reply is read or flushed). */
static void append_set(redisContext *c, uint64_t i)
{
	uint8_t key[KEY_LEN], val[VAL_LEN];

	make_key(key, i);
	make_val(val, i);
	if (redisAppendCommand(c, "SET %b %b", key, (size_t)KEY_LEN, val,
			       (size_t)VAL_LEN) != REDIS_OK)
		redis_fail(NAME, c, "redisAppendCommand");
}

/* Reads the answer to the oldest SET in flight, key @i. */
static void read_ok(redisContext *c, uint64_t i)
{
	void *r;

	if (redisGetReply(c, &r) != REDIS_OK)
		redis_fail(NAME, c, "redisGetReply");
	check_ok(c, r, i);
}

/* Sends what hiredis holds for @c, without waiting for answers. */
static void flush_out(redisContext *c)
{
	int done = 0;

	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			redis_fail(NAME, c, "redisBufferWrite");
}

/* One writer (a team member): connects, waits for the start, puts. */
static void writer(int w, void *arg, struct team_result *r)
{
	uint64_t i = (uint64_t)w << 40 | (uint64_t)pipelined << 39;
	unsigned int chunk = depth / 4 ? depth / 4 : 1, j;
	uint64_t oldest = i; /* key of the oldest SET in flight */
	double start, end, t;
	redisContext *c;

	c = redis_connect(NAME, redis_path);
	team_wait_go();
	start = now();
	end = start + seconds;
	if (!pipelined) {
		do {
			append_set(c, i);
			read_ok(c, i);
			i++;
			r->ops++;
			t = now();
		} while (t < end);
	} else {
		while (now() < end) {
			for (j = 0; j < chunk; j++)
				append_set(c, i++);
			flush_out(c);
			/* Replies come in order: the oldest first. */
			while (i - oldest > depth - chunk) {
				read_ok(c, oldest++);
				r->ops++;
			}
		}
		while (oldest < i) {
			read_ok(c, oldest++);
			r->ops++;
		}
		t = now();
	}
	r->elapsed = t - start;
	redisFree(c);
}

/* The value of configuration parameter @name, which must equal @want. */
static void config_require(redisContext *c, const char *name,
			   const char *want)
{
	redisReply *r = redisCommand(c, "CONFIG GET %s", name);

	if (!r)
		redis_fail(NAME, c, "CONFIG GET");
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[1]->type != REDIS_REPLY_STRING) {
		fprintf(stderr, NAME ": Redis: CONFIG GET %s: unexpected answer\n",
			name);
		exit(1);
	}
	if (strcasecmp(r->element[1]->str, want)) {
		fprintf(stderr,
			NAME ": Redis runs with %s %s, not %s: its puts would not be durable\n",
			name, r->element[1]->str, want);
		exit(1);
	}
	freeReplyObject(r);
}

static long long dbsize(redisContext *c)
{
	redisReply *r = redisCommand(c, "DBSIZE");
	long long n;

	if (!r)
		redis_fail(NAME, c, "DBSIZE");
	if (r->type != REDIS_REPLY_INTEGER) {
		fprintf(stderr, NAME ": Redis: DBSIZE: not an integer\n");
		exit(1);
	}
	n = r->integer;
	freeReplyObject(r);
	return n;
}

/* One variant, all writers: puts/s; fails unless each put made a key. */
static double run(redisContext *c, bool piped)
{
	struct team_result sum;
	struct team team;
	long long before, after;

	pipelined = piped;
	before = dbsize(c);
	team_start(&team, NAME, procs, writer, NULL);
	if (team_run(&team, &sum)) {
		fputs(NAME ": a writer failed\n", stderr);
		exit(1);
	}
	after = dbsize(c);
	if ((unsigned long long)(after - before) != sum.ops) {
		fprintf(stderr,
			NAME ": %llu SETs were answered OK but DBSIZE grew by %lld\n",
			(unsigned long long)sum.ops, after - before);
		exit(1);
	}
	return sum.ops / sum.elapsed;
}

static const char usage[] =
	"usage: redis_put --redis PATH [--procs N] [--seconds S] [--depth D]\n"
	"                 [--mode plain|pipelined|both]\n"
	"Measures durable Redis SETs/s (appendfsync always), plain and pipelined.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "procs", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'D' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double plain = 0, piped = 0;
	bool do_plain, do_piped;
	redisContext *c;
	int opt;

	while ((opt = bench_getopt(argc, argv, "r:p:s:D:m:h", opts, usage)) !=
	       -1) {
		switch (opt) {
		case 'r':
			redis_path = optarg;
			break;
		case 'p':
			procs = atoi(optarg);
			break;
		case 's':
			seconds = strtod(optarg, NULL);
			break;
		case 'D':
			depth = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			mode = optarg;
			break;
		}
	}
	do_plain = !strcmp(mode, "plain") || !strcmp(mode, "both");
	do_piped = !strcmp(mode, "pipelined") || !strcmp(mode, "both");
	if (!redis_path || procs < 1 || procs > TEAM_MAX || seconds <= 0 ||
	    depth < 1 || depth > DEPTH_MAX || !(do_plain || do_piped))
		usage_exit(usage, 2);

	c = redis_connect(NAME, redis_path);
	config_require(c, "appendonly", "yes");
	config_require(c, "appendfsync", "always");
	if (do_plain)
		plain = run(c, false);
	if (do_piped)
		piped = run(c, true);
	redisFree(c);

	printf("Redis durable puts/s (%d processes, appendonly yes, appendfsync always, unix socket, %d-byte keys, %d-byte values, %.1f s each)\n",
	       procs, KEY_LEN, VAL_LEN, seconds);
	printf("  %-28s %12s\n", "", "puts/s");
	if (do_plain)
		printf("  %-28s %12.0f\n", "plain (redisCommand SET)", plain);
	if (do_piped)
		printf("  %-28s %12.0f  (depth %u, %u sent at a time)\n",
		       "pipelined", piped, depth, depth / 4 ? depth / 4 : 1);
	if (do_plain)
		printf("result redis_plain_puts_per_s %.0f\n", plain);
	if (do_piped)
		printf("result redis_pipelined_puts_per_s %.0f\n", piped);
	return 0;
}
