// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ring.c - moving batches through the shared rings: producing TX frames,
 * consuming and reassembling RX frames, and sleeping with the need-wakeup
 * protocol of tdb/proto.h.
 *
 * Waiting.  libtdb, finding nothing to do, spins for a while, then sets
 * client_need_wakeup, re-checks and sleeps in poll() on the RX eventfd and
 * the control socket (a hangup there is -ECONNRESET).
 *
 * How long it spins adapts, per connection, between RING_SPIN_MIN_NS and
 * RING_SPIN_MAX_NS: a wait that ended while spinning doubles the spin, one
 * that had to sleep takes a quarter off, and every RING_SPIN_PROBE-th wait
 * spins the most, so that a spin cut short by a busy spell grows back once
 * answers come fast again.  Spinning pays only when the answer comes
 * within the spin and a CPU is free for the spinner; where clients and the
 * owner's workers outnumber the CPUs, a spinning client takes the CPU its
 * answer needs (on 2 CPUs, 4 clients of batched gets spinning the fixed
 * 20 us were 0.7 times as fast as with a short spin), while a lone client
 * with a CPU of its own gets its answers within the spin and keeps it.
 *
 * While it waits for a free TX frame it keeps draining the RX ring, or an
 * owner blocked on a full RX ring and a client blocked on a full TX ring
 * would wait for each other; and it sleeps with a short timeout, because
 * the owner owes no wakeup for freeing a TX frame.
 *
 * The owner may sleep while it waits for room in our RX ring: after we set
 * RX frames UNUSED we write the TX eventfd if its need-wakeup word is set
 * (tdb/proto.h, Wakeups).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define TX_SLEEP_MS 1

static inline struct tdb_frame_hdr *frame(uint8_t *ring, uint32_t size,
					  uint32_t i)
{
	return (struct tdb_frame_hdr *)(ring + (size_t)size * i);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static void kick(int efd)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(efd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	/* EAGAIN: the counter is saturated, the owner is awake anyway. */
}

static void kick_owner(struct tdb *db)
{
	smp_mb();
	if (READ_ONCE(db->ctl->owner_need_wakeup))
		kick(db->tx_efd);
}

static bool rx_ready(struct tdb *db)
{
	struct tdb_frame_hdr *h = frame(db->rx_ring, db->frame_size, db->rx_head);

	return load_acquire(&h->status) != TDB_FRAME_UNUSED;
}

static bool tx_free(struct tdb *db)
{
	struct tdb_frame_hdr *h = frame(db->tx_ring, db->frame_size, db->tx_head);

	return load_acquire(&h->status) == TDB_FRAME_UNUSED;
}

/*
 * Sleeps until the owner writes the RX eventfd, @timeout_ms passes (-1:
 * no limit), or @ready() turns true.  -ECONNRESET if the owner hung up.
 */
static int ring_sleep(struct tdb *db, bool (*ready)(struct tdb *db),
		      int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = db->rx_efd, .events = POLLIN },
		{ .fd = db->sock, .events = POLLIN },
	};
	int n, err = 0;

	WRITE_ONCE(db->ctl->client_need_wakeup, 1);
	smp_mb();
	if (ready(db) || rx_ready(db))
		goto out;
	/* tdb.ko ending the connection sets it, then writes RX's eventfd. */
	if (READ_ONCE(db->ctl->owner_gone)) {
		err = conn_gone_error(db);
		goto out;
	}
	do {
		n = poll(pfd, 2, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	if (pfd[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
		err = -ECONNRESET;
		goto out;
	}
	if (pfd[1].revents & POLLIN) {
		char c;
		ssize_t r = recv(db->sock, &c, 1, MSG_DONTWAIT);

		/* The owner sends nothing after the welcome but EOF. */
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			err = -ECONNRESET;
			goto out;
		}
	}
	if (pfd[0].revents & POLLIN) {
		uint64_t v;

		if (read(db->rx_efd, &v, sizeof(v)) < 0 && errno != EAGAIN &&
		    errno != EINTR)
			err = -errno;
	}
out:
	WRITE_ONCE(db->ctl->client_need_wakeup, 0);
	return err ? conn_fail(db, err) : 0;
}

/*
 * Spins for @ready(), then sleeps once, and adapts the spin to what it
 * found (see the top of this file).  0 or -errno.
 */
static int ring_wait(struct tdb *db, bool (*ready)(struct tdb *db),
		     int timeout_ms)
{
	uint64_t start = now_ns();
	uint32_t spin = db->spin_ns;

	/* A short spin is tried long now and then, or it could never grow. */
	if (!(++db->waits % RING_SPIN_PROBE))
		spin = RING_SPIN_MAX_NS;
	do {
		for (int i = 0; i < 64; i++) {
			if (ready(db)) {
				db->spin_ns = spin < RING_SPIN_MAX_NS / 2 ?
						      spin * 2 :
						      RING_SPIN_MAX_NS;
				return 0;
			}
			cpu_relax();
		}
	} while (now_ns() - start < spin);
	db->spin_ns -= db->spin_ns / 4;
	if (db->spin_ns < RING_SPIN_MIN_NS)
		db->spin_ns = RING_SPIN_MIN_NS;
	return ring_sleep(db, ready, timeout_ms);
}

int ring_send(struct tdb *db, const void *buf, size_t len)
{
	const uint32_t payload = db->frame_size - TDB_FRAME_HDR_SIZE;
	const uint8_t *p = buf;
	int err;

	if (len > TDB_BATCH_MAX)
		return -E2BIG;
	while (len) {
		struct tdb_frame_hdr *h;
		uint32_t n = len < payload ? len : payload;

		while (!tx_free(db)) {
			err = ring_drain(db);
			if (err)
				return err;
			if (tx_free(db))
				break;
			err = ring_wait(db, tx_free, TX_SLEEP_MS);
			if (err)
				return err;
		}
		h = frame(db->tx_ring, db->frame_size, db->tx_head);
		memcpy(h + 1, p, n);
		WRITE_ONCE(h->len, n);
		store_release(&h->status,
			      n == len ? TDB_FRAME_VALID : TDB_FRAME_COPY);
		db->tx_head = (db->tx_head + 1) % db->frame_count;
		p += n;
		len -= n;
		kick_owner(db);
	}
	return 0;
}

static int rx_reserve(struct tdb *db, size_t need)
{
	size_t cap = db->rx_cap ? db->rx_cap : 65536;
	uint8_t *nb;

	if (need <= db->rx_cap)
		return 0;
	if (need > TDB_BATCH_MAX)
		return -EPROTO;
	while (cap < need)
		cap *= 2;
	nb = realloc(db->rx_buf, cap);
	if (!nb)
		return -ENOMEM;
	db->rx_buf = nb;
	db->rx_cap = cap;
	return 0;
}

/*
 * Copies RX frames into rx_buf until a whole batch is there (1), the ring
 * runs dry (0) or the owner sent garbage (-EPROTO).
 */
static int rx_fill_frames(struct tdb *db, unsigned int *released)
{
	const uint32_t payload = db->frame_size - TDB_FRAME_HDR_SIZE;

	for (;;) {
		struct tdb_frame_hdr *h =
			frame(db->rx_ring, db->frame_size, db->rx_head);
		uint32_t status = load_acquire(&h->status);
		uint32_t len;
		int err;

		if (status == TDB_FRAME_UNUSED || status == TDB_FRAME_RESERVED)
			return 0;
		if (status != TDB_FRAME_SKIP) {
			if (status != TDB_FRAME_VALID && status != TDB_FRAME_COPY)
				return -EPROTO;
			len = READ_ONCE(h->len);
			if (len > payload)
				return -EPROTO;
			err = rx_reserve(db, db->rx_asm + len);
			if (err)
				return err;
			memcpy(db->rx_buf + db->rx_asm, h + 1, len);
			db->rx_asm += len;
		}
		store_release(&h->status, TDB_FRAME_UNUSED);
		(*released)++;
		db->rx_head = (db->rx_head + 1) % db->frame_count;
		if (status == TDB_FRAME_VALID) {
			db->rx_len = db->rx_asm;
			db->rx_pos = 0;
			db->rx_asm = 0;
			return 1;
		}
	}
}

static int rx_fill(struct tdb *db)
{
	unsigned int released = 0;
	int r = rx_fill_frames(db, &released);

	/* An owner that waits for room in this ring may go on now. */
	if (released)
		kick_owner(db);
	return r;
}

/* Takes the next message out of the current RX batch: 1, 0 or -EPROTO. */
static int rx_take(struct tdb *db, const struct nlmsghdr **out)
{
	const struct nlmsghdr *nlh;
	size_t left = db->rx_len - db->rx_pos;

	if (!left)
		return 0;
	nlh = (const struct nlmsghdr *)(db->rx_buf + db->rx_pos);
	/* rx_buf is malloc'd and rx_pos 4-aligned: the header is aligned. */
	if (!mnl_nlmsg_ok(nlh, (int)left) || nlh->nlmsg_type != TDB_MSG_TYPE)
		return -EPROTO;
	db->rx_pos += MNL_ALIGN(nlh->nlmsg_len);
	if (db->rx_pos > db->rx_len)
		db->rx_pos = db->rx_len;
	*out = nlh;
	return 1;
}

int ring_recv(struct tdb *db, const struct nlmsghdr **nlh, bool wait)
{
	int r;

	for (;;) {
		r = rx_take(db, nlh);
		if (r)
			break;
		r = rx_fill(db);
		if (r < 0)
			break;
		if (r > 0)
			continue;
		if (!wait)
			return 0;
		r = ring_wait(db, rx_ready, -1);
		if (r)
			return r;
	}
	return r < 0 ? conn_fail(db, r) : r;
}

int ring_dispatch(struct tdb *db, const struct nlmsghdr *nlh)
{
	uint16_t owner = SEQ_OWNER(nlh->nlmsg_seq);
	struct tdb_batch *b;

	if (owner == 0)
		return conn_fail(db, -EPROTO);	/* no such call waits */
	b = batch_find(db, owner);
	if (!b)
		return conn_fail(db, -EPROTO);
	return batch_complete(b, nlh);
}

int ring_drain(struct tdb *db)
{
	const struct nlmsghdr *nlh;
	int r;

	while ((r = ring_recv(db, &nlh, false)) > 0) {
		r = ring_dispatch(db, nlh);
		if (r)
			return r;
	}
	return r;
}
