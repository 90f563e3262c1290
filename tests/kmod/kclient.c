// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kclient - the libtdb client that make kmod-test's guest runs (see
 * tests/kmod/init).  It connects as every libtdb client does (TDB_SOCKET,
 * else /dev/tdb, else tdbd's default socket), so the same program drives
 * tdb.ko and tdbd.
 *
 *   kclient write TABLE       creates TABLE (sync) and puts k00000000,
 *                             k00000001, ... until killed, printing
 *                             "TDB-ACK N" once put N has returned 0: the
 *                             host reads those from the serial console
 *   kclient check TABLE N     every key 0..N is there with its value
 *   kclient hold TABLE        puts a key, prints "TDB-HOLD ready", waits
 *                             for a line on stdin, then requires the next
 *                             call to fail with -ESHUTDOWN (rmmod happened
 *                             meanwhile)
 *
 * Exit status 0 when all went as required, 1 otherwise, 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tdb/tdb.h>

#define VAL_LEN 100
#define HOLD_LIMIT_S 30

/* Key @i's value: its number spelled out, then filler that depends on it. */
static size_t make_val(char *buf, uint32_t i)
{
	int n = snprintf(buf, VAL_LEN, "v%08" PRIu32 "-", i);

	while (n < VAL_LEN) {
		buf[n] = (char)('a' + (i + n) % 26);
		n++;
	}
	return VAL_LEN;
}

static int key_of(char *buf, size_t cap, uint32_t i)
{
	return snprintf(buf, cap, "k%08" PRIu32, i);
}

static struct tdb *connect_or_die(void)
{
	struct tdb *db;
	int rc = tdb_connect(NULL, &db);

	if (rc) {
		fprintf(stderr, "kclient: connect: %s\n", tdb_strerror(rc));
		exit(1);
	}
	return db;
}

/*
 * The ack goes out with one write() to the console, after the put
 * returned: a line the host reads was acknowledged, never the reverse.
 */
static int cmd_write(const char *table)
{
	struct tdb_create_opts o = { .durability = TDB_DUR_SYNC };
	struct tdb *db = connect_or_die();
	char key[32], val[VAL_LEN], line[40];
	uint32_t i;
	int rc, n;

	rc = tdb_create(db, table, &o);
	if (rc && rc != -EEXIST) {
		fprintf(stderr, "kclient: create %s: %s\n", table,
			tdb_strerror(rc));
		return 1;
	}
	for (i = 0;; i++) {
		n = key_of(key, sizeof(key), i);
		rc = tdb_put(db, table, key, (size_t)n, val, make_val(val, i),
			     0);
		if (rc) {
			fprintf(stderr, "kclient: put %s: %s\n", key,
				tdb_strerror(rc));
			return 1;
		}
		n = snprintf(line, sizeof(line), "TDB-ACK %" PRIu32 "\n", i);
		if (write(STDOUT_FILENO, line, (size_t)n) != n)
			return 1;
	}
}

static int cmd_check(const char *table, uint32_t last)
{
	struct tdb *db = connect_or_die();
	char key[32], want[VAL_LEN], got[VAL_LEN + 1];
	uint32_t i, missing = 0, bad = 0, extra = 0;
	size_t vlen;
	int rc, n;

	for (i = 0; i <= last; i++) {
		n = key_of(key, sizeof(key), i);
		rc = tdb_get(db, table, key, (size_t)n, got, sizeof(got),
			     &vlen);
		if (rc == -ENOENT) {
			if (missing++ < 10)
				printf("kclient: acknowledged %s is missing\n",
				       key);
			continue;
		}
		if (rc) {
			printf("kclient: get %s: %s\n", key, tdb_strerror(rc));
			return 1;
		}
		if (vlen != make_val(want, i) || memcmp(got, want, vlen)) {
			if (bad++ < 10)
				printf("kclient: %s has a wrong value\n", key);
		}
	}
	/* Writes past the last ack may or may not have survived: counted. */
	for (;; i++) {
		n = key_of(key, sizeof(key), i);
		if (tdb_get(db, table, key, (size_t)n, NULL, 0, NULL))
			break;
		extra++;
	}
	printf("kclient: %" PRIu32 " acknowledged keys: %" PRIu32
	       " missing, %" PRIu32 " wrong; %" PRIu32
	       " unacknowledged ones survived\n",
	       last + 1, missing, bad, extra);
	tdb_close(db);
	return missing || bad;
}

/*
 * A hung call would be the failure that matters most here: SIGALRM's
 * default action ends the process, and the guest reports the status.
 */
static int cmd_hold(const char *table)
{
	struct tdb_create_opts o = { .durability = TDB_DUR_SYNC };
	struct tdb *db = connect_or_die();
	char line[16];
	int rc;

	rc = tdb_create(db, table, &o);
	if (!rc)
		rc = tdb_put(db, table, "held", 4, "yes", 3, 0);
	if (rc) {
		fprintf(stderr, "kclient: hold %s: %s\n", table,
			tdb_strerror(rc));
		return 1;
	}
	printf("TDB-HOLD ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	alarm(HOLD_LIMIT_S);
	rc = tdb_get(db, table, "held", 4, NULL, 0, NULL);
	alarm(0);
	printf("kclient: a call after rmmod returned %d (%s)\n", rc,
	       tdb_strerror(rc));
	if (rc != -ESHUTDOWN)
		return 1;
	/* A broken connection stays broken (tdb.h). */
	if (tdb_stats(db, &(struct tdb_stats){ 0 }) == 0) {
		printf("kclient: the connection worked again after rmmod\n");
		return 1;
	}
	tdb_close(db);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "write"))
		return cmd_write(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "check"))
		return cmd_check(argv[2], (uint32_t)strtoul(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return cmd_hold(argv[2]);
	fprintf(stderr, "usage: kclient write TABLE | check TABLE N | "
			"hold TABLE\n");
	return 2;
}
