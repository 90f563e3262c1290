// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * datadir.c - the data directory: created if missing, checked to be a
 * writable directory, and locked (flock on DIR/tdbd.lock, holding tdbd's
 * pid) so that two daemons never share one.  Tables are kept in memory
 * only for now; persistence will live here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tdbd.h"

int mkdir_p(const char *path, mode_t mode)
{
	char *p, *s, c;
	int err = 0;

	p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			err = -errno;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return err;
}

int lock_file(const char *lock_path, const char *kind, const char *name)
{
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		log_msg(LOG_ERR, "cannot open lock file %s: %s", lock_path,
			strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			log_msg(LOG_ERR,
				"another tdbd already uses %s %s (it holds %s)",
				kind, name, lock_path);
		else
			log_msg(LOG_ERR, "cannot lock %s: %s", lock_path,
				strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int datadir_lock(const char *dir)
{
	char *lock_path = NULL, pid[32];
	struct stat st;
	int fd = -1, ret, n;

	ret = mkdir_p(dir, 0755);
	if (ret) {
		log_msg(LOG_ERR, "cannot create data directory %s: %s", dir,
			strerror(-ret));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_msg(LOG_ERR, "data directory %s: not a directory", dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		log_msg(LOG_ERR, "data directory %s is not writable: %s", dir,
			strerror(errno));
		return -1;
	}
	if (asprintf(&lock_path, "%s/tdbd.lock", dir) < 0)
		return -1;
	fd = lock_file(lock_path, "data directory", dir);
	if (fd < 0)
		goto fail;
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, pid, (size_t)n) != n)
		log_msg(LOG_WARN, "cannot write pid to %s", lock_path);
	free(lock_path);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	free(lock_path);
	return -1;
}
