// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ring.c - moving bytes between a connection's shared rings and the
 * executor: TX frames are copied out, reassembled into batches and run;
 * responses are packed into RX frames.
 *
 * The owner trusts nothing in the region.  A TX frame's status and length
 * are read once each; the length is checked against the frame size that
 * tdbd chose (never the region's copy of it); the payload is copied into
 * the connection's private buffer and the frame is released at once; only
 * the copy is ever parsed.  A client that rewrites a frame after
 * publishing it can only change what tdbd copies, which is then validated
 * like anything else.
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
 * RX ring is full, responses wait in the backlog; past TDBD_BACKLOG_SOFT
 * bytes the executor pauses the batch (it resumes where it stopped once
 * the client drains RX), so the backlog stays bounded by about
 * TDBD_BACKLOG_SOFT plus one response.  A connection whose RX ring does
 * not move for TDBD_STALL_NS while output waits is closed.
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
 * Wakeups.  After publishing RX frames tdbd issues a full barrier and
 * writes the client's eventfd only if client_need_wakeup is set.  The
 * eventfd is shared with the client, which could make it blocking and
 * fill its counter; tdbd polls it first so a write never blocks in
 * practice.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdbd.h"

static inline struct tdb_frame_hdr *ring_frame(const struct conn *c, u8 *ring,
					       u32 i)
{
	return (struct tdb_frame_hdr *)(ring + (size_t)i * c->frame_size);
}

static inline u32 ring_next(const struct conn *c, u32 i)
{
	return ++i == c->frame_count ? 0 : i;
}

/* Grows @b to hold @need bytes.  0 or -ENOMEM. */
static int ring_buf_grow(struct conn *c, struct tdbd_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : TDBD_BUF_MIN;
	u8 *p;

	if (likely(need <= b->cap))
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	conn_account(c);
	return 0;
}

/* Gives an emptied buffer's excess back. */
static void ring_buf_shrink(struct conn *c, struct tdbd_buf *b)
{
	u8 *p;

	if (b->len || b->cap <= TDBD_BUF_MIN)
		return;
	p = realloc(b->data, TDBD_BUF_MIN);
	if (!p)
		return;
	b->data = p;
	b->cap = TDBD_BUF_MIN;
	conn_account(c);
}

/* The executor's sink: the backlog buffer. */
static void *ring_reserve(struct tdb_out *out, size_t len)
{
	struct conn *c = container_of(out, struct conn, sink);

	if (ring_buf_grow(c, &c->out, c->out.len + len))
		return NULL;
	return c->out.data + c->out.len;
}

/* Remembers that the response at @off waits for @lsn.  0 or -ENOMEM. */
static int ring_hold(struct conn *c, size_t off, u64 lsn)
{
	if (c->nholds == c->holds_cap) {
		u32 cap = c->holds_cap ? 2 * c->holds_cap : 16;
		struct conn_hold *h;

		if (c->hold_head) {
			/* Slide the pending ones down before growing. */
			c->nholds -= c->hold_head;
			memmove(c->holds, c->holds + c->hold_head,
				c->nholds * sizeof(*h));
			c->hold_head = 0;
			return ring_hold(c, off, lsn);
		}
		h = realloc(c->holds, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		c->holds = h;
		c->holds_cap = cap;
		conn_account(c);
	}
	c->holds[c->nholds].off = off;
	c->holds[c->nholds].lsn = lsn;
	c->nholds++;
	journal_want(lsn);
	return 0;
}

static void ring_commit(struct tdb_out *out, size_t len, u64 lsn)
{
	struct conn *c = container_of(out, struct conn, sink);

	/* Already durable: it waits only for the holds before it, if any. */
	if (lsn && lsn > tdb_wal_durable_lsn(owner.db.wal) &&
	    ring_hold(c, c->out.len, lsn)) {
		/* No memory to wait: fail it rather than answer too early. */
		tdb_exec_set_status(c->out.data + c->out.len, -ENOMEM);
	}
	c->out.len += len;
}

/*
 * Lets go of the held responses whose log position is durable, and fails
 * the rest when the log has an error.  Returns where ready output ends.
 */
static size_t ring_release(struct conn *c)
{
	struct tdb_wal *wal = owner.db.wal;
	u64 durable;
	int err;

	if (c->hold_head == c->nholds)
		return c->out.len;
	durable = tdb_wal_durable_lsn(wal);
	err = tdb_wal_last_error(wal);
	for (; c->hold_head < c->nholds; c->hold_head++) {
		struct conn_hold *h = &c->holds[c->hold_head];

		if (h->lsn > durable) {
			if (!err)
				return h->off;
			tdb_exec_set_status(c->out.data + h->off, err);
		}
	}
	c->hold_head = c->nholds = 0;
	return c->out.len;
}

static bool ring_busy(struct tdb_out *out)
{
	struct conn *c = container_of(out, struct conn, sink);

	return c->out.len - c->out_head >= TDBD_BACKLOG_SOFT;
}

void ring_init(struct conn *c)
{
	c->sink.reserve = ring_reserve;
	c->sink.commit = ring_commit;
	c->sink.busy = ring_busy;
}

/*
 * Wakes the client.  The eventfd is shared with it: it may have made it
 * blocking and filled its counter.  A full counter is seen by poll() and
 * skipped (the client has a wakeup pending anyway); a client that fills it
 * between the poll() and the write gets the write cut short by the
 * worker's timer, and is closed.
 */
static void ring_wake_client(struct conn *c)
{
	struct pollfd p = { .fd = c->rx_efd, .events = POLLOUT };

	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
		return;
	if (worker_wake_fd(c->w, c->rx_efd) == -EINTR)
		c->doomed = "its RX eventfd blocked a wakeup (made blocking and filled)";
}

/* Moves backlog into free RX frames; returns the number of frames used. */
static unsigned int ring_output(struct conn *c)
{
	const size_t payload = c->frame_size - TDB_FRAME_HDR_SIZE;
	size_t ready = ring_release(c);
	unsigned int frames = 0;
	u32 i;

	while (c->out_head < ready) {
		struct tdb_frame_hdr *fr = ring_frame(c, c->rx, c->rx_head);
		const u8 *src = c->out.data + c->out_head;
		size_t n, avail = ready - c->out_head;
		u32 status = TDB_FRAME_VALID;

		if (smp_load_acquire(&fr->status) != TDB_FRAME_UNUSED)
			break;
		if (!c->big_left) {
			size_t m = ((const struct nlmsghdr *)src)->nlmsg_len;

			if (m > payload)
				c->big_left = m;
		}
		if (c->big_left) {
			n = c->big_left < payload ? c->big_left : payload;
			c->big_left -= n;
			if (c->big_left)
				status = TDB_FRAME_COPY;
		} else {
			/* Whole messages, as many as fit. */
			n = 0;
			while (n < avail) {
				const struct nlmsghdr *nlh =
					(const struct nlmsghdr *)(src + n);
				size_t m = NLMSG_ALIGN(nlh->nlmsg_len);

				if (n + m > payload)
					break;
				n += m;
			}
			if (n > avail)	/* the last one lacks its padding */
				n = avail;
		}
		memcpy((u8 *)fr + TDB_FRAME_HDR_SIZE, src, n);
		WRITE_ONCE(fr->len, (u32)n);
		smp_store_release(&fr->status, status);
		c->out_head += n;
		c->rx_head = ring_next(c, c->rx_head);
		frames++;
	}

	if (c->out_head == c->out.len) {
		c->out.len = c->out_head = 0;
		ring_buf_shrink(c, &c->out);
	} else if (c->out_head >= TDBD_BUF_MIN &&
		   c->out_head >= c->out.len / 2) {
		memmove(c->out.data, c->out.data + c->out_head,
			c->out.len - c->out_head);
		c->out.len -= c->out_head;
		for (i = c->hold_head; i < c->nholds; i++)
			c->holds[i].off -= c->out_head;
		c->out_head = 0;
	}
	if (frames) {
		smp_mb();
		if (READ_ONCE(c->ctl->client_need_wakeup))
			ring_wake_client(c);
	}
	return frames;
}

/* Runs (the rest of) the batch in c->in.  RING_WORK/IDLE/CLOSE. */
static int ring_exec(struct conn *c)
{
	int ret;

	ret = tdb_exec_batch(&owner, &c->sess, c->in.data + c->in_off,
			     c->in.len - c->in_off, &c->sink);
	journal_appended();
	if (ret < 0) {
		conn_log(c, LOG_WARN, "%s: %s; closing",
			 ret == -ENOMEM ? "out of memory for a response" :
					  "malformed batch",
			 c->sink.error ? c->sink.error : strerror(-ret));
		return RING_CLOSE;
	}
	c->in_off += (size_t)ret;
	if (c->in_off < c->in.len)
		return ret ? RING_WORK : RING_IDLE;
	c->in.len = 0;
	c->in_off = 0;
	c->in_ready = false;
	ring_buf_shrink(c, &c->in);
	return RING_WORK;
}

/* Copies ready TX frames out, running each batch they complete. */
static int ring_input(struct conn *c)
{
	const u32 payload = c->frame_size - TDB_FRAME_HDR_SIZE;
	int work = RING_IDLE;
	u32 budget;

	for (budget = c->frame_count; budget && !c->in_ready; budget--) {
		struct tdb_frame_hdr *fr = ring_frame(c, c->tx, c->tx_head);
		u32 status, len;

		status = smp_load_acquire(&fr->status);
		if (status == TDB_FRAME_UNUSED || status == TDB_FRAME_RESERVED)
			break;
		if (status == TDB_FRAME_SKIP) {
			smp_store_release(&fr->status, TDB_FRAME_UNUSED);
			c->tx_head = ring_next(c, c->tx_head);
			work = RING_WORK;
			continue;
		}
		if (status != TDB_FRAME_VALID && status != TDB_FRAME_COPY) {
			conn_log(c, LOG_WARN,
				 "TX frame %u has bad status %u; closing",
				 c->tx_head, status);
			return RING_CLOSE;
		}
		len = READ_ONCE(fr->len);
		if (len > payload) {
			conn_log(c, LOG_WARN,
				 "TX frame %u length %u is past the frame's %u payload bytes; closing",
				 c->tx_head, len, payload);
			return RING_CLOSE;
		}
		if (c->in.len + len > TDB_BATCH_MAX) {
			conn_log(c, LOG_WARN,
				 "batch larger than %u bytes; closing",
				 TDB_BATCH_MAX);
			return RING_CLOSE;
		}
		if (ring_buf_grow(c, &c->in, c->in.len + len)) {
			conn_log(c, LOG_WARN,
				 "out of memory for a %zu-byte batch; closing",
				 c->in.len + len);
			return RING_CLOSE;
		}
		memcpy(c->in.data + c->in.len, (u8 *)fr + TDB_FRAME_HDR_SIZE,
		       len);
		c->in.len += len;
		smp_store_release(&fr->status, TDB_FRAME_UNUSED);
		c->tx_head = ring_next(c, c->tx_head);
		work = RING_WORK;
		if (status == TDB_FRAME_VALID) {
			c->in_ready = true;
			c->in_off = 0;
			if (ring_exec(c) == RING_CLOSE)
				return RING_CLOSE;
			ring_output(c);
		}
	}
	return work;
}

bool ring_tx_pending(const struct conn *c)
{
	const struct tdb_frame_hdr *fr = ring_frame(c, c->tx, c->tx_head);
	u32 status = smp_load_acquire(&fr->status);

	return status != TDB_FRAME_UNUSED && status != TDB_FRAME_RESERVED;
}

/* One pass of ring_service(). */
static int ring_service_once(struct conn *c)
{
	int work = RING_IDLE, ret;
	unsigned int frames = 0;

	if (ring_out_pending(c))
		frames += ring_output(c);
	if (c->in_ready && !ring_busy(&c->sink)) {
		ret = ring_exec(c);
		if (ret == RING_CLOSE)
			return RING_CLOSE;
		work |= ret;
		frames += ring_output(c);
	}
	ret = ring_input(c);
	if (ret == RING_CLOSE)
		return RING_CLOSE;
	work |= ret;
	if (frames)
		work = RING_WORK;

	/* Output held for the log is not the client's to drain. */
	if (!ring_out_blocked(c)) {
		c->stall_since = 0;
	} else {
		u64 now = port_time_ns();

		if (frames || !c->stall_since) {
			c->stall_since = now;
		} else if (now - c->stall_since > TDBD_STALL_NS) {
			conn_log(c, LOG_WARN,
				 "RX ring not drained for %llu s (%zu bytes of responses waiting); closing",
				 TDBD_STALL_NS / 1000000000ULL,
				 c->out.len - c->out_head);
			return RING_CLOSE;
		}
		if (c->out.len - c->out_head > TDBD_BACKLOG_MAX) {
			conn_log(c, LOG_WARN,
				 "more than %u bytes of responses waiting; closing",
				 TDBD_BACKLOG_MAX);
			return RING_CLOSE;
		}
	}
	return work;
}

int ring_service(struct conn *c)
{
	int work = ring_service_once(c);

	if (c->doomed && work != RING_CLOSE) {
		conn_log(c, LOG_WARN, "%s; closing", c->doomed);
		return RING_CLOSE;
	}
	return work;
}
