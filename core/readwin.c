// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * readwin.c - see readwin.h.
 */
#include "readwin.h"

int tdb_readwin_at(struct tdb_readwin *w, u64 off, u32 n, const u8 **p)
{
	u32 keep = 0, want;
	s64 got;

	if (off >= w->base && off + n <= w->base + w->len) {
		*p = w->buf + (off - w->base);
		return 0;
	}
	/* Keep what is already read of the piece: move it to the front. */
	if (off >= w->base && off < w->base + w->len) {
		keep = (u32)(w->base + w->len - off);
		memmove(w->buf, w->buf + (off - w->base), keep);
	}
	w->base = off;
	w->len = keep;
	want = w->size - off < w->cap ? (u32)(w->size - off) : w->cap;
	got = port_file_pread(w->f, w->buf + keep, want - keep, off + keep);
	if (got < 0)
		return (int)got;
	w->len += (u32)got;
	if (w->len < n)
		return -EIO; /* the file shrank under us */
	*p = w->buf;
	return 0;
}
