// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * main.c - tdbcli: global options, the command table, per-command option
 * parsing, help, and the helpers every command shares for connecting and
 * reporting errors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cli_cmd *const commands[] = {
	&cmd_tables, &cmd_create, &cmd_drop, &cmd_info, &cmd_put,
	&cmd_get,    &cmd_del,    &cmd_dump, &cmd_stats,
	&cmd_load,   &cmd_lookup,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char usage_text[] =
	"Usage: tdbcli [--socket PATH] [--json] COMMAND [ARGS...]\n"
	"\n"
	"A command-line client of tdb, the shared-memory database.\n"
	"\n"
	"Commands:\n"
	"  tables                  list the tables you may see\n"
	"  create TABLE [OPTIONS]  create a table ('tdbcli create --help')\n"
	"  drop TABLE              drop a table with all its records\n"
	"  info TABLE              show a table's records, memory, quota,\n"
	"                          durability, key type, owner and mode\n"
	"  put TABLE KEY [VALUE | FIELD=VALUE...]\n"
	"                          store a record under KEY: its fields when\n"
	"                          the table has a schema, else VALUE's bytes\n"
	"  get TABLE KEY           print the record stored under KEY\n"
	"  del TABLE KEY           delete KEY\n"
	"  dump TABLE              print every record, a line each\n"
	"  stats                   show the owner's statistics\n"
	"  load TABLE FILE         bulk-load CSV, JSON Lines or 'ipset save'\n"
	"                          output ('tdbcli load --help')\n"
	"  lookup TABLE ADDRESS    the longest prefix containing ADDRESS\n"
	"\n"
	"Global options (also accepted after the command):\n"
	"  --socket PATH  the owner: tdbd's socket or tdb.ko's device;\n"
	"                 default: $TDB_SOCKET, else " TDB_DEVICE " when\n"
	"                 tdb.ko is loaded, else " TDB_DEFAULT_SOCKET "\n"
	"  --json         print JSON: one document (one object a line for\n"
	"                 dump); byte strings that are not UTF-8 appear as\n"
	"                 \"NAME_hex\" with their hex digits\n"
	"  -h, --help     this text; 'tdbcli COMMAND --help' for one command\n"
	"  --             ends the options (for keys that start with '-')\n"
	"\n"
	"Keys are written as the table's key type says: bytes and str as\n"
	"they are; u32 and u64 as decimal numbers; ipv4 and ipv6 as\n"
	"addresses; cidr4 and cidr6 as ADDRESS/LEN (an address alone is a\n"
	"full-length prefix, and bits past LEN are cleared, with a note);\n"
	"mac as aa:bb:cc:dd:ee:ff; a schema's composite key as its parts\n"
	"joined by commas (tcp,10.0.0.1,40000,10.0.0.2,80).  A table made\n"
	"with --schema FILE (schema/README.md) takes and shows its values\n"
	"as typed fields.  Keys are 1 to 1024 bytes, values up to 1 MiB.\n"
	"\n"
	"Exit status: 0 on success, 1 when the table or key does not exist,\n"
	"2 for usage errors and every other failure.\n";

void cli_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (c && c->cmd)
		fprintf(stderr, "tdbcli: %s: ", c->cmd);
	else
		fputs("tdbcli: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_connect(struct cli *c)
{
	const char *path = tdb_owner_path(c->socket);
	const char *who = strcmp(path, TDB_DEVICE) ? "tdbd" : "tdb.ko";
	int err;

	err = tdb_connect(path, &c->db);
	if (err) {
		if (err == -ENOENT || err == -ECONNREFUSED)
			cli_error(c, "cannot connect to %s at '%s': no owner listens there (%s)",
				  who, path, strerror(-err));
		else
			cli_error(c, "cannot connect to %s at '%s': %s", who,
				  path, tdb_strerror(err));
		return CLI_FAIL;
	}
	return CLI_OK;
}

int cli_table_error(const struct cli *c, const char *table, int err)
{
	switch (err) {
	case -ENOENT:
		cli_error(c, "table '%s' does not exist", table);
		return CLI_MISSING;
	case -EACCES:
	case -EPERM:
		cli_error(c, "permission denied on table '%s'", table);
		return CLI_FAIL;
	case -EINVAL:
		cli_error(c, "invalid table name '%s'", table);
		return CLI_FAIL;
	default:
		cli_error(c, "table '%s': %s", table, tdb_strerror(err));
		return CLI_FAIL;
	}
}

int cli_table_info(struct cli *c, const char *table,
		   struct tdb_table_info *info)
{
	int err = tdb_info(c->db, table, info);

	return err ? cli_table_error(c, table, err) : CLI_OK;
}

static void command_help(const struct cli_cmd *cmd)
{
	printf("Usage: tdbcli [--socket PATH] [--json] %s%s%s\n\n%s", cmd->name,
	       *cmd->args ? " " : "", cmd->args, cmd->help);
	printf("\nCommon options:\n"
	       "  --socket PATH  the owner (default: $TDB_SOCKET, else\n"
	       "                 " TDB_DEVICE " or " TDB_DEFAULT_SOCKET ")\n"
	       "  --json         print JSON\n"
	       "  -h, --help     this text\n");
}

/*
 * Takes "--name VALUE" or "--name=VALUE" at argv[*i]: 1 with *@val set if
 * argv[*i] is option @name, 0 if it is not, -1 if its value is missing.
 */
static int take_opt(int argc, char **argv, int *i, const char *name,
		    const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/*
 * Parses a command's arguments: its options (and the global ones) anywhere,
 * then exactly cmd->nargs positional arguments (at least, for a command
 * with cmd->more) into @pos, which has room for all of @argv and is left
 * NULL-terminated.  Returns -1 to go on, or an exit status.
 */
static int parse_command(struct cli *c, const struct cli_cmd *cmd, int argc,
			 char **argv, char **pos)
{
	int npos = 0;
	bool opts_done = false;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int r;

		if (opts_done || a[0] != '-' || !a[1]) {
			if (npos == cmd->nargs && !cmd->more) {
				cli_error(c, "unexpected argument '%s' (usage: tdbcli %s %s)",
					  a, cmd->name, cmd->args);
				return CLI_FAIL;
			}
			pos[npos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			command_help(cmd);
			return CLI_OK;
		}
		if (!strcmp(a, "--json")) {
			c->json = true;
			continue;
		}
		r = take_opt(argc, argv, &i, "--socket", &c->socket);
		for (const struct cli_opt *o = cmd->opts; !r && o && o->name; o++)
			r = take_opt(argc, argv, &i, o->name, o->value);
		for (const struct cli_flag *f = cmd->flags; !r && f && f->name;
		     f++)
			if (!strcmp(a, f->name)) {
				*f->set = true;
				r = 1;
			}
		if (r < 0) {
			cli_error(c, "option '%s' needs a value", a);
			return CLI_FAIL;
		}
		if (!r) {
			cli_error(c, "unknown option '%s' (see 'tdbcli %s --help')",
				  a, cmd->name);
			return CLI_FAIL;
		}
	}
	if (npos < cmd->nargs) {
		cli_error(c, "missing arguments (usage: tdbcli %s %s)", cmd->name,
			  cmd->args);
		return CLI_FAIL;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	const struct cli_cmd *cmd = NULL;
	char **pos;
	int i, r;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-')
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return CLI_OK;
		}
		if (!strcmp(a, "--json")) {
			c.json = true;
			continue;
		}
		r = take_opt(argc, argv, &i, "--socket", &c.socket);
		if (r < 0) {
			cli_error(NULL, "option '%s' needs a value", a);
			return CLI_FAIL;
		}
		if (!r) {
			cli_error(NULL, "unknown option '%s' (see 'tdbcli --help')",
				  a);
			return CLI_FAIL;
		}
	}
	if (i == argc) {
		cli_error(NULL, "no command given (see 'tdbcli --help')");
		return CLI_FAIL;
	}
	for (size_t k = 0; k < NCOMMANDS; k++)
		if (!strcmp(argv[i], commands[k]->name))
			cmd = commands[k];
	if (!cmd) {
		cli_error(NULL, "unknown command '%s' (see 'tdbcli --help')",
			  argv[i]);
		return CLI_FAIL;
	}
	c.cmd = cmd->name;
	pos = calloc((size_t)(argc - i), sizeof(*pos));
	if (!pos) {
		cli_error(&c, "out of memory");
		return CLI_FAIL;
	}
	r = parse_command(&c, cmd, argc - i - 1, argv + i + 1, pos);
	if (r >= 0)
		goto free_pos;

	r = cli_connect(&c);
	if (r == CLI_OK)
		r = cmd->run(&c, pos);
	tdb_close(c.db);
	if (fflush(stdout) || ferror(stdout)) {
		cli_error(&c, "write error on standard output: %s",
			  strerror(errno));
		r = CLI_FAIL;
	}
free_pos:
	free(pos);
	return r;
}
