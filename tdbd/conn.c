// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * conn.c - a client connection: its ring region (a sealed memfd), its two
 * eventfds, the welcome that hands them over with SCM_RIGHTS, and its end.
 *
 * The region is sealed against shrinking and growing before the client
 * sees it, so a client cannot truncate it under the owner's mapping
 * (which would make the owner fault).  The owner keeps the geometry it
 * chose in struct conn and never reads it back from the region.
 *
 * Memory accounting.  Each connection counts its region, its private
 * buffers' capacity and its struct in owner.conn_bytes, which STATS
 * reports; conn_destroy() takes all of it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tdbd.h"

static port_atomic_t conn_ids;

void conn_log(const struct conn *c, int level, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(level, "conn %llu (pid %ld uid %u): %s",
		(unsigned long long)c->id, (long)c->pid, c->sess.cred.uid, msg);
}

void conn_account(struct conn *c)
{
	size_t now = sizeof(*c) + c->region_size + c->in.cap + c->out.cap +
		     c->holds_cap * sizeof(*c->holds);

	if (now != c->acct) {
		port_atomic_add(&owner.conn_bytes, (long)now - (long)c->acct);
		c->acct = now;
	}
}

/* Creates and maps the sealed region; the memfd or -errno. */
static int conn_region(struct conn *c)
{
	struct tdb_ring_ctl *ctl;
	int fd, err;

	c->frame_size = TDBD_FRAME_SIZE;
	c->frame_count = TDBD_FRAME_COUNT;
	c->region_size = TDB_REGION_SIZE(c->frame_size, c->frame_count);

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
	ctl = (struct tdb_ring_ctl *)c->region;
	ctl->magic = TDB_HELLO_MAGIC;
	ctl->version = TDB_PROTO_VERSION;
	ctl->frame_size = c->frame_size;
	ctl->frame_count = c->frame_count;
	ctl->tx_offset = TDB_CTL_SIZE;
	ctl->rx_offset = TDB_CTL_SIZE + c->frame_size * c->frame_count;
	c->ctl = ctl;
	c->tx = c->region + TDB_CTL_SIZE;
	c->rx = c->tx + (size_t)c->frame_size * c->frame_count;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

static int conn_buf_init(struct tdbd_buf *b)
{
	b->data = malloc(TDBD_BUF_MIN);
	b->len = 0;
	b->cap = b->data ? TDBD_BUF_MIN : 0;
	return b->data ? 0 : -ENOMEM;
}

struct conn *conn_create(int fd, const struct ucred *peer)
{
	struct conn *c;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = (u64)port_atomic_add_return(&conn_ids, 1);
	c->pid = peer->pid;
	tdb_session_init(&c->sess, &(struct tdb_cred){ .uid = peer->uid,
						       .gid = peer->gid });
	c->sock = fd;
	c->tx_efd = c->rx_efd = c->memfd = -1;

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
	if (conn_buf_init(&c->in) || conn_buf_init(&c->out)) {
		conn_log(c, LOG_WARN, "out of memory");
		goto fail;
	}
	ring_init(c);
	port_atomic_inc(&owner.connections);
	conn_account(c);
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
		.frame_size = c->frame_size,
		.frame_count = c->frame_count,
		.region_size = (u32)c->region_size,
		.conn_id = c->id,
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
	free(c->in.data);
	free(c->out.data);
	free(c->holds);
	if (c->acct) {
		port_atomic_sub(&owner.conn_bytes, (long)c->acct);
		port_atomic_dec_return(&owner.connections);
	}
	if (c->uid_counted)
		uid_conns_drop(c->sess.cred.uid);
	free(c);
}
