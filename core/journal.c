// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * journal.c - what makes the tables durable, for tdbd and tdb.ko alike:
 * recovery at start-up, the log thread (group commit and the async
 * flush) and the checkpoint thread.  The formats and their rules are
 * wal.h's and ckpt.h's; this file decides when things happen.
 *
 * Decisions recorded here:
 *  - One log thread does every write and fdatasync of the log.  It syncs
 *    as soon as a response waits for it (tdb_journal_want()), else once
 *    per flush interval when anything was appended.  Whatever was
 *    appended while a sync ran goes out with the next one: that is the
 *    group commit, with no timer in the way of a lone writer.
 *  - Async tables get fdatasync too, once per flush interval, not just a
 *    write(): the interval is a promise about the disk, not the page
 *    cache.
 *  - After a failed write or sync the log thread retries every
 *    JOURNAL_RETRY_MS; meanwhile writes are refused with the log's error
 *    (table.c) and held responses fail (the host, told through
 *    log_progress).  Nothing is dropped: the log keeps its unwritten
 *    bytes and writes them once the disk allows.
 *  - The newest checkpoint and the one before it are kept, with the log
 *    from the older one's start: should the newest be damaged, recovery
 *    under accept_loss falls back to the older one and replays the log
 *    over it, losing nothing.
 *  - A checkpoint is published only once the log is durable past
 *    everything the checkpoint may hold, so recovery never sees a
 *    checkpoint holding writes that the log lost: the recovered state is
 *    always a prefix of the log.
 *  - Every checkpoint is written by the checkpoint thread, also one asked
 *    for (tdb_journal_checkpoint()) and the last one: in tdb.ko file I/O
 *    then always runs in a kthread, with the same root and credentials.
 *  - At shutdown, after the workers stopped, the checkpoint thread writes
 *    a last checkpoint and the log thread syncs the log, so a restart
 *    replays next to nothing.
 */
#include "journal.h"
#include "ckpt.h"
#include "replay.h"
#include "wal.h"

/* The checkpoint thread's nice value: below the workers'. */
#define JOURNAL_CKPT_NICE 10

/*
 * Group commit: after a sync that covered writes of several clients, the
 * log thread waits this fraction of a sync's duration (at most
 * JOURNAL_DELAY_MAX_US) before the next one, so that the clients it just
 * answered have their next writes in it too (PostgreSQL's commit_delay,
 * sized by the disk).  A lone writer never waits.
 */
#define JOURNAL_DELAY_DIV 4
#define JOURNAL_DELAY_MAX_US 1000UL
/* How often a failed log is tried again. */
#define JOURNAL_RETRY_MS 100
/* The longest the log thread sleeps with nothing to do. */
#define JOURNAL_IDLE_MS 1000
/* How often the checkpoint thread looks whether one is due. */
#define JOURNAL_CKPT_POLL_MS 1000

struct tdb_journal {
	struct tdb_owner *owner;
	struct tdb_journal_opts o;
	u64 flush_ns;
	bool threads;		/* both threads run */

	/* The log thread and what wakes it. */
	struct port_thread *log_thread;
	port_waitq_t log_wq;
	int kicked;		/* a wake-up for it is pending */
	port_atomic_t want;	/* highest LSN a response waits for */
	u32 log_sleeping;	/* the log thread is (about to be) asleep */
	port_atomic_t log_idle;	/* ... for long, with nothing appended */
	bool stop_log;
	u64 log_from;		/* the log before it may go */

	/* Log thread -> waiters on a sync (a checkpoint before publishing). */
	port_waitq_t flush_wq;
	u64 flushes;		/* flushes done */

	/* The checkpoint thread, and who asks it for one. */
	struct port_thread *ckpt_thread;
	port_waitq_t ckpt_wq;
	bool stop_ckpt;
	u64 kept_lsn;		/* start of the older checkpoint kept */
	port_atomic_t ckpt_asked;	/* requests made */
	port_atomic_t ckpt_done;	/* requests the last checkpoint served */
	int ckpt_err;		/* its result */
	bool ckpt_gone;		/* no checkpoint thread: none will be served */
};

/*
 * Durations in messages, as "%llu.%03u s" with JOURNAL_SECS(ms): the
 * kernel has no floating point.
 */
#define JOURNAL_SECS(ms) \
	(unsigned long long)((ms) / 1000), (unsigned int)((ms) % 1000)

static u64 journal_ms(u64 ns)
{
	return (ns + 500000) / 1000000;
}

/* Recovery. */

/* Tables from a checkpoint were last written at or before its start. */
static int journal_ckpt_lsn(void *arg, struct tdb_table *t)
{
	tdb_table_set_log_lsn(t, *(const u64 *)arg);
	return 0;
}

static int journal_unlink_segment(void *arg, const char *name)
{
	if (strlen(name) < 4 || memcmp(name, "wal-", 4))
		return 0;
	return port_file_unlink(arg, name);
}

/*
 * A log cut (under accept_loss) before the checkpoint's start would make
 * new records take positions that the next recovery skips: start the log
 * afresh at the checkpoint's position instead.
 */
static int journal_drop_segments(const char *dir)
{
	int err = port_dir_list(dir, journal_unlink_segment, (void *)dir);

	return err ? err : port_dir_sync(dir);
}

/* Finds a staging table: copies its name into @arg and stops the walk. */
static int journal_find_staging(void *arg, struct tdb_table *t)
{
	struct tdb_table_opts opts;
	const char *name;

	tdb_table_opts(t, &opts);
	if (!(opts.flags & TDB_TABLE_STAGING))
		return 0;
	name = tdb_table_name(t);
	memcpy(arg, name, strlen(name) + 1);
	return 1;
}

/*
 * Staging tables that the log left without a commit belonged to loads
 * whose clients are gone: drop them (logged, so that the next recovery
 * need not), as a closed connection would have.
 */
static void journal_drop_staging(struct tdb_db *db)
{
	char name[TDB_NAME_MAX];
	unsigned int n = 0;
	int err;

	while (tdb_db_for_each(db, journal_find_staging, name)) {
		err = tdb_table_drop(db, name, NULL, NULL);
		if (err) {
			port_log(PORT_LOG_WARN, "dropping staging table %s: %s",
				 name, port_strerror(err));
			break;
		}
		n++;
	}
	if (n)
		port_log(PORT_LOG_INFO,
			 "dropped %u staging tables of loads that did not commit",
			 n);
}

/* Loads the newest checkpoint into @ci: 0 or -errno, logged. */
static int journal_load_ckpt(struct tdb_journal *j, struct tdb_ckpt_info *ci)
{
	const struct tdb_journal_opts *o = &j->o;
	int err;

	err = tdb_ckpt_load(&j->owner->db, o->dir,
			    o->accept_loss ? TDB_CKPT_ACCEPT_LOSS : 0, ci);
	if (err == -EBADMSG)
		port_log(PORT_LOG_ERR,
			 "checkpoint %s/%s is corrupt at offset %llu: %s; start %s with %s to fall back to an older checkpoint, losing what only this one holds",
			 o->dir, ci->file, (unsigned long long)ci->offset,
			 ci->reason, o->host, o->loss_flag);
	else if (err)
		port_log(PORT_LOG_ERR, "loading the checkpoint in %s: %s",
			 o->dir, port_strerror(err));
	else if (ci->skipped[0])
		port_log(PORT_LOG_WARN,
			 "checkpoint %s/%s is corrupt (offset %llu: %s): skipped under %s",
			 o->dir, ci->skipped, (unsigned long long)ci->offset,
			 ci->reason, o->loss_flag);
	return err;
}

/* Replays the log from @from into the db: 0 or -errno, logged. */
static int journal_replay(struct tdb_journal *j, u64 from,
			  struct tdb_wal_report *rep,
			  struct tdb_replay_counts *n)
{
	const struct tdb_journal_opts *o = &j->o;
	int err;

	err = tdb_replay_log(&j->owner->db, o->dir, from,
			     o->accept_loss ? TDB_WAL_ACCEPT_LOSS : 0, o->host,
			     rep, n);
	if (err == -EBADMSG)
		port_log(PORT_LOG_ERR,
			 "log %s/%s is corrupt at offset %llu (LSN %llu): %s; start %s with %s to discard the log from there on",
			 o->dir, rep->file, (unsigned long long)rep->offset,
			 (unsigned long long)rep->lsn, rep->reason, o->host,
			 o->loss_flag);
	else if (err == -EPROTONOSUPPORT)
		port_log(PORT_LOG_ERR,
			 "log %s/%s was written by another format version",
			 o->dir, rep->file);
	else if (err)
		port_log(PORT_LOG_ERR, "replaying the log in %s: %s", o->dir,
			 port_strerror(err));
	if (err)
		return err;
	if (rep->damage == TDB_WAL_TORN)
		port_log(PORT_LOG_WARN,
			 "log %s/%s: torn tail at offset %llu (%llu bytes of an interrupted write) truncated",
			 o->dir, rep->file, (unsigned long long)rep->offset,
			 (unsigned long long)rep->dropped_bytes);
	else if (rep->damage == TDB_WAL_LOST)
		port_log(PORT_LOG_WARN,
			 "log %s/%s: corrupt at offset %llu (%s): discarded %llu bytes and %u later segments under %s",
			 o->dir, rep->file, (unsigned long long)rep->offset,
			 rep->reason, (unsigned long long)rep->dropped_bytes,
			 rep->dropped_segments, o->loss_flag);
	if (n->orphans)
		port_log(PORT_LOG_WARN,
			 "log: %llu records for tables that do not exist were skipped",
			 (unsigned long long)n->orphans);
	return 0;
}

/* Opens the log for appending after what recovery found: 0 or -errno. */
static int journal_open_log(struct tdb_journal *j, u64 ckpt_lsn, u64 end_lsn)
{
	struct tdb_wal_opts wo = { .segment_size = j->o.segment_size };
	const char *dir = j->o.dir;
	struct tdb_wal *wal;
	int err;

	wo.start_lsn = ckpt_lsn;
	if (end_lsn < ckpt_lsn) {
		err = journal_drop_segments(dir);
		if (err) {
			port_log(PORT_LOG_ERR, "removing the cut log in %s: %s",
				 dir, port_strerror(err));
			return err;
		}
	} else {
		wo.start_lsn = end_lsn;
	}
	err = tdb_wal_open(dir, &wo, &wal);
	if (err) {
		port_log(PORT_LOG_ERR, "opening the log in %s: %s", dir,
			 port_strerror(err));
		return err;
	}
	j->owner->db.wal = wal;
	return 0;
}

static struct tdb_journal *journal_alloc(struct tdb_owner *owner,
					 const struct tdb_journal_opts *opts)
{
	struct tdb_journal *j = port_zalloc(sizeof(*j));

	if (!j)
		return NULL;
	j->owner = owner;
	j->o = *opts;
	j->flush_ns = (u64)opts->flush_ms * 1000000;
	j->ckpt_gone = true;
	port_waitq_init(&j->log_wq);
	port_waitq_init(&j->flush_wq);
	port_waitq_init(&j->ckpt_wq);
	return j;
}

static void journal_free(struct tdb_journal *j)
{
	port_waitq_destroy(&j->log_wq);
	port_waitq_destroy(&j->flush_wq);
	port_waitq_destroy(&j->ckpt_wq);
	port_free(j, sizeof(*j));
}

int tdb_journal_recover(struct tdb_owner *owner,
			const struct tdb_journal_opts *opts,
			struct tdb_journal **out)
{
	unsigned int per_uid = owner->db.tables_per_uid;
	struct tdb_replay_counts n;
	struct tdb_wal_report rep;
	struct tdb_ckpt_info ci;
	u64 t0 = port_time_ns(), t1, t2;
	struct tdb_journal *j;
	int err;

	j = journal_alloc(owner, opts);
	if (!j) {
		port_log(PORT_LOG_ERR, "recovery: %s", port_strerror(-ENOMEM));
		return -ENOMEM;
	}
	/* What was accepted once is accepted again: no per-uid limit. */
	owner->db.tables_per_uid = 0;
	err = journal_load_ckpt(j, &ci);
	if (err)
		goto fail;
	tdb_db_for_each(&owner->db, journal_ckpt_lsn, &ci.start_lsn);
	t1 = port_time_ns();
	err = journal_replay(j, ci.start_lsn, &rep, &n);
	if (err)
		goto fail;
	err = journal_open_log(j, ci.start_lsn, rep.end_lsn);
	if (err)
		goto fail;
	owner->db.tables_per_uid = per_uid;
	journal_drop_staging(&owner->db);
	WRITE_ONCE(owner->log.ckpt_time, ci.time);
	WRITE_ONCE(owner->log.ckpt_lsn, ci.start_lsn);
	j->kept_lsn = ci.start_lsn;
	t2 = port_time_ns();
	port_log(PORT_LOG_INFO,
		 "recovered in %llu.%03u s: %s%s%s%llu tables, %llu records (%llu.%03u s), then %llu log records from LSN %llu to %llu (%llu.%03u s)",
		 JOURNAL_SECS(journal_ms(t2 - t0)),
		 ci.file[0] ? "checkpoint " : "", ci.file,
		 ci.file[0] ? " with " : "no checkpoint, ",
		 (unsigned long long)ci.tables,
		 (unsigned long long)ci.records,
		 JOURNAL_SECS(journal_ms(t1 - t0)),
		 (unsigned long long)n.applied,
		 (unsigned long long)ci.start_lsn,
		 (unsigned long long)rep.end_lsn,
		 JOURNAL_SECS(journal_ms(t2 - t1)));
	*out = j;
	return 0;
fail:
	owner->db.tables_per_uid = per_uid;
	journal_free(j);
	return err;
}

/* The log thread. */

/* Wakes the log thread if it sleeps or is about to. */
static void journal_kick(struct tdb_journal *j, bool always)
{
	smp_mb();
	if (!always && !READ_ONCE(j->log_sleeping))
		return;
	WRITE_ONCE(j->kicked, 1);
	port_wake_up(&j->log_wq);
}

void tdb_journal_appended(struct tdb_journal *j)
{
	struct tdb_wal *wal = j->owner->db.wal;

	smp_mb();	/* orders our appends before the look at log_idle */
	if (!port_atomic_read(&j->log_idle) ||
	    tdb_wal_append_lsn(wal) == tdb_wal_durable_lsn(wal))
		return;
	if (port_atomic_xchg(&j->log_idle, 0))
		journal_kick(j, true);
}

void tdb_journal_want(struct tdb_journal *j, u64 lsn)
{
	long cur = port_atomic_read(&j->want), seen;

	while (cur < (long)lsn) {
		seen = port_atomic_cmpxchg(&j->want, cur, (long)lsn);
		if (seen == cur) {
			journal_kick(j, false);
			return;
		}
		cur = seen;
	}
}

/* Per-second figures for STATS. */
struct log_rates {
	u64 second_start;
	u64 syncs, writes;	/* at second_start */
};

static void journal_rates(struct tdb_log_stats *ls, struct log_rates *lr,
			  u64 now)
{
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
static int journal_flush(struct tdb_journal *j, struct log_state *st)
{
	struct tdb_log_stats *ls = &j->owner->log;
	struct tdb_wal *wal = j->owner->db.wal;
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
	/* Waiters read flushes, then the durable LSN. */
	smp_store_release(&j->flushes, j->flushes + 1);
	port_wake_up(&j->flush_wq);
	if (j->o.log_progress)
		j->o.log_progress(j->o.arg, tdb_wal_durable_lsn(wal), err);
	return err;
}

static void journal_delay(const struct log_state *st)
{
	unsigned long us = (unsigned long)(st->sync_ns / 1000 /
					   JOURNAL_DELAY_DIV);

	port_fsleep(us < JOURNAL_DELAY_MAX_US ? us : JOURNAL_DELAY_MAX_US);
}

static int journal_log_main(void *arg)
{
	struct tdb_journal *j = arg;
	struct tdb_wal *wal = j->owner->db.wal;
	struct log_rates lr = { .second_start = port_time_ns() };
	u64 last_flush = port_time_ns(), truncated = 0;
	struct log_state st = { 0 };
	int err = 0;

	while (!READ_ONCE(j->stop_log)) {
		u64 now = port_time_ns(), durable = tdb_wal_durable_lsn(wal);
		u64 appended = tdb_wal_append_lsn(wal), trunc;
		u64 flush_ns = READ_ONCE(j->flush_ns);
		bool due;
		int timeout;

		journal_rates(&j->owner->log, &lr, now);
		trunc = READ_ONCE(j->log_from);
		if (trunc > truncated) {
			truncated = trunc;
			if (tdb_wal_truncate_before(wal, trunc) < 0)
				port_log(PORT_LOG_WARN, "removing old log segments failed; will retry after the next checkpoint");
		}
		if (err) {
			due = now - last_flush >= JOURNAL_RETRY_MS * 1000000ULL;
			timeout = JOURNAL_RETRY_MS;
		} else {
			due = (u64)port_atomic_read(&j->want) > durable ||
			      (appended > durable &&
			       now - last_flush >= flush_ns);
			/* What is left of the interval: the bound holds. */
			timeout = appended > durable ?
					  (int)((flush_ns - (now - last_flush) +
						 999999) / 1000000) :
					  JOURNAL_IDLE_MS;
		}
		if (due) {
			if (!err && st.group > 1)
				journal_delay(&st);
			last_flush = now;
			err = journal_flush(j, &st);
			continue;
		}
		WRITE_ONCE(j->log_sleeping, 1);
		port_atomic_set(&j->log_idle, appended <= durable);
		smp_mb();
		/* Appends since @appended was read have seen log_idle. */
		if (((u64)port_atomic_read(&j->want) <= durable &&
		     tdb_wal_append_lsn(wal) == appended) || err)
			port_wait_event_timeout(&j->log_wq, READ_ONCE(j->kicked),
						timeout);
		WRITE_ONCE(j->log_sleeping, 0);
		port_atomic_set(&j->log_idle, 0);
		WRITE_ONCE(j->kicked, 0);
	}
	/* The workers are gone: write and sync what they left. */
	err = journal_flush(j, &st);
	if (err)
		port_log(PORT_LOG_ERR, "the last log flush failed (%s): writes acknowledged as async since the last good one are lost",
			 port_strerror(err));
	return 0;
}

/* Checkpoints. */

/* Waits until the log is durable up to what was appended by now. */
static int journal_before_publish(void *arg)
{
	struct tdb_journal *j = arg;
	struct tdb_wal *wal = j->owner->db.wal;
	u64 target = tdb_wal_append_lsn(wal), seen;
	int err;

	tdb_journal_want(j, target);
	for (;;) {
		seen = smp_load_acquire(&j->flushes);
		if (tdb_wal_durable_lsn(wal) >= target)
			return 0;
		err = tdb_wal_last_error(wal);
		if (err)
			return err;
		if (READ_ONCE(j->stop_log))
			return -ESHUTDOWN;
		port_wait_event_timeout(&j->flush_wq,
					READ_ONCE(j->flushes) != seen ||
						READ_ONCE(j->stop_log),
					JOURNAL_IDLE_MS);
	}
}

/* One checkpoint, if the log moved since the last one; 0 or -errno. */
static int journal_checkpoint(struct tdb_journal *j)
{
	struct tdb_log_stats *ls = &j->owner->log;
	struct tdb_wal *wal = j->owner->db.wal;
	struct tdb_ckpt_info ci;
	u64 start = tdb_wal_append_lsn(wal), t0 = port_time_ns();
	int err;

	if (start == READ_ONCE(ls->ckpt_lsn))
		return 0;
	err = tdb_ckpt_write(&j->owner->db, j->o.dir, start,
			     port_real_seconds(), journal_before_publish, j,
			     &ci);
	if (err) {
		port_log(PORT_LOG_WARN, "checkpoint at LSN %llu failed: %s; the log is kept and the next checkpoint tries again",
			 (unsigned long long)start, port_strerror(err));
		return err;
	}
	WRITE_ONCE(ls->ckpt_time, ci.time);
	WRITE_ONCE(ls->ckpt_lsn, ci.start_lsn);
	/* Keep the one before it, and the log from its start. */
	err = tdb_ckpt_remove_before(j->o.dir, j->kept_lsn);
	if (err < 0)
		port_log(PORT_LOG_WARN, "removing old checkpoints: %s",
			 port_strerror(err));
	if (j->kept_lsn) {
		WRITE_ONCE(j->log_from, j->kept_lsn);
		journal_kick(j, true);
	}
	j->kept_lsn = ci.start_lsn;
	port_log(PORT_LOG_INFO,
		 "checkpoint %s: %llu tables, %llu records, %llu bytes in %llu.%03u s",
		 ci.file, (unsigned long long)ci.tables,
		 (unsigned long long)ci.records, (unsigned long long)ci.bytes,
		 JOURNAL_SECS(journal_ms(port_time_ns() - t0)));
	return 0;
}

/*
 * Whether the period passed or the log grew enough since the last one.
 * Never while the log fails: a checkpoint would only take the space the
 * log needs, and could not be published anyway.
 */
static bool journal_ckpt_due(struct tdb_journal *j, u64 last_ns)
{
	struct tdb_wal *wal = j->owner->db.wal;
	u64 grown = tdb_wal_append_lsn(wal) - READ_ONCE(j->owner->log.ckpt_lsn);
	u32 secs = READ_ONCE(j->o.ckpt_secs);
	u64 log = READ_ONCE(j->o.ckpt_log);

	if (tdb_wal_last_error(wal))
		return false;
	if (secs && port_time_ns() - last_ns >= (u64)secs * 1000000000ULL)
		return true;
	return log && grown >= log;
}

void tdb_journal_set_intervals(struct tdb_journal *j, u32 flush_ms,
			       u32 ckpt_secs, u64 ckpt_log)
{
	WRITE_ONCE(j->flush_ns, (u64)flush_ms * 1000000);
	WRITE_ONCE(j->o.ckpt_secs, ckpt_secs);
	WRITE_ONCE(j->o.ckpt_log, ckpt_log);
}

static bool journal_ckpt_asked(struct tdb_journal *j)
{
	return port_atomic_read(&j->ckpt_asked) >
	       port_atomic_read(&j->ckpt_done);
}

/*
 * A checkpoint for the requests made so far (and any made while it runs
 * that it may cover); their callers get its result.
 */
static int journal_ckpt_serve(struct tdb_journal *j)
{
	long asked = port_atomic_read(&j->ckpt_asked);
	int err = journal_checkpoint(j);

	WRITE_ONCE(j->ckpt_err, err);
	smp_mb();	/* the result before the count that shows it */
	port_atomic_set(&j->ckpt_done, asked);
	port_wake_up(&j->ckpt_wq);
	return err;
}

static int journal_ckpt_main(void *arg)
{
	struct tdb_journal *j = arg;
	u64 last = port_time_ns(), until = 0;
	unsigned int backoff = 1;

	port_rcu_thread_online();
	for (;;) {
		port_wait_event_timeout(&j->ckpt_wq,
					READ_ONCE(j->stop_ckpt) ||
						journal_ckpt_asked(j),
					JOURNAL_CKPT_POLL_MS);
		if (READ_ONCE(j->stop_ckpt))
			break;
		if (journal_ckpt_asked(j)) {
			journal_ckpt_serve(j);
			last = port_time_ns();
			continue;
		}
		if (port_time_ns() < until || !journal_ckpt_due(j, last))
			continue;
		/* A failed one is tried again after 1, 2, 4 ... 64 s. */
		if (journal_checkpoint(j)) {
			until = port_time_ns() + backoff * 1000000000ULL;
			backoff = backoff < 64 ? 2 * backoff : 64;
		} else {
			backoff = 1;
		}
		last = port_time_ns();
	}
	/* The workers are gone; the log thread still runs for this one. */
	journal_ckpt_serve(j);
	WRITE_ONCE(j->ckpt_gone, true);
	port_wake_up(&j->ckpt_wq);
	port_rcu_thread_offline();
	return 0;
}

int tdb_journal_checkpoint(struct tdb_journal *j)
{
	long ticket;
	int ret;

	ret = tdb_wal_last_error(j->owner->db.wal);
	if (ret)
		return ret;
	ticket = port_atomic_add_return(&j->ckpt_asked, 1);
	port_wake_up(&j->ckpt_wq);
	do {
		ret = port_wait_event_timeout(&j->ckpt_wq,
					      port_atomic_read(&j->ckpt_done) >=
							      ticket ||
						      READ_ONCE(j->ckpt_gone),
					      JOURNAL_CKPT_POLL_MS);
		if (ret < 0)
			return ret;
	} while (!ret);
	if (port_atomic_read(&j->ckpt_done) < ticket)
		return -ESHUTDOWN;
	smp_mb();
	return READ_ONCE(j->ckpt_err);
}

/*
 * Checkpoints are background work: on a busy owner they yield the CPU to
 * the workers (a checkpoint scan competing with a bulk load took a third
 * of the CPU on two cores) and take longer instead.
 */
int tdb_journal_start(struct tdb_journal *j)
{
	int err;

	err = port_thread_run(&j->log_thread, journal_log_main, j, "tdb-log",
			      0);
	if (err)
		goto fail;
	WRITE_ONCE(j->ckpt_gone, false);
	err = port_thread_run(&j->ckpt_thread, journal_ckpt_main, j,
			      "tdb-ckpt", JOURNAL_CKPT_NICE);
	if (err) {
		WRITE_ONCE(j->ckpt_gone, true);
		WRITE_ONCE(j->stop_log, true);
		journal_kick(j, true);
		port_thread_join(j->log_thread);
		goto fail;
	}
	j->threads = true;
	return 0;
fail:
	port_log(PORT_LOG_ERR, "cannot start the log threads: %s",
		 port_strerror(err));
	return err;
}

void tdb_journal_stop(struct tdb_journal *j)
{
	struct tdb_wal *wal = j->owner->db.wal;

	if (j->threads) {
		/* It writes the last checkpoint, waiting for the log thread. */
		WRITE_ONCE(j->stop_ckpt, true);
		port_wake_up(&j->ckpt_wq);
		port_thread_join(j->ckpt_thread);
		WRITE_ONCE(j->stop_log, true);
		port_wake_up(&j->flush_wq);
		journal_kick(j, true);
		port_thread_join(j->log_thread);
		j->threads = false;
	}
	if (j->log_from)
		tdb_wal_truncate_before(wal, j->log_from);
	j->owner->db.wal = NULL;
	tdb_wal_close(wal);
	journal_free(j);
}
