// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of core/journal.c and the port primitives it runs on, on
 * real files in a temporary directory: threads get their name and nice
 * value; a wait returns at once when its condition holds, times out when
 * it never does, and wakes when another thread makes it true; a journal
 * recovers an empty directory, syncs what a response waits for and, for
 * async tables, what was only appended; a checkpoint asked for is
 * published (once for several callers, not again when nothing changed,
 * never when the journal does not run); stopping writes a last checkpoint
 * from which the next recovery restores everything; a corrupt checkpoint
 * is refused with the host's own words for accepting the loss.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "journal.h"
#include "pool.h"
#include "wal.h"
#include "tmpdir.h"

#define SEC 1000000000ULL

static char dir[64];
static char logged[8192];
static struct tdb_owner owner;
static u64 progress_durable;
static int progress_calls;

/* Keeps the messages, from any thread, for tests that look for one. */
static void keep_log(int level, const char *msg)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	size_t n;

	(void)level;
	pthread_mutex_lock(&lock);
	n = strlen(logged);
	snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
	pthread_mutex_unlock(&lock);
}

static void progress(void *arg, u64 durable, int err)
{
	(void)arg;
	(void)err;
	__atomic_store_n(&progress_durable, durable, __ATOMIC_RELEASE);
	__atomic_add_fetch(&progress_calls, 1, __ATOMIC_RELAXED);
}

static struct tdb_journal_opts opts(void)
{
	struct tdb_journal_opts o = {
		.dir = dir,
		.flush_ms = 20,
		.host = "unitd",
		.loss_flag = "--take-loss",
		.log_progress = progress,
	};

	return o;
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/tdb-journal-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	logged[0] = '\0';
	progress_durable = 0;
	progress_calls = 0;
	return tdb_owner_init(&owner);
}

static int teardown(void **state)
{
	(void)state;
	tdb_owner_fini(&owner);
	return tmpdir_remove(dir);
}

/* How many checkpoint files the directory holds. */
static int ckpt_files(void)
{
	return tmpdir_count(dir, "ckpt-");
}

static struct tdb_table *table(struct tdb_owner *o, const char *name)
{
	struct tdb_table *t;

	rcu_read_lock();
	t = tdb_table_find(&o->db, name);
	rcu_read_unlock();
	assert_non_null(t);
	return t;
}

static void create(const char *name, u32 durability)
{
	struct tdb_table_opts to = { .durability = durability };

	assert_int_equal(tdb_table_create(&owner.db, name, &to), 0);
}

static void put(const char *name, u64 k, u64 v)
{
	assert_int_equal(tdb_table_put(table(&owner, name), &k, sizeof(k), &v,
				       sizeof(v), 0),
			 0);
}

static u64 get(struct tdb_owner *o, const char *name, u64 k)
{
	u64 v = 0;
	u32 vlen = 0;

	assert_int_equal(tdb_table_read(table(o, name), &k, sizeof(k), &v,
					sizeof(v), &vlen),
			 0);
	assert_int_equal(vlen, sizeof(v));
	return v;
}

/* Waits up to 5 s for the log to be durable up to @lsn. */
static void wait_durable(u64 lsn)
{
	u64 end = port_time_ns() + 5 * SEC;

	while (tdb_wal_durable_lsn(owner.db.wal) < lsn) {
		if (port_time_ns() > end)
			fail_msg("the log is durable up to %llu, not %llu",
				 (unsigned long long)tdb_wal_durable_lsn(
					 owner.db.wal),
				 (unsigned long long)lsn);
		usleep(1000);
	}
}

/* Ports: threads and waiting. */

struct thread_probe {
	int nice;
	char name[32];
	bool ran;
};

static int probe_main(void *arg)
{
	struct thread_probe *p = arg;

	errno = 0;
	p->nice = getpriority(PRIO_PROCESS, (id_t)gettid());
	pthread_getname_np(pthread_self(), p->name, sizeof(p->name));
	p->ran = true;
	return 0;
}

static void test_thread(void **state)
{
	struct thread_probe p = { 0 };
	struct port_thread *t;

	(void)state;
	assert_int_equal(port_thread_run(&t, probe_main, &p,
					 "tdb-a-long-thread-name", 7),
			 0);
	port_thread_join(t);
	assert_true(p.ran);
	assert_int_equal(p.nice, 7);
	/* The kernel's comm keeps 15 characters; so does the port. */
	assert_string_equal(p.name, "tdb-a-long-thre");
}

struct waker {
	port_waitq_t wq;
	int flag;
};

static int waker_main(void *arg)
{
	struct waker *w = arg;

	usleep(20000);
	WRITE_ONCE(w->flag, 1);
	port_wake_up(&w->wq);
	return 0;
}

static void test_wait(void **state)
{
	struct waker w = { 0 };
	struct port_thread *t;
	u64 t0;

	(void)state;
	port_waitq_init(&w.wq);
	/* A condition that holds: no sleep. */
	t0 = port_time_ns();
	assert_int_equal(port_wait_event_timeout(&w.wq, true, 5000), 1);
	assert_true(port_time_ns() - t0 < SEC);
	/* One that never does: the timeout, not much more. */
	t0 = port_time_ns();
	assert_int_equal(port_wait_event_timeout(&w.wq, READ_ONCE(w.flag), 50),
			 0);
	assert_true(port_time_ns() - t0 >= 50000000ULL);
	assert_true(port_time_ns() - t0 < 2 * SEC);
	/* One that another thread makes true: woken long before 10 s. */
	assert_int_equal(port_thread_run(&t, waker_main, &w, "tdb-waker", 0),
			 0);
	t0 = port_time_ns();
	assert_int_equal(port_wait_event_timeout(&w.wq, READ_ONCE(w.flag),
						 10000),
			 1);
	assert_true(port_time_ns() - t0 < 5 * SEC);
	port_thread_join(t);
	port_waitq_destroy(&w.wq);
}

static void test_atomics(void **state)
{
	port_atomic_t a;

	(void)state;
	port_atomic_set(&a, 5);
	assert_int_equal(port_atomic_xchg(&a, 9), 5);
	assert_int_equal(port_atomic_cmpxchg(&a, 5, 1), 9);
	assert_int_equal(port_atomic_read(&a), 9);
	assert_int_equal(port_atomic_cmpxchg(&a, 9, 1), 9);
	assert_int_equal(port_atomic_read(&a), 1);
}

/* The journal. */

static void test_cycle(void **state)
{
	struct tdb_journal_opts o = opts();
	struct tdb_owner again;
	struct tdb_journal *j;
	u64 lsn, i;

	(void)state;
	assert_int_equal(tdb_journal_recover(&owner, &o, &j), 0);
	assert_non_null(strstr(logged, "recovered in "));
	assert_non_null(strstr(logged, "no checkpoint, 0 tables"));
	assert_non_null(owner.db.wal);
	assert_int_equal(tdb_journal_start(j), 0);

	create("s", TDB_DUR_SYNC);
	for (i = 0; i < 100; i++)
		put("s", i, i * 3);
	lsn = tdb_table_log_lsn(table(&owner, "s"));
	tdb_journal_want(j, lsn);
	wait_durable(lsn);
	assert_true(__atomic_load_n(&progress_durable, __ATOMIC_ACQUIRE) >=
		    lsn);

	assert_int_equal(tdb_journal_checkpoint(j), 0);
	assert_int_equal(ckpt_files(), 1);
	assert_int_equal(owner.log.ckpt_lsn, tdb_wal_append_lsn(owner.db.wal));
	/* Nothing new: nothing written. */
	assert_int_equal(tdb_journal_checkpoint(j), 0);
	assert_int_equal(ckpt_files(), 1);

	for (i = 100; i < 200; i++)
		put("s", i, i * 3);
	tdb_journal_stop(j);
	assert_null(owner.db.wal);
	/* The last one and the one before it. */
	assert_int_equal(ckpt_files(), 2);

	logged[0] = '\0';
	assert_int_equal(tdb_owner_init(&again), 0);
	assert_int_equal(tdb_journal_recover(&again, &o, &j), 0);
	assert_non_null(strstr(logged, "1 tables, 200 records"));
	assert_non_null(strstr(logged, "then 0 log records"));
	for (i = 0; i < 200; i++)
		assert_int_equal(get(&again, "s", i), i * 3);
	tdb_journal_stop(j);
	tdb_owner_fini(&again);
}

/* Async writes reach the disk within the flush interval, unasked. */
static void test_async_flush(void **state)
{
	struct tdb_journal_opts o = opts();
	struct tdb_journal *j;
	u64 lsn;

	(void)state;
	assert_int_equal(tdb_journal_recover(&owner, &o, &j), 0);
	assert_int_equal(tdb_journal_start(j), 0);
	create("a", TDB_DUR_ASYNC);
	/* Let the log thread fall asleep for long with nothing to do. */
	usleep(100000);
	put("a", 1, 2);
	tdb_journal_appended(j);
	lsn = tdb_table_log_lsn(table(&owner, "a"));
	assert_true(lsn > 0);
	wait_durable(lsn);
	tdb_journal_stop(j);
}

struct asker {
	struct tdb_journal *j;
	int ret;
};

static int asker_main(void *arg)
{
	struct asker *a = arg;

	a->ret = tdb_journal_checkpoint(a->j);
	return 0;
}

/* Several callers at once, while writes go on: each gets a checkpoint. */
static void test_checkpoint_callers(void **state)
{
	struct tdb_journal_opts o = opts();
	struct port_thread *t[4];
	struct asker a[4];
	struct tdb_journal *j;
	unsigned int i;

	(void)state;
	assert_int_equal(tdb_journal_recover(&owner, &o, &j), 0);
	/* Not running yet: nobody would write it. */
	assert_int_equal(tdb_journal_checkpoint(j), -ESHUTDOWN);
	assert_int_equal(tdb_journal_start(j), 0);
	create("c", TDB_DUR_ASYNC);
	for (i = 0; i < 4; i++) {
		a[i].j = j;
		a[i].ret = 1;
		assert_int_equal(port_thread_run(&t[i], asker_main, &a[i],
						 "tdb-asker", 0),
				 0);
		put("c", i, i);
	}
	for (i = 0; i < 4; i++) {
		port_thread_join(t[i]);
		assert_int_equal(a[i].ret, 0);
	}
	assert_true(ckpt_files() >= 1);
	tdb_journal_stop(j);
}

/* A corrupt newest checkpoint: refused, in the host's words. */
static void test_corrupt_checkpoint(void **state)
{
	struct tdb_journal_opts o = opts();
	struct tdb_ckpt_info ci;
	struct tdb_owner again;
	struct tdb_journal *j;
	char path[512];
	FILE *f;

	(void)state;
	assert_int_equal(tdb_journal_recover(&owner, &o, &j), 0);
	assert_int_equal(tdb_journal_start(j), 0);
	create("k", TDB_DUR_SYNC);
	put("k", 1, 1);
	tdb_journal_stop(j);

	assert_int_equal(tdb_owner_init(&again), 0);
	again.db.tables_per_uid = 0;
	assert_int_equal(tdb_ckpt_load(&again.db, dir, 0, &ci), 0);
	tdb_owner_fini(&again);
	snprintf(path, sizeof(path), "%s/%s", dir, ci.file);
	f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, TDB_CKPT_HDR + TDB_CKPT_BLOCK_HDR + 2, SEEK_SET);
	fputc(0x5a, f);
	fclose(f);

	logged[0] = '\0';
	assert_int_equal(tdb_owner_init(&again), 0);
	assert_int_equal(tdb_journal_recover(&again, &o, &j), -EBADMSG);
	assert_non_null(strstr(logged, ci.file));
	assert_non_null(strstr(logged, "start unitd with --take-loss"));
	tdb_owner_fini(&again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_atomics),
		cmocka_unit_test_setup_teardown(test_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_flush, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_callers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_checkpoint, setup,
						teardown),
	};
	int ret;

	port_log_sink = keep_log;
	port_rcu_thread_online();
	tdb_pcache_init();
	ret = cmocka_run_group_tests_name("journal", tests, NULL, NULL);
	tdb_pcache_fini();
	port_rcu_thread_offline();
	return ret;
}
