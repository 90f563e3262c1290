// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cmd_record.c - the record commands: put, get, del.  Each asks for the
 * table's info first, to encode the key per its key type.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define KEY_MAX 1024

struct key {
	unsigned char buf[KEY_MAX];
	size_t len;
	uint32_t type;
};

/* Looks up the table's key type and encodes @arg.  An exit status. */
static int get_key(struct cli *c, const char *table, const char *arg,
		   struct key *k)
{
	struct tdb_table_info info;
	const char *why = "";
	int r;

	r = cli_table_info(c, table, &info);
	if (r)
		return r;
	k->type = info.key_type;
	if (key_encode(info.key_type, arg, k->buf, sizeof(k->buf), &k->len,
		       &why)) {
		cli_error(c, "key '%s' %s (table '%s' has %s keys)", arg, why,
			  table, key_type_name(info.key_type));
		return CLI_FAIL;
	}
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

/* put */

static int run_put(struct cli *c, char **args)
{
	const char *table = args[0], *val = args[2];
	struct key k;
	int r, err;

	r = get_key(c, table, args[1], &k);
	if (r)
		return r;
	err = tdb_put(c->db, table, k.buf, k.len, val, strlen(val), 0);
	if (err == -ENOENT)
		return cli_table_error(c, table, err);
	return err ? record_error(c, table, args[1], err) : CLI_OK;
}

const struct cli_cmd cmd_put = {
	.name = "put",
	.args = "TABLE KEY VALUE",
	.nargs = 3,
	.run = run_put,
	.help = "Stores VALUE (the argument's bytes, up to 1 MiB) under KEY,\n"
		"inserting or replacing.  KEY is encoded per the table's key\n"
		"type: bytes and str as they are, u32 and u64 as decimal\n"
		"numbers.  Exit status 1 when the table does not exist.\n",
};

/* get */

static int run_get(struct cli *c, char **args)
{
	const char *table = args[0];
	struct key k;
	size_t vlen;
	void *val;
	json_t *o;
	int r, err;

	r = get_key(c, table, args[1], &k);
	if (r)
		return r;
	err = tdb_get_alloc(c->db, table, k.buf, k.len, &val, &vlen);
	if (err)
		return record_error(c, table, args[1], err);
	if (c->json) {
		o = json_object();
		if (o && (json_object_set_new(o, "table", json_string(table)) ||
			  json_set_key(o, k.type, k.buf, k.len) ||
			  json_set_bytes(o, "value", val, vlen)))
			json_decref(o), o = NULL;
		free(val);
		return json_print(c, o, false);
	}
	fwrite(val, 1, vlen, stdout);
	putchar('\n');
	free(val);
	return CLI_OK;
}

const struct cli_cmd cmd_get = {
	.name = "get",
	.args = "TABLE KEY",
	.nargs = 2,
	.run = run_get,
	.help = "Prints the value stored under KEY, as it is, followed by a\n"
		"newline.  With --json: {\"table\", \"key\", \"value\"}, with\n"
		"\"value_hex\" instead of \"value\" when it is not UTF-8.  Exit\n"
		"status 1 when the table or the key does not exist.\n",
};

/* del */

static int run_del(struct cli *c, char **args)
{
	const char *table = args[0];
	struct key k;
	int r, err;

	r = get_key(c, table, args[1], &k);
	if (r)
		return r;
	err = tdb_del(c->db, table, k.buf, k.len);
	return err ? record_error(c, table, args[1], err) : CLI_OK;
}

const struct cli_cmd cmd_del = {
	.name = "del",
	.args = "TABLE KEY",
	.nargs = 2,
	.run = run_del,
	.help = "Deletes KEY.  Exit status 1 when the table or the key does\n"
		"not exist.\n",
};
