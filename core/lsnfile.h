/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * lsnfile.h - files named after a log position, shared by the log
 * (wal-<lsn>.log) and checkpoints (ckpt-<lsn>.ckp, ckpt-<lsn>.tmp).
 *
 * A name is <prefix><lsn as 16 lowercase hex digits><ext>, and is at most
 * LSNFILE_NAME_MAX bytes with its NUL.  Names with uppercase digits, fewer
 * or more digits, or another prefix or extension are not such files.
 */
#ifndef TDB_CORE_LSNFILE_H
#define TDB_CORE_LSNFILE_H

#include "port.h"

#define LSNFILE_NAME_MAX 32U

/*
 * Writes "<@prefix><@lsn in 16 hex digits><@ext>" and its NUL to @buf
 * (snprintf "%s%016llx%s", which core does not have).  @buf must hold
 * strlen(@prefix) + 16 + strlen(@ext) + 1 bytes.
 */
void lsnfile_name(char *buf, const char *prefix, u64 lsn, const char *ext);

/*
 * Parses @name against @prefix and the @next extensions in @ext.  Returns
 * the index into @ext of the extension that matched, with the position in
 * *@lsn, or -1 (and *@lsn untouched) when @name is no such file.
 */
int lsnfile_parse(const char *name, const char *prefix, const char *const *ext,
		  u32 next, u64 *lsn);

/* One file of a listing. */
struct lsnfile {
	u64 lsn;
	u32 ext; /* index into the listing's extensions */
	char name[LSNFILE_NAME_MAX]; /* the name as listed */
};

/* A listing, sorted by lsn; files with equal lsn in directory order. */
struct lsnfile_list {
	struct lsnfile *v;
	u32 n, cap;
};

/*
 * Lists the files of @dir that lsnfile_parse() accepts into @l, which
 * needs no initialisation and is to be freed with lsnfile_list_free() on
 * success.  Returns 0, -ENOMEM, or port_dir_list()'s error, after which
 * @l holds nothing.
 */
int lsnfile_list(const char *dir, const char *prefix, const char *const *ext,
		 u32 next, struct lsnfile_list *l);
void lsnfile_list_free(struct lsnfile_list *l);

#endif /* TDB_CORE_LSNFILE_H */
