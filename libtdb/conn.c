// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * conn.c - connecting to the owner: the control socket, the hello/welcome
 * handshake, the ring region and wakeup descriptors passed with
 * SCM_RIGHTS, closing, and fork detection.
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
	return db->dead;
}

int conn_fail(struct tdb *db, int err)
{
	if (!db->dead) {
		db->dead = err;
		/* Tell the owner at once; its end closes the session. */
		if (err == -EPROTO && db->fork_gen == conn_fork_gen())
			shutdown(db->sock, SHUT_RDWR);
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

/* Checks the geometry the owner announced and maps the region. */
static int map_region(struct tdb *db, const struct tdb_welcome *w, int memfd)
{
	uint64_t ring_bytes, want;
	struct tdb_ring_ctl *ctl;
	struct stat st;
	void *p;

	if (w->frame_size < TDB_FRAME_SIZE_MIN ||
	    w->frame_size > TDB_FRAME_SIZE_MAX || w->frame_size % 8 ||
	    w->frame_count < TDB_FRAME_COUNT_MIN ||
	    w->frame_count > TDB_FRAME_COUNT_MAX)
		return -EPROTO;
	ring_bytes = (uint64_t)w->frame_size * w->frame_count;
	want = TDB_REGION_SIZE(w->frame_size, w->frame_count);
	if (w->region_size != want)
		return -EPROTO;
	/* A memfd shorter than announced would SIGBUS us later. */
	if (fstat(memfd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < want)
		return -EPROTO;

	p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	ctl = p;
	/* The owner keeps its own copy; ours must agree with the welcome. */
	if (READ_ONCE(ctl->frame_size) != w->frame_size ||
	    READ_ONCE(ctl->frame_count) != w->frame_count ||
	    READ_ONCE(ctl->tx_offset) != TDB_CTL_SIZE ||
	    READ_ONCE(ctl->rx_offset) != TDB_CTL_SIZE + ring_bytes) {
		munmap(p, want);
		return -EPROTO;
	}
	db->region = p;
	db->region_size = want;
	db->ctl = ctl;
	db->frame_size = w->frame_size;
	db->frame_count = w->frame_count;
	db->tx_ring = (uint8_t *)p + TDB_CTL_SIZE;
	db->rx_ring = db->tx_ring + ring_bytes;
	return 0;
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
	if (!path || !*path)
		path = getenv("TDB_SOCKET");
	if (!path || !*path)
		path = TDB_DEFAULT_SOCKET;

	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->fork_gen = conn_fork_gen();
	db->next_batch_id = 1;
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
	close(db->tx_efd);
	close(db->rx_efd);
close_sock:
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
	close(db->sock);
	free(db->rx_buf);
	free(db->tx_buf);
	free(db);
}
