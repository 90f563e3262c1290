/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * harness.h - helpers shared by the integration tests (tests/integration/).
 *
 * Every test binary is linked alone with libtdb.a (see the Makefile), so the
 * helpers here are static functions in a header.  They come in three parts:
 *
 *  - connection and naming helpers for libtdb clients (h_connect() retries
 *    while the owner is still starting; h_table() makes names unique per
 *    process so that the binaries can share one owner);
 *  - CHILD_CHECK() for forked children, which must not use CMocka's
 *    assertions (those would unwind into the child's copy of the runner):
 *    a failed check prints where and why, and _exit()s with status 1;
 *  - a raw client that speaks include/tdb/proto.h directly (struct raw):
 *    handshake, mmap of the ring region, frame send/receive and message
 *    building.  test_hostile uses it to misbehave; test_basic
 *    uses it to learn the owner's frame size.  Messages are laid out by
 *    hand (struct h_nlmsghdr, h_nlattr), the netlink ABI written out, so
 *    that malformed ones can be made too.
 *
 * The owner is tdbd, which run.sh starts and names in TDB_SOCKET, or
 * tdb.ko, already loaded, when TDB_TEST_OWNER=kmod (run.sh's kmod mode,
 * which make kmod-test runs in its guest): TDB_SOCKET is unset, libtdb
 * picks TDB_DEVICE, and the raw client connects through the device's
 * ioctls instead of the socket's handshake (h_kmod()).
 *
 * All waits are bounded in time; nothing here blocks forever.
 */
#ifndef TDB_TEST_HARNESS_H
#define TDB_TEST_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tdb/tdb.h>

/* ---- time, randomness, checksums ---------------------------------------- */

static inline uint64_t h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline uint64_t h_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline void h_sleep_us(unsigned long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* splitmix64: a deterministic generator for schedules both sides replay. */
static inline uint64_t h_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint32_t h_rand_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(h_rand(s) % n);
}

/* Fills @buf with bytes that depend on @seed only. */
static inline void h_fill(void *buf, size_t len, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t s = seed, r = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((i & 7) == 0)
			r = h_rand(&s);
		p[i] = (uint8_t)(r >> ((i & 7) * 8));
	}
}

/* FNV-1a, 64 bits: a checksum for self-describing values. */
static inline uint64_t h_fnv(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ---- children ----------------------------------------------------------- */

#define CHILD_CHECK(cond, ...)                                               \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "child %d: %s:%d: check '%s' failed: ", \
				(int)getpid(), __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			fflush(stderr);                                      \
			_exit(1);                                            \
		}                                                            \
	} while (0)

/*
 * Waits for @pid at most @timeout_ms; kills it with SIGKILL past that.
 * Returns its exit status (0..255), 128+signal when a signal ended it, or
 * -1 when it had to be killed.
 */
static inline int h_wait_child(pid_t pid, unsigned int timeout_ms)
{
	uint64_t end = h_now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -2;
		if (h_now_ms() > end) {
			fprintf(stderr, "child %d: timed out after %u ms, killed\n",
				(int)pid, timeout_ms);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		h_sleep_us(2000);
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "child %d: killed by signal %d\n", (int)pid,
			WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	return -3;
}

/* ---- libtdb clients ----------------------------------------------------- */

/* Is the owner tdb.ko (TDB_TEST_OWNER=kmod) rather than tdbd? */
static inline int h_kmod(void)
{
	const char *m = getenv("TDB_TEST_OWNER");

	return m && !strcmp(m, "kmod");
}

/*
 * Where clients connect: what tdbcli --socket and tdb_connect() take.
 * libtdb treats a character device as tdb.ko's.
 */
static inline const char *h_socket_path(void)
{
	const char *p = getenv("TDB_SOCKET");

	if (h_kmod())
		return TDB_DEVICE;
	return p && *p ? p : TDB_DEFAULT_SOCKET;
}

/*
 * Connects through libtdb (@path NULL: TDB_SOCKET), retrying for up to five
 * seconds while the owner is not listening yet.  0 or the last -errno.
 */
static inline int h_connect(struct tdb **db)
{
	uint64_t end = h_now_ms() + 5000;
	int rc;

	for (;;) {
		*db = NULL;
		rc = tdb_connect(NULL, db);
		if (rc == 0 || (rc != -ENOENT && rc != -ECONNREFUSED &&
				rc != -EAGAIN) || h_now_ms() > end)
			return rc;
		h_sleep_us(20000);
	}
}

/* A table name unique to this process: "@prefix_PID_N". */
static inline const char *h_table(char *buf, size_t cap, const char *prefix)
{
	static unsigned int n;

	snprintf(buf, cap, "%s_%d_%u", prefix, (int)getpid(), n++);
	return buf;
}

/* ---- raw protocol client ------------------------------------------------ */

struct raw {
	int sock;
	int tx_efd;		/* we write: wakes the owner */
	int rx_efd;		/* the owner writes: wakes us */
	int region_fd;		/* the memfd, kept open for hostile uses */
	uint8_t *region;
	size_t region_size;
	struct tdb_welcome w;
	struct tdb_ring_ctl *ctl;
	uint8_t *tx, *rx;
	uint32_t fsz, fcnt;
	uint32_t tx_cur, rx_cur;
	uint32_t seq;
	int no_rx_efd;		/* raw_recv() must not read the RX eventfd
				 * (a test abuses it): it naps instead */
};

#define RAW_CLOSED (-ECONNRESET)

static inline struct tdb_frame_hdr *raw_tx_frame(struct raw *r, uint32_t i)
{
	return (struct tdb_frame_hdr *)(r->tx + (size_t)(i % r->fcnt) * r->fsz);
}

static inline struct tdb_frame_hdr *raw_rx_frame(struct raw *r, uint32_t i)
{
	return (struct tdb_frame_hdr *)(r->rx + (size_t)(i % r->fcnt) * r->fsz);
}

static inline uint32_t raw_payload_max(const struct raw *r)
{
	return r->fsz - TDB_FRAME_HDR_SIZE;
}

static inline void raw_close(struct raw *r)
{
	if (r->region && r->region != MAP_FAILED)
		munmap(r->region, r->region_size);
	if (r->sock >= 0)
		close(r->sock);
	if (r->tx_efd >= 0)
		close(r->tx_efd);
	if (r->rx_efd >= 0)
		close(r->rx_efd);
	if (r->region_fd >= 0)
		close(r->region_fd);
	memset(r, 0, sizeof(*r));
	r->sock = r->tx_efd = r->rx_efd = r->region_fd = -1;
}

/*
 * Just the socket, connected, nothing sent.  fd or -errno.  With tdb.ko,
 * the device opened: a descriptor that holds no connection yet.
 */
static inline int raw_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t end = h_now_ms() + 5000;
	int fd;

	if (h_kmod()) {
		fd = open(TDB_DEVICE, O_RDWR | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	strncpy(sa.sun_path, h_socket_path(), sizeof(sa.sun_path) - 1);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		int e = errno;

		close(fd);
		if ((e != ENOENT && e != ECONNREFUSED && e != EAGAIN) ||
		    h_now_ms() > end)
			return -e;
		h_sleep_us(20000);
	}
}

/*
 * The owner's pid, from SO_PEERCRED of a fresh connection to its socket
 * (tdbd only), or -1: tdb.ko holds no descriptors to count.
 */
static inline pid_t h_owner_pid(void)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd;
	pid_t pid = -1;

	if (h_kmod())
		return -1;
	fd = raw_socket();
	if (fd < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
		pid = cr.pid;
	close(fd);
	return pid;
}

/* How many descriptors process @pid holds, or -1 when we cannot tell. */
static inline int h_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * Waits up to @ms for the owner @pid to hold @want descriptors (those of
 * dead connections may be closed asynchronously).  Returns the last count:
 * == @want on success; -1 when it cannot be read (no check).
 */
static inline int h_wait_fd_count(pid_t pid, int want, unsigned int ms)
{
	uint64_t end = h_now_ms() + ms;
	int n;

	for (;;) {
		n = h_fd_count(pid);
		if (n < 0 || n == want || h_now_ms() > end)
			return n;
		h_sleep_us(20000);
	}
}

/* Waits up to @ms for @fd to become readable.  1, 0 (timeout) or -errno. */
static inline int h_wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc;

	do
		rc = poll(&p, 1, ms);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : rc;
}

/* How long raw_open_hello() waits for the welcome. */
static unsigned int h_hello_wait_ms = 10000;

/*
 * Checks the geometry in r->w and maps the region: the owner's memfd
 * (tdbd) or, with none, anonymous memory of ours for tdb.ko to pin.
 * 0 or -errno.
 */
static inline int raw_map(struct raw *r)
{
	r->fsz = r->w.frame_size;
	r->fcnt = r->w.frame_count;
	r->region_size = r->w.region_size;
	if (r->fsz < TDB_FRAME_SIZE_MIN || r->fsz > TDB_FRAME_SIZE_MAX ||
	    r->fcnt < TDB_FRAME_COUNT_MIN || r->fcnt > TDB_FRAME_COUNT_MAX ||
	    r->region_size != TDB_REGION_SIZE(r->fsz, r->fcnt))
		return -EBADMSG;
	if (r->region_fd >= 0)
		r->region = mmap(NULL, r->region_size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, r->region_fd, 0);
	else
		r->region = mmap(NULL, r->region_size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
				 -1, 0);
	if (r->region == MAP_FAILED) {
		r->region = NULL;
		return -errno;
	}
	r->ctl = (struct tdb_ring_ctl *)r->region;
	r->tx = r->region + TDB_CTL_SIZE;
	r->rx = r->tx + (size_t)r->fsz * r->fcnt;
	r->seq = 1;
	return 0;
}

/*
 * raw_open_hello() with tdb.ko: the hello's magic and version (what of
 * them @hello_len covers; the rest reads as zero) go to TDB_IOC_GEOMETRY,
 * and r->w is made up as tdbd's welcome would be, with the ioctl's error
 * as its status.  The region is our own anonymous memory, the eventfds
 * ours, as libtdb makes them.  The device is closed before returning,
 * whatever happened (an open one keeps the module from unloading):
 * r->sock and r->region_fd stay -1, and the owner's close shows as
 * owner_gone.  *@nfds_out counts the region and the two eventfds on
 * success.
 */
static inline int raw_open_dev(struct raw *r, const void *hello,
			       size_t hello_len, int *nfds_out)
{
	struct tdb_hello h = { TDB_HELLO_MAGIC, TDB_PROTO_VERSION, 0, 0 };
	struct tdb_dev_connect dc = { 0 };
	int dev, rc;

	if (hello) {
		memset(&h, 0, sizeof(h));
		memcpy(&h, hello,
		       hello_len < sizeof(h) ? hello_len : sizeof(h));
	}
	dc.magic = h.magic;
	dc.version = h.version;
	r->w.magic = TDB_HELLO_MAGIC;
	r->w.version = TDB_PROTO_VERSION;
	dev = raw_socket();
	if (dev < 0)
		return dev;
	if (ioctl(dev, TDB_IOC_GEOMETRY, &dc) < 0) {
		rc = r->w.status = -errno;
		goto out;
	}
	r->w.frame_size = dc.frame_size;
	r->w.frame_count = dc.frame_count;
	r->w.region_size = (uint32_t)dc.region_size;
	rc = -EBADMSG;
	if (dc.region_size != r->w.region_size)
		goto out;
	rc = raw_map(r);
	if (rc)
		goto out;
	r->tx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->rx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->tx_efd < 0 || r->rx_efd < 0) {
		rc = -errno;
		goto out;
	}
	dc.region = (uintptr_t)r->region;
	dc.tx_efd = r->tx_efd;
	dc.rx_efd = r->rx_efd;
	if (ioctl(dev, TDB_IOC_CONNECT, &dc) < 0) {
		rc = r->w.status = -errno;
		goto out;
	}
	r->w.conn_id = dc.conn_id;
	if (nfds_out)
		*nfds_out = 3;
	rc = 0;
out:
	close(dev);
	return rc;
}

/*
 * Sends @hello (or a proper one when NULL) on a fresh connection and reads
 * the welcome with its descriptors.  On success (welcome status 0 and three
 * descriptors) maps the region and returns 0.  When the welcome carries a
 * non-zero status, returns that status with r->w filled and r->sock open
 * (the caller checks what came with it).  Other failures: -errno.
 */
static inline int raw_open_hello(struct raw *r, const void *hello,
				 size_t hello_len, int *nfds_out)
{
	struct tdb_hello h = { TDB_HELLO_MAGIC, TDB_PROTO_VERSION, 0, 0 };
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *c;
	int fds[8], nfds = 0, i, rc;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->sock = r->tx_efd = r->rx_efd = r->region_fd = -1;
	if (nfds_out)
		*nfds_out = 0;
	if (!hello) {
		hello = &h;
		hello_len = sizeof(h);
	}
	if (h_kmod())
		return raw_open_dev(r, hello, hello_len, nfds_out);
	rc = raw_socket();
	if (rc < 0)
		return rc;
	r->sock = rc;
	if (send(r->sock, hello, hello_len, MSG_NOSIGNAL) != (ssize_t)hello_len)
		return -errno;
	rc = h_wait_readable(r->sock, (int)h_hello_wait_ms);
	if (rc <= 0)
		return rc ? rc : -ETIMEDOUT;

	iov.iov_base = &r->w;
	iov.iov_len = sizeof(r->w);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	n = recvmsg(r->sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (i = 0; i < k && nfds < 8; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
	}
	if (nfds_out)
		*nfds_out = nfds;
	if (n == 0) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return RAW_CLOSED;
	}
	if ((size_t)n < sizeof(r->w)) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return -EBADMSG;
	}
	if (r->w.status != 0 || nfds != 3) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return r->w.status ? r->w.status : -EBADMSG;
	}
	r->region_fd = fds[0];
	r->tx_efd = fds[1];
	r->rx_efd = fds[2];
	return raw_map(r);
}

static inline int raw_open(struct raw *r)
{
	return raw_open_hello(r, NULL, 0, NULL);
}

/* Wakes the owner unconditionally (a raw client may always do so). */
static inline void raw_kick(struct raw *r)
{
	uint64_t one = 1;

	if (write(r->tx_efd, &one, sizeof(one)) < 0) {
		/* a full eventfd counter still wakes the owner */
	}
}

/*
 * Has the owner closed the connection?  Does not consume data.  tdbd
 * closes the control socket; tdb.ko has none and sets owner_gone to
 * TDB_GONE_CLOSED instead.  Exactly that: a test fills the control page
 * with random words, which must not read as a close.
 */
static inline int raw_is_closed(struct raw *r)
{
	struct pollfd p = { .fd = r->sock, .events = POLLIN | POLLRDHUP };
	char b;

	if (h_kmod())
		return r->ctl &&
		       __atomic_load_n(&r->ctl->owner_gone, __ATOMIC_ACQUIRE) ==
			       TDB_GONE_CLOSED;
	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & (POLLHUP | POLLRDHUP | POLLERR))
		return 1;
	if (p.revents & POLLIN)
		return recv(r->sock, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
	return 0;
}

/* Waits at most @ms for the owner to close the connection: 1 if it did. */
static inline int raw_wait_closed(struct raw *r, unsigned int ms)
{
	uint64_t end = h_now_ms() + ms;

	do {
		if (raw_is_closed(r))
			return 1;
		h_sleep_us(2000);
	} while (h_now_ms() < end);
	return raw_is_closed(r);
}

/*
 * Waits at most @ms for the TX frame at the cursor to be UNUSED.
 * 0, -ETIMEDOUT or RAW_CLOSED.
 */
static inline int raw_wait_tx_free(struct raw *r, unsigned int ms)
{
	struct tdb_frame_hdr *f = raw_tx_frame(r, r->tx_cur);
	uint64_t end = h_now_ms() + ms;

	for (;;) {
		if (__atomic_load_n(&f->status, __ATOMIC_ACQUIRE) ==
		    TDB_FRAME_UNUSED)
			return 0;
		if (raw_is_closed(r))
			return RAW_CLOSED;
		if (h_now_ms() > end)
			return -ETIMEDOUT;
		raw_kick(r);
		h_sleep_us(200);
	}
}

/*
 * Publishes one frame at the TX cursor with @status and header length
 * @hdr_len, copying @len bytes of payload (hdr_len may lie; len is what is
 * copied, clipped to the frame).  Does not wake the owner.
 */
static inline int raw_put_frame(struct raw *r, uint32_t status,
				uint32_t hdr_len, const void *p, size_t len,
				unsigned int wait_ms)
{
	struct tdb_frame_hdr *f;
	int rc = raw_wait_tx_free(r, wait_ms);

	if (rc)
		return rc;
	f = raw_tx_frame(r, r->tx_cur);
	if (len > raw_payload_max(r))
		len = raw_payload_max(r);
	memcpy((uint8_t *)f + TDB_FRAME_HDR_SIZE, p, len);
	f->len = hdr_len;
	__atomic_store_n(&f->status, status, __ATOMIC_RELEASE);
	r->tx_cur++;
	return 0;
}

/*
 * Sends a batch as the protocol wants it: COPY frames then a final VALID
 * one, waking the owner.  0, -ETIMEDOUT or RAW_CLOSED.
 */
static inline int raw_send(struct raw *r, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t max = raw_payload_max(r);
	int rc;

	do {
		size_t n = len > max ? max : len;
		uint32_t st = len > max ? TDB_FRAME_COPY : TDB_FRAME_VALID;

		rc = raw_put_frame(r, st, (uint32_t)n, p, n, 5000);
		if (rc)
			return rc;
		p += n;
		len -= n;
		raw_kick(r);
	} while (len);
	return 0;
}

/*
 * Receives one batch from the RX ring into @buf (at most @cap bytes).
 * Returns its length, -ETIMEDOUT after @ms, RAW_CLOSED when the owner
 * closed the connection, -EBADMSG for a malformed frame (the owner's bug)
 * or -ENOBUFS when @cap is short.
 */
static inline long raw_recv(struct raw *r, void *buf, size_t cap,
			    unsigned int ms)
{
	uint64_t end = h_now_ms() + ms;
	size_t got = 0;

	for (;;) {
		struct tdb_frame_hdr *f = raw_rx_frame(r, r->rx_cur);
		uint32_t st = __atomic_load_n(&f->status, __ATOMIC_ACQUIRE);

		if (st == TDB_FRAME_VALID || st == TDB_FRAME_COPY) {
			uint32_t len = f->len;

			if (len > raw_payload_max(r))
				return -EBADMSG;
			if (got + len > cap)
				return -ENOBUFS;
			memcpy((uint8_t *)buf + got,
			       (uint8_t *)f + TDB_FRAME_HDR_SIZE, len);
			got += len;
			__atomic_store_n(&f->status, TDB_FRAME_UNUSED,
					 __ATOMIC_RELEASE);
			r->rx_cur++;
			raw_kick(r);	/* room in RX: the owner may go on */
			if (st == TDB_FRAME_VALID)
				return (long)got;
			end = h_now_ms() + ms;
			continue;
		}
		if (st == TDB_FRAME_SKIP) {
			__atomic_store_n(&f->status, TDB_FRAME_UNUSED,
					 __ATOMIC_RELEASE);
			r->rx_cur++;
			continue;
		}
		if (st != TDB_FRAME_UNUSED && st != TDB_FRAME_RESERVED)
			return -EBADMSG;
		if (raw_is_closed(r))
			return RAW_CLOSED;
		if (h_now_ms() > end)
			return -ETIMEDOUT;
		if (r->no_rx_efd) {
			h_sleep_us(200);
			continue;
		}
		__atomic_store_n(&r->ctl->client_need_wakeup, 1,
				 __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&f->status, __ATOMIC_ACQUIRE) ==
		    TDB_FRAME_UNUSED) {
			struct pollfd p[2] = {
				{ .fd = r->rx_efd, .events = POLLIN },
				{ .fd = r->sock, .events = POLLIN | POLLRDHUP },
			};
			uint64_t v;

			if (poll(p, 2, 5) > 0 && (p[0].revents & POLLIN) &&
			    read(r->rx_efd, &v, sizeof(v)) < 0) {
				/* spurious: go on checking */
			}
		}
	}
}

/* ---- messages ----------------------------------------------------------- */

/*
 * Netlink message layout, written out here rather than taken from
 * <linux/netlink.h> and libmnl: a raw client wants to build malformed
 * messages too, and the layout is fixed ABI.
 */
struct h_nlmsghdr {
	uint32_t nlmsg_len;
	uint16_t nlmsg_type;
	uint16_t nlmsg_flags;
	uint32_t nlmsg_seq;
	uint32_t nlmsg_pid;
};

struct h_nlattr {
	uint16_t nla_len;
	uint16_t nla_type;
};

#define H_ALIGN(n) (((n) + 3U) & ~3U)
#define H_NLMSG_HDRLEN ((uint32_t)sizeof(struct h_nlmsghdr))
#define H_NLA_HDRLEN ((uint32_t)sizeof(struct h_nlattr))
#define H_NLM_F_REQUEST 0x1

/*
 * Starts a request of @cmd at @buf, which must have room for the message
 * and every attribute added to it.
 */
static inline struct h_nlmsghdr *raw_msg(void *buf, uint8_t cmd, uint32_t seq)
{
	struct h_nlmsghdr *nlh = buf;
	struct tdb_genlhdr *g = (struct tdb_genlhdr *)(nlh + 1);

	memset(nlh, 0, H_NLMSG_HDRLEN + sizeof(*g));
	nlh->nlmsg_len = H_NLMSG_HDRLEN + sizeof(*g);
	nlh->nlmsg_type = TDB_MSG_TYPE;
	nlh->nlmsg_flags = H_NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	g->cmd = cmd;
	g->version = TDB_PROTO_VERSION;
	return nlh;
}

/* Appends an attribute (padded to 4 bytes with zeroes). */
static inline void raw_attr(struct h_nlmsghdr *nlh, uint16_t type,
			    const void *p, uint32_t len)
{
	struct h_nlattr *a =
		(struct h_nlattr *)((uint8_t *)nlh + H_ALIGN(nlh->nlmsg_len));

	a->nla_type = type;
	a->nla_len = (uint16_t)(H_NLA_HDRLEN + len);
	if (len)
		memcpy(a + 1, p, len);
	memset((uint8_t *)(a + 1) + len, 0, H_ALIGN(len) - len);
	nlh->nlmsg_len = H_ALIGN(nlh->nlmsg_len) + H_NLA_HDRLEN + H_ALIGN(len);
}

static inline void raw_attr_str(struct h_nlmsghdr *nlh, uint16_t type,
				const char *s)
{
	raw_attr(nlh, type, s, (uint32_t)strlen(s) + 1);
}

static inline void raw_attr_u32(struct h_nlmsghdr *nlh, uint16_t type,
				uint32_t v)
{
	raw_attr(nlh, type, &v, sizeof(v));
}

/* A request with TABLE, KEY and (when @vlen >= 0) VALUE. */
static inline struct h_nlmsghdr *raw_msg_kv(void *buf, uint8_t cmd,
					    uint32_t seq, const char *table,
					    const void *key, uint32_t klen,
					    const void *val, int vlen)
{
	struct h_nlmsghdr *nlh = raw_msg(buf, cmd, seq);

	raw_attr_str(nlh, TDB_A_TABLE, table);
	raw_attr(nlh, TDB_A_KEY, key, klen);
	if (vlen >= 0)
		raw_attr(nlh, TDB_A_VALUE, val, (uint32_t)vlen);
	return nlh;
}

struct raw_resp {
	uint8_t cmd;
	uint32_t seq;
	uint32_t len;		/* nlmsg_len */
	int has_status;
	int32_t status;		/* TDB_A_STATUS */
	int status_first;	/* it was the first attribute */
	const void *val;	/* the first TDB_A_VALUE chunk, in the batch */
	uint32_t vlen;		/* all chunks together */
	int has_val;		/* how many chunks */
};

/*
 * Parses the response message at @p (at most @avail bytes).  0, or
 * -EBADMSG when it is not a well-formed tdb response with a status.
 */
static inline int raw_parse(const void *p, size_t avail, struct raw_resp *o)
{
	const struct h_nlmsghdr *nlh = p;
	const struct tdb_genlhdr *g;
	const uint8_t *a, *end;
	int first = 1;

	memset(o, 0, sizeof(*o));
	if (avail < H_NLMSG_HDRLEN + sizeof(*g) ||
	    nlh->nlmsg_len < H_NLMSG_HDRLEN + sizeof(*g) ||
	    nlh->nlmsg_len > avail || nlh->nlmsg_type != TDB_MSG_TYPE)
		return -EBADMSG;
	g = (const struct tdb_genlhdr *)(nlh + 1);
	o->cmd = g->cmd;
	o->seq = nlh->nlmsg_seq;
	o->len = nlh->nlmsg_len;
	a = (const uint8_t *)(g + 1);
	end = (const uint8_t *)p + nlh->nlmsg_len;
	while (a + H_NLA_HDRLEN <= end) {
		const struct h_nlattr *na = (const struct h_nlattr *)a;
		uint16_t t = na->nla_type & 0x3fff;
		uint32_t plen;

		if (na->nla_len < H_NLA_HDRLEN || a + na->nla_len > end)
			return -EBADMSG;
		plen = na->nla_len - H_NLA_HDRLEN;
		if (t == TDB_A_STATUS && plen == sizeof(int32_t)) {
			o->has_status = 1;
			memcpy(&o->status, a + H_NLA_HDRLEN, sizeof(int32_t));
			o->status_first = first;
		} else if (t == TDB_A_VALUE) {
			/* a value comes in chunks: count them all */
			if (!o->has_val)
				o->val = a + H_NLA_HDRLEN;
			o->has_val++;
			o->vlen += plen;
		}
		first = 0;
		a += H_ALIGN(na->nla_len);
	}
	return o->has_status ? 0 : -EBADMSG;
}

/*
 * Sends one message and waits for the response batch; parses its first
 * message into @o (@buf holds the batch).  0, -ETIMEDOUT, RAW_CLOSED or
 * -EBADMSG.
 */
static inline int raw_call(struct raw *r, const struct h_nlmsghdr *req,
			   void *buf, size_t cap, struct raw_resp *o,
			   unsigned int ms)
{
	long n;
	int rc = raw_send(r, req, req->nlmsg_len);

	memset(o, 0, sizeof(*o));
	if (rc)
		return rc;
	n = raw_recv(r, buf, cap, ms);
	if (n < 0)
		return (int)n;
	return raw_parse(buf, (size_t)n, o);
}

#endif /* TDB_TEST_HARNESS_H */
