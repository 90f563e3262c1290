// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cmd_stats.c - stats: the owner's statistics.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

static int run_stats(struct cli *c, char **args)
{
	struct tdb_stats st;
	int err;

	err = tdb_stats(c->db, &st);
	if (err) {
		cli_error(c, "cannot read statistics: %s", tdb_strerror(err));
		return CLI_FAIL;
	}
	if (c->json)
		return json_print(c, json_pack("{s:I, s:I, s:I, s:I}",
					       "tables", (json_int_t)st.tables,
					       "connections",
					       (json_int_t)st.connections,
					       "requests",
					       (json_int_t)st.requests,
					       "mem_bytes",
					       (json_int_t)st.mem_bytes),
				  false);
	printf("tables:       %" PRIu32 "\n", st.tables);
	printf("connections:  %" PRIu32 "\n", st.connections);
	printf("requests:     %" PRIu64 "\n", st.requests);
	printf("memory:       ");
	print_bytes(stdout, st.mem_bytes);
	putchar('\n');
	return CLI_OK;
}

const struct cli_cmd cmd_stats = {
	.name = "stats",
	.args = "",
	.nargs = 0,
	.run = run_stats,
	.help = "Shows the owner's statistics: tables, open connections,\n"
		"requests served since it started, and memory held by tables\n"
		"and connections.  With --json: one object with the members\n"
		"tables, connections, requests and mem_bytes.\n",
};
