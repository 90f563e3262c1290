/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * tdb/tdb.h - libtdb, the client library of tdb.  This header is the
 * manual.
 *
 * A struct tdb is one connection to the owner of the tables (tdbd, or
 * later tdb.ko): a control socket plus two memory-mapped rings of frames
 * that carry netlink-format messages (see tdb/proto.h).  The library never
 * takes a lock that lives in shared memory: a process that crashes in the
 * middle of a call harms nothing but its own connection.
 *
 * Errors.  Every function that can fail returns 0 (or a count) on success
 * and a negative errno value on failure; tdb_strerror() explains it.  The
 * values that mean something particular here:
 *   -ENOENT   no such table, or no such key
 *   -EEXIST   the table (create) or key (TDB_PUT_CREATE) already exists
 *   -EACCES   the table's owner and mode do not allow this uid
 *   -E2BIG    key over 1024 bytes or value over 1 MiB
 *   -EINVAL   an empty key, a bad table name or flags
 *   -ENOSPC   the table's quota is full, or (writes) the owner's disk
 *             is: the log cannot be written
 *   -EIO      (writes) the disk failed while writing the log
 *   -ENOBUFS  (writes) the log's memory is full: writes outrun the disk
 *   -EDQUOT   this uid owns as many tables as the owner allows (1024)
 *   -EUSERS   (connect) this uid holds as many connections as the owner
 *             allows (tdbd --max-conns, 256 by default)
 *   -EPROTO   the owner speaks another protocol version, or sent
 *             something malformed (libtdb checks every length and
 *             attribute it receives and never trusts the shared rings)
 *   -ECONNRESET, -EPIPE   the owner closed the connection (it stopped, or
 *             found this client's frames malformed); reconnect
 *   -ESHUTDOWN  tdb.ko was unloaded under the connection; reconnect
 *             once it is loaded again
 *   -ECHILD   the connection was opened by another process (see fork())
 *   -ESTALE   (tdb_load_commit) the table was dropped or replaced since
 *             the load began
 *   -EBUSY    (tdb_load_begin) this connection runs 4 loads already
 *
 * Durability.  A table's class (struct tdb_create_opts) decides when a
 * write is answered.  memory: at once, and the table is gone when the
 * owner stops.  async (the default): once it is in the owner's log, in
 * memory; the owner writes and fdatasyncs the log within its flush
 * interval (tdbd --flush-interval, 10 ms, plus the time of one sync),
 * so a crash loses at most the writes of that last interval.  sync: once
 * fdatasync covered it; one sync covers the writes of every client
 * waiting then.  Creates and drops are answered once on disk.  Reads see
 * a write as soon as it is made, before it is durable.  While the log
 * cannot be written, writes to logged tables fail with -ENOSPC or -EIO
 * and change nothing; reads go on, and writes work again once the disk
 * takes the log.  A sync write whose wait for the disk ends in such an
 * error was already made in memory and stays queued for the log: its
 * outcome is unknown (a later read tells), as after a lost connection.
 *
 * A connection that failed with -EPROTO, -ECONNRESET or -EPIPE is broken
 * for good: every later call on it returns the same error, until
 * tdb_close().  Other errors (-ENOENT, -EINVAL, -EACCES...) concern one
 * call only.  Arguments are checked before anything is sent: a key over
 * 1024 bytes or a value over 1 MiB fails with -E2BIG, an empty key or a
 * table name that is empty or 64 bytes or longer with -EINVAL, and the
 * connection goes on.
 *
 * Blocking.  Calls that wait for the owner spin for about 20 us, then
 * sleep in poll() until the owner wakes them; a signal does not interrupt
 * them (EINTR is retried) and there is no timeout: a call returns when the
 * owner answers or closes the connection.  Busy clients exchange frames
 * with the owner without a system call per operation.
 *
 * Threads.  A struct tdb, and the batches and scans made from it, belong
 * to one thread at a time: calls on one connection from several threads
 * need the caller's own lock.  Connections are cheap (one socket, two
 * eventfds and a shared mapping of a few MiB): give each thread its own.
 * Different connections are fully independent.  tdb_strerror() may be
 * called from any thread.
 *
 * Mixing calls.  On one connection, synchronous calls, scans and any
 * number of batches may be interleaved freely: every answer carries the
 * sequence number of its request and reaches the call or batch that waits
 * for it, whatever arrives first.
 *
 * fork().  A child must not use its parent's connections: the rings are
 * shared memory and both processes would write the same frames.  The child
 * calls tdb_close() on inherited connections (which unmaps them without
 * disturbing the parent's session) and connects anew.  libtdb detects a
 * connection used by a process other than the one that opened it and fails
 * the call with -ECHILD (through pthread_atfork(): a child made by a raw
 * clone() system call is not detected).  Batches and scans of such a
 * connection are freed with it.
 */
#ifndef TDB_TDB_H
#define TDB_TDB_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tdb;

/*
 * Connects to the owner.  @path is tdbd's socket, or tdb.ko's device
 * (TDB_DEVICE, or any character device path).  NULL (or "") means the
 * TDB_SOCKET environment variable; without it, TDB_DEVICE when it exists
 * (the module is loaded), else TDB_DEFAULT_SOCKET.  0 with *@out set, or
 * -errno with *@out NULL (-ENOENT or -ECONNREFUSED when no owner listens
 * there, -EACCES when the socket may not be opened, -ENAMETOOLONG for a
 * path longer than a socket address holds, -EPROTO on a version mismatch
 * or a malformed welcome, -EUSERS when this uid holds as many connections
 * as the owner allows).  The descriptors it holds are close-on-exec.
 *
 * A connection to tdb.ko pins TDB_REGION_SIZE() bytes of this process's
 * memory (2 MiB by default) for its lifetime and holds no descriptor of
 * the device, so the module can unload under it (-ESHUTDOWN).
 */
int tdb_connect(const char *path, struct tdb **out);

/* The owner tdb_connect(@path) would connect to, as described above. */
const char *tdb_owner_path(const char *path);

/*
 * Ends the connection and frees it, with its batches and scans: pointers
 * to those are invalid afterwards (do not tdb_batch_free() or
 * tdb_scan_close() them).  Operations sent and not answered are
 * abandoned; the owner still runs what it has received.  NULL is a no-op.
 */
void tdb_close(struct tdb *db);

/*
 * A static string explaining a negative errno value from libtdb, in the
 * terms of this library for the values listed above and as strerror()
 * for the others; positive values are taken as their negation.
 * Thread-safe; never NULL.
 */
const char *tdb_strerror(int err);

/* Tables. */

struct tdb_create_opts {
	uint64_t quota;		/* bytes; 0: no limit */
	uint32_t mode;		/* permission bits, at most 0777; 0: 0600 */
	uint32_t key_type;	/* enum tdb_key_type; TDB_KEY_BYTES */
	uint32_t durability;	/* enum tdb_durability; TDB_DUR_ASYNC */
	/*
	 * The table's schema, stored with it so that every client can
	 * decode its records (tdb/schema.h): up to TDB_SCHEMA_MAX bytes,
	 * NULL (or schema_len 0) for none.  The owner keeps it as bytes.
	 */
	const void *schema;
	size_t schema_len;
};

struct tdb_table_info {
	char name[TDB_NAME_MAX];
	uint64_t records;
	uint64_t mem_bytes;
	uint64_t quota;
	uint32_t uid, gid, mode;
	uint32_t key_type;
	uint32_t durability;
	/*
	 * The log position (bytes since the log began) just past this
	 * table's last logged write, 0 for none or a memory table; and the
	 * owner's last checkpoint: its time (seconds since the epoch, 0:
	 * none yet) and the log position that recovery replays from.
	 */
	uint64_t log_lsn;
	uint64_t checkpoint_time;
	uint64_t checkpoint_lsn;
};

/*
 * @opts may be NULL for the defaults.  The table belongs to the caller's
 * uid and gid.  Its mode works as a file's: read (4) allows get, scan and
 * info, write (2) put and del, for the owner (0700 bits), the owner's
 * group (0070) and others (0007); only the owner or root may drop it;
 * root may do anything.  -EEXIST, -EINVAL (name: 1 to 63 characters of
 * [A-Za-z0-9_.-]; an unknown key type or durability; mode over 0777).
 *
 * tdb_drop(): -ENOENT, -EACCES.  tdb_info(): fills @info; -ENOENT,
 * -EACCES.
 */
int tdb_create(struct tdb *db, const char *table,
	       const struct tdb_create_opts *opts);
int tdb_drop(struct tdb *db, const char *table);
int tdb_info(struct tdb *db, const char *table, struct tdb_table_info *info);

/*
 * Lists the tables this uid may read into a malloc'd array that the caller
 * frees with free() (even when there are 0 tables); returns the number of
 * tables or -errno (then *@list is NULL).  The list travels in one
 * message: a few thousand tables at most.
 */
int tdb_tables(struct tdb *db, struct tdb_table_info **list);

/*
 * The schema stored with @table, in a malloc'd buffer the caller frees,
 * NUL-terminated (*@len excludes the NUL): 0 with *@schema NULL and *@len
 * 0 when the table has none, or -ENOENT, -EACCES (needs read access).
 */
int tdb_table_schema(struct tdb *db, const char *table, char **schema,
		     size_t *len);

struct tdb_stats {
	uint64_t requests;	/* served since the owner started */
	uint64_t mem_bytes;	/* all tables, and the owner's buffers for
				 * connections */
	uint32_t tables;
	uint32_t connections;
	/*
	 * The write-ahead log.  log_bytes is what its segment files hold on
	 * disk now; log_durable_lsn the position up to which it is synced;
	 * log_syncs and log_writes count fdatasync calls and the writes
	 * (puts, deletes, creates, drops) they made durable since the owner
	 * started; the rates are over the last whole second, so writes per
	 * sync is log_write_rate / log_sync_rate.  log_error is the log's
	 * current error (-ENOSPC, -EIO), 0 when it writes.  Checkpoint
	 * figures as in struct tdb_table_info.
	 */
	uint64_t log_bytes;
	uint64_t log_durable_lsn;
	uint64_t log_syncs;
	uint64_t log_writes;
	uint32_t log_sync_rate;
	uint32_t log_write_rate;
	int32_t log_error;
	uint64_t checkpoint_time;
	uint64_t checkpoint_lsn;
};

int tdb_stats(struct tdb *db, struct tdb_stats *st);

/* Records: plain synchronous calls, one round trip each. */

/*
 * Copies the value of @key into @buf (at most @cap bytes) and stores its
 * full length in *@vlen: a caller whose buffer was short learns the length
 * and can retry (the call still returns 0; compare *@vlen with @cap).
 * @buf may be NULL (with @cap 0) to learn the length alone, @vlen NULL
 * when it does not matter.  0, -ENOENT (no such table or key), -EACCES,
 * -EINVAL, -E2BIG (key) or a connection error.
 */
int tdb_get(struct tdb *db, const char *table, const void *key, size_t klen,
	    void *buf, size_t cap, size_t *vlen);

/*
 * As tdb_get(), into a malloc'd buffer that the caller frees; the buffer
 * has one byte more than the value, set to 0, so that text values can be
 * used as C strings.  *@val is NULL on failure.
 */
int tdb_get_alloc(struct tdb *db, const char *table, const void *key,
		  size_t klen, void **val, size_t *vlen);

/*
 * @flags: 0 (insert or replace), TDB_PUT_CREATE or TDB_PUT_REPLACE (not
 * both: -EINVAL).  @val may be NULL when @vlen is 0.  -ENOSPC when the
 * table's quota or the disk is full; with a durability class of sync,
 * returns once the write is on disk (see Durability above).
 */
int tdb_put(struct tdb *db, const char *table, const void *key, size_t klen,
	    const void *val, size_t vlen, unsigned int flags);

/* -ENOENT when the table or the key does not exist. */
int tdb_del(struct tdb *db, const char *table, const void *key, size_t klen);

/*
 * Longest-prefix match on a table keyed by cidr4 or cidr6: finds the
 * record whose prefix is the longest containing @addr (4 bytes for cidr4,
 * 16 for cidr6, network order), copies its key (5 or 17 bytes: see
 * enum tdb_key_type) into @prefix, which holds 17 bytes, and its value as
 * tdb_get() does.  0, -ENOENT (no such table, or no prefix matches),
 * -EINVAL (the table is not a prefix table, or @alen is wrong), -EACCES.
 */
int tdb_lookup(struct tdb *db, const char *table, const void *addr,
	       size_t alen, void *prefix, size_t *plen, void *buf, size_t cap,
	       size_t *vlen);

/*
 * Bulk load.  Streams records into a table in full frames of many records
 * each, with no round trip per frame, into a staging table that the owner
 * keeps for this connection; tdb_load_commit() then makes the load take
 * effect in one step:
 *
 *   TDB_LOAD_REPLACE   the staging table replaces the table: readers see
 *                      the old records or the new ones, never a mix.
 *   0                  the records are upserted into the table under its
 *                      write lock (readers may see the merge under way;
 *                      writers wait for it).
 *
 * Until the commit nothing is visible; tdb_load_abort(), a failed load, a
 * closed connection or a crashed client drop the staging table and leave
 * the table as it was.  A commit is durable as the table's class says
 * (sync: on disk when it returns), with one log sync for the whole load.
 * The staging table counts against the table's quota as a table of its
 * own; an upsert commit first checks that the table's quota holds both.
 */
struct tdb_load;

/*
 * Starts a load into @table, which must exist and be writable by this
 * uid.  @expected is about how many records the load will hold (0: not
 * known): the owner sizes the staging table's index for it, or for the
 * table's current size when that is larger, so that the index does not
 * grow during the load (the owner caps it: at twice the table's size or a
 * million, whichever is more, and at 1/64 of the table's quota in bytes;
 * a load past it grows the index as it goes).  0 with *@out set, or -errno (-ENOENT, -EACCES,
 * -EINVAL for bad flags).  A connection may run several loads, and other
 * calls between their puts.
 */
int tdb_load_begin(struct tdb *db, const char *table, unsigned int flags,
		   uint64_t expected, struct tdb_load **out);
/*
 * Queues one record (checked as tdb_put() checks it, and against the
 * table's key type: a prefix with host bits set, or a fixed-size key of
 * the wrong length, is -EINVAL).  Frames go out as they fill; the owner's
 * answers are collected on the way.  0, or the load's first error, which
 * is then sticky: the load can only be aborted.
 */
int tdb_load_put(struct tdb_load *ld, const void *key, size_t klen,
		 const void *val, size_t vlen);
/*
 * The index (0 for the first record put) of the record the owner refused,
 * once tdb_load_put() or tdb_load_commit() returned its error; -1 when the
 * error did not concern one record.
 */
int64_t tdb_load_failed_record(const struct tdb_load *ld);
/* Records queued so far. */
uint64_t tdb_load_count(const struct tdb_load *ld);
/*
 * Sends what is queued, waits for every answer and commits.  0 with
 * *@records (may be NULL) the table's record count after the commit, or
 * -errno (the first error of the load; nothing changed; -ESTALE: the
 * table was dropped or replaced, by another load say, since
 * tdb_load_begin()).  A failed commit ends the load.  On success @ld is
 * freed; on failure it stays, so that tdb_load_failed_record() can tell
 * which record failed, until tdb_load_abort() frees it.
 */
int tdb_load_commit(struct tdb_load *ld, uint64_t *records);
/* Drops the staging table (when the connection still works) and frees. */
void tdb_load_abort(struct tdb_load *ld);

/*
 * Scans.  A scan returns every record of the table that exists for its
 * whole duration exactly once, in no particular order, while others write;
 * records written meanwhile may or may not appear.  Records travel in
 * frames of many at a time: tdb_scan_next() asks the owner for the next
 * page only when the last one is used up.  A scan holds nothing in the
 * owner between pages, so an abandoned scan costs the owner nothing.
 */
struct tdb_scan;

/*
 * Opens a scan and fetches its first page, so that -ENOENT (no such
 * table) and -EACCES show here.  0 with *@out set, or -errno.
 */
int tdb_scan_open(struct tdb *db, const char *table, struct tdb_scan **out);

/*
 * The next record: 1 with @key/@val pointing into the scan's buffer (valid
 * until the next tdb_scan_next() or tdb_scan_close() of this scan; other
 * calls on the connection do not disturb them), 0 at the end (and on
 * every call after it), or -errno, which then stays the scan's answer.
 * A value may be empty (*@vlen 0, *@val still non-NULL).  A table dropped
 * during the scan ends it with -ENOENT.
 */
int tdb_scan_next(struct tdb_scan *s, const void **key, size_t *klen,
		  const void **val, size_t *vlen);

/* Frees the scan; NULL is a no-op. */
void tdb_scan_close(struct tdb_scan *s);

/*
 * Batches.  Queue many operations, which travel in full frames with no
 * round trip each, then reap their completions.  Operations of one batch
 * may run in any order relative to each other unless they touch the same
 * key, which runs in queue order.  A batch holds at most @depth operations
 * in flight; queueing more first sends what is queued, then waits until
 * an answer frees a slot.  Operations are packed into frames as they are
 * queued and a frame is sent as soon as it is full, so a long stream of
 * operations flows without tdb_batch_submit(); submit sends the last,
 * partly filled frame.
 *
 * Completions.  Answers are collected as they arrive, by any call on the
 * connection that reads them, and wait in the batch until reaped: they
 * take memory (with a GET's value) until then, so reap regularly.  An
 * operation's status is the owner's answer for it (-ENOENT, -EEXIST,
 * -EACCES, -ENOSPC...), or -ENOMEM for a GET whose value this process had
 * no memory to keep; once the connection breaks, every operation still
 * in flight completes with the connection's error, so each operation
 * queued yields exactly one completion.
 *
 * Queueing functions return 0, or -errno without queueing: -EINVAL,
 * -E2BIG (arguments, checked at once), or a connection error.  The @table
 * name, key and value are copied when queued.
 */
struct tdb_batch;

struct tdb_completion {
	int status;		/* 0 or -errno */
	unsigned int op;	/* TDB_CMD_GET, PUT, DEL or LOOKUP */
	void *user;		/* as queued */
	const void *val;	/* GET, LOOKUP: the value, valid until the
				 * next reap */
	size_t vlen;
	const void *key;	/* LOOKUP: the matching prefix, as valid */
	size_t klen;
};

/*
 * A new batch of @depth (1 to 65535) slots on @db, or NULL with errno set
 * (EINVAL, ENOMEM, or the connection's error).  Each batch of a
 * connection is independent; a connection holds up to 65535 of them.
 */
struct tdb_batch *tdb_batch_new(struct tdb *db, unsigned int depth);
/*
 * Frees the batch: operations queued and not sent are dropped; it first
 * waits for the answers to those sent (they are discarded) so that the
 * connection stays in step.  NULL is a no-op.
 */
void tdb_batch_free(struct tdb_batch *b);

int tdb_batch_get(struct tdb_batch *b, const char *table, const void *key,
		  size_t klen, void *user);
int tdb_batch_put(struct tdb_batch *b, const char *table, const void *key,
		  size_t klen, const void *val, size_t vlen,
		  unsigned int flags, void *user);
int tdb_batch_del(struct tdb_batch *b, const char *table, const void *key,
		  size_t klen, void *user);

/* As tdb_lookup(): the completion carries the prefix and its value. */
int tdb_batch_lookup(struct tdb_batch *b, const char *table,
		     const void *addr, size_t alen, void *user);

/* Sends everything queued.  0 or -errno. */
int tdb_batch_submit(struct tdb_batch *b);

/*
 * Sends what is queued, then fills up to @max completions, oldest first,
 * waiting for at least @min of them (0: only what has arrived; a @min
 * larger than what is pending is lowered to it).  Returns the number
 * filled, or -errno when there was none to fill and the connection is
 * broken.  The values of GET completions stay valid until the next
 * tdb_batch_reap() or tdb_batch_free() of this batch.
 */
int tdb_batch_reap(struct tdb_batch *b, struct tdb_completion *c,
		   unsigned int max, unsigned int min);

/* Operations queued or sent and not yet reaped (completed ones included). */
unsigned int tdb_batch_pending(const struct tdb_batch *b);

#ifdef __cplusplus
}
#endif

#endif /* TDB_TDB_H */
