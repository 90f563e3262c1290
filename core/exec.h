/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * exec.h - the executor: runs a batch of request messages (tdb/proto.h)
 * against an owner's tables and writes one response per request.  Shared
 * by every host (tdbd, tdb.ko), which only move bytes and wake threads:
 * everything a request means is decided here, through one dispatch table
 * indexed by enum tdb_cmd.
 *
 * A host copies each batch out of shared memory into private memory
 * before it calls tdb_exec_batch(); the executor then trusts nothing in
 * it.  A batch whose message framing is broken (a length past the batch,
 * a wrong message type, a missing generic header, an unknown command) is
 * refused as a whole with -EPROTO before anything runs, and the host closes
 * the connection.  A well-framed request with bad attributes gets an error
 * response (-EINVAL, -E2BIG ... with TDB_A_MESSAGE saying why) and the
 * connection goes on.
 *
 * Responses go to a sink that the host provides (struct tdb_out), in the
 * order of the requests.  Each is a complete netlink message: struct
 * nlmsghdr (type TDB_MSG_TYPE, the request's nlmsg_seq), struct
 * tdb_genlhdr (the request's command), TDB_A_STATUS first, then the
 * payload attributes.  Messages are 4-byte aligned and their lengths are
 * multiples of 4, so the sink's bytes are a valid batch as they are.
 */
#ifndef TDB_CORE_EXEC_H
#define TDB_CORE_EXEC_H

#include "port.h"
#include "table.h"
#include "wal.h"
#include "tdb/proto.h"

/*
 * The log's figures, kept by the host's log and checkpoint threads
 * (WRITE_ONCE) and reported by INFO and STATS (READ_ONCE).
 */
struct tdb_log_stats {
	u64 syncs;		/* fdatasyncs since start */
	u64 writes;		/* records they made durable */
	u32 sync_rate;		/* syncs in the last whole second */
	u32 write_rate;		/* records synced in it */
	u64 ckpt_time;		/* last checkpoint, seconds since the epoch */
	u64 ckpt_lsn;		/* its start: where recovery replays from */
};

/* One per owner process (or module). */
struct tdb_owner {
	struct tdb_db db;
	port_atomic_t requests;		/* requests executed */
	port_atomic_t connections;	/* hosts inc/dec */
	/*
	 * Bytes that hosts hold for connections: ring regions, private
	 * buffers, output backlogs.  Hosts add and subtract; STATS reports
	 * it with the tables' memory, so a leaked connection shows.
	 */
	port_atomic_t conn_bytes;
	/*
	 * What conn_bytes may reach before a connection's buffers stop
	 * growing (the connection is then closed); 0: no bound.  tdb.ko's
	 * conn_mem_mib: its buffers are kernel memory no OOM kill frees.
	 */
	u64 conn_bytes_max;
	struct tdb_log_stats log;
};

/* Who sent a batch (SO_PEERCRED in tdbd). */
struct tdb_cred {
	u32 uid, gid;
};

/* Bulk loads one connection may run at once. */
#define TDB_SESSION_LOADS 4U

/*
 * A bulk load in progress: its staging table, and the table it commits
 * into, held: the commit goes to that table or fails, never to another
 * that took its name meanwhile.
 */
struct tdb_stage {
	char staging[TDB_NAME_MAX];
	char target[TDB_NAME_MAX];
	struct tdb_table *target_t;
	u32 flags;		/* TDB_LOAD_REPLACE */
};

/*
 * What the executor keeps for one connection between batches: who it is
 * and the staging tables of its loads, which it alone may commit or
 * abort.  The host calls tdb_session_end() when the connection goes
 * (whatever the reason, a crashed client included), which drops them: a
 * load that did not commit leaves nothing behind.
 */
struct tdb_session {
	struct tdb_cred cred;
	u32 nloads;
	struct tdb_stage loads[TDB_SESSION_LOADS];
};

void tdb_session_init(struct tdb_session *s, const struct tdb_cred *cred);
/*
 * Drops the staging tables of @s's loads.  Runs where tdb_exec_batch()
 * may (an RCU-registered thread, outside a read-side section).
 */
void tdb_session_end(struct tdb_owner *o, struct tdb_session *s);

/*
 * Where responses go.  The executor writes one response at a time:
 *
 *  reserve  returns room for @len bytes of the response being written,
 *           counted from its start, keeping what was written of it so far
 *           (the room may move, like realloc); NULL when there is no
 *           memory.  The first call for a response asks for at least 256
 *           bytes, and later calls never ask for less than before.
 *  commit   ends the response: its first @len bytes are complete.  The
 *           host sends it once the log is durable up to @lsn (0: at
 *           once; see struct tdb_db): writes to sync tables, creates and
 *           drops.  Responses must still reach the client in order.
 *  busy     asked before each request: true when the host wants the
 *           executor to stop here (its output backlog is full); the batch
 *           is then resumed later from where it stopped.
 *
 * reserve may be called inside an RCU read-side section (GET runs, SCAN,
 * LIST): it must not sleep (GFP_ATOMIC in the kernel).  error is set to a
 * static string when tdb_exec_batch() refuses a batch.
 */
struct tdb_out {
	void *(*reserve)(struct tdb_out *out, size_t len);
	void (*commit)(struct tdb_out *out, size_t len, u64 lsn);
	bool (*busy)(struct tdb_out *out);
	const char *error;
};

int tdb_owner_init(struct tdb_owner *o);
/* Drops every table.  No request may run any more. */
void tdb_owner_fini(struct tdb_owner *o);

/*
 * Rewrites the status of the response at @msg, which a sink holds: a host
 * fails a response that waited for the log when the log failed instead.
 */
void tdb_exec_set_status(void *msg, int err);

/*
 * Runs the requests of the @len bytes at @batch (private memory that the
 * executor may rewrite: it joins value chunks in place) in order, and
 * writes their responses to @out.  Returns the number of bytes of @batch
 * consumed: @len when every request ran, less when @out->busy() stopped
 * it (call again with the rest, which always starts on a message).
 * Returns -EPROTO, with out->error set, when the batch is malformed
 * (nothing ran), and -ENOMEM when a response could not be started (the
 * requests before it ran).  @len must not exceed TDB_BATCH_MAX.
 *
 * Runs in a thread that the host registered with port_rcu_thread_online(),
 * outside any RCU read-side section; may sleep (a DROP waits for a grace
 * period).
 */
int tdb_exec_batch(struct tdb_owner *o, struct tdb_session *sess,
		   void *batch, size_t len, struct tdb_out *out);

#endif /* TDB_CORE_EXEC_H */
