// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * listen.c - the listening socket: one tdbd per socket path, stale socket
 * files from a dead daemon replaced, AF_UNIX SOCK_SEQPACKET.
 *
 * Single instance.  tdbd holds an flock on "<socket>.lock" for as long as
 * it runs, so two daemons starting at once cannot both take the path.  It
 * also probes the path by connecting: if something answers, another owner
 * (perhaps one started differently) is there and tdbd refuses; if the
 * connection is refused, the socket file is stale and is replaced.  A
 * path that exists but is not a socket is never removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tdbd.h"

/* The directory part of @path, malloc'd, or NULL when there is none. */
static char *parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		return NULL;
	return strndup(path, (size_t)(slash - path));
}

/* 1 if something accepts connections at @sa, 0 if stale or absent, -1. */
static int listener_probe(const struct sockaddr_un *sa, const char *path)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		log_msg(LOG_ERR, "socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_msg(LOG_ERR,
			"socket %s: exists and is not a socket; not touching it",
			path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_msg(LOG_ERR, "socket: %s", strerror(errno));
		return -1;
	}
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (!ret) {
		close(fd);
		return 1;
	}
	ret = errno;
	close(fd);
	if (ret == ECONNREFUSED || ret == ENOENT) {
		if (unlink(path) < 0 && errno != ENOENT) {
			log_msg(LOG_ERR, "cannot remove stale socket %s: %s",
				path, strerror(errno));
			return -1;
		}
		log_msg(LOG_INFO,
			"removed stale socket %s (no daemon was listening)",
			path);
		return 0;
	}
	if (ret == EAGAIN)	/* a full backlog: someone is there */
		return 1;
	log_msg(LOG_ERR, "socket %s: %s", path, strerror(ret));
	return -1;
}

int listener_open(struct tdbd_listener *l, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *dir, *lock_path = NULL;
	struct stat st;
	int ret;

	l->fd = -1;
	l->lock_fd = -1;
	l->path = NULL;
	if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
		log_msg(LOG_ERR, "socket path '%s' is empty or longer than %zu bytes",
			path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	l->path = strdup(path);
	if (!l->path)
		goto fail;

	dir = parent_dir(path);
	if (dir) {
		ret = mkdir_p(dir, 0755);
		if (ret) {
			log_msg(LOG_ERR, "cannot create socket directory %s: %s",
				dir, strerror(-ret));
			free(dir);
			goto fail;
		}
		free(dir);
	}

	if (asprintf(&lock_path, "%s.lock", path) < 0) {
		lock_path = NULL;
		goto fail;
	}
	l->lock_fd = lock_file(lock_path, "socket", path);
	if (l->lock_fd < 0)
		goto fail;

	ret = listener_probe(&sa, path);
	if (ret > 0) {
		log_msg(LOG_ERR,
			"another tdb owner is already answering on socket %s; not starting",
			path);
		goto fail;
	}
	if (ret < 0)
		goto fail;

	l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       0);
	if (l->fd < 0) {
		log_msg(LOG_ERR, "socket: %s", strerror(errno));
		goto fail;
	}
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_msg(LOG_ERR, "cannot bind %s: %s", path, strerror(errno));
		goto fail;
	}
	/* Anyone may connect: each table's owner and mode decide the rest. */
	if (chmod(path, 0666) < 0)
		log_msg(LOG_WARN, "chmod %s: %s", path, strerror(errno));
	if (stat(path, &st) == 0) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	if (listen(l->fd, SOMAXCONN) < 0) {
		log_msg(LOG_ERR, "listen %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	free(lock_path);
	return 0;

fail:
	if (l->fd >= 0)
		close(l->fd);
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	l->fd = l->lock_fd = -1;
	free(lock_path);
	free(l->path);
	l->path = NULL;
	return -1;
}

void listener_close(struct tdbd_listener *l)
{
	struct stat st;

	if (l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
		/* Remove the socket file only if it is still the one we made. */
		if (l->path && stat(l->path, &st) == 0 && st.st_dev == l->dev &&
		    st.st_ino == l->ino)
			unlink(l->path);
	}
	if (l->lock_fd >= 0) {
		close(l->lock_fd);
		l->lock_fd = -1;
	}
	free(l->path);
	l->path = NULL;
}
