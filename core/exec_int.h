/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * exec_int.h - the executor's insides, shared by its handlers' files
 * (exec.c: tables, records, lookups and scans; exec_load.c: bulk
 * loads): the request, the response writer and the
 * state of one batch.
 */
#ifndef TDB_CORE_EXEC_INT_H
#define TDB_CORE_EXEC_INT_H

#include "exec.h"

#define TDB_GENL_HDRLEN NLA_ALIGN(sizeof(struct tdb_genlhdr))
#define TDB_MSG_HDRLEN (NLMSG_HDRLEN + TDB_GENL_HDRLEN)
/* Where a response's TDB_A_STATUS payload sits. */
#define TDB_STATUS_OFF (TDB_MSG_HDRLEN + NLA_HDRLEN)
/* What the first reserve() of a response asks for. */
#define TDB_RSP_MIN 256U
/*
 * GETs looked up together.  tdb_run_reads() keeps a run's arrays on its
 * stack, about 4 KiB for 64: where the host's stacks are small (the
 * kernel's 16 KiB, with Kbuild's 2 KiB frame limit) runs are of 16.
 */
#ifdef PORT_SMALL_STACK
#define TDB_GET_RUN 16U
#else
#define TDB_GET_RUN 64U
#endif
/* The most a nest (any attribute) can hold: nla_len is 16 bits. */
#define TDB_NEST_MAX 65535U

#define TDB_PERM_R 4U
#define TDB_PERM_W 2U
#define TDB_PERM_OWNER 8U	/* the owner uid or root */

/* A response being written. */
struct tdb_rsp {
	struct tdb_out *out;
	u8 *buf;
	size_t len;		/* bytes written */
	size_t cap;		/* bytes reserved */
	u64 lsn;		/* answer once the log is durable up to it */
	bool nomem;		/* an extension failed: ends as -ENOMEM */
};

/* One request, parsed. */
struct tdb_req {
	const struct nlmsghdr *nlh;
	u8 cmd;
	const struct nlattr *tb[TDB_A_MAX + 1];
	const char *table;
	const u8 *key;
	u32 klen;
};

/* State of one tdb_exec_batch() call. */
struct tdb_exec {
	struct tdb_owner *o;
	const struct tdb_cred *cred;
	struct tdb_session *sess;
	struct tdb_out *out;
	long nreq;
	/* The table of the current run of requests, held. */
	struct tdb_table *t;
	const char *tname;
	struct tdb_table_opts topts;
	u32 tperm;
	bool wrote;
	bool nomem;			/* a response could not be started */
	struct tdb_cursor cursor;	/* SCAN's (on the caller's stack for now:
					 * tdb.ko will want it elsewhere) */
};

struct tdb_cmd_desc {
	/* Runs the request at @off, and maybe more; returns the next offset. */
	size_t (*run)(struct tdb_exec *x, u8 *batch, size_t off, size_t len);
	/* Or, for single requests: the handler proper. */
	int (*fn)(struct tdb_exec *x, struct tdb_req *rq, struct tdb_rsp *r);
	u8 need_table : 1;	/* resolve TDB_A_TABLE and hold the table */
	u8 need_key : 1;	/* TDB_A_KEY, 1..TDB_KEY_MAX bytes */
	u8 perm;		/* TDB_PERM_* needed on the table */
};

u32 tdb_get_u32(const struct nlattr *a);
u64 tdb_get_u64(const struct nlattr *a);
void tdb_rsp_u64(struct tdb_rsp *r, u16 type, u64 v);
void tdb_rsp_str(struct tdb_rsp *r, u16 type, const char *s);
void tdb_rsp_error(struct tdb_rsp *r, int err, const char *why);
void tdb_rsp_wait_log(struct tdb_exec *x, struct tdb_rsp *r);
void tdb_rsp_wait_write(struct tdb_exec *x, struct tdb_rsp *r);
void tdb_exec_release(struct tdb_exec *x);

/* exec_load.c: the handlers of the LOAD_* commands. */
/* Whether @staging is the staging table of one of @s's loads. */
bool tdb_session_owns(struct tdb_session *s, const char *staging);
int tdb_do_load_begin(struct tdb_exec *x, struct tdb_req *rq,
		      struct tdb_rsp *r);
int tdb_do_load(struct tdb_exec *x, struct tdb_req *rq, struct tdb_rsp *r);
int tdb_do_load_commit(struct tdb_exec *x, struct tdb_req *rq,
		       struct tdb_rsp *r);
int tdb_do_load_abort(struct tdb_exec *x, struct tdb_req *rq,
		      struct tdb_rsp *r);

#endif /* TDB_CORE_EXEC_INT_H */
