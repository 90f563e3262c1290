// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * input_ipset.c - 'ipset save' output as input for 'tdbcli load', so that
 * a set moves over unchanged.  Lines:
 *
 *   create SET TYPE [family inet|inet6] [OPTIONS...]
 *	checked against the table: TYPE hash:ip, hash:net or bitmap:ip of
 *	family inet for ipv4 and cidr4 keys, of family inet6 for ipv6 and
 *	cidr6 keys, hash:mac for mac keys; its other options (hashsize,
 *	maxelem, timeout...) describe the set and are ignored.
 *   add SET ENTRY [OPTION VALUE...]
 *	a record: ENTRY is the key; each option (timeout 600, comment "x")
 *	goes to the schema's field of that name, "nomatch" (which has no
 *	value) to a field nomatch as true.  An option with no such field is
 *	an error, not dropped silently.
 *
 * Blank lines and lines starting with '#' are skipped, anything else is
 * an error.  A load takes one set: the first create or add line names it
 * and a line for another set is an error.  Words are separated by spaces
 * or tabs; a double-quoted word (ipset quotes comments) may hold spaces.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"

/* The most words a line may have: ipset's add lines have a dozen. */
#define IPSET_WORDS 64

struct ipset_state {
	char *set;		/* the set this load takes */
	uint64_t set_line;	/* the line that named it */
	const char *entry;	/* the last record's key, in the buffer */
	const char *names[IPSET_WORDS], *values[IPSET_WORDS];
};

static int ipset_open(struct input *in)
{
	in->priv = calloc(1, sizeof(struct ipset_state));
	return in->priv ? 0 : input_fail(in, -ENOMEM, "out of memory");
}

static void ipset_close(struct input *in)
{
	struct ipset_state *st = in->priv;

	if (st)
		free(st->set);
	free(st);
	in->priv = NULL;
}

/*
 * Splits @line into words in place (NUL-terminating each, dropping the
 * quotes of a quoted one).  The number of words, or -errno with the
 * reason.
 */
static int split(struct input *in, char *line, char **words)
{
	char *p = line, *w;
	int n = 0;

	for (;;) {
		p += strspn(p, " \t");
		if (!*p)
			return n;
		if (n == IPSET_WORDS)
			return input_fail(in, -EINVAL, "more than %d words",
					  IPSET_WORDS);
		if (*p == '"') {
			w = ++p;
			p = strchr(p, '"');
			if (!p)
				return input_fail(in, -EINVAL,
						  "quote not closed");
			*p++ = 0;
			if (*p && *p != ' ' && *p != '\t')
				return input_fail(in, -EINVAL,
						  "text after a closing quote");
		} else {
			w = p;
			p += strcspn(p, " \t\"");
			if (*p == '"')
				return input_fail(in, -EINVAL,
						  "a quote inside a word");
		}
		words[n++] = w;
		if (*p)
			*p++ = 0;
	}
}

/* Checks that @set is the load's set, or makes it so.  0 or -errno. */
static int check_set(struct input *in, struct ipset_state *st, const char *set)
{
	if (!st->set) {
		st->set = strdup(set);
		st->set_line = in->lineno;
		return st->set ? 0 : input_fail(in, -ENOMEM, "out of memory");
	}
	if (strcmp(set, st->set))
		return input_fail(in, -EINVAL,
				  "set '%s': this load takes set '%s' alone (named on line %llu)",
				  set, st->set,
				  (unsigned long long)st->set_line);
	return 0;
}

/* Checks a create line's set type and family against the table's keys. */
static int check_create(struct input *in, char **w, int n)
{
	uint32_t kt = tdb_schema_key_type(in->schema);
	const char *type = w[2], *family = "inet";
	bool v6;

	for (int i = 3; i + 1 < n; i++)
		if (!strcmp(w[i], "family"))
			family = w[i + 1];
	if (!strcmp(type, "hash:mac")) {
		if (kt != TDB_KEY_MAC)
			return input_fail(in, -EINVAL,
					  "set '%s' holds MAC addresses (hash:mac), but the table has %s keys",
					  w[1], key_type_name(kt));
		return 0;
	}
	if (strcmp(type, "hash:ip") && strcmp(type, "hash:net") &&
	    strcmp(type, "bitmap:ip"))
		return input_fail(in, -EINVAL,
				  "set type %s cannot be loaded: a key is one address, prefix or MAC (hash:ip, hash:net, bitmap:ip, hash:mac)",
				  type);
	if (!strcmp(family, "inet"))
		v6 = false;
	else if (!strcmp(family, "inet6"))
		v6 = true;
	else
		return input_fail(in, -EINVAL, "unknown family '%s'", family);
	if (v6 ? kt != TDB_KEY_IPV6 && kt != TDB_KEY_CIDR6 :
		 kt != TDB_KEY_IPV4 && kt != TDB_KEY_CIDR4)
		return input_fail(in, -EINVAL,
				  "set '%s' is of family %s, but the table has %s keys (%s)",
				  w[1], family, key_type_name(kt),
				  v6 ? "family inet6 needs ipv6 or cidr6" :
				       "family inet needs ipv4 or cidr4");
	return 0;
}

/* Whether the schema has a value field named @name. */
static bool has_field(const struct tdb_schema *s, const char *name)
{
	for (unsigned int i = 0; i < tdb_schema_nfields(s); i++)
		if (!strcmp(name, tdb_schema_field_name(s, i)))
			return true;
	return false;
}

/* Encodes an add line's entry and options into @r.  1 or -errno. */
static int take_add(struct input *in, struct ipset_state *st, char **w, int n,
		    struct tdb_record *r)
{
	unsigned int k = 0;
	int err;

	st->names[k] = tdb_schema_key_name(in->schema);
	st->values[k++] = st->entry = w[2];
	for (int i = 3; i < n; i++) {
		if (!has_field(in->schema, w[i]))
			return input_fail(in, -EINVAL,
					  "option '%s': the table has no field of that name",
					  w[i]);
		st->names[k] = w[i];
		/* ipset's one option without a value. */
		if (!strcmp(w[i], "nomatch")) {
			st->values[k++] = "true";
			continue;
		}
		if (i + 1 == n)
			return input_fail(in, -EINVAL,
					  "option '%s' needs a value", w[i]);
		st->values[k++] = w[++i];
	}
	err = tdb_record_encode(in->schema, st->names, st->values, k, r,
				in->err, sizeof(in->err));
	return err < 0 ? err : 1;
}

static int ipset_next(struct input *in, struct tdb_record *r)
{
	struct ipset_state *st = in->priv;
	char *words[IPSET_WORDS], *line;
	size_t len, skip;
	int rc, n;

	for (;;) {
		rc = input_read_line(in, &line, &len);
		if (rc <= 0)
			return rc;
		in->line = in->lineno;
		skip = strspn(line, " \t");
		if (skip == len || line[skip] == '#')
			continue;
		if (memchr(line, 0, len))
			return input_fail(in, -EINVAL,
					  "a NUL byte in the line");
		n = split(in, line, words);
		if (n < 0)
			return n;
		if (!strcmp(words[0], "add")) {
			if (n < 3)
				return input_fail(in, -EINVAL,
						  "add line without %s",
						  n < 2 ? "a set name" : "an entry");
			rc = check_set(in, st, words[1]);
			return rc ? rc : take_add(in, st, words, n, r);
		}
		if (strcmp(words[0], "create"))
			return input_fail(in, -EINVAL,
					  "a '%s' line: only 'create' and 'add' lines (ipset save output) are loaded",
					  words[0]);
		if (n < 3)
			return input_fail(in, -EINVAL, "create line without %s",
					  n < 2 ? "a set name" : "a set type");
		rc = check_set(in, st, words[1]);
		if (!rc)
			rc = check_create(in, words, n);
		if (rc)
			return rc;
	}
}

static const char *ipset_key_text(struct input *in)
{
	struct ipset_state *st = in->priv;

	return st->entry;
}

const struct input_format input_ipset = {
	.name = "ipset",
	.open = ipset_open,
	.next = ipset_next,
	.key_text = ipset_key_text,
	.close = ipset_close,
};
