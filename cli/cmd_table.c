// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cmd_table.c - the table commands: tables, create, drop, info.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tdb/schema.h"

/* tables */

static int run_tables(struct cli *c, char **args)
{
	struct tdb_table_info *list;
	json_t *arr;
	int n;

	n = tdb_tables(c->db, &list);
	if (n < 0) {
		cli_error(c, "cannot list tables: %s", tdb_strerror(n));
		return CLI_FAIL;
	}
	if (c->json) {
		arr = json_array();
		for (int i = 0; arr && i < n; i++)
			if (json_array_append_new(arr, json_table_info(&list[i])))
				json_decref(arr), arr = NULL;
		free(list);
		return json_print(c, arr, false);
	}
	if (n)
		printf("%-24s %10s %12s %12s %-5s %-10s %-4s %s\n", "NAME",
		       "RECORDS", "MEMORY", "QUOTA", "KEY", "DURABILITY",
		       "MODE", "OWNER");
	for (int i = 0; i < n; i++) {
		const struct tdb_table_info *t = &list[i];

		printf("%-24s %10" PRIu64 " %12" PRIu64 " %12" PRIu64
		       " %-5s %-10s %04o ",
		       t->name, t->records, t->mem_bytes, t->quota,
		       key_type_name(t->key_type),
		       durability_name(t->durability), t->mode);
		print_owner(stdout, t->uid, t->gid);
		putchar('\n');
	}
	free(list);
	return CLI_OK;
}

const struct cli_cmd cmd_tables = {
	.name = "tables",
	.args = "",
	.nargs = 0,
	.run = run_tables,
	.help = "Lists the tables that you may see, a line each: name, record\n"
		"count, memory in bytes, quota in bytes (0: none), key type,\n"
		"durability, mode and owner.  Prints nothing when there are\n"
		"none.  With --json: an array of objects as 'tdbcli info --json'\n"
		"prints them.\n",
};

/* create */

static const char *opt_key_type, *opt_durability, *opt_mode, *opt_quota,
	*opt_schema;

static const struct cli_opt create_opts[] = {
	{ "--schema", &opt_schema },
	{ "--key-type", &opt_key_type },
	{ "--durability", &opt_durability },
	{ "--mode", &opt_mode },
	{ "--quota", &opt_quota },
	{ NULL, NULL },
};

/*
 * Reads the schema file @path ("-": standard input) into a malloc'd
 * buffer and checks it: the table gets its text as written, and its key
 * type from it.  An exit status.
 */
static int read_schema(struct cli *c, const char *path, char **text,
		       size_t *len, uint32_t *key_type)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	struct tdb_schema *s;
	char err[512];
	char *buf;
	size_t n;
	int r;

	if (!f) {
		cli_error(c, "cannot open schema '%s': %s", path,
			  strerror(errno));
		return CLI_FAIL;
	}
	/* One byte more than the limit, to tell a schema that is over it. */
	buf = malloc(TDB_SCHEMA_MAX + 1);
	n = buf ? fread(buf, 1, TDB_SCHEMA_MAX + 1, f) : 0;
	r = !buf ? -ENOMEM : ferror(f) ? -EIO : 0;
	if (f != stdin)
		fclose(f);
	if (r) {
		cli_error(c, "cannot read schema '%s': %s", path,
			  strerror(-r));
		goto free_buf;
	}
	r = tdb_schema_parse(buf, n, &s, err, sizeof(err));
	if (r) {
		cli_error(c, "%s: %s", path, err);
		goto free_buf;
	}
	*key_type = tdb_schema_key_type(s);
	tdb_schema_free(s);
	*text = buf;
	*len = n;
	return CLI_OK;
free_buf:
	free(buf);
	return CLI_FAIL;
}

static int run_create(struct cli *c, char **args)
{
	struct tdb_create_opts o = {
		.mode = 0600,
		.key_type = TDB_KEY_BYTES,
		.durability = TDB_DUR_ASYNC,
	};
	const char *table = args[0];
	char *schema = NULL;
	int v, err;

	if (opt_key_type && opt_schema) {
		cli_error(c, "--key-type and --schema exclude each other: the schema names the key type");
		return CLI_FAIL;
	}
	if (opt_key_type) {
		v = key_type_parse(opt_key_type);
		if (v < 0) {
			cli_error(c, "bad --key-type '%s': use bytes, str, u32, u64, ipv4, ipv6, cidr4, cidr6 or mac",
				  opt_key_type);
			return CLI_FAIL;
		}
		o.key_type = (uint32_t)v;
	}
	if (opt_durability) {
		v = durability_parse(opt_durability);
		if (v < 0) {
			cli_error(c, "bad --durability '%s': use memory, async or sync",
				  opt_durability);
			return CLI_FAIL;
		}
		o.durability = (uint32_t)v;
	}
	if (opt_mode && parse_mode(opt_mode, &o.mode)) {
		cli_error(c, "bad --mode '%s': octal permission bits, 0 to 0777",
			  opt_mode);
		return CLI_FAIL;
	}
	if (opt_quota && parse_size(opt_quota, &o.quota)) {
		cli_error(c, "bad --quota '%s': bytes, with an optional K, M or G suffix",
			  opt_quota);
		return CLI_FAIL;
	}
	if (opt_schema &&
	    read_schema(c, opt_schema, &schema, &o.schema_len, &o.key_type))
		return CLI_FAIL;
	o.schema = schema;
	err = tdb_create(c->db, table, &o);
	free(schema);
	switch (err) {
	case 0:
		return CLI_OK;
	case -EEXIST:
		cli_error(c, "table '%s' already exists", table);
		return CLI_FAIL;
	case -EINVAL:
		cli_error(c, "invalid table name '%s': 1 to 63 characters of A-Z a-z 0-9 _ . -",
			  table);
		return CLI_FAIL;
	default:
		cli_error(c, "cannot create table '%s': %s", table,
			  tdb_strerror(err));
		return CLI_FAIL;
	}
}

const struct cli_cmd cmd_create = {
	.name = "create",
	.args = "TABLE",
	.nargs = 1,
	.opts = create_opts,
	.run = run_create,
	.help = "Creates a table owned by you.  Table names are 1 to 63\n"
		"characters of A-Z a-z 0-9 _ . -\n"
		"\n"
		"Options:\n"
		"  --schema FILE       the table's schema (schema/README.md; FILE\n"
		"                      '-' is standard input): its key type and\n"
		"                      typed fields.  It is stored with the table,\n"
		"                      so put, get and dump take and show records\n"
		"                      as fields for every client.\n"
		"  --key-type TYPE     for a table without a schema, how keys are\n"
		"                      given and shown: bytes (the default), str,\n"
		"                      u32, u64 (decimal numbers), ipv4, ipv6,\n"
		"                      cidr4, cidr6 (prefixes, normalised) or mac.\n"
		"                      With an address type and empty values the\n"
		"                      table is a set: 'tdbcli put TABLE KEY'.\n"
		"  --durability CLASS  memory (lost when tdbd stops), async (the\n"
		"                      default: logged, written back soon) or sync\n"
		"                      (acknowledged once on disk)\n"
		"  --mode OCTAL        permission bits as for a file: owner, group,\n"
		"                      others; read (4) lets them get and dump,\n"
		"                      write (2) put and del; default 0600\n"
		"  --quota BYTES       memory limit of the table, with an optional\n"
		"                      K, M, G or T suffix (powers of 1024); writes\n"
		"                      past it fail; default 0: no limit\n",
};

/* drop */

static int run_drop(struct cli *c, char **args)
{
	int err = tdb_drop(c->db, args[0]);

	return err ? cli_table_error(c, args[0], err) : CLI_OK;
}

const struct cli_cmd cmd_drop = {
	.name = "drop",
	.args = "TABLE",
	.nargs = 1,
	.run = run_drop,
	.help = "Drops a table with all its records.  Exit status 1 when the\n"
		"table does not exist.\n",
};

/* info */

/*
 * The table's schema for info: *@name its name (NULL: none), or *@bad
 * why it does not parse; *@s the parsed schema (NULL unless one parsed).
 * An exit status.
 */
static int info_schema(struct cli *c, const char *table,
		       struct tdb_schema **s, char *bad, size_t badlen)
{
	size_t len;
	char *text;
	int err;

	*s = NULL;
	bad[0] = 0;
	err = tdb_table_schema(c->db, table, &text, &len);
	if (err)
		return cli_table_error(c, table, err);
	if (text && tdb_schema_parse(text, len, s, bad, badlen) == 0)
		bad[0] = 0;
	free(text);
	return CLI_OK;
}

static int run_info(struct cli *c, char **args)
{
	struct tdb_table_info t;
	struct tdb_schema *s;
	char bad[256];
	json_t *o;
	int r;

	r = cli_table_info(c, args[0], &t);
	if (!r)
		r = info_schema(c, args[0], &s, bad, sizeof(bad));
	if (r)
		return r;
	if (c->json) {
		o = json_table_info(&t);
		if (o && json_object_set_new(o, "schema",
					     s ? json_string(tdb_schema_name(s)) :
						 json_null()))
			json_decref(o), o = NULL;
		tdb_schema_free(s);
		return json_print(c, o, false);
	}
	printf("table:       %s\n", t.name);
	printf("records:     %" PRIu64 "\n", t.records);
	printf("memory:      ");
	print_bytes(stdout, t.mem_bytes);
	printf("\nquota:       ");
	if (t.quota)
		print_bytes(stdout, t.quota);
	else
		printf("none");
	printf("\nkey type:    %s\n", key_type_name(t.key_type));
	if (s) {
		printf("schema:      %s (key %s; fields", tdb_schema_name(s),
		       tdb_schema_key_name(s));
		for (unsigned int i = 0; i < tdb_schema_nfields(s); i++)
			printf("%s %s", i ? "," : "",
			       tdb_schema_field_name(s, i));
		printf("%s)\n", tdb_schema_nfields(s) ? "" : " none");
		tdb_schema_free(s);
	} else if (bad[0]) {
		printf("schema:      stored, but this tdbcli cannot read it: %s\n",
		       bad);
	} else {
		printf("schema:      none\n");
	}
	printf("durability:  %s\n", durability_name(t.durability));
	printf("owner:       ");
	print_owner(stdout, t.uid, t.gid);
	printf("\nmode:        %04o\n", t.mode);
	if (t.durability == TDB_DUR_MEMORY)
		printf("log:         none: never written to disk, gone after a restart\n");
	else
		printf("log:         LSN %" PRIu64 " (its last write ends there or before)\n",
		       t.log_lsn);
	print_checkpoint(stdout, "checkpoint:  ", t.checkpoint_time,
			 t.checkpoint_lsn);
	return CLI_OK;
}

const struct cli_cmd cmd_info = {
	.name = "info",
	.args = "TABLE",
	.nargs = 1,
	.run = run_info,
	.help = "Shows a table: its record count, memory use, quota, key type,\n"
		"schema (its name, key and fields, or none), durability, owner\n"
		"(uid and gid, with their names when known), mode (octal), the\n"
		"log position after its last write and the owner's last\n"
		"checkpoint.  With --json: one object with the members name,\n"
		"records, mem_bytes, quota (0: none), durability, key_type,\n"
		"schema (its name, null when none), uid, gid, user, group (null\n"
		"when unknown), mode (an octal string), log_lsn, checkpoint_time\n"
		"(seconds since the epoch, 0: none) and checkpoint_lsn.  Exit\n"
		"status 1 when the table does not exist.\n",
};
