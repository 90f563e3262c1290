/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * wal.h - the write-ahead log: records appended by workers, written and
 * synced by one log thread, replayed at start-up.
 *
 * The log is a stream of bytes cut into segment files.  A record's LSN is
 * its byte position in that stream (segment headers do not count), so the
 * LSN of the first record of a segment is the segment's start LSN and a
 * segment's end is its start plus its file size minus the header.
 *
 * On disk (all integers little-endian, no padding, no alignment)
 * ----------------------------------------------------------------
 *
 * Segment files are called "wal-%016llx.log" after their start LSN (16
 * lowercase hex digits) and live in one data directory; other names there
 * are ignored.  Each begins with a 24-byte header:
 *
 *	0  u32 magic		TDB_WAL_MAGIC, the bytes "TDBW"
 *	4  u32 version		TDB_WAL_VERSION
 *	8  u64 start_lsn	must match the file name
 *	16 u32 reserved		0
 *	20 u32 crc		CRC-32C of bytes 0..19
 *
 * then records, back to back up to the end of the file.  A record never
 * spans two segments; a segment holds at most the configured segment size
 * unless one record alone is larger.  Each record is a 24-byte header and
 * a payload:
 *
 *	0  u32 crc		CRC-32C of the payload followed by bytes
 *				4..23 of this header (payload first, so that
 *				an appender checksums it before taking the
 *				log's lock)
 *	4  u32 len		payload bytes, at most TDB_WAL_PAYLOAD_MAX
 *	8  u64 lsn		the record's own stream position
 *	16 u16 type		enum tdb_wal_type
 *	18 u16 flags		0
 *	20 u32 reserved		0
 *
 * CRC-32C here is the standard one (Castagnoli, check value 0xe3069283):
 * ~port_crc32c(~0U, ...).  Table names are stored without their NUL, 1 to
 * TDB_NAME_MAX - 1 bytes; the payload length must equal the sum of its
 * parts exactly.  Payloads:
 *
 *	PUT		u16 nlen, u16 klen, u32 vlen, name, key, value
 *			(klen 1..TDB_KEY_MAX, vlen 0..TDB_VAL_MAX)
 *	DEL		u16 nlen, u16 klen, name, key
 *	TABLE_CREATE	u16 nlen, u16 slen, u32 uid, u32 gid, u32 mode,
 *			u32 key_type, u32 durability, u64 quota, u32 flags,
 *			name, schema (slen 0..TDB_SCHEMA_MAX bytes)
 *	TABLE_DROP	u16 nlen, name
 *	TABLE_SWAP	u16 nlen, u16 nlen2, name, name2
 *	TABLE_MERGE	u16 nlen, u16 nlen2, name, name2
 *
 * Every record is an idempotent full image, so replaying a record that a
 * fuzzy checkpoint already holds does no harm: PUT sets the key to the
 * value whether or not it exists, DEL removes it if present, TABLE_CREATE
 * creates the table or resets its options, TABLE_DROP drops it if
 * present.  TABLE_SWAP means "the table name2 replaces the table name:
 * afterwards name holds what name2 held and name2 no longer exists";
 * TABLE_MERGE "every record of name2 is put into name, then name2 is
 * dropped".  Both are the commit of a bulk load into the staging table
 * name2 (flag TDB_TABLE_STAGING), whose creation and puts come before
 * them in the log; the appliers skip them when name2 does not exist
 * (already applied).  Staging tables that no commit claimed are dropped
 * at the end of recovery: their loads died with their clients.
 *
 * Recovery rules
 * --------------
 *
 * A record is bad when its header is cut short, its length is out of
 * range or runs past the end of the file, its CRC does not match, its LSN
 * is not its position, its type is unknown or its payload does not parse.
 * A bad record in the LAST segment with no valid record anywhere after it
 * is a torn tail (a write the crash interrupted): the file is truncated
 * there and the truncation reported.  Anything else bad (a bad record
 * followed by a valid one, any bad record or header in an earlier segment,
 * a gap between segments) is corruption: replay stops with -EBADMSG and a
 * report of the file, the offset and the reason, unless the caller passes
 * TDB_WAL_ACCEPT_LOSS, in which case the log is cut at the bad record,
 * later segments are removed and the loss is reported.  A segment of
 * another format version stops replay with -EPROTONOSUPPORT, always.
 *
 * Concurrency
 * -----------
 *
 * tdb_wal_append() may be called from any number of threads: it takes the
 * log's mutex for a copy into memory and never does I/O.  tdb_wal_write(),
 * tdb_wal_sync(), tdb_wal_truncate_before() and tdb_wal_close() belong to
 * ONE thread, the log thread.  The LSN accessors may be called from any
 * thread.  tdb_wal_replay() runs before the log is opened for writing.
 *
 * Group commit: a writer appends and remembers the end LSN it was given;
 * the log thread calls tdb_wal_write() then tdb_wal_sync(), and every
 * append whose end LSN is <= tdb_wal_durable_lsn() is on disk.  One sync
 * covers everything appended before the write that preceded it.
 *
 * Errors: when the disk refuses a write or a sync (-ENOSPC, -EIO, ...),
 * the bytes that are not known to be durable stay in memory and the error
 * is returned; the next tdb_wal_write() writes them again from the last
 * durable position, so nothing appended is lost while the process lives.
 * Appends keep succeeding until TDB_WAL_BUFFER_MAX (or opts->buffer_max)
 * bytes wait, then fail with -ENOBUFS, which a host reports as the log's
 * last error (tdb_wal_last_error()).
 */
#ifndef TDB_CORE_WAL_H
#define TDB_CORE_WAL_H

#include "port.h"
#include "table.h"	/* struct tdb_table_opts, TDB_NAME_MAX... */

#define TDB_WAL_MAGIC 0x57424454U	/* "TDBW" read as a little-endian u32 */
#define TDB_WAL_VERSION 2U
#define TDB_WAL_SEG_HDR 24U
#define TDB_WAL_REC_HDR 24U
/* The largest payload: a PUT of the largest key and value, with room. */
#define TDB_WAL_PAYLOAD_MAX (TDB_VAL_MAX + TDB_KEY_MAX + 1024U)
#define TDB_WAL_SEGMENT_SIZE (64ULL << 20)
#define TDB_WAL_BUFFER_MAX (256ULL << 20)
/* "wal-" 16 hex digits ".log" and a NUL. */
#define TDB_WAL_FILE_NAME_LEN 25U

enum tdb_wal_type {
	TDB_WAL_PUT = 1,
	TDB_WAL_DEL = 2,
	TDB_WAL_TABLE_CREATE = 3,
	TDB_WAL_TABLE_DROP = 4,
	TDB_WAL_TABLE_SWAP = 5,
	TDB_WAL_TABLE_MERGE = 6,
};

/*
 * A record, to append or as replay hands it over.  Fields a type does not
 * use are ignored on append and zero on replay.  On replay every pointer
 * is valid only during the callback.
 */
struct tdb_wal_rec {
	u16 type;			/* enum tdb_wal_type */
	const char *name;		/* the table, NUL-terminated */
	const char *name2;		/* SWAP, MERGE: the staging table */
	const void *key;		/* PUT, DEL */
	u32 klen;
	const void *val;		/* PUT */
	u32 vlen;
	struct tdb_table_opts opts;	/* TABLE_CREATE */
};

struct tdb_wal;

struct tdb_wal_opts {
	u64 segment_size;	/* 0: TDB_WAL_SEGMENT_SIZE */
	u64 buffer_max;		/* 0: TDB_WAL_BUFFER_MAX */
	u64 start_lsn;		/* where a log with no segment yet begins */
};

/*
 * Opens the log in @dir for appending after its last record: the last
 * segment is reopened (and synced, since a crashed process may have left
 * its writes in the page cache only), or a first segment is created at
 * opts->start_lsn.  Call it after tdb_wal_replay(), which truncates a torn
 * tail: this function checks only the last segment's header, not its
 * records.  @opts may be NULL.  0, -EBADMSG (the last segment's header is
 * bad), -EPROTONOSUPPORT, -ENOMEM or a file error (-ENOENT: no directory).
 */
int tdb_wal_open(const char *dir, const struct tdb_wal_opts *opts,
		 struct tdb_wal **out);
/*
 * Closes the log.  Appended bytes that were not written are dropped: the
 * log thread writes and syncs first when it shuts down cleanly.
 */
void tdb_wal_close(struct tdb_wal *wal);

/*
 * Copies @rec into the log's memory and stores in *@end_lsn the stream
 * position just past it: the record is written once tdb_wal_written_lsn()
 * >= *@end_lsn and durable once tdb_wal_durable_lsn() >= *@end_lsn.
 * 0, -EINVAL (unknown type, missing or bad name or key), -E2BIG (key or
 * value too long), -ENOBUFS (too much waits to be written) or -ENOMEM.
 */
int tdb_wal_append(struct tdb_wal *wal, const struct tdb_wal_rec *rec,
		   u64 *end_lsn);
/*
 * Log thread: writes every record appended so far to the segments,
 * rotating to a new segment (after syncing the full one) where the next
 * record would pass the segment size.  0 or the disk's -errno; on error
 * what could not be written stays in memory for the next call.
 */
int tdb_wal_write(struct tdb_wal *wal);
/*
 * Log thread: fdatasync()s what tdb_wal_write() wrote and advances the
 * durable LSN to it.  0 or -errno; on error the durable LSN stays and the
 * bytes after it will be written again by the next tdb_wal_write(), since
 * after a failed fsync the kernel may have dropped them.
 */
int tdb_wal_sync(struct tdb_wal *wal);
/*
 * Log thread: removes every segment whose records all lie before @lsn (a
 * checkpoint's start position, which must be <= the durable LSN).  The
 * current segment stays.  The number of segments removed, or -errno.
 */
int tdb_wal_truncate_before(struct tdb_wal *wal, u64 lsn);

/* End of the appended, written and durable stream; any thread. */
u64 tdb_wal_append_lsn(struct tdb_wal *wal);
u64 tdb_wal_written_lsn(const struct tdb_wal *wal);
u64 tdb_wal_durable_lsn(const struct tdb_wal *wal);
/* Records appended since the log was opened; any thread. */
u64 tdb_wal_append_count(struct tdb_wal *wal);
/*
 * Bytes of records and segment headers the segment files hold (written,
 * not necessarily synced); any thread.
 */
u64 tdb_wal_disk_bytes(const struct tdb_wal *wal);
/* The error of the last write or sync, 0 once one succeeded again. */
int tdb_wal_last_error(const struct tdb_wal *wal);

/* Replay flags. */
#define TDB_WAL_ACCEPT_LOSS 0x1	/* cut a corrupt log instead of failing */

enum tdb_wal_damage {
	TDB_WAL_CLEAN,		/* nothing wrong */
	TDB_WAL_TORN,		/* a torn tail was truncated */
	TDB_WAL_CORRUPT,	/* replay stopped: the log is corrupt */
	TDB_WAL_LOST,		/* corrupt, cut under TDB_WAL_ACCEPT_LOSS */
};

/* What replay found.  The problem fields describe the first problem. */
struct tdb_wal_report {
	u64 records;		/* records handed to the callback */
	u64 end_lsn;		/* end of the valid log after replay */
	u32 segments;		/* segment files read */
	u32 damage;		/* enum tdb_wal_damage */
	char file[TDB_WAL_FILE_NAME_LEN];	/* where: segment file name */
	u64 offset;		/* byte offset of the bad record or header */
	u64 lsn;		/* stream position of that offset */
	const char *reason;	/* static text: "bad record CRC", ... */
	u64 dropped_bytes;	/* bytes removed (torn tail or loss) */
	u32 dropped_segments;	/* whole segment files removed */
};

/*
 * Called for each record with LSN >= from_lsn, in LSN order; @lsn is the
 * record's position and @end the position after it.  A non-zero return
 * stops replay and is returned.
 */
typedef int (*tdb_wal_replay_fn)(void *arg, const struct tdb_wal_rec *rec,
				 u64 lsn, u64 end);

/*
 * Reads the log in @dir from @from_lsn (the start position of the
 * checkpoint that recovery loaded, a record boundary; 0 without one),
 * checking every header and every record from there on (records before
 * it are not read: damage there does not matter), hands records to @fn, and repairs or refuses damage as the
 * recovery rules above say.  Segments wholly before @from_lsn are not
 * read.  @rep is always filled and the problem is also logged.  0 (also
 * after a torn tail or an accepted loss), -EBADMSG (corrupt, see @rep),
 * -EPROTONOSUPPORT (another format version), @fn's return, -ENOMEM or a
 * file error (-ENOENT: no such directory).
 */
int tdb_wal_replay(const char *dir, u64 from_lsn, unsigned int flags,
		   tdb_wal_replay_fn fn, void *arg,
		   struct tdb_wal_report *rep);

#endif /* TDB_CORE_WAL_H */
