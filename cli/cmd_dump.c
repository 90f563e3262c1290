// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cmd_dump.c - dump: every record of a table through a scan cursor,
 * decoded by the table's schema.
 */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "tdb/schema.h"

int cli_print_bare(struct cli *c, const struct cli_table *t, const void *key,
		   size_t klen, const void *val, size_t vlen, bool line)
{
	json_t *o;

	if (c->json) {
		o = json_object();
		if (o && (json_set_key(o, t->schema, key, klen) ||
			  json_set_bytes(o, "value", val, vlen)))
			json_decref(o), o = NULL;
		return json_print(c, o, line);
	}
	print_key(stdout, t->schema, key, klen);
	if (vlen) {
		putchar('\t');
		print_escaped(stdout, val, vlen);
	}
	putchar('\n');
	return CLI_OK;
}

static int run_dump(struct cli *c, char **args)
{
	const char *table = args[0];
	struct cli_table t;
	struct tdb_scan *s;
	const void *key, *val;
	size_t klen, vlen;
	unsigned long bad = 0;
	int r, err;

	r = cli_record_open(c, table, &t);
	if (r)
		return r;
	err = tdb_scan_open(c->db, table, &s);
	if (err) {
		r = cli_table_error(c, table, err);
		goto close;
	}
	while ((err = tdb_scan_next(s, &key, &klen, &val, &vlen)) > 0) {
		if (cli_table_bare(&t)) {
			r = cli_print_bare(c, &t, key, klen, val, vlen, true);
			if (r)
				break;
			continue;
		}
		/* A record that does not decode is reported; the dump goes on. */
		if (cli_print_record(c, &t, key, klen, val, vlen, true))
			bad++;
	}
	tdb_scan_close(s);
	if (err < 0) {
		cli_error(c, "scan of table '%s' failed: %s", table,
			  tdb_strerror(err));
		r = CLI_FAIL;
	} else if (bad) {
		r = CLI_FAIL;
	}
close:
	cli_record_close(&t);
	return r;
}

const struct cli_cmd cmd_dump = {
	.name = "dump",
	.args = "TABLE",
	.nargs = 1,
	.run = run_dump,
	.help = "Prints every record of the table, a line each, in no\n"
		"particular order.  A table with a schema prints each as get\n"
		"does, \"KEY FIELD=VALUE...\", or with --json as one object a line;\n"
		"a record whose value does not match the schema is reported on\n"
		"stderr and the dump goes on (exit status 2).  A table without\n"
		"one prints the key (a number for u32 and u64 tables, an address\n"
		"or prefix for address tables), a tab and the value, or the key\n"
		"alone when the value is empty (the members of a set).  Bytes of\n"
		"a value that are not printable ASCII, and tabs and newlines,\n"
		"are written \\xHH; a backslash is \\\\.  With --json: one object\n"
		"a line, {\"key\", \"value\"} (\"key_hex\" or \"value_hex\" for bytes\n"
		"that are not UTF-8).  Records written during the dump may or may\n"
		"not appear.  Exit status 1 when the table does not exist.\n",
};
