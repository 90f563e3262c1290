// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * journal.c - tdbd's side of core/journal.c, which does recovery, the log
 * thread and the checkpoint thread for both hosts: tdbd's options, its
 * one journal, and the log's progress routed to the workers.
 */
#include "tdbd.h"
#include "journal.h"

static struct tdb_journal *journal;

static void journal_progress(void *arg, u64 durable, int err)
{
	workers_log_progress(durable, err);
}

int journal_recover(const struct tdbd_opts *o)
{
	const struct tdb_journal_opts jo = {
		.dir = o->data_dir,
		.flush_ms = o->flush_ms,
		.ckpt_secs = o->ckpt_secs,
		.ckpt_log = o->ckpt_log,
		.segment_size = o->segment_size,
		.accept_loss = o->accept_loss,
		.host = "tdbd",
		.loss_flag = "--accept-loss",
		.log_progress = journal_progress,
	};

	return tdb_journal_recover(&owner, &jo, &journal) ? -1 : 0;
}

int journal_start(void)
{
	return tdb_journal_start(journal);
}

void journal_stop(void)
{
	if (!journal)
		return;
	tdb_journal_stop(journal);
	journal = NULL;
}

void journal_set_intervals(const struct tdbd_opts *o)
{
	tdb_journal_set_intervals(journal, o->flush_ms, o->ckpt_secs,
				  o->ckpt_log);
}

void journal_want(u64 lsn)
{
	tdb_journal_want(journal, lsn);
}

void journal_appended(void)
{
	tdb_journal_appended(journal);
}
