// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * table.c - tables: the registry, record writes and their reclamation,
 * reads and scans.
 *
 * Decisions recorded here:
 *  - The registry is an RCU list.  Owners hold tens of tables, not
 *    thousands; a lookup by name compares a few strings, and hosts look a
 *    table up once per request batch, not per record.
 *  - Memory use is what live records take in their size class plus the
 *    index's bucket heads.  Retired records still waiting for a grace
 *    period are not counted, so a replace never fails the quota for the
 *    record it is about to free.
 *  - Unlinked records are retired in batches of TDB_RETIRE_BATCH, one
 *    call_rcu() each, instead of an rcu_head in every record: that keeps a
 *    record's header at 16 bytes.
 *  - A drop only unlinks the table: it never waits.  The registry's
 *    reference goes after a grace period (no reader can still see the
 *    table), each pending retire batch and each holder has a reference of
 *    its own, and whoever drops the last one frees the table with all its
 *    records at once.  So a worker that runs a DROP goes straight on to
 *    its other clients.
 *  - A change is logged before it is made, under the lock that orders it,
 *    so the log's order is the order in which changes became visible, and
 *    a change the log refuses is never made.  The record is copied into
 *    the log's memory under that lock: a memcpy, no I/O.
 *  - A checkpoint load (tdb_table_load) appends to the index while the
 *    records come in its order; the index, not the table, keeps the state
 *    of the load and ends it at the first write of any other kind.
 */
#include "table.h"
#include "keytype.h"
#include "lpm.h"
#include "pool.h"
#include "wal.h"

#define TDB_RETIRE_BATCH 30
/*
 * Lock order: db->lock, then a table's wlock, then (commits) its staging
 * table's wlock, of the same kind, hence this subclass for lockdep.
 */
#define TDB_LOCK_STAGING 1
/* A batch holding this many bytes of records goes to RCU early. */
#define TDB_RETIRE_BYTES (1U << 20)
/* A scan lets RCU make progress after this many records. */
#define TDB_SCAN_STRIDE 1024

struct tdb_retire {
	struct rcu_head rcu;
	struct tdb_table *t;
	u32 n;
	u32 bytes;
	struct tdb_rec *recs[TDB_RETIRE_BATCH];
};

struct tdb_table {
	struct tdb_table *next;		/* registry list, RCU */
	struct tdb_db *db;
	char name[TDB_NAME_MAX];
	struct tdb_table_opts opts;
	struct tdb_index index;
	struct tdb_lpm lpm;		/* prefix tables only */
	bool has_lpm;
	struct tdb_heap *heap;
	/*
	 * The registry's reference, holders' and pending retire batches':
	 * the last one frees the table.
	 */
	port_atomic_t refs;
	struct rcu_head rcu;		/* drops the registry's reference */
	port_mutex_t wlock;		/* serialises writers */
	/* Under wlock (READ_ONCE outside): */
	bool dead;
	u64 rec_bytes;			/* READ_ONCE outside the lock */
	u64 log_lsn;			/* READ_ONCE outside the lock */
	struct tdb_retire *retire;
};

/* Memory the prefix index holds, for the quota and the stats. */
static u64 tdb_lpm_mem(const struct tdb_table *t)
{
	return t->has_lpm ? tdb_lpm_bytes(&t->lpm) : 0;
}

static size_t tdb_rec_usable(const struct tdb_rec *r)
{
	return tdb_heap_usable(tdb_rec_size(tdb_rec_klen(r), tdb_rec_vlen(r)));
}

static void tdb_rec_free(struct tdb_table *t, struct tdb_rec *r)
{
	tdb_heap_free(t->heap, r, tdb_rec_size(tdb_rec_klen(r), tdb_rec_vlen(r)));
}

static int tdb_key_check(const void *key, u32 klen)
{
	if (!key || !klen)
		return -EINVAL;
	if (klen > TDB_KEY_MAX)
		return -E2BIG;
	return 0;
}

/* A key that @t may store: tdb_key_check() and its key type's rules. */
static int tdb_key_check_type(const struct tdb_table *t, const void *key,
			      u32 klen)
{
	const char *why;
	int err = tdb_key_check(key, klen);

	if (!err)
		err = tdb_keytype_check(t->opts.key_type, key, klen, &why);
	return err;
}

bool tdb_table_opts_valid(const struct tdb_table_opts *opts)
{
	return opts->key_type <= TDB_KEY_TYPE_MAX &&
	       opts->durability <= TDB_DUR_MAX &&
	       !(opts->flags & ~TDB_TABLE_FLAGS) &&
	       opts->schema_len <= TDB_SCHEMA_MAX &&
	       (opts->schema || !opts->schema_len);
}

/*
 * Length of a valid table name, or 0.  Staging tables' names are '~' and
 * then what any table's may be.
 */
static size_t tdb_name_len(const char *name, bool staging)
{
	size_t n;

	if (!name)
		return 0;
	if (staging && *name++ != '~')
		return 0;
	for (n = 0; name[n]; n++) {
		char c = name[n];

		if (n + staging == TDB_NAME_MAX - 1)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return 0;
	}
	return n ? n + staging : 0;
}

int tdb_db_init(struct tdb_db *db)
{
	port_mutex_init(&db->lock);
	db->tables = NULL;
	db->ntables = 0;
	db->tables_per_uid = TDB_TABLES_PER_UID;
	db->wal = NULL;
	return 0;
}

void tdb_db_fini(struct tdb_db *db)
{
	struct tdb_table *t;

	while ((t = db->tables))
		tdb_table_drop(db, t->name, NULL, NULL);
	/* The drops' grace periods and retire batches end the tables. */
	rcu_barrier();
	port_mutex_destroy(&db->lock);
}

/* Runs after a grace period: nobody can reach these records any more. */
static void tdb_retire_free(struct rcu_head *head)
{
	struct tdb_retire *rb = container_of(head, struct tdb_retire, rcu);
	struct tdb_table *t = rb->t;
	u32 i;

	for (i = 0; i < rb->n; i++)
		tdb_rec_free(t, rb->recs[i]);
	tdb_heap_free(t->heap, rb, sizeof(*rb));
	tdb_table_release(t);
}

/* Hands the current batch to RCU.  Under wlock. */
static void tdb_retire_flush(struct tdb_table *t)
{
	struct tdb_retire *rb = t->retire;

	if (!rb)
		return;
	t->retire = NULL;
	call_rcu(&rb->rcu, tdb_retire_free);
}

/*
 * Frees @r once no reader can see it.  Under wlock.  Without memory for a
 * batch, waits for a grace period right here: slow, but never unsafe.
 */
static void tdb_retire(struct tdb_table *t, struct tdb_rec *r)
{
	struct tdb_retire *rb = t->retire;

	if (!rb) {
		rb = tdb_heap_alloc(t->heap, sizeof(*rb));
		if (unlikely(!rb)) {
			synchronize_rcu();
			tdb_rec_free(t, r);
			return;
		}
		rb->t = t;
		rb->n = 0;
		rb->bytes = 0;
		t->retire = rb;
		tdb_table_hold(t);
	}
	rb->recs[rb->n++] = r;
	rb->bytes += tdb_rec_usable(r);
	if (rb->n == TDB_RETIRE_BATCH || rb->bytes >= TDB_RETIRE_BYTES)
		tdb_retire_flush(t);
}

void tdb_table_flush(struct tdb_table *t)
{
	port_mutex_lock(&t->wlock);
	tdb_retire_flush(t);
	if (t->has_lpm)
		tdb_lpm_flush(&t->lpm);
	port_mutex_unlock(&t->wlock);
}

/*
 * Appends @rec to the log if @db has one and @opts' tables are logged:
 * 0 (and *@lsn past the record, when logged) or the log's error.  Under
 * the lock that orders the change.
 */
static int tdb_log(struct tdb_db *db, const struct tdb_table_opts *opts,
		   const struct tdb_wal_rec *rec, u64 *lsn)
{
	u64 end;
	int err;

	if (!db->wal || opts->durability == TDB_DUR_MEMORY)
		return 0;
	err = tdb_wal_last_error(db->wal);
	if (!err)
		err = tdb_wal_append(db->wal, rec, &end);
	if (!err && lsn)
		WRITE_ONCE(*lsn, end);
	return err;
}

/* The table called @name and the link pointing at it.  Under db->lock. */
static struct tdb_table **tdb_table_link(struct tdb_db *db, const char *name)
{
	struct tdb_table **link;

	for (link = &db->tables; *link; link = &(*link)->next)
		if (!strcmp((*link)->name, name))
			break;
	return link;
}

/* Frees @t and every record at once: nobody can reach it any more. */
static void tdb_table_free(struct tdb_table *t)
{
	/* Every record lives in the heap, which goes whole. */
	if (t->has_lpm)
		tdb_lpm_destroy(&t->lpm);
	tdb_index_destroy(&t->index, NULL, NULL);
	tdb_heap_destroy(t->heap);
	port_free((void *)t->opts.schema, t->opts.schema_len);
	port_mutex_destroy(&t->wlock);
	port_free(t, sizeof(*t));
}

/* A grace period after the drop: readers that found @t are gone. */
static void tdb_table_unlinked(struct rcu_head *head)
{
	tdb_table_release(container_of(head, struct tdb_table, rcu));
}

/* Whether @t's owner may own one table more.  Under db->lock. */
static int tdb_uid_may_create(const struct tdb_db *db,
			      const struct tdb_table *t)
{
	const struct tdb_table *o;
	unsigned int n = 0;

	if (!db->tables_per_uid || !t->opts.uid ||
	    t->opts.flags & TDB_TABLE_STAGING)
		return 0;
	for (o = db->tables; o; o = o->next)
		if (o->opts.uid == t->opts.uid &&
		    !(o->opts.flags & TDB_TABLE_STAGING) &&
		    ++n >= db->tables_per_uid)
			return -EDQUOT;
	return 0;
}

int tdb_table_create(struct tdb_db *db, const char *name,
		     const struct tdb_table_opts *opts)
{
	return tdb_table_create_keyed(db, name, opts, NULL, 0);
}

int tdb_table_create_keyed(struct tdb_db *db, const char *name,
			   const struct tdb_table_opts *opts,
			   const struct port_hash_key *key, u64 records)
{
	static const struct tdb_table_opts defaults;
	size_t nlen;
	struct tdb_table *t;
	void *schema = NULL;
	int err;

	if (!opts)
		opts = &defaults;
	nlen = tdb_name_len(name, opts->flags & TDB_TABLE_STAGING);
	if (!nlen || !tdb_table_opts_valid(opts))
		return -EINVAL;
	t = port_zalloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(t->name, name, nlen + 1);
	t->db = db;
	t->opts = *opts;
	port_atomic_set(&t->refs, 1);
	port_mutex_init(&t->wlock);
	if (opts->schema_len) {
		schema = port_alloc(opts->schema_len);
		if (!schema) {
			err = -ENOMEM;
			goto free_table;
		}
		memcpy(schema, opts->schema, opts->schema_len);
	}
	t->opts.schema = schema;
	err = tdb_index_init_keyed(&t->index, key, records);
	if (err)
		goto free_schema;
	t->heap = tdb_heap_create();
	if (!t->heap) {
		err = -ENOMEM;
		goto destroy_index;
	}
	if (tdb_keytype_is_prefix(opts->key_type)) {
		u32 bits = 8 * tdb_keytype_addr_len(opts->key_type);

		/* Nobody looks up a staging table: it builds in place. */
		err = opts->flags & TDB_TABLE_STAGING ?
			      tdb_lpm_init_private(&t->lpm, bits) :
			      tdb_lpm_init(&t->lpm, bits);
		if (err)
			goto destroy_heap;
		t->has_lpm = true;
	}

	port_mutex_lock(&db->lock);
	err = *tdb_table_link(db, name) ? -EEXIST : tdb_uid_may_create(db, t);
	if (!err) {
		struct tdb_wal_rec rec = {
			.type = TDB_WAL_TABLE_CREATE,
			.name = t->name,
			.opts = t->opts,
		};

		err = tdb_log(db, &t->opts, &rec, &t->log_lsn);
	}
	if (err) {
		port_mutex_unlock(&db->lock);
		goto destroy_lpm;
	}
	t->next = db->tables;
	rcu_assign_pointer(db->tables, t);
	db->ntables++;
	port_mutex_unlock(&db->lock);
	return 0;

destroy_lpm:
	if (t->has_lpm)
		tdb_lpm_destroy(&t->lpm);
destroy_heap:
	tdb_heap_destroy(t->heap);
destroy_index:
	tdb_index_destroy(&t->index, NULL, NULL);
free_schema:
	port_free(schema, opts->schema_len);
free_table:
	port_mutex_destroy(&t->wlock);
	port_free(t, sizeof(*t));
	return err;
}

/*
 * Unlinks @t, found at @link: later writes to it fail with -ENOENT, and
 * it goes once its readers and holders have.  Under db->lock and
 * t->wlock, which it releases.
 */
static void tdb_table_unlink(struct tdb_db *db, struct tdb_table **link,
			     struct tdb_table *t)
{
	WRITE_ONCE(t->dead, true);
	tdb_retire_flush(t);
	if (t->has_lpm)
		tdb_lpm_flush(&t->lpm);
	port_mutex_unlock(&t->wlock);
	rcu_assign_pointer(*link, t->next);
	db->ntables--;
	call_rcu(&t->rcu, tdb_table_unlinked);
}

int tdb_table_drop(struct tdb_db *db, const char *name,
		   int (*allow)(void *arg, const struct tdb_table_opts *opts),
		   void *arg)
{
	struct tdb_wal_rec rec = { .type = TDB_WAL_TABLE_DROP };
	struct tdb_table **link, *t;
	int err;

	port_mutex_lock(&db->lock);
	link = tdb_table_link(db, name);
	t = *link;
	err = t ? 0 : -ENOENT;
	if (t && allow)
		err = allow(arg, &t->opts);
	if (err) {
		port_mutex_unlock(&db->lock);
		return err;
	}
	/*
	 * The table's write lock too, so that no write to it can be logged
	 * after the DROP record: replayed after a re-create of the name, it
	 * would land in the new table.
	 */
	port_mutex_lock(&t->wlock);
	rec.name = t->name;
	err = tdb_log(db, &t->opts, &rec, NULL);
	if (err) {
		port_mutex_unlock(&t->wlock);
		port_mutex_unlock(&db->lock);
		return err;
	}
	tdb_table_unlink(db, link, t);
	port_mutex_unlock(&db->lock);
	return 0;
}

int tdb_table_set_opts(struct tdb_db *db, const char *name,
		       const struct tdb_table_opts *opts)
{
	struct tdb_table_opts old;
	struct tdb_table *t;
	void *schema = NULL;
	int err = 0;

	if (!tdb_table_opts_valid(opts))
		return -EINVAL;
	if (opts->schema_len) {
		schema = port_alloc(opts->schema_len);
		if (!schema)
			return -ENOMEM;
		memcpy(schema, opts->schema, opts->schema_len);
	}
	port_mutex_lock(&db->lock);
	t = *tdb_table_link(db, name);
	if (!t) {
		err = -ENOENT;
	} else if (t->opts.key_type != opts->key_type ||
		   (t->opts.flags ^ opts->flags) & TDB_TABLE_STAGING) {
		/* The records and the index were made for the old ones. */
		err = -EINVAL;
	} else {
		old = t->opts;
		t->opts = *opts;
		t->opts.schema = schema;
		schema = (void *)old.schema;
	}
	port_mutex_unlock(&db->lock);
	/* Either the old schema or the unused copy. */
	port_free(schema, err ? opts->schema_len : old.schema_len);
	return err;
}

/*
 * The tables a commit works on, found and checked under db->lock: the
 * target @name and the staging table @staging.
 */
static int tdb_commit_find(struct tdb_db *db, const char *name,
			   const char *staging, const struct tdb_table *target,
			   struct tdb_table **t, struct tdb_table **s)
{
	*t = *tdb_table_link(db, name);
	*s = *tdb_table_link(db, staging);
	if (!*t || !*s || !((*s)->opts.flags & TDB_TABLE_STAGING) ||
	    (*t)->opts.flags & TDB_TABLE_STAGING)
		return -ENOENT;
	if (target && *t != target)
		return -ESTALE;
	return (*t)->opts.key_type == (*s)->opts.key_type ? 0 : -EINVAL;
}

/*
 * Puts @s, a staging table, in @t's place under @t's name.  Under
 * db->lock and t->wlock, which it releases: no write can reach @t between
 * the commit's log record and its death.
 */
static void tdb_swap_in(struct tdb_db *db, struct tdb_table *t,
			struct tdb_table *s)
{
	struct tdb_table **link;

	/*
	 * Readers compare names while they walk the list, so s leaves it
	 * first and is renamed only once no reader can be looking at it;
	 * then it replaces t in one pointer store.
	 */
	rcu_assign_pointer(*tdb_table_link(db, s->name), s->next);
	synchronize_rcu();
	port_mutex_lock_nested(&s->wlock, TDB_LOCK_STAGING);
	memcpy(s->name, t->name, sizeof(s->name));
	s->opts.flags &= ~TDB_TABLE_STAGING;
	if (s->has_lpm)
		tdb_lpm_publish(&s->lpm);
	port_mutex_unlock(&s->wlock);
	/* s after t, then t's link pointing at s: one store each. */
	link = tdb_table_link(db, t->name);
	s->next = t->next;
	rcu_assign_pointer(t->next, s);
	tdb_table_unlink(db, link, t);
}

int tdb_table_swap(struct tdb_db *db, const char *name, const char *staging,
		   const struct tdb_table *target, bool log)
{
	struct tdb_wal_rec rec = { .type = TDB_WAL_TABLE_SWAP };
	struct tdb_table *t, *s;
	int err;

	port_mutex_lock(&db->lock);
	err = tdb_commit_find(db, name, staging, target, &t, &s);
	if (err)
		goto unlock;
	port_mutex_lock(&t->wlock);
	if (log) {
		rec.name = t->name;
		rec.name2 = s->name;
		err = tdb_log(db, &t->opts, &rec, &s->log_lsn);
		if (err) {
			port_mutex_unlock(&t->wlock);
			goto unlock;
		}
	}
	tdb_swap_in(db, t, s);
unlock:
	port_mutex_unlock(&db->lock);
	return err;
}

static struct tdb_rec *tdb_rec_make(struct tdb_table *t, struct tdb_key *k,
				    const void *key, u32 klen, const void *val,
				    u32 vlen);
static int tdb_put_locked(struct tdb_table *t, struct tdb_rec *r,
			  const struct tdb_key *k, unsigned int flags,
			  bool log);

/*
 * Puts every record of @from that @to lacks (@create) or every record
 * (!@create) into @to.  Under both tables' write locks: @from's keeps its
 * records in place, so the walk needs no RCU.
 */
static int tdb_copy_records(struct tdb_table *to, struct tdb_table *from,
			    bool create, bool must)
{
	struct tdb_key start = { .so_key = 0, .len = 0 };
	const struct tdb_rec *fr;
	struct tdb_rec *r;
	struct tdb_key k;
	u32 n = 0;
	int err = 0;

	for (fr = tdb_index_seek(&from->index, &start); fr && !err;
	     fr = tdb_index_next(fr)) {
		u32 klen = tdb_rec_klen(fr), vlen = tdb_rec_vlen(fr);

		/* Millions of records: under the locks, in no RCU section. */
		if (!(++n & 255))
			port_cond_resched();

		do {
			r = tdb_rec_make(to, &k, tdb_rec_key(fr), klen,
					 tdb_rec_val(fr), vlen);
			err = r ? tdb_put_locked(to, r, &k,
						 create ? TDB_PUT_CREATE : 0,
						 false) :
				  -ENOMEM;
			/* A logged merge cannot stop half-way: wait. */
			if (err == -ENOMEM && must)
				port_yield();
		} while (err == -ENOMEM && must);
		if (err == -EEXIST)
			err = 0;
	}
	tdb_retire_flush(to);
	if (to->has_lpm)
		tdb_lpm_flush(&to->lpm);
	return err;
}

/*
 * Decisions: a merge copies the smaller table into the larger.  When the
 * staging table is the larger (a big load into a small table), the
 * target's records that the load does not replace go into it, and it is
 * swapped in as a replace would be: readers then see the old records or
 * the merged ones, never a mix, and the work is the target's size, not
 * the load's.  Otherwise the load's records go into the target in place.
 * The target's write lock is held throughout, so no write to it is lost.
 */
int tdb_table_merge(struct tdb_db *db, const char *name, const char *staging,
		    const struct tdb_table *target, bool log)
{
	struct tdb_wal_rec rec = { .type = TDB_WAL_TABLE_MERGE };
	struct tdb_table_stats ts, ss;
	struct tdb_table *t, *s;
	bool into_staging;
	int err;

	port_mutex_lock(&db->lock);
	err = tdb_commit_find(db, name, staging, target, &t, &s);
	if (err)
		goto unlock;
	port_mutex_lock(&t->wlock);
	tdb_table_stats(t, &ts);
	tdb_table_stats(s, &ss);
	err = -ENOSPC;
	if (log && t->opts.quota &&
	    ts.mem_bytes + ss.mem_bytes > t->opts.quota)
		goto unlock_t;
	err = 0;
	port_mutex_lock_nested(&s->wlock, TDB_LOCK_STAGING);
	into_staging = ts.records < ss.records;
	if (into_staging) {
		/* Before the log record: a failure is the load's alone. */
		err = tdb_copy_records(s, t, true, false);
		if (err)
			goto unlock_s;
	}
	if (log) {
		rec.name = t->name;
		rec.name2 = s->name;
		err = tdb_log(db, &t->opts, &rec, &t->log_lsn);
		if (err)
			goto unlock_s;
	}
	if (into_staging) {
		port_mutex_unlock(&s->wlock);
		/* The swapped-in table is the one later writes wait for. */
		WRITE_ONCE(s->log_lsn, t->log_lsn);
		tdb_swap_in(db, t, s);
		goto unlock;
	}
	/* Logged, the merge must be whole, as the log will replay it. */
	tdb_copy_records(t, s, false, true);
	port_mutex_unlock(&t->wlock);
	tdb_table_unlink(db, tdb_table_link(db, staging), s);
	goto unlock;
unlock_s:
	port_mutex_unlock(&s->wlock);
unlock_t:
	port_mutex_unlock(&t->wlock);
unlock:
	port_mutex_unlock(&db->lock);
	return err;
}

void tdb_db_quiesce(struct tdb_db *db)
{
	port_mutex_lock(&db->lock);
	port_mutex_unlock(&db->lock);
}

void tdb_table_quiesce(struct tdb_table *t)
{
	port_mutex_lock(&t->wlock);
	port_mutex_unlock(&t->wlock);
}

u64 tdb_table_log_lsn(const struct tdb_table *t)
{
	return READ_ONCE(t->log_lsn);
}

void tdb_table_set_log_lsn(struct tdb_table *t, u64 lsn)
{
	WRITE_ONCE(t->log_lsn, lsn);
}

struct tdb_table *tdb_table_find(struct tdb_db *db, const char *name)
{
	struct tdb_table *t;

	for (t = rcu_dereference(db->tables); t; t = rcu_dereference(t->next))
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

void tdb_table_hold(struct tdb_table *t)
{
	port_atomic_inc(&t->refs);
}

void tdb_table_release(struct tdb_table *t)
{
	if (!port_atomic_dec_return(&t->refs))
		tdb_table_free(t);
}

int tdb_db_snapshot(struct tdb_db *db,
		    int (*fn)(void *arg, struct tdb_table *t), void *arg)
{
	int ret;

	port_mutex_lock(&db->lock);
	ret = tdb_db_for_each(db, fn, arg);
	port_mutex_unlock(&db->lock);
	return ret;
}

int tdb_db_for_each(struct tdb_db *db,
		    int (*fn)(void *arg, struct tdb_table *t), void *arg)
{
	struct tdb_table *t;
	int ret = 0;

	rcu_read_lock();
	for (t = rcu_dereference(db->tables); t && !ret;
	     t = rcu_dereference(t->next))
		ret = fn(arg, t);
	rcu_read_unlock();
	return ret;
}

const char *tdb_table_name(const struct tdb_table *t)
{
	return t->name;
}

bool tdb_table_dead(const struct tdb_table *t)
{
	return READ_ONCE(t->dead);
}

void tdb_table_opts(const struct tdb_table *t, struct tdb_table_opts *opts)
{
	*opts = t->opts;
}

void tdb_table_hash_key(const struct tdb_table *t, struct port_hash_key *key)
{
	/* Set at creation, never changed. */
	*key = t->index.hash_key;
}

void tdb_table_stats(const struct tdb_table *t, struct tdb_table_stats *st)
{
	st->records = tdb_index_count(&t->index);
	st->mem_bytes = READ_ONCE(t->rec_bytes) + READ_ONCE(t->index.bytes) +
			tdb_lpm_mem(t);
	st->quota = t->opts.quota;
	st->heap_bytes = tdb_heap_size(t->heap);
	st->index_bytes = READ_ONCE(t->index.bytes);
	st->index_buckets = 1U << READ_ONCE(t->index.size_log);
}

const struct tdb_rec *tdb_table_lookup(struct tdb_table *t, const void *key,
				       u32 klen)
{
	struct tdb_key k;

	if (tdb_key_check(key, klen))
		return NULL;
	tdb_index_key(&t->index, &k, key, klen);
	return tdb_index_lookup(&t->index, &k);
}

/* Keys the index hashes and walks together. */
#define TDB_LOOKUP_CHUNK 32

void tdb_table_lookup_batch(struct tdb_table *t, unsigned int n,
			    const void *const *keys, const u32 *klens,
			    const struct tdb_rec **out)
{
	struct tdb_key k[TDB_LOOKUP_CHUNK];
	struct tdb_rec *found[TDB_LOOKUP_CHUNK];
	unsigned int at[TDB_LOOKUP_CHUNK];
	unsigned int i = 0, m, j;

	while (i < n) {
		/* Invalid keys find nothing and take no place in the batch. */
		for (m = 0; i < n && m < TDB_LOOKUP_CHUNK; i++) {
			out[i] = NULL;
			if (tdb_key_check(keys[i], klens[i]))
				continue;
			tdb_index_key(&t->index, &k[m], keys[i], klens[i]);
			at[m++] = i;
		}
		tdb_index_lookup_batch(&t->index, m, k, found);
		for (j = 0; j < m; j++)
			out[at[j]] = found[j];
	}
}

const struct tdb_rec *tdb_table_match(struct tdb_table *t, const u8 *addr)
{
	return t->has_lpm ? tdb_lpm_lookup(&t->lpm, addr) : NULL;
}

void tdb_table_match_batch(struct tdb_table *t, unsigned int n,
			   const u8 *const *addrs, const struct tdb_rec **out)
{
	unsigned int i;

	if (t->has_lpm) {
		tdb_lpm_lookup_batch(&t->lpm, n, addrs, (void **)out);
		return;
	}
	for (i = 0; i < n; i++)
		out[i] = NULL;
}

void tdb_table_prefetch(struct tdb_table *t, const void *key, u32 klen,
			unsigned int step)
{
	struct tdb_key k;

	if (tdb_key_check(key, klen))
		return;
	tdb_index_key(&t->index, &k, key, klen);
	tdb_index_prefetch(&t->index, &k, step);
}

void tdb_table_prefetch_batch(struct tdb_table *t, unsigned int n,
			      const u8 *const *keys, const u32 *klens)
{
	const u8 *addrs[TDB_LOOKUP_CHUNK];
	unsigned int i, m, step;

	/*
	 * The walks read only what readers may, under RCU as they do, and
	 * only over keys of the table's size: each reads a whole address.
	 */
	if (t->has_lpm) {
		u32 klen = t->lpm.bits / 8 + 1;

		rcu_read_lock();
		for (i = 0; i < n;) {
			for (m = 0; i < n && m < TDB_LOOKUP_CHUNK; i++)
				if (klens[i] == klen)
					addrs[m++] = keys[i];
			tdb_lpm_prefetch(&t->lpm, m, addrs);
		}
		rcu_read_unlock();
	}
	for (step = 0; step < 2; step++)
		for (i = 0; i < n; i++)
			tdb_table_prefetch(t, keys[i], klens[i], step);
}

int tdb_table_read(struct tdb_table *t, const void *key, u32 klen, void *buf,
		   u32 cap, u32 *vlen)
{
	const struct tdb_rec *r;
	int err = tdb_key_check(key, klen);

	if (err)
		return err;
	rcu_read_lock();
	r = tdb_table_lookup(t, key, klen);
	if (r) {
		*vlen = tdb_rec_vlen(r);
		memcpy(buf, tdb_rec_val(r), *vlen < cap ? *vlen : cap);
	}
	rcu_read_unlock();
	return r ? 0 : -ENOENT;
}

/* Whether growing the table by @delta bytes stays within its quota. */
static bool tdb_quota_allows(const struct tdb_table *t, s64 delta)
{
	u64 quota = t->opts.quota;

	if (!quota || delta <= 0)
		return true;
	return t->rec_bytes + READ_ONCE(t->index.bytes) + tdb_lpm_mem(t) +
		       (u64)delta <= quota;
}

/* Checks the key and value of a put: 0, -EINVAL or -E2BIG. */
static int tdb_rec_check(const void *key, u32 klen, const void *val, u32 vlen)
{
	int err = tdb_key_check(key, klen);

	if (err)
		return err;
	if (vlen > TDB_VAL_MAX)
		return -E2BIG;
	if (vlen && !val)
		return -EINVAL;
	return 0;
}

/*
 * Builds the record of a put from @t's heap, outside the lock (writers
 * wait only for links), and fills @k for it.  NULL without memory.
 */
static struct tdb_rec *tdb_rec_make(struct tdb_table *t, struct tdb_key *k,
				    const void *key, u32 klen, const void *val,
				    u32 vlen)
{
	struct tdb_rec *r = tdb_heap_alloc(t->heap, tdb_rec_size(klen, vlen));

	if (!r)
		return NULL;
	tdb_index_key(&t->index, k, key, klen);
	r->next = NULL;
	r->so_key = k->so_key;
	r->len = klen | vlen << TDB_REC_KLEN_BITS;
	memcpy(r->data, key, klen);
	if (vlen)
		memcpy(r->data + klen, val, vlen);
	k->data = r->data;	/* the copy, in case @key lives in @val */
	return r;
}

/*
 * The prefix index's part of linking @r in place of @old: done before the
 * record is logged and linked, so that its one failure (-ENOMEM) stops
 * the put before anything else changed.  Under wlock.
 */
static int tdb_lpm_link(struct tdb_table *t, struct tdb_rec *r)
{
	const u8 *key = tdb_rec_key(r);
	u32 alen = tdb_rec_klen(r) - 1;

	if (!t->has_lpm)
		return 0;
	return tdb_lpm_insert(&t->lpm, key, key[alen], r);
}

/* Takes back tdb_lpm_link() of @r when the put fails after it. */
static void tdb_lpm_unlink(struct tdb_table *t, struct tdb_rec *r,
			   struct tdb_rec *old)
{
	const u8 *key = tdb_rec_key(r);
	u32 alen = tdb_rec_klen(r) - 1;

	if (!t->has_lpm)
		return;
	/* Putting back a leaf where the prefix is never allocates. */
	if (old)
		tdb_lpm_insert(&t->lpm, key, key[alen], old);
	else
		tdb_lpm_remove(&t->lpm, key, key[alen]);
}

/*
 * Checks a put's key and value, then makes its record (tdb_rec_make()):
 * 0 with *@r set, -EINVAL, -E2BIG or -ENOMEM.
 */
static int tdb_rec_new(struct tdb_table *t, struct tdb_key *k, const void *key,
		       u32 klen, const void *val, u32 vlen, struct tdb_rec **r)
{
	int err = tdb_rec_check(key, klen, val, vlen);

	if (!err)
		err = tdb_key_check_type(t, key, klen);
	if (err)
		return err;
	*r = tdb_rec_make(t, k, key, klen, val, vlen);
	return *r ? 0 : -ENOMEM;
}

/* Links @r at @slot, in place of @old when it is the same key.  Under wlock. */
static void tdb_link(struct tdb_table *t, struct tdb_rec **slot,
		     struct tdb_rec *r, struct tdb_rec *old)
{
	if (old) {
		tdb_index_replace(slot, r);
		tdb_retire(t, old);
	} else {
		tdb_index_insert(&t->index, slot, r);
	}
}

/*
 * Puts the record @r, made by tdb_rec_make() for @k, under wlock: checks
 * @flags against what is there, then (when @log) the quota and the log,
 * and links it.  On error nothing changed, and @r is freed here: at once
 * when no reader can have seen it, else after a grace period (a prefix
 * index may have shown it to lookups before the log refused it).
 */
static int tdb_put_locked(struct tdb_table *t, struct tdb_rec *r,
			  const struct tdb_key *k, unsigned int flags, bool log)
{
	struct tdb_rec **slot, *old;
	u32 klen = tdb_rec_klen(r), vlen = tdb_rec_vlen(r);
	s64 delta;
	int err;

	err = -ENOENT;
	if (t->dead)
		goto free_rec;
	slot = tdb_index_slot(&t->index, k);
	old = tdb_rec_matches(*slot, k) ? *slot : NULL;
	if (old ? flags & TDB_PUT_CREATE : flags & TDB_PUT_REPLACE) {
		err = old ? -EEXIST : -ENOENT;
		goto free_rec;
	}
	delta = (s64)tdb_rec_usable(r) - (old ? (s64)tdb_rec_usable(old) : 0);
	err = -ENOSPC;
	if (log && !tdb_quota_allows(t, delta))
		goto free_rec;
	err = tdb_lpm_link(t, r);
	if (err)
		goto free_rec;
	if (log) {
		struct tdb_wal_rec rec = {
			.type = TDB_WAL_PUT,
			.name = t->name,
			.key = tdb_rec_key(r),
			.klen = klen,
			.val = tdb_rec_val(r),
			.vlen = vlen,
		};

		err = tdb_log(t->db, &t->opts, &rec, &t->log_lsn);
		if (err) {
			tdb_lpm_unlink(t, r, old);
			tdb_retire(t, r);
			return err;
		}
	}
	tdb_link(t, slot, r, old);
	WRITE_ONCE(t->rec_bytes, t->rec_bytes + delta);
	return 0;

free_rec:
	/* A load's record may sit in the prefix index already. */
	if (t->has_lpm)
		tdb_retire(t, r);
	else
		tdb_rec_free(t, r);
	return err;
}

int tdb_table_put(struct tdb_table *t, const void *key, u32 klen,
		  const void *val, u32 vlen, unsigned int flags)
{
	struct tdb_rec *r;
	struct tdb_key k;
	int err;

	if ((flags & ~(TDB_PUT_CREATE | TDB_PUT_REPLACE | TDB_PUT_RECOVER)) ||
	    (flags & TDB_PUT_CREATE && flags & TDB_PUT_REPLACE))
		return -EINVAL;
	err = tdb_rec_new(t, &k, key, klen, val, vlen, &r);
	if (err)
		return err;
	port_mutex_lock(&t->wlock);
	err = tdb_put_locked(t, r, &k, flags & ~TDB_PUT_RECOVER,
			     !(flags & TDB_PUT_RECOVER));
	port_mutex_unlock(&t->wlock);
	return err;
}

/*
 * The put of TDB_PUT_RECOVER, with an append to the index in place of the
 * walk while the index takes one (see tdb_index_append()).
 */
int tdb_table_load(struct tdb_table *t, const void *key, u32 klen,
		   const void *val, u32 vlen)
{
	struct tdb_rec *r;
	struct tdb_key k;
	int err;

	err = tdb_rec_new(t, &k, key, klen, val, vlen, &r);
	if (err)
		return err;
	port_mutex_lock(&t->wlock);
	/* A failed insert into the prefix index leaves it as it was. */
	err = t->dead ? 0 : tdb_lpm_link(t, r);
	if (err)
		tdb_rec_free(t, r);
	else if (!t->dead && tdb_index_append(&t->index, r))
		WRITE_ONCE(t->rec_bytes, t->rec_bytes + tdb_rec_usable(r));
	else
		err = tdb_put_locked(t, r, &k, 0, false);
	port_mutex_unlock(&t->wlock);
	return err;
}

void tdb_table_load_end(struct tdb_table *t)
{
	port_mutex_lock(&t->wlock);
	tdb_index_append_end(&t->index);
	port_mutex_unlock(&t->wlock);
}

int tdb_table_delete(struct tdb_table *t, const void *key, u32 klen)
{
	struct tdb_wal_rec rec = {
		.type = TDB_WAL_DEL,
		.name = t->name,
		.key = key,
		.klen = klen,
	};
	struct tdb_rec **slot, *old;
	struct tdb_key k;
	int err;

	err = tdb_key_check_type(t, key, klen);
	if (err)
		return err;
	tdb_index_key(&t->index, &k, key, klen);

	port_mutex_lock(&t->wlock);
	err = -ENOENT;
	if (t->dead)
		goto unlock;
	slot = tdb_index_slot(&t->index, &k);
	if (!tdb_rec_matches(*slot, &k))
		goto unlock;
	err = tdb_log(t->db, &t->opts, &rec, &t->log_lsn);
	if (err)
		goto unlock;
	if (t->has_lpm)
		tdb_lpm_remove(&t->lpm, key, ((const u8 *)key)[klen - 1]);
	old = tdb_index_remove(&t->index, slot);
	WRITE_ONCE(t->rec_bytes, t->rec_bytes - tdb_rec_usable(old));
	tdb_retire(t, old);
	err = 0;
unlock:
	port_mutex_unlock(&t->wlock);
	return err;
}

void tdb_cursor_init(struct tdb_cursor *c)
{
	c->so_key = 0;
	c->klen = 0;
	c->done = false;
}

int tdb_table_scan(struct tdb_table *t, struct tdb_cursor *c,
		   int (*fn)(void *arg, const struct tdb_rec *rec), void *arg)
{
	const struct tdb_rec *r;
	struct tdb_key pos;
	unsigned int n;
	int ret = 0;

	if (c->done)
		return 0;
	do {
		/* Each stride re-seeks from the cursor under a fresh lock. */
		rcu_read_lock();
		pos.data = c->key;
		pos.len = c->klen;
		pos.so_key = c->so_key;
		r = tdb_index_seek(&t->index, &pos);
		for (n = 0; r && n < TDB_SCAN_STRIDE; n++) {
			ret = fn(arg, r);
			if (ret)
				break;
			c->so_key = r->so_key;
			c->klen = tdb_rec_klen(r);
			memcpy(c->key, tdb_rec_key(r), c->klen);
			r = tdb_index_next(r);
		}
		rcu_read_unlock();
		if (r && n < TDB_SCAN_STRIDE)
			return ret;
	} while (r);
	c->done = true;
	return 0;
}
