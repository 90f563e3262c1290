// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * exec.c - the executor: batch framing checks, the command dispatch table,
 * access control, the handlers and the response writer.
 *
 * Decisions recorded here:
 *  - Framing is checked for the whole batch before the first request runs,
 *    so a malformed batch has no effect at all.
 *  - Requests run in batch order.  A run of consecutive GETs naming the
 *    same table is looked up with tdb_table_lookup_batch() under one
 *    rcu_read_lock(), so that their cache misses overlap.
 *  - A table is looked up once per run of requests naming it and held
 *    (tdb_table_hold) until the name changes or the batch ends; a run that
 *    wrote to it ends with tdb_table_flush().  Holds are dropped before a
 *    DROP, so that the table goes as soon as its readers have.
 *  - Access: a table has the uid/gid of the connection that created it and
 *    a mode (TDB_A_MODE & 0777; absent or 0 means 0600).  uid 0 may do
 *    anything; the owner uid gets the 0700 bits, a matching gid the 0070
 *    bits, everyone else the 0007 bits.  GET, SCAN and INFO need r, PUT and
 *    DEL need w, DROP needs the owner or root, LIST shows readable tables
 *    only.  Only the primary gid counts (SO_PEERCRED has no others).
 *  - Values come in chunks (tdb/proto.h, Values); a PUT whose value has
 *    several chunks has them moved together in place in the batch buffer.
 *  - The scan cursor on the wire is struct tdb_cursor's position: so_key
 *    (u32, host order) then the key bytes of the last record returned, 4
 *    to 4 + TDB_KEY_MAX bytes.  Any such bytes are a valid position, so a
 *    forged cursor can only skip records, never harm anything.
 *  - A scan response holds at most min(MAX_RECORDS, TDB_SCAN_MAX_RECORDS)
 *    records and about min(MAX_BYTES, TDB_SCAN_MAX_BYTES) bytes of them,
 *    but always at least one record when any is left, so a scan always
 *    progresses (a 1 MiB record comes alone).
 */
#include "exec_int.h"
#include "keytype.h"

static const struct tdb_cmd_desc tdb_cmds[__TDB_CMD_MAX];

static const char *const tdb_attr_names[TDB_A_MAX + 1] = {
	[TDB_A_STATUS] = "STATUS",	   [TDB_A_TABLE] = "TABLE",
	[TDB_A_KEY] = "KEY",		   [TDB_A_VALUE] = "VALUE",
	[TDB_A_FLAGS] = "FLAGS",	   [TDB_A_CURSOR] = "CURSOR",
	[TDB_A_MAX_RECORDS] = "MAX_RECORDS", [TDB_A_MAX_BYTES] = "MAX_BYTES",
	[TDB_A_RECORD] = "RECORD",	   [TDB_A_DONE] = "DONE",
	[TDB_A_QUOTA] = "QUOTA",	   [TDB_A_MODE] = "MODE",
	[TDB_A_UID] = "UID",		   [TDB_A_GID] = "GID",
	[TDB_A_KEY_TYPE] = "KEY_TYPE",	   [TDB_A_DURABILITY] = "DURABILITY",
	[TDB_A_RECORDS] = "RECORDS",	   [TDB_A_MEM_BYTES] = "MEM_BYTES",
	[TDB_A_TABLE_ENTRY] = "TABLE_ENTRY", [TDB_A_CONNECTIONS] = "CONNECTIONS",
	[TDB_A_TABLES] = "TABLES",	   [TDB_A_REQUESTS] = "REQUESTS",
	[TDB_A_MESSAGE] = "MESSAGE",	   [TDB_A_SCHEMA] = "SCHEMA",
};

/* What requests may carry; anything else is ignored. */
static const struct port_attr_policy tdb_req_policy[TDB_A_MAX + 1] = {
	[TDB_A_TABLE] = { .kind = PORT_ATTR_STRING, .max_len = TDB_NAME_MAX },
	/* Key limits are checked by the executor, for -E2BIG. */
	[TDB_A_KEY] = { .kind = PORT_ATTR_BINARY },
	[TDB_A_VALUE] = { .kind = PORT_ATTR_BINARY, .multi = true },
	[TDB_A_FLAGS] = { .kind = PORT_ATTR_U32 },
	[TDB_A_CURSOR] = { .kind = PORT_ATTR_BINARY, .min_len = 4,
			   .max_len = 4 + TDB_KEY_MAX },
	[TDB_A_MAX_RECORDS] = { .kind = PORT_ATTR_U32 },
	[TDB_A_MAX_BYTES] = { .kind = PORT_ATTR_U32 },
	[TDB_A_QUOTA] = { .kind = PORT_ATTR_U64 },
	[TDB_A_MODE] = { .kind = PORT_ATTR_U32 },
	[TDB_A_KEY_TYPE] = { .kind = PORT_ATTR_U32 },
	[TDB_A_DURABILITY] = { .kind = PORT_ATTR_U32 },
	[TDB_A_SCHEMA] = { .kind = PORT_ATTR_BINARY,
			   .max_len = TDB_SCHEMA_MAX },
	[TDB_A_RECORDS] = { .kind = PORT_ATTR_U64 },
	/* LOAD's records: exec_load.c checks each. */
	[TDB_A_RECORD] = { .kind = PORT_ATTR_BINARY, .multi = true },
};

u32 tdb_get_u32(const struct nlattr *a)
{
	u32 v;

	memcpy(&v, nla_data(a), sizeof(v));
	return v;
}

u64 tdb_get_u64(const struct nlattr *a)
{
	u64 v;

	memcpy(&v, nla_data(a), sizeof(v));
	return v;
}

static const struct tdb_genlhdr *tdb_genl(const struct nlmsghdr *nlh)
{
	return (const struct tdb_genlhdr *)((const u8 *)nlh + NLMSG_HDRLEN);
}

/* Response writer. */

/* Makes room for @n more bytes; false (and r->nomem) when there is none. */
static bool tdb_rsp_room(struct tdb_rsp *r, size_t n)
{
	void *p;

	if (likely(r->len + n <= r->cap))
		return true;
	if (r->nomem)
		return false;
	p = r->out->reserve(r->out, r->len + n);
	if (!p) {
		r->nomem = true;
		return false;
	}
	r->buf = p;
	r->cap = r->len + n;
	return true;
}

/* Appends an attribute of @len payload bytes; returns its payload or NULL. */
static void *tdb_rsp_attr(struct tdb_rsp *r, u16 type, size_t len)
{
	size_t total = NLA_HDRLEN + NLA_ALIGN(len);
	struct nlattr *a;

	if (!tdb_rsp_room(r, total))
		return NULL;
	a = (struct nlattr *)(r->buf + r->len);
	a->nla_len = (u16)(NLA_HDRLEN + len);
	a->nla_type = type;
	if (NLA_ALIGN(len) != len)
		memset((u8 *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	r->len += total;
	return (u8 *)a + NLA_HDRLEN;
}

static void tdb_rsp_put(struct tdb_rsp *r, u16 type, const void *data,
			size_t len)
{
	void *p = tdb_rsp_attr(r, type, len);

	if (p && len)
		memcpy(p, data, len);
}

static void tdb_rsp_u32(struct tdb_rsp *r, u16 type, u32 v)
{
	tdb_rsp_put(r, type, &v, sizeof(v));
}

void tdb_rsp_u64(struct tdb_rsp *r, u16 type, u64 v)
{
	tdb_rsp_put(r, type, &v, sizeof(v));
}

void tdb_rsp_str(struct tdb_rsp *r, u16 type, const char *s)
{
	tdb_rsp_put(r, type, s, strlen(s) + 1);
}

/* A NUL-terminated attribute "@a: @b", or "@b" when @a is empty. */
static void tdb_rsp_str2(struct tdb_rsp *r, u16 type, const char *a,
			 const char *b)
{
	size_t la = strlen(a), lb = strlen(b), sep = la ? 2 : 0;
	char *p = tdb_rsp_attr(r, type, la + sep + lb + 1);

	if (!p)
		return;
	memcpy(p, a, la);
	memcpy(p + la, ": ", sep);
	memcpy(p + la + sep, b, lb + 1);
}

/* Opens a nest; returns its offset for tdb_rsp_nest_end(). */
static size_t tdb_rsp_nest_start(struct tdb_rsp *r, u16 type)
{
	size_t off = r->len;

	tdb_rsp_attr(r, type, 0);
	return off;
}

static void tdb_rsp_nest_end(struct tdb_rsp *r, size_t off)
{
	struct nlattr *a;

	if (r->nomem)
		return;
	a = (struct nlattr *)(r->buf + off);
	a->nla_len = (u16)(r->len - off);
}

/* A value as TDB_VALUE_CHUNK-sized VALUE attributes (one if empty). */
static void tdb_rsp_value(struct tdb_rsp *r, const u8 *val, u32 vlen)
{
	do {
		u32 n = vlen < TDB_VALUE_CHUNK ? vlen : TDB_VALUE_CHUNK;

		tdb_rsp_put(r, TDB_A_VALUE, val, n);
		val += n;
		vlen -= n;
	} while (vlen && !r->nomem);
}

/*
 * Starts the response to @nlh with status 0.  -ENOMEM when the sink has
 * no room at all, in which case no response can be written.
 */
static int tdb_rsp_begin(struct tdb_rsp *r, struct tdb_out *out,
			 const struct nlmsghdr *req)
{
	struct nlmsghdr *nlh;
	struct tdb_genlhdr *g;
	struct nlattr *a;
	s32 zero = 0;

	r->out = out;
	r->nomem = false;
	r->lsn = 0;
	r->buf = out->reserve(out, TDB_RSP_MIN);
	if (!r->buf)
		return -ENOMEM;
	r->cap = TDB_RSP_MIN;
	nlh = (struct nlmsghdr *)r->buf;
	nlh->nlmsg_len = 0;
	nlh->nlmsg_type = TDB_MSG_TYPE;
	nlh->nlmsg_flags = 0;
	nlh->nlmsg_seq = req->nlmsg_seq;
	nlh->nlmsg_pid = 0;
	g = (struct tdb_genlhdr *)(r->buf + NLMSG_HDRLEN);
	g->cmd = tdb_genl(req)->cmd;
	g->version = TDB_PROTO_VERSION;
	g->reserved = 0;
	a = (struct nlattr *)(r->buf + TDB_MSG_HDRLEN);
	a->nla_len = NLA_HDRLEN + sizeof(s32);
	a->nla_type = TDB_A_STATUS;
	memcpy(r->buf + TDB_STATUS_OFF, &zero, sizeof(zero));
	r->len = TDB_STATUS_OFF + sizeof(s32);
	return 0;
}

/* Drops the payload written so far and sets status @err. */
void tdb_rsp_error(struct tdb_rsp *r, int err, const char *why)
{
	s32 st = err;

	r->len = TDB_STATUS_OFF + sizeof(s32);
	r->nomem = false;
	memcpy(r->buf + TDB_STATUS_OFF, &st, sizeof(st));
	if (why)
		tdb_rsp_str(r, TDB_A_MESSAGE, why);
}

void tdb_exec_set_status(void *msg, int err)
{
	s32 st = err;

	memcpy((u8 *)msg + TDB_STATUS_OFF, &st, sizeof(st));
}

static void tdb_rsp_end(struct tdb_rsp *r)
{
	if (r->nomem)
		tdb_rsp_error(r, -ENOMEM, "out of memory for the response");
	((struct nlmsghdr *)r->buf)->nlmsg_len = (u32)r->len;
	r->out->commit(r->out, r->len, r->lsn);
}

/* Tables and access. */

/*
 * Create and drop of a logged table are answered once the log holds them
 * on disk, whatever its class: they are rare, and a client that saw a
 * table appear should not see it vanish in a crash.  Waiting for
 * everything appended so far covers the change just logged.
 */
void tdb_rsp_wait_log(struct tdb_exec *x, struct tdb_rsp *r)
{
	struct tdb_wal *wal = x->o->db.wal;

	if (wal)
		r->lsn = tdb_wal_append_lsn(wal);
}

/*
 * A write to a sync table is answered once the log is durable past the
 * table's last logged write, which is at or past this one's.
 */
void tdb_rsp_wait_write(struct tdb_exec *x, struct tdb_rsp *r)
{
	if (x->topts.durability == TDB_DUR_SYNC)
		r->lsn = tdb_table_log_lsn(x->t);
}

/* The TDB_PERM_* bits @cred has on a table with @opts. */
static u32 tdb_perm(const struct tdb_cred *cred,
		    const struct tdb_table_opts *opts)
{
	if (cred->uid == 0)
		return TDB_PERM_R | TDB_PERM_W | TDB_PERM_OWNER;
	if (cred->uid == opts->uid)
		return ((opts->mode >> 6) & 7) | TDB_PERM_OWNER;
	if (cred->gid == opts->gid)
		return (opts->mode >> 3) & 7;
	return opts->mode & 7;
}

/* Lets go of the held table, flushing its retired records if written. */
void tdb_exec_release(struct tdb_exec *x)
{
	if (!x->t)
		return;
	if (x->wrote)
		tdb_table_flush(x->t);
	tdb_table_release(x->t);
	x->t = NULL;
	x->tname = NULL;
	x->wrote = false;
}

/*
 * The table called @name, held for the current run of requests, with
 * x->tperm set; NULL when there is none.
 */
static struct tdb_table *tdb_exec_table(struct tdb_exec *x, const char *name)
{
	struct tdb_table *t;

	if (x->t && !strcmp(x->tname, name))
		return x->t;
	tdb_exec_release(x);
	rcu_read_lock();
	t = tdb_table_find(&x->o->db, name);
	if (t)
		tdb_table_hold(t);
	rcu_read_unlock();
	if (!t)
		return NULL;
	x->t = t;
	x->tname = name;
	tdb_table_opts(t, &x->topts);
	x->tperm = tdb_perm(x->cred, &x->topts);
	return t;
}

/* Request parsing. */

/*
 * Parses @nlh's attributes into @rq.  On a bad request returns -errno
 * with *@what and *@why naming the problem (the message is their
 * concatenation).
 */
static int tdb_req_parse(struct tdb_req *rq, const struct nlmsghdr *nlh,
			 const char **what, const char **why)
{
	const struct tdb_cmd_desc *d;
	struct port_attr_error perr;
	const struct nlattr *k;
	int err;

	rq->nlh = nlh;
	rq->cmd = tdb_genl(nlh)->cmd;
	rq->table = NULL;
	rq->key = NULL;
	rq->klen = 0;
	d = &tdb_cmds[rq->cmd];
	err = port_attr_parse((const u8 *)nlh + TDB_MSG_HDRLEN,
			      nlh->nlmsg_len - TDB_MSG_HDRLEN, tdb_req_policy,
			      TDB_A_MAX, rq->tb, &perr);
	if (err) {
		*what = perr.type ? tdb_attr_names[perr.type] : "";
		*why = perr.reason;
		return err;
	}
	if (rq->tb[TDB_A_TABLE])
		rq->table = nla_data(rq->tb[TDB_A_TABLE]);
	if (d->need_table && !rq->table) {
		*what = "TABLE";
		*why = "missing";
		return -EINVAL;
	}
	k = rq->tb[TDB_A_KEY];
	if (k) {
		rq->key = nla_data(k);
		rq->klen = nla_len(k);
	}
	if (d->need_key) {
		*what = "KEY";
		if (!k) {
			*why = "missing";
			return -EINVAL;
		}
		if (!rq->klen) {
			*why = "empty";
			return -EINVAL;
		}
		if (rq->klen > TDB_KEY_MAX) {
			*why = "longer than 1024 bytes";
			return -E2BIG;
		}
	}
	return 0;
}

/*
 * Resolves the table of @rq and checks access.  0, or -errno with the
 * reason in *@why.
 */
static int tdb_req_table(struct tdb_exec *x, const char *table, u32 perm,
			 const char **why)
{
	/*
	 * A staging table is its load's alone: others do not see it, and
	 * its own session only writes it (its prefix index is built for no
	 * reader: see tdb_lpm_init_private()).
	 */
	if (!tdb_exec_table(x, table) ||
	    (x->topts.flags & TDB_TABLE_STAGING &&
	     (perm != TDB_PERM_W || !tdb_session_owns(x->sess, table)))) {
		*why = "no such table";
		return -ENOENT;
	}
	if ((x->tperm & perm) != perm) {
		*why = "permission denied";
		return -EACCES;
	}
	return 0;
}

/* Handlers. */

static int tdb_do_create(struct tdb_exec *x, struct tdb_req *rq,
			 struct tdb_rsp *r)
{
	struct tdb_table_opts opts = {
		.uid = x->cred->uid,
		.gid = x->cred->gid,
		.mode = 0600,
		.key_type = TDB_KEY_BYTES,
		.durability = TDB_DUR_ASYNC,
	};
	const struct nlattr *const *tb = rq->tb;
	int err;

	if (tb[TDB_A_QUOTA])
		opts.quota = tdb_get_u64(tb[TDB_A_QUOTA]);
	if (tb[TDB_A_MODE]) {
		u32 mode = tdb_get_u32(tb[TDB_A_MODE]);

		if (mode & ~0777U) {
			tdb_rsp_error(r, -EINVAL, "MODE has bits outside 0777");
			return 0;
		}
		if (mode)
			opts.mode = mode;
	}
	if (tb[TDB_A_KEY_TYPE]) {
		opts.key_type = tdb_get_u32(tb[TDB_A_KEY_TYPE]);
		if (opts.key_type > TDB_KEY_TYPE_MAX) {
			tdb_rsp_error(r, -EINVAL, "unknown KEY_TYPE");
			return 0;
		}
	}
	if (tb[TDB_A_DURABILITY]) {
		opts.durability = tdb_get_u32(tb[TDB_A_DURABILITY]);
		if (opts.durability > TDB_DUR_MAX) {
			tdb_rsp_error(r, -EINVAL, "unknown DURABILITY");
			return 0;
		}
	}
	if (tb[TDB_A_SCHEMA]) {
		opts.schema = nla_data(tb[TDB_A_SCHEMA]);
		opts.schema_len = nla_len(tb[TDB_A_SCHEMA]);
	}
	err = tdb_table_create(&x->o->db, rq->table, &opts);
	if (!err && opts.durability != TDB_DUR_MEMORY)
		tdb_rsp_wait_log(x, r);
	if (err == -EINVAL)
		tdb_rsp_error(r, err,
			      "bad table name: 1 to 63 of [A-Za-z0-9_.-]");
	else if (err == -EEXIST)
		tdb_rsp_error(r, err, "table exists");
	else if (err == -EDQUOT)
		tdb_rsp_error(r, err, "this uid owns too many tables already");
	else if (err)
		tdb_rsp_error(r, err, NULL);
	return 0;
}

struct tdb_drop_ctx {
	const struct tdb_cred *cred;
	bool logged;		/* the table's changes go to the log */
};

/* Judges a DROP under the registry lock, on the very table dropped. */
static int tdb_drop_allowed(void *arg, const struct tdb_table_opts *opts)
{
	struct tdb_drop_ctx *dc = arg;

	dc->logged = opts->durability != TDB_DUR_MEMORY;
	/* A staging table goes with its load's abort, not by name. */
	if (opts->flags & TDB_TABLE_STAGING)
		return -ENOENT;
	return tdb_perm(dc->cred, opts) & TDB_PERM_OWNER ? 0 : -EACCES;
}

static int tdb_do_drop(struct tdb_exec *x, struct tdb_req *rq,
		       struct tdb_rsp *r)
{
	struct tdb_drop_ctx dc = { .cred = x->cred };
	int err;

	/* Hold nothing, so the table goes as soon as its readers have. */
	tdb_exec_release(x);
	err = tdb_table_drop(&x->o->db, rq->table, tdb_drop_allowed, &dc);
	/* A memory table's drop was not logged: nothing to wait for. */
	if (!err && dc.logged)
		tdb_rsp_wait_log(x, r);
	if (err == -ENOENT)
		tdb_rsp_error(r, err, "no such table");
	else if (err == -EACCES)
		tdb_rsp_error(r, err,
			      "only the table's owner or root may drop it");
	else if (err)
		tdb_rsp_error(r, err, NULL);
	return 0;
}

/* The info attributes of @t, as in TABLE_INFO and each TABLE_ENTRY. */
static void tdb_rsp_table_info(struct tdb_rsp *r, struct tdb_table *t)
{
	struct tdb_table_opts opts;
	struct tdb_table_stats st;

	tdb_table_opts(t, &opts);
	tdb_table_stats(t, &st);
	tdb_rsp_str(r, TDB_A_TABLE, tdb_table_name(t));
	tdb_rsp_u64(r, TDB_A_RECORDS, st.records);
	tdb_rsp_u64(r, TDB_A_MEM_BYTES, st.mem_bytes);
	tdb_rsp_u64(r, TDB_A_QUOTA, opts.quota);
	tdb_rsp_u32(r, TDB_A_UID, opts.uid);
	tdb_rsp_u32(r, TDB_A_GID, opts.gid);
	tdb_rsp_u32(r, TDB_A_MODE, opts.mode);
	tdb_rsp_u32(r, TDB_A_KEY_TYPE, opts.key_type);
	tdb_rsp_u32(r, TDB_A_DURABILITY, opts.durability);
	tdb_rsp_u64(r, TDB_A_LOG_LSN, tdb_table_log_lsn(t));
}

static void tdb_rsp_ckpt(struct tdb_exec *x, struct tdb_rsp *r)
{
	const struct tdb_log_stats *ls = &x->o->log;

	tdb_rsp_u64(r, TDB_A_CKPT_TIME, READ_ONCE(ls->ckpt_time));
	tdb_rsp_u64(r, TDB_A_CKPT_LSN, READ_ONCE(ls->ckpt_lsn));
}

static int tdb_do_info(struct tdb_exec *x, struct tdb_req *rq,
		       struct tdb_rsp *r)
{
	tdb_rsp_table_info(r, x->t);
	tdb_rsp_ckpt(x, r);
	if (x->topts.schema_len)
		tdb_rsp_put(r, TDB_A_SCHEMA, x->topts.schema,
			    x->topts.schema_len);
	return 0;
}

struct tdb_list_ctx {
	struct tdb_exec *x;
	struct tdb_rsp *r;
};

static int tdb_list_one(void *arg, struct tdb_table *t)
{
	struct tdb_list_ctx *lc = arg;
	struct tdb_table_opts opts;
	size_t nest;

	tdb_table_opts(t, &opts);
	/* Staging tables are a load's insides, not tables of their own. */
	if (!(tdb_perm(lc->x->cred, &opts) & TDB_PERM_R) ||
	    opts.flags & TDB_TABLE_STAGING)
		return 0;
	nest = tdb_rsp_nest_start(lc->r, TDB_A_TABLE_ENTRY);
	tdb_rsp_table_info(lc->r, t);
	tdb_rsp_nest_end(lc->r, nest);
	return lc->r->nomem ? -ENOMEM : 0;
}

static int tdb_do_list(struct tdb_exec *x, struct tdb_req *rq,
		       struct tdb_rsp *r)
{
	struct tdb_list_ctx lc = { .x = x, .r = r };

	tdb_db_for_each(&x->o->db, tdb_list_one, &lc);
	return 0;
}

struct tdb_stats_ctx {
	u64 mem;
	u32 tables;
};

static int tdb_stats_one(void *arg, struct tdb_table *t)
{
	struct tdb_stats_ctx *sc = arg;
	struct tdb_table_stats st;
	struct tdb_table_opts opts;

	tdb_table_stats(t, &st);
	tdb_table_opts(t, &opts);
	sc->mem += st.mem_bytes;
	if (!(opts.flags & TDB_TABLE_STAGING))
		sc->tables++;
	return 0;
}

static void tdb_rsp_stats_log(struct tdb_exec *x, struct tdb_rsp *r)
{
	const struct tdb_log_stats *ls = &x->o->log;
	struct tdb_wal *wal = x->o->db.wal;

	tdb_rsp_u64(r, TDB_A_LOG_BYTES, wal ? tdb_wal_disk_bytes(wal) : 0);
	tdb_rsp_u64(r, TDB_A_LOG_LSN, wal ? tdb_wal_durable_lsn(wal) : 0);
	tdb_rsp_u64(r, TDB_A_LOG_SYNCS, READ_ONCE(ls->syncs));
	tdb_rsp_u64(r, TDB_A_LOG_WRITES, READ_ONCE(ls->writes));
	tdb_rsp_u32(r, TDB_A_LOG_SYNC_RATE, READ_ONCE(ls->sync_rate));
	tdb_rsp_u32(r, TDB_A_LOG_WRITE_RATE, READ_ONCE(ls->write_rate));
	tdb_rsp_u32(r, TDB_A_LOG_ERROR,
		    (u32)(wal ? tdb_wal_last_error(wal) : 0));
	tdb_rsp_ckpt(x, r);
}

static int tdb_do_stats(struct tdb_exec *x, struct tdb_req *rq,
			struct tdb_rsp *r)
{
	struct tdb_stats_ctx sc = { 0, 0 };
	long conn = port_atomic_read(&x->o->conn_bytes);

	tdb_db_for_each(&x->o->db, tdb_stats_one, &sc);
	if (conn > 0)
		sc.mem += (u64)conn;
	/* Requests of this batch so far count, this one included. */
	tdb_rsp_u64(r, TDB_A_REQUESTS,
		    (u64)port_atomic_read(&x->o->requests) + x->nreq + 1);
	tdb_rsp_u64(r, TDB_A_MEM_BYTES, sc.mem);
	tdb_rsp_u32(r, TDB_A_TABLES, sc.tables);
	tdb_rsp_u32(r, TDB_A_CONNECTIONS,
		    (u32)port_atomic_read(&x->o->connections));
	tdb_rsp_stats_log(x, r);
	return 0;
}

/*
 * The value of a PUT: its VALUE chunks, which must stand in a row, joined
 * in place.  0 or -errno with *@why.
 */
static int tdb_req_value(struct tdb_req *rq, const u8 **val, u32 *vlen,
			 const char **why)
{
	const struct nlattr *first = rq->tb[TDB_A_VALUE], *a;
	const struct nlmsghdr *nlh = rq->nlh;
	int len = (int)(nlh->nlmsg_len - TDB_MSG_HDRLEN), rem;
	unsigned int run = 0;
	bool in_run = false, run_done = false;
	size_t vl = 0;
	u8 *dst;

	*val = NULL;
	*vlen = 0;
	if (!first) {
		/* An empty value is an empty VALUE attribute. */
		*why = "VALUE: missing";
		return -EINVAL;
	}
	nla_for_each_attr(a, (const struct nlattr *)((const u8 *)nlh +
						      TDB_MSG_HDRLEN),
			  len, rem) {
		if (nla_type(a) != TDB_A_VALUE) {
			if (in_run)
				run_done = true;
			in_run = false;
			continue;
		}
		if (run_done) {
			*why = "VALUE: chunks not in a row";
			return -EINVAL;
		}
		in_run = true;
		run++;
		vl += nla_len(a);
	}
	if (vl > TDB_VAL_MAX) {
		*why = "value longer than 1 MiB";
		return -E2BIG;
	}
	*vlen = (u32)vl;
	*val = nla_data(first);
	if (run == 1)
		return 0;
	/* Move the chunks' payloads together over their own headers. */
	dst = nla_data(first);
	a = first;
	while (run--) {
		size_t n = nla_len(a);
		const struct nlattr *next =
			(const struct nlattr *)((const u8 *)a +
						NLA_ALIGN(a->nla_len));

		memmove(dst, nla_data(a), n);
		dst += n;
		a = next;
	}
	return 0;
}

/*
 * After a write found its held table dead: whether the name now leads to
 * another table (a load's swap replaced it, or a drop and a create did),
 * now held, that the write should be tried on.
 */
static bool tdb_exec_retry(struct tdb_exec *x, struct tdb_req *rq)
{
	const char *why;

	if (!tdb_table_dead(x->t))
		return false;
	tdb_exec_release(x);
	return !tdb_req_table(x, rq->table, TDB_PERM_W, &why);
}

static int tdb_do_put(struct tdb_exec *x, struct tdb_req *rq,
		      struct tdb_rsp *r)
{
	const char *why = NULL;
	unsigned int flags = 0;
	const u8 *val;
	u32 vlen;
	int err;

	if (rq->tb[TDB_A_FLAGS])
		flags = tdb_get_u32(rq->tb[TDB_A_FLAGS]);
	err = tdb_req_value(rq, &val, &vlen, &why);
	if (err)
		goto fail;
	/* TDB_PUT_RECOVER and other owner-only bits never come off the wire. */
	if (flags & ~(TDB_PUT_CREATE | TDB_PUT_REPLACE)) {
		err = -EINVAL;
		why = "bad FLAGS";
		goto fail;
	}
	err = tdb_keytype_check(x->topts.key_type, rq->key, rq->klen, &why);
	if (err)
		goto fail;
	x->wrote = true;
	err = tdb_table_put(x->t, rq->key, rq->klen, val, vlen, flags);
	if (err == -ENOENT && tdb_exec_retry(x, rq)) {
		x->wrote = true;
		err = tdb_table_put(x->t, rq->key, rq->klen, val, vlen, flags);
	}
	switch (err) {
	case 0:
		tdb_rsp_wait_write(x, r);
		return 0;
	case -EEXIST:
		why = "key exists";
		break;
	case -ENOENT:
		why = flags & TDB_PUT_REPLACE ? "no such key" : "table dropped";
		break;
	case -ENOSPC:
		/* The table's quota, or the disk under the log. */
		why = x->o->db.wal && tdb_wal_last_error(x->o->db.wal) ?
			      "the disk is full: the log cannot be written" :
			      "table quota exceeded";
		break;
	case -EIO:
		why = "the log cannot be written (I/O error)";
		break;
	case -EINVAL:
		why = "bad FLAGS";
		break;
	case -E2BIG:
		why = "value longer than 1 MiB";
		break;
	}
fail:
	tdb_rsp_error(r, err, why);
	return 0;
}

static int tdb_do_del(struct tdb_exec *x, struct tdb_req *rq,
		      struct tdb_rsp *r)
{
	const char *why = NULL;
	int err;

	err = tdb_keytype_check(x->topts.key_type, rq->key, rq->klen, &why);
	if (!err) {
		x->wrote = true;
		err = tdb_table_delete(x->t, rq->key, rq->klen);
	}
	if (err == -ENOENT && tdb_exec_retry(x, rq)) {
		x->wrote = true;
		err = tdb_table_delete(x->t, rq->key, rq->klen);
	}
	if (err)
		tdb_rsp_error(r, err, why);
	else
		tdb_rsp_wait_write(x, r);
	return 0;
}

struct tdb_scan_ctx {
	struct tdb_rsp *r;
	u32 max_records, max_bytes;
	u32 records;
	size_t bytes;
};

/*
 * Writes one record: a RECORD nest with KEY and VALUE, and, when the
 * value does not fit one nest, more RECORD nests with VALUE alone.
 */
static void tdb_rsp_record(struct tdb_rsp *r, const struct tdb_rec *rec)
{
	u32 klen = tdb_rec_klen(rec), vlen = tdb_rec_vlen(rec);
	const u8 *val = tdb_rec_val(rec);
	/* Value bytes the first nest has room for, 4-byte aligned. */
	u32 room = (TDB_NEST_MAX - 3 * NLA_HDRLEN - NLA_ALIGN(klen)) & ~3U;
	size_t nest;
	u32 n;

	nest = tdb_rsp_nest_start(r, TDB_A_RECORD);
	tdb_rsp_put(r, TDB_A_KEY, tdb_rec_key(rec), klen);
	n = vlen < room ? vlen : room;
	tdb_rsp_put(r, TDB_A_VALUE, val, n);
	tdb_rsp_nest_end(r, nest);
	room = (TDB_NEST_MAX - 2 * NLA_HDRLEN) & ~3U;
	while ((vlen -= n) && !r->nomem) {
		val += n;
		n = vlen < room ? vlen : room;
		nest = tdb_rsp_nest_start(r, TDB_A_RECORD);
		tdb_rsp_put(r, TDB_A_VALUE, val, n);
		tdb_rsp_nest_end(r, nest);
	}
}

static int tdb_scan_one(void *arg, const struct tdb_rec *rec)
{
	struct tdb_scan_ctx *sc = arg;
	size_t need = 3 * NLA_HDRLEN + NLA_ALIGN(tdb_rec_klen(rec)) +
		      NLA_ALIGN(tdb_rec_vlen(rec));

	if (sc->records &&
	    (sc->records >= sc->max_records || sc->bytes + need > sc->max_bytes))
		return 1;
	tdb_rsp_record(sc->r, rec);
	if (sc->r->nomem)
		return -ENOMEM;
	sc->records++;
	sc->bytes += need;
	return 0;
}

static int tdb_do_scan(struct tdb_exec *x, struct tdb_req *rq,
		       struct tdb_rsp *r)
{
	struct tdb_scan_ctx sc = {
		.r = r,
		.max_records = TDB_SCAN_MAX_RECORDS,
		.max_bytes = TDB_SCAN_MAX_BYTES,
	};
	const struct nlattr *ca = rq->tb[TDB_A_CURSOR];
	struct tdb_cursor *c = &x->cursor;
	u8 *p;
	int ret;

	if (rq->tb[TDB_A_MAX_RECORDS]) {
		u32 v = tdb_get_u32(rq->tb[TDB_A_MAX_RECORDS]);

		if (v && v < sc.max_records)
			sc.max_records = v;
	}
	if (rq->tb[TDB_A_MAX_BYTES]) {
		u32 v = tdb_get_u32(rq->tb[TDB_A_MAX_BYTES]);

		if (v && v < sc.max_bytes)
			sc.max_bytes = v;
	}
	tdb_cursor_init(c);
	if (ca) {
		memcpy(&c->so_key, nla_data(ca), sizeof(u32));
		c->klen = nla_len(ca) - sizeof(u32);
		memcpy(c->key, (const u8 *)nla_data(ca) + sizeof(u32), c->klen);
	}
	ret = tdb_table_scan(x->t, c, tdb_scan_one, &sc);
	if (ret < 0) {
		tdb_rsp_error(r, ret, NULL);
		return 0;
	}
	p = tdb_rsp_attr(r, TDB_A_CURSOR, sizeof(u32) + c->klen);
	if (p) {
		memcpy(p, &c->so_key, sizeof(u32));
		memcpy(p + sizeof(u32), c->key, c->klen);
	}
	if (c->done)
		tdb_rsp_attr(r, TDB_A_DONE, 0);
	return 0;
}

/*
 * Runs one request through its descriptor: parse, table and access, then
 * the handler.  Returns 0 or -ENOMEM when no response could be started.
 */
static int tdb_exec_one(struct tdb_exec *x, const struct nlmsghdr *nlh)
{
	const struct tdb_cmd_desc *d = &tdb_cmds[tdb_genl(nlh)->cmd];
	const char *what = "", *why = NULL;
	struct tdb_req rq;
	struct tdb_rsp r;
	int err;

	err = tdb_rsp_begin(&r, x->out, nlh);
	if (err)
		return err;
	err = tdb_req_parse(&rq, nlh, &what, &why);
	if (err) {
		tdb_rsp_error(&r, err, NULL);
		tdb_rsp_str2(&r, TDB_A_MESSAGE, what, why);
		goto end;
	}
	if (d->need_table && d->perm) {
		err = tdb_req_table(x, rq.table, d->perm, &why);
		if (err) {
			tdb_rsp_error(&r, err, why);
			goto end;
		}
	}
	d->fn(x, &rq, &r);
end:
	tdb_rsp_end(&r);
	x->nreq++;
	return 0;
}

static size_t tdb_run_one(struct tdb_exec *x, u8 *batch, size_t off,
			  size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)(batch + off);

	if (tdb_exec_one(x, nlh)) {
		x->nomem = true;
		return off;
	}
	return off + NLMSG_ALIGN(nlh->nlmsg_len);
}

/*
 * Runs consecutive PUTs one at a time, as tdb_run_one() would, after a
 * look ahead over up to TDB_GET_RUN of them of one table: a put's walk of
 * the index under the write lock is a chain of cache misses, most of its
 * time when keys are random, and prefetching the whole run's lets them
 * overlap (tdb_table_prefetch_batch()), as a load does.  Only a hint: each
 * put is then parsed, checked and answered on its own, so a run stopped
 * by the sink leaves exactly the puts not run.  (The look ahead parses
 * each put a first time: a run's parsed requests would not fit a kernel
 * stack, and parsing is under 1% of a put in the profile.)
 */
static size_t tdb_run_puts(struct tdb_exec *x, u8 *batch, size_t off,
			   size_t len)
{
	const u8 *keys[TDB_GET_RUN];
	u32 klens[TDB_GET_RUN];
	const char *table = NULL, *what, *why;
	unsigned int n = 0, m = 0;
	size_t next = off;
	struct tdb_req rq;

	while (m < TDB_GET_RUN && next < len) {
		const struct nlmsghdr *nlh =
			(const struct nlmsghdr *)(batch + next);

		if (tdb_genl(nlh)->cmd != TDB_CMD_PUT)
			break;
		if (!tdb_req_parse(&rq, nlh, &what, &why)) {
			if (!table)
				table = rq.table;
			else if (strcmp(table, rq.table))
				break;
			keys[n] = rq.key;
			klens[n++] = rq.klen;
		}
		m++;
		next += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	/* Any keys: the prefetch reads no more than a key holds. */
	if (n > 1 && !tdb_req_table(x, table, TDB_PERM_W, &why))
		tdb_table_prefetch_batch(x->t, n, keys, klens);

	for (next = off; m--;) {
		if (next != off && x->out->busy(x->out))
			break;
		next = tdb_run_one(x, batch, next, len);
		if (x->nomem || next >= len)
			break;
	}
	return next;
}

/* A GET or LOOKUP of a run, parsed. */
struct tdb_get_slot {
	const struct nlmsghdr *nlh;
	int err;
	const char *what, *why;
	unsigned int key;	/* index into the run's keys when !err */
};

/*
 * Checks the addresses of a run of LOOKUPs against the table's key type,
 * turning a bad one into its slot's error.
 */
static const u8 tdb_zero_addr[16];

static void tdb_lookup_check(struct tdb_exec *x, struct tdb_get_slot *slot,
			     unsigned int n, const void **keys,
			     const u32 *klens)
{
	u32 type = x->topts.key_type, alen = tdb_keytype_addr_len(type);
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct tdb_get_slot *s = &slot[i];

		if (s->err)
			continue;
		s->what = "KEY";
		if (!tdb_keytype_is_prefix(type)) {
			s->err = -EINVAL;
			s->what = "";
			s->why = "LOOKUP needs a table keyed by cidr4 or cidr6";
		} else if (klens[s->key] != alen) {
			s->err = -EINVAL;
			s->why = alen == 4 ? "a cidr4 table looks up 4-byte addresses" :
					     "a cidr6 table looks up 16-byte addresses";
		}
		/* Its walk still runs: over an address of the right size. */
		if (s->err)
			keys[s->key] = tdb_zero_addr;
	}
}

/*
 * Runs consecutive GETs (or LOOKUPs) of one table, starting with the one
 * at @off: up to TDB_GET_RUN are parsed, looked up together under one RCU
 * read-side section, and answered in order; a LOOKUP's answer carries the
 * matching prefix as its KEY.  Returns the offset after the last one
 * answered, which is @off when the sink stopped the run at once or had no
 * room for a response (x->nomem then tells which).
 */
static size_t tdb_run_reads(struct tdb_exec *x, u8 *batch, size_t off,
			    size_t len)
{
	struct tdb_get_slot slot[TDB_GET_RUN];
	const void *keys[TDB_GET_RUN];
	u32 klens[TDB_GET_RUN];
	const struct tdb_rec *found[TDB_GET_RUN];
	const char *table = NULL, *why = NULL;
	unsigned int n = 0, nkeys = 0, i;
	u8 cmd = tdb_genl((const struct nlmsghdr *)(batch + off))->cmd;
	size_t next = off;
	struct tdb_req rq;
	struct tdb_rsp r;
	int terr = 0;

	/* Gather the run: requests of the first one's table, or malformed. */
	while (n < TDB_GET_RUN && next < len) {
		const struct nlmsghdr *nlh =
			(const struct nlmsghdr *)(batch + next);
		struct tdb_get_slot *s = &slot[n];

		if (tdb_genl(nlh)->cmd != cmd)
			break;
		s->err = tdb_req_parse(&rq, nlh, &s->what, &s->why);
		if (!s->err) {
			if (!table)
				table = rq.table;
			else if (strcmp(table, rq.table))
				break;
			s->key = nkeys;
			keys[nkeys] = rq.key;
			klens[nkeys++] = rq.klen;
		}
		s->nlh = nlh;
		n++;
		next += NLMSG_ALIGN(nlh->nlmsg_len);
	}

	if (table)
		terr = tdb_req_table(x, table, TDB_PERM_R, &why);
	if (!terr && cmd == TDB_CMD_LOOKUP)
		tdb_lookup_check(x, slot, n, keys, klens);
	rcu_read_lock();
	if (nkeys && !terr && cmd == TDB_CMD_GET)
		tdb_table_lookup_batch(x->t, nkeys, keys, klens, found);
	else if (nkeys && !terr)
		tdb_table_match_batch(x->t, nkeys, (const u8 *const *)keys,
				      found);

	next = off;
	for (i = 0; i < n; i++) {
		const struct tdb_get_slot *s = &slot[i];
		const struct tdb_rec *rec;

		if (i && x->out->busy(x->out))
			break;
		if (tdb_rsp_begin(&r, x->out, s->nlh)) {
			x->nomem = true;
			break;
		}
		if (s->err) {
			tdb_rsp_error(&r, s->err, NULL);
			tdb_rsp_str2(&r, TDB_A_MESSAGE, s->what, s->why);
		} else if (terr) {
			tdb_rsp_error(&r, terr, why);
		} else {
			rec = found[s->key];
			if (rec && cmd == TDB_CMD_LOOKUP)
				tdb_rsp_put(&r, TDB_A_KEY, tdb_rec_key(rec),
					    tdb_rec_klen(rec));
			if (rec)
				tdb_rsp_value(&r, tdb_rec_val(rec),
					      tdb_rec_vlen(rec));
			else
				tdb_rsp_error(&r, -ENOENT, NULL);
		}
		tdb_rsp_end(&r);
		x->nreq++;
		next += NLMSG_ALIGN(s->nlh->nlmsg_len);
	}
	rcu_read_unlock();
	return next;
}

static const struct tdb_cmd_desc tdb_cmds[__TDB_CMD_MAX] = {
	[TDB_CMD_TABLE_CREATE] = { .run = tdb_run_one,
				   .fn = tdb_do_create, .need_table = 1 },
	[TDB_CMD_TABLE_DROP] = { .run = tdb_run_one,
				 .fn = tdb_do_drop, .need_table = 1 },
	[TDB_CMD_TABLE_LIST] = { .run = tdb_run_one,
				 .fn = tdb_do_list },
	[TDB_CMD_TABLE_INFO] = { .run = tdb_run_one,
				 .fn = tdb_do_info, .need_table = 1,
				 .perm = TDB_PERM_R },
	[TDB_CMD_GET] = { .run = tdb_run_reads,
			  .need_table = 1, .need_key = 1, .perm = TDB_PERM_R },
	[TDB_CMD_PUT] = { .run = tdb_run_puts, .fn = tdb_do_put,
			  .need_table = 1, .need_key = 1, .perm = TDB_PERM_W },
	[TDB_CMD_DEL] = { .run = tdb_run_one, .fn = tdb_do_del,
			  .need_table = 1, .need_key = 1, .perm = TDB_PERM_W },
	[TDB_CMD_SCAN] = { .run = tdb_run_one,
			   .fn = tdb_do_scan, .need_table = 1,
			   .perm = TDB_PERM_R },
	[TDB_CMD_STATS] = { .run = tdb_run_one,
			    .fn = tdb_do_stats },
	[TDB_CMD_LOOKUP] = { .run = tdb_run_reads,
			     .need_table = 1, .need_key = 1,
			     .perm = TDB_PERM_R },
	[TDB_CMD_LOAD_BEGIN] = { .run = tdb_run_one, .fn = tdb_do_load_begin,
				 .need_table = 1, .perm = TDB_PERM_W },
	[TDB_CMD_LOAD] = { .run = tdb_run_one, .fn = tdb_do_load,
			   .need_table = 1, .perm = TDB_PERM_W },
	/* Their own checks: the load must be this connection's. */
	[TDB_CMD_LOAD_COMMIT] = { .run = tdb_run_one,
				  .fn = tdb_do_load_commit, .need_table = 1 },
	[TDB_CMD_LOAD_ABORT] = { .run = tdb_run_one,
				 .fn = tdb_do_load_abort, .need_table = 1 },
};

/*
 * Checks the framing of every message of a batch.  0, or -EPROTO with
 * *@why saying what is wrong.
 */
static int tdb_batch_check(const u8 *batch, size_t len, const char **why)
{
	size_t off = 0;

	while (off < len) {
		const struct nlmsghdr *nlh =
			(const struct nlmsghdr *)(batch + off);
		u8 cmd;

		if (len - off < TDB_MSG_HDRLEN) {
			*why = "message header truncated";
			return -EPROTO;
		}
		if (nlh->nlmsg_len < TDB_MSG_HDRLEN) {
			*why = "message shorter than its headers";
			return -EPROTO;
		}
		if (nlh->nlmsg_len > len - off) {
			*why = "message length past the batch";
			return -EPROTO;
		}
		if (nlh->nlmsg_type != TDB_MSG_TYPE) {
			*why = "message type is not TDB_MSG_TYPE";
			return -EPROTO;
		}
		cmd = tdb_genl(nlh)->cmd;
		if (cmd == TDB_CMD_UNSPEC || cmd > TDB_CMD_MAX ||
		    !tdb_cmds[cmd].run) {
			*why = "unknown command";
			return -EPROTO;
		}
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return 0;
}

int tdb_exec_batch(struct tdb_owner *o, struct tdb_session *sess,
		   void *batch, size_t len, struct tdb_out *out)
{
	struct tdb_exec x = {
		.o = o, .cred = &sess->cred, .sess = sess, .out = out
	};
	u8 *b = batch;
	size_t off = 0, next;
	int err;

	out->error = NULL;
	if (len > TDB_BATCH_MAX) {
		out->error = "batch larger than TDB_BATCH_MAX";
		return -EPROTO;
	}
	/* Messages start 4-byte aligned, which the framing relies on. */
	if ((uintptr_t)batch & 3) {
		out->error = "batch buffer misaligned";
		return -EPROTO;
	}
	err = tdb_batch_check(b, len, &out->error);
	if (err)
		return err;

	while (off < len) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(b + off);

		if (out->busy(out))
			break;
		next = tdb_cmds[tdb_genl(nlh)->cmd].run(&x, b, off, len);
		/* The last message may lack its padding. */
		off = next < len ? next : len;
		if (x.nomem)
			break;
		/* A 2 MiB batch of loads runs for milliseconds. */
		port_cond_resched();
	}
	tdb_exec_release(&x);
	port_atomic_add(&o->requests, x.nreq);
	if (x.nomem) {
		out->error = "no memory for a response";
		return -ENOMEM;
	}
	return (int)off;
}

int tdb_owner_init(struct tdb_owner *o)
{
	port_atomic_set(&o->requests, 0);
	port_atomic_set(&o->connections, 0);
	port_atomic_set(&o->conn_bytes, 0);
	o->conn_bytes_max = 0;
	return tdb_db_init(&o->db);
}

void tdb_owner_fini(struct tdb_owner *o)
{
	tdb_db_fini(&o->db);
}
