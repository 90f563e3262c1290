// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * load.c - bulk loads: LOAD_BEGIN gets a staging table from the owner,
 * records go out as LOAD messages that fill a frame each (a TABLE
 * attribute, then one RECORD nest of KEY and VALUE per record), and
 * LOAD_COMMIT or LOAD_ABORT ends it.
 *
 * Decisions recorded here:
 *  - The LOAD messages travel through a private batch of LOAD_DEPTH
 *    slots, so that up to that many frames are in flight and the owner
 *    inserts while this side encodes: no round trip per frame.  Answers
 *    are collected as they come, without waiting, and a failure stops
 *    the load at the next call.
 *  - A record whose value does not fit one VALUE attribute of a frame's
 *    LOAD goes as a PUT to the staging table, in the same stream, so
 *    order is kept and any value up to TDB_VAL_MAX loads.
 *  - Each message's slot remembers the index of its first record; the
 *    owner's answer to a failed LOAD says how many of its records went
 *    in, which gives the index of the one that failed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define LOAD_DEPTH 32U
/* The room a record takes in a LOAD message: RECORD, KEY and VALUE. */
#define LOAD_REC_SIZE(klen, vlen) \
	(3 * MNL_ATTR_HDRLEN + MNL_ALIGN(klen) + MNL_ALIGN(vlen))
/* The most one attribute, the RECORD nest, holds. */
#define LOAD_NEST_MAX 65535U

struct tdb_load {
	struct tdb *db;
	struct tdb_batch *b;
	char staging[TDB_NAME_MAX];
	uint8_t *msg;			/* the LOAD message being filled */
	size_t cap;
	struct nlmsghdr *nlh;		/* NULL when none is open */
	uint64_t count;			/* records queued */
	uint64_t first;			/* the open message's first record */
	int err;			/* the first error: sticky */
	int64_t failed;			/* the record it concerns, or -1 */
};

TDB_EXPORT int tdb_load_begin(struct tdb *db, const char *table,
			      unsigned int flags, uint64_t expected,
			      struct tdb_load **out)
{
	struct nlmsghdr *nlh;
	struct tdb_load *ld;
	struct msg_attrs a;
	const char *name;
	int err;

	*out = NULL;
	err = msg_check_call(db, table);
	if (err)
		return err;
	if (flags & ~TDB_LOAD_REPLACE)
		return -EINVAL;
	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return -ENOMEM;
	ld->db = db;
	ld->failed = -1;
	ld->cap = db->frame_size - TDB_FRAME_HDR_SIZE;
	ld->msg = malloc(ld->cap);
	ld->b = tdb_batch_new(db, LOAD_DEPTH);
	if (!ld->msg || !ld->b) {
		err = ld->b ? -ENOMEM : -errno;
		goto free_ld;
	}

	nlh = sync_start(db, TDB_CMD_LOAD_BEGIN,
			 msg_size(table, 0, (size_t)-1,
				  2 * MNL_ATTR_HDRLEN + 4 + 8));
	if (!nlh) {
		err = -ENOMEM;
		goto free_ld;
	}
	msg_put_table(nlh, table);
	mnl_attr_put_u32(nlh, TDB_A_FLAGS, flags);
	if (expected)
		mnl_attr_put_u64(nlh, TDB_A_RECORDS, expected);
	err = sync_call(db, &a);
	if (!err)
		err = a.status;
	if (err)
		goto free_ld;
	if (!a.tb[TDB_A_TABLE] ||
	    msg_check_table(name = mnl_attr_get_str(a.tb[TDB_A_TABLE]))) {
		err = conn_fail(db, -EPROTO);
		goto free_ld;
	}
	strcpy(ld->staging, name);
	*out = ld;
	return 0;

free_ld:
	tdb_batch_free(ld->b);
	free(ld->msg);
	free(ld);
	return err;
}

/* Notes the first failure among the answers that have come. */
static void load_reap(struct tdb_load *ld, bool all)
{
	struct tdb_completion c[LOAD_DEPTH];
	int n;

	do {
		unsigned int pending = tdb_batch_pending(ld->b);

		if (!pending)
			return;
		n = tdb_batch_reap(ld->b, c, LOAD_DEPTH,
				   all ? (pending < LOAD_DEPTH ? pending :
								 LOAD_DEPTH) :
					 0);
		if (n < 0) {
			if (!ld->err)
				ld->err = n;
			return;
		}
		for (int i = 0; i < n; i++) {
			if (!c[i].status || ld->err)
				continue;
			ld->err = c[i].status;
			ld->failed = (int64_t)(uintptr_t)c[i].user;
			/* A LOAD's answer counts the records it took. */
			if (c[i].op == TDB_CMD_LOAD)
				ld->failed += (int64_t)c[i].vlen;
		}
	} while (all && n > 0);
}

/* Sends the open LOAD message. */
static int load_send(struct tdb_load *ld)
{
	int err;

	if (!ld->nlh)
		return 0;
	err = batch_queue_msg(ld->b, ld->nlh, (void *)(uintptr_t)ld->first);
	ld->nlh = NULL;
	if (err) {
		if (!ld->err)
			ld->err = err;
		return err;
	}
	load_reap(ld, false);
	return ld->err;
}

TDB_EXPORT int tdb_load_put(struct tdb_load *ld, const void *key, size_t klen,
			    const void *val, size_t vlen)
{
	size_t need = LOAD_REC_SIZE(klen, vlen);
	struct nlattr *nest;
	bool alone;
	int err;

	if (ld->err)
		return ld->err;
	err = msg_check_key(key, klen);
	if (!err)
		err = msg_check_value(val, vlen);
	if (err)
		return err;

	/* A nest's length is 16 bits, and a LOAD fills one frame. */
	alone = need > LOAD_NEST_MAX ||
		msg_size(ld->staging, 0, (size_t)-1, need) > ld->cap;
	if (ld->nlh && (alone || ld->nlh->nlmsg_len + need > ld->cap)) {
		err = load_send(ld);
		if (err)
			return err;
	}
	if (alone) {
		/* Too large for a LOAD: a PUT, in order after it. */
		err = tdb_batch_put(ld->b, ld->staging, key, klen, val, vlen, 0,
				    (void *)(uintptr_t)ld->count);
		if (!err)
			load_reap(ld, false);
		err = err ? err : ld->err;
		if (!err)
			ld->count++;
		return err;
	}
	if (!ld->nlh) {
		ld->nlh = msg_start(ld->msg, TDB_CMD_LOAD, 0);
		msg_put_table(ld->nlh, ld->staging);
		ld->first = ld->count;
	}
	nest = mnl_attr_nest_start(ld->nlh, TDB_A_RECORD);
	mnl_attr_put(ld->nlh, TDB_A_KEY, klen, key);
	mnl_attr_put(ld->nlh, TDB_A_VALUE, vlen, val);
	mnl_attr_nest_end(ld->nlh, nest);
	ld->count++;
	return 0;
}

TDB_EXPORT int64_t tdb_load_failed_record(const struct tdb_load *ld)
{
	return ld->failed;
}

TDB_EXPORT uint64_t tdb_load_count(const struct tdb_load *ld)
{
	return ld->count;
}

static void load_free(struct tdb_load *ld)
{
	tdb_batch_free(ld->b);
	free(ld->msg);
	free(ld);
}

/* A call naming the staging table alone: LOAD_COMMIT or LOAD_ABORT. */
static int load_call(struct tdb_load *ld, uint8_t cmd, struct msg_attrs *a)
{
	struct nlmsghdr *nlh;
	int err;

	nlh = sync_start(ld->db, cmd, msg_size(ld->staging, 0, (size_t)-1, 0));
	if (!nlh)
		return -ENOMEM;
	msg_put_table(nlh, ld->staging);
	err = sync_call(ld->db, a);
	return err ? err : a->status;
}

TDB_EXPORT int tdb_load_commit(struct tdb_load *ld, uint64_t *records)
{
	struct msg_attrs a;
	int err;

	if (!ld->err) {
		err = load_send(ld);
		if (!err)
			err = tdb_batch_submit(ld->b);
		if (err && !ld->err)
			ld->err = err;
	}
	load_reap(ld, true);
	if (ld->err)
		return ld->err;
	err = load_call(ld, TDB_CMD_LOAD_COMMIT, &a);
	if (err) {
		ld->err = err;
		return err;
	}
	if (records)
		*records = msg_get_u64(a.tb[TDB_A_RECORDS]);
	load_free(ld);
	return 0;
}

TDB_EXPORT void tdb_load_abort(struct tdb_load *ld)
{
	struct msg_attrs a;

	if (!ld)
		return;
	/* Answers still due must come in before the staging table goes. */
	tdb_batch_free(ld->b);
	ld->b = NULL;
	if (!conn_usable(ld->db))
		load_call(ld, TDB_CMD_LOAD_ABORT, &a);
	free(ld->msg);
	free(ld);
}
