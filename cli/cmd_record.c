// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cmd_record.c - the record commands: put, get, del.  Each reads the
 * table's info and schema first (a table without a schema has a bare one,
 * of its key type), to encode the key and, for put, the fields through
 * libtdb's codec (tdb/schema.h).
 *
 * A table with a schema takes and shows records as named fields: "put fw
 * 10.0.0.0/8 action=drop dport=22", and get prints the record as
 * tdb_record_format() writes it, "KEY name=value...", the line dump and
 * lookup print too.  A table without one keeps the plain form: put takes
 * the value's bytes (or none: a set's member), get prints them as they
 * are.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tdb/schema.h"

int cli_record_open(struct cli *c, const char *table, struct cli_table *t)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->name = table;
	r = cli_table_info(c, table, &t->info);
	if (r)
		return r;
	return cli_load_schema(c, table, &t->info, &t->schema);
}

void cli_record_close(struct cli_table *t)
{
	tdb_schema_free(t->schema);
	t->schema = NULL;
}

bool cli_table_bare(const struct cli_table *t)
{
	return !tdb_schema_name(t->schema);
}

void cli_key_error(const struct cli *c, const struct cli_table *t,
		   const char *reason)
{
	if (cli_table_bare(t))
		cli_error(c, "%s (table '%s' has %s keys)", reason, t->name,
			  key_type_name(t->info.key_type));
	else
		cli_error(c, "%s", reason);
}

void cli_key_normalised(const struct cli *c, const struct cli_table *t,
			const char *arg, const void *key, size_t klen)
{
	char text[128];

	tdb_key_format(t->schema, key, klen, text, sizeof(text));
	cli_error(c, "note: key %s taken as %s (bits past the prefix length cleared)",
		  arg, text);
}

/* Encodes the key @arg into @buf (TDB_KEY_MAX bytes).  An exit status. */
static int parse_key(struct cli *c, const struct cli_table *t,
		     const char *arg, void *buf, size_t *klen)
{
	char err[512];
	int r;

	r = tdb_key_parse(t->schema, arg, buf, TDB_KEY_MAX, klen, err,
			  sizeof(err));
	if (r < 0) {
		cli_key_error(c, t, err);
		return CLI_FAIL;
	}
	if (r == 1)
		cli_key_normalised(c, t, arg, buf, *klen);
	return CLI_OK;
}

/* Reports a failed record call.  An exit status. */
static int record_error(struct cli *c, const char *table, const char *key,
			int err)
{
	switch (err) {
	case -ENOENT:
		cli_error(c, "key '%s' not found in table '%s'", key, table);
		return CLI_MISSING;
	case -E2BIG:
		cli_error(c, "key or value too large for table '%s' (keys up to 1024 bytes, values up to 1 MiB)",
			  table);
		return CLI_FAIL;
	case -ENOSPC:
		cli_error(c, "table '%s' is full: %s", table, tdb_strerror(err));
		return CLI_FAIL;
	default:
		return cli_table_error(c, table, err);
	}
}

int cli_print_record(struct cli *c, const struct cli_table *t,
		     const void *key, size_t klen, const void *val,
		     size_t vlen, bool compact)
{
	char *text, ktext[256];
	json_t *doc;
	int err;

	err = tdb_record_format(t->schema, key, klen, val, vlen,
				c->json ? TDB_FORMAT_JSON : TDB_FORMAT_TEXT,
				&text);
	if (err == -ENOMEM) {
		cli_error(c, "out of memory");
		return CLI_FAIL;
	}
	if (err) {
		if (tdb_key_format(t->schema, key, klen, ktext,
				   sizeof(ktext)) < 0)
			snprintf(ktext, sizeof(ktext), "of %zu bytes", klen);
		cli_error(c, "record %s of table '%s' does not match its schema (a value of %zu bytes)",
			  ktext, t->name, vlen);
		return CLI_FAIL;
	}
	/* Through jansson for get, to indent as every other document. */
	doc = c->json && !compact ? json_loads(text, 0, NULL) : NULL;
	if (doc) {
		free(text);
		return json_print(c, doc, false);
	}
	puts(text);
	free(text);
	return CLI_OK;
}

/* put */

/*
 * The name/value pairs of a put: the key under the key's name, then the
 * value's bytes as "value" (no schema) or each FIELD=VALUE (a schema).
 * The names are copies in @names[1..], freed by the caller.
 */
static int put_pairs(struct cli *c, const struct cli_table *t, char **args,
		     const char **names, const char **values,
		     unsigned int *n)
{
	unsigned int k = 0;

	names[k] = tdb_schema_key_name(t->schema);
	values[k++] = args[1];
	if (cli_table_bare(t)) {
		if (args[2] && args[3]) {
			cli_error(c, "unexpected argument '%s': table '%s' has no schema, so put takes KEY [VALUE]",
				  args[3], t->name);
			return CLI_FAIL;
		}
		if (args[2]) {
			names[k] = strdup("value");
			values[k++] = args[2];
		}
		*n = k;
		return names[k - 1] ? CLI_OK : CLI_FAIL;
	}
	for (char **a = args + 2; *a; a++) {
		const char *eq = strchr(*a, '=');

		if (!eq || eq == *a) {
			cli_error(c, "'%s' is not FIELD=VALUE (table '%s' has a schema)",
				  *a, t->name);
			*n = k;
			return CLI_FAIL;
		}
		names[k] = strndup(*a, (size_t)(eq - *a));
		values[k++] = eq + 1;
		if (!names[k - 1]) {
			cli_error(c, "out of memory");
			*n = k;
			return CLI_FAIL;
		}
	}
	*n = k;
	return CLI_OK;
}

static int run_put(struct cli *c, char **args)
{
	const char *table = args[0];
	unsigned char key[TDB_KEY_MAX];
	struct tdb_record rec = { .key = key, .key_cap = sizeof(key) };
	const char **names = NULL, **values = NULL;
	struct cli_table t;
	unsigned int n = 0, argc = 0;
	char err[512];
	int r, ret;

	r = cli_record_open(c, table, &t);
	if (r)
		return r;
	while (args[argc])
		argc++;
	names = calloc(argc, sizeof(*names));
	values = calloc(argc, sizeof(*values));
	rec.val_cap = tdb_schema_value_max(t.schema);
	rec.val = malloc(rec.val_cap ? rec.val_cap : 1);
	if (!names || !values || !rec.val) {
		cli_error(c, "out of memory");
		r = CLI_FAIL;
		goto free_all;
	}
	r = put_pairs(c, &t, args, names, values, &n);
	if (r)
		goto free_all;
	ret = tdb_record_encode(t.schema, names, values, n, &rec, err,
				sizeof(err));
	if (ret < 0) {
		size_t kn = strlen(names[0]);

		/* The key's reasons name it; the key type helps there. */
		if (!strncmp(err, names[0], kn) &&
		    (err[kn] == ':' || err[kn] == '.'))
			cli_key_error(c, &t, err);
		else
			cli_error(c, "%s", err);
		r = CLI_FAIL;
		goto free_all;
	}
	if (ret == 1)
		cli_key_normalised(c, &t, args[1], rec.key, rec.klen);
	ret = tdb_put(c->db, table, rec.key, rec.klen, rec.val, rec.vlen, 0);
	if (ret == -ENOENT)
		r = cli_table_error(c, table, ret);
	else if (ret)
		r = record_error(c, table, args[1], ret);
free_all:
	for (unsigned int i = 1; i < n; i++)
		free((char *)names[i]);
	free(names);
	free(values);
	free(rec.val);
	cli_record_close(&t);
	return r;
}

const struct cli_cmd cmd_put = {
	.name = "put",
	.args = "TABLE KEY [VALUE | FIELD=VALUE...]",
	.nargs = 2,
	.more = true,
	.run = run_put,
	.help = "Stores a record under KEY, inserting or replacing.  KEY is\n"
		"written as the table's key type says (see 'tdbcli --help').\n"
		"\n"
		"A table with a schema takes its fields as FIELD=VALUE arguments\n"
		"(a field left out takes its default, or stays unset when it is\n"
		"optional); an unknown field, a value out of range, a string too\n"
		"long or a malformed key is refused with a message naming it:\n"
		"  tdbcli put fw 10.0.0.0/8 action=drop proto=tcp dport=22\n"
		"A table without one takes VALUE as bytes (up to 1 MiB), or no\n"
		"VALUE for an empty one, as the members of a set have.\n"
		"\n"
		"A prefix with bits set past its length (10.1.2.3/8) is stored\n"
		"normalised (10.0.0.0/8), with a note on stderr.  Exit status 1\n"
		"when the table does not exist.\n",
};

/* get */

static int run_get(struct cli *c, char **args)
{
	const char *table = args[0];
	unsigned char key[TDB_KEY_MAX];
	struct cli_table t;
	size_t klen, vlen;
	void *val = NULL;
	json_t *o;
	int r, err;

	r = cli_record_open(c, table, &t);
	if (r)
		return r;
	r = parse_key(c, &t, args[1], key, &klen);
	if (r)
		goto close;
	err = tdb_get_alloc(c->db, table, key, klen, &val, &vlen);
	if (err) {
		r = record_error(c, table, args[1], err);
		goto close;
	}
	if (!cli_table_bare(&t)) {
		r = cli_print_record(c, &t, key, klen, val, vlen, false);
	} else if (c->json) {
		o = json_object();
		if (o && (json_object_set_new(o, "table", json_string(table)) ||
			  json_set_key(o, t.schema, key, klen) ||
			  json_set_bytes(o, "value", val, vlen)))
			json_decref(o), o = NULL;
		r = json_print(c, o, false);
	} else {
		fwrite(val, 1, vlen, stdout);
		putchar('\n');
	}
	free(val);
close:
	cli_record_close(&t);
	return r;
}

const struct cli_cmd cmd_get = {
	.name = "get",
	.args = "TABLE KEY",
	.nargs = 2,
	.run = run_get,
	.help = "Prints the record stored under KEY.  A table with a schema\n"
		"prints it as one line, \"KEY FIELD=VALUE...\" (values with spaces\n"
		"or quotes double-quoted, unset fields left out), or with --json\n"
		"as an object of the key under its name and each field under\n"
		"its own (numbers and booleans as such).  A table without one\n"
		"prints the value as it is, followed by a newline; with --json\n"
		"{\"table\", \"key\", \"value\"}, with \"value_hex\" instead of \"value\"\n"
		"when it is not UTF-8.  Exit status 1 when the table or the key\n"
		"does not exist.\n",
};

/* del */

static int run_del(struct cli *c, char **args)
{
	const char *table = args[0];
	unsigned char key[TDB_KEY_MAX];
	struct cli_table t;
	size_t klen;
	int r, err;

	r = cli_record_open(c, table, &t);
	if (r)
		return r;
	r = parse_key(c, &t, args[1], key, &klen);
	if (!r) {
		err = tdb_del(c->db, table, key, klen);
		r = err ? record_error(c, table, args[1], err) : CLI_OK;
	}
	cli_record_close(&t);
	return r;
}

const struct cli_cmd cmd_del = {
	.name = "del",
	.args = "TABLE KEY",
	.nargs = 2,
	.run = run_del,
	.help = "Deletes KEY.  Exit status 1 when the table or the key does\n"
		"not exist.\n",
};
