/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * cli.h - tdbcli's shared declarations: the parsed command line, argument
 * parsing, key encoding, output helpers and the commands.
 *
 * Exit status: CLI_OK (0) on success, CLI_MISSING (1) when the table or key
 * does not exist, CLI_FAIL (2) for usage errors and every other failure;
 * each failure prints one line "tdbcli: COMMAND: what" on stderr.
 */
#ifndef TDB_CLI_H
#define TDB_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "tdb/tdb.h"

struct tdb_schema;

enum { CLI_OK = 0, CLI_MISSING = 1, CLI_FAIL = 2 };

/* What one command needs to know of its command line. */
struct cli {
	const char *socket;	/* --socket, or NULL for TDB_SOCKET/default */
	bool json;		/* --json */
	const char *cmd;	/* the command's name, for messages */
	struct tdb *db;		/* cli_connect() */
};

/* One option a command accepts besides --socket, --json and --help. */
struct cli_opt {
	const char *name;	/* "--key-type" */
	const char **value;	/* where its argument goes */
};

/* One option without a value ("--replace"). */
struct cli_flag {
	const char *name;
	bool *set;		/* set to true when given */
};

struct cli_cmd {
	const char *name;
	const char *args;	/* "TABLE KEY" for usage lines */
	int nargs;		/* positional arguments, exactly (or at
				 * least, with @more) */
	bool more;		/* any number more may follow */
	const struct cli_opt *opts;	/* NULL-terminated, or NULL */
	const struct cli_flag *flags;	/* NULL-terminated, or NULL */
	int (*run)(struct cli *c, char **args);
	const char *help;	/* what the command does and its options */
};

/* main.c */
void cli_error(const struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Connects to the owner; prints why not and returns CLI_FAIL. */
int cli_connect(struct cli *c);
/*
 * Reports a failed library call on @table and maps it to an exit status:
 * -ENOENT is "table does not exist" (1), the rest are 2.
 */
int cli_table_error(const struct cli *c, const char *table, int err);
/* Fetches @table's info, reporting failures as cli_table_error(). */
int cli_table_info(struct cli *c, const char *table,
		   struct tdb_table_info *info);

/* parse.c */
int parse_u64(const char *s, uint64_t max, uint64_t *out);
int parse_size(const char *s, uint64_t *out);
int parse_mode(const char *s, uint32_t *out);
/*
 * enum tdb_key_type / tdb_durability from a name, or -1.  Key types are
 * named by libtdb (tdb_key_type_name()).
 */
int key_type_parse(const char *s);
int durability_parse(const char *s);
const char *key_type_name(uint32_t t);
const char *durability_name(uint32_t d);

/* print.c */
/* Writes @len bytes to @f with non-printable bytes as \xHH, '\' as \\. */
void print_escaped(FILE *f, const void *p, size_t len);
/*
 * Writes a key as text per the table's schema @s (tdb_key_format()), or
 * escaped as print_escaped() when it does not fit the key type.
 */
void print_key(FILE *f, const struct tdb_schema *s, const void *key,
	       size_t klen);
/*
 * Sets @name in @obj to the bytes as a JSON string if they are UTF-8, else
 * sets "@name_hex" to their hex digits.
 */
int json_set_bytes(json_t *obj, const char *name, const void *p, size_t len);
/*
 * Sets "key": a number for u32/u64 keys, the text of address keys, the
 * bytes of bytes and str keys (or "key_hex", see json_set_bytes()).
 */
int json_set_key(json_t *obj, const struct tdb_schema *s, const void *key,
		 size_t klen);
/* Prints @doc (consumed) on one line (@compact) or indented. */
int json_print(const struct cli *c, json_t *doc, bool compact);
/* The table's info as a JSON object. */
json_t *json_table_info(const struct tdb_table_info *info);
/* "1000 (alice)" */
void print_owner(FILE *f, uint32_t uid, uint32_t gid);
void print_bytes(FILE *f, uint64_t n);
/* "LABEL 2026-11-23 20:38:12 UTC (recovery replays ... LSN N)" or none. */
void print_checkpoint(FILE *f, const char *label, uint64_t time,
		      uint64_t lsn);

/* cmd_record.c: a table as the record commands see it. */
struct cli_table {
	const char *name;
	struct tdb_table_info info;
	struct tdb_schema *schema;	/* its own, or tdb_schema_bare() */
};

/* Fetches @table's info and schema into @t.  An exit status. */
int cli_record_open(struct cli *c, const char *table, struct cli_table *t);
void cli_record_close(struct cli_table *t);
/* Whether the table has no schema (its values are opaque bytes). */
bool cli_table_bare(const struct cli_table *t);
/* Reports a bad key: libtdb's @reason, with the key type when bare. */
void cli_key_error(const struct cli *c, const struct cli_table *t,
		   const char *reason);
/* Says on stderr that the prefix @arg was taken as the normalised @key. */
void cli_key_normalised(const struct cli *c, const struct cli_table *t,
			const char *arg, const void *key, size_t klen);
/*
 * Prints a record of a table with a schema as tdb_record_format() writes
 * it (JSON with --json: indented, or on one line when @compact).  A value
 * that does not match the schema is reported.  An exit status.
 */
int cli_print_record(struct cli *c, const struct cli_table *t,
		     const void *key, size_t klen, const void *val,
		     size_t vlen, bool compact);

/* cmd_dump.c */
/*
 * Prints a record of a table without a schema: "KEY<TAB>VALUE", or KEY
 * alone for a set's member (an empty value); {"key", "value"} with --json,
 * on one line when @line.  An exit status.
 */
int cli_print_bare(struct cli *c, const struct cli_table *t, const void *key,
		   size_t klen, const void *val, size_t vlen, bool line);

/* cmd_*.c */
extern const struct cli_cmd cmd_tables, cmd_create, cmd_drop, cmd_info,
	cmd_put, cmd_get, cmd_del, cmd_dump, cmd_stats;
extern const struct cli_cmd cmd_load, cmd_lookup;

/*
 * cmd_load.c: the schema of @table (whose key type @info gives): its
 * stored schema parsed, or tdb_schema_bare() when it has none.  An exit
 * status; *@out is set on CLI_OK, to be freed with tdb_schema_free().
 */
int cli_load_schema(struct cli *c, const char *table,
		    const struct tdb_table_info *info, struct tdb_schema **out);

#endif /* TDB_CLI_H */
