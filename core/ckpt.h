/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ckpt.h - fuzzy checkpoints: every logged table written to one file while
 * readers and writers go on, and loaded back at start-up before the log is
 * replayed from the checkpoint's start position.
 *
 * What a checkpoint holds
 * -----------------------
 *
 * A checkpoint is taken at a start LSN S, the log's append position just
 * before it begins.  It holds every table whose durability is not
 * TDB_DUR_MEMORY with every change logged before S; changes logged at or
 * after S may or may not be in it, whole or not at all per record (a scan
 * sees either a record's old image or its new one).  Recovery loads the
 * checkpoint and replays the log from S: log records are idempotent full
 * images (see wal.h), so replaying a change the checkpoint already holds
 * does no harm, and the result is the state at the end of the log.
 *
 * On disk (all integers little-endian, no padding, no alignment)
 * ----------------------------------------------------------------
 *
 * A checkpoint is one file "ckpt-%016llx.ckp" named after its start LSN
 * (16 lowercase hex digits) in the data directory.  It is written as
 * "ckpt-%016llx.tmp", synced, and renamed, so a .ckp name always means the
 * writer finished; a .tmp name is a writer that did not, and is removed
 * at load.  Other names are ignored.  The file begins with a 32-byte
 * header:
 *
 *	0  u32 magic		TDB_CKPT_MAGIC, the bytes "TDBC"
 *	4  u32 version		TDB_CKPT_VERSION
 *	8  u64 start_lsn	must match the file name
 *	16 u64 time		seconds since the epoch when it began
 *	24 u32 reserved		0
 *	28 u32 crc		CRC-32C of bytes 0..27
 *
 * then blocks, back to back up to the end of the file.  Each block is a
 * 16-byte header and a payload:
 *
 *	0  u32 crc		CRC-32C of bytes 4..15 of this header
 *				followed by the payload
 *	4  u32 len		payload bytes, 1..TDB_CKPT_BLOCK_MAX
 *	8  u64 offset		the block's own file offset
 *
 * A payload is entries back to back, each starting with a u8 type; no
 * entry spans two blocks.  Entries:
 *
 *	TABLE	u8 1, u8 nlen, name, u64 quota, u32 uid, u32 gid,
 *		u32 mode, u32 key_type, u32 durability, u64 records,
 *		u8 hash_key[16], u32 flags, u16 slen, schema
 *		(the name without its NUL, 1..TDB_NAME_MAX - 1 bytes;
 *		records: how many the table held when its scan began, a
 *		hint for sizing the index, not checked but capped, over
 *		all tables, at what the file could hold; hash_key: the key
 *		of the table's index hash, struct port_hash_key's k[0]
 *		then k[1], all zero when not saved; a loader that builds
 *		the index with the same key receives the records in index
 *		order and can append them instead of inserting them.  Both
 *		are advisory: a loader may ignore them.  flags and the
 *		schema (slen 0..TDB_SCHEMA_MAX bytes) as struct
 *		tdb_table_opts has them.  Whoever reads the
 *		file learns the key: see tdb_table_create_keyed() in
 *		table.h for what that costs.)
 *	RECORD	u8 2, u16 klen, u32 vlen, key, value
 *		(klen 1..TDB_KEY_MAX, vlen 0..TDB_VAL_MAX), a record of the
 *		table named by the last TABLE entry before it
 *	END	u8 3, u64 tables, u64 records
 *
 * Each TABLE entry is followed by all of that table's records.  The
 * writer closes a block before the entry that would take its payload past
 * TDB_CKPT_BLOCK_SIZE, so that a block is read with one read and checked
 * with one CRC; a record too large for that gets a block of its own (at
 * most TDB_CKPT_BLOCK_MAX bytes).  The END entry comes last in the last
 * block and counts the TABLE and RECORD entries before it.
 *
 * CRC-32C here is the standard one (Castagnoli, check value 0xe3069283):
 * ~port_crc32c(~0U, ...).
 *
 * A checkpoint is complete when its header is good, every block is good
 * (length in range and within the file, offset equal to its position,
 * CRC matching), every entry parses within its block, table names are
 * valid and unique, no record comes before the first TABLE entry, and
 * the END entry is present, is the last byte of the file and its counts
 * match.  Anything else makes it corrupt: loading fails with -EBADMSG and
 * says at which file offset and why, unless the caller accepts the loss
 * (TDB_CKPT_ACCEPT_LOSS), in which case the next older complete
 * checkpoint is loaded instead.  A checkpoint of another format version
 * fails with -EPROTONOSUPPORT, always.
 *
 * Keeping an older checkpoint to fall back on is the host's choice: the
 * fallback only helps if the log from the older checkpoint's start LSN is
 * still there, so a host that wants it removes checkpoints and log
 * segments before the PREVIOUS checkpoint's start LSN, not the newest's.
 *
 * Concurrency
 * -----------
 *
 * tdb_ckpt_write() runs in one thread at a time (the checkpoint thread)
 * beside any number of readers and writers; it sleeps (file I/O).  It
 * holds no lock of the engine for longer than a lock/unlock pair and
 * reads records under RCU.  tdb_ckpt_load() runs before anything else
 * uses @db.
 */
#ifndef TDB_CORE_CKPT_H
#define TDB_CORE_CKPT_H

#include "port.h"
#include "table.h"	/* struct tdb_db, TDB_NAME_MAX, TDB_KEY_MAX... */

#define TDB_CKPT_MAGIC 0x43424454U	/* "TDBC" read as a little-endian u32 */
#define TDB_CKPT_VERSION 2U
#define TDB_CKPT_HDR 32U
#define TDB_CKPT_BLOCK_HDR 16U
/* Entry bytes before the name, key or value. */
#define TDB_CKPT_TABLE_FIXED 60U	/* all but the name and schema */
#define TDB_CKPT_REC_FIXED 7U		/* type, klen, vlen */
#define TDB_CKPT_END_LEN 17U
/* The payload a writer fills a block to. */
#define TDB_CKPT_BLOCK_SIZE (1U << 20)
/* The largest payload: one record of the largest key and value. */
#define TDB_CKPT_BLOCK_MAX (TDB_CKPT_REC_FIXED + TDB_KEY_MAX + TDB_VAL_MAX)
/* "ckpt-" 16 hex digits ".ckp" and a NUL. */
#define TDB_CKPT_FILE_NAME_LEN 26U

enum tdb_ckpt_entry {
	TDB_CKPT_TABLE = 1,
	TDB_CKPT_RECORD = 2,
	TDB_CKPT_END = 3,
};

/* Load flags. */
#define TDB_CKPT_ACCEPT_LOSS 0x1	/* skip a corrupt checkpoint */

/* What a checkpoint holds, or what went wrong with it. */
struct tdb_ckpt_info {
	u64 start_lsn;		/* where log replay starts; 0 without one */
	u64 time;		/* seconds since the epoch when it began */
	u64 tables;		/* TABLE entries */
	u64 records;		/* RECORD entries */
	u64 bytes;		/* file size */
	/* "ckpt-<16 hex start_lsn>.ckp"; "" when there is none. */
	char file[32];
	/*
	 * The problem: on -EBADMSG (or a file error) in @file; after a
	 * loss accepted at load, in @skipped.  0 and NULL otherwise.
	 */
	u64 offset;		/* file offset of the bad header/block/entry */
	const char *reason;	/* static text: "bad block CRC", ... */
	/* Load with TDB_CKPT_ACCEPT_LOSS: corrupt checkpoints passed over. */
	char skipped[32];	/* the newest of them, "" when none */
	u32 nskipped;
};

/*
 * Writes a fuzzy checkpoint of every table of @db whose durability is not
 * TDB_DUR_MEMORY into @dir.  The caller took @start_lsn =
 * tdb_wal_append_lsn() just before calling; this function calls
 * tdb_db_quiesce() before it lists the tables and tdb_table_quiesce()
 * before it scans each one, so every change logged before @start_lsn is
 * in the checkpoint and later ones may or may not be.  Readers and
 * writers are held up by nothing more than those lock/unlock pairs and
 * RCU.  @time (seconds since the epoch, from the host) is stored.
 *
 * Writes "ckpt-<16 hex>.tmp", datasyncs it, then calls
 * @before_publish(@arg) if given: the host waits there until the log is
 * durable up to its append position, so that recovery never sees a
 * checkpoint holding writes that the log lost.  A non-zero return
 * abandons the checkpoint and is returned.  Then renames the file to
 * "ckpt-<16 hex @start_lsn>.ckp", replacing one of that name, and syncs
 * the directory.
 *
 * 0 with @info filled (offset 0, reason NULL), or -errno (-ENOSPC, -EIO,
 * -ENOMEM, @before_publish's...): the temporary file is then removed and
 * nothing else has changed; info->reason says which step failed.  The
 * one exception is a failure of the final directory sync: the renamed
 * checkpoint, complete and valid, stays, but the error is returned so
 * that the host keeps the log it would otherwise drop.
 */
int tdb_ckpt_write(struct tdb_db *db, const char *dir, u64 start_lsn, u64 time,
		   int (*before_publish)(void *arg), void *arg,
		   struct tdb_ckpt_info *info);

/*
 * Loads the newest complete checkpoint in @dir into @db, which has no
 * tables yet and no log (db->wal NULL).  Tables are created with their
 * saved options, hash key and size (tdb_table_create_keyed(); the caller
 * sets db->tables_per_uid = 0 for recovery) and records put with
 * tdb_table_load() (TDB_PUT_RECOVER, appended to the index when they come
 * in its order, as a checkpoint lists them).  Removes leftover
 * "ckpt-*.tmp" files first (so never call it while a checkpoint is being
 * written into @dir).  @info is always filled; problems are also logged.
 *
 * Returns 0 (info->file "" and start_lsn 0 when there is no checkpoint),
 * -EBADMSG when the newest checkpoint is corrupt or incomplete
 * (info->file, offset and reason say where and why), -EPROTONOSUPPORT
 * for another format version, -ENOMEM, or a file error (-ENOENT: no such
 * directory; -EIO...).  With @flags & TDB_CKPT_ACCEPT_LOSS a corrupt
 * checkpoint is passed over for the next older one (or none): 0 is
 * returned, info->skipped names the newest one passed over and
 * info->offset/reason say what was wrong with it.  On any error @db is
 * left with no tables; a checkpoint passed over leaves nothing in @db
 * either.
 */
int tdb_ckpt_load(struct tdb_db *db, const char *dir, unsigned int flags,
		  struct tdb_ckpt_info *info);

/*
 * Removes the checkpoints in @dir whose start LSN is below @lsn (after a
 * newer one was published) and syncs the directory.  The number removed,
 * or -errno.
 */
int tdb_ckpt_remove_before(const char *dir, u64 lsn);

#endif /* TDB_CORE_CKPT_H */
