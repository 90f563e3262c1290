// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cmd_lookup.c - lookup: the longest prefix of a cidr4 or cidr6 table
 * that contains an address (tdb_lookup()), printed with its fields as
 * get prints a record.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "cli.h"
#include "tdb/schema.h"

/* Prints the record as tdb_record_format() writes it.  An exit status. */
static int print_record(struct cli *c, const char *table,
			const struct tdb_schema *s, const void *key,
			size_t klen, const void *val, size_t vlen)
{
	char *text;
	json_t *doc;
	int err;

	err = tdb_record_format(s, key, klen, val, vlen,
				c->json ? TDB_FORMAT_JSON : TDB_FORMAT_TEXT,
				&text);
	if (err) {
		cli_error(c, err == -ENOMEM ?
				     "out of memory" :
				     "the record in table '%s' does not match its schema",
			  table);
		return CLI_FAIL;
	}
	/* Through jansson, to print as every other command's document. */
	doc = c->json ? json_loads(text, 0, NULL) : NULL;
	if (doc) {
		free(text);
		return json_print(c, doc, false);
	}
	puts(text);
	free(text);
	return CLI_OK;
}

static int run_lookup(struct cli *c, char **args)
{
	const char *table = args[0], *arg = args[1];
	unsigned char addr[16], prefix[17];
	struct tdb_table_info info;
	struct tdb_schema *s;
	size_t plen, vlen;
	void *val;
	bool v6;
	int r, err;

	r = cli_table_info(c, table, &info);
	if (r)
		return r;
	if (info.key_type != TDB_KEY_CIDR4 && info.key_type != TDB_KEY_CIDR6) {
		cli_error(c, "table '%s' has %s keys: lookup needs a cidr4 or cidr6 table",
			  table, key_type_name(info.key_type));
		return CLI_FAIL;
	}
	v6 = info.key_type == TDB_KEY_CIDR6;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, arg, addr) != 1) {
		cli_error(c, "'%s' is not an %s address (table '%s' has %s keys)",
			  arg, v6 ? "IPv6" : "IPv4", table,
			  key_type_name(info.key_type));
		return CLI_FAIL;
	}
	r = cli_load_schema(c, table, &info, &s);
	if (r)
		return r;
	val = malloc(TDB_VAL_MAX);
	if (!val) {
		cli_error(c, "out of memory");
		r = CLI_FAIL;
		goto free_schema;
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
		r = print_record(c, table, s, prefix, plen, val, vlen);
	}
	free(val);
free_schema:
	tdb_schema_free(s);
	return r;
}

const struct cli_cmd cmd_lookup = {
	.name = "lookup",
	.args = "TABLE ADDRESS",
	.nargs = 2,
	.run = run_lookup,
	.help = "Finds the longest prefix of TABLE (keyed by cidr4 or cidr6)\n"
		"that contains ADDRESS (IPv4 or IPv6, as the table's keys) and\n"
		"prints it with its fields, as get prints a record:\n"
		"\"PREFIX name=value...\".  With --json: one object, the prefix\n"
		"under the key's name and each field under its own.  Exit\n"
		"status 1 when the table does not exist or no prefix contains\n"
		"ADDRESS.\n",
};
