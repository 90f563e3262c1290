// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * msg.c - building request messages and parsing responses: struct
 * nlmsghdr, struct tdb_genlhdr, then attributes, with libmnl.
 *
 * Large values.  An attribute's length is 16 bits, so a value longer than
 * TDB_VALUE_CHUNK bytes travels as several TDB_A_VALUE attributes in a
 * row, each at most TDB_VALUE_CHUNK bytes, whose payloads concatenated are
 * the value (tdb/proto.h, Values).  A value up to TDB_VALUE_CHUNK bytes
 * (the common case) is one attribute, as generic netlink would send it.
 *
 * Everything received is validated before use: the message header, the
 * command echoed, each attribute's length against its type, and the
 * status word first.  Anything else is -EPROTO.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

#define TDB_GENL_HDRLEN MNL_ALIGN(sizeof(struct tdb_genlhdr))

int msg_check_table(const char *table)
{
	size_t len;

	if (!table)
		return -EINVAL;
	len = strnlen(table, TDB_NAME_MAX);
	if (len == 0 || len >= TDB_NAME_MAX)
		return -EINVAL;
	return 0;
}

/* What every request naming @table checks first: the connection, the name. */
int msg_check_call(struct tdb *db, const char *table)
{
	int err = conn_usable(db);

	return err ? err : msg_check_table(table);
}

/* PUT takes no flag, or one of TDB_PUT_CREATE and TDB_PUT_REPLACE. */
int msg_check_put_flags(unsigned int flags)
{
	if (flags & ~(TDB_PUT_CREATE | TDB_PUT_REPLACE) ||
	    flags == (TDB_PUT_CREATE | TDB_PUT_REPLACE))
		return -EINVAL;
	return 0;
}

int msg_check_key(const void *key, size_t klen)
{
	if (klen == 0 || !key)
		return -EINVAL;
	if (klen > TDB_KEY_MAX)
		return -E2BIG;
	return 0;
}

int msg_check_value(const void *val, size_t vlen)
{
	if (vlen > TDB_VAL_MAX)
		return -E2BIG;
	if (vlen && !val)
		return -EINVAL;
	return 0;
}

size_t msg_value_size(size_t vlen)
{
	size_t chunks = vlen ? (vlen + TDB_VALUE_CHUNK - 1) / TDB_VALUE_CHUNK : 1;

	return chunks * MNL_ATTR_HDRLEN + MNL_ALIGN(vlen) + chunks * MNL_ALIGNTO;
}

/*
 * An upper bound of the bytes a message takes: headers, the table name,
 * a key of @klen bytes if non-zero, a value of @vlen bytes if not
 * (size_t)-1, and @extra bytes of other attributes.
 */
size_t msg_size(const char *table, size_t klen, size_t vlen, size_t extra)
{
	size_t n = MNL_NLMSG_HDRLEN + TDB_GENL_HDRLEN + extra;

	if (table)
		n += MNL_ATTR_HDRLEN + MNL_ALIGN(strlen(table) + 1);
	if (klen)
		n += MNL_ATTR_HDRLEN + MNL_ALIGN(klen);
	if (vlen != (size_t)-1)
		n += msg_value_size(vlen);
	return n;
}

struct nlmsghdr *msg_start(void *buf, uint8_t cmd, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tdb_genlhdr *g;

	nlh->nlmsg_type = TDB_MSG_TYPE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = TDB_PROTO_VERSION;
	return nlh;
}

void msg_put_table(struct nlmsghdr *nlh, const char *table)
{
	mnl_attr_put_strz(nlh, TDB_A_TABLE, table);
}

void msg_put_key(struct nlmsghdr *nlh, const void *key, size_t klen)
{
	mnl_attr_put(nlh, TDB_A_KEY, klen, key);
}

void msg_put_value(struct nlmsghdr *nlh, const void *val, size_t vlen)
{
	const uint8_t *p = val;

	do {
		size_t n = vlen < TDB_VALUE_CHUNK ? vlen : TDB_VALUE_CHUNK;

		mnl_attr_put(nlh, TDB_A_VALUE, n, p);
		p += n;
		vlen -= n;
	} while (vlen);
}

enum attr_kind { K_ANY, K_U32, K_U64, K_STR, K_FLAG, K_NEST, K_KEY };

static const unsigned char attr_kind[TDB_A_MAX + 1] = {
	[TDB_A_STATUS] = K_U32,
	[TDB_A_TABLE] = K_STR,
	[TDB_A_KEY] = K_KEY,
	[TDB_A_VALUE] = K_ANY,
	[TDB_A_FLAGS] = K_U32,
	[TDB_A_CURSOR] = K_ANY,
	[TDB_A_MAX_RECORDS] = K_U32,
	[TDB_A_MAX_BYTES] = K_U32,
	[TDB_A_RECORD] = K_NEST,
	[TDB_A_DONE] = K_FLAG,
	[TDB_A_QUOTA] = K_U64,
	[TDB_A_MODE] = K_U32,
	[TDB_A_UID] = K_U32,
	[TDB_A_GID] = K_U32,
	[TDB_A_KEY_TYPE] = K_U32,
	[TDB_A_DURABILITY] = K_U32,
	[TDB_A_RECORDS] = K_U64,
	[TDB_A_MEM_BYTES] = K_U64,
	[TDB_A_TABLE_ENTRY] = K_NEST,
	[TDB_A_CONNECTIONS] = K_U32,
	[TDB_A_TABLES] = K_U32,
	[TDB_A_REQUESTS] = K_U64,
	[TDB_A_MESSAGE] = K_STR,
	[TDB_A_LOG_LSN] = K_U64,
	[TDB_A_CKPT_TIME] = K_U64,
	[TDB_A_CKPT_LSN] = K_U64,
	[TDB_A_LOG_BYTES] = K_U64,
	[TDB_A_LOG_SYNCS] = K_U64,
	[TDB_A_LOG_WRITES] = K_U64,
	[TDB_A_LOG_SYNC_RATE] = K_U32,
	[TDB_A_LOG_WRITE_RATE] = K_U32,
	[TDB_A_LOG_ERROR] = K_U32,
};

/* 0 if @attr (whose length fits its container) has the right shape. */
int msg_attr_valid(const struct nlattr *attr)
{
	uint16_t type = mnl_attr_get_type(attr);
	size_t len = mnl_attr_get_payload_len(attr);
	const char *s;

	if (type == 0 || type > TDB_A_MAX)
		return 0;	/* newer than us: ignored */
	switch (attr_kind[type]) {
	case K_U32:
		return len == 4 ? 0 : -EPROTO;
	case K_U64:
		return len == 8 ? 0 : -EPROTO;
	case K_FLAG:
		return len == 0 ? 0 : -EPROTO;
	case K_KEY:
		return len >= 1 && len <= TDB_KEY_MAX ? 0 : -EPROTO;
	case K_STR:
		s = mnl_attr_get_payload(attr);
		return len >= 1 && memchr(s, 0, len) == s + len - 1 ? 0 :
								       -EPROTO;
	default:
		return 0;
	}
}

uint32_t msg_get_u32(const struct nlattr *attr)
{
	uint32_t v;

	if (!attr)
		return 0;
	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint64_t msg_get_u64(const struct nlattr *attr)
{
	uint64_t v;

	if (!attr)
		return 0;
	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

int msg_parse(const struct nlmsghdr *nlh, uint8_t cmd, struct msg_attrs *a)
{
	const struct tdb_genlhdr *g;
	const struct nlattr *attr;
	size_t off, end = nlh->nlmsg_len;
	int32_t status;
	bool in_value = false;

	memset(a, 0, sizeof(*a));
	a->nlh = nlh;
	if (end < MNL_NLMSG_HDRLEN + TDB_GENL_HDRLEN)
		return -EPROTO;
	g = mnl_nlmsg_get_payload(nlh);
	if (g->cmd != cmd)
		return -EPROTO;

	for (off = MNL_NLMSG_HDRLEN + TDB_GENL_HDRLEN; off < end;
	     off += MNL_ALIGN(attr->nla_len)) {
		uint16_t type;

		attr = (const struct nlattr *)((const uint8_t *)nlh + off);
		if (end - off < MNL_ATTR_HDRLEN || attr->nla_len < MNL_ATTR_HDRLEN ||
		    attr->nla_len > end - off)
			return -EPROTO;
		if (msg_attr_valid(attr))
			return -EPROTO;
		type = mnl_attr_get_type(attr);
		if (off == MNL_NLMSG_HDRLEN + TDB_GENL_HDRLEN &&
		    type != TDB_A_STATUS)
			return -EPROTO;
		if (type == TDB_A_VALUE) {
			if (a->val_first && !in_value)
				return -EPROTO;	/* two separate values */
			if (!a->val_first) {
				a->val_first = attr;
				a->val = mnl_attr_get_payload(attr);
			}
			a->vlen += mnl_attr_get_payload_len(attr);
			a->val_chunks++;
			in_value = true;
			continue;
		}
		in_value = false;
		if (type == 0 || type > TDB_A_MAX)
			continue;
		if (!a->tb[type])
			a->tb[type] = attr;
	}
	if (!a->tb[TDB_A_STATUS])
		return -EPROTO;
	status = (int32_t)msg_get_u32(a->tb[TDB_A_STATUS]);
	if (status > 0 || status < -4095)
		return -EPROTO;
	a->status = status;
	if (a->vlen > TDB_VAL_MAX)
		return -EPROTO;
	if (a->tb[TDB_A_MESSAGE])
		a->message = mnl_attr_get_str(a->tb[TDB_A_MESSAGE]);
	return 0;
}

void msg_value_copy(const struct msg_attrs *a, void *dst, size_t cap)
{
	const struct nlattr *attr = a->val_first;
	uint8_t *p = dst;

	for (unsigned int i = 0; i < a->val_chunks && cap; i++) {
		size_t n = mnl_attr_get_payload_len(attr);

		if (n > cap)
			n = cap;
		memcpy(p, mnl_attr_get_payload(attr), n);
		p += n;
		cap -= n;
		attr = (const struct nlattr *)((const uint8_t *)attr +
					       MNL_ALIGN(attr->nla_len));
	}
}
