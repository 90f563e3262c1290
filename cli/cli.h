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

struct cli_cmd {
	const char *name;
	const char *args;	/* "TABLE KEY" for usage lines */
	int nargs;		/* positional arguments, exactly */
	const struct cli_opt *opts;	/* NULL-terminated, or NULL */
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
/* enum tdb_key_type / tdb_durability from a name, or -1. */
int key_type_parse(const char *s);
int durability_parse(const char *s);
const char *key_type_name(uint32_t t);
const char *durability_name(uint32_t d);
/*
 * Encodes the command-line @arg as a key of type @type into @buf (at least
 * 8 bytes, or strlen(arg) for bytes and str): 0 with *@len set, or -EINVAL
 * (not a decimal number in range, or empty).  *@why says what was wrong.
 */
int key_encode(uint32_t type, const char *arg, void *buf, size_t cap,
	       size_t *len, const char **why);

/* print.c */
/* Writes @len bytes to @f with non-printable bytes as \xHH, '\' as \\. */
void print_escaped(FILE *f, const void *p, size_t len);
/* Writes a key decoded per @type (a number for u32/u64 of the right size). */
void print_key(FILE *f, uint32_t type, const void *key, size_t klen);
/*
 * Sets @name in @obj to the bytes as a JSON string if they are UTF-8, else
 * sets "@name_hex" to their hex digits.
 */
int json_set_bytes(json_t *obj, const char *name, const void *p, size_t len);
/* Sets "key" (a number for u32/u64 keys) or "key_hex". */
int json_set_key(json_t *obj, uint32_t type, const void *key, size_t klen);
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

/* cmd_*.c */
extern const struct cli_cmd cmd_tables, cmd_create, cmd_drop, cmd_info,
	cmd_put, cmd_get, cmd_del, cmd_dump, cmd_stats;

#endif /* TDB_CLI_H */
