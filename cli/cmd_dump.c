// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cmd_dump.c - dump: every record of a table through a scan cursor.
 */
#include <errno.h>
#include <stdio.h>

#include "cli.h"

static int run_dump(struct cli *c, char **args)
{
	const char *table = args[0];
	struct tdb_table_info info;
	struct tdb_scan *s;
	const void *key, *val;
	size_t klen, vlen;
	int r, err;

	r = cli_table_info(c, table, &info);
	if (r)
		return r;
	err = tdb_scan_open(c->db, table, &s);
	if (err)
		return cli_table_error(c, table, err);
	while ((err = tdb_scan_next(s, &key, &klen, &val, &vlen)) > 0) {
		if (c->json) {
			json_t *o = json_object();

			if (o && (json_set_key(o, info.key_type, key, klen) ||
				  json_set_bytes(o, "value", val, vlen)))
				json_decref(o), o = NULL;
			r = json_print(c, o, true);
			if (r)
				break;
			continue;
		}
		print_key(stdout, info.key_type, key, klen);
		putchar('\t');
		print_escaped(stdout, val, vlen);
		putchar('\n');
	}
	tdb_scan_close(s);
	if (err < 0) {
		cli_error(c, "scan of table '%s' failed: %s", table,
			  tdb_strerror(err));
		return CLI_FAIL;
	}
	return r;
}

const struct cli_cmd cmd_dump = {
	.name = "dump",
	.args = "TABLE",
	.nargs = 1,
	.run = run_dump,
	.help = "Prints every record of the table, a line each, in no\n"
		"particular order: the key (a number for u32 and u64 tables),\n"
		"a tab, the value.  Bytes that are not printable ASCII, and tabs\n"
		"and newlines, are written \\xHH; a backslash is \\\\.  With\n"
		"--json: one object a line, {\"key\", \"value\"} (\"key_hex\" or\n"
		"\"value_hex\" for bytes that are not UTF-8).  Records written\n"
		"during the dump may or may not appear.  Exit status 1 when the\n"
		"table does not exist.\n",
};
