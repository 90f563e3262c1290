// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * batch.c - the batched API: operations are packed into a private buffer
 * as netlink messages, one frame's payload at a time, and sent when the
 * buffer would overflow a frame, on submit, or when the batch must wait
 * for a free slot.  Each operation holds one of @depth slots from the time
 * it is queued until its response arrives; the slot index is the low half
 * of its sequence number (see internal.h), so responses may come in any
 * order.
 *
 * Completions.  A response is turned into a completion as soon as it is
 * read, whoever reads it (this batch's reap, another batch, or a
 * synchronous call on the same connection), so that the RX ring never
 * backs up; a GET's value is copied out of the RX buffer into its own
 * allocation then (if that allocation fails, the GET completes with
 * -ENOMEM).  Completions wait in a FIFO that grows as needed until
 * reaped; the values a reap hands out are freed by the next reap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BATCH_DEPTH_MAX 65535U

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_SENT };

struct slot {
	uint8_t state;
	uint8_t op;
	void *user;
};

struct done {
	int status;
	uint8_t op;
	void *user;
	void *val;		/* LOOKUP: the value, then the prefix */
	size_t vlen;		/* LOAD: the owner's RECORDS figure */
	size_t klen;		/* LOOKUP */
};

struct tdb_batch {
	struct tdb *db;
	struct tdb_batch *next;		/* db->batches */
	uint16_t id;
	unsigned int depth;

	struct slot *slots;
	uint16_t *free_slots;		/* stack of free slot indexes */
	unsigned int nfree;
	uint16_t *queued_slots;		/* slots whose message is in buf */
	unsigned int queued;
	unsigned int sent;		/* sent, no response yet */

	uint8_t *buf;			/* messages not yet sent */
	size_t len, cap;

	struct done *done;		/* FIFO ring of completions */
	size_t done_head, done_count, done_cap;

	void **old_vals;		/* handed out by the last reap */
	size_t old_count, old_cap;
};

static const char empty_val[1];

struct tdb_batch *batch_find(struct tdb *db, uint16_t id)
{
	struct tdb_batch *b;

	for (b = db->batches; b; b = b->next)
		if (b->id == id)
			return b;
	return NULL;
}

static int done_push(struct tdb_batch *b, const struct done *d)
{
	if (b->done_count == b->done_cap) {
		size_t cap = b->done_cap ? b->done_cap * 2 : 64;
		struct done *nd = malloc(cap * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		for (size_t i = 0; i < b->done_count; i++)
			nd[i] = b->done[(b->done_head + i) % b->done_cap];
		free(b->done);
		b->done = nd;
		b->done_cap = cap;
		b->done_head = 0;
	}
	b->done[(b->done_head + b->done_count) % b->done_cap] = *d;
	b->done_count++;
	return 0;
}

/*
 * Turns the response @nlh into a completion of @b and frees its slot.  0, or
 * the connection's error once it has failed: a response that cannot be
 * handed over breaks the connection, so that no operation is left waiting
 * for an answer that was read already (tdb_batch_free() waits for every
 * slot sent).
 */
int batch_complete(struct tdb_batch *b, const struct nlmsghdr *nlh)
{
	uint32_t idx = SEQ_SLOT(nlh->nlmsg_seq);
	struct done d = { 0 };
	struct msg_attrs a;
	struct slot *s;
	int err;

	if (idx >= b->depth || b->slots[idx].state != SLOT_SENT)
		return conn_fail(b->db, -EPROTO);
	s = &b->slots[idx];
	err = msg_parse(nlh, s->op, &a);
	if (err)
		return conn_fail(b->db, err);
	d.status = a.status;
	d.op = s->op;
	d.user = s->user;
	if ((s->op == TDB_CMD_GET || s->op == TDB_CMD_LOOKUP) && !a.status) {
		const struct nlattr *k = a.tb[TDB_A_KEY];

		if (!a.val_first || (s->op == TDB_CMD_LOOKUP && !k))
			return conn_fail(b->db, -EPROTO);
		d.vlen = a.vlen;
		d.klen = k ? mnl_attr_get_payload_len(k) : 0;
		if (a.vlen + d.klen) {
			d.val = malloc(a.vlen + d.klen);
			if (d.val) {
				msg_value_copy(&a, d.val, a.vlen);
				if (k)
					memcpy((uint8_t *)d.val + a.vlen,
					       mnl_attr_get_payload(k), d.klen);
			} else {
				/* The value is lost: this operation fails. */
				d.status = -ENOMEM;
				d.vlen = 0;
				d.klen = 0;
			}
		}
	}
	if (s->op == TDB_CMD_LOAD)
		d.vlen = msg_get_u64(a.tb[TDB_A_RECORDS]);
	err = done_push(b, &d);
	if (err) {
		/* The answer is lost: the connection cannot go on. */
		free(d.val);
		return conn_fail(b->db, err);
	}
	s->state = SLOT_FREE;
	s->user = NULL;
	b->free_slots[b->nfree++] = idx;
	b->sent--;
	return 0;
}

TDB_EXPORT struct tdb_batch *tdb_batch_new(struct tdb *db, unsigned int depth)
{
	struct tdb_batch *b;
	uint16_t id;

	if (!db || depth == 0 || depth > BATCH_DEPTH_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (conn_usable(db)) {
		errno = -conn_usable(db);
		return NULL;
	}
	/* Find an id no other batch of this connection holds. */
	for (unsigned int tries = 0;; tries++) {
		if (tries > BATCH_DEPTH_MAX) {
			errno = EMFILE;
			return NULL;
		}
		id = db->next_batch_id++;
		if (!db->next_batch_id)
			db->next_batch_id = 1;
		if (id && !batch_find(db, id))
			break;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		goto nomem;
	b->db = db;
	b->id = id;
	b->depth = depth;
	b->slots = calloc(depth, sizeof(*b->slots));
	b->free_slots = malloc(depth * sizeof(*b->free_slots));
	b->queued_slots = malloc(depth * sizeof(*b->queued_slots));
	b->cap = db->frame_size - TDB_FRAME_HDR_SIZE;
	b->buf = malloc(b->cap);
	b->old_cap = 64;
	b->old_vals = malloc(b->old_cap * sizeof(*b->old_vals));
	if (!b->slots || !b->free_slots || !b->queued_slots || !b->buf ||
	    !b->old_vals)
		goto free_b;
	for (unsigned int i = 0; i < depth; i++)
		b->free_slots[i] = depth - 1 - i;
	b->nfree = depth;
	b->next = db->batches;
	db->batches = b;
	return b;

free_b:
	free(b->slots);
	free(b->free_slots);
	free(b->queued_slots);
	free(b->buf);
	free(b->old_vals);
	free(b);
nomem:
	errno = ENOMEM;
	return NULL;
}

static void free_old_vals(struct tdb_batch *b)
{
	for (size_t i = 0; i < b->old_count; i++)
		free(b->old_vals[i]);
	b->old_count = 0;
}

static void batch_destroy(struct tdb_batch *b)
{
	free_old_vals(b);
	for (size_t i = 0; i < b->done_count; i++)
		free(b->done[(b->done_head + i) % b->done_cap].val);
	free(b->done);
	free(b->old_vals);
	free(b->slots);
	free(b->free_slots);
	free(b->queued_slots);
	free(b->buf);
	free(b);
}

/*
 * Frees the batch.  Responses still due to it will find no waiter; since
 * that would break the connection, the batch first waits for them.  Every
 * response read completes its slot or fails the connection, and a failed
 * connection stops the wait: it ends when the last answer comes or the
 * connection breaks.
 */
TDB_EXPORT void tdb_batch_free(struct tdb_batch *b)
{
	struct tdb_batch **pp;
	struct tdb *db;

	if (!b)
		return;
	db = b->db;
	while (b->sent && !conn_usable(db)) {
		const struct nlmsghdr *nlh;

		if (ring_recv(db, &nlh, true) < 0 || ring_dispatch(db, nlh))
			break;
	}
	for (pp = &db->batches; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	batch_destroy(b);
}

void batch_detach_all(struct tdb *db)
{
	while (db->batches) {
		struct tdb_batch *b = db->batches;

		db->batches = b->next;
		batch_destroy(b);
	}
}

/* Sends the queued messages: their slots become SENT. */
static int batch_flush(struct tdb_batch *b)
{
	int err;

	if (!b->len)
		return 0;
	err = ring_send(b->db, b->buf, b->len);
	if (err)
		return err;
	for (unsigned int i = 0; i < b->queued; i++)
		b->slots[b->queued_slots[i]].state = SLOT_SENT;
	b->sent += b->queued;
	b->queued = 0;
	b->len = 0;
	return 0;
}

/* Makes room for @size bytes of message in buf, flushing if need be. */
static void *batch_room(struct tdb_batch *b, size_t size)
{
	uint8_t *nb;

	if (b->len + size <= b->cap)
		return b->buf + b->len;
	if (b->len && batch_flush(b))
		return NULL;
	if (size > b->cap) {
		/* One message larger than a frame: it goes alone. */
		nb = realloc(b->buf, size);
		if (!nb)
			return NULL;
		b->buf = nb;
		b->cap = size;
	}
	return b->buf;
}

/* Waits until a slot is free: sends what is queued, then reads answers. */
static int batch_slot(struct tdb_batch *b, unsigned int *idx)
{
	const struct nlmsghdr *nlh;
	int err;

	while (!b->nfree) {
		err = batch_flush(b);
		if (err)
			return err;
		err = ring_recv(b->db, &nlh, true);
		if (err < 0)
			return err;
		err = ring_dispatch(b->db, nlh);
		if (err)
			return err;
	}
	/* Taken now: flushing below may free (push) other slots. */
	*idx = b->free_slots[--b->nfree];
	return 0;
}

static int batch_queue(struct tdb_batch *b, uint8_t cmd, const char *table,
		       const void *key, size_t klen, const void *val,
		       size_t vlen, unsigned int flags, void *user)
{
	const size_t frame_payload = b->db->frame_size - TDB_FRAME_HDR_SIZE;
	struct nlmsghdr *nlh;
	unsigned int idx;
	size_t size;
	void *p;
	int err;

	err = msg_check_call(b->db, table);
	if (!err)
		err = msg_check_key(key, klen);
	if (!err && cmd == TDB_CMD_LOOKUP && klen != 4 && klen != 16)
		err = -EINVAL;
	if (!err && cmd == TDB_CMD_PUT)
		err = msg_check_value(val, vlen);
	if (!err)
		err = msg_check_put_flags(flags);
	if (err)
		return err;
	err = batch_slot(b, &idx);
	if (err)
		return err;
	size = msg_size(table, klen, cmd == TDB_CMD_PUT ? vlen : (size_t)-1,
			flags ? MNL_ATTR_HDRLEN + 4 : 0);
	p = batch_room(b, size);
	if (!p) {
		b->free_slots[b->nfree++] = idx;
		return conn_usable(b->db) ? conn_usable(b->db) : -ENOMEM;
	}

	nlh = msg_start(p, cmd, SEQ_MAKE(b->id, idx));
	msg_put_table(nlh, table);
	msg_put_key(nlh, key, klen);
	if (cmd == TDB_CMD_PUT)
		msg_put_value(nlh, val, vlen);
	if (flags)
		mnl_attr_put_u32(nlh, TDB_A_FLAGS, flags);
	b->len += nlh->nlmsg_len;

	b->slots[idx].state = SLOT_QUEUED;
	b->slots[idx].op = cmd;
	b->slots[idx].user = user;
	b->queued_slots[b->queued++] = idx;

	/* A lone oversized message, or a nearly full frame: send it now. */
	if (b->len + 64 > frame_payload)
		return batch_flush(b);
	return 0;
}

TDB_EXPORT int tdb_batch_get(struct tdb_batch *b, const char *table,
			     const void *key, size_t klen, void *user)
{
	return batch_queue(b, TDB_CMD_GET, table, key, klen, NULL, 0, 0, user);
}

TDB_EXPORT int tdb_batch_put(struct tdb_batch *b, const char *table,
			     const void *key, size_t klen, const void *val,
			     size_t vlen, unsigned int flags, void *user)
{
	return batch_queue(b, TDB_CMD_PUT, table, key, klen, val, vlen, flags,
			   user);
}

TDB_EXPORT int tdb_batch_del(struct tdb_batch *b, const char *table,
			     const void *key, size_t klen, void *user)
{
	return batch_queue(b, TDB_CMD_DEL, table, key, klen, NULL, 0, 0, user);
}

TDB_EXPORT int tdb_batch_lookup(struct tdb_batch *b, const char *table,
				const void *addr, size_t alen, void *user)
{
	return batch_queue(b, TDB_CMD_LOOKUP, table, addr, alen, NULL, 0, 0,
			   user);
}

int batch_queue_msg(struct tdb_batch *b, const struct nlmsghdr *msg,
		    void *user)
{
	const struct tdb_genlhdr *g = mnl_nlmsg_get_payload(msg);
	struct nlmsghdr *nlh;
	unsigned int idx;
	int err;

	err = batch_slot(b, &idx);
	if (err)
		return err;
	nlh = batch_room(b, msg->nlmsg_len);
	if (!nlh) {
		b->free_slots[b->nfree++] = idx;
		return conn_usable(b->db) ? conn_usable(b->db) : -ENOMEM;
	}
	memcpy(nlh, msg, msg->nlmsg_len);
	nlh->nlmsg_seq = SEQ_MAKE(b->id, idx);
	b->len += MNL_ALIGN(nlh->nlmsg_len);
	b->slots[idx].state = SLOT_QUEUED;
	b->slots[idx].op = g->cmd;
	b->slots[idx].user = user;
	b->queued_slots[b->queued++] = idx;
	if (b->len + 64 > b->db->frame_size - TDB_FRAME_HDR_SIZE)
		return batch_flush(b);
	return 0;
}

TDB_EXPORT int tdb_batch_submit(struct tdb_batch *b)
{
	int err = conn_usable(b->db);

	return err ? err : batch_flush(b);
}

/*
 * Once the connection is broken no answer will come: every operation still
 * queued or sent completes with the connection's error.
 */
static int fail_inflight(struct tdb_batch *b, int err)
{
	for (unsigned int i = 0; i < b->depth; i++) {
		struct slot *s = &b->slots[i];
		struct done d = { .status = err, .op = s->op, .user = s->user };

		if (s->state == SLOT_FREE)
			continue;
		if (done_push(b, &d))
			return -ENOMEM;
		s->state = SLOT_FREE;
		s->user = NULL;
		b->free_slots[b->nfree++] = i;
	}
	b->queued = 0;
	b->sent = 0;
	b->len = 0;
	return 0;
}

/* Moves up to @max - *@n completions to @c.  */
static void reap_done(struct tdb_batch *b, struct tdb_completion *c,
		      unsigned int max, unsigned int *n)
{
	while (*n < max && b->done_count) {
		struct done *d = &b->done[b->done_head];
		struct tdb_completion *e = &c[*n];

		e->status = d->status;
		e->op = d->op;
		e->user = d->user;
		e->val = d->val;
		e->vlen = d->vlen;
		e->key = d->klen ? (uint8_t *)d->val + d->vlen : NULL;
		e->klen = d->klen;
		if (d->val)
			b->old_vals[b->old_count++] = d->val;
		if (!d->vlen && !d->status &&
		    (d->op == TDB_CMD_GET || d->op == TDB_CMD_LOOKUP))
			e->val = empty_val;
		b->done_head = (b->done_head + 1) % b->done_cap;
		b->done_count--;
		(*n)++;
	}
}

TDB_EXPORT int tdb_batch_reap(struct tdb_batch *b, struct tdb_completion *c,
			      unsigned int max, unsigned int min)
{
	const struct nlmsghdr *nlh;
	unsigned int n = 0;
	int err;

	free_old_vals(b);
	err = conn_usable(b->db);
	if (err == -ECHILD)
		return err;
	if (max > b->old_cap) {
		void **nv = realloc(b->old_vals, max * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		b->old_vals = nv;
		b->old_cap = max;
	}
	if (min > max)
		min = max;
	if (!err)
		err = batch_flush(b);
	/* Take what has arrived already; never block when @min is 0. */
	if (!err)
		err = ring_drain(b->db);
	for (;;) {
		if (err) {
			err = conn_usable(b->db);
			if (!err)
				return -ENOMEM;
			if (fail_inflight(b, err))
				return -ENOMEM;
		}
		/* Never wait for more than can come, counting what is taken. */
		if (min > n + b->done_count + b->sent)
			min = n + b->done_count + b->sent;
		reap_done(b, c, max, &n);
		if (n >= min)
			return n || !err ? (int)n : err;
		err = ring_recv(b->db, &nlh, true);
		if (err >= 0)
			err = ring_dispatch(b->db, nlh);
	}
}

TDB_EXPORT unsigned int tdb_batch_pending(const struct tdb_batch *b)
{
	return b->queued + b->sent + (unsigned int)b->done_count;
}
