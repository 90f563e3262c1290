// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * conn.c - connecting to the owner: the control socket, the hello/welcome
 * handshake, the ring region and wakeup descriptors passed with
 * SCM_RIGHTS (tdbd), or the region and eventfds handed to /dev/tdb
 * (tdb.ko); closing, and fork detection.
 *
 * Which owner: a path given to tdb_connect(), else $TDB_SOCKET, names
 * tdbd's socket (or, when it is a character device, tdb.ko's device);
 * without either, /dev/tdb when it exists, else tdbd's default socket.
 *
 * Fork detection costs no system call: a pthread_atfork() child handler
 * bumps a process-wide generation, and each connection remembers the
 * generation it was opened in.  (getpid() is a real system call since
 * glibc 2.25 and would cost one per operation.)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

static unsigned long fork_gen;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_child(void)
{
	__atomic_add_fetch(&fork_gen, 1, __ATOMIC_RELAXED);
}

static void fork_init(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

unsigned long conn_fork_gen(void)
{
	return __atomic_load_n(&fork_gen, __ATOMIC_RELAXED);
}

int conn_usable(const struct tdb *db)
{
	if (db->fork_gen != conn_fork_gen())
		return -ECHILD;
	if (!db->dead && READ_ONCE(db->ctl->owner_gone))
		return conn_fail((struct tdb *)db, conn_gone_error(db));
	return db->dead;
}

int conn_gone_error(const struct tdb *db)
{
	return READ_ONCE(db->ctl->owner_gone) == TDB_GONE_SHUTDOWN ?
		       -ESHUTDOWN : -ECONNRESET;
}

/*
 * Ends our side at once.  tdb.ko watches the TX eventfd: replacing our
 * descriptor of it with a fresh eventfd closes the last one it knows.
 */
static void conn_hangup(struct tdb *db)
{
	int fd;

	if (db->sock >= 0) {
		shutdown(db->sock, SHUT_RDWR);
		return;
	}
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return;
	dup3(fd, db->tx_efd, O_CLOEXEC);
	close(fd);
}

int conn_fail(struct tdb *db, int err)
{
	if (!db->dead) {
		db->dead = err;
		/* Tell the owner at once; its end closes the session. */
		if (err == -EPROTO && db->fork_gen == conn_fork_gen())
			conn_hangup(db);
	}
	return db->dead;
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * Receives the welcome and its three descriptors.  Anything else (short
 * message, truncated or missing descriptors) is -EPROTO.
 */
static int recv_welcome(int sock, struct tdb_welcome *w, int fds[3])
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = w, .iov_len = sizeof(*w) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;
	int nfds = 0;

	fds[0] = fds[1] = fds[2] = -1;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;

	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t len;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		len = cm->cmsg_len - CMSG_LEN(0);
		for (size_t i = 0; i < len / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (nfds < 3)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	if ((size_t)n < sizeof(*w) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    w->magic != TDB_HELLO_MAGIC)
		goto bad;
	if (w->status < 0) {
		int err = w->status;

		close_fds(fds, 3);
		return err < -4095 ? -EPROTO : err;
	}
	if (w->version != TDB_PROTO_VERSION || nfds != 3)
		goto bad;
	return 0;
bad:
	close_fds(fds, 3);
	return -EPROTO;
}

/* Checks the geometry the owner announced.  0 or -EPROTO. */
static int check_geometry(uint32_t frame_size, uint32_t frame_count,
			  uint64_t region_size)
{
	if (frame_size < TDB_FRAME_SIZE_MIN ||
	    frame_size > TDB_FRAME_SIZE_MAX || frame_size % 8 ||
	    frame_count < TDB_FRAME_COUNT_MIN ||
	    frame_count > TDB_FRAME_COUNT_MAX ||
	    region_size != TDB_REGION_SIZE(frame_size, frame_count))
		return -EPROTO;
	return 0;
}

/*
 * Adopts the mapped region @p, whose control page the owner wrote: it
 * keeps its own copy of the geometry, and ours must agree with what it
 * announced.  Unmaps it on -EPROTO.
 */
static int adopt_region(struct tdb *db, void *p, uint32_t frame_size,
			uint32_t frame_count)
{
	uint64_t ring_bytes = (uint64_t)frame_size * frame_count;
	uint64_t size = TDB_REGION_SIZE(frame_size, frame_count);
	struct tdb_ring_ctl *ctl = p;

	if (READ_ONCE(ctl->frame_size) != frame_size ||
	    READ_ONCE(ctl->frame_count) != frame_count ||
	    READ_ONCE(ctl->tx_offset) != TDB_CTL_SIZE ||
	    READ_ONCE(ctl->rx_offset) != TDB_CTL_SIZE + ring_bytes) {
		munmap(p, size);
		return -EPROTO;
	}
	db->region = p;
	db->region_size = size;
	db->ctl = ctl;
	db->frame_size = frame_size;
	db->frame_count = frame_count;
	db->tx_ring = (uint8_t *)p + TDB_CTL_SIZE;
	db->rx_ring = db->tx_ring + ring_bytes;
	db->spin_ns = RING_SPIN_MAX_NS;
	return 0;
}

/* Checks the geometry the owner announced and maps the region. */
static int map_region(struct tdb *db, const struct tdb_welcome *w, int memfd)
{
	struct stat st;
	void *p;

	if (check_geometry(w->frame_size, w->frame_count, w->region_size))
		return -EPROTO;
	/* A memfd shorter than announced would SIGBUS us later. */
	if (fstat(memfd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < w->region_size)
		return -EPROTO;
	p = mmap(NULL, w->region_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 memfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	return adopt_region(db, p, w->frame_size, w->frame_count);
}

/*
 * Connects to tdb.ko through @dev (see tdb/proto.h): the region is our
 * own anonymous memory, which the module pins.  It is wiped in forked
 * children rather than copied: they reconnect, and pinned pages would be
 * copied eagerly.  The device is not kept open: that would keep the
 * module from unloading.
 */
static int dev_connect(struct tdb *db, const char *dev)
{
	struct tdb_dev_connect dc = {
		.magic = TDB_HELLO_MAGIC,
		.version = TDB_PROTO_VERSION,
	};
	void *p = MAP_FAILED;
	int fd, err;

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	db->tx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	db->rx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (db->tx_efd < 0 || db->rx_efd < 0)
		goto fail_errno;
	if (ioctl(fd, TDB_IOC_GEOMETRY, &dc) < 0)
		goto fail_errno;
	err = check_geometry(dc.frame_size, dc.frame_count, dc.region_size);
	if (err)
		goto fail;
	p = mmap(NULL, dc.region_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		goto fail_errno;
	madvise(p, dc.region_size, MADV_WIPEONFORK);
	dc.region = (uintptr_t)p;
	dc.tx_efd = db->tx_efd;
	dc.rx_efd = db->rx_efd;
	if (ioctl(fd, TDB_IOC_CONNECT, &dc) < 0)
		goto fail_errno;
	close(fd);
	db->sock = -1;
	/* On -EPROTO the module has its end: closing the eventfds ends it. */
	return adopt_region(db, p, dc.frame_size, dc.frame_count);

fail_errno:
	err = -errno;
fail:
	if (p != MAP_FAILED)
		munmap(p, dc.region_size);
	close(fd);
	return err;
}

/* Whether @path names a character device (tdb.ko's). */
static bool is_device(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

static int open_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

TDB_EXPORT const char *tdb_owner_path(const char *path)
{
	if (!path || !*path)
		path = getenv("TDB_SOCKET");
	if (!path || !*path)
		path = access(TDB_DEVICE, F_OK) == 0 ? TDB_DEVICE :
						       TDB_DEFAULT_SOCKET;
	return path;
}

TDB_EXPORT int tdb_connect(const char *path, struct tdb **out)
{
	struct tdb_hello hello = {
		.magic = TDB_HELLO_MAGIC,
		.version = TDB_PROTO_VERSION,
	};
	struct tdb_welcome w;
	struct tdb *db;
	int fds[3];
	ssize_t n;
	int err;

	*out = NULL;
	pthread_once(&fork_once, fork_init);
	path = tdb_owner_path(path);

	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->fork_gen = conn_fork_gen();
	db->next_batch_id = 1;
	db->sock = db->tx_efd = db->rx_efd = -1;
	if (is_device(path)) {
		err = dev_connect(db, path);
		if (err)
			goto close_efds;
		*out = db;
		return 0;
	}
	db->sock = open_socket(path);
	if (db->sock < 0) {
		err = db->sock;
		goto free_db;
	}

	do {
		n = send(db->sock, &hello, sizeof(hello), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		err = -errno;
		goto close_sock;
	}
	memset(&w, 0, sizeof(w));
	err = recv_welcome(db->sock, &w, fds);
	if (err)
		goto close_sock;
	db->tx_efd = fds[1];
	db->rx_efd = fds[2];
	err = map_region(db, &w, fds[0]);
	close(fds[0]);
	if (err)
		goto close_efds;
	*out = db;
	return 0;

close_efds:
	if (db->tx_efd >= 0)
		close(db->tx_efd);
	if (db->rx_efd >= 0)
		close(db->rx_efd);
close_sock:
	if (db->sock >= 0)
		close(db->sock);
free_db:
	free(db);
	return err;
}

TDB_EXPORT void tdb_close(struct tdb *db)
{
	if (!db)
		return;
	batch_detach_all(db);
	scan_detach_all(db);
	/*
	 * In a forked child this only drops the child's references: the
	 * parent's socket, descriptors and mapping are its own.
	 */
	munmap(db->region, db->region_size);
	close(db->tx_efd);
	close(db->rx_efd);
	if (db->sock >= 0)
		close(db->sock);
	free(db->rx_buf);
	free(db->tx_buf);
	free(db);
}
