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
		return json_print(c, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
					       "tables", (json_int_t)st.tables,
					       "connections",
					       (json_int_t)st.connections,
					       "requests",
					       (json_int_t)st.requests,
					       "mem_bytes",
					       (json_int_t)st.mem_bytes,
					       "log_bytes",
					       (json_int_t)st.log_bytes,
					       "log_durable_lsn",
					       (json_int_t)st.log_durable_lsn,
					       "log_syncs",
					       (json_int_t)st.log_syncs,
					       "log_writes",
					       (json_int_t)st.log_writes,
					       "log_sync_rate",
					       (json_int_t)st.log_sync_rate,
					       "log_write_rate",
					       (json_int_t)st.log_write_rate,
					       "log_error",
					       (json_int_t)st.log_error,
					       "checkpoint_time",
					       (json_int_t)st.checkpoint_time,
					       "checkpoint_lsn",
					       (json_int_t)st.checkpoint_lsn),
				  false);
	printf("tables:       %" PRIu32 "\n", st.tables);
	printf("connections:  %" PRIu32 "\n", st.connections);
	printf("requests:     %" PRIu64 "\n", st.requests);
	printf("memory:       ");
	print_bytes(stdout, st.mem_bytes);
	printf("\nlog:          ");
	print_bytes(stdout, st.log_bytes);
	printf(" on disk, durable up to LSN %" PRIu64 "\n", st.log_durable_lsn);
	printf("log syncs:    %" PRIu32 "/s, %.1f writes per sync (last second); %" PRIu64 " syncs of %" PRIu64 " writes since start\n",
	       st.log_sync_rate,
	       st.log_sync_rate ? (double)st.log_write_rate / st.log_sync_rate :
				  0.0,
	       st.log_syncs, st.log_writes);
	if (st.log_error)
		printf("log error:    %s: writes fail until the disk takes the log again\n",
		       tdb_strerror(st.log_error));
	print_checkpoint(stdout, "checkpoint:   ", st.checkpoint_time,
			 st.checkpoint_lsn);
	return CLI_OK;
}

const struct cli_cmd cmd_stats = {
	.name = "stats",
	.args = "",
	.nargs = 0,
	.run = run_stats,
	.help = "Shows the owner's statistics: tables, open connections,\n"
		"requests served since it started, memory held by tables and\n"
		"connections, the write-ahead log (bytes on disk, durable\n"
		"position, fdatasyncs per second and writes per sync over the\n"
		"last second, totals, its error if any) and the last\n"
		"checkpoint.  With --json: one object with the members tables,\n"
		"connections, requests, mem_bytes, log_bytes, log_durable_lsn,\n"
		"log_syncs, log_writes, log_sync_rate, log_write_rate,\n"
		"log_error (0 or -errno), checkpoint_time and checkpoint_lsn.\n",
};
