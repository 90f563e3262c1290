/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * replay.h - applying the log to the tables at start-up: the step of
 * recovery (journal.c) after the checkpoint is loaded.
 */
#ifndef TDB_CORE_REPLAY_H
#define TDB_CORE_REPLAY_H

#include "port.h"
#include "table.h"
#include "wal.h"

struct tdb_replay_counts {
	u64 applied;		/* records applied */
	u64 orphans;		/* skipped: their table does not exist */
};

/*
 * Replays the log in @dir from @from into @db, which has no log open yet
 * (tdb_wal_replay()'s @flags and @rep), and counts in @n what it did.
 * @host names the owner in the message about a record type it does not
 * know ("tdbd").  0 or -errno; a failing record is logged with its LSN.
 */
int tdb_replay_log(struct tdb_db *db, const char *dir, u64 from,
		   unsigned int flags, const char *host,
		   struct tdb_wal_report *rep, struct tdb_replay_counts *n);

#endif /* TDB_CORE_REPLAY_H */
