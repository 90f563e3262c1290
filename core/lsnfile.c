// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * lsnfile.c - files named after a log position.  The rules are in
 * lsnfile.h.
 */
#include "lsnfile.h"

void lsnfile_name(char *buf, const char *prefix, u64 lsn, const char *ext)
{
	static const char hex[] = "0123456789abcdef";
	size_t plen = strlen(prefix);
	int i;

	memcpy(buf, prefix, plen);
	for (i = 0; i < 16; i++)
		buf[plen + i] = hex[(lsn >> (60 - 4 * i)) & 0xf];
	memcpy(buf + plen + 16, ext, strlen(ext) + 1);
}

int lsnfile_parse(const char *name, const char *prefix, const char *const *ext,
		  u32 next, u64 *lsn)
{
	size_t plen = strlen(prefix), len = strlen(name);
	u64 v = 0;
	u32 e;
	int i;

	if (len < plen + 16 || len >= LSNFILE_NAME_MAX ||
	    memcmp(name, prefix, plen))
		return -1;
	for (i = 0; i < 16; i++) {
		char c = name[plen + i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (u64)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (u64)(c - 'a' + 10);
		else
			return -1;
	}
	for (e = 0; e < next; e++) {
		if (!strcmp(name + plen + 16, ext[e])) {
			*lsn = v;
			return (int)e;
		}
	}
	return -1;
}

struct lsnfile_lister {
	struct lsnfile_list *l;
	const char *prefix;
	const char *const *ext;
	u32 next;
};

static int lsnfile_list_one(void *arg, const char *name)
{
	struct lsnfile_lister *ls = arg;
	struct lsnfile_list *l = ls->l;
	struct lsnfile *v;
	u64 lsn;
	int ext;
	u32 i;

	ext = lsnfile_parse(name, ls->prefix, ls->ext, ls->next, &lsn);
	if (ext < 0)
		return 0;
	if (l->n == l->cap) {
		u32 cap = l->cap ? l->cap * 2 : 16;

		v = port_alloc(cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		port_free(l->v, l->cap * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	/* Insertion keeps the list sorted; a directory holds hundreds. */
	for (i = l->n; i > 0 && l->v[i - 1].lsn > lsn; i--)
		l->v[i] = l->v[i - 1];
	l->v[i].lsn = lsn;
	l->v[i].ext = (u32)ext;
	memcpy(l->v[i].name, name, strlen(name) + 1);
	l->n++;
	return 0;
}

void lsnfile_list_free(struct lsnfile_list *l)
{
	port_free(l->v, l->cap * sizeof(*l->v));
	l->v = NULL;
	l->n = l->cap = 0;
}

int lsnfile_list(const char *dir, const char *prefix, const char *const *ext,
		 u32 next, struct lsnfile_list *l)
{
	struct lsnfile_lister ls = {
		.l = l,
		.prefix = prefix,
		.ext = ext,
		.next = next,
	};
	int err;

	memset(l, 0, sizeof(*l));
	err = port_dir_list(dir, lsnfile_list_one, &ls);
	if (err)
		lsnfile_list_free(l);
	return err;
}
