// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * conn.c - a client connection: its ring region (a sealed memfd), its two
 * eventfds, the welcome that hands them over with SCM_RIGHTS, and its end.
 *
 * The region is sealed against shrinking and growing before the client
 * sees it, so a client cannot truncate it under the owner's mapping
 * (which would make the owner fault).  Everything between the frames
 * and the executor is core's (conn.h), which counts the region and this
 * struct in owner.conn_bytes with its own buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tdbd.h"

/*
 * Wakes the client.  The eventfd is shared with it: it may have made it
 * blocking and filled its counter.  A full counter is seen by poll() and
 * skipped (the client has a wakeup pending anyway); a client that fills it
 * between the poll() and the write gets the write cut short by the
 * worker's timer, and is closed.
 */
static void conn_wake_client(struct tdb_conn *tc)
{
	struct conn *c = container_of(tc, struct conn, tc);
	struct pollfd p = { .fd = c->rx_efd, .events = POLLOUT };

	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
		return;
	if (worker_wake_fd(c->w, c->rx_efd) == -EINTR)
		tc->doomed = "its RX eventfd blocked a wakeup (made blocking and filled)";
}

static const struct tdb_conn_ops conn_ops = {
	.wake_client = conn_wake_client,
	.log_want = journal_want,
	.log_appended = journal_appended,
};

/* Creates and maps the sealed region; the memfd or -errno. */
static int conn_region(struct conn *c)
{
	int fd, err;

	c->region_size = TDB_REGION_SIZE(TDBD_FRAME_SIZE, TDBD_FRAME_COUNT);
	fd = memfd_create("tdb-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)c->region_size) < 0)
		goto fail;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) <
	    0)
		goto fail;
	c->region = mmap(NULL, c->region_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
	if (c->region == MAP_FAILED) {
		c->region = NULL;
		goto fail;
	}
	tdb_conn_set_region(&c->tc, c->region, TDBD_FRAME_SIZE,
			    TDBD_FRAME_COUNT);
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

struct conn *conn_create(int fd, const struct ucred *peer)
{
	const struct tdb_cred cred = { .uid = peer->uid, .gid = peer->gid };
	struct conn *c;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->tx_efd = c->rx_efd = c->memfd = c->sock = -1;
	if (tdb_conn_init(&c->tc, &owner, &conn_ops, peer->pid, &cred,
			  sizeof(*c) +
				  TDB_REGION_SIZE(TDBD_FRAME_SIZE,
						  TDBD_FRAME_COUNT))) {
		log_msg(LOG_WARN, "pid %ld: out of memory for a connection",
			(long)peer->pid);
		free(c);
		return NULL;
	}
	c->sock = fd;
	err = conn_region(c);
	if (err < 0) {
		conn_log(c, LOG_WARN, "cannot create ring region: %s",
			 strerror(-err));
		goto fail;
	}
	c->memfd = err;
	c->tx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->rx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->tx_efd < 0 || c->rx_efd < 0) {
		conn_log(c, LOG_WARN, "eventfd: %s", strerror(errno));
		goto fail;
	}
	return c;
fail:
	/* conn_destroy() closes the socket: the caller still owns it. */
	c->sock = -1;
	conn_destroy(c);
	return NULL;
}

int conn_send_welcome(struct conn *c)
{
	struct tdb_welcome w = {
		.magic = TDB_HELLO_MAGIC,
		.version = TDB_PROTO_VERSION,
		.status = 0,
		.frame_size = c->tc.frame_size,
		.frame_count = c->tc.frame_count,
		.region_size = (u32)c->region_size,
		.conn_id = c->tc.id,
	};
	int fds[3] = { c->memfd, c->tx_efd, c->rx_efd };
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = &w, .iov_len = sizeof(w) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	do {
		n = sendmsg(c->sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	/* The client has its own descriptor now; ours is not needed. */
	close(c->memfd);
	c->memfd = -1;
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(w) ? 0 : -EPIPE;
}

void conn_destroy(struct conn *c)
{
	if (c->memfd >= 0)
		close(c->memfd);
	if (c->region)
		munmap(c->region, c->region_size);
	if (c->tx_efd >= 0)
		close(c->tx_efd);
	if (c->rx_efd >= 0)
		close(c->rx_efd);
	if (c->sock >= 0)
		close(c->sock);
	tdb_conn_fini(&c->tc);
	if (c->uid_counted)
		uid_conns_drop(c->tc.sess.cred.uid);
	free(c);
}
