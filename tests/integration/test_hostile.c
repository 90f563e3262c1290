// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Hostile clients: raw connections that speak tdb/proto.h directly (see
 * harness.h) and break it in every way the owner must survive: random
 * bytes in frames, lengths past the frame, invalid status words, frames
 * rewritten after they were published, batches that never end, RX rings
 * never drained, connections left idle (before and after the handshake),
 * a wrong protocol version, malformed netlink messages, garbage in the
 * control page and in the RX ring, an attempt to shrink the ring memfd,
 * and the shared wakeup eventfds made blocking with their counters full.
 *
 * After each, an ordinary libtdb client (the one made in setup and a fresh
 * one) still gets correct answers within a bounded time, and at the end the
 * owner is alive and counts no connection of ours any more.  A malformed
 * batch must get its connection closed (DESIGN.md, core/exec.h); a
 * well-framed request with bad attributes must get an error response.
 * Every loop is bounded in time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "harness.h"

#define CLOSE_MS 5000		/* how long the owner may take to close */
#define SLOW_MS 3000		/* the most a normal call may take */

static struct tdb *db;
static char table[64];
static uint32_t conns0;		/* connections before the test (ours: 1) */
static uint64_t rng = 0x686f7374;
static uint8_t *buf;		/* scratch for raw batches */
#define BUFSZ (TDB_BATCH_MAX + 65536)

/* ---- a normal client ---------------------------------------------------- */

/* Puts and gets a fresh value through @c, each call within SLOW_MS. */
static void normal_ops(struct tdb *c, const char *what)
{
	char key[32];
	uint8_t val[300], got[300];
	size_t vlen = 0;
	uint64_t t0;
	int rc;

	snprintf(key, sizeof(key), "probe-%u", h_rand_below(&rng, 1000));
	h_fill(val, sizeof(val), h_rand(&rng));
	t0 = h_now_ms();
	rc = tdb_put(c, table, key, strlen(key), val, sizeof(val), 0);
	if (rc)
		fail_msg("after %s: put: %d (%s)", what, rc, tdb_strerror(rc));
	rc = tdb_get(c, table, key, strlen(key), got, sizeof(got), &vlen);
	if (rc)
		fail_msg("after %s: get: %d (%s)", what, rc, tdb_strerror(rc));
	assert_int_equal(vlen, sizeof(val));
	assert_memory_equal(got, val, sizeof(val));
	if (h_now_ms() - t0 > SLOW_MS)
		fail_msg("after %s: put+get took %lu ms", what,
			 (unsigned long)(h_now_ms() - t0));
}

/* The persistent client and a fresh one both work. */
static void still_serving(const char *what)
{
	struct tdb *c;
	int rc;

	normal_ops(db, what);
	rc = h_connect(&c);
	if (rc)
		fail_msg("after %s: connect: %d (%s)", what, rc,
			 tdb_strerror(rc));
	normal_ops(c, what);
	tdb_close(c);
}

static pid_t owner_pid;		/* tdbd's, from SO_PEERCRED */
static int fds0 = -1;		/* its descriptors at the start, or -1 */

/*
 * Waits for the owner to count @n connections (ours come and go async),
 * and, back at the start's count, to hold as many descriptors as it did
 * then: nothing a hostile client did may leak one.
 */
static int wait_conns(uint32_t n, unsigned int ms)
{
	struct tdb_stats st;
	uint64_t end = h_now_ms() + ms;
	int fds;

	for (;;) {
		assert_int_equal(tdb_stats(db, &st), 0);
		if (st.connections == n)
			break;
		if (h_now_ms() > end) {
			print_error("owner counts %u connections, expected "
				    "%u\n", st.connections, n);
			return 0;
		}
		h_sleep_us(20000);
	}
	if (n != conns0 || fds0 < 0)
		return 1;
	fds = h_wait_fd_count(owner_pid, fds0, ms);
	if (fds >= 0 && fds != fds0) {
		print_error("the owner holds %d descriptors, %d at the start\n",
			    fds, fds0);
		return 0;
	}
	return 1;
}

/*
 * Raw connections and sockets a test opened, closed by the teardown even
 * when the test failed half way (so that one failure does not leave
 * connections behind for the next test to count).  Tracked structs are
 * static: they outlive the failed test's frame.
 */
static struct raw *tracked[64];
static unsigned int ntracked;
static int tracked_fds[64];
static unsigned int ntracked_fds;

static void track(struct raw *r)
{
	unsigned int i;

	for (i = 0; i < ntracked; i++)
		if (tracked[i] == r)
			return;
	assert_true(ntracked < 64);
	tracked[ntracked++] = r;
}

static void track_fd(int fd)
{
	assert_true(ntracked_fds < 64);
	tracked_fds[ntracked_fds++] = fd;
}

static int close_tracked(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < ntracked; i++)
		raw_close(tracked[i]);
	for (i = 0; i < ntracked_fds; i++)
		close(tracked_fds[i]);	/* EBADF when the test closed it */
	ntracked = ntracked_fds = 0;
	return 0;
}

static void open_raw(struct raw *r)
{
	int rc;

	track(r);
	rc = raw_open(r);

	if (rc)
		fail_msg("raw handshake: %d (%s)", rc, strerror(-rc));
}

/*
 * Requires the owner to close @r within CLOSE_MS; any responses that come
 * first must be errors.
 */
static void expect_closed(struct raw *r, const char *what)
{
	uint64_t end = h_now_ms() + CLOSE_MS;
	struct raw_resp o;
	long n;

	while (h_now_ms() < end) {
		n = raw_recv(r, buf, BUFSZ, 50);
		if (n == RAW_CLOSED)
			return;
		if (n > 0) {
			if (raw_parse(buf, (size_t)n, &o) == 0 && o.status == 0)
				fail_msg("%s: the owner answered with success",
					 what);
			continue;
		}
		if (n != -ETIMEDOUT)
			fail_msg("%s: reading the RX ring: %ld", what, n);
	}
	if (!raw_wait_closed(r, 10))
		fail_msg("%s: the owner did not close the connection within "
			 "%u ms", what, CLOSE_MS);
}

/*
 * Requires an error response to a well-framed but bad request: returns its
 * status.  Fails on success, on no answer; tolerates a close only if
 * @close_ok.
 */
static int expect_error(struct raw *r, const char *what, int close_ok)
{
	struct raw_resp o;
	long n = raw_recv(r, buf, BUFSZ, CLOSE_MS);

	if (n == RAW_CLOSED && close_ok)
		return RAW_CLOSED;
	if (n < 0)
		fail_msg("%s: no response (%ld)", what, n);
	if (raw_parse(buf, (size_t)n, &o))
		fail_msg("%s: malformed response", what);
	if (!o.status_first)
		fail_msg("%s: STATUS is not the first attribute", what);
	if (o.status >= 0)
		fail_msg("%s: status %d, expected an error", what, o.status);
	return o.status;
}

/* ---- setup -------------------------------------------------------------- */

static int setup(void **state)
{
	struct tdb_create_opts o = { .durability = TDB_DUR_MEMORY };
	struct tdb_stats st;
	uint8_t v[1000];

	(void)state;
	buf = malloc(BUFSZ);
	if (!buf || h_connect(&db))
		return -1;
	h_table(table, sizeof(table), "hostile");
	if (tdb_create(db, table, &o))
		return -1;
	h_fill(v, sizeof(v), 1);
	if (tdb_put(db, table, "known", 5, v, sizeof(v), 0))
		return -1;
	if (tdb_stats(db, &st))
		return -1;
	conns0 = st.connections;
	owner_pid = h_owner_pid();
	h_sleep_us(100000);	/* the probe's connection goes away */
	fds0 = h_fd_count(owner_pid);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tdb_drop(db, table);
	tdb_close(db);
	free(buf);
	return 0;
}

/* ---- a well-behaved raw client: the protocol as documented -------------- */

static void test_protocol(void **state)
{
	static struct raw r;
	struct raw_resp o;
	struct h_nlmsghdr *m;
	uint8_t v[1000], key[1100];
	size_t off;
	long n;
	int i;

	(void)state;
	open_raw(&r);
	assert_int_equal(r.w.magic, TDB_HELLO_MAGIC);
	assert_int_equal(r.w.version, TDB_PROTO_VERSION);
	assert_int_equal(r.w.status, 0);
	assert_int_equal(r.ctl->frame_size, r.fsz);
	assert_int_equal(r.ctl->frame_count, r.fcnt);
	assert_int_equal(r.ctl->tx_offset, TDB_CTL_SIZE);
	assert_int_equal(r.ctl->rx_offset, TDB_CTL_SIZE + r.fsz * r.fcnt);
	for (i = 0; i < (int)r.fcnt; i++) {
		assert_int_equal(raw_tx_frame(&r, i)->status, TDB_FRAME_UNUSED);
		assert_int_equal(raw_rx_frame(&r, i)->status, TDB_FRAME_UNUSED);
	}
	print_message("geometry: %u frames of %u bytes; owner pid %d holds %d "
		      "descriptors\n", r.fcnt, r.fsz, (int)owner_pid, fds0);

	/* GET of a known key: seq echoed, STATUS first, the value intact. */
	m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_GET, 0xabc123, table, "known",
		       5, NULL, -1);
	assert_int_equal(raw_call(&r, m, buf, BUFSZ / 2, &o, CLOSE_MS), 0);
	assert_int_equal(o.cmd, TDB_CMD_GET);
	assert_int_equal(o.seq, 0xabc123);
	assert_true(o.status_first);
	assert_int_equal(o.status, 0);
	assert_int_equal(o.vlen, 1000);
	h_fill(v, sizeof(v), 1);
	assert_memory_equal(o.val, v, 1000);

	/* A batch of several messages: one response each, in order. */
	off = 0;
	for (i = 0; i < 10; i++) {
		char k[16];

		snprintf(k, sizeof(k), "raw%d", i - i % 2);
		m = raw_msg_kv(buf + BUFSZ / 2 + off,
			       i % 2 ? TDB_CMD_GET : TDB_CMD_PUT, 100 + i,
			       table, k, strlen(k), k, i % 2 ? -1 : 4);
		off += H_ALIGN(m->nlmsg_len);
	}
	assert_int_equal(raw_send(&r, buf + BUFSZ / 2, off), 0);
	{
		int got = 0;
		uint64_t end = h_now_ms() + CLOSE_MS;

		while (got < 10 && h_now_ms() < end) {
			size_t p = 0;

			n = raw_recv(&r, buf, BUFSZ / 2, CLOSE_MS);
			assert_true(n > 0);
			while (p < (size_t)n) {
				assert_int_equal(raw_parse(buf + p, n - p, &o),
						 0);
				assert_int_equal(o.seq, 100 + got);
				assert_int_equal(o.cmd, got % 2 ? TDB_CMD_GET :
							       TDB_CMD_PUT);
				/* a GET of the key the PUT before made */
				assert_int_equal(o.status, 0);
				if (got % 2)
					assert_int_equal(o.vlen, 4);
				p += H_ALIGN(o.len);
				got++;
			}
		}
		assert_int_equal(got, 10);
	}

	/* SKIP frames are passed over. */
	assert_int_equal(raw_put_frame(&r, TDB_FRAME_SKIP, 12345, "junk", 4,
				       CLOSE_MS), 0);
	m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_GET, 7, table, "known", 5,
		       NULL, -1);
	assert_int_equal(raw_call(&r, m, buf, BUFSZ / 2, &o, CLOSE_MS), 0);
	assert_int_equal(o.seq, 7);
	assert_int_equal(o.status, 0);

	/* Well-framed requests with bad attributes: errors, not a close. */
	h_fill(key, sizeof(key), 2);
	m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_PUT, 8, table, key, 1025, "v",
		       1);
	assert_int_equal(raw_send(&r, m, m->nlmsg_len), 0);
	assert_int_equal(expect_error(&r, "key of 1025 bytes", 0), -E2BIG);
	m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_PUT, 9, table, key, 0, "v",
		       1);
	assert_int_equal(raw_send(&r, m, m->nlmsg_len), 0);
	assert_int_equal(expect_error(&r, "empty key", 0), -EINVAL);
	m = raw_msg(buf + BUFSZ / 2, TDB_CMD_GET, 10);	/* no TABLE, no KEY */
	assert_int_equal(raw_send(&r, m, m->nlmsg_len), 0);
	expect_error(&r, "GET without attributes", 0);
	m = raw_msg(buf + BUFSZ / 2, TDB_CMD_PUT, 11);	/* table not NUL-ended */
	raw_attr(m, TDB_A_TABLE, table, strlen(table));
	raw_attr(m, TDB_A_KEY, "k", 1);
	raw_attr(m, TDB_A_VALUE, "v", 1);
	assert_int_equal(raw_send(&r, m, m->nlmsg_len), 0);
	expect_error(&r, "TABLE without its NUL", 0);
	m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_PUT, 12, table, "f", 1, "v", 1);
	raw_attr_u32(m, TDB_A_FLAGS, 0x80);
	assert_int_equal(raw_send(&r, m, m->nlmsg_len), 0);
	assert_int_equal(expect_error(&r, "unknown PUT flag", 0), -EINVAL);
	m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_PUT, 13, table, "f", 1, "v", 1);
	raw_attr(m, TDB_A_FLAGS, "\1", 1);	/* a u32 of one byte */
	assert_int_equal(raw_send(&r, m, m->nlmsg_len), 0);
	expect_error(&r, "FLAGS of one byte", 0);

	/* A value of 1 MiB + 1 in chunks: -E2BIG from the owner itself. */
	{
		size_t total = (1 << 20) + 1, left = total;
		uint8_t *vv = malloc(TDB_VALUE_CHUNK);

		assert_non_null(vv);
		memset(vv, 'x', TDB_VALUE_CHUNK);
		m = raw_msg(buf, TDB_CMD_PUT, 14);
		raw_attr_str(m, TDB_A_TABLE, table);
		raw_attr(m, TDB_A_KEY, "huge", 4);
		while (left) {
			size_t c = left < TDB_VALUE_CHUNK ? left :
							    TDB_VALUE_CHUNK;

			raw_attr(m, TDB_A_VALUE, vv, c);
			left -= c;
		}
		free(vv);
		assert_int_equal(raw_send(&r, m, m->nlmsg_len), 0);
		assert_int_equal(expect_error(&r, "value of 1 MiB + 1", 0),
				 -E2BIG);
	}

	/* and the connection goes on */
	m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_GET, 15, table, "raw0", 4,
		       NULL, -1);
	assert_int_equal(raw_call(&r, m, buf, BUFSZ / 2, &o, CLOSE_MS), 0);
	assert_int_equal(o.status, 0);
	assert_int_equal(o.vlen, 4);
	assert_memory_equal(o.val, "raw0", 4);
	raw_close(&r);
	still_serving("protocol checks");
}

/* ---- handshakes --------------------------------------------------------- */

static void test_bad_hello(void **state)
{
	struct tdb_hello h = { TDB_HELLO_MAGIC, TDB_PROTO_VERSION + 98, 0, 0 };
	static struct raw r;
	int rc, nfds, i;

	(void)state;
	/* A wrong version: a welcome with -EPROTO and no descriptors. */
	track(&r);
	rc = raw_open_hello(&r, &h, sizeof(h), &nfds);
	assert_int_equal(rc, -EPROTO);
	assert_int_equal(r.w.status, -EPROTO);
	assert_int_equal(r.w.version, TDB_PROTO_VERSION);
	assert_int_equal(nfds, 0);
	raw_close(&r);
	h.version = 0;
	assert_int_equal(raw_open_hello(&r, &h, sizeof(h), &nfds), -EPROTO);
	assert_int_equal(nfds, 0);
	raw_close(&r);
	still_serving("a hello with a bad version");

	/* A bad magic, a short hello, a long one: refused or closed. */
	h_hello_wait_ms = 2000;
	{
		struct tdb_hello bad = { 0xdeadbeef, TDB_PROTO_VERSION, 0, 0 };
		uint8_t longer[64] = { 0 };

		rc = raw_open_hello(&r, &bad, sizeof(bad), &nfds);
		assert_true(rc == -EPROTO || rc == RAW_CLOSED ||
			    rc == -EINVAL);
		assert_int_equal(nfds, 0);
		raw_close(&r);
		rc = raw_open_hello(&r, &h, 4, &nfds);
		assert_true(rc < 0);
		assert_int_equal(nfds, 0);
		raw_close(&r);
		rc = raw_open_hello(&r, "", 0, &nfds);
		raw_close(&r);
		memcpy(longer, &(struct tdb_hello){ TDB_HELLO_MAGIC,
						    TDB_PROTO_VERSION, 0, 0 },
		       sizeof(struct tdb_hello));
		raw_open_hello(&r, longer, sizeof(longer), &nfds);
		raw_close(&r);
	}
	h_hello_wait_ms = 10000;
	still_serving("bad hellos");

	/* Connections dropped at every step of the handshake, many times. */
	for (i = 0; i < 100; i++) {
		int fd = raw_socket();
		struct tdb_hello ok = { TDB_HELLO_MAGIC, TDB_PROTO_VERSION, 0,
					0 };

		assert_true(fd >= 0);
		if (i % 3 >= 1)
			send(fd, &ok, sizeof(ok), MSG_NOSIGNAL);
		if (i % 3 == 2)
			h_wait_readable(fd, 1000);	/* welcome unread */
		close(fd);
	}
	still_serving("100 aborted handshakes");
	assert_true(wait_conns(conns0, 5000));
}

/* Connections left idle, before and after the handshake. */
static void test_idle(void **state)
{
	static struct raw r[4];
	static int fds[16];
	int i;
	struct tdb_stats st;

	(void)state;
	for (i = 0; i < 16; i++) {
		fds[i] = raw_socket();	/* never says hello */
		assert_true(fds[i] >= 0);
		track_fd(fds[i]);
	}
	for (i = 0; i < 4; i++)
		open_raw(&r[i]);	/* never sends a frame */
	assert_int_equal(tdb_stats(db, &st), 0);
	assert_true(st.connections >= conns0 + 4);
	for (i = 0; i < 5; i++) {
		still_serving("idle connections");
		h_sleep_us(200000);
	}
	/* an idle connection is still a good one */
	{
		struct raw_resp o = { 0 };
		struct h_nlmsghdr *m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_GET,
						  1, table, "known", 5, NULL,
						  -1);

		assert_int_equal(raw_call(&r[0], m, buf, BUFSZ / 2, &o,
					  CLOSE_MS), 0);
		assert_int_equal(o.status, 0);
	}
	for (i = 0; i < 16; i++)
		close(fds[i]);
	ntracked_fds = 0;
	for (i = 0; i < 4; i++)
		raw_close(&r[i]);
	assert_true(wait_conns(conns0, 5000));
}

/*
 * Junk on the control socket after the handshake, with descriptors of
 * ours attached: the owner may close the connection or ignore it, but
 * must not keep our descriptors (the fd count check in wait_conns()).
 */
static void test_control_junk(void **state)
{
	static struct raw r;
	uint8_t junk[4096];
	int i, k, pass[64];
	long ok = 0;

	(void)state;
	for (k = 0; k < 64; k++)
		pass[k] = eventfd(0, EFD_CLOEXEC);
	for (k = 0; k < 3; k++) {
		open_raw(&r);
		for (i = 0; i < 50; i++) {
			union {
				char b[CMSG_SPACE(64 * sizeof(int))];
				struct cmsghdr align;
			} cm;
			struct iovec iov = { junk, 1 + h_rand_below(&rng,
								    sizeof(junk)) };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
			struct cmsghdr *c;

			h_fill(junk, sizeof(junk), h_rand(&rng));
			if (k == 1 && i == 0)
				memcpy(junk, &(struct tdb_hello){
						     TDB_HELLO_MAGIC,
						     TDB_PROTO_VERSION, 0, 0 },
				       sizeof(struct tdb_hello));
			if (k == 2) {
				mh.msg_control = cm.b;
				mh.msg_controllen = sizeof(cm.b);
				c = CMSG_FIRSTHDR(&mh);
				c->cmsg_level = SOL_SOCKET;
				c->cmsg_type = SCM_RIGHTS;
				c->cmsg_len = CMSG_LEN(64 * sizeof(int));
				memcpy(CMSG_DATA(c), pass, sizeof(pass));
			}
			if (sendmsg(r.sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				break;
		}
		/* closed, or still a working connection */
		if (!raw_wait_closed(&r, 300)) {
			struct raw_resp o;
			struct h_nlmsghdr *m = raw_msg_kv(buf + BUFSZ / 2,
							  TDB_CMD_GET, 1, table,
							  "known", 5, NULL, -1);
			int rc = raw_call(&r, m, buf, BUFSZ / 2, &o, CLOSE_MS);

			if (rc != RAW_CLOSED) {
				assert_int_equal(rc, 0);
				assert_int_equal(o.status, 0);
				ok++;
			}
		}
		raw_close(&r);
		still_serving("junk on the control socket");
	}
	for (k = 0; k < 64; k++)
		close(pass[k]);
	print_message("%ld of 3 connections went on after junk on the "
		      "control socket\n", ok);
	assert_true(wait_conns(conns0, 5000));
}

/* ---- garbage in frames -------------------------------------------------- */

static void test_random_frames(void **state)
{
	static struct raw r;
	uint8_t junk[65536];
	int round;
	uint64_t end = h_now_ms() + 20000;

	(void)state;
	for (round = 0; round < 40 && h_now_ms() < end; round++) {
		uint32_t len;

		open_raw(&r);
		len = 1 + h_rand_below(&rng, raw_payload_max(&r) < sizeof(junk) ?
						      raw_payload_max(&r) :
						      sizeof(junk));
		if (round % 4 == 0)
			len = h_rand_below(&rng, 20);	/* tiny */
		h_fill(junk, len, h_rand(&rng));
		if (round % 5 == 1) {
			/* a good message header, garbage attributes */
			struct h_nlmsghdr *m = raw_msg(junk, TDB_CMD_PUT, 1);

			len = H_ALIGN(len < 32 ? 32 : len);
			m->nlmsg_len = len;
		}
		assert_int_equal(raw_put_frame(&r, TDB_FRAME_VALID, len, junk,
					       len, CLOSE_MS), 0);
		raw_kick(&r);
		if (len == 0) {
			/* an empty batch is not malformed: whatever follows */
			raw_close(&r);
			continue;
		}
		if (round % 5 == 1)
			expect_error(&r, "garbage attributes", 1);
		else
			expect_closed(&r, "random bytes");
		raw_close(&r);
		if (round % 8 == 0)
			still_serving("random bytes in a frame");
	}
	/* Junk in every frame of the ring at once, COPY and VALID mixed. */
	open_raw(&r);
	for (round = 0; round < (int)r.fcnt; round++) {
		uint32_t len = raw_payload_max(&r) < sizeof(junk) ?
				       raw_payload_max(&r) :
				       sizeof(junk);

		h_fill(junk, len, round);
		if (raw_put_frame(&r, round % 3 ? TDB_FRAME_COPY :
						  TDB_FRAME_VALID,
				  len, junk, len, 200))
			break;
		raw_kick(&r);
	}
	expect_closed(&r, "a ring full of junk");
	raw_close(&r);
	still_serving("random bytes in frames");
	assert_true(wait_conns(conns0, 5000));
}

static void test_bad_lengths(void **state)
{
	static const uint32_t extra[] = { 1, 16, 4096, 0x10000, 0x7fffffff,
					  0xfffffff0, 0xffffffff };
	static struct raw r;
	struct h_nlmsghdr *m;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		uint32_t len;

		open_raw(&r);
		m = raw_msg_kv(buf, TDB_CMD_GET, 1, table, "known", 5, NULL,
			       -1);
		len = raw_payload_max(&r) + extra[i];
		if (len < raw_payload_max(&r))	/* wrapped */
			len = extra[i];
		/* a valid message, but the frame claims more than it holds */
		assert_int_equal(raw_put_frame(&r, TDB_FRAME_VALID, len, m,
					       m->nlmsg_len, CLOSE_MS), 0);
		raw_kick(&r);
		expect_closed(&r, "frame len past the frame");
		raw_close(&r);
		still_serving("a frame len past the frame");
	}
	/* A COPY frame whose len is past the frame. */
	open_raw(&r);
	m = raw_msg_kv(buf, TDB_CMD_GET, 1, table, "known", 5, NULL, -1);
	assert_int_equal(raw_put_frame(&r, TDB_FRAME_COPY, r.fsz, m,
				       m->nlmsg_len, CLOSE_MS), 0);
	assert_int_equal(raw_put_frame(&r, TDB_FRAME_VALID, m->nlmsg_len, m,
				       m->nlmsg_len, CLOSE_MS), 0);
	raw_kick(&r);
	expect_closed(&r, "COPY frame len past the frame");
	raw_close(&r);
	assert_true(wait_conns(conns0, 5000));
}

static void test_bad_status(void **state)
{
	static const uint32_t bad[] = { 5, 0x100, 0x80000002, 0xffffffff };
	static struct raw r;
	struct h_nlmsghdr *m;
	struct raw_resp o;
	unsigned int i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		open_raw(&r);
		m = raw_msg_kv(buf, TDB_CMD_GET, 1, table, "known", 5, NULL,
			       -1);
		assert_int_equal(raw_put_frame(&r, bad[i], m->nlmsg_len, m,
					       m->nlmsg_len, CLOSE_MS), 0);
		raw_kick(&r);
		/*
		 * The protocol leaves open whether the owner closes or waits
		 * at such a frame; it must neither answer it nor crash.
		 */
		rc = (int)raw_recv(&r, buf, BUFSZ, 300);
		if (rc > 0 && raw_parse(buf, rc, &o) == 0 && o.status == 0)
			fail_msg("status %#x: the owner executed the frame",
				 bad[i]);
		raw_close(&r);
		still_serving("an invalid frame status");
	}
	/*
	 * RESERVED forever, then SKIP and a valid request behind it: the
	 * owner must not take a RESERVED frame, and must go on after SKIP.
	 */
	open_raw(&r);
	m = raw_msg_kv(buf, TDB_CMD_GET, 1, table, "known", 5, NULL, -1);
	raw_put_frame(&r, TDB_FRAME_RESERVED, m->nlmsg_len, m, m->nlmsg_len,
		      CLOSE_MS);
	raw_kick(&r);
	rc = (int)raw_recv(&r, buf, BUFSZ, 300);
	assert_int_equal(rc, -ETIMEDOUT);
	__atomic_store_n(&raw_tx_frame(&r, 0)->status, TDB_FRAME_SKIP,
			 __ATOMIC_RELEASE);
	m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_GET, 2, table, "known", 5, NULL,
		       -1);
	assert_int_equal(raw_call(&r, m, buf, BUFSZ / 2, &o, CLOSE_MS), 0);
	assert_int_equal(o.seq, 2);
	assert_int_equal(o.status, 0);
	raw_close(&r);

	/* A COPY with nothing after it, then the client goes away. */
	open_raw(&r);
	raw_put_frame(&r, TDB_FRAME_COPY, m->nlmsg_len, m, m->nlmsg_len,
		      CLOSE_MS);
	raw_kick(&r);
	h_sleep_us(100000);
	raw_close(&r);
	still_serving("unfinished batches");
	assert_true(wait_conns(conns0, 5000));
}

/* A batch that never ends: COPY frames past TDB_BATCH_MAX. */
static void test_endless_batch(void **state)
{
	static struct raw r;
	uint8_t *junk = calloc(1, TDB_FRAME_SIZE_MAX);
	uint64_t sent = 0, end = h_now_ms() + 20000;
	int rc = 0;

	(void)state;
	assert_non_null(junk);
	open_raw(&r);
	/* valid messages, so that only the batch's size is wrong */
	{
		uint32_t off = 0, max = raw_payload_max(&r);

		while (off + 64 <= max) {
			struct h_nlmsghdr *m = raw_msg_kv(junk + off,
							  TDB_CMD_GET, 1, table,
							  "known", 5, NULL, -1);

			off += H_ALIGN(m->nlmsg_len);
		}
		while (sent <= 2ULL * TDB_BATCH_MAX && h_now_ms() < end) {
			rc = raw_put_frame(&r, TDB_FRAME_COPY, max, junk, max,
					   2000);
			if (rc)
				break;
			raw_kick(&r);
			sent += max;
		}
	}
	free(junk);
	if (rc != RAW_CLOSED)
		expect_closed(&r, "a batch past TDB_BATCH_MAX");
	print_message("closed after %llu bytes of one batch\n",
		      (unsigned long long)sent);
	assert_true(sent <= TDB_BATCH_MAX + 2 * (uint64_t)r.fsz * r.fcnt);
	raw_close(&r);
	still_serving("an endless batch");
	assert_true(wait_conns(conns0, 5000));
}

/* ---- frames rewritten after they were published ------------------------- */

struct flipper {
	struct raw *r;
	volatile int stop;
	uint32_t frame;
	uint64_t seed;
	long flips;
};

static void *flip_main(void *arg)
{
	struct flipper *f = arg;
	struct tdb_frame_hdr *h = raw_tx_frame(f->r, f->frame);
	uint8_t *p = (uint8_t *)h + TDB_FRAME_HDR_SIZE;
	uint32_t span = 200;
	uint64_t s = f->seed;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		uint64_t x = h_rand(&s);

		switch (x % 16) {
		case 0:
			/* the frame's len */
			__atomic_store_n(&h->len, (uint32_t)(x >> 8) %
						 (f->r->fsz * 2),
					 __ATOMIC_RELAXED);
			break;
		case 1:
			/* the nlmsg_len */
			__atomic_store_n((uint32_t *)p, (uint32_t)(x >> 8),
					 __ATOMIC_RELAXED);
			break;
		case 2:
			/* publish it again */
			__atomic_store_n(&h->status, TDB_FRAME_VALID,
					 __ATOMIC_RELEASE);
			break;
		default:
			__atomic_store_n(&p[(x >> 8) % span],
					 (uint8_t)(x >> 40), __ATOMIC_RELAXED);
		}
		f->flips++;
	}
	return NULL;
}

static void test_mutating_frames(void **state)
{
	static struct raw r;
	struct flipper f;
	pthread_t th;
	struct h_nlmsghdr *m;
	uint8_t val[150];
	int round, closed = 0, answered = 0;
	long flips = 0;
	uint64_t end = h_now_ms() + 15000;

	(void)state;
	h_fill(val, sizeof(val), 3);
	open_raw(&r);
	for (round = 0; round < 300 && h_now_ms() < end; round++) {
		long n;

		m = raw_msg_kv(buf + BUFSZ / 2, round % 2 ? TDB_CMD_GET :
							  TDB_CMD_PUT,
			       round, table, "mutant", 6, val,
			       round % 2 ? -1 : (int)sizeof(val));
		if (raw_wait_tx_free(&r, 2000)) {
			raw_close(&r);
			open_raw(&r);
			closed++;
			continue;
		}
		memset(&f, 0, sizeof(f));
		f.r = &r;
		f.frame = r.tx_cur;
		f.seed = h_rand(&rng);
		/* publish, then rewrite it while the owner reads it */
		assert_int_equal(raw_put_frame(&r, TDB_FRAME_VALID,
					       m->nlmsg_len, m, m->nlmsg_len,
					       2000), 0);
		assert_int_equal(pthread_create(&th, NULL, flip_main, &f), 0);
		raw_kick(&r);
		n = raw_recv(&r, buf, BUFSZ / 2, 500);
		__atomic_store_n(&f.stop, 1, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
		flips += f.flips;
		if (n == RAW_CLOSED || raw_is_closed(&r)) {
			closed++;
			raw_close(&r);
			open_raw(&r);
			continue;
		}
		if (n > 0)
			answered++;
		/* the frame may have been re-published: start afresh */
		raw_close(&r);
		open_raw(&r);
		if (round % 50 == 0)
			still_serving("frames rewritten after VALID");
	}
	raw_close(&r);
	print_message("%d rounds: %d answered, %d closed, %ld flips\n", round,
		      answered, closed, flips);
	still_serving("frames rewritten after VALID");
	/* the key holds a whole value or nothing */
	{
		size_t vlen;
		uint8_t got[300];
		int rc = tdb_get(db, table, "mutant", 6, got, sizeof(got),
				 &vlen);

		assert_true(rc == 0 || rc == -ENOENT);
	}
	assert_true(wait_conns(conns0, 5000));
}

/* ---- RX rings never drained --------------------------------------------- */

#define NFLOOD 6	/* more than the owner has workers (one per CPU) */

static void test_rx_never_drained(void **state)
{
	static struct raw r[NFLOOD];
	uint8_t *frame = malloc(TDB_FRAME_SIZE_MAX);
	uint32_t used = 0;
	long frames[NFLOOD] = { 0 };
	int i, closed = 0, stuck;
	uint64_t end = h_now_ms() + 2000, t0;

	(void)state;
	assert_non_null(frame);
	for (i = 0; i < NFLOOD; i++)
		open_raw(&r[i]);
	/* a frame full of GETs of a 1000-byte value: responses outgrow it */
	while (used + 64 <= raw_payload_max(&r[0])) {
		struct h_nlmsghdr *m = raw_msg_kv(frame + used, TDB_CMD_GET,
						  used, table, "known", 5,
						  NULL, -1);

		used += H_ALIGN(m->nlmsg_len);
	}
	/* flood all at once, reading nothing */
	do {
		stuck = 0;
		for (i = 0; i < NFLOOD; i++) {
			int rc = raw_put_frame(&r[i], TDB_FRAME_VALID, used,
					       frame, used, 0);

			if (rc == 0) {
				frames[i]++;
				raw_kick(&r[i]);
			} else {
				stuck++;
			}
		}
		if (stuck == NFLOOD)
			h_sleep_us(1000);
	} while (h_now_ms() < end);

	/* Others are served meanwhile, promptly. */
	t0 = h_now_ms();
	for (i = 0; i < 10; i++)
		still_serving("RX rings never drained");
	print_message("flooded %ld..%ld frames per connection; 10 probes "
		      "took %lu ms\n", frames[0], frames[NFLOOD - 1],
		      (unsigned long)(h_now_ms() - t0));
	/*
	 * DESIGN.md: a client that never drains its RX ring gets its own
	 * connection closed.  tdbd waits TDBD_STALL_NS (5 s) of no progress;
	 * allow three times that.
	 */
	end = h_now_ms() + 15000;
	for (i = 0; i < NFLOOD; i++) {
		assert_true(frames[i] >= 1);
		while (!raw_is_closed(&r[i]) && h_now_ms() < end)
			h_sleep_us(10000);
		closed += raw_is_closed(&r[i]);
	}
	print_message("%d of %d flooding connections closed by the owner "
		      "after %lu ms\n", closed, NFLOOD,
		      (unsigned long)(h_now_ms() - t0));
	if (closed != NFLOOD)
		fail_msg("%d connections that never drained their RX ring are "
			 "still open after 15 s", NFLOOD - closed);
	for (i = 0; i < NFLOOD; i++)
		raw_close(&r[i]);
	free(frame);
	still_serving("RX rings never drained");
	assert_true(wait_conns(conns0, 5000));
}

/* ---- the rest of the shared region, and the shared descriptors ---------- */

/*
 * The owner keeps its own geometry and cursors: garbage in the control
 * page changes nothing, and the memfd cannot be shrunk under it.
 */
static void test_ctl_page_and_memfd(void **state)
{
	static struct raw r;
	struct raw_resp o;
	struct h_nlmsghdr *m;
	struct stat sb;
	int round;

	(void)state;
	open_raw(&r);
	/*
	 * tdbd's region cannot change size: the owner would fault on it.
	 * (tdb.ko pins our own anonymous memory: there is no memfd.)
	 */
	if (r.region_fd >= 0) {
		assert_int_equal(fstat(r.region_fd, &sb), 0);
		assert_int_equal(sb.st_size, r.region_size);
		if (ftruncate(r.region_fd, 0) == 0 ||
		    ftruncate(r.region_fd, 4096) == 0)
			fail_msg("the client could shrink the ring region");
		assert_int_equal(fstat(r.region_fd, &sb), 0);
		assert_int_equal(sb.st_size, r.region_size);
	}

	for (round = 0; round < 20; round++) {
		/* every word of the control page rewritten */
		h_fill(r.ctl, TDB_CTL_SIZE, h_rand(&rng));
		if (round % 2) {
			r.ctl->frame_size = 0xffffffff;
			r.ctl->frame_count = 0x7fffffff;
			r.ctl->tx_offset = 0xfffff000;
			r.ctl->rx_offset = 0;
		}
		m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_GET, 100 + round,
			       table, "known", 5, NULL, -1);
		assert_int_equal(raw_call(&r, m, buf, BUFSZ / 2, &o, CLOSE_MS),
				 0);
		assert_int_equal(o.seq, 100 + round);
		assert_int_equal(o.status, 0);
		assert_int_equal(o.vlen, 1000);
	}
	raw_close(&r);
	still_serving("garbage in the control page");
	assert_true(wait_conns(conns0, 5000));
}

/* Garbage in the RX ring, which the owner fills: it must not follow it. */
static void test_rx_garbage(void **state)
{
	static const uint32_t st[] = { TDB_FRAME_VALID, TDB_FRAME_COPY,
				       TDB_FRAME_RESERVED, TDB_FRAME_SKIP, 77,
				       0xffffffff };
	static struct raw r;
	struct h_nlmsghdr *m;
	unsigned int i, k;

	(void)state;
	for (k = 0; k < sizeof(st) / sizeof(st[0]); k++) {
		open_raw(&r);
		for (i = 0; i < r.fcnt; i++) {
			struct tdb_frame_hdr *f = raw_rx_frame(&r, i);

			h_fill(f, r.fsz, h_rand(&rng));
			f->status = st[k];
			f->len = h_rand_below(&rng, 3) ? 0xffffffff : r.fsz;
		}
		/* requests the owner must answer into that ring */
		m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_GET, 1, table, "known",
			       5, NULL, -1);
		for (i = 0; i < 4; i++)
			if (raw_send(&r, m, m->nlmsg_len))
				break;
		h_sleep_us(100000);
		raw_close(&r);
		still_serving("garbage in the RX ring");
	}
	assert_true(wait_conns(conns0, 5000));
}

struct efd_abuser {
	struct raw *r;
	volatile int stop;
	long cycles;
};

/* Sets or clears O_NONBLOCK on the open file that the owner shares. */
static void set_blocking(int fd, int blocking)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, blocking ? fl & ~O_NONBLOCK :
						    fl | O_NONBLOCK) < 0)
		fprintf(stderr, "fcntl(%d): %s\n", fd, strerror(errno));
}

/*
 * Keeps the shared RX eventfd blocking and flips its counter between full
 * and empty.  Its own reads and writes run in the short moments when it
 * makes the file non-blocking, so that this thread never blocks itself.
 */
static void *efd_main(void *arg)
{
	struct efd_abuser *a = arg;
	uint64_t full = 0xfffffffffffffffeULL, v;
	int fd = a->r->rx_efd;

	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		set_blocking(fd, 0);
		if (read(fd, &v, sizeof(v)) < 0) {
			/* empty: fine */
		}
		if (write(fd, &full, sizeof(full)) < 0) {
			/* the owner added to it meanwhile: fine */
		}
		set_blocking(fd, 1);
		a->cycles++;
	}
	/* leave it blocking and full */
	set_blocking(fd, 0);
	if (read(fd, &v, sizeof(v)) < 0 || write(fd, &full, sizeof(full)) < 0) {
		/* best effort */
	}
	set_blocking(fd, 1);
	return NULL;
}

/*
 * Sends one GET on @r and waits for its answer without the RX eventfd.
 * 0: answered; 1: the owner closed the connection (it may, for a client
 * that abuses its eventfd); -1: neither within CLOSE_MS.
 */
static int efd_call(struct raw *r, const struct h_nlmsghdr *m)
{
	struct raw_resp o;
	long n;
	int rc;

	rc = raw_put_frame(r, TDB_FRAME_VALID, m->nlmsg_len, m, m->nlmsg_len,
			   CLOSE_MS);
	if (rc)
		return rc == RAW_CLOSED ? 1 : -1;
	raw_kick(r);	/* the TX eventfd: never read, never near full */
	__atomic_store_n(&r->ctl->client_need_wakeup, 1, __ATOMIC_SEQ_CST);
	n = raw_recv(r, buf, BUFSZ / 2, CLOSE_MS);
	if (n == RAW_CLOSED)
		return 1;
	if (n < 0 || raw_parse(buf, (size_t)n, &o) || o.status != 0)
		return -1;
	/* and ask for a wakeup again, so that the owner writes the eventfd */
	__atomic_store_n(&r->ctl->client_need_wakeup, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/*
 * The wakeup eventfds are shared with the client, which may make them
 * blocking (file status flags belong to the open file, shared with the
 * owner, not to one process) and fill their counters: the owner must
 * never hang on them.  It may answer such a client or close its
 * connection, but every request gets one or the other in bounded time.
 */
static void test_eventfd_abuse(void **state)
{
	static struct raw r[2];
	struct efd_abuser a = { 0 };
	struct h_nlmsghdr *m;
	uint64_t full = 0xfffffffffffffffeULL, end;
	pthread_t th;
	int i;
	long sent = 0;

	(void)state;
	m = raw_msg_kv(buf + BUFSZ / 2, TDB_CMD_GET, 1, table, "known", 5,
		       NULL, -1);

	/* 1: blocking, counter full, need-wakeup set, requests flowing */
	open_raw(&r[0]);
	r[0].no_rx_efd = 1;
	assert_int_equal(write(r[0].rx_efd, &full, sizeof(full)),
			 sizeof(full));
	set_blocking(r[0].rx_efd, 1);
	for (i = 0; i < 8; i++) {
		int rc = efd_call(&r[0], m);

		if (rc < 0)
			fail_msg("request %d neither answered nor closed while "
				 "the RX eventfd is blocking and full", i);
		if (rc)
			break;
	}
	still_serving("a blocking eventfd with a full counter");

	/* 2: a thread flipping the counter between full and empty */
	open_raw(&r[1]);
	r[1].no_rx_efd = 1;
	a.r = &r[1];
	assert_int_equal(pthread_create(&th, NULL, efd_main, &a), 0);
	end = h_now_ms() + 2000;
	while (h_now_ms() < end) {
		int rc = efd_call(&r[1], m);

		if (rc < 0) {
			__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
			pthread_join(th, NULL);
			fail_msg("request %ld neither answered nor closed while "
				 "the RX eventfd flips", sent);
		}
		if (rc)
			break;
		if (++sent % 200 == 0)
			normal_ops(db, "an eventfd flipped full and empty");
	}
	/* the thread stops with the counter full; the owner goes on */
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	print_message("%ld requests against %ld full/empty flips\n", sent,
		      a.cycles);
	for (i = 0; i < 5; i++)
		still_serving("an eventfd flipped full and empty");
	for (i = 0; i < 20; i++) {
		int rc = efd_call(&r[1], m);

		if (rc < 0)
			fail_msg("request %d neither answered nor closed after "
				 "the flips", i);
		if (rc) {
			print_message("the owner closed the abusing "
				      "connection\n");
			break;
		}
	}
	raw_close(&r[0]);
	raw_close(&r[1]);
	assert_true(wait_conns(conns0, 5000));
}

/* ---- malformed netlink -------------------------------------------------- */

/* Sends @len bytes at @p as one batch on a fresh connection. */
static void send_fresh(struct raw *r, const void *p, size_t len)
{
	open_raw(r);
	assert_int_equal(raw_send(r, p, len), 0);
}

static void test_bad_netlink(void **state)
{
	static const uint32_t lens[] = { 0, 1, 15, 16, 19, 0x10000000,
					 0xffffffff };
	static const uint16_t types[] = { 0, 1, 2, 3, 0x10, 0x21, 0xffff };
	static const uint8_t cmds[] = { TDB_CMD_UNSPEC, TDB_CMD_MAX + 1, 200,
					255 };
	uint8_t *msg = buf + BUFSZ / 2;
	struct h_nlmsghdr *m;
	static struct raw r;
	unsigned int i;
	char what[64];

	(void)state;
	/* nlmsg_len 0, shorter than the headers, past the batch */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t sent;

		m = raw_msg_kv(msg, TDB_CMD_GET, 1, table, "known", 5, NULL,
			       -1);
		sent = m->nlmsg_len;
		m->nlmsg_len = lens[i];
		send_fresh(&r, m, sent);
		snprintf(what, sizeof(what), "nlmsg_len %u", lens[i]);
		expect_closed(&r, what);
		raw_close(&r);
	}
	still_serving("bad nlmsg_len");

	/* past the batch by a little, with a good message before it */
	m = raw_msg_kv(msg, TDB_CMD_GET, 1, table, "known", 5, NULL, -1);
	{
		size_t first = H_ALIGN(m->nlmsg_len);
		struct h_nlmsghdr *m2 = raw_msg_kv(msg + first, TDB_CMD_GET, 2,
						   table, "known", 5, NULL, -1);
		size_t second = m2->nlmsg_len;

		m2->nlmsg_len += 4;
		send_fresh(&r, msg, first + second);
		expect_closed(&r, "second message past the batch");
		raw_close(&r);
	}

	/* trailing bytes after the last message */
	m = raw_msg_kv(msg, TDB_CMD_GET, 1, table, "known", 5, NULL, -1);
	memset(msg + m->nlmsg_len, 0xee, 8);
	send_fresh(&r, msg, m->nlmsg_len + 3);
	expect_closed(&r, "3 trailing bytes");
	raw_close(&r);

	/* wrong message types */
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		m = raw_msg_kv(msg, TDB_CMD_GET, 1, table, "known", 5, NULL,
			       -1);
		m->nlmsg_type = types[i];
		send_fresh(&r, m, m->nlmsg_len);
		snprintf(what, sizeof(what), "nlmsg_type %#x", types[i]);
		expect_closed(&r, what);
		raw_close(&r);
	}
	still_serving("wrong message types");

	/* unknown commands */
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		m = raw_msg_kv(msg, cmds[i], 1, table, "known", 5, NULL, -1);
		send_fresh(&r, m, m->nlmsg_len);
		snprintf(what, sizeof(what), "command %u", cmds[i]);
		expect_closed(&r, what);
		raw_close(&r);
	}
	still_serving("unknown commands");

	/* no generic header: a bare nlmsghdr */
	m = raw_msg(msg, TDB_CMD_GET, 1);
	m->nlmsg_len = H_NLMSG_HDRLEN;
	send_fresh(&r, m, H_NLMSG_HDRLEN);
	expect_closed(&r, "no generic header");
	raw_close(&r);

	/*
	 * Broken attributes inside a well-framed message: nla_len 0, shorter
	 * than its header, past the message.  An error response or a close,
	 * never success, never silence.
	 */
	{
		static const uint16_t alens[] = { 0, 2, 3, 0x1000, 0xffff };

		for (i = 0; i < sizeof(alens) / sizeof(alens[0]); i++) {
			struct h_nlattr *a;

			m = raw_msg_kv(msg, TDB_CMD_PUT, 1, table, "known", 5,
				       "v", 1);
			/* the KEY attribute follows the TABLE one */
			a = (struct h_nlattr *)(msg + H_NLMSG_HDRLEN + 4 +
						H_ALIGN(H_NLA_HDRLEN +
							strlen(table) + 1));
			assert_int_equal(a->nla_type, TDB_A_KEY);
			a->nla_len = alens[i];
			send_fresh(&r, m, m->nlmsg_len);
			snprintf(what, sizeof(what), "nla_len %u", alens[i]);
			expect_error(&r, what, 1);
			raw_close(&r);
		}
	}
	/* the known key was not overwritten by any of it */
	{
		uint8_t v[1000], want[1000];
		size_t vlen;

		assert_int_equal(tdb_get(db, table, "known", 5, v, sizeof(v),
					 &vlen), 0);
		assert_int_equal(vlen, 1000);
		h_fill(want, sizeof(want), 1);
		assert_memory_equal(v, want, sizeof(want));
	}
	still_serving("malformed netlink");
	assert_true(wait_conns(conns0, 5000));
}

/* ---- at the end --------------------------------------------------------- */

/*
 * A run of PUTs into a prefix table whose last KEY is too short for an
 * address and ends the batch where the owner's copy of it ends (a batch of
 * exactly 64 KiB, the least its buffer holds): the owner looks ahead over
 * the run's keys before the puts (exec.c, tdb_run_puts()), and must not
 * read an address out of that key.  Under AddressSanitizer (make
 * test-san) a read past the buffer stops tdbd, which still_serving()
 * sees; the first put must be stored and the second refused.
 */
static void test_short_prefix_key(void **state)
{
	struct tdb_create_opts co = { .key_type = TDB_KEY_CIDR6,
				     .durability = TDB_DUR_MEMORY };
	static const uint8_t k17[17] = { 0x20, 0x01, 0x0d, 0xb8, [16] = 32 };
	const size_t total = 65536;
	struct h_nlmsghdr *m1, *m2;
	uint8_t m2buf[256], got[8];
	static struct raw r;
	uint64_t end = h_now_ms() + CLOSE_MS;
	size_t vlen, vgot;
	struct raw_resp o;
	unsigned int seen = 0;
	char t6[80];
	int rc;

	(void)state;
	snprintf(t6, sizeof(t6), "%s-c6", table);
	assert_int_equal(tdb_create(db, t6, &co), 0);
	m2 = raw_msg(m2buf, TDB_CMD_PUT, 2);
	raw_attr_str(m2, TDB_A_TABLE, t6);
	raw_attr(m2, TDB_A_VALUE, "v", 1);
	raw_attr(m2, TDB_A_KEY, "abcd", 4);
	/* The first message's value fills the batch up to exactly @total. */
	memset(buf, 0x5a, total);
	m1 = raw_msg_kv(buf, TDB_CMD_PUT, 1, t6, k17, sizeof(k17), buf + total,
			0);
	vlen = total - m1->nlmsg_len - m2->nlmsg_len;
	m1 = raw_msg_kv(buf, TDB_CMD_PUT, 1, t6, k17, sizeof(k17),
			buf + total, (int)vlen);
	assert_int_equal(m1->nlmsg_len + m2->nlmsg_len, total);
	memcpy(buf + m1->nlmsg_len, m2, m2->nlmsg_len);

	send_fresh(&r, buf, total);
	/* The answers, in order: stored, then the short key refused. */
	while (seen < 2 && h_now_ms() < end) {
		long n = raw_recv(&r, buf, BUFSZ, 100);
		size_t off = 0;

		if (n == -ETIMEDOUT)
			continue;
		if (n <= 0)
			fail_msg("short prefix key: reading the RX ring: %ld", n);
		while (off < (size_t)n && seen < 2) {
			if (raw_parse(buf + off, (size_t)n - off, &o))
				fail_msg("short prefix key: malformed response");
			assert_int_equal(o.seq, seen + 1);
			assert_int_equal(o.status, seen ? -EINVAL : 0);
			seen++;
			off += (o.len + 3) & ~3U;
		}
	}
	assert_int_equal(seen, 2);
	still_serving("a short key at the end of a run of puts");
	rc = tdb_get(db, t6, k17, sizeof(k17), got, sizeof(got), &vgot);
	assert_int_equal(rc, 0);
	assert_int_equal(vgot, vlen);
	raw_close(&r);
	assert_int_equal(tdb_drop(db, t6), 0);
}

static void test_still_alive(void **state)
{
	struct tdb_stats st;

	(void)state;
	still_serving("everything");
	assert_int_equal(tdb_stats(db, &st), 0);
	assert_true(wait_conns(conns0, 5000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_protocol, close_tracked),
		cmocka_unit_test_teardown(test_bad_hello, close_tracked),
		cmocka_unit_test_teardown(test_idle, close_tracked),
		cmocka_unit_test_teardown(test_control_junk, close_tracked),
		cmocka_unit_test_teardown(test_random_frames, close_tracked),
		cmocka_unit_test_teardown(test_bad_lengths, close_tracked),
		cmocka_unit_test_teardown(test_bad_status, close_tracked),
		cmocka_unit_test_teardown(test_endless_batch, close_tracked),
		cmocka_unit_test_teardown(test_mutating_frames, close_tracked),
		cmocka_unit_test_teardown(test_rx_never_drained, close_tracked),
		cmocka_unit_test_teardown(test_ctl_page_and_memfd, close_tracked),
		cmocka_unit_test_teardown(test_rx_garbage, close_tracked),
		cmocka_unit_test_teardown(test_eventfd_abuse, close_tracked),
		cmocka_unit_test_teardown(test_bad_netlink, close_tracked),
		cmocka_unit_test_teardown(test_short_prefix_key, close_tracked),
		cmocka_unit_test_teardown(test_still_alive, close_tracked),
	};

	return cmocka_run_group_tests_name("integration/hostile", tests, setup,
					   teardown);
}
