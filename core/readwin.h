/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * readwin.h - reading a file through a window of memory, for the log's
 * replay and the checkpoint's load: records are asked for by offset and
 * length, and the window is refilled only when one runs past it, so that
 * a small record costs no system call of its own.
 */
#ifndef TDB_CORE_READWIN_H
#define TDB_CORE_READWIN_H

#include "port.h"

struct tdb_readwin {
	struct port_file *f;
	u64 size;	/* the file's */
	u8 *buf;	/* @cap bytes, at least the largest piece asked for */
	u32 cap;
	u64 base;	/* file offset of buf[0] */
	u32 len;	/* valid bytes in buf */
};

/* Forgets the window's contents: after @f or @size changed. */
static inline void tdb_readwin_reset(struct tdb_readwin *w)
{
	w->base = 0;
	w->len = 0;
}

/*
 * Points *@p at bytes [@off, @off + @n) of the file, which the caller
 * checked lie within @size; @n is at most @cap.  0, -EIO when the file
 * shrank meanwhile, or the read's error.
 */
int tdb_readwin_at(struct tdb_readwin *w, u64 off, u32 n, const u8 **p);

#endif /* TDB_CORE_READWIN_H */
