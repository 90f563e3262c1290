/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * journal.h - what makes an owner's tables durable, in both hosts:
 * recovery at start-up, the log thread (group commit and the async
 * flush), the checkpoint thread, and the last sync and checkpoint at
 * shutdown.  journal.c's header comment records the decisions.
 *
 * A host calls, in this order:
 *
 *	tdb_journal_recover()	once, before anything else uses the owner:
 *				loads the newest checkpoint, replays the
 *				log, opens it for writing (owner->db.wal)
 *	tdb_journal_start()	starts the two threads; then the host starts
 *				the workers that execute requests
 *	tdb_journal_want(),	from the workers, any number at once
 *	tdb_journal_appended()
 *	tdb_journal_checkpoint() from any thread that may sleep
 *	tdb_journal_stop()	once the workers stopped: the last
 *				checkpoint, the last sync, frees the journal
 *
 * Recover, start, checkpoint and stop may sleep for long (file I/O,
 * waiting for threads): in tdb.ko they run in process context (the
 * module's init and exit, a generic netlink request), never under a lock
 * of the engine.  The threads do the file I/O of the log and of
 * checkpoints themselves, so in tdb.ko it is done by kthreads, with the
 * init task's root and credentials, whoever asks for a checkpoint.
 */
#ifndef TDB_CORE_JOURNAL_H
#define TDB_CORE_JOURNAL_H

#include "port.h"
#include "exec.h"	/* struct tdb_owner */

struct tdb_journal;

struct tdb_journal_opts {
	const char *dir;		/* the data directory: kept, not copied */
	u32 flush_ms;			/* async writes are durable within it */
	u32 ckpt_secs;			/* seconds between checkpoints; 0: none */
	u64 ckpt_log;			/* log bytes calling for one; 0: none */
	u64 segment_size;		/* log segment size; 0: the default */
	/* Skip a corrupt checkpoint, cut a corrupt log (and say so). */
	bool accept_loss;
	/*
	 * For messages: the host ("tdbd") and how its user sets
	 * accept_loss ("--accept-loss"), as in "start tdbd with
	 * --accept-loss to ...".
	 */
	const char *host;
	const char *loss_flag;
	/*
	 * The log thread made progress (the durable LSN is @durable) or
	 * failed (@err, -errno): the host wakes workers holding responses
	 * for the log.  Called on the log thread after every flush; may
	 * not sleep for long.
	 */
	void (*log_progress)(void *arg, u64 durable, int err);
	void *arg;
};

/*
 * Loads the newest checkpoint in opts->dir into @owner's db (which has no
 * tables and no log yet), replays the log over it, opens the log for
 * writing at its end (owner->db.wal), drops the staging tables of loads
 * that never committed, and stores a new journal in *@out.  @opts is
 * copied; opts->dir and the strings must outlive the journal.  0, or
 * -errno after logging why (a corrupt checkpoint or log names the file,
 * the offset and the reason, and how to accept the loss).  On error the
 * db may hold tables: the host finalizes the owner as it would anyway.
 */
int tdb_journal_recover(struct tdb_owner *owner,
			const struct tdb_journal_opts *opts,
			struct tdb_journal **out);

/* Starts the log and checkpoint threads.  0, or -errno (logged). */
int tdb_journal_start(struct tdb_journal *j);

/*
 * After the workers stopped (nothing appends any more, nobody waits in
 * tdb_journal_checkpoint()): writes a last checkpoint, syncs the log,
 * stops the threads, closes the log (owner->db.wal becomes NULL) and
 * frees @j.  Also after a failed or missing tdb_journal_start().
 */
void tdb_journal_stop(struct tdb_journal *j);

/*
 * A response waits for the log to be durable up to @lsn: hurry.  Never
 * sleeps; in tdb.ko callable in any context (it may wake the log thread).
 */
void tdb_journal_want(struct tdb_journal *j, u64 lsn);

/*
 * A batch ran and may have appended to the log: wakes a log thread that
 * sleeps for long with nothing to write, so async writes reach the disk
 * within the flush interval.  Costs one barrier and one load otherwise.
 * The same context rules as tdb_journal_want().
 */
void tdb_journal_appended(struct tdb_journal *j);

/*
 * Changes the flush interval and when checkpoints are due (the options'
 * flush_ms, ckpt_secs and ckpt_log) while the journal runs, from any
 * thread: the log and checkpoint threads use them from their next
 * wake-up, at most a second away.
 */
void tdb_journal_set_intervals(struct tdb_journal *j, u32 flush_ms,
			       u32 ckpt_secs, u64 ckpt_log);

/*
 * Asks the checkpoint thread for a checkpoint now and waits for it: 0
 * once a checkpoint that began after the call is published (or there was
 * nothing new to write since the last one), or -errno: the log's error
 * while it fails (-ENOSPC, -EIO...), the checkpoint's own, -ESHUTDOWN
 * when the journal is not running or stops first, -EINTR in tdb.ko when
 * a signal interrupts the wait (the checkpoint is still made).  Several
 * callers may wait at once and share one checkpoint.  Sleeps (seconds
 * for a large db); never from the log or checkpoint thread.
 */
int tdb_journal_checkpoint(struct tdb_journal *j);

#endif /* TDB_CORE_JOURNAL_H */
