// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Table access control with real uids: children that setgid()/setuid() to
 * unprivileged ids and connect anew (the owner takes credentials from the
 * connection).  Runs only as root; skipped otherwise.
 *
 *   A (uid UID_A, gid GID_A) creates tables of modes 0600, 0644, 0660 and
 *     0640 and puts a key in each.
 *   B (uid UID_B, gid GID_B, a stranger) gets -EACCES for everything on
 *     the 0600 and 0660 tables; can read but not write, delete or drop the
 *     0644 one.
 *   G (uid UID_G, gid GID_A: A's group) can read and write the 0660 table,
 *     only read the 0640 one, and is a stranger to the 0600 one.
 *   root can do everything, and the values are as A wrote them after all
 *   the refused writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <grp.h>

#include "harness.h"

#define UID_A 40001
#define GID_A 40001
#define UID_B 40002
#define GID_B 40002
#define UID_G 40003

static char t600[64], t644[64], t660[64], t640[64], tb[64];
static struct tdb *root;

/* Becomes @uid/@gid with no supplementary groups. */
static void become(uid_t uid, gid_t gid)
{
	CHILD_CHECK(setgroups(0, NULL) == 0, "setgroups: %s", strerror(errno));
	CHILD_CHECK(setgid(gid) == 0, "setgid: %s", strerror(errno));
	CHILD_CHECK(setuid(uid) == 0, "setuid: %s", strerror(errno));
	CHILD_CHECK(getuid() == uid && geteuid() == uid && getgid() == gid,
		    "ids");
}

static struct tdb *child_connect(void)
{
	struct tdb *c;
	int rc = h_connect(&c);

	CHILD_CHECK(rc == 0,
		    "uid %d cannot connect to %s: %d (%s) - the socket must be "
		    "connectable by every uid (0666): access control is per "
		    "table", (int)getuid(), h_socket_path(), rc,
		    tdb_strerror(rc));
	return c;
}

static void child_create(struct tdb *c, const char *t, uint32_t mode)
{
	struct tdb_create_opts o = { .mode = mode,
				     .durability = TDB_DUR_MEMORY };
	struct tdb_table_info info;
	int rc;

	rc = tdb_create(c, t, &o);
	CHILD_CHECK(rc == 0, "create %s: %d (%s)", t, rc, tdb_strerror(rc));
	rc = tdb_put(c, t, "key", 3, t, strlen(t), 0);
	CHILD_CHECK(rc == 0, "put %s: %d (%s)", t, rc, tdb_strerror(rc));
	rc = tdb_info(c, t, &info);
	CHILD_CHECK(rc == 0, "info %s: %d", t, rc);
	CHILD_CHECK(info.uid == getuid() && info.gid == getgid() &&
			    (info.mode & 07777) == mode,
		    "info %s: uid %u gid %u mode %o", t, info.uid, info.gid,
		    info.mode);
}

/* What @c may do on @t: read (get, scan), write (put, del). */
static void child_expect(struct tdb *c, const char *t, int can_read,
			 int can_write)
{
	char v[80];
	size_t vlen = 0;
	int rc;
	struct tdb_scan *s = NULL;
	const void *k, *sv;
	size_t klen, svlen;

	rc = tdb_get(c, t, "key", 3, v, sizeof(v), &vlen);
	if (can_read)
		CHILD_CHECK(rc == 0 && vlen == strlen(t) && !memcmp(v, t, vlen),
			    "uid %d get %s: %d", (int)getuid(), t, rc);
	else
		CHILD_CHECK(rc == -EACCES, "uid %d get %s: %d, expected EACCES",
			    (int)getuid(), t, rc);
	/* reading a missing key is refused the same way: no probing */
	rc = tdb_get(c, t, "nokey", 5, v, sizeof(v), &vlen);
	CHILD_CHECK(rc == (can_read ? -ENOENT : -EACCES),
		    "uid %d get missing key of %s: %d", (int)getuid(), t, rc);

	rc = tdb_scan_open(c, t, &s);
	if (rc == 0) {
		rc = tdb_scan_next(s, &k, &klen, &sv, &svlen);
		/* @k points into the scan: check before closing it */
		if (rc == 1 && (klen != 3 || memcmp(k, "key", 3)))
			rc = -EBADMSG;
		tdb_scan_close(s);
	}
	if (can_read)
		CHILD_CHECK(rc == 1, "uid %d scan %s: %d", (int)getuid(), t,
			    rc);
	else
		CHILD_CHECK(rc == -EACCES, "uid %d scan %s: %d, expected "
			    "EACCES", (int)getuid(), t, rc);

	if (can_write) {
		rc = tdb_put(c, t, "other", 5, "x", 1, 0);
		CHILD_CHECK(rc == 0, "uid %d put %s: %d", (int)getuid(), t, rc);
		rc = tdb_del(c, t, "other", 5);
		CHILD_CHECK(rc == 0, "uid %d del %s: %d", (int)getuid(), t, rc);
	} else {
		rc = tdb_put(c, t, "key", 3, "evil", 4, 0);
		CHILD_CHECK(rc == -EACCES, "uid %d put %s: %d, expected EACCES",
			    (int)getuid(), t, rc);
		rc = tdb_put(c, t, "new", 3, "evil", 4, TDB_PUT_CREATE);
		CHILD_CHECK(rc == -EACCES, "uid %d put-create %s: %d",
			    (int)getuid(), t, rc);
		rc = tdb_del(c, t, "key", 3);
		CHILD_CHECK(rc == -EACCES, "uid %d del %s: %d, expected EACCES",
			    (int)getuid(), t, rc);
		rc = tdb_del(c, t, "nokey", 5);
		CHILD_CHECK(rc == -EACCES, "uid %d del missing key of %s: %d",
			    (int)getuid(), t, rc);
	}
	/* info is a read */
	{
		struct tdb_table_info info;

		rc = tdb_info(c, t, &info);
		CHILD_CHECK(rc == (can_read ? 0 : -EACCES),
			    "uid %d info %s: %d", (int)getuid(), t, rc);
	}
	/* Only the table's owner (or root) drops it. */
	rc = tdb_drop(c, t);
	CHILD_CHECK(rc == -EACCES, "uid %d drop %s: %d, expected EACCES",
		    (int)getuid(), t, rc);
}

/* The same through a batch: statuses per operation. */
static void child_expect_batch(struct tdb *c, const char *t, int can_read,
			       int can_write)
{
	struct tdb_batch *b = tdb_batch_new(c, 8);
	struct tdb_completion comp[8];
	int rc, n = 0, i;

	CHILD_CHECK(b, "batch");
	CHILD_CHECK(tdb_batch_get(b, t, "key", 3, (void *)1) == 0, "queue");
	CHILD_CHECK(tdb_batch_put(b, t, "key", 3, "evil", 4, 0, (void *)2) ==
			    0, "queue");
	rc = tdb_batch_submit(b);
	CHILD_CHECK(rc == 0, "submit: %d", rc);
	while (tdb_batch_pending(b)) {
		rc = tdb_batch_reap(b, comp + n, 8 - n, 1);
		CHILD_CHECK(rc >= 1, "reap: %d", rc);
		n += rc;
	}
	for (i = 0; i < n; i++) {
		if (comp[i].user == (void *)1)
			CHILD_CHECK(comp[i].status == (can_read ? 0 : -EACCES),
				    "batch get %s: %d", t, comp[i].status);
		else
			CHILD_CHECK(comp[i].status == (can_write ? 0 : -EACCES),
				    "batch put %s: %d", t, comp[i].status);
	}
	tdb_batch_free(b);
	if (can_write) {
		/* put the original back */
		rc = tdb_put(c, t, "key", 3, t, strlen(t), 0);
		CHILD_CHECK(rc == 0, "restore %s: %d", t, rc);
	}
}

static int run_as(uid_t uid, gid_t gid, void (*fn)(void))
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		tdb_close(root);
		become(uid, gid);
		fn();
		_exit(0);
	}
	return h_wait_child(pid, 60000);
}

static void as_a(void)
{
	struct tdb *c = child_connect();

	child_create(c, t600, 0600);
	child_create(c, t644, 0644);
	child_create(c, t660, 0660);
	child_create(c, t640, 0640);
	tdb_close(c);
}

static void as_b(void)
{
	struct tdb *c = child_connect();
	struct tdb_table_info *list = NULL, info;
	int n, i, saw644 = 0, rc;

	child_expect(c, t600, 0, 0);
	child_expect(c, t660, 0, 0);
	child_expect(c, t640, 0, 0);
	child_expect(c, t644, 1, 0);
	child_expect_batch(c, t600, 0, 0);
	child_expect_batch(c, t644, 1, 0);

	/* B lists the table it may read, and only that one of A's. */
	n = tdb_tables(c, &list);
	CHILD_CHECK(n >= 1, "tables: %d", n);
	for (i = 0; i < n; i++) {
		saw644 += strcmp(list[i].name, t644) == 0;
		CHILD_CHECK(strcmp(list[i].name, t600) &&
				    strcmp(list[i].name, t660) &&
				    strcmp(list[i].name, t640),
			    "B sees %s in the list", list[i].name);
	}
	free(list);
	CHILD_CHECK(saw644 == 1, "B does not see %s in the list", t644);

	/* B's own table is B's. */
	{
		struct tdb_create_opts o = { .durability = TDB_DUR_MEMORY };

		rc = tdb_create(c, tb, &o);
		CHILD_CHECK(rc == 0, "B create: %d", rc);
		rc = tdb_info(c, tb, &info);
		CHILD_CHECK(rc == 0 && info.uid == UID_B && info.gid == GID_B &&
				    (info.mode & 07777) == 0600,
			    "B info: %d uid %u gid %u mode %o", rc, info.uid,
			    info.gid, info.mode);
		rc = tdb_put(c, tb, "key", 3, tb, strlen(tb), 0);
		CHILD_CHECK(rc == 0, "B put: %d", rc);
		/* and creating A's table name again is EEXIST, not a takeover */
		rc = tdb_create(c, t600, &o);
		CHILD_CHECK(rc == -EEXIST || rc == -EACCES, "B create t600: %d",
			    rc);
	}
	tdb_close(c);
}

static void as_g(void)
{
	struct tdb *c = child_connect();

	child_expect(c, t600, 0, 0);
	child_expect(c, t660, 1, 1);
	child_expect(c, t640, 1, 0);
	child_expect(c, t644, 1, 0);
	child_expect_batch(c, t660, 1, 1);
	child_expect_batch(c, t640, 1, 0);
	{
		struct tdb_table_info *list = NULL;
		int n = tdb_tables(c, &list), i, seen = 0;

		CHILD_CHECK(n >= 3, "G tables: %d", n);
		for (i = 0; i < n; i++) {
			CHILD_CHECK(strcmp(list[i].name, t600),
				    "G sees %s in the list", t600);
			seen += !strcmp(list[i].name, t660) +
				!strcmp(list[i].name, t640) +
				!strcmp(list[i].name, t644);
		}
		free(list);
		CHILD_CHECK(seen == 3, "G sees %d of its 3 readable tables",
			    seen);
	}
	tdb_close(c);
}

/* A again: the owner may read, write, and finally drop. */
static void as_a_again(void)
{
	struct tdb *c = child_connect();

	child_expect(c, tb, 0, 0);	/* B's table, 0600 */
	{
		const char *all[] = { t600, t644, t660, t640 };
		unsigned int i;
		char v[80];
		size_t vlen;
		int rc;

		for (i = 0; i < 4; i++) {
			rc = tdb_get(c, all[i], "key", 3, v, sizeof(v), &vlen);
			CHILD_CHECK(rc == 0 && vlen == strlen(all[i]) &&
					    !memcmp(v, all[i], vlen),
				    "A get %s: %d", all[i], rc);
			rc = tdb_put(c, all[i], "mine", 4, "a", 1, 0);
			CHILD_CHECK(rc == 0, "A put %s: %d", all[i], rc);
		}
		rc = tdb_drop(c, t640);
		CHILD_CHECK(rc == 0, "A drop %s: %d", t640, rc);
	}
	tdb_close(c);
}

static void test_access(void **state)
{
	const char *all[] = { t600, t644, t660 };
	struct tdb_table_info info;
	char v[80];
	size_t vlen;
	unsigned int i;

	(void)state;
	if (geteuid() != 0) {
		print_message("not root: access control with two uids is "
			      "skipped\n");
		skip();
	}
	assert_int_equal(h_connect(&root), 0);
	h_table(t600, sizeof(t600), "acc600");
	h_table(t644, sizeof(t644), "acc644");
	h_table(t660, sizeof(t660), "acc660");
	h_table(t640, sizeof(t640), "acc640");
	h_table(tb, sizeof(tb), "accb");

	assert_int_equal(run_as(UID_A, GID_A, as_a), 0);

	assert_int_equal(tdb_info(root, t600, &info), 0);
	assert_int_equal(info.uid, UID_A);
	assert_int_equal(info.gid, GID_A);
	assert_int_equal(info.mode & 07777, 0600);

	assert_int_equal(run_as(UID_B, GID_B, as_b), 0);
	assert_int_equal(run_as(UID_G, GID_A, as_g), 0);
	assert_int_equal(run_as(UID_A, GID_A, as_a_again), 0);

	/* Nothing the strangers tried changed a value. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(tdb_get(root, all[i], "key", 3, v, sizeof(v),
					 &vlen), 0);
		assert_int_equal(vlen, strlen(all[i]));
		assert_memory_equal(v, all[i], vlen);
		assert_int_equal(tdb_get(root, all[i], "new", 3, v, sizeof(v),
					 &vlen), -ENOENT);
	}
	assert_int_equal(tdb_info(root, t640, &info), -ENOENT);

	/* root may do anything on anyone's tables. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(tdb_put(root, all[i], "root", 4, "r", 1, 0),
				 0);
		assert_int_equal(tdb_get(root, all[i], "root", 4, v, sizeof(v),
					 &vlen), 0);
		assert_int_equal(tdb_del(root, all[i], "root", 4), 0);
		assert_int_equal(tdb_drop(root, all[i]), 0);
	}
	assert_int_equal(tdb_get(root, tb, "key", 3, v, sizeof(v), &vlen), 0);
	assert_int_equal(tdb_drop(root, tb), 0);
	tdb_close(root);
}

/* tdbd's default --max-conns: connections one non-root uid may hold. */
#define MAX_CONNS 256

/* Opens connections until refused, then checks a freed slot is reusable. */
static void as_hog(void)
{
	static struct tdb *c[MAX_CONNS + 1];
	uint64_t end;
	int i, rc;

	for (i = 0; i < MAX_CONNS; i++) {
		rc = tdb_connect(NULL, &c[i]);
		CHILD_CHECK(rc == 0, "connection %d of %d: %d (%s)", i + 1,
			    MAX_CONNS, rc, tdb_strerror(rc));
	}
	rc = tdb_connect(NULL, &c[MAX_CONNS]);
	CHILD_CHECK(rc == -EUSERS, "connection %d: %d (%s), not -EUSERS",
		    MAX_CONNS + 1, rc, tdb_strerror(rc));
	/* The connections that stay are still served. */
	CHILD_CHECK(tdb_put(c[0], tb, "hog", 3, "h", 1, 0) == -EACCES,
		    "a kept connection is not served");
	/* tdbd frees a closed connection when its worker sees the hangup. */
	tdb_close(c[0]);
	end = h_now_ms() + 3000;
	while ((rc = tdb_connect(NULL, &c[0])) == -EUSERS &&
	       h_now_ms() < end)
		h_sleep_us(10000);
	CHILD_CHECK(rc == 0, "no connection after closing one: %d (%s)", rc,
		    tdb_strerror(rc));
	for (i = 0; i < MAX_CONNS; i++)
		tdb_close(c[i]);
}

/* One uid cannot hold more than --max-conns connections; root can. */
static void test_max_conns(void **state)
{
	struct tdb *extra[4];
	int i;

	(void)state;
	if (geteuid() != 0) {
		print_message("not root: the per-uid connection limit is "
			      "skipped\n");
		skip();
	}
	assert_int_equal(h_connect(&root), 0);
	h_table(tb, sizeof(tb), "acchog");
	assert_int_equal(tdb_create(root, tb, NULL), 0);
	assert_int_equal(run_as(UID_B, GID_B, as_hog), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(tdb_connect(NULL, &extra[i]), 0);
	for (i = 0; i < 4; i++)
		tdb_close(extra[i]);
	assert_int_equal(tdb_drop(root, tb), 0);
	tdb_close(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_max_conns),
	};

	return cmocka_run_group_tests_name("integration/access", tests, NULL,
					   NULL);
}
