/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * table.h - named tables of key/value records: create, drop, list; get,
 * put, delete; scans with cursors that survive concurrent writes; record
 * counts, memory use and quotas.
 *
 * Concurrency.  Reads (tdb_table_lookup, tdb_table_read, tdb_table_scan)
 * never lock: they run under RCU.  Writes to one table are serialised by
 * the table's write lock; writes to different tables run in parallel.
 * Records and values are never modified in place: a put links a new record
 * and retires the old one, so a reader sees either whole.
 *
 * Lifetime.  A struct tdb_table pointer found with tdb_table_find() is
 * valid until the caller's rcu_read_unlock(); one taken with
 * tdb_table_hold() stays valid, outside RCU, until tdb_table_release().
 * A dropped table refuses further writes with -ENOENT and is freed, with
 * every record at once, after its last holder and reader are gone.
 *
 * Limits.  Table names are 1 to TDB_NAME_MAX - 1 characters of
 * [A-Za-z0-9_.-] (-EINVAL otherwise); keys are 1 to TDB_KEY_MAX bytes
 * (-EINVAL for an empty key, -E2BIG past the limit), values 0 to
 * TDB_VAL_MAX bytes (-E2BIG past it).
 */
#ifndef TDB_CORE_TABLE_H
#define TDB_CORE_TABLE_H

#include "port.h"
#include "index.h"

struct tdb_table;
struct tdb_wal;

/*
 * Tables one non-root uid may own by default: past it, create fails with
 * -EDQUOT, so that one client cannot fill the owner with empty tables.
 */
#define TDB_TABLES_PER_UID 1024U

/* All tables of one owner. */
struct tdb_db {
	port_mutex_t lock;		/* serialises create and drop */
	struct tdb_table *tables;	/* RCU list, newest first */
	unsigned int ntables;
	unsigned int tables_per_uid;	/* 0: no limit; root has none */
	/*
	 * The write-ahead log, or NULL.  Set by the host after recovery:
	 * from then on every change to a table whose durability is not
	 * TDB_DUR_MEMORY is appended to it, under the lock that orders the
	 * change (the table's write lock, or db->lock for create and drop),
	 * before the change becomes visible.  A change the log refuses
	 * (tdb_wal_last_error() is set, or the append fails) is not made.
	 */
	struct tdb_wal *wal;
};

struct tdb_table_opts {
	u64 quota;		/* bytes of records and index; 0: no limit */
	u32 uid, gid, mode;	/* owner and permission bits, kept for hosts */
	u32 key_type;		/* enum tdb_key_type: checked on every key */
	u32 durability;		/* enum tdb_durability */
	u32 flags;		/* TDB_TABLE_* */
	/*
	 * The schema, kept for clients as opaque bytes (0..TDB_SCHEMA_MAX).
	 * Creating a table copies it; the opts of a table point at the
	 * table's copy, valid while the table is held.
	 */
	const void *schema;
	u32 schema_len;
};

/*
 * A staging table: the target of a bulk load in progress, committed by
 * tdb_table_swap() or tdb_table_merge().  Its name starts with '~', which
 * no other table's may, so that clients cannot create one by name; the
 * host that creates it answers for dropping it when its load ends
 * without a commit, and recovery drops those left in the log.
 */
#define TDB_TABLE_STAGING 0x1U
#define TDB_TABLE_FLAGS TDB_TABLE_STAGING

/* Whether @opts' key type, durability, flags and schema are known. */
bool tdb_table_opts_valid(const struct tdb_table_opts *opts);

struct tdb_table_stats {
	u64 records;
	u64 mem_bytes;		/* live records (rounded to their size class)
				 * plus the index */
	u64 quota;		/* 0: no limit */
	u64 heap_bytes;		/* pages the table's heap holds right now */
	u64 index_bytes;	/* the index's bucket heads */
	u32 index_buckets;
};

/*
 * Flags for tdb_table_put() are the wire's TDB_PUT_CREATE and
 * TDB_PUT_REPLACE (tdb/proto.h); without either, put inserts or replaces.
 * TDB_PUT_RECOVER is the owner's own, for recovery: the put ignores the
 * quota (a fuzzy checkpoint replayed with its log may pass through states
 * that never existed) and is not logged.  Hosts never take it off the wire.
 */
#define TDB_PUT_RECOVER 0x80000000U

int tdb_db_init(struct tdb_db *db);
/* Drops every table.  No other thread may use @db any more. */
void tdb_db_fini(struct tdb_db *db);

/*
 * 0, -EINVAL (bad name or options), -EEXIST, -EDQUOT (opts->uid, not
 * root, owns db->tables_per_uid tables already; staging tables do not
 * count) or -ENOMEM.
 */
int tdb_table_create(struct tdb_db *db, const char *name,
		     const struct tdb_table_opts *opts);
/*
 * Recovery: as tdb_table_create(), for a table about to be loaded from a
 * checkpoint.  Its index hashes with @key (NULL or all zero: a fresh
 * random key, as tdb_table_create()) and starts with the buckets that
 * @records records would have grown it to; @records is trusted (each
 * bucket costs 16 bytes at once), so the caller bounds it.  With a key,
 * records handed to tdb_table_load() in the order in which a scan of the
 * saved table returned them are appended to the index instead of being
 * inserted (see "Bulk loading" in index.h): a checkpoint of ten million
 * records (16-byte keys, 100-byte values) loaded in about 1.5 s instead
 * of 14 s where this was measured.
 *
 * Why the key is kept in checkpoints, and what that costs.  The key is
 * what keeps clients from flooding one bucket: whoever knows it can pick
 * keys that all land in one bucket and turn each lookup into a walk of
 * the whole table.  It is therefore random per table and never leaves
 * the owner, except here: tdb_ckpt_write() stores it in the checkpoint,
 * next to the records, so that the table comes back in the same order.
 * The file is the owner's alone (mode 0600), and whoever can read it has
 * every record anyway.  But the key no longer changes at restart (a table
 * loaded with its key saves it again at the next checkpoint), and every
 * copy of a checkpoint (a backup) carries it: a key that leaked once
 * stays good until the table is loaded without it, which gives it a fresh
 * key at the cost of the slower insert path.
 */
int tdb_table_create_keyed(struct tdb_db *db, const char *name,
			   const struct tdb_table_opts *opts,
			   const struct port_hash_key *key, u64 records);
/* The key @t's index hashes with (for checkpoints: see above). */
void tdb_table_hash_key(const struct tdb_table *t, struct port_hash_key *key);
/*
 * Recovery: replaces the options of the existing table @name (a logged
 * create replayed over a checkpoint that holds the table).  0 or -ENOENT.
 */
int tdb_table_set_opts(struct tdb_db *db, const char *name,
		       const struct tdb_table_opts *opts);
/*
 * Unlinks the table and returns without waiting; the table and all its
 * records are freed once its readers, holders and pending reclamation are
 * done.  When @allow is given, it decides under the registry lock, so that
 * the table it judges is the one dropped: a non-zero return (-EACCES, say)
 * is returned and nothing happens.  Takes mutexes: not inside
 * rcu_read_lock().  0, -ENOENT or @allow's.
 */
int tdb_table_drop(struct tdb_db *db, const char *name,
		   int (*allow)(void *arg, const struct tdb_table_opts *opts),
		   void *arg);

/*
 * Commits the bulk load staged in @staging (a TDB_TABLE_STAGING table)
 * into the table @name, with one log record, under the registry lock:
 *
 * tdb_table_swap(): @staging takes @name's place in the registry, under
 * that name and without the staging flag, in one pointer exchange: a
 * reader finds the old table or the new one, never a mix.  The old table
 * is dropped (writes still running on it fail with -ENOENT).
 *
 * tdb_table_merge(): every record of @staging is put into @name under its
 * write lock (readers see the merge under way), then @staging is dropped.
 * -ENOSPC, before anything changes, when @name's quota could not hold
 * its records and @staging's together.
 *
 * Both: 0, -ENOENT (either is missing, or @staging is not staging),
 * -ESTALE (@target is given and @name is another table now: the one the
 * load began on was dropped or replaced meanwhile), -EINVAL (their key
 * types differ), -ENOMEM or the log's error, in which case nothing
 * changed.  Recovery calls them with @log false and no @target: nothing
 * is logged and no quota checked.  Takes mutexes and waits for an RCU
 * grace period: not inside rcu_read_lock().
 */
int tdb_table_swap(struct tdb_db *db, const char *name, const char *staging,
		   const struct tdb_table *target, bool log);
int tdb_table_merge(struct tdb_db *db, const char *name, const char *staging,
		    const struct tdb_table *target, bool log);

/* The table called @name, or NULL.  Call inside rcu_read_lock(). */
struct tdb_table *tdb_table_find(struct tdb_db *db, const char *name);
/* Keeps a table found inside rcu_read_lock() alive outside of it. */
void tdb_table_hold(struct tdb_table *t);
void tdb_table_release(struct tdb_table *t);

/*
 * Calls @fn for each table until it returns non-zero, which is returned.
 * @fn runs inside rcu_read_lock() and must not sleep.
 */
int tdb_db_for_each(struct tdb_db *db,
		    int (*fn)(void *arg, struct tdb_table *t), void *arg);
/*
 * As tdb_db_for_each(), under the registry lock as well: no table is
 * created, dropped, swapped or merged during the walk, so it sees one
 * state of the registry (a checkpoint's snapshot).  @fn may read the
 * tables' names, which change only under that lock.
 */
int tdb_db_snapshot(struct tdb_db *db,
		    int (*fn)(void *arg, struct tdb_table *t), void *arg);

/*
 * Waits until writes that had taken the lock ordering them when this is
 * called are complete: a fuzzy checkpoint takes its start LSN, then
 * quiesces the registry and each table before it reads it, so that every
 * change logged before that LSN is visible to it.
 */
void tdb_db_quiesce(struct tdb_db *db);
void tdb_table_quiesce(struct tdb_table *t);
/*
 * The log position just past the last record logged for a write to @t
 * (0 before any): once the log is durable up to it, so is every write to
 * @t that has returned.  A host answers a write to a TDB_DUR_SYNC table
 * once tdb_wal_durable_lsn() reaches it.
 */
u64 tdb_table_log_lsn(const struct tdb_table *t);
/* Recovery: @t's last write ends at or before @lsn in the log. */
void tdb_table_set_log_lsn(struct tdb_table *t, u64 lsn);

const char *tdb_table_name(const struct tdb_table *t);
/*
 * Whether @t was dropped, or replaced by a load's swap: its name now
 * leads to another table, or to none.
 */
bool tdb_table_dead(const struct tdb_table *t);
void tdb_table_opts(const struct tdb_table *t, struct tdb_table_opts *opts);
void tdb_table_stats(const struct tdb_table *t, struct tdb_table_stats *st);

/*
 * The record holding @key, or NULL; -EINVAL/-E2BIG keys find nothing.
 * Call inside rcu_read_lock(); the record stays readable until the
 * matching rcu_read_unlock().
 */
const struct tdb_rec *tdb_table_lookup(struct tdb_table *t, const void *key,
				       u32 klen);

/*
 * Looks up @n keys at once, overlapping their cache misses: out[i] is what
 * tdb_table_lookup(keys[i], klens[i]) would return.  Call inside
 * rcu_read_lock().
 */
void tdb_table_lookup_batch(struct tdb_table *t, unsigned int n,
			    const void *const *keys, const u32 *klens,
			    const struct tdb_rec **out);

/*
 * Longest-prefix match on a table keyed by cidr4 or cidr6: the record
 * whose prefix is the longest containing @addr (4 or 16 bytes, as the key
 * type says), or NULL (none, or not a prefix table).  Call inside
 * rcu_read_lock(), as tdb_table_lookup().
 */
const struct tdb_rec *tdb_table_match(struct tdb_table *t, const u8 *addr);
/* @n matches at once, overlapping their cache misses. */
void tdb_table_match_batch(struct tdb_table *t, unsigned int n,
			   const u8 *const *addrs, const struct tdb_rec **out);

/*
 * Copies the value of @key into @buf (at most @cap bytes) and stores its
 * full length in @vlen, so that a caller whose buffer was too small can
 * tell and retry.  0, -ENOENT, -EINVAL or -E2BIG (key).
 */
int tdb_table_read(struct tdb_table *t, const void *key, u32 klen, void *buf,
		   u32 cap, u32 *vlen);

/*
 * Inserts or replaces @key with @val.  0, -EINVAL (empty key, a key that
 * its table's key type refuses (see keytype.h), both flags),
 * -E2BIG, -EEXIST (TDB_PUT_CREATE), -ENOENT (TDB_PUT_REPLACE, or the table
 * was dropped), -ENOSPC (quota), -ENOMEM, or the log's error (-ENOSPC,
 * -EIO, -ENOBUFS: see struct tdb_db), in which case nothing changed.
 */
int tdb_table_put(struct tdb_table *t, const void *key, u32 klen,
		  const void *val, u32 vlen, unsigned int flags);

/*
 * Recovery: tdb_table_put(@t, @key, @klen, @val, @vlen, TDB_PUT_RECOVER)
 * (insert or replace, no quota, not logged), made an append to the index
 * while @t was created by tdb_table_create_keyed() with a key and the
 * records come in the order of that key's index: strictly ascending,
 * which a checkpoint of the table gives.  The first record out of that
 * order, and any write to @t, ends the appending; from then on this is
 * the put.  Meant for loading a table before it serves anyone (readers
 * are safe, but none is needed).  0, -EINVAL, -E2BIG, -ENOENT (dropped)
 * or -ENOMEM.
 */
int tdb_table_load(struct tdb_table *t, const void *key, u32 klen,
		   const void *val, u32 vlen);
/*
 * Recovery's hint before a put of @key: see tdb_index_prefetch().  Log
 * replay issues it a few records ahead, so that the inserts' cache
 * misses overlap instead of adding up.
 */
void tdb_table_prefetch(struct tdb_table *t, const void *key, u32 klen,
			unsigned int step);
/*
 * The hint before puts of @n keys (a bulk load's next records): their
 * bucket heads and the records after them, and for a prefix table the
 * walks of its prefix index, are brought into the cache with their misses
 * overlapping, so that the puts that follow at once find them there.  The
 * keys need no checking first: a prefix index walks only keys of its
 * length.
 */
void tdb_table_prefetch_batch(struct tdb_table *t, unsigned int n,
			      const u8 *const *keys, const u32 *klens);
/*
 * Ends the appending of tdb_table_load() after the last record: links
 * the bucket heads still due, so that the table is whole before it
 * serves (a table left so works, only some lookups walk a little more).
 */
void tdb_table_load_end(struct tdb_table *t);

/* 0, -ENOENT, -EINVAL, -E2BIG or the log's error. */
int tdb_table_delete(struct tdb_table *t, const void *key, u32 klen);

/*
 * Hands records retired by earlier writes to RCU now instead of when their
 * batch fills.  Hosts call it when a burst of writes ends.
 */
void tdb_table_flush(struct tdb_table *t);

/*
 * A scan position: the last record returned.  A record that is present
 * for the whole scan is returned exactly once, whatever is written
 * meanwhile; records added or removed during the scan may or may not be.
 * Order is the index's (hash) order, not key order.
 */
struct tdb_cursor {
	u32 so_key;
	u32 klen;
	bool done;
	u8 key[TDB_KEY_MAX];
};

void tdb_cursor_init(struct tdb_cursor *c);

/*
 * Returns records after the cursor to @fn, one at a time, under RCU.  @fn
 * returns 0 to take the record (the cursor moves past it), a positive
 * value to stop before it (for a full buffer; the same record comes first
 * next time), or -errno to abort.  The scan drops and retakes RCU every
 * so often, so a long scan never holds up reclamation.  Returns 0 at the
 * end of the table (and sets c->done), the positive value of @fn, or its
 * error.
 */
int tdb_table_scan(struct tdb_table *t, struct tdb_cursor *c,
		   int (*fn)(void *arg, const struct tdb_rec *rec), void *arg);

#endif /* TDB_CORE_TABLE_H */
