// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * conn.c - a client connection's rings: see conn.h for the rules.
 */
#include "conn.h"

static port_atomic_t conn_ids;

/* Brings owner->conn_bytes in line with what @c holds now. */
static void conn_account(struct tdb_conn *c)
{
	size_t now = c->host_bytes + c->in.cap + c->out.cap +
		     c->holds_cap * sizeof(*c->holds);

	if (now != c->acct) {
		port_atomic_add(&c->owner->conn_bytes,
				(long)now - (long)c->acct);
		c->acct = now;
	}
}

/*
 * realloc() for the engine's allocator: a new block of @new_size bytes
 * holding the first @keep bytes of @old (of @old_size bytes), which is
 * freed.  NULL (and @old untouched) when there is no memory.
 */
static void *conn_realloc(void *old, size_t keep, size_t old_size,
			  size_t new_size)
{
	void *p = port_alloc(new_size);

	if (!p)
		return NULL;
	if (old) {
		memcpy(p, old, keep);
		port_free(old, old_size);
	}
	return p;
}

static inline struct tdb_frame_hdr *conn_frame(const struct tdb_conn *c,
					       u8 *ring, u32 i)
{
	return (struct tdb_frame_hdr *)(ring + (size_t)i * c->frame_size);
}

static inline u32 conn_next(const struct tdb_conn *c, u32 i)
{
	return ++i == c->frame_count ? 0 : i;
}

/* Grows @b to hold @need bytes.  0 or -ENOMEM. */
static int conn_buf_grow(struct tdb_conn *c, struct tdb_conn_buf *b,
			 size_t need)
{
	size_t cap = b->cap ? b->cap : TDB_CONN_BUF_MIN;
	u8 *p;

	if (likely(need <= b->cap))
		return 0;
	while (cap < need)
		cap *= 2;
	if (c->owner->conn_bytes_max &&
	    (u64)port_atomic_read(&c->owner->conn_bytes) + cap - b->cap >
		    c->owner->conn_bytes_max)
		return -ENOMEM;
	/* All of it: a response being written lies past len. */
	p = conn_realloc(b->data, b->cap, b->cap, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	conn_account(c);
	return 0;
}

/* Gives an emptied buffer's excess back. */
static void conn_buf_shrink(struct tdb_conn *c, struct tdb_conn_buf *b)
{
	u8 *p;

	if (b->len || b->cap <= TDB_CONN_BUF_MIN)
		return;
	p = conn_realloc(b->data, 0, b->cap, TDB_CONN_BUF_MIN);
	if (!p)
		return;
	b->data = p;
	b->cap = TDB_CONN_BUF_MIN;
	conn_account(c);
}

/* The executor's sink: the backlog buffer. */
static void *conn_reserve(struct tdb_out *out, size_t len)
{
	struct tdb_conn *c = container_of(out, struct tdb_conn, sink);

	if (conn_buf_grow(c, &c->out, c->out.len + len))
		return NULL;
	return c->out.data + c->out.len;
}

/* Remembers that the response at @off waits for @lsn.  0 or -ENOMEM. */
static int conn_hold(struct tdb_conn *c, size_t off, u64 lsn)
{
	if (c->nholds == c->holds_cap) {
		u32 cap = c->holds_cap ? 2 * c->holds_cap : 16;
		struct tdb_conn_hold *h;

		if (c->hold_head) {
			/* Slide the pending ones down before growing. */
			c->nholds -= c->hold_head;
			memmove(c->holds, c->holds + c->hold_head,
				c->nholds * sizeof(*h));
			c->hold_head = 0;
			return conn_hold(c, off, lsn);
		}
		h = conn_realloc(c->holds, c->nholds * sizeof(*h),
				 c->holds_cap * sizeof(*h), cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		c->holds = h;
		c->holds_cap = cap;
		conn_account(c);
	}
	c->holds[c->nholds].off = off;
	c->holds[c->nholds].lsn = lsn;
	c->nholds++;
	c->ops->log_want(lsn);
	return 0;
}

static void conn_commit(struct tdb_out *out, size_t len, u64 lsn)
{
	struct tdb_conn *c = container_of(out, struct tdb_conn, sink);

	/* Already durable: it waits only for the holds before it, if any. */
	if (lsn && lsn > tdb_wal_durable_lsn(c->owner->db.wal) &&
	    conn_hold(c, c->out.len, lsn)) {
		/* No memory to wait: fail it rather than answer too early. */
		tdb_exec_set_status(c->out.data + c->out.len, -ENOMEM);
	}
	c->out.len += len;
}

/*
 * Lets go of the held responses whose log position is durable, and fails
 * the rest when the log has an error.  Returns where ready output ends.
 */
static size_t conn_release(struct tdb_conn *c)
{
	struct tdb_wal *wal = c->owner->db.wal;
	u64 durable;
	int err;

	if (c->hold_head == c->nholds)
		return c->out.len;
	durable = tdb_wal_durable_lsn(wal);
	err = tdb_wal_last_error(wal);
	for (; c->hold_head < c->nholds; c->hold_head++) {
		struct tdb_conn_hold *h = &c->holds[c->hold_head];

		if (h->lsn > durable) {
			if (!err)
				return h->off;
			tdb_exec_set_status(c->out.data + h->off, err);
		}
	}
	c->hold_head = c->nholds = 0;
	return c->out.len;
}

static bool conn_busy(struct tdb_out *out)
{
	struct tdb_conn *c = container_of(out, struct tdb_conn, sink);

	return c->out.len - c->out_head >= TDB_CONN_BACKLOG_SOFT;
}

/* Moves backlog into free RX frames; returns the number of frames used. */
static unsigned int conn_output(struct tdb_conn *c)
{
	const size_t payload = c->frame_size - TDB_FRAME_HDR_SIZE;
	size_t ready = conn_release(c);
	unsigned int frames = 0;
	u32 i;

	while (c->out_head < ready) {
		struct tdb_frame_hdr *fr = conn_frame(c, c->rx, c->rx_head);
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
		c->rx_head = conn_next(c, c->rx_head);
		frames++;
	}

	if (c->out_head == c->out.len) {
		c->out.len = c->out_head = 0;
		conn_buf_shrink(c, &c->out);
	} else if (c->out_head >= TDB_CONN_BUF_MIN &&
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
			c->ops->wake_client(c);
	}
	return frames;
}

/* Runs (the rest of) the batch in c->in.  TDB_CONN_WORK/IDLE/CLOSE. */
static int conn_exec(struct tdb_conn *c)
{
	int ret;

	ret = tdb_exec_batch(c->owner, &c->sess, c->in.data + c->in_off,
			     c->in.len - c->in_off, &c->sink);
	c->ops->log_appended();
	if (ret < 0) {
		tdb_conn_log(c, PORT_LOG_WARN, "%s: %s (%d); closing",
			 ret == -ENOMEM ? "out of memory for a response" :
					  "malformed batch",
			 c->sink.error ? c->sink.error : "bad message", ret);
		return TDB_CONN_CLOSE;
	}
	c->in_off += (size_t)ret;
	if (c->in_off < c->in.len)
		return ret ? TDB_CONN_WORK : TDB_CONN_IDLE;
	c->in.len = 0;
	c->in_off = 0;
	c->in_ready = false;
	conn_buf_shrink(c, &c->in);
	return TDB_CONN_WORK;
}

/* Copies ready TX frames out, running each batch they complete. */
static int conn_input(struct tdb_conn *c)
{
	const u32 payload = c->frame_size - TDB_FRAME_HDR_SIZE;
	int work = TDB_CONN_IDLE;
	u32 budget;

	for (budget = c->frame_count; budget && !c->in_ready; budget--) {
		struct tdb_frame_hdr *fr = conn_frame(c, c->tx, c->tx_head);
		u32 status, len;

		status = smp_load_acquire(&fr->status);
		if (status == TDB_FRAME_UNUSED || status == TDB_FRAME_RESERVED)
			break;
		if (status == TDB_FRAME_SKIP) {
			smp_store_release(&fr->status, TDB_FRAME_UNUSED);
			c->tx_head = conn_next(c, c->tx_head);
			work = TDB_CONN_WORK;
			continue;
		}
		if (status != TDB_FRAME_VALID && status != TDB_FRAME_COPY) {
			tdb_conn_log(c, PORT_LOG_WARN,
				 "TX frame %u has bad status %u; closing",
				 c->tx_head, status);
			return TDB_CONN_CLOSE;
		}
		len = READ_ONCE(fr->len);
		if (len > payload) {
			tdb_conn_log(c, PORT_LOG_WARN,
				 "TX frame %u length %u is past the frame's %u payload bytes; closing",
				 c->tx_head, len, payload);
			return TDB_CONN_CLOSE;
		}
		if (c->in.len + len > TDB_BATCH_MAX) {
			tdb_conn_log(c, PORT_LOG_WARN,
				 "batch larger than %u bytes; closing",
				 TDB_BATCH_MAX);
			return TDB_CONN_CLOSE;
		}
		if (conn_buf_grow(c, &c->in, c->in.len + len)) {
			tdb_conn_log(c, PORT_LOG_WARN,
				 "out of memory for a %zu-byte batch; closing",
				 c->in.len + len);
			return TDB_CONN_CLOSE;
		}
		memcpy(c->in.data + c->in.len, (u8 *)fr + TDB_FRAME_HDR_SIZE,
		       len);
		c->in.len += len;
		smp_store_release(&fr->status, TDB_FRAME_UNUSED);
		c->tx_head = conn_next(c, c->tx_head);
		work = TDB_CONN_WORK;
		if (status == TDB_FRAME_VALID) {
			c->in_ready = true;
			c->in_off = 0;
			if (conn_exec(c) == TDB_CONN_CLOSE)
				return TDB_CONN_CLOSE;
			conn_output(c);
		}
	}
	return work;
}

bool tdb_conn_tx_pending(const struct tdb_conn *c)
{
	const struct tdb_frame_hdr *fr = conn_frame(c, c->tx, c->tx_head);
	u32 status = smp_load_acquire(&fr->status);

	return status != TDB_FRAME_UNUSED && status != TDB_FRAME_RESERVED;
}

/* One pass of conn_service(). */
static int conn_service_once(struct tdb_conn *c)
{
	int work = TDB_CONN_IDLE, ret;
	unsigned int frames = 0;

	if (tdb_conn_out_pending(c))
		frames += conn_output(c);
	if (c->in_ready && !conn_busy(&c->sink)) {
		ret = conn_exec(c);
		if (ret == TDB_CONN_CLOSE)
			return TDB_CONN_CLOSE;
		work |= ret;
		frames += conn_output(c);
	}
	ret = conn_input(c);
	if (ret == TDB_CONN_CLOSE)
		return TDB_CONN_CLOSE;
	work |= ret;
	if (frames)
		work = TDB_CONN_WORK;

	/* Output held for the log is not the client's to drain. */
	if (!tdb_conn_out_blocked(c)) {
		c->stall_since = 0;
	} else {
		u64 now = port_time_ns();

		if (frames || !c->stall_since) {
			c->stall_since = now;
		} else if (now - c->stall_since > TDB_CONN_STALL_NS) {
			tdb_conn_log(c, PORT_LOG_WARN,
				 "RX ring not drained for %llu s (%zu bytes of responses waiting); closing",
				 TDB_CONN_STALL_NS / 1000000000ULL,
				 c->out.len - c->out_head);
			return TDB_CONN_CLOSE;
		}
		if (c->out.len - c->out_head > TDB_CONN_BACKLOG_MAX) {
			tdb_conn_log(c, PORT_LOG_WARN,
				 "more than %u bytes of responses waiting; closing",
				 TDB_CONN_BACKLOG_MAX);
			return TDB_CONN_CLOSE;
		}
	}
	return work;
}

int tdb_conn_service(struct tdb_conn *c)
{
	int work = conn_service_once(c);

	if (c->doomed && work != TDB_CONN_CLOSE) {
		tdb_conn_log(c, PORT_LOG_WARN, "%s; closing", c->doomed);
		return TDB_CONN_CLOSE;
	}
	return work;
}

int tdb_conn_init(struct tdb_conn *c, struct tdb_owner *o,
		  const struct tdb_conn_ops *ops, long pid,
		  const struct tdb_cred *cred, size_t host_bytes)
{
	memset(c, 0, sizeof(*c));
	c->id = (u64)port_atomic_add_return(&conn_ids, 1);
	c->pid = pid;
	c->owner = o;
	c->ops = ops;
	tdb_session_init(&c->sess, cred);
	c->in.data = port_alloc(TDB_CONN_BUF_MIN);
	c->out.data = port_alloc(TDB_CONN_BUF_MIN);
	if (!c->in.data || !c->out.data) {
		if (c->in.data)
			port_free(c->in.data, TDB_CONN_BUF_MIN);
		if (c->out.data)
			port_free(c->out.data, TDB_CONN_BUF_MIN);
		return -ENOMEM;
	}
	c->in.cap = c->out.cap = TDB_CONN_BUF_MIN;
	c->sink.reserve = conn_reserve;
	c->sink.commit = conn_commit;
	c->sink.busy = conn_busy;
	c->host_bytes = host_bytes;
	port_atomic_inc(&o->connections);
	conn_account(c);
	return 0;
}

void tdb_conn_set_region(struct tdb_conn *c, void *region, u32 frame_size,
			 u32 frame_count)
{
	struct tdb_ring_ctl *ctl = region;
	size_t ring_bytes = (size_t)frame_size * frame_count;

	memset(ctl, 0, sizeof(*ctl));
	ctl->magic = TDB_HELLO_MAGIC;
	ctl->version = TDB_PROTO_VERSION;
	ctl->frame_size = frame_size;
	ctl->frame_count = frame_count;
	ctl->tx_offset = TDB_CTL_SIZE;
	ctl->rx_offset = TDB_CTL_SIZE + ring_bytes;
	c->ctl = ctl;
	c->frame_size = frame_size;
	c->frame_count = frame_count;
	c->tx = (u8 *)region + TDB_CTL_SIZE;
	c->rx = c->tx + ring_bytes;
}

void tdb_conn_fini(struct tdb_conn *c)
{
	tdb_session_end(c->owner, &c->sess);
	port_free(c->in.data, c->in.cap);
	port_free(c->out.data, c->out.cap);
	if (c->holds)
		port_free(c->holds, c->holds_cap * sizeof(*c->holds));
	port_atomic_sub(&c->owner->conn_bytes, (long)c->acct);
	port_atomic_dec_return(&c->owner->connections);
	c->acct = 0;
}

void tdb_conn_need_wakeup(struct tdb_conn *c, bool on)
{
	if (c->sleeping != on) {
		WRITE_ONCE(c->ctl->owner_need_wakeup, on);
		c->sleeping = on;
	}
}
