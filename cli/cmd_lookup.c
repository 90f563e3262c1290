// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cmd_lookup.c - lookup: the longest prefix of a cidr4 or cidr6 table
 * that contains an address (tdb_lookup()), printed with its fields as
 * get prints a record.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "tdb/schema.h"

/*
 * Prints the prefix found and its record: as get does for a table with a
 * schema, else as dump does ("PREFIX<TAB>VALUE", or the prefix alone for
 * a set's member; {"key", "value"} with --json).  An exit status.
 */
static int print_match(struct cli *c, const struct cli_table *t,
		       const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	if (!cli_table_bare(t))
		return cli_print_record(c, t, key, klen, val, vlen, false);
	return cli_print_bare(c, t, key, klen, val, vlen, false);
}

static int run_lookup(struct cli *c, char **args)
{
	const char *table = args[0], *arg = args[1];
	unsigned char addr[16], prefix[17];
	struct cli_table t;
	size_t plen, vlen;
	void *val;
	bool v6;
	int r, err;

	r = cli_record_open(c, table, &t);
	if (r)
		return r;
	r = CLI_FAIL;
	if (t.info.key_type != TDB_KEY_CIDR4 &&
	    t.info.key_type != TDB_KEY_CIDR6) {
		cli_error(c, "table '%s' has %s keys: lookup needs a cidr4 or cidr6 table",
			  table, key_type_name(t.info.key_type));
		goto close;
	}
	v6 = t.info.key_type == TDB_KEY_CIDR6;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, arg, addr) != 1) {
		cli_error(c, "'%s' is not an %s address (table '%s' has %s keys)",
			  arg, v6 ? "IPv6" : "IPv4", table,
			  key_type_name(t.info.key_type));
		goto close;
	}
	/* The largest value there is: one call, no retry if it grew. */
	val = malloc(TDB_VAL_MAX);
	if (!val) {
		cli_error(c, "out of memory");
		goto close;
	}
	err = tdb_lookup(c->db, table, addr, v6 ? 16 : 4, prefix, &plen, val,
			 TDB_VAL_MAX, &vlen);
	if (err == -ENOENT) {
		/* The table was there a moment ago: no prefix matched. */
		cli_error(c, "no prefix in table '%s' contains %s", table, arg);
		r = CLI_MISSING;
	} else if (err) {
		r = cli_table_error(c, table, err);
	} else {
		r = print_match(c, &t, prefix, plen, val, vlen);
	}
	free(val);
close:
	cli_record_close(&t);
	return r;
}

const struct cli_cmd cmd_lookup = {
	.name = "lookup",
	.args = "TABLE ADDRESS",
	.nargs = 2,
	.run = run_lookup,
	.help = "Finds the longest prefix of TABLE (keyed by cidr4 or cidr6)\n"
		"that contains ADDRESS (IPv4 or IPv6, as the table's keys) and\n"
		"prints it with its record.  A table with a schema prints it as\n"
		"get does, \"PREFIX FIELD=VALUE...\", or with --json as one object\n"
		"of the prefix under the key's name and each field under its\n"
		"own.  A table without one prints the prefix, and a tab and the\n"
		"value when it has one, as dump does; with --json {\"key\",\n"
		"\"value\"}.  Exit status 1 when the table does not exist or no\n"
		"prefix contains ADDRESS.\n",
};
