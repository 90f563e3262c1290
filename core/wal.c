// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * wal.c - the write-ahead log.  The on-disk format and the rules are in
 * wal.h; this file explains how the code keeps them.
 */
#include "wal.h"
#include "le.h"
#include "readwin.h"
#include "lsnfile.h"

/* Appended records go to chunks of this size (or one record's size). */
#define WAL_CHUNK_SIZE (1U << 20)
/* The replay window: it must hold the largest record whole. */
#define WAL_READ_WINDOW (4U << 20)

static inline u32 wal_crc(u32 crc, const void *p, size_t len)
{
	return port_crc32c(crc, p, len);
}

/* Segment files are "wal-%016llx.log" (lsnfile.h), sorted by start LSN. */
#define WAL_FILE_PREFIX "wal-"
static const char *const wal_file_ext[] = { ".log" };

static void wal_seg_header(u8 *h, u64 start)
{
	put_le32(h, TDB_WAL_MAGIC);
	put_le32(h + 4, TDB_WAL_VERSION);
	put_le64(h + 8, start);
	put_le32(h + 16, 0);
	put_le32(h + 20, ~wal_crc(~0U, h, 20));
}

/*
 * Checks a segment header against the start LSN of its file name.  NULL
 * when it is good, else why not; *@err is -EPROTONOSUPPORT for a version
 * this code does not read, -EBADMSG otherwise.
 */
static const char *wal_check_seg_header(const u8 *h, u64 start, int *err)
{
	*err = -EBADMSG;
	if (get_le32(h) != TDB_WAL_MAGIC)
		return "bad segment magic";
	if (get_le32(h + 20) != ~wal_crc(~0U, h, 20))
		return "bad segment header CRC";
	if (get_le32(h + 4) != TDB_WAL_VERSION) {
		*err = -EPROTONOSUPPORT;
		return "unknown log format version";
	}
	if (get_le64(h + 8) != start)
		return "segment start LSN does not match its file name";
	*err = 0;
	return NULL;
}

static int wal_list(const char *dir, struct lsnfile_list *l)
{
	return lsnfile_list(dir, WAL_FILE_PREFIX, wal_file_ext,
			    ARRAY_SIZE(wal_file_ext), l);
}

/*
 * Encoding.  A record's payload is a fixed part followed by up to three
 * byte strings; appending checksums and copies the pieces where they are.
 */
struct wal_enc {
	u8 fixed[40];
	u32 nfixed;
	const void *part[3];
	u32 plen[3];
	u32 len; /* whole payload */
};

/* Bytes of a table name without its NUL, or 0 when it is no name. */
static u32 wal_name_len(const char *name)
{
	u32 n;

	if (!name)
		return 0;
	for (n = 0; n < TDB_NAME_MAX && name[n]; n++)
		;
	return n < TDB_NAME_MAX ? n : 0;
}

static int wal_encode(const struct tdb_wal_rec *rec, struct wal_enc *e)
{
	u32 nlen = wal_name_len(rec->name), n2;
	u8 *f = e->fixed;

	memset(e, 0, sizeof(*e));
	if (!nlen)
		return -EINVAL;
	put_le16(f, (u16)nlen);
	e->part[0] = rec->name;
	e->plen[0] = nlen;
	switch (rec->type) {
	case TDB_WAL_PUT:
	case TDB_WAL_DEL:
		if (!rec->key || !rec->klen)
			return -EINVAL;
		if (rec->klen > TDB_KEY_MAX)
			return -E2BIG;
		put_le16(f + 2, (u16)rec->klen);
		e->part[1] = rec->key;
		e->plen[1] = rec->klen;
		e->nfixed = 4;
		if (rec->type == TDB_WAL_DEL)
			break;
		if (rec->vlen > TDB_VAL_MAX)
			return -E2BIG;
		if (rec->vlen && !rec->val)
			return -EINVAL;
		put_le32(f + 4, rec->vlen);
		e->part[2] = rec->val;
		e->plen[2] = rec->vlen;
		e->nfixed = 8;
		break;
	case TDB_WAL_TABLE_CREATE:
		if (rec->opts.schema_len > TDB_SCHEMA_MAX ||
		    (rec->opts.schema_len && !rec->opts.schema))
			return -EINVAL;
		put_le16(f + 2, (u16)rec->opts.schema_len);
		put_le32(f + 4, rec->opts.uid);
		put_le32(f + 8, rec->opts.gid);
		put_le32(f + 12, rec->opts.mode);
		put_le32(f + 16, rec->opts.key_type);
		put_le32(f + 20, rec->opts.durability);
		put_le64(f + 24, rec->opts.quota);
		put_le32(f + 32, rec->opts.flags);
		e->part[1] = rec->opts.schema;
		e->plen[1] = rec->opts.schema_len;
		e->nfixed = 36;
		break;
	case TDB_WAL_TABLE_DROP:
		e->nfixed = 2;
		break;
	case TDB_WAL_TABLE_SWAP:
	case TDB_WAL_TABLE_MERGE:
		n2 = wal_name_len(rec->name2);
		if (!n2)
			return -EINVAL;
		put_le16(f + 2, (u16)n2);
		e->part[1] = rec->name2;
		e->plen[1] = n2;
		e->nfixed = 4;
		break;
	default:
		return -EINVAL;
	}
	e->len = e->nfixed + e->plen[0] + e->plen[1] + e->plen[2];
	return 0;
}

/* Copies one name out of a payload; false if it holds a NUL. */
static bool wal_get_name(char *dst, const u8 *src, u32 len)
{
	u32 i;

	if (!len || len >= TDB_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!src[i])
			return false;
	memcpy(dst, src, len);
	dst[len] = 0;
	return true;
}

/*
 * Decodes a payload whose CRC matched into @rec, names into @name and
 * @name2.  NULL, or why the payload does not parse.
 */
static const char *wal_decode(u16 type, const u8 *p, u32 len,
			      struct tdb_wal_rec *rec, char *name, char *name2)
{
	static const char bad[] = "bad record payload";
	u32 nlen, klen, vlen, n2;

	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->name = name;
	if (len < 2)
		return bad;
	nlen = get_le16(p);
	switch (type) {
	case TDB_WAL_PUT:
	case TDB_WAL_DEL:
		if (len < (type == TDB_WAL_PUT ? 8U : 4U))
			return bad;
		klen = get_le16(p + 2);
		vlen = type == TDB_WAL_PUT ? get_le32(p + 4) : 0;
		p += type == TDB_WAL_PUT ? 8 : 4;
		len -= type == TDB_WAL_PUT ? 8 : 4;
		if (!klen || klen > TDB_KEY_MAX || vlen > TDB_VAL_MAX ||
		    (u64)nlen + klen + vlen != len ||
		    !wal_get_name(name, p, nlen))
			return bad;
		rec->key = p + nlen;
		rec->klen = klen;
		if (type == TDB_WAL_PUT)
			rec->val = p + nlen + klen;
		rec->vlen = vlen;
		return NULL;
	case TDB_WAL_TABLE_CREATE:
		if (len < 36)
			return bad;
		n2 = get_le16(p + 2);
		if (len != 36 + nlen + n2 || n2 > TDB_SCHEMA_MAX ||
		    !wal_get_name(name, p + 36, nlen))
			return bad;
		rec->opts.uid = get_le32(p + 4);
		rec->opts.gid = get_le32(p + 8);
		rec->opts.mode = get_le32(p + 12);
		rec->opts.key_type = get_le32(p + 16);
		rec->opts.durability = get_le32(p + 20);
		rec->opts.quota = get_le64(p + 24);
		rec->opts.flags = get_le32(p + 32);
		rec->opts.schema = n2 ? p + 36 + nlen : NULL;
		rec->opts.schema_len = n2;
		/* CRC-valid is not sane: tables take only known options. */
		if (!tdb_table_opts_valid(&rec->opts))
			return bad;
		return NULL;
	case TDB_WAL_TABLE_DROP:
		if (len != 2 + nlen || !wal_get_name(name, p + 2, nlen))
			return bad;
		return NULL;
	case TDB_WAL_TABLE_SWAP:
	case TDB_WAL_TABLE_MERGE:
		if (len < 4)
			return bad;
		n2 = get_le16(p + 2);
		if (len != 4 + nlen + n2 || !wal_get_name(name, p + 4, nlen) ||
		    !wal_get_name(name2, p + 4 + nlen, n2))
			return bad;
		rec->name2 = name2;
		return NULL;
	}
	return "unknown record type";
}

/*
 * The writer.  Appended records sit in a list of chunks, each holding
 * whole records: [chunk->lsn, chunk->lsn + chunk->len) of the stream.
 * Appenders add at the tail under @lock; the log thread reads records
 * below the lengths it saw under the lock (they never change again) and
 * frees chunks from the head once they are durable.  Bytes stay in memory
 * until a sync covers them, so that a failed write or sync can be redone.
 *
 * Bytes written but not yet synced always lie in the current segment:
 * rotation syncs the full segment before it opens the next.
 */
struct wal_chunk {
	struct wal_chunk *next;
	u64 lsn; /* stream position of data[0] */
	u32 len; /* bytes of whole records; under wal->lock */
	u32 cap;
	u8 data[];
};

struct tdb_wal {
	port_mutex_t lock; /* appends: tail, append_lsn, chunk lengths */
	struct wal_chunk *head, *tail;
	u64 append_lsn;
	u64 records;	/* appended since open */

	/* The log thread's; others read the LSNs with READ_ONCE. */
	u64 written_lsn;
	u64 durable_lsn;
	int last_err;
	struct port_file *seg; /* NULL: create one at written_lsn first */
	u64 seg_start;
	u64 first_lsn;	/* start of the oldest segment on disk */
	u32 nsegs;	/* segment files on disk */
	u64 seg_size;
	u64 buffer_max;
	char *dir;
	size_t dir_size;
};

/* Frees chunks that lie wholly below the durable LSN, except the tail. */
static void wal_free_durable(struct tdb_wal *wal)
{
	struct wal_chunk *c, *done = NULL;

	port_mutex_lock(&wal->lock);
	while (wal->head && wal->head != wal->tail &&
	       wal->head->lsn + wal->head->len <= wal->durable_lsn) {
		c = wal->head;
		wal->head = c->next;
		c->next = done;
		done = c;
	}
	port_mutex_unlock(&wal->lock);
	while (done) {
		c = done;
		done = c->next;
		port_free(c, sizeof(*c) + c->cap);
	}
}

/* Creates the segment that starts at the written LSN and syncs its name. */
static int wal_seg_create(struct tdb_wal *wal)
{
	char name[TDB_WAL_FILE_NAME_LEN];
	u8 h[TDB_WAL_SEG_HDR];
	struct port_file *f;
	int err;

	lsnfile_name(name, WAL_FILE_PREFIX, wal->written_lsn, wal_file_ext[0]);
	/*
	 * TRUNC: a file of this name can only be an earlier attempt that
	 * failed half-way, since the name is past every written record.
	 */
	err = port_file_open(wal->dir, name, PORT_F_CREATE | PORT_F_TRUNC, &f);
	if (err)
		return err;
	wal_seg_header(h, wal->written_lsn);
	err = port_file_pwrite(f, h, sizeof(h), 0);
	if (!err)
		err = port_dir_sync(wal->dir);
	if (err) {
		port_file_close(f);
		return err;
	}
	wal->seg = f;
	WRITE_ONCE(wal->seg_start, wal->written_lsn);
	WRITE_ONCE(wal->nsegs, wal->nsegs + 1);
	return 0;
}

/*
 * A sync failed: what was written since the last good sync may be gone
 * from the page cache, so write it again from the durable LSN.
 */
static void wal_rewind(struct tdb_wal *wal)
{
	WRITE_ONCE(wal->written_lsn, wal->durable_lsn);
}

static void wal_set_durable(struct tdb_wal *wal, u64 lsn)
{
	smp_store_release(&wal->durable_lsn, lsn);
	wal_free_durable(wal);
}

static int wal_rotate(struct tdb_wal *wal)
{
	int err = port_file_datasync(wal->seg);

	if (err) {
		wal_rewind(wal);
		return err;
	}
	wal_set_durable(wal, wal->written_lsn);
	port_file_close(wal->seg);
	wal->seg = NULL;
	return wal_seg_create(wal);
}

static int wal_fail(struct tdb_wal *wal, const char *what, int err)
{
	if (wal->last_err != err)
		port_log(PORT_LOG_ERR, "log %s at LSN %llu in %s: error %d",
			 what, (unsigned long long)wal->written_lsn, wal->dir,
			 err);
	WRITE_ONCE(wal->last_err, err);
	return err;
}

int tdb_wal_write(struct tdb_wal *wal)
{
	for (;;) {
		u64 pos = wal->written_lsn, used;
		struct wal_chunk *c;
		const u8 *p;
		u32 avail, n, rlen;
		int err;

		port_mutex_lock(&wal->lock);
		if (pos >= wal->append_lsn) {
			port_mutex_unlock(&wal->lock);
			break;
		}
		for (c = wal->head; c->lsn + c->len <= pos; c = c->next)
			;
		avail = (u32)(c->lsn + c->len - pos);
		port_mutex_unlock(&wal->lock);

		if (!wal->seg) {
			err = wal_seg_create(wal);
			if (err)
				return wal_fail(wal, "segment creation", err);
		}
		/* Take the whole records that fit in this segment. */
		p = c->data + (pos - c->lsn);
		used = pos - wal->seg_start;
		for (n = 0; n < avail; n += rlen) {
			rlen = TDB_WAL_REC_HDR + get_le32(p + n + 4);
			if (TDB_WAL_SEG_HDR + used + n + rlen > wal->seg_size &&
			    used + n > 0)
				break;
		}
		if (!n) {
			err = wal_rotate(wal);
			if (err)
				return wal_fail(wal, "rotation", err);
			continue;
		}
		/* A failed write is redone whole at the same offset. */
		err = port_file_pwrite(wal->seg, p, n, TDB_WAL_SEG_HDR + used);
		if (err)
			return wal_fail(wal, "write", err);
		smp_store_release(&wal->written_lsn, pos + n);
	}
	WRITE_ONCE(wal->last_err, 0);
	return 0;
}

int tdb_wal_sync(struct tdb_wal *wal)
{
	u64 target = wal->written_lsn;
	int err;

	if (!wal->seg || target == wal->durable_lsn)
		return 0;
	err = port_file_datasync(wal->seg);
	if (err) {
		wal_rewind(wal);
		return wal_fail(wal, "sync", err);
	}
	wal_set_durable(wal, target);
	return 0;
}

int tdb_wal_append(struct tdb_wal *wal, const struct tdb_wal_rec *rec,
		   u64 *end_lsn)
{
	struct wal_chunk *c, *fresh = NULL;
	struct wal_enc e;
	u32 crc, rlen, i;
	u8 *h;
	int err;

	err = wal_encode(rec, &e);
	if (err)
		return err;
	rlen = TDB_WAL_REC_HDR + e.len;
	/* The payload's CRC needs no lock; the header's LSN does. */
	crc = wal_crc(~0U, e.fixed, e.nfixed);
	for (i = 0; i < 3; i++)
		crc = wal_crc(crc, e.part[i], e.plen[i]);

	port_mutex_lock(&wal->lock);
	if (wal->append_lsn - READ_ONCE(wal->durable_lsn) + rlen >
		    wal->buffer_max &&
	    wal->append_lsn != READ_ONCE(wal->durable_lsn)) {
		port_mutex_unlock(&wal->lock);
		return -ENOBUFS;
	}
	c = wal->tail;
	if (!c || c->cap - c->len < rlen) {
		u32 cap = rlen > WAL_CHUNK_SIZE ? rlen : WAL_CHUNK_SIZE;

		/* Allocating under the mutex is rare: once per chunk. */
		fresh = port_alloc(sizeof(*fresh) + cap);
		if (!fresh) {
			port_mutex_unlock(&wal->lock);
			return -ENOMEM;
		}
		fresh->next = NULL;
		fresh->lsn = wal->append_lsn;
		fresh->len = 0;
		fresh->cap = cap;
		if (c)
			c->next = fresh;
		else
			wal->head = fresh;
		wal->tail = c = fresh;
	}
	h = c->data + c->len;
	put_le32(h + 4, e.len);
	put_le64(h + 8, wal->append_lsn);
	put_le16(h + 16, rec->type);
	put_le16(h + 18, 0);
	put_le32(h + 20, 0);
	put_le32(h, ~wal_crc(crc, h + 4, TDB_WAL_REC_HDR - 4));
	h += TDB_WAL_REC_HDR;
	memcpy(h, e.fixed, e.nfixed);
	h += e.nfixed;
	for (i = 0; i < 3; i++) {
		if (e.plen[i])
			memcpy(h, e.part[i], e.plen[i]);
		h += e.plen[i];
	}
	c->len += rlen;
	wal->append_lsn += rlen;
	wal->records++;
	*end_lsn = wal->append_lsn;
	port_mutex_unlock(&wal->lock);
	return 0;
}

u64 tdb_wal_append_lsn(struct tdb_wal *wal)
{
	u64 lsn;

	port_mutex_lock(&wal->lock);
	lsn = wal->append_lsn;
	port_mutex_unlock(&wal->lock);
	return lsn;
}

u64 tdb_wal_append_count(struct tdb_wal *wal)
{
	u64 n;

	port_mutex_lock(&wal->lock);
	n = wal->records;
	port_mutex_unlock(&wal->lock);
	return n;
}

u64 tdb_wal_disk_bytes(const struct tdb_wal *wal)
{
	return tdb_wal_written_lsn(wal) - READ_ONCE(wal->first_lsn) +
	       (u64)READ_ONCE(wal->nsegs) * TDB_WAL_SEG_HDR;
}

u64 tdb_wal_written_lsn(const struct tdb_wal *wal)
{
	return smp_load_acquire(&wal->written_lsn);
}

u64 tdb_wal_durable_lsn(const struct tdb_wal *wal)
{
	return smp_load_acquire(&wal->durable_lsn);
}

int tdb_wal_last_error(const struct tdb_wal *wal)
{
	return READ_ONCE(wal->last_err);
}

/* Reopens the last segment for appending after its end. */
static int wal_reopen(struct tdb_wal *wal, const struct lsnfile *s)
{
	u8 h[TDB_WAL_SEG_HDR];
	const char *why;
	s64 size;
	int err;

	err = port_file_open(wal->dir, s->name, 0, &wal->seg);
	if (err)
		return err;
	size = port_file_size(wal->seg);
	if (size < 0) {
		err = (int)size;
		goto close;
	}
	if (size < TDB_WAL_SEG_HDR) {
		why = "segment header truncated";
		err = -EBADMSG;
		goto bad;
	}
	size = port_file_pread(wal->seg, h, sizeof(h), 0);
	if (size < 0) {
		err = (int)size;
		goto close;
	}
	why = wal_check_seg_header(h, s->lsn, &err);
	if (why)
		goto bad;
	err = port_file_datasync(wal->seg);
	if (err)
		goto close;
	size = port_file_size(wal->seg);
	if (size < 0) {
		err = (int)size;
		goto close;
	}
	wal->seg_start = s->lsn;
	wal->written_lsn = s->lsn + (u64)size - TDB_WAL_SEG_HDR;
	return 0;
bad:
	port_log(PORT_LOG_ERR,
		 "log %s/%s: %s; replay the log before "
		 "opening it",
		 wal->dir, s->name, why);
close:
	port_file_close(wal->seg);
	wal->seg = NULL;
	return err;
}

int tdb_wal_open(const char *dir, const struct tdb_wal_opts *opts,
		 struct tdb_wal **out)
{
	struct lsnfile_list l;
	struct tdb_wal *wal;
	int err;

	wal = port_zalloc(sizeof(*wal));
	if (!wal)
		return -ENOMEM;
	wal->dir_size = strlen(dir) + 1;
	wal->dir = port_alloc(wal->dir_size);
	if (!wal->dir) {
		err = -ENOMEM;
		goto free_wal;
	}
	memcpy(wal->dir, dir, wal->dir_size);
	wal->seg_size = opts && opts->segment_size ? opts->segment_size :
						     TDB_WAL_SEGMENT_SIZE;
	wal->buffer_max = opts && opts->buffer_max ? opts->buffer_max :
						     TDB_WAL_BUFFER_MAX;
	if (wal->buffer_max < TDB_WAL_REC_HDR + TDB_WAL_PAYLOAD_MAX)
		wal->buffer_max = TDB_WAL_REC_HDR + TDB_WAL_PAYLOAD_MAX;
	port_mutex_init(&wal->lock);

	err = wal_list(dir, &l);
	if (err)
		goto free_dir;
	if (l.n) {
		wal->first_lsn = l.v[0].lsn;
		wal->nsegs = l.n;
		err = wal_reopen(wal, &l.v[l.n - 1]);
	} else {
		wal->first_lsn = opts ? opts->start_lsn : 0;
		wal->written_lsn = opts ? opts->start_lsn : 0;
		err = wal_seg_create(wal);
	}
	lsnfile_list_free(&l);
	if (err)
		goto free_dir;
	wal->durable_lsn = wal->written_lsn;
	wal->append_lsn = wal->written_lsn;
	*out = wal;
	return 0;
free_dir:
	port_mutex_destroy(&wal->lock);
	port_free(wal->dir, wal->dir_size);
free_wal:
	port_free(wal, sizeof(*wal));
	return err;
}

void tdb_wal_close(struct tdb_wal *wal)
{
	struct wal_chunk *c;

	if (!wal)
		return;
	while ((c = wal->head)) {
		wal->head = c->next;
		port_free(c, sizeof(*c) + c->cap);
	}
	port_file_close(wal->seg);
	port_mutex_destroy(&wal->lock);
	port_free(wal->dir, wal->dir_size);
	port_free(wal, sizeof(*wal));
}

int tdb_wal_truncate_before(struct tdb_wal *wal, u64 lsn)
{
	struct lsnfile_list l;
	int err, removed = 0;
	u32 i;

	err = wal_list(wal->dir, &l);
	if (err)
		return err;
	/* Segment i ends where i + 1 starts; the current one never goes. */
	for (i = 0; i + 1 < l.n; i++) {
		if (l.v[i + 1].lsn > lsn || l.v[i].lsn >= wal->seg_start)
			break;
		err = port_file_unlink(wal->dir, l.v[i].name);
		if (err && err != -ENOENT)
			break;
		err = 0;
		removed++;
	}
	if (removed) {
		WRITE_ONCE(wal->first_lsn, l.v[removed].lsn);
		WRITE_ONCE(wal->nsegs, wal->nsegs - removed);
	}
	lsnfile_list_free(&l);
	if (removed) {
		int e = port_dir_sync(wal->dir);

		if (!err)
			err = e;
	}
	return err ? err : removed;
}

/* Replay.  A segment is read through a window (readwin.h). */
struct wal_reader {
	const char *dir;
	struct lsnfile *seg;
	struct tdb_readwin w;
};

/* What a record check found: NULL if good; its header and length. */
struct wal_rec_view {
	const u8 *h;
	u32 len; /* payload */
	u64 lsn;
	u16 type;
};

/*
 * Checks the record at file offset @off, where LSN @lsn is expected.
 * Returns NULL (good, *@v filled) or the reason; *@err is set on an I/O
 * error, which is not the record's fault.
 */
static const char *wal_check_rec(struct wal_reader *r, u64 off, u64 lsn,
				 struct wal_rec_view *v, int *err)
{
	u64 remain = r->w.size - off;
	const u8 *h;
	u32 crc;

	*err = 0;
	if (remain < TDB_WAL_REC_HDR)
		return "record header cut short";
	*err = tdb_readwin_at(&r->w, off, TDB_WAL_REC_HDR, &h);
	if (*err)
		return "read error";
	v->len = get_le32(h + 4);
	v->lsn = get_le64(h + 8);
	v->type = get_le16(h + 16);
	if (v->len > TDB_WAL_PAYLOAD_MAX)
		return "bad record length";
	if (TDB_WAL_REC_HDR + (u64)v->len > remain)
		return "record cut short";
	*err = tdb_readwin_at(&r->w, off, TDB_WAL_REC_HDR + v->len, &h);
	if (*err)
		return "read error";
	v->h = h;
	crc = wal_crc(~0U, h + TDB_WAL_REC_HDR, v->len);
	if (get_le32(h) != ~wal_crc(crc, h + 4, TDB_WAL_REC_HDR - 4))
		return "bad record CRC";
	if (v->lsn != lsn)
		return "record LSN does not match its position";
	return NULL;
}

/*
 * Whether a valid record starts anywhere after @off: what tells a torn
 * tail (nothing valid follows) from a damaged record in the middle.  A
 * record's LSN must equal its position, so candidates are cheap to
 * reject.  Runs only when something is already wrong.
 */
static int wal_valid_after(struct wal_reader *r, u64 off, bool *found)
{
	u64 start = r->seg->lsn - TDB_WAL_SEG_HDR; /* LSN = start + off */
	struct wal_rec_view v;
	const u8 *h;
	int err;

	*found = false;
	for (off++; off + TDB_WAL_REC_HDR <= r->w.size; off++) {
		err = tdb_readwin_at(&r->w, off, TDB_WAL_REC_HDR, &h);
		if (err)
			return err;
		if (get_le64(h + 8) != start + off)
			continue;
		if (!wal_check_rec(r, off, start + off, &v, &err)) {
			*found = true;
			return 0;
		}
		if (err)
			return err;
	}
	return 0;
}

static void wal_report_problem(struct tdb_wal_report *rep,
			       const struct lsnfile *s, u64 off,
			       const char *why, u32 damage)
{
	rep->damage = damage;
	memcpy(rep->file, s->name, TDB_WAL_FILE_NAME_LEN);
	rep->offset = off;
	rep->lsn = s->lsn + (off > TDB_WAL_SEG_HDR ? off - TDB_WAL_SEG_HDR : 0);
	rep->reason = why;
}

/* Size of a segment file, for the report of what was removed. */
static s64 wal_file_size(const char *dir, const char *name)
{
	struct port_file *f;
	s64 size;
	int err = port_file_open(dir, name, 0, &f);

	if (err)
		return err;
	size = port_file_size(f);
	port_file_close(f);
	return size;
}

/*
 * Cuts the log at @off of segment @i: truncates it (or removes it when
 * its header is bad) and removes every later segment.
 */
static int wal_cut(struct wal_reader *r, struct lsnfile_list *l, u32 i, u64 off,
		   struct tdb_wal_report *rep)
{
	int err;
	u32 j;

	if (off < TDB_WAL_SEG_HDR) {
		port_file_close(r->w.f);
		r->w.f = NULL;
		err = port_file_unlink(r->dir, l->v[i].name);
		if (err)
			return err;
		rep->dropped_segments++;
		rep->dropped_bytes += r->w.size;
	} else {
		err = port_file_truncate(r->w.f, off);
		if (!err)
			err = port_file_datasync(r->w.f);
		if (err)
			return err;
		rep->dropped_bytes += r->w.size - off;
	}
	for (j = i + 1; j < l->n; j++) {
		s64 size = wal_file_size(r->dir, l->v[j].name);

		err = port_file_unlink(r->dir, l->v[j].name);
		if (err)
			return err;
		rep->dropped_segments++;
		if (size > 0)
			rep->dropped_bytes += (u64)size;
	}
	return port_dir_sync(r->dir);
}

/*
 * Something is wrong at @off of segment @i.  Decides between a torn tail
 * (cut, 0), an accepted loss (cut, 0) and corruption (-EBADMSG).
 */
static int wal_damage(struct wal_reader *r, struct lsnfile_list *l, u32 i,
		      u64 off, const char *why, unsigned int flags,
		      struct tdb_wal_report *rep)
{
	bool last = i + 1 == l->n, found = true;
	int err;

	if (last) {
		if (off < TDB_WAL_SEG_HDR)
			found = r->w.size > TDB_WAL_SEG_HDR;
		else if ((err = wal_valid_after(r, off, &found)))
			return err;
	}
	if (!found) {
		wal_report_problem(rep, &l->v[i], off, why, TDB_WAL_TORN);
		err = wal_cut(r, l, i, off, rep);
		if (err)
			return err;
		port_log(PORT_LOG_WARN,
			 "log %s/%s: torn tail at offset %llu "
			 "(%s): %llu bytes dropped",
			 r->dir, l->v[i].name, (unsigned long long)off, why,
			 (unsigned long long)rep->dropped_bytes);
		return 0;
	}
	if (flags & TDB_WAL_ACCEPT_LOSS) {
		wal_report_problem(rep, &l->v[i], off, why, TDB_WAL_LOST);
		err = wal_cut(r, l, i, off, rep);
		if (err)
			return err;
		port_log(PORT_LOG_WARN,
			 "log %s/%s: corrupt at offset %llu "
			 "(%s); loss accepted: %llu bytes dropped, the rest "
			 "of the log from there (%u whole segment(s))",
			 r->dir, l->v[i].name, (unsigned long long)off, why,
			 (unsigned long long)rep->dropped_bytes,
			 rep->dropped_segments);
		return 0;
	}
	wal_report_problem(rep, &l->v[i], off, why, TDB_WAL_CORRUPT);
	port_log(PORT_LOG_ERR, "log %s/%s: corrupt at offset %llu: %s", r->dir,
		 l->v[i].name, (unsigned long long)off, why);
	return -EBADMSG;
}

/*
 * Reads segment @i from its header on.  Returns 0 with *@end set to the
 * end of its valid records, 1 when the log was cut there (stop), or
 * -errno.
 */
static int wal_replay_seg(struct wal_reader *r, struct lsnfile_list *l, u32 i,
			  u64 from_lsn, unsigned int flags,
			  tdb_wal_replay_fn fn, void *arg,
			  struct tdb_wal_report *rep, u64 *end)
{
	char name[TDB_NAME_MAX], name2[TDB_NAME_MAX];
	struct lsnfile *s = &l->v[i];
	struct wal_rec_view v;
	struct tdb_wal_rec rec;
	const char *why;
	const u8 *h;
	u64 off, lsn;
	s64 size;
	int err;

	r->seg = s;
	size = port_file_size(r->w.f);
	if (size < 0)
		return (int)size;
	r->w.size = (u64)size;
	tdb_readwin_reset(&r->w);
	if (r->w.size < TDB_WAL_SEG_HDR) {
		why = "segment header cut short";
		goto damage_hdr;
	}
	err = tdb_readwin_at(&r->w, 0, TDB_WAL_SEG_HDR, &h);
	if (err)
		return err;
	why = wal_check_seg_header(h, s->lsn, &err);
	if (err == -EPROTONOSUPPORT) {
		wal_report_problem(rep, s, 0, why, TDB_WAL_CORRUPT);
		port_log(PORT_LOG_ERR,
			 "log %s/%s: format version %u, this "
			 "build reads version %u",
			 r->dir, s->name, get_le32(h + 4), TDB_WAL_VERSION);
		return err;
	}
	if (why)
		goto damage_hdr;

	/*
	 * Records before @from_lsn are covered by the checkpoint: they are
	 * not read, so that damage there costs nothing after it.  @from_lsn
	 * is a record boundary (an append position).
	 */
	off = TDB_WAL_SEG_HDR;
	if (from_lsn > s->lsn)
		off += from_lsn - s->lsn < r->w.size - TDB_WAL_SEG_HDR ?
			       from_lsn - s->lsn :
			       r->w.size - TDB_WAL_SEG_HDR;
	for (; off < r->w.size; off += TDB_WAL_REC_HDR + v.len) {
		lsn = s->lsn + off - TDB_WAL_SEG_HDR;
		why = wal_check_rec(r, off, lsn, &v, &err);
		if (err)
			return err;
		if (!why)
			why = wal_decode(v.type, v.h + TDB_WAL_REC_HDR, v.len,
					 &rec, name, name2);
		if (why) {
			err = wal_damage(r, l, i, off, why, flags, rep);
			*end = lsn;
			return err ? err : 1;
		}
		if (lsn < from_lsn)
			continue;
		err = fn(arg, &rec, lsn, lsn + TDB_WAL_REC_HDR + v.len);
		if (err)
			return err;
		rep->records++;
	}
	*end = s->lsn + r->w.size - TDB_WAL_SEG_HDR;
	return 0;
damage_hdr:
	err = wal_damage(r, l, i, 0, why, flags, rep);
	*end = s->lsn;
	return err ? err : 1;
}

int tdb_wal_replay(const char *dir, u64 from_lsn, unsigned int flags,
		   tdb_wal_replay_fn fn, void *arg, struct tdb_wal_report *rep)
{
	struct wal_reader r = { .dir = dir };
	struct lsnfile_list l;
	bool first = true;
	u64 end = from_lsn;
	int err;
	u32 i;

	memset(rep, 0, sizeof(*rep));
	rep->end_lsn = from_lsn;
	err = wal_list(dir, &l);
	if (err) {
		port_log(PORT_LOG_ERR, "log directory %s: error %d", dir, err);
		return err;
	}
	r.w.buf = port_alloc(WAL_READ_WINDOW);
	r.w.cap = WAL_READ_WINDOW;
	if (!r.w.buf) {
		err = -ENOMEM;
		goto free_list;
	}
	for (i = 0; i < l.n; i++) {
		struct lsnfile *s = &l.v[i];

		/* Wholly before the start: a checkpoint holds all of it. */
		if (i + 1 < l.n && l.v[i + 1].lsn <= from_lsn)
			continue;
		if (first ? s->lsn > from_lsn : s->lsn != end) {
			/*
			 * Records between @end and this segment are missing;
			 * no cut can mend a hole in the middle.
			 */
			wal_report_problem(rep, s, 0,
					   first ? "segments before the replay "
						   "start are missing" :
						   "gap between segments",
					   TDB_WAL_CORRUPT);
			port_log(PORT_LOG_ERR,
				 "log %s/%s: %s (expected LSN "
				 "%llu)",
				 dir, s->name, rep->reason,
				 (unsigned long long)end);
			err = -EBADMSG;
			break;
		}
		first = false;
		err = port_file_open(dir, s->name, 0, &r.w.f);
		if (err) {
			port_log(PORT_LOG_ERR, "log %s/%s: open: error %d", dir,
				 s->name, err);
			break;
		}
		rep->segments++;
		err = wal_replay_seg(&r, &l, i, from_lsn, flags, fn, arg, rep,
				     &end);
		port_file_close(r.w.f);
		r.w.f = NULL;
		if (err)
			break;
	}
	if (err >= 0) {
		err = 0;
		rep->end_lsn = end;
	}
	port_free(r.w.buf, WAL_READ_WINDOW);
free_list:
	lsnfile_list_free(&l);
	return err;
}
