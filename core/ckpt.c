// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ckpt.c - fuzzy checkpoints.  The on-disk format and the rules are in
 * ckpt.h; this file explains how the code keeps them.
 *
 * Decisions recorded here:
 *  - The writer copies records into a block buffer inside the scan's RCU
 *    section and writes the block outside it: the scan callback stops
 *    before the record that does not fit, the block goes to disk, and the
 *    scan resumes from its cursor.  No lock is held while the disk works.
 *  - The loader reads the file through a window of CKPT_WINDOW bytes, so
 *    that several blocks cost one pread, checks each block with one CRC,
 *    and puts records straight from the window into their table: nothing
 *    is allocated per record but the record itself.
 *  - Each TABLE entry carries the table's hash key and record count, and
 *    the loader creates the table with both (tdb_table_create_keyed), so
 *    that its index is sized once and its records, which the writer's
 *    scan listed in index order, are appended rather than inserted
 *    (tdb_table_load).  A checkpoint without a key, or whose records are
 *    out of that order, loads as well, through ordinary inserts.
 *  - A checkpoint that fails half-way through loading leaves tables
 *    behind; they are dropped before anything else is tried or returned,
 *    so that no caller can mistake a partial load for a whole one.
 */
#include "ckpt.h"
#include "le.h"
#include "readwin.h"
#include "lsnfile.h"

/* The load window: it must hold the largest block whole. */
#define CKPT_WINDOW (4U << 20)
#define CKPT_BUF_SIZE (TDB_CKPT_BLOCK_HDR + TDB_CKPT_BLOCK_MAX)

/*
 * Checkpoint files are "ckpt-%016llx.ckp", or ".tmp" for a writer that did
 * not finish (lsnfile.h); the index into ckpt_file_ext is a listed file's
 * kind.
 */
#define CKPT_FILE_PREFIX "ckpt-"
#define CKPT_EXT_CKP 0
#define CKPT_EXT_TMP 1
static const char *const ckpt_file_ext[] = {
	[CKPT_EXT_CKP] = ".ckp",
	[CKPT_EXT_TMP] = ".tmp",
};

static void ckpt_file_name(char *buf, u64 lsn, u32 ext)
{
	lsnfile_name(buf, CKPT_FILE_PREFIX, lsn, ckpt_file_ext[ext]);
}

static void ckpt_header(u8 *h, u64 start_lsn, u64 time)
{
	put_le32(h, TDB_CKPT_MAGIC);
	put_le32(h + 4, TDB_CKPT_VERSION);
	put_le64(h + 8, start_lsn);
	put_le64(h + 16, time);
	put_le32(h + 24, 0);
	put_le32(h + 28, ~port_crc32c(~0U, h, 28));
}

/* The CRC of a block: its header after the CRC field, then its payload. */
static u32 ckpt_block_crc(const u8 *h, const u8 *payload, u32 len)
{
	return ~port_crc32c(port_crc32c(~0U, h + 4, TDB_CKPT_BLOCK_HDR - 4),
			    payload, len);
}

/* Checkpoint files of a directory, sorted by start LSN. */
static int ckpt_list(const char *dir, struct lsnfile_list *l)
{
	return lsnfile_list(dir, CKPT_FILE_PREFIX, ckpt_file_ext,
			    ARRAY_SIZE(ckpt_file_ext), l);
}

/*
 * The writer.  @buf holds the block being filled: its header, then @used
 * bytes of payload.  It has room for the largest record after an empty
 * payload, which is how a record larger than a block gets one of its own.
 */
struct ckpt_writer {
	struct port_file *f;
	u8 *buf; /* CKPT_BUF_SIZE bytes */
	u32 used; /* payload bytes in @buf */
	u64 off; /* file offset of the next block */
	u64 tables, records;
	struct tdb_cursor cursor; /* large: not on the stack */
};

/* Writes the block being filled, if it holds anything. */
static int ckpt_flush(struct ckpt_writer *w)
{
	u8 *h = w->buf;
	u32 n = w->used;
	int err;

	if (!n)
		return 0;
	put_le32(h + 4, n);
	put_le64(h + 8, w->off);
	put_le32(h, ckpt_block_crc(h, h + TDB_CKPT_BLOCK_HDR, n));
	err = port_file_pwrite(w->f, h, TDB_CKPT_BLOCK_HDR + n, w->off);
	if (err)
		return err;
	w->off += TDB_CKPT_BLOCK_HDR + n;
	w->used = 0;
	return 0;
}

/*
 * @n bytes of payload for a small entry, flushing the block first when
 * they would take it past the block size.  Sleeps: not under RCU.
 */
static int ckpt_reserve(struct ckpt_writer *w, u32 n, u8 **p)
{
	int err;

	if (w->used + n > TDB_CKPT_BLOCK_SIZE) {
		err = ckpt_flush(w);
		if (err)
			return err;
	}
	*p = w->buf + TDB_CKPT_BLOCK_HDR + w->used;
	w->used += n;
	return 0;
}

static int ckpt_put_table(struct ckpt_writer *w, struct tdb_table *t,
			  const char *name, u32 flags)
{
	u32 nlen = (u32)strlen(name);
	struct tdb_table_stats st;
	struct tdb_table_opts o;
	struct port_hash_key hk;
	u8 *p;
	int err;

	tdb_table_opts(t, &o);
	tdb_table_stats(t, &st);
	tdb_table_hash_key(t, &hk);
	err = ckpt_reserve(w, TDB_CKPT_TABLE_FIXED + nlen + o.schema_len, &p);
	if (err)
		return err;
	p[0] = TDB_CKPT_TABLE;
	p[1] = (u8)nlen;
	memcpy(p + 2, name, nlen);
	p += 2 + nlen;
	put_le64(p, o.quota);
	put_le32(p + 8, o.uid);
	put_le32(p + 12, o.gid);
	put_le32(p + 16, o.mode);
	put_le32(p + 20, o.key_type);
	put_le32(p + 24, o.durability);
	put_le64(p + 28, st.records);
	/* So that the load can append: see tdb_table_create_keyed(). */
	put_le64(p + 36, hk.k[0]);
	put_le64(p + 44, hk.k[1]);
	put_le32(p + 52, flags);
	put_le16(p + 56, (u16)o.schema_len);
	if (o.schema_len)
		memcpy(p + 58, o.schema, o.schema_len);
	w->tables++;
	return 0;
}

/*
 * Scan callback, under RCU: copies one record into the block, or stops
 * the scan before it (1) when the block is full.  Never sleeps.
 */
static int ckpt_put_rec(void *arg, const struct tdb_rec *r)
{
	struct ckpt_writer *w = arg;
	u32 klen = tdb_rec_klen(r), vlen = tdb_rec_vlen(r);
	u32 n = TDB_CKPT_REC_FIXED + klen + vlen;
	u8 *p;

	if (w->used + n > TDB_CKPT_BLOCK_SIZE && w->used)
		return 1;
	p = w->buf + TDB_CKPT_BLOCK_HDR + w->used;
	p[0] = TDB_CKPT_RECORD;
	put_le16(p + 1, (u16)klen);
	put_le32(p + 3, vlen);
	memcpy(p + TDB_CKPT_REC_FIXED, tdb_rec_key(r), klen);
	memcpy(p + TDB_CKPT_REC_FIXED + klen, tdb_rec_val(r), vlen);
	w->used += n;
	w->records++;
	return 0;
}

/* Writes one table: its TABLE entry, then every record a scan finds. */
static int ckpt_write_table(struct ckpt_writer *w, struct tdb_table *t,
			    const char *name, u32 flags)
{
	int ret;

	/* Writes logged before the start LSN are now visible to the scan. */
	tdb_table_quiesce(t);
	ret = ckpt_put_table(w, t, name, flags);
	if (ret)
		return ret;
	tdb_cursor_init(&w->cursor);
	for (;;) {
		ret = tdb_table_scan(t, &w->cursor, ckpt_put_rec, w);
		if (ret <= 0)
			return ret;
		/* The block is full: write it outside RCU, then go on. */
		ret = ckpt_flush(w);
		if (ret)
			return ret;
	}
}

static int ckpt_put_end(struct ckpt_writer *w)
{
	u8 *p;
	int err = ckpt_reserve(w, TDB_CKPT_END_LEN, &p);

	if (err)
		return err;
	p[0] = TDB_CKPT_END;
	put_le64(p + 1, w->tables);
	put_le64(p + 9, w->records);
	return ckpt_flush(w);
}

/*
 * The tables to write, held so that they outlive the listing, with the
 * names and flags they had then: a bulk load's commit renames its staging
 * table and clears its staging flag while the checkpoint runs, and the
 * file must hold one registry's names, each with its own flags (a '~'
 * name without the staging flag would not load).
 */
struct ckpt_table {
	struct tdb_table *t;
	char name[TDB_NAME_MAX];
	u32 flags;
};

struct ckpt_tables {
	struct ckpt_table *v;
	u32 n, cap;
};

static int ckpt_hold_table(void *arg, struct tdb_table *t)
{
	struct ckpt_tables *l = arg;
	struct tdb_table_opts o;
	u32 i;

	tdb_table_opts(t, &o);
	if (o.durability == TDB_DUR_MEMORY)
		return 0;
	/*
	 * A name twice would make the checkpoint unloadable.  The walk runs
	 * under the registry lock, which holds one table per name; should
	 * that ever change, the first met (the newest) is kept.
	 */
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, tdb_table_name(t)))
			return 0;
	if (l->n == l->cap)
		return 1;
	tdb_table_hold(t);
	l->v[l->n].t = t;
	strcpy(l->v[l->n].name, tdb_table_name(t));
	l->v[l->n].flags = o.flags;
	l->n++;
	return 0;
}

static void ckpt_release_tables(struct ckpt_tables *l)
{
	while (l->n)
		tdb_table_release(l->v[--l->n].t);
	port_free(l->v, l->cap * sizeof(*l->v));
	l->v = NULL;
	l->cap = 0;
}

/*
 * Holds every logged table of @db.  The array is sized outside RCU (the
 * allocation may sleep in the kernel); tables created meanwhile can
 * outgrow it, and then the listing starts again with more room.
 */
static int ckpt_hold_tables(struct tdb_db *db, struct ckpt_tables *l)
{
	u32 cap = READ_ONCE(db->ntables) + 8;

	for (;;) {
		l->v = port_alloc(cap * sizeof(*l->v));
		if (!l->v)
			return -ENOMEM;
		l->n = 0;
		l->cap = cap;
		if (!tdb_db_snapshot(db, ckpt_hold_table, l))
			return 0;
		ckpt_release_tables(l);
		cap *= 2;
	}
}

/*
 * Writes the whole temporary file: header, tables, END.  Sets *@why to
 * the step that failed.
 */
static int ckpt_write_file(struct ckpt_writer *w, struct tdb_db *db,
			   u64 start_lsn, u64 time, const char **why)
{
	struct ckpt_tables l;
	u32 i;
	int err;

	ckpt_header(w->buf, start_lsn, time);
	*why = "write";
	err = port_file_pwrite(w->f, w->buf, TDB_CKPT_HDR, 0);
	if (err)
		return err;
	w->off = TDB_CKPT_HDR;

	/* Tables created before the start LSN are now in the registry. */
	tdb_db_quiesce(db);
	*why = "out of memory";
	err = ckpt_hold_tables(db, &l);
	if (err)
		return err;
	*why = "write";
	for (i = 0; i < l.n && !err; i++)
		err = ckpt_write_table(w, l.v[i].t, l.v[i].name, l.v[i].flags);
	ckpt_release_tables(&l);
	if (!err)
		err = ckpt_put_end(w);
	if (err)
		return err;
	*why = "sync";
	return port_file_datasync(w->f);
}

int tdb_ckpt_write(struct tdb_db *db, const char *dir, u64 start_lsn, u64 time,
		   int (*before_publish)(void *arg), void *arg,
		   struct tdb_ckpt_info *info)
{
	char tmp[TDB_CKPT_FILE_NAME_LEN];
	const char *why = "out of memory";
	struct ckpt_writer *w;
	int err;

	memset(info, 0, sizeof(*info));
	info->start_lsn = start_lsn;
	info->time = time;
	ckpt_file_name(info->file, start_lsn, CKPT_EXT_CKP);
	ckpt_file_name(tmp, start_lsn, CKPT_EXT_TMP);

	w = port_zalloc(sizeof(*w));
	if (!w)
		goto fail_nomem;
	w->buf = port_alloc(CKPT_BUF_SIZE);
	if (!w->buf) {
		port_free(w, sizeof(*w));
		goto fail_nomem;
	}
	/* TRUNC: a file of this name is an attempt that did not finish. */
	err = port_file_open(dir, tmp, PORT_F_CREATE | PORT_F_TRUNC, &w->f);
	if (err) {
		why = "create";
		goto free_writer;
	}
	err = ckpt_write_file(w, db, start_lsn, time, &why);
	port_file_close(w->f);
	if (!err && before_publish) {
		err = before_publish(arg);
		why = "publication refused";
	}
	if (!err) {
		err = port_file_rename(dir, tmp, info->file);
		why = "rename";
	}
	if (err) {
		port_file_unlink(dir, tmp);
		goto free_writer;
	}
	/*
	 * The checkpoint is complete and in place; if only its name fails
	 * to become durable, it stays (it is valid) but the error goes back
	 * so that the host does not drop the log before it.
	 */
	err = port_dir_sync(dir);
	why = "directory sync";
	if (!err) {
		info->tables = w->tables;
		info->records = w->records;
		info->bytes = w->off;
	}
free_writer:
	port_free(w->buf, CKPT_BUF_SIZE);
	port_free(w, sizeof(*w));
	if (err) {
		info->reason = why;
		port_log(PORT_LOG_ERR, "checkpoint %s/%s: %s: error %d", dir,
			 tmp, why, err);
	}
	return err;
fail_nomem:
	info->reason = why;
	return -ENOMEM;
}

/* Drops every table of @db; their memory comes back after RCU. */
static void ckpt_clear(struct tdb_db *db)
{
	char name[TDB_NAME_MAX];
	struct tdb_table *t;

	for (;;) {
		rcu_read_lock();
		t = rcu_dereference(db->tables);
		if (t)
			memcpy(name, tdb_table_name(t),
			       strlen(tdb_table_name(t)) + 1);
		rcu_read_unlock();
		if (!t)
			break;
		tdb_table_drop(db, name, NULL, NULL);
	}
}

/* Loading state of one file. */
struct ckpt_loader {
	struct tdb_db *db;
	struct tdb_table *t; /* held: the table being filled */
	u64 tables, records;
	u64 hint_left; /* records the hints may still claim */
	bool ended; /* the END entry was read */
	u64 bad_off; /* where the problem is */
	const char *why; /* and what it is */
};

/* Lets go of the table being filled, its records all loaded. */
static void ckpt_table_done(struct ckpt_loader *ld)
{
	if (!ld->t)
		return;
	tdb_table_load_end(ld->t);
	tdb_table_release(ld->t);
	ld->t = NULL;
}

/* Creates the table of a TABLE entry and makes it the one to fill. */
static int ckpt_load_table(struct ckpt_loader *ld, const u8 *p, u32 nlen)
{
	struct tdb_table_opts o;
	struct port_hash_key hk;
	char name[TDB_NAME_MAX];
	u64 hint;
	int err;

	if (!nlen || nlen >= TDB_NAME_MAX)
		goto bad_name;
	memcpy(name, p, nlen);
	name[nlen] = 0;
	if (strlen(name) != nlen)
		goto bad_name;
	p += nlen;
	o.quota = get_le64(p);
	o.uid = get_le32(p + 8);
	o.gid = get_le32(p + 12);
	o.mode = get_le32(p + 16);
	o.key_type = get_le32(p + 20);
	o.durability = get_le32(p + 24);
	o.flags = get_le32(p + 52);
	o.schema_len = get_le16(p + 56);
	o.schema = p + 58;
	if (!tdb_table_opts_valid(&o)) {
		ld->why = "bad table options";
		return -EBADMSG;
	}
	/*
	 * The hint sizes the index at once (16 bytes a bucket): CRC-valid
	 * lies must not claim, all tables together, more records than the
	 * file could hold.
	 */
	hint = get_le64(p + 28);
	if (hint > ld->hint_left)
		hint = ld->hint_left;
	ld->hint_left -= hint;
	hk.k[0] = get_le64(p + 36);
	hk.k[1] = get_le64(p + 44);
	err = tdb_table_create_keyed(ld->db, name, &o, &hk, hint);
	if (err == -EINVAL)
		goto bad_name;
	if (err == -EEXIST) {
		ld->why = "table appears twice";
		return -EBADMSG;
	}
	if (err)
		return err;
	ckpt_table_done(ld);
	rcu_read_lock();
	ld->t = tdb_table_find(ld->db, name);
	if (ld->t)
		tdb_table_hold(ld->t);
	rcu_read_unlock();
	/* Nobody else uses @db during recovery: the table is there. */
	if (!ld->t)
		return -ENOENT;
	ld->tables++;
	return 0;
bad_name:
	ld->why = "bad table name";
	return -EBADMSG;
}

/*
 * Applies the entries of one block whose CRC matched; @off is the file
 * offset of its payload.  0, -EBADMSG (ld->why and ld->bad_off say what
 * and where) or a table's error (-ENOMEM).
 */
static int ckpt_load_block(struct ckpt_loader *ld, const u8 *p, u32 len,
			   u64 off)
{
	const u8 *start = p, *end = p + len;
	u32 klen, vlen, rem;
	int err;

	while (p < end) {
		rem = (u32)(end - p);
		switch (p[0]) {
		case TDB_CKPT_RECORD:
			if (rem < TDB_CKPT_REC_FIXED) {
				ld->why = "record entry cut short";
				goto bad;
			}
			klen = get_le16(p + 1);
			vlen = get_le32(p + 3);
			if (!klen || klen > TDB_KEY_MAX || vlen > TDB_VAL_MAX) {
				ld->why = "bad record length";
				goto bad;
			}
			if (TDB_CKPT_REC_FIXED + klen + vlen > rem) {
				ld->why = "record entry runs past its block";
				goto bad;
			}
			if (unlikely(!ld->t)) {
				ld->why = "record before any table";
				goto bad;
			}
			p += TDB_CKPT_REC_FIXED;
			err = tdb_table_load(ld->t, p, klen, p + klen, vlen);
			if (err)
				return err;
			p += klen + vlen;
			ld->records++;
			break;
		case TDB_CKPT_TABLE:
			if (rem < TDB_CKPT_TABLE_FIXED ||
			    TDB_CKPT_TABLE_FIXED + p[1] > rem ||
			    TDB_CKPT_TABLE_FIXED + p[1] +
					    get_le16(p + p[1] + 58) > rem) {
				ld->why = "table entry cut short";
				goto bad;
			}
			err = ckpt_load_table(ld, p + 2, p[1]);
			if (err == -EBADMSG)
				goto bad;
			if (err)
				return err;
			p += TDB_CKPT_TABLE_FIXED + p[1] + get_le16(p + p[1] + 58);
			break;
		case TDB_CKPT_END:
			if (rem < TDB_CKPT_END_LEN) {
				ld->why = "end entry cut short";
				goto bad;
			}
			if (get_le64(p + 1) != ld->tables ||
			    get_le64(p + 9) != ld->records) {
				ld->why = "end entry counts do not match";
				goto bad;
			}
			p += TDB_CKPT_END_LEN;
			if (p != end) {
				ld->why = "data after the end entry";
				goto bad;
			}
			ld->ended = true;
			break;
		default:
			ld->why = "unknown entry type";
			goto bad;
		}
	}
	return 0;
bad:
	ld->bad_off = off + (u64)(p - start);
	return -EBADMSG;
}

/*
 * Checks the header of checkpoint @lsn.  NULL when it is good, else why
 * not; *@err is -EPROTONOSUPPORT for a version this code does not read.
 */
static const char *ckpt_check_header(const u8 *h, u64 lsn, int *err)
{
	*err = -EBADMSG;
	if (get_le32(h) != TDB_CKPT_MAGIC)
		return "bad checkpoint magic";
	if (get_le32(h + 28) != ~port_crc32c(~0U, h, 28))
		return "bad checkpoint header CRC";
	if (get_le32(h + 4) != TDB_CKPT_VERSION) {
		*err = -EPROTONOSUPPORT;
		return "unknown checkpoint format version";
	}
	if (get_le64(h + 8) != lsn)
		return "start LSN does not match the file name";
	*err = 0;
	return NULL;
}

/* Walks the blocks of an open checkpoint, applying them to @ld. */
static int ckpt_load_blocks(struct tdb_readwin *r, struct ckpt_loader *ld,
			    u64 lsn, struct tdb_ckpt_info *fi)
{
	const u8 *h;
	u64 off;
	u32 len;
	int err;

	if (r->size < TDB_CKPT_HDR) {
		ld->why = "header cut short";
		ld->bad_off = 0;
		return -EBADMSG;
	}
	err = tdb_readwin_at(r, 0, TDB_CKPT_HDR, &h);
	if (err)
		return err;
	ld->bad_off = 0;
	ld->why = ckpt_check_header(h, lsn, &err);
	if (err)
		return err;
	fi->time = get_le64(h + 16);

	for (off = TDB_CKPT_HDR; off < r->size;
	     off += TDB_CKPT_BLOCK_HDR + len) {
		ld->bad_off = off;
		if (ld->ended) {
			ld->why = "data after the end entry";
			return -EBADMSG;
		}
		if (r->size - off < TDB_CKPT_BLOCK_HDR) {
			ld->why = "block header cut short";
			return -EBADMSG;
		}
		err = tdb_readwin_at(r, off, TDB_CKPT_BLOCK_HDR, &h);
		if (err)
			return err;
		len = get_le32(h + 4);
		if (!len || len > TDB_CKPT_BLOCK_MAX) {
			ld->why = "bad block length";
			return -EBADMSG;
		}
		if (len > r->size - off - TDB_CKPT_BLOCK_HDR) {
			ld->why = "block cut short";
			return -EBADMSG;
		}
		err = tdb_readwin_at(r, off, TDB_CKPT_BLOCK_HDR + len, &h);
		if (err)
			return err;
		if (get_le32(h) !=
		    ckpt_block_crc(h, h + TDB_CKPT_BLOCK_HDR, len)) {
			ld->why = "bad block CRC";
			return -EBADMSG;
		}
		if (get_le64(h + 8) != off) {
			ld->why = "block offset does not match its position";
			return -EBADMSG;
		}
		err = ckpt_load_block(ld, h + TDB_CKPT_BLOCK_HDR, len,
				      off + TDB_CKPT_BLOCK_HDR);
		if (err)
			return err;
	}
	if (!ld->ended) {
		ld->bad_off = r->size;
		ld->why = "end entry missing";
		return -EBADMSG;
	}
	return 0;
}

/*
 * Loads checkpoint @lsn into @db and fills @fi.  On failure @db may hold
 * part of it; the caller clears it.
 */
static int ckpt_load_file(struct tdb_db *db, const char *dir, u64 lsn, u8 *buf,
			  struct tdb_ckpt_info *fi)
{
	struct tdb_readwin r = { .buf = buf, .cap = CKPT_WINDOW };
	struct ckpt_loader ld = { .db = db };
	s64 size;
	int err;

	memset(fi, 0, sizeof(*fi));
	fi->start_lsn = lsn;
	ckpt_file_name(fi->file, lsn, CKPT_EXT_CKP);
	err = port_file_open(dir, fi->file, 0, &r.f);
	if (err) {
		fi->reason = "open";
		return err;
	}
	size = port_file_size(r.f);
	if (size < 0) {
		err = (int)size;
		ld.why = "size";
		goto close;
	}
	r.size = (u64)size;
	ld.hint_left = r.size / (TDB_CKPT_REC_FIXED + 1);
	err = ckpt_load_blocks(&r, &ld, lsn, fi);
	if (err && err != -EBADMSG && err != -EPROTONOSUPPORT && !ld.why)
		ld.why = err == -ENOMEM ? "out of memory" : "read error";
close:
	ckpt_table_done(&ld);
	port_file_close(r.f);
	fi->bytes = r.size;
	fi->tables = ld.tables;
	fi->records = ld.records;
	if (err) {
		fi->offset = ld.bad_off;
		fi->reason = ld.why;
	}
	return err;
}

/* Removes unfinished checkpoint files: no .ckp name ever pointed at them. */
static void ckpt_remove_tmp(const char *dir, const struct lsnfile_list *l)
{
	char name[TDB_CKPT_FILE_NAME_LEN];
	bool removed = false;
	u32 i;
	int err;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].ext != CKPT_EXT_TMP)
			continue;
		ckpt_file_name(name, l->v[i].lsn, CKPT_EXT_TMP);
		err = port_file_unlink(dir, name);
		if (err && err != -ENOENT)
			port_log(PORT_LOG_WARN,
				 "checkpoint %s/%s: cannot remove: error %d",
				 dir, name, err);
		removed |= !err;
	}
	/* Not fatal: a .tmp that comes back is removed next time. */
	if (removed)
		port_dir_sync(dir);
}

int tdb_ckpt_load(struct tdb_db *db, const char *dir, unsigned int flags,
		  struct tdb_ckpt_info *info)
{
	struct lsnfile_list l;
	struct tdb_ckpt_info fi;
	u8 *buf;
	u32 i;
	int err;

	memset(info, 0, sizeof(*info));
	err = ckpt_list(dir, &l);
	if (err) {
		port_log(PORT_LOG_ERR, "checkpoint directory %s: error %d", dir,
			 err);
		return err;
	}
	ckpt_remove_tmp(dir, &l);
	buf = port_alloc(CKPT_WINDOW);
	if (!buf) {
		err = -ENOMEM;
		goto free_list;
	}
	for (i = l.n; i-- > 0;) {
		if (l.v[i].ext == CKPT_EXT_TMP)
			continue;
		err = ckpt_load_file(db, dir, l.v[i].lsn, buf, &fi);
		if (!err) {
			info->start_lsn = fi.start_lsn;
			info->time = fi.time;
			info->tables = fi.tables;
			info->records = fi.records;
			info->bytes = fi.bytes;
			memcpy(info->file, fi.file, sizeof(info->file));
			break;
		}
		ckpt_clear(db);
		if (err == -EBADMSG && flags & TDB_CKPT_ACCEPT_LOSS) {
			port_log(PORT_LOG_WARN,
				 "checkpoint %s/%s: corrupt at offset %llu "
				 "(%s); loss accepted: trying an older one",
				 dir, fi.file, (unsigned long long)fi.offset,
				 fi.reason);
			if (!info->nskipped++) {
				memcpy(info->skipped, fi.file,
				       sizeof(info->skipped));
				info->offset = fi.offset;
				info->reason = fi.reason;
			}
			/* Give the memory back before the next load needs it. */
			rcu_barrier();
			err = 0;
			continue;
		}
		port_log(PORT_LOG_ERR,
			 "checkpoint %s/%s: %s at offset %llu: %s (error %d)",
			 dir, fi.file,
			 err == -EBADMSG ? "corrupt" : "cannot load",
			 (unsigned long long)fi.offset, fi.reason, err);
		fi.nskipped = info->nskipped;
		memcpy(fi.skipped, info->skipped, sizeof(fi.skipped));
		*info = fi;
		break;
	}
	port_free(buf, CKPT_WINDOW);
free_list:
	lsnfile_list_free(&l);
	return err;
}

int tdb_ckpt_remove_before(const char *dir, u64 lsn)
{
	char name[TDB_CKPT_FILE_NAME_LEN];
	struct lsnfile_list l;
	int err, removed = 0;
	u32 i;

	err = ckpt_list(dir, &l);
	if (err)
		return err;
	for (i = 0; i < l.n && l.v[i].lsn < lsn; i++) {
		if (l.v[i].ext == CKPT_EXT_TMP)
			continue;
		ckpt_file_name(name, l.v[i].lsn, CKPT_EXT_CKP);
		err = port_file_unlink(dir, name);
		if (err && err != -ENOENT)
			break;
		err = 0;
		removed++;
	}
	lsnfile_list_free(&l);
	if (removed) {
		int e = port_dir_sync(dir);

		if (!err)
			err = e;
	}
	return err ? err : removed;
}
