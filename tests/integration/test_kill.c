// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Clients killed with SIGKILL in the middle of a large batch, ROUNDS times.
 *
 * Each round forks a child that connects, starts a batch, tells the parent
 * through a pipe that it is inside it, and goes on queueing, submitting and
 * (in some rounds) never reaping, until the parent kills it after a small
 * random delay.  The batches put fixed keys with fixed-size values, or only
 * get, so the tables' footprint is the same whether or not a batch ran.
 *
 * After each round a client is served correctly (the parent's connection
 * and, every few rounds, a fresh one), and every value the dead clients
 * wrote is whole.  At the end the owner's memory figure (tdb_stats()
 * mem_bytes, which counts connections as well as tables) is back within 1%
 * of where it was after a warm-up, and the connection count is back too.
 * The owner may free a dead connection asynchronously: both are polled for
 * a few seconds before failing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#define ROUNDS 200
#define NKEYS 2000
#define VLEN 256
#define BIGVLEN (96 * 1024)	/* a few keys hold values of several frames */
#define NBIG 4

static char table[64];
static struct tdb *db;

static void key_of(char *k, int i)
{
	snprintf(k, 32, "kill-%05d", i);
}

static size_t vlen_of(int i)
{
	return i < NBIG ? BIGVLEN : VLEN;
}

/* A whole value: 16 bytes header { key, round, sum } then filler. */
static void make_value(uint8_t *v, int i, uint32_t round)
{
	size_t len = vlen_of(i);
	uint64_t sum;
	uint32_t k = (uint32_t)i;

	h_fill(v + 16, len - 16, ((uint64_t)round << 32) | k);
	sum = h_fnv(v + 16, len - 16);
	memcpy(v, &k, 4);
	memcpy(v + 4, &round, 4);
	memcpy(v + 8, &sum, 8);
}

static int value_ok(const uint8_t *v, size_t len, int i)
{
	uint32_t k;
	uint64_t sum;

	if (len != vlen_of(i))
		return 0;
	memcpy(&k, v, 4);
	memcpy(&sum, v + 8, 8);
	return k == (uint32_t)i && sum == h_fnv(v + 16, len - 16);
}

/*
 * The child: puts (or gets) every key in one batch, over and over.  Kinds:
 * 0 puts and reaps, 1 gets and reaps, 2 puts and never reaps (its RX ring
 * fills and the owner has responses it cannot deliver), 3 mixed with a
 * scan open in the middle, 4 as 0 but killed from the moment it starts to
 * connect (so some die in the handshake).
 */
static void child_main(int kind, uint32_t round, int ready_fd)
{
	struct tdb *c;
	struct tdb_batch *b;
	struct tdb_completion comp[64];
	uint8_t *v = malloc(BIGVLEN);
	char k[32];
	int rc, i, signalled = 0;
	unsigned int depth = kind == 2 ? 4096 : 256;
	struct tdb_scan *s = NULL;

	CHILD_CHECK(v, "malloc");
	if (kind == 4) {
		/* kill me while I connect: handshake, first frames */
		CHILD_CHECK(write(ready_fd, "r", 1) == 1, "pipe");
		signalled = 1;
	}
	rc = h_connect(&c);
	CHILD_CHECK(rc == 0, "connect: %d", rc);
	b = tdb_batch_new(c, depth);
	CHILD_CHECK(b, "tdb_batch_new");
	if (kind == 3) {
		const void *kk, *vv;
		size_t kl, vl;

		rc = tdb_scan_open(c, table, &s);
		CHILD_CHECK(rc == 0, "scan_open: %d", rc);
		rc = tdb_scan_next(s, &kk, &kl, &vv, &vl);
		CHILD_CHECK(rc == 1, "scan_next: %d", rc);
	}
	for (;;) {
		for (i = 0; i < NKEYS; i++) {
			key_of(k, i);
			while (tdb_batch_pending(b) >= depth) {
				if (!signalled) {
					/* inside the batch: kill me now */
					CHILD_CHECK(write(ready_fd, "r", 1) == 1,
						    "pipe");
					signalled = 1;
				}
				rc = tdb_batch_submit(b);
				CHILD_CHECK(rc == 0, "submit: %d", rc);
				if (kind == 2) {
					/* never reap: just keep it busy */
					for (;;)
						h_sleep_us(1000);
				}
				rc = tdb_batch_reap(b, comp, 64, 1);
				CHILD_CHECK(rc >= 1, "reap: %d", rc);
				while (rc--)
					CHILD_CHECK(comp[rc].status == 0,
						    "status %d",
						    comp[rc].status);
			}
			if (kind == 1 || (kind == 3 && i % 2)) {
				rc = tdb_batch_get(b, table, k, strlen(k),
						   NULL);
			} else {
				make_value(v, i, round);
				rc = tdb_batch_put(b, table, k, strlen(k), v,
						   vlen_of(i), 0, NULL);
			}
			CHILD_CHECK(rc == 0, "queue: %d", rc);
		}
	}
}

static void check_all(int sample)
{
	uint8_t *v = malloc(BIGVLEN);
	char k[32];
	size_t vlen;
	int i;

	assert_non_null(v);
	for (i = 0; i < NKEYS; i += sample) {
		key_of(k, i);
		assert_int_equal(tdb_get(db, table, k, strlen(k), v, BIGVLEN,
					 &vlen), 0);
		if (!value_ok(v, vlen, i))
			fail_msg("%s: torn or foreign value (%zu bytes)", k,
				 vlen);
	}
	free(v);
}

/* Runs one round: a child of @kind killed @delay_us after it said so. */
static void one_round(uint32_t round, int kind, unsigned int delay_us)
{
	int pfd[2];
	pid_t pid;
	char r;
	int st;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		tdb_close(db);
		child_main(kind, round, pfd[1]);
		_exit(0);
	}
	close(pfd[1]);
	if (h_wait_readable(pfd[0], 30000) != 1 || read(pfd[0], &r, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		close(pfd[0]);
		fail_msg("round %u: the child never got inside its batch "
			 "(exit status %d)", round,
			 WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
	}
	close(pfd[0]);
	h_sleep_us(delay_us);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* it must have died of our signal, not of a failed check */
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		fail_msg("round %u: child ended with %s %d before the kill",
			 round, WIFEXITED(st) ? "status" : "signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* Polls until the owner counts @conns connections.  1, or 0 past @ms. */
static int wait_conns(struct tdb_stats *st, uint32_t conns, unsigned int ms)
{
	uint64_t end = h_now_ms() + ms;

	for (;;) {
		assert_int_equal(tdb_stats(db, st), 0);
		if (st->connections == conns)
			return 1;
		if (h_now_ms() > end)
			return 0;
		h_sleep_us(20000);
	}
}

/* Polls until mem_bytes is within 1% of @mem0 and @conns0 connections. */
static int wait_stats(struct tdb_stats *st, uint64_t mem0, uint32_t conns0,
		      unsigned int ms)
{
	uint64_t end = h_now_ms() + ms;

	for (;;) {
		assert_int_equal(tdb_stats(db, st), 0);
		if (st->connections == conns0 &&
		    st->mem_bytes <= mem0 + mem0 / 100 &&
		    st->mem_bytes + mem0 / 100 >= mem0)
			return 1;
		if (h_now_ms() > end)
			return 0;
		h_sleep_us(20000);
	}
}

static void test_kill(void **state)
{
	struct tdb_create_opts o = { .durability = TDB_DUR_MEMORY };
	struct tdb_stats st0, st;
	uint8_t *v = malloc(BIGVLEN);
	uint64_t rng = 0x6b696c6c, t0 = h_now_ms();
	uint32_t round;
	char k[32];
	int i, kinds[5] = { 0 }, fds0;
	pid_t owner = h_owner_pid();

	(void)state;
	assert_non_null(v);
	assert_int_equal(h_connect(&db), 0);
	h_table(table, sizeof(table), "kill");
	assert_int_equal(tdb_create(db, table, &o), 0);
	for (i = 0; i < NKEYS; i++) {
		key_of(k, i);
		make_value(v, i, 0);
		assert_int_equal(tdb_put(db, table, k, strlen(k), v,
					 vlen_of(i), 0), 0);
	}

	/* Warm-up: a few rounds of each kind, then the starting figures. */
	for (round = 1; round <= 10; round++)
		one_round(round, round % 5, 1000 + h_rand_below(&rng, 3000));
	if (!wait_conns(&st0, 1, 5000))
		fail_msg("after the warm-up the owner still counts %u "
			 "connections (this one alone is left)",
			 st0.connections);
	h_sleep_us(200000);
	assert_int_equal(tdb_stats(db, &st0), 0);

	/* The figure counts connections: more of them, more memory. */
	{
		struct tdb *c[4];

		for (i = 0; i < 4; i++)
			assert_int_equal(h_connect(&c[i]), 0);
		assert_int_equal(tdb_stats(db, &st), 0);
		assert_int_equal(st.connections, 5);
		if (st.mem_bytes <= st0.mem_bytes)
			fail_msg("mem_bytes %llu with 4 more connections, %llu "
				 "without: connection memory is not counted",
				 (unsigned long long)st.mem_bytes,
				 (unsigned long long)st0.mem_bytes);
		print_message("4 idle connections: %+lld bytes\n",
			      (long long)(st.mem_bytes - st0.mem_bytes));
		for (i = 0; i < 4; i++)
			tdb_close(c[i]);
		if (!wait_stats(&st, st0.mem_bytes, 1, 5000))
			fail_msg("closing 4 connections: mem_bytes %llu, start "
				 "%llu, %u connections",
				 (unsigned long long)st.mem_bytes,
				 (unsigned long long)st0.mem_bytes,
				 st.connections);
	}
	check_all(1);
	fds0 = h_fd_count(owner);
	print_message("start: mem_bytes %llu, %u connections, %u tables, "
		      "%d descriptors\n", (unsigned long long)st0.mem_bytes,
		      st0.connections, st0.tables, fds0);

	for (round = 11; round < ROUNDS + 11; round++) {
		int kind = (int)h_rand_below(&rng, 5);
		unsigned int delay = h_rand_below(&rng, kind == 4 ? 2000 : 5000);

		kinds[kind]++;
		one_round(round, kind, delay);

		/* the parent's connection is served correctly */
		i = (int)h_rand_below(&rng, NKEYS);
		key_of(k, i);
		{
			size_t vlen;

			assert_int_equal(tdb_get(db, table, k, strlen(k), v,
						 BIGVLEN, &vlen), 0);
			assert_true(value_ok(v, vlen, i));
		}
		/* and so is a new client, every few rounds */
		if (round % 10 == 0) {
			struct tdb *c;
			size_t vlen;

			assert_int_equal(h_connect(&c), 0);
			assert_int_equal(tdb_put(c, table, "fresh", 5, &round,
						 sizeof(round), 0), 0);
			assert_int_equal(tdb_get(c, table, "fresh", 5, v, 16,
						 &vlen), 0);
			assert_int_equal(vlen, sizeof(round));
			assert_memory_equal(v, &round, sizeof(round));
			assert_int_equal(tdb_del(c, table, "fresh", 5), 0);
			tdb_close(c);
		}
		if (round % 50 == 0)
			check_all(7);
	}
	check_all(1);

	if (!wait_stats(&st, st0.mem_bytes, st0.connections, 5000))
		fail_msg("after %d killed clients: mem_bytes %llu (start "
			 "%llu, %+.2f%%), %u connections (start %u)", ROUNDS,
			 (unsigned long long)st.mem_bytes,
			 (unsigned long long)st0.mem_bytes,
			 100.0 * ((double)st.mem_bytes - (double)st0.mem_bytes) /
				 (double)st0.mem_bytes,
			 st.connections, st0.connections);
	/* and not a descriptor of the dead connections is left */
	i = h_wait_fd_count(owner, fds0, 5000);
	if (fds0 >= 0 && i != fds0)
		fail_msg("the owner holds %d descriptors after %d killed "
			 "clients, %d before", i, ROUNDS, fds0);
	print_message("end: mem_bytes %llu (%+.3f%%), %u connections, %d "
		      "descriptors; kinds %d/%d/%d/%d/%d; %lu ms\n",
		      (unsigned long long)st.mem_bytes,
		      100.0 * ((double)st.mem_bytes - (double)st0.mem_bytes) /
			      (double)st0.mem_bytes,
		      st.connections, i, kinds[0], kinds[1], kinds[2],
		      kinds[3], kinds[4], (unsigned long)(h_now_ms() - t0));

	assert_int_equal(tdb_drop(db, table), 0);
	tdb_close(db);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill),
	};

	return cmocka_run_group_tests_name("integration/kill", tests, NULL,
					   NULL);
}
