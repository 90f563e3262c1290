// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * exec_load.c - bulk loads: LOAD_BEGIN makes a staging table, LOAD fills
 * it with many records per message, LOAD_COMMIT swaps it in (or merges
 * it), LOAD_ABORT drops it; and the session that owns the loads.
 *
 * Decisions recorded here:
 *  - Every load stages, with or without TDB_LOAD_REPLACE, so that a load
 *    that fails half-way (a bad line, a dead client) leaves the table as
 *    it was: nothing of it is visible before the commit.
 *  - A staging table copies its target's options (key type, class,
 *    quota, owner and mode, schema), so its records are checked as the
 *    target's would be and its access is the target's.  Its name is '~'
 *    and 16 random hex digits, which no client can create.
 *  - Only the session that began a load may commit or abort it; others
 *    may read and write its staging table if they can write the target
 *    (they would have to guess its name), which gains them nothing.
 *  - LOAD into a staging table is answered at once, whatever the class:
 *    its records are not acknowledged to anyone until the commit, which
 *    waits for the log as the target's class says (sync: on disk).  A
 *    load therefore costs one log sync however many records it holds.
 *  - A LOAD record is a RECORD nest of one KEY and one VALUE attribute, so
 *    its value is at most TDB_VALUE_CHUNK bytes; libtdb sends a record
 *    with a larger value as a PUT to the staging table.
 */
#include "exec_int.h"
#include "keytype.h"

/*
 * The most records a LOAD_BEGIN's size hint sizes a staging table for,
 * past twice the table's size: 8 MiB of index.
 */
#define TDB_LOAD_HINT_MAX (1ULL << 20)

void tdb_session_init(struct tdb_session *s, const struct tdb_cred *cred)
{
	memset(s, 0, sizeof(*s));
	s->cred = *cred;
}

static struct tdb_stage *tdb_session_find(struct tdb_session *s,
					  const char *staging)
{
	u32 i;

	for (i = 0; i < s->nloads; i++)
		if (!strcmp(s->loads[i].staging, staging))
			return &s->loads[i];
	return NULL;
}

bool tdb_session_owns(struct tdb_session *s, const char *staging)
{
	return tdb_session_find(s, staging);
}

static void tdb_session_forget(struct tdb_session *s, struct tdb_stage *st)
{
	tdb_table_release(st->target_t);
	*st = s->loads[--s->nloads];
}

void tdb_session_end(struct tdb_owner *o, struct tdb_session *s)
{
	while (s->nloads) {
		struct tdb_stage *st = &s->loads[s->nloads - 1];

		tdb_table_drop(&o->db, st->staging, NULL, NULL);
		tdb_session_forget(s, st);
	}
}

/* '~' and 16 random hex digits. */
static void tdb_staging_name(char *name)
{
	static const char hex[] = "0123456789abcdef";
	u8 rnd[8];
	u32 i;

	port_random_bytes(rnd, sizeof(rnd));
	name[0] = '~';
	for (i = 0; i < sizeof(rnd); i++) {
		name[1 + 2 * i] = hex[rnd[i] >> 4];
		name[2 + 2 * i] = hex[rnd[i] & 15];
	}
	name[1 + 2 * sizeof(rnd)] = 0;
}

int tdb_do_load_begin(struct tdb_exec *x, struct tdb_req *rq,
		      struct tdb_rsp *r)
{
	struct tdb_session *sess = x->sess;
	struct tdb_table_opts opts = x->topts;
	struct tdb_table_stats ts;
	struct tdb_stage *st;
	u32 flags = 0;
	int err, tries;

	if (rq->tb[TDB_A_FLAGS])
		flags = tdb_get_u32(rq->tb[TDB_A_FLAGS]);
	if (flags & ~TDB_LOAD_REPLACE) {
		tdb_rsp_error(r, -EINVAL, "bad FLAGS");
		return 0;
	}
	if (opts.flags & TDB_TABLE_STAGING) {
		tdb_rsp_error(r, -EINVAL, "a load cannot target a staging table");
		return 0;
	}
	if (sess->nloads == TDB_SESSION_LOADS) {
		tdb_rsp_error(r, -EBUSY,
			      "this connection runs 4 loads already");
		return 0;
	}
	st = &sess->loads[sess->nloads];
	opts.flags |= TDB_TABLE_STAGING;
	/*
	 * Sized for as many records as the load expects or the table holds
	 * now (a replace is usually its size again), whichever is more, so
	 * that the index does not grow during the load.  The client's figure
	 * costs the owner up to 16 bytes a record at once, before it has
	 * sent any: it is capped at twice the table's size or
	 * TDB_LOAD_HINT_MAX, whichever is more (and by the quota), and a
	 * load past it grows the index as any table does.
	 */
	tdb_table_stats(x->t, &ts);
	if (rq->tb[TDB_A_RECORDS]) {
		u64 want = tdb_get_u64(rq->tb[TDB_A_RECORDS]);
		u64 cap = 2 * ts.records;

		if (cap < TDB_LOAD_HINT_MAX)
			cap = TDB_LOAD_HINT_MAX;
		if (want > cap)
			want = cap;
		if (opts.quota && want > opts.quota / 64)
			want = opts.quota / 64;
		if (want > ts.records)
			ts.records = want;
	}
	/* 64 random bits: a clash means a broken random source, or luck. */
	for (tries = 0; tries < 4; tries++) {
		tdb_staging_name(st->staging);
		err = tdb_table_create_keyed(&x->o->db, st->staging, &opts,
					     NULL, ts.records);
		if (err != -EEXIST)
			break;
	}
	if (err) {
		tdb_rsp_error(r, err, err == -ENOSPC || err == -EIO ?
				      "the log cannot be written" : NULL);
		return 0;
	}
	strcpy(st->target, tdb_table_name(x->t));
	st->target_t = x->t;
	tdb_table_hold(x->t);
	st->flags = flags;
	sess->nloads++;
	tdb_rsp_str(r, TDB_A_TABLE, st->staging);
	return 0;
}

/*
 * The KEY and VALUE of the RECORD nest @rec.  0, or -errno with *@why
 * saying what is wrong.
 */
static int tdb_load_record(const struct nlattr *rec, const u8 **key,
			   u32 *klen, const u8 **val, u32 *vlen,
			   const char **why)
{
	const struct nlattr *a;
	int rem;

	*key = NULL;
	*val = NULL;
	nla_for_each_attr(a, nla_data(rec), nla_len(rec), rem) {
		if (nla_type(a) == TDB_A_KEY && !*key) {
			*key = nla_data(a);
			*klen = nla_len(a);
		} else if (nla_type(a) == TDB_A_VALUE && !*val) {
			*val = nla_data(a);
			*vlen = nla_len(a);
		} else {
			*why = "RECORD: holds one KEY and one VALUE";
			return -EINVAL;
		}
	}
	if (rem) {
		*why = "RECORD: attribute runs past its nest";
		return -EINVAL;
	}
	if (!*key || !*val) {
		*why = *key ? "RECORD: VALUE missing" : "RECORD: KEY missing";
		return -EINVAL;
	}
	if (!*klen) {
		*why = "KEY: empty";
		return -EINVAL;
	}
	if (*klen > TDB_KEY_MAX) {
		*why = "KEY: longer than 1024 bytes";
		return -E2BIG;
	}
	return 0;
}

/* The reason for a put's error in a load, as PUT gives it. */
static const char *tdb_load_why(struct tdb_exec *x, int err)
{
	switch (err) {
	case -ENOSPC:
		return x->o->db.wal && tdb_wal_last_error(x->o->db.wal) ?
			       "the disk is full: the log cannot be written" :
			       "table quota exceeded";
	case -EIO:
		return "the log cannot be written (I/O error)";
	case -ENOENT:
		return "table dropped";
	case -ENOBUFS:
		return "the log's memory is full: writes outrun the disk";
	}
	return NULL;
}

/*
 * A LOAD's records go into the table LOAD_CHUNK at a time: the chunk is
 * parsed and checked, its keys' places in the indexes are prefetched
 * together (tdb_table_prefetch_batch()), so that their cache misses
 * overlap instead of adding up, then its records are put in order.
 */
#define LOAD_CHUNK 32

struct tdb_load_chunk {
	const u8 *key[LOAD_CHUNK], *val[LOAD_CHUNK];
	u32 klen[LOAD_CHUNK], vlen[LOAD_CHUNK];
	unsigned int n;
	u64 done;			/* records put */
};

/* Puts the records of @c; 0, or -errno with *@why. */
static int tdb_load_flush(struct tdb_exec *x, struct tdb_load_chunk *c,
			  const char **why)
{
	unsigned int i;
	int err = 0;

	tdb_table_prefetch_batch(x->t, c->n, c->key, c->klen);
	for (i = 0; i < c->n && !err; i++) {
		err = tdb_table_put(x->t, c->key[i], c->klen[i], c->val[i],
				    c->vlen[i], 0);
		if (err)
			*why = tdb_load_why(x, err);
		else
			c->done++;
	}
	c->n = 0;
	return err;
}

int tdb_do_load(struct tdb_exec *x, struct tdb_req *rq, struct tdb_rsp *r)
{
	const struct nlmsghdr *nlh = rq->nlh;
	struct tdb_load_chunk c = { .n = 0, .done = 0 };
	const struct nlattr *a;
	const char *why = NULL;
	int rem, err = 0, e;

	x->wrote = true;
	nla_for_each_attr(a, (const struct nlattr *)((const u8 *)nlh +
						      TDB_MSG_HDRLEN),
			  (int)(nlh->nlmsg_len - TDB_MSG_HDRLEN), rem) {
		unsigned int i = c.n;

		if (nla_type(a) != TDB_A_RECORD)
			continue;
		err = tdb_load_record(a, &c.key[i], &c.klen[i], &c.val[i],
				      &c.vlen[i], &why);
		if (!err)
			err = tdb_keytype_check(x->topts.key_type, c.key[i],
						c.klen[i], &why);
		if (err)
			break;
		if (++c.n == LOAD_CHUNK) {
			err = tdb_load_flush(x, &c, &why);
			if (err)
				break;
		}
	}
	/* The records before a bad one go in, as if it ended the message. */
	if (c.n) {
		e = tdb_load_flush(x, &c, &why);
		if (e)
			err = e;
	}
	if (err) {
		tdb_rsp_error(r, err, why);
		/* Which record of this message failed. */
		tdb_rsp_u64(r, TDB_A_RECORDS, c.done);
		return 0;
	}
	tdb_rsp_u64(r, TDB_A_RECORDS, c.done);
	if (!(x->topts.flags & TDB_TABLE_STAGING))
		tdb_rsp_wait_write(x, r);
	return 0;
}

/* The load of this session whose staging table @rq names, or an error. */
static struct tdb_stage *tdb_load_find(struct tdb_exec *x, struct tdb_req *rq,
				       struct tdb_rsp *r)
{
	struct tdb_stage *st = tdb_session_find(x->sess, rq->table);

	if (!st)
		tdb_rsp_error(r, -ENOENT,
			      "no load of this connection stages there");
	/* Hold nothing: the commit drops a table, the abort another. */
	tdb_exec_release(x);
	return st;
}

int tdb_do_load_commit(struct tdb_exec *x, struct tdb_req *rq,
		       struct tdb_rsp *r)
{
	struct tdb_stage *st = tdb_load_find(x, rq, r);
	struct tdb_db *db = &x->o->db;
	struct tdb_table_opts opts;
	struct tdb_table_stats ts;
	struct tdb_table *t;
	int err;

	if (!st)
		return 0;
	if (st->flags & TDB_LOAD_REPLACE)
		err = tdb_table_swap(db, st->target, st->staging, st->target_t,
				     true);
	else
		err = tdb_table_merge(db, st->target, st->staging,
				      st->target_t, true);
	if (err) {
		/*
		 * A failed commit ends the load: a merge may have copied the
		 * table's records into the staging table already, which a
		 * later try would then take for the load's.
		 */
		tdb_rsp_error(r, err, err == -ENOENT || err == -ESTALE ?
				      "the table was dropped or replaced during the load" :
				      tdb_load_why(x, err));
		tdb_table_drop(db, st->staging, NULL, NULL);
		tdb_session_forget(x->sess, st);
		return 0;
	}
	rcu_read_lock();
	t = tdb_table_find(db, st->target);
	if (t) {
		tdb_table_opts(t, &opts);
		tdb_table_stats(t, &ts);
	}
	rcu_read_unlock();
	tdb_session_forget(x->sess, st);
	if (!t)
		return 0;	/* dropped right after the commit */
	tdb_rsp_u64(r, TDB_A_RECORDS, ts.records);
	/* The log holds the commit by now: wait for it as the class says. */
	if (opts.durability == TDB_DUR_SYNC)
		tdb_rsp_wait_log(x, r);
	return 0;
}

int tdb_do_load_abort(struct tdb_exec *x, struct tdb_req *rq,
		      struct tdb_rsp *r)
{
	struct tdb_stage *st = tdb_load_find(x, rq, r);

	if (!st)
		return 0;
	tdb_table_drop(&x->o->db, st->staging, NULL, NULL);
	tdb_session_forget(x->sess, st);
	return 0;
}
