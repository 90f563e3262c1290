// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * scan.c - scan cursors.  Each TDB_CMD_SCAN request carries the table, the
 * cursor of the previous page (none for the first) and a page size of
 * about one frame; each response carries records (nested KEY, VALUE, with
 * large values continued in further nests: tdb/proto.h, Values), the next
 * cursor and, on the last page, TDB_A_DONE.  A page is copied out of
 * the connection's RX buffer, so the records handed out stay valid while
 * other calls use the connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What the owner grants at most (core/exec.h). */
#define SCAN_PAGE_SLACK 512U

struct tdb_scan {
	struct tdb *db;
	struct tdb_scan *next;		/* db->scans */
	char table[TDB_NAME_MAX];
	uint8_t *cursor;
	size_t cursor_len;
	bool done;			/* the owner sent its last page */
	int err;			/* sticky */

	uint8_t *vbuf;			/* a value joined from chunks */
	size_t vbuf_cap;
	uint8_t *page;			/* the last response, copied */
	size_t page_len, page_cap;
	size_t pos;			/* next attribute to look at */
};

static void scan_unlink(struct tdb_scan *s)
{
	struct tdb_scan **pp;

	for (pp = &s->db->scans; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			return;
		}
	}
}

static void scan_destroy(struct tdb_scan *s)
{
	free(s->cursor);
	free(s->vbuf);
	free(s->page);
	free(s);
}

void scan_detach_all(struct tdb *db)
{
	while (db->scans) {
		struct tdb_scan *s = db->scans;

		db->scans = s->next;
		scan_destroy(s);
	}
}

/*
 * Checks one RECORD nest: every attribute well-formed and filling the nest
 * exactly, at most one KEY, and VALUE chunks in a row.  Sets *@key (NULL
 * for a continuation nest) and adds the nest's value bytes to *@vlen.
 */
static int rec_check(const struct nlattr *nest, const struct nlattr **key,
		     size_t *vlen)
{
	const uint8_t *p = mnl_attr_get_payload(nest);
	size_t len = mnl_attr_get_payload_len(nest), off = 0;
	unsigned int chunks = 0;
	bool in_value = false;

	*key = NULL;
	while (off < len) {
		const struct nlattr *a = (const struct nlattr *)(p + off);

		if (len - off < MNL_ATTR_HDRLEN || a->nla_len < MNL_ATTR_HDRLEN ||
		    a->nla_len > len - off || msg_attr_valid(a))
			return -EPROTO;
		switch (mnl_attr_get_type(a)) {
		case TDB_A_KEY:
			if (*key)
				return -EPROTO;
			*key = a;
			in_value = false;
			break;
		case TDB_A_VALUE:
			if (chunks && !in_value)
				return -EPROTO;
			*vlen += mnl_attr_get_payload_len(a);
			chunks++;
			in_value = true;
			break;
		default:
			in_value = false;
		}
		off += MNL_ALIGN(a->nla_len);
	}
	return chunks ? 0 : -EPROTO;
}

/*
 * Checks every record of a page before any is handed out: a record is a
 * RECORD nest with KEY and VALUE chunks, then any number of RECORD nests
 * right after it with further VALUE chunks and no KEY (tdb/proto.h,
 * Values).  Returns the number of records or -EPROTO.
 */
static long page_check(const struct nlmsghdr *nlh)
{
	const struct nlattr *attr, *key;
	bool after_record = false;
	size_t vlen = 0;
	long records = 0;

	mnl_attr_for_each(attr, nlh, sizeof(struct tdb_genlhdr)) {
		if (mnl_attr_get_type(attr) != TDB_A_RECORD) {
			after_record = false;
			continue;
		}
		if (after_record) {
			size_t more = 0;

			if (rec_check(attr, &key, &more))
				return -EPROTO;
			if (!key) {
				vlen += more;
				if (vlen > TDB_VAL_MAX)
					return -EPROTO;
				continue;
			}
			vlen = more;
		} else {
			vlen = 0;
			if (rec_check(attr, &key, &vlen) || !key)
				return -EPROTO;
		}
		after_record = true;
		records++;
	}
	return records;
}

/* Asks for the next page and keeps it in s->page.  0 or -errno. */
static int scan_fetch(struct tdb_scan *s)
{
	struct tdb *db = s->db;
	uint32_t page_bytes = db->frame_size - TDB_FRAME_HDR_SIZE;
	struct nlmsghdr *nlh;
	struct msg_attrs a;
	long records;
	int err;

	err = conn_usable(db);
	if (err)
		return err;
	page_bytes = page_bytes > 2 * SCAN_PAGE_SLACK ?
			     page_bytes - SCAN_PAGE_SLACK : page_bytes / 2;
	if (page_bytes > TDB_SCAN_MAX_BYTES)
		page_bytes = TDB_SCAN_MAX_BYTES;
	nlh = sync_start(db, TDB_CMD_SCAN,
			 msg_size(s->table, 0, (size_t)-1,
				  MNL_ATTR_HDRLEN + MNL_ALIGN(s->cursor_len) +
					  2 * (MNL_ATTR_HDRLEN + 4)));
	if (!nlh)
		return -ENOMEM;
	msg_put_table(nlh, s->table);
	if (s->cursor)
		mnl_attr_put(nlh, TDB_A_CURSOR, s->cursor_len, s->cursor);
	mnl_attr_put_u32(nlh, TDB_A_MAX_RECORDS, TDB_SCAN_MAX_RECORDS);
	mnl_attr_put_u32(nlh, TDB_A_MAX_BYTES, page_bytes);
	err = sync_call(db, &a);
	if (err)
		return err;
	if (a.status)
		return a.status;
	records = page_check(a.nlh);
	if (records < 0)
		goto bad;

	if (a.tb[TDB_A_DONE]) {
		s->done = true;
	} else {
		const void *c;
		size_t clen;
		bool moved;

		if (!a.tb[TDB_A_CURSOR])
			goto bad;
		c = mnl_attr_get_payload(a.tb[TDB_A_CURSOR]);
		clen = mnl_attr_get_payload_len(a.tb[TDB_A_CURSOR]);
		moved = !s->cursor || clen != s->cursor_len ||
			memcmp(c, s->cursor, clen);
		/* No record, no progress: the owner would loop us forever. */
		if (!records && !moved)
			goto bad;
		if (moved) {
			void *nc = malloc(clen ? clen : 1);

			if (!nc)
				return -ENOMEM;
			memcpy(nc, c, clen);
			free(s->cursor);
			s->cursor = nc;
			s->cursor_len = clen;
		}
	}

	if (a.nlh->nlmsg_len > s->page_cap) {
		void *np = realloc(s->page, a.nlh->nlmsg_len);

		if (!np)
			return -ENOMEM;
		s->page = np;
		s->page_cap = a.nlh->nlmsg_len;
	}
	memcpy(s->page, a.nlh, a.nlh->nlmsg_len);
	s->page_len = a.nlh->nlmsg_len;
	s->pos = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct tdb_genlhdr));
	return 0;
bad:
	return conn_fail(db, -EPROTO);
}

/* Appends the VALUE chunks of @nest to the scan's value buffer. */
static int value_append(struct tdb_scan *s, const struct nlattr *nest,
			size_t *len)
{
	const struct nlattr *in;

	mnl_attr_for_each_nested(in, nest) {
		size_t n = mnl_attr_get_payload_len(in);

		if (mnl_attr_get_type(in) != TDB_A_VALUE)
			continue;
		if (*len + n > s->vbuf_cap) {
			size_t cap = s->vbuf_cap ? s->vbuf_cap : 65536;
			void *nb;

			while (cap < *len + n)
				cap *= 2;
			nb = realloc(s->vbuf, cap);
			if (!nb)
				return -ENOMEM;
			s->vbuf = nb;
			s->vbuf_cap = cap;
		}
		memcpy(s->vbuf + *len, mnl_attr_get_payload(in), n);
		*len += n;
	}
	return 0;
}

/*
 * Hands out the record starting at the RECORD nest @attr (checked by
 * page_check()), with the continuation nests after it; s->pos moves past
 * them all.  Its value points into the page when it is one chunk, into
 * s->vbuf when it had to be joined.
 */
static int record_take(struct tdb_scan *s, const struct nlattr *attr,
		       const void **key, size_t *klen, const void **val,
		       size_t *vlen)
{
	const struct nlattr *in, *first = NULL;
	unsigned int chunks = 0;
	size_t end = s->pos, len = 0;
	int err;

	mnl_attr_for_each_nested(in, attr) {
		if (mnl_attr_get_type(in) == TDB_A_KEY) {
			*key = mnl_attr_get_payload(in);
			*klen = mnl_attr_get_payload_len(in);
		} else if (mnl_attr_get_type(in) == TDB_A_VALUE) {
			if (!first)
				first = in;
			chunks++;
		}
	}
	/* Continuation nests: RECORDs without a KEY right after it. */
	while (end + MNL_ATTR_HDRLEN <= s->page_len) {
		const struct nlattr *next =
			(const struct nlattr *)(s->page + end);
		unsigned int more = 0;
		bool has_key = false;

		if (mnl_attr_get_type(next) != TDB_A_RECORD)
			break;
		mnl_attr_for_each_nested(in, next) {
			if (mnl_attr_get_type(in) == TDB_A_KEY)
				has_key = true;
			else if (mnl_attr_get_type(in) == TDB_A_VALUE)
				more++;
		}
		if (has_key)
			break;	/* the next record */
		chunks += more;
		end += MNL_ALIGN(next->nla_len);
	}
	if (chunks == 1) {
		*val = mnl_attr_get_payload(first);
		*vlen = mnl_attr_get_payload_len(first);
		return 0;
	}
	err = value_append(s, attr, &len);
	for (size_t off = s->pos; !err && off < end;) {
		const struct nlattr *next =
			(const struct nlattr *)(s->page + off);

		err = value_append(s, next, &len);
		off += MNL_ALIGN(next->nla_len);
	}
	if (err)
		return err;
	s->pos = end;
	*val = s->vbuf;
	*vlen = len;
	return 0;
}

TDB_EXPORT int tdb_scan_open(struct tdb *db, const char *table,
			     struct tdb_scan **out)
{
	struct tdb_scan *s;
	int err;

	*out = NULL;
	err = msg_check_call(db, table);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->db = db;
	strcpy(s->table, table);
	/* The first page now, so that a missing table shows at once. */
	err = scan_fetch(s);
	if (err) {
		scan_destroy(s);
		return err;
	}
	s->next = db->scans;
	db->scans = s;
	*out = s;
	return 0;
}

TDB_EXPORT int tdb_scan_next(struct tdb_scan *s, const void **key,
			     size_t *klen, const void **val, size_t *vlen)
{
	int err;

	if (s->err)
		return s->err;
	for (;;) {
		while (s->pos + MNL_ATTR_HDRLEN <= s->page_len) {
			const struct nlattr *attr =
				(const struct nlattr *)(s->page + s->pos);

			s->pos += MNL_ALIGN(attr->nla_len);
			if (mnl_attr_get_type(attr) != TDB_A_RECORD)
				continue;
			err = record_take(s, attr, key, klen, val, vlen);
			if (err) {
				s->err = err;
				return err;
			}
			return 1;
		}
		s->page_len = 0;
		s->pos = 0;
		if (s->done)
			return 0;
		err = scan_fetch(s);
		if (err) {
			s->err = err;
			return err;
		}
	}
}

TDB_EXPORT void tdb_scan_close(struct tdb_scan *s)
{
	if (!s)
		return;
	scan_unlink(s);
	scan_destroy(s);
}
