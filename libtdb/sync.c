// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * sync.c - synchronous calls (a batch of one message, then wait for its
 * answer) and the record calls built on them: get, put, delete.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void *sync_buf(struct tdb *db, size_t size)
{
	size_t cap = db->tx_cap ? db->tx_cap : 4096;
	uint8_t *nb;

	if (size <= db->tx_cap)
		return db->tx_buf;
	while (cap < size)
		cap *= 2;
	nb = realloc(db->tx_buf, cap);
	if (!nb)
		return NULL;
	db->tx_buf = nb;
	db->tx_cap = cap;
	return nb;
}

struct nlmsghdr *sync_start(struct tdb *db, uint8_t cmd, size_t size)
{
	void *buf = sync_buf(db, size);

	if (!buf)
		return NULL;
	db->sync_seq++;
	return msg_start(buf, cmd, SEQ_MAKE(0, db->sync_seq));
}

int sync_call(struct tdb *db, struct msg_attrs *a)
{
	const struct nlmsghdr *req = (const struct nlmsghdr *)db->tx_buf;
	const struct tdb_genlhdr *g = mnl_nlmsg_get_payload(req);
	const struct nlmsghdr *nlh;
	uint32_t seq = req->nlmsg_seq;
	uint8_t cmd = g->cmd;
	int err, lost = 0;

	err = ring_send(db, req, req->nlmsg_len);
	if (err)
		return err;
	for (;;) {
		err = ring_recv(db, &nlh, true);
		if (err < 0)
			return err;
		if (nlh->nlmsg_seq == seq)
			break;
		/*
		 * Another waiter's answer.  If handing it over fails, ours is
		 * still on the way: returning now would leave it to arrive
		 * with no waiter, which breaks the connection.  Wait for it,
		 * unless the connection is gone.
		 */
		err = ring_dispatch(db, nlh);
		if (err && !lost)
			lost = err;
		err = conn_usable(db);
		if (err)
			return err;
	}
	err = msg_parse(nlh, cmd, a);
	if (err)
		return conn_fail(db, err);
	return lost;
}

/* Sends a request for @table and @key and waits for the answer. */
static int key_call(struct tdb *db, uint8_t cmd, const char *table,
		    const void *key, size_t klen, struct msg_attrs *a)
{
	struct nlmsghdr *nlh;
	int err;

	err = msg_check_call(db, table);
	if (!err)
		err = msg_check_key(key, klen);
	if (err)
		return err;
	nlh = sync_start(db, cmd, msg_size(table, klen, (size_t)-1, 0));
	if (!nlh)
		return -ENOMEM;
	msg_put_table(nlh, table);
	msg_put_key(nlh, key, klen);
	return sync_call(db, a);
}

/* Sends a GET and waits: 0 with a response that carries a value, or -errno. */
static int get_call(struct tdb *db, const char *table, const void *key,
		    size_t klen, struct msg_attrs *a)
{
	int err = key_call(db, TDB_CMD_GET, table, key, klen, a);

	if (err)
		return err;
	if (a->status)
		return a->status;
	if (!a->val_first)
		return conn_fail(db, -EPROTO);
	return 0;
}

TDB_EXPORT int tdb_get(struct tdb *db, const char *table, const void *key,
		       size_t klen, void *buf, size_t cap, size_t *vlen)
{
	struct msg_attrs a;
	int err;

	err = get_call(db, table, key, klen, &a);
	if (err)
		return err;
	if (vlen)
		*vlen = a.vlen;
	if (buf)
		msg_value_copy(&a, buf, cap);
	return 0;
}

TDB_EXPORT int tdb_lookup(struct tdb *db, const char *table, const void *addr,
			  size_t alen, void *prefix, size_t *plen, void *buf,
			  size_t cap, size_t *vlen)
{
	const struct nlattr *k;
	struct msg_attrs a;
	int err;

	if (alen != 4 && alen != 16)
		return -EINVAL;
	err = key_call(db, TDB_CMD_LOOKUP, table, addr, alen, &a);
	if (err)
		return err;
	if (a.status)
		return a.status;
	k = a.tb[TDB_A_KEY];
	/* A prefix is its address and a length byte: 5 or 17 bytes. */
	if (!a.val_first || !k || mnl_attr_get_payload_len(k) != alen + 1)
		return conn_fail(db, -EPROTO);
	if (prefix)
		memcpy(prefix, mnl_attr_get_payload(k), alen + 1);
	if (plen)
		*plen = alen + 1;
	if (vlen)
		*vlen = a.vlen;
	if (buf)
		msg_value_copy(&a, buf, cap);
	return 0;
}

TDB_EXPORT int tdb_get_alloc(struct tdb *db, const char *table,
			     const void *key, size_t klen, void **val,
			     size_t *vlen)
{
	struct msg_attrs a;
	void *p;
	int err;

	*val = NULL;
	err = get_call(db, table, key, klen, &a);
	if (err)
		return err;
	/* One spare byte, NUL: handy for values that are text. */
	p = malloc(a.vlen + 1);
	if (!p)
		return -ENOMEM;
	msg_value_copy(&a, p, a.vlen);
	((char *)p)[a.vlen] = 0;
	*val = p;
	if (vlen)
		*vlen = a.vlen;
	return 0;
}

TDB_EXPORT int tdb_put(struct tdb *db, const char *table, const void *key,
		       size_t klen, const void *val, size_t vlen,
		       unsigned int flags)
{
	struct nlmsghdr *nlh;
	struct msg_attrs a;
	int err;

	err = msg_check_call(db, table);
	if (!err)
		err = msg_check_key(key, klen);
	if (!err)
		err = msg_check_value(val, vlen);
	if (!err)
		err = msg_check_put_flags(flags);
	if (err)
		return err;
	nlh = sync_start(db, TDB_CMD_PUT,
			 msg_size(table, klen, vlen, MNL_ATTR_HDRLEN + 4));
	if (!nlh)
		return -ENOMEM;
	msg_put_table(nlh, table);
	msg_put_key(nlh, key, klen);
	msg_put_value(nlh, val, vlen);
	if (flags)
		mnl_attr_put_u32(nlh, TDB_A_FLAGS, flags);
	err = sync_call(db, &a);
	return err ? err : a.status;
}

TDB_EXPORT int tdb_del(struct tdb *db, const char *table, const void *key,
		       size_t klen)
{
	struct msg_attrs a;
	int err;

	err = key_call(db, TDB_CMD_DEL, table, key, klen, &a);
	return err ? err : a.status;
}
