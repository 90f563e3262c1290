// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * journal.c - what makes tdbd's tables durable: recovery at start-up, the
 * log thread (group commit and the async flush) and the checkpoint
 * thread.  The formats and their rules are core's (wal.h, ckpt.h); this
 * file decides when things happen.
 *
 * Decisions recorded here:
 *  - One log thread does every write and fdatasync of the log.  It syncs
 *    as soon as a response waits for it (journal_want()), else once per
 *    flush interval when anything was appended.  Whatever was appended
 *    while a sync ran goes out with the next one: that is the group
 *    commit, with no timer in the way of a lone writer.
 *  - Async tables get fdatasync too, once per flush interval, not just a
 *    write(): the interval is a promise about the disk, not the page
 *    cache.
 *  - After a failed write or sync the log thread retries every
 *    JOURNAL_RETRY_MS; meanwhile writes are refused with the log's error
 *    (table.c) and held responses fail (ring.c).  Nothing is dropped: the
 *    log keeps its unwritten bytes and writes them once the disk allows.
 *  - The newest checkpoint and the one before it are kept, with the log
 *    from the older one's start: should the newest be damaged, recovery
 *    under --accept-loss falls back to the older one and replays the log
 *    over it, losing nothing.
 *  - A checkpoint is published only once the log is durable past
 *    everything the checkpoint may hold, so recovery never sees a
 *    checkpoint holding writes that the log lost: the recovered state is
 *    always a prefix of the log.
 *  - At shutdown, after the workers stopped, tdbd syncs the log and
 *    writes a last checkpoint, so a restart replays next to nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tdbd.h"
#include "ckpt.h"
#include "wal.h"

/* The checkpoint thread's nice value: below the workers'. */
#define JOURNAL_CKPT_NICE 10

/*
 * Group commit: after a sync that covered writes of several clients, the
 * log thread waits this fraction of a sync's duration (at most
 * JOURNAL_DELAY_MAX_NS) before the next one, so that the clients it just
 * answered have their next writes in it too (PostgreSQL's commit_delay,
 * sized by the disk).  A lone writer never waits.
 */
#define JOURNAL_DELAY_DIV 4
#define JOURNAL_DELAY_MAX_NS (1000ULL * 1000)
/* How often a failed log is tried again. */
#define JOURNAL_RETRY_MS 100
/* The longest the log thread sleeps with nothing to do. */
#define JOURNAL_IDLE_MS 1000

static struct {
	const char *dir;
	u64 flush_ns;
	unsigned int ckpt_secs;
	u64 ckpt_log;		/* log bytes that call for a checkpoint */

	pthread_t log_thread;
	int log_efd;		/* wakes the log thread */
	u64 want;		/* highest LSN a response waits for */
	u32 log_sleeping;	/* the log thread is (about to be) asleep */
	u32 log_idle;		/* ... for long, with nothing appended */
	u64 log_from;		/* the log before it may go */
	u64 kept_lsn;		/* start of the older checkpoint kept */

	/* Log thread -> waiters on a sync (the checkpoint). */
	pthread_mutex_t lock;
	pthread_cond_t progress;
	bool stop_log;
	bool stop_ckpt;
	pthread_t ckpt_thread;
	pthread_cond_t ckpt_wake;
	bool threads;
} j = {
	.log_efd = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.progress = PTHREAD_COND_INITIALIZER,
};

static double journal_secs(u64 since_ns)
{
	return (double)(port_time_ns() - since_ns) / 1e9;
}

/* Recovery. */

/* Tables from a checkpoint were last written at or before its start. */
static int journal_ckpt_lsn(void *arg, struct tdb_table *t)
{
	tdb_table_set_log_lsn(t, *(const u64 *)arg);
	return 0;
}

/*
 * A log cut (under --accept-loss) before the checkpoint's start would
 * make new records take positions that the next recovery skips: start
 * the log afresh at the checkpoint's position instead.
 */
static int journal_drop_segments(const char *dir)
{
	struct dirent *de;
	int err = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "wal-", 4))
			continue;
		err = port_file_unlink(dir, de->d_name);
		if (err)
			break;
	}
	closedir(d);
	return err ? err : port_dir_sync(dir);
}

/* Finds a staging table: copies its name into @arg and stops the walk. */
static int journal_find_staging(void *arg, struct tdb_table *t)
{
	struct tdb_table_opts opts;

	tdb_table_opts(t, &opts);
	if (!(opts.flags & TDB_TABLE_STAGING))
		return 0;
	strcpy(arg, tdb_table_name(t));
	return 1;
}

/*
 * Staging tables that the log left without a commit belonged to loads
 * whose clients are gone: drop them (logged, so that the next recovery
 * need not), as a closed connection would have.
 */
static void journal_drop_staging(void)
{
	char name[TDB_NAME_MAX];
	unsigned int n = 0;
	int err;

	while (tdb_db_for_each(&owner.db, journal_find_staging, name)) {
		err = tdb_table_drop(&owner.db, name, NULL, NULL);
		if (err) {
			log_msg(LOG_WARN, "dropping staging table %s: %s",
				name, strerror(-err));
			break;
		}
		n++;
	}
	if (n)
		log_msg(LOG_INFO,
			"dropped %u staging tables of loads that did not commit",
			n);
}

int journal_recover(const struct tdbd_opts *o)
{
	unsigned int per_uid = owner.db.tables_per_uid;
	struct tdb_wal_opts wo = { .segment_size = o->segment_size };
	struct tdb_wal_report rep;
	struct tdb_ckpt_info ci;
	u64 applied, orphans;
	struct tdb_wal *wal;
	u64 t0 = port_time_ns(), t1;
	int err;

	j.dir = o->data_dir;
	j.flush_ns = (u64)o->flush_ms * 1000000;
	j.ckpt_secs = o->ckpt_secs;
	j.ckpt_log = o->ckpt_log;

	/* What was accepted once is accepted again: no per-uid limit. */
	owner.db.tables_per_uid = 0;
	err = tdb_ckpt_load(&owner.db, o->data_dir,
			    o->accept_loss ? TDB_CKPT_ACCEPT_LOSS : 0, &ci);
	if (err) {
		if (err == -EBADMSG)
			log_msg(LOG_ERR,
				"checkpoint %s/%s is corrupt at offset %llu: %s; start tdbd with --accept-loss to fall back to an older checkpoint, losing what only this one holds",
				o->data_dir, ci.file,
				(unsigned long long)ci.offset, ci.reason);
		else
			log_msg(LOG_ERR, "loading the checkpoint in %s: %s",
				o->data_dir, strerror(-err));
		goto fail;
	}
	if (ci.skipped[0])
		log_msg(LOG_WARN,
			"checkpoint %s/%s is corrupt (offset %llu: %s): skipped under --accept-loss",
			o->data_dir, ci.skipped, (unsigned long long)ci.offset,
			ci.reason);
	tdb_db_for_each(&owner.db, journal_ckpt_lsn, &ci.start_lsn);
	t1 = port_time_ns();

	err = replay_log(o->data_dir, ci.start_lsn,
			 o->accept_loss ? TDB_WAL_ACCEPT_LOSS : 0, &rep,
			 &applied, &orphans);
	if (err) {
		if (err == -EBADMSG)
			log_msg(LOG_ERR,
				"log %s/%s is corrupt at offset %llu (LSN %llu): %s; start tdbd with --accept-loss to discard the log from there on",
				o->data_dir, rep.file,
				(unsigned long long)rep.offset,
				(unsigned long long)rep.lsn, rep.reason);
		else if (err == -EPROTONOSUPPORT)
			log_msg(LOG_ERR,
				"log %s/%s was written by another format version",
				o->data_dir, rep.file);
		else
			log_msg(LOG_ERR, "replaying the log in %s: %s",
				o->data_dir, strerror(-err));
		goto fail;
	}
	if (rep.damage == TDB_WAL_TORN)
		log_msg(LOG_WARN,
			"log %s/%s: torn tail at offset %llu (%llu bytes of an interrupted write) truncated",
			o->data_dir, rep.file, (unsigned long long)rep.offset,
			(unsigned long long)rep.dropped_bytes);
	else if (rep.damage == TDB_WAL_LOST)
		log_msg(LOG_WARN,
			"log %s/%s: corrupt at offset %llu (%s): discarded %llu bytes and %u later segments under --accept-loss",
			o->data_dir, rep.file, (unsigned long long)rep.offset,
			rep.reason, (unsigned long long)rep.dropped_bytes,
			rep.dropped_segments);
	if (orphans)
		log_msg(LOG_WARN,
			"log: %llu records for tables that do not exist were skipped",
			(unsigned long long)orphans);

	wo.start_lsn = ci.start_lsn;
	if (rep.end_lsn < ci.start_lsn) {
		err = journal_drop_segments(o->data_dir);
		if (err) {
			log_msg(LOG_ERR, "removing the cut log in %s: %s",
				o->data_dir, strerror(-err));
			goto fail;
		}
	} else {
		wo.start_lsn = rep.end_lsn;
	}
	err = tdb_wal_open(o->data_dir, &wo, &wal);
	if (err) {
		log_msg(LOG_ERR, "opening the log in %s: %s", o->data_dir,
			strerror(-err));
		goto fail;
	}
	owner.db.tables_per_uid = per_uid;
	owner.db.wal = wal;
	journal_drop_staging();
	WRITE_ONCE(owner.log.ckpt_time, ci.time);
	WRITE_ONCE(owner.log.ckpt_lsn, ci.start_lsn);
	j.kept_lsn = ci.start_lsn;
	log_msg(LOG_INFO,
		"recovered in %.3f s: %s%s%s%llu tables, %llu records (%.3f s), then %llu log records from LSN %llu to %llu (%.3f s)",
		journal_secs(t0), ci.file[0] ? "checkpoint " : "",
		ci.file, ci.file[0] ? " with " : "no checkpoint, ",
		(unsigned long long)ci.tables,
		(unsigned long long)ci.records, (double)(t1 - t0) / 1e9,
		(unsigned long long)applied,
		(unsigned long long)ci.start_lsn,
		(unsigned long long)rep.end_lsn, journal_secs(t1));
	return 0;
fail:
	owner.db.tables_per_uid = per_uid;
	return -1;
}

/* The log thread. */

/* Wakes the log thread if it sleeps or is about to. */
static void journal_kick(bool always)
{
	u64 one = 1;

	smp_mb();
	if ((always || READ_ONCE(j.log_sleeping)) &&
	    write(j.log_efd, &one, sizeof(one)) < 0)
		return;	/* the counter is full: it wakes anyway */
}

void journal_appended(void)
{
	struct tdb_wal *wal = owner.db.wal;

	smp_mb();	/* orders our appends before the look at log_idle */
	if (!READ_ONCE(j.log_idle) ||
	    tdb_wal_append_lsn(wal) == tdb_wal_durable_lsn(wal))
		return;
	if (__atomic_exchange_n(&j.log_idle, 0, __ATOMIC_SEQ_CST))
		journal_kick(true);
}

void journal_want(u64 lsn)
{
	u64 cur = READ_ONCE(j.want);

	do {
		if (cur >= lsn)
			return;
	} while (!__atomic_compare_exchange_n(&j.want, &cur, lsn, false,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	journal_kick(false);
}

/* Per-second figures for STATS. */
struct log_rates {
	u64 second_start;
	u64 syncs, writes;	/* at second_start */
};

static void journal_rates(struct log_rates *lr, u64 now)
{
	struct tdb_log_stats *ls = &owner.log;

	if (now - lr->second_start < 1000000000ULL)
		return;
	WRITE_ONCE(ls->sync_rate, (u32)(ls->syncs - lr->syncs));
	WRITE_ONCE(ls->write_rate, (u32)(ls->writes - lr->writes));
	lr->syncs = ls->syncs;
	lr->writes = ls->writes;
	lr->second_start = now;
}

/* The log thread's own bookkeeping. */
struct log_state {
	u64 counted;		/* appended records counted as synced */
	u64 group;		/* records the last sync covered */
	u64 sync_ns;		/* how long it took */
};

/* Writes and syncs what was appended.  The log's error, or 0. */
static int journal_flush(struct tdb_wal *wal, struct log_state *st)
{
	struct tdb_log_stats *ls = &owner.log;
	u64 before = tdb_wal_durable_lsn(wal), t0 = port_time_ns();
	/* Appended before the write starts: the sync covers at least these. */
	u64 records = tdb_wal_append_count(wal);
	int err;

	err = tdb_wal_write(wal);
	if (!err)
		err = tdb_wal_sync(wal);
	if (tdb_wal_durable_lsn(wal) != before) {
		st->group = records - st->counted;
		st->sync_ns = port_time_ns() - t0;
		st->counted = records;
		WRITE_ONCE(ls->syncs, ls->syncs + 1);
		WRITE_ONCE(ls->writes, ls->writes + st->group);
	}
	pthread_mutex_lock(&j.lock);
	pthread_cond_broadcast(&j.progress);
	pthread_mutex_unlock(&j.lock);
	workers_log_progress(tdb_wal_durable_lsn(wal), err);
	return err;
}

static void journal_delay(const struct log_state *st)
{
	u64 ns = st->sync_ns / JOURNAL_DELAY_DIV;
	struct timespec ts;

	if (ns > JOURNAL_DELAY_MAX_NS)
		ns = JOURNAL_DELAY_MAX_NS;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ns;
	nanosleep(&ts, NULL);
}

static bool journal_log_stopping(void)
{
	bool stop;

	pthread_mutex_lock(&j.lock);
	stop = j.stop_log;
	pthread_mutex_unlock(&j.lock);
	return stop;
}

static void *journal_log_main(void *arg)
{
	struct tdb_wal *wal = owner.db.wal;
	struct log_rates lr = { .second_start = port_time_ns() };
	u64 last_flush = port_time_ns(), truncated = 0;
	struct log_state st = { 0 };
	struct pollfd p = { .fd = j.log_efd, .events = POLLIN };
	int err = 0;

	while (!journal_log_stopping()) {
		u64 now = port_time_ns(), durable = tdb_wal_durable_lsn(wal);
		u64 appended = tdb_wal_append_lsn(wal), trunc, v;
		bool due;
		int timeout;

		journal_rates(&lr, now);
		trunc = READ_ONCE(j.log_from);
		if (trunc > truncated) {
			truncated = trunc;
			if (tdb_wal_truncate_before(wal, trunc) < 0)
				log_msg(LOG_WARN, "removing old log segments failed; will retry after the next checkpoint");
		}
		if (err) {
			due = now - last_flush >= JOURNAL_RETRY_MS * 1000000ULL;
			timeout = JOURNAL_RETRY_MS;
		} else {
			due = READ_ONCE(j.want) > durable ||
			      (appended > durable &&
			       now - last_flush >= j.flush_ns);
			/* What is left of the interval: the bound holds. */
			timeout = appended > durable ?
					  (int)((j.flush_ns - (now - last_flush) +
						 999999) / 1000000) :
					  JOURNAL_IDLE_MS;
		}
		if (due) {
			if (!err && st.group > 1)
				journal_delay(&st);
			last_flush = now;
			err = journal_flush(wal, &st);
			continue;
		}
		WRITE_ONCE(j.log_sleeping, 1);
		WRITE_ONCE(j.log_idle, appended <= durable);
		smp_mb();
		/* Appends since @appended was read have seen log_idle. */
		if ((READ_ONCE(j.want) <= durable &&
		     tdb_wal_append_lsn(wal) == appended) || err)
			poll(&p, 1, timeout);
		WRITE_ONCE(j.log_sleeping, 0);
		WRITE_ONCE(j.log_idle, 0);
		if (p.revents & POLLIN && read(j.log_efd, &v, sizeof(v)) < 0)
			p.revents = 0;
	}
	/* The workers are gone: write and sync what they left. */
	err = journal_flush(wal, &st);
	if (err)
		log_msg(LOG_ERR, "the last log flush failed (%s): writes acknowledged as async since the last good one are lost",
			strerror(-err));
	return NULL;
}

/* Checkpoints. */

/* Waits until the log is durable up to what was appended by now. */
static int journal_before_publish(void *arg)
{
	struct tdb_wal *wal = owner.db.wal;
	u64 target = tdb_wal_append_lsn(wal);
	int err = 0;

	journal_want(target);
	pthread_mutex_lock(&j.lock);
	while (tdb_wal_durable_lsn(wal) < target && !j.stop_log) {
		err = tdb_wal_last_error(wal);
		if (err)
			break;
		pthread_cond_wait(&j.progress, &j.lock);
	}
	if (!err && tdb_wal_durable_lsn(wal) < target)
		err = -ESHUTDOWN;
	pthread_mutex_unlock(&j.lock);
	return err;
}

/* One checkpoint, if the log moved since the last one; 0 or -errno. */
static int journal_checkpoint(void)
{
	struct tdb_wal *wal = owner.db.wal;
	struct tdb_ckpt_info ci;
	u64 start = tdb_wal_append_lsn(wal), t0 = port_time_ns();
	int err;

	if (start == READ_ONCE(owner.log.ckpt_lsn))
		return 0;
	err = tdb_ckpt_write(&owner.db, j.dir, start, (u64)time(NULL),
			     journal_before_publish, NULL, &ci);
	if (err) {
		log_msg(LOG_WARN, "checkpoint at LSN %llu failed: %s; the log is kept and the next checkpoint tries again",
			(unsigned long long)start, strerror(-err));
		return err;
	}
	WRITE_ONCE(owner.log.ckpt_time, ci.time);
	WRITE_ONCE(owner.log.ckpt_lsn, ci.start_lsn);
	/* Keep the one before it, and the log from its start. */
	err = tdb_ckpt_remove_before(j.dir, j.kept_lsn);
	if (err < 0)
		log_msg(LOG_WARN, "removing old checkpoints: %s",
			strerror(-err));
	if (j.kept_lsn) {
		WRITE_ONCE(j.log_from, j.kept_lsn);
		journal_kick(true);
	}
	j.kept_lsn = ci.start_lsn;
	log_msg(LOG_INFO,
		"checkpoint %s: %llu tables, %llu records, %llu bytes in %.3f s",
		ci.file, (unsigned long long)ci.tables,
		(unsigned long long)ci.records, (unsigned long long)ci.bytes,
		journal_secs(t0));
	return 0;
}

/*
 * Whether the period passed or the log grew enough since the last one.
 * Never while the log fails: a checkpoint would only take the space the
 * log needs, and could not be published anyway.
 */
static bool journal_ckpt_due(u64 last_ns)
{
	u64 grown = tdb_wal_append_lsn(owner.db.wal) -
		    READ_ONCE(owner.log.ckpt_lsn);

	if (tdb_wal_last_error(owner.db.wal))
		return false;
	if (j.ckpt_secs &&
	    port_time_ns() - last_ns >= (u64)j.ckpt_secs * 1000000000ULL)
		return true;
	return j.ckpt_log && grown >= j.ckpt_log;
}

static void *journal_ckpt_main(void *arg)
{
	u64 last = port_time_ns(), until = 0;
	unsigned int backoff = 1;
	struct timespec at;

	/*
	 * Checkpoints are background work: on a busy owner they yield the
	 * CPU to the workers (a checkpoint scan competing with a bulk load
	 * took a third of the CPU on two cores) and take longer instead.
	 * Linux applies a thread's own nice value to it alone.
	 */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), JOURNAL_CKPT_NICE))
		log_msg(LOG_DEBUG, "checkpoint thread: setpriority: %s",
			strerror(errno));
	port_rcu_thread_online();
	pthread_mutex_lock(&j.lock);
	while (!j.stop_ckpt) {
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += 1;
		pthread_cond_timedwait(&j.ckpt_wake, &j.lock, &at);
		if (j.stop_ckpt || port_time_ns() < until ||
		    !journal_ckpt_due(last))
			continue;
		pthread_mutex_unlock(&j.lock);
		/* A failed one is tried again after 1, 2, 4 ... 64 s. */
		if (journal_checkpoint()) {
			until = port_time_ns() + backoff * 1000000000ULL;
			backoff = backoff < 64 ? 2 * backoff : 64;
		} else {
			backoff = 1;
		}
		last = port_time_ns();
		pthread_mutex_lock(&j.lock);
	}
	pthread_mutex_unlock(&j.lock);
	port_rcu_thread_offline();
	return NULL;
}

int journal_start(void)
{
	pthread_condattr_t ca;
	int err;

	/* Checkpoint periods must not move with the wall clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j.ckpt_wake, &ca);
	pthread_condattr_destroy(&ca);

	j.log_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (j.log_efd < 0) {
		err = -errno;
		goto fail;
	}
	err = -pthread_create(&j.log_thread, NULL, journal_log_main, NULL);
	if (err)
		goto close_efd;
	if (j.ckpt_secs || j.ckpt_log) {
		err = -pthread_create(&j.ckpt_thread, NULL, journal_ckpt_main,
				      NULL);
		if (err) {
			pthread_mutex_lock(&j.lock);
			j.stop_log = true;
			pthread_mutex_unlock(&j.lock);
			journal_kick(true);
			pthread_join(j.log_thread, NULL);
			goto close_efd;
		}
	}
	j.threads = true;
	return 0;
close_efd:
	close(j.log_efd);
	j.log_efd = -1;
fail:
	log_msg(LOG_ERR, "cannot start the log threads: %s", strerror(-err));
	return err;
}

void journal_stop(void)
{
	struct tdb_wal *wal = owner.db.wal;

	if (!wal)
		return;
	if (j.threads) {
		pthread_mutex_lock(&j.lock);
		j.stop_ckpt = true;
		pthread_cond_broadcast(&j.ckpt_wake);
		pthread_mutex_unlock(&j.lock);
		if (j.ckpt_secs || j.ckpt_log)
			pthread_join(j.ckpt_thread, NULL);
		/* The log thread still runs: the checkpoint waits for it. */
		journal_checkpoint();
		pthread_mutex_lock(&j.lock);
		j.stop_log = true;
		pthread_cond_broadcast(&j.progress);
		pthread_mutex_unlock(&j.lock);
		journal_kick(true);
		pthread_join(j.log_thread, NULL);
		close(j.log_efd);
		j.threads = false;
	}
	if (j.log_from)
		tdb_wal_truncate_before(wal, j.log_from);
	owner.db.wal = NULL;
	tdb_wal_close(wal);
}
