/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * conn.h - a client connection's side of the rings, shared by the hosts:
 * TX frames are copied out, reassembled into batches and run; responses
 * are packed into RX frames.  The host (tdbd, tdb.ko) owns the region's
 * memory, the wakeup channels and the thread that calls
 * tdb_conn_service(); everything between the frames and the executor is
 * here, so that both hosts treat a hostile client the same way.
 *
 * The owner trusts nothing in the region.  A TX frame's status and length
 * are read once each; the length is checked against the frame size that
 * the host chose (never the region's copy of it); the payload is copied
 * into the connection's private buffer and the frame is released at once;
 * only the copy is ever parsed.  A client that rewrites a frame after
 * publishing it can only change what the owner copies, which is then
 * validated like anything else.
 *
 * Input.  COPY frames append to the batch being assembled, the VALID
 * frame that ends it runs it.  A batch is at most TDB_BATCH_MAX bytes.
 * SKIP frames are released unread.  Any other status closes the
 * connection.
 *
 * Output.  Responses go first to the connection's private backlog (the
 * executor's sink), then into RX frames: as many whole messages as fit
 * one frame, which is marked VALID; a message larger than a frame's
 * payload goes out alone as COPY frames and a final VALID one.  When the
 * RX ring is full, responses wait in the backlog; past
 * TDB_CONN_BACKLOG_SOFT bytes the executor pauses the batch (it resumes
 * where it stopped once the client drains RX), so the backlog stays
 * bounded by about TDB_CONN_BACKLOG_SOFT plus one response.  A connection
 * whose RX ring does not move for TDB_CONN_STALL_NS while output waits is
 * closed.
 *
 * Held responses.  A response that must wait for the log (a write to a
 * sync table, a create or drop) is committed to the backlog with the log
 * position it needs; it and every response after it stay in the backlog
 * until the log thread has made that position durable, so the client
 * still sees its responses in order.  Should the log fail instead, the
 * held responses' status is rewritten to the log's error: the write is
 * not acknowledged (it is applied in memory and stays in the log's
 * buffer, so it may still reach the disk once the disk allows).
 *
 * Wakeups.  After publishing RX frames the owner issues a full barrier
 * and asks the host to wake the client only if client_need_wakeup is set;
 * the host's wake must never block on the client.
 *
 * Memory accounting.  Each connection counts its private buffers and
 * whatever the host declares (its own struct, the region) in the owner's
 * conn_bytes, which STATS reports; tdb_conn_fini() takes all of it back.
 */
#ifndef TDB_CORE_CONN_H
#define TDB_CORE_CONN_H

#include "port.h"
#include "exec.h"
#include "tdb/proto.h"

/* Private buffers start (and shrink back to) this size. */
#define TDB_CONN_BUF_MIN (64U << 10)
/* Output waiting for RX room past which no more requests run. */
#define TDB_CONN_BACKLOG_SOFT (1U << 20)
/* Output past which the connection is closed (never reached normally). */
#define TDB_CONN_BACKLOG_MAX (8U << 20)
/* A connection whose RX ring makes no progress this long is closed. */
#define TDB_CONN_STALL_NS (5ULL * 1000000000ULL)

struct tdb_conn_buf {
	u8 *data;
	size_t len;
	size_t cap;
};

/* A response that waits for the log to be durable up to @lsn. */
struct tdb_conn_hold {
	size_t off;		/* where it starts in conn.out */
	u64 lsn;
};

struct tdb_conn;

/* What a host does for its connections; none may block on a client. */
struct tdb_conn_ops {
	/* Frames went out and client_need_wakeup was set. */
	void (*wake_client)(struct tdb_conn *c);
	/* A response waits for the log up to @lsn: the log should hurry. */
	void (*log_want)(u64 lsn);
	/* A batch ran and may have appended to the log. */
	void (*log_appended)(void);
};

enum {
	TDB_CONN_IDLE = 0,	/* nothing to do */
	TDB_CONN_WORK = 1,	/* did something */
	TDB_CONN_CLOSE = -1,	/* close the connection (logged) */
};

struct tdb_conn {
	u64 id;
	long pid;
	struct tdb_owner *owner;
	const struct tdb_conn_ops *ops;
	struct tdb_session sess;	/* credentials and bulk loads */

	/* The shared region, with the owner's own copy of its geometry. */
	struct tdb_ring_ctl *ctl;
	u32 frame_size;
	u32 frame_count;
	u8 *tx;
	u8 *rx;
	u32 tx_head;		/* next TX frame we read */
	u32 rx_head;		/* next RX frame we write */

	/* Input: the batch being assembled, then executed. */
	struct tdb_conn_buf in;
	size_t in_off;		/* bytes of a paused batch already run */
	bool in_ready;		/* in holds a whole batch not fully run */

	/* Output: responses not yet in RX frames, from out_head on. */
	struct tdb_conn_buf out;
	size_t out_head;
	size_t big_left;	/* bytes of a large message still to go */
	u64 stall_since;	/* when RX last made progress with output due */
	struct tdb_out sink;
	/*
	 * Responses from the first hold on wait for the log; only what lies
	 * before it may go out.  holds[hold_head..nholds) are pending.
	 */
	struct tdb_conn_hold *holds;
	u32 hold_head, nholds, holds_cap;

	const char *doomed;	/* why to close it at the end of service */
	size_t host_bytes;	/* what the host holds for it, counted too */
	size_t acct;		/* bytes counted in owner->conn_bytes */
	bool sleeping;		/* owner_need_wakeup is set */
};

/* "conn 12 (pid 345 uid 1000): ..." through port_log(). */
#define tdb_conn_log(c, level, fmt, ...)                                    \
	port_log(level, "conn %llu (pid %ld uid %u): " fmt,                 \
		 (unsigned long long)(c)->id, (c)->pid, (c)->sess.cred.uid, \
		 ##__VA_ARGS__)

/*
 * Sets up @c for a client of @pid with @cred; @host_bytes is what the host
 * holds for it (counted in owner->conn_bytes until tdb_conn_fini()).
 * 0 or -ENOMEM (then @c needs no tdb_conn_fini()).
 */
int tdb_conn_init(struct tdb_conn *c, struct tdb_owner *o,
		  const struct tdb_conn_ops *ops, long pid,
		  const struct tdb_cred *cred, size_t host_bytes);
/*
 * Lays the rings out over @region, TDB_REGION_SIZE(@frame_size,
 * @frame_count) bytes that the client will map, and writes its control
 * page.  Only the host's geometry is used from then on.
 */
void tdb_conn_set_region(struct tdb_conn *c, void *region, u32 frame_size,
			 u32 frame_count);
/*
 * Ends the session (loads that did not commit leave nothing behind) and
 * frees what tdb_conn_init() took.  Runs where tdb_exec_batch() may.
 */
void tdb_conn_fini(struct tdb_conn *c);

/* Reads TX frames, runs complete batches, writes RX frames. */
int tdb_conn_service(struct tdb_conn *c);
/* Whether TX has a frame for us, looking at one status word. */
bool tdb_conn_tx_pending(const struct tdb_conn *c);
/* Sets or clears owner_need_wakeup in the region (when it changes). */
void tdb_conn_need_wakeup(struct tdb_conn *c, bool on);

/* Whether output waits, for RX room or for the log. */
static inline bool tdb_conn_out_pending(const struct tdb_conn *c)
{
	return c->out_head < c->out.len;
}

/* Whether output that may go out waits for RX room. */
static inline bool tdb_conn_out_blocked(const struct tdb_conn *c)
{
	size_t ready = c->hold_head < c->nholds ?
			       c->holds[c->hold_head].off : c->out.len;

	return c->out_head < ready;
}

/* The log position the oldest held response waits for, or 0. */
static inline u64 tdb_conn_hold_lsn(const struct tdb_conn *c)
{
	return c->hold_head < c->nholds ? c->holds[c->hold_head].lsn : 0;
}

/* Whether a batch is assembled or running (frames received, not done). */
static inline bool tdb_conn_in_busy(const struct tdb_conn *c)
{
	return c->in_ready || c->in.len;
}

#endif /* TDB_CORE_CONN_H */
