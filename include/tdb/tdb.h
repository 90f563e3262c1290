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
 *   -ENOSPC   the table's quota is full
 *   -EPROTO   the owner speaks another protocol version
 *   -ECONNRESET, -EPIPE   the owner closed the connection (it stopped, or
 *             found this client's frames malformed); reconnect
 *
 * Threads.  A struct tdb, and the batches and scans made from it, belong
 * to one thread at a time: calls on one connection from several threads
 * need the caller's own lock.  Connections are cheap: give each thread its
 * own.  Different connections are fully independent.
 *
 * fork().  A child must not use its parent's connections: the rings are
 * shared memory and both processes would write the same frames.  The child
 * calls tdb_close() on inherited connections (which unmaps them without
 * disturbing the parent's session) and connects anew.  libtdb detects a
 * connection used by a process other than the one that opened it and fails
 * the call with -ECHILD.
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
 * Connects to the owner.  @path NULL means the TDB_SOCKET environment
 * variable, else TDB_DEFAULT_SOCKET.  0 or -errno (-ENOENT or
 * -ECONNREFUSED when no owner listens there, -EPROTO on a version
 * mismatch).
 */
int tdb_connect(const char *path, struct tdb **out);

/* Ends the connection and frees it, with its batches and scans. */
void tdb_close(struct tdb *db);

/* A static string explaining a negative errno value from libtdb. */
const char *tdb_strerror(int err);

/* Tables. */

struct tdb_create_opts {
	uint64_t quota;		/* bytes; 0: no limit */
	uint32_t mode;		/* permission bits; 0: 0600 */
	uint32_t key_type;	/* enum tdb_key_type; TDB_KEY_BYTES */
	uint32_t durability;	/* enum tdb_durability; TDB_DUR_ASYNC */
};

struct tdb_table_info {
	char name[64];
	uint64_t records;
	uint64_t mem_bytes;
	uint64_t quota;
	uint32_t uid, gid, mode;
	uint32_t key_type;
	uint32_t durability;
};

/* @opts may be NULL for the defaults. */
int tdb_create(struct tdb *db, const char *table,
	       const struct tdb_create_opts *opts);
int tdb_drop(struct tdb *db, const char *table);
int tdb_info(struct tdb *db, const char *table, struct tdb_table_info *info);

/*
 * Lists the tables this uid may see into a malloc'd array that the caller
 * frees with free(); returns the number of tables or -errno.
 */
int tdb_tables(struct tdb *db, struct tdb_table_info **list);

struct tdb_stats {
	uint64_t requests;	/* served since the owner started */
	uint64_t mem_bytes;	/* all tables */
	uint32_t tables;
	uint32_t connections;
};

int tdb_stats(struct tdb *db, struct tdb_stats *st);

/* Records: plain synchronous calls, one round trip each. */

/*
 * Copies the value of @key into @buf (at most @cap bytes) and stores its
 * full length in *@vlen: a caller whose buffer was short learns the length
 * and can retry.  0 or -errno.
 */
int tdb_get(struct tdb *db, const char *table, const void *key, size_t klen,
	    void *buf, size_t cap, size_t *vlen);

/* As tdb_get(), into a malloc'd buffer that the caller frees. */
int tdb_get_alloc(struct tdb *db, const char *table, const void *key,
		  size_t klen, void **val, size_t *vlen);

/* @flags: 0 (insert or replace), TDB_PUT_CREATE or TDB_PUT_REPLACE. */
int tdb_put(struct tdb *db, const char *table, const void *key, size_t klen,
	    const void *val, size_t vlen, unsigned int flags);

int tdb_del(struct tdb *db, const char *table, const void *key, size_t klen);

/*
 * Scans.  A scan returns every record of the table that exists for its
 * whole duration exactly once, in no particular order, while others write;
 * records written meanwhile may or may not appear.  Records travel in
 * frames of many at a time.
 */
struct tdb_scan;

int tdb_scan_open(struct tdb *db, const char *table, struct tdb_scan **out);

/*
 * The next record: 1 with @key/@val pointing into the scan's buffer (valid
 * until the next call), 0 at the end, or -errno.
 */
int tdb_scan_next(struct tdb_scan *s, const void **key, size_t *klen,
		  const void **val, size_t *vlen);

void tdb_scan_close(struct tdb_scan *s);

/*
 * Batches.  Queue many operations, which travel in full frames with no
 * round trip each, then reap their completions.  Operations of one batch
 * may run in any order relative to each other unless they touch the same
 * key, which runs in queue order.  A batch holds at most @depth operations
 * in flight; queueing more first sends what is queued.
 */
struct tdb_batch;

struct tdb_completion {
	int status;		/* 0 or -errno */
	unsigned int op;	/* TDB_CMD_GET, TDB_CMD_PUT or TDB_CMD_DEL */
	void *user;		/* as queued */
	const void *val;	/* GET: the value, valid until the next reap */
	size_t vlen;
};

struct tdb_batch *tdb_batch_new(struct tdb *db, unsigned int depth);
void tdb_batch_free(struct tdb_batch *b);

int tdb_batch_get(struct tdb_batch *b, const char *table, const void *key,
		  size_t klen, void *user);
int tdb_batch_put(struct tdb_batch *b, const char *table, const void *key,
		  size_t klen, const void *val, size_t vlen,
		  unsigned int flags, void *user);
int tdb_batch_del(struct tdb_batch *b, const char *table, const void *key,
		  size_t klen, void *user);

/* Sends everything queued.  0 or -errno. */
int tdb_batch_submit(struct tdb_batch *b);

/*
 * Fills up to @max completions, waiting for at least @min of them (0: only
 * what has arrived).  Returns the number filled or -errno.
 */
int tdb_batch_reap(struct tdb_batch *b, struct tdb_completion *c,
		   unsigned int max, unsigned int min);

/* Operations queued or sent and not yet reaped. */
unsigned int tdb_batch_pending(const struct tdb_batch *b);

#ifdef __cplusplus
}
#endif

#endif /* TDB_TDB_H */
