// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * error.c - tdb_strerror(): what an errno value means when libtdb returns
 * it.  Only static strings, so it is thread-safe.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static const struct {
	int err;
	const char *msg;
} tdb_errors[] = {
	{ 0, "success" },
	{ ENOENT, "no such table or key (or no owner listens on that socket)" },
	{ EEXIST, "the table or key already exists" },
	{ EACCES, "permission denied by the table's owner and mode" },
	{ EPERM, "operation not permitted for this user" },
	{ E2BIG, "key over 1024 bytes or value over 1 MiB" },
	{ EINVAL, "invalid argument: empty key, bad table name, options or flags" },
	{ ENOSPC, "the table's quota is full, or the owner's disk is" },
	{ EDQUOT, "this user owns as many tables as the owner allows" },
	{ EUSERS, "this user holds as many connections as the owner allows" },
	{ EIO, "I/O error in the owner's storage" },
	{ EPROTO, "protocol error: the owner speaks another protocol version or sent malformed data" },
	{ ECONNRESET, "the owner closed the connection; reconnect" },
	{ EPIPE, "the owner closed the connection; reconnect" },
	{ ESHUTDOWN, "the owner shut down (tdb.ko unloaded); reconnect once it is back" },
	{ ECONNREFUSED, "no tdb owner listens on that socket" },
	{ ECHILD, "connection opened by another process (after fork); reconnect" },
	{ ENOMEM, "out of memory" },
	{ EMFILE, "too many open files or batches" },
	{ ENAMETOOLONG, "socket path too long" },
	{ ESTALE, "the table was dropped or replaced during the load" },
	{ EBUSY, "this connection runs as many loads as the owner allows" },
	{ ENOBUFS, "the owner's log memory is full: writes outrun its disk" },
};

TDB_EXPORT const char *tdb_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(tdb_errors) / sizeof(tdb_errors[0]); i++)
		if (tdb_errors[i].err == err)
			return tdb_errors[i].msg;
	s = strerrordesc_np(err);
	return s ? s : "unknown error";
}
