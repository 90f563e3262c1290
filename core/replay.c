// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * replay.c - applying the log to the tables at start-up (recovery, in
 * journal.c).
 *
 * Replay is what bounds recovery once a checkpoint is loaded, and its
 * cost is memory latency: a put into a large table misses the cache on
 * the bucket head and again on the records after it, several hundred
 * nanoseconds each.  So small puts go through a short pipeline: each is
 * copied into a slot, its bucket head is prefetched, the record after
 * the head is prefetched REPLAY_AHEAD / 2 puts later, and the put runs
 * REPLAY_AHEAD puts later, by when both are in the cache.  Puts still run
 * in log order: anything else (a delete, a large value, another table, a
 * create or drop) drains the pipeline first.
 */
#include "replay.h"

#define REPLAY_AHEAD 16
/* Puts with more key and value bytes than this skip the pipeline. */
#define REPLAY_SLOT 240

struct replay_slot {
	u64 end;		/* the record's end LSN */
	u32 klen, vlen;
	u8 data[REPLAY_SLOT];	/* key, then value */
};

struct replay {
	struct tdb_db *db;
	const char *host;	/* named in messages: "tdbd" */
	struct tdb_replay_counts counts;
	struct tdb_table *t;	/* the table of the last record, held */
	unsigned int head, n;	/* pending puts, oldest at head */
	struct replay_slot slot[REPLAY_AHEAD];
};

static int replay_put(struct replay *r, const void *key, u32 klen,
		      const void *val, u32 vlen, u64 end)
{
	int err = tdb_table_put(r->t, key, klen, val, vlen, TDB_PUT_RECOVER);

	if (err)
		return err;
	tdb_table_set_log_lsn(r->t, end);
	r->counts.applied++;
	return 0;
}

/* Runs the oldest pending put. */
static int replay_pop(struct replay *r)
{
	struct replay_slot *s = &r->slot[r->head];

	r->head = (r->head + 1) % REPLAY_AHEAD;
	r->n--;
	return replay_put(r, s->data, s->klen, s->data + s->klen, s->vlen,
			  s->end);
}

static int replay_drain(struct replay *r)
{
	int err = 0;

	while (r->n && !err)
		err = replay_pop(r);
	return err;
}

static void replay_push(struct replay *r, const struct tdb_wal_rec *rec,
			u64 end)
{
	struct replay_slot *s = &r->slot[(r->head + r->n) % REPLAY_AHEAD];
	struct replay_slot *mid;

	s->end = end;
	s->klen = rec->klen;
	s->vlen = rec->vlen;
	memcpy(s->data, rec->key, rec->klen);
	if (rec->vlen)
		memcpy(s->data + rec->klen, rec->val, rec->vlen);
	tdb_table_prefetch(r->t, s->data, s->klen, 0);
	if (++r->n > REPLAY_AHEAD / 2) {
		mid = &r->slot[(r->head + r->n - 1 - REPLAY_AHEAD / 2) %
			       REPLAY_AHEAD];
		tdb_table_prefetch(r->t, mid->data, mid->klen, 1);
	}
}

/* Lets go of the held table, after the puts pending on it. */
static int replay_forget(struct replay *r)
{
	int err = replay_drain(r);

	if (r->t)
		tdb_table_release(r->t);
	r->t = NULL;
	return err;
}

/* The table @name, held in @r across records: logs come in runs. */
static int replay_table(struct replay *r, const char *name)
{
	struct tdb_table *t;
	int err;

	if (r->t && !strcmp(tdb_table_name(r->t), name))
		return 0;
	err = replay_forget(r);
	if (err)
		return err;
	rcu_read_lock();
	t = tdb_table_find(r->db, name);
	if (t)
		tdb_table_hold(t);
	rcu_read_unlock();
	r->t = t;
	return 0;
}

static int replay_write(struct replay *r, const struct tdb_wal_rec *rec,
			u64 end)
{
	int err = replay_table(r, rec->name);

	if (err)
		return err;
	if (!r->t) {
		r->counts.orphans++;
		return 0;
	}
	if (rec->type == TDB_WAL_PUT) {
		if (rec->klen + rec->vlen <= REPLAY_SLOT) {
			if (r->n == REPLAY_AHEAD) {
				err = replay_pop(r);
				if (err)
					return err;
			}
			replay_push(r, rec, end);
			return 0;
		}
		err = replay_drain(r);
		return err ? err : replay_put(r, rec->key, rec->klen,
					      rec->val, rec->vlen, end);
	}
	err = replay_drain(r);
	if (err)
		return err;
	err = tdb_table_delete(r->t, rec->key, rec->klen);
	if (err && err != -ENOENT)
		return err;
	tdb_table_set_log_lsn(r->t, end);
	r->counts.applied++;
	return 0;
}

/*
 * Creates, drops and load commits: the table set changes, nothing may be
 * pending.
 */
static int replay_table_op(struct replay *r, const struct tdb_wal_rec *rec,
			   u64 end)
{
	int err = replay_forget(r);

	if (err)
		return err;
	if (rec->type == TDB_WAL_TABLE_DROP) {
		err = tdb_table_drop(r->db, rec->name, NULL, NULL);
		return err == -ENOENT ? 0 : err;
	}
	if (rec->type == TDB_WAL_TABLE_SWAP ||
	    rec->type == TDB_WAL_TABLE_MERGE) {
		err = rec->type == TDB_WAL_TABLE_SWAP ?
			      tdb_table_swap(r->db, rec->name, rec->name2,
					     NULL, false) :
			      tdb_table_merge(r->db, rec->name, rec->name2,
					      NULL, false);
		/* Already applied: the checkpoint holds the result. */
		if (err == -ENOENT)
			return 0;
		if (!err)
			err = replay_table(r, rec->name);
		if (!err && r->t)
			tdb_table_set_log_lsn(r->t, end);
		return err;
	}
	err = tdb_table_create(r->db, rec->name, &rec->opts);
	if (err == -EEXIST)
		err = tdb_table_set_opts(r->db, rec->name, &rec->opts);
	if (!err)
		err = replay_table(r, rec->name);
	if (!err && r->t)
		tdb_table_set_log_lsn(r->t, end);
	return err;
}

static int replay_one(void *arg, const struct tdb_wal_rec *rec, u64 lsn,
		      u64 end)
{
	struct replay *r = arg;
	int err;

	switch (rec->type) {
	case TDB_WAL_PUT:
	case TDB_WAL_DEL:
		err = replay_write(r, rec, end);
		break;
	case TDB_WAL_TABLE_CREATE:
	case TDB_WAL_TABLE_DROP:
	case TDB_WAL_TABLE_SWAP:
	case TDB_WAL_TABLE_MERGE:
		err = replay_table_op(r, rec, end);
		if (!err)
			r->counts.applied++;
		break;
	default:
		port_log(PORT_LOG_ERR, "log record at LSN %llu: type %u is not supported by this %s",
			 (unsigned long long)lsn, rec->type, r->host);
		return -EOPNOTSUPP;
	}
	/* A pending put that fails is reported at a later record's LSN. */
	if (err)
		port_log(PORT_LOG_ERR, "log record at or before LSN %llu (table %s): %s",
			 (unsigned long long)lsn, rec->name, port_strerror(err));
	return err;
}

int tdb_replay_log(struct tdb_db *db, const char *dir, u64 from,
		   unsigned int flags, const char *host,
		   struct tdb_wal_report *rep, struct tdb_replay_counts *n)
{
	/* Off the stack: the slots are 4 KiB, a kernel stack 16. */
	struct replay *r = port_zalloc(sizeof(*r));
	int err, e;

	if (!r)
		return -ENOMEM;
	r->db = db;
	r->host = host;
	err = tdb_wal_replay(dir, from, flags, replay_one, r, rep);
	e = replay_forget(r);
	if (e && !err) {
		port_log(PORT_LOG_ERR, "the last log records: %s",
			 port_strerror(e));
		err = e;
	}
	*n = r->counts;
	port_free(r, sizeof(*r));
	return err;
}
