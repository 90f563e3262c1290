/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * tmpdir.h - the temporary data directory of the unit tests that work on
 * real files (test_wal.c, test_ckpt.c, test_journal.c).  Included by one
 * test program each: all here is static.
 */
#ifndef TDB_TEST_TMPDIR_H
#define TDB_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Removes @dir and the files in it (it has no subdirectories). */
static inline int tmpdir_remove(const char *dir)
{
	struct dirent *de;
	char path[512];
	DIR *d = opendir(dir);

	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	return rmdir(dir);
}

/* How many names in @dir start with @prefix; -1 if it cannot be read. */
static inline int tmpdir_count(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

#endif /* TDB_TEST_TMPDIR_H */
