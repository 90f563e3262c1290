// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * main.c - tdb.ko: the kernel host of the engine in core/.  It holds the
 * owner (struct tdb_owner) for the module's lifetime, recovers its tables
 * at load, serves clients through /dev/tdb (dev.c) with worker kthreads
 * (worker.c), and at unload tells connected clients it is gone and
 * writes a last checkpoint.
 *
 * Parameters (read-only once loaded; tdbd's flags of the same meaning):
 *   data_dir     absolute path of the data directory (default
 *                /var/lib/tdb, as tdbd's): kthreads resolve paths from
 *                "/", so a relative one would not mean what the loader
 *                meant.
 *   frame_size   ring frame bytes, a multiple of 4096 (default 16 KiB)
 *   frame_count  frames per ring (default 64)
 *   max_conns    connections one non-root uid may hold (default 256;
 *                0: no limit)
 *   workers      worker kthreads (default: one per online CPU)
 *   conn_mem_mib what all connections together may pin and hold (their
 *                regions and buffers); past it connecting fails with
 *                -ENOMEM, and a connection whose buffers would need more
 *                is closed (default: a quarter of RAM, at least 64 MiB:
 *                pinned pages cannot be swapped or reclaimed)
 *   flush_ms, ckpt_secs, ckpt_log_mib, accept_loss
 *                tdbd's --flush-interval, --checkpoint-interval,
 *                --checkpoint-log (in MiB) and --accept-loss
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "kmod.h"
#include "journal.h"
#include "pool.h"

char *tdb_data_dir = "/var/lib/tdb";
module_param_named(data_dir, tdb_data_dir, charp, 0444);
MODULE_PARM_DESC(data_dir, "absolute path of the data directory");

unsigned int tdb_frame_size = 16U << 10;
module_param_named(frame_size, tdb_frame_size, uint, 0444);
MODULE_PARM_DESC(frame_size, "ring frame bytes (multiple of 4096)");

unsigned int tdb_frame_count = 64;
module_param_named(frame_count, tdb_frame_count, uint, 0444);
MODULE_PARM_DESC(frame_count, "frames per ring");

unsigned int tdb_conn_mem_mib;
module_param_named(conn_mem_mib, tdb_conn_mem_mib, uint, 0444);
MODULE_PARM_DESC(conn_mem_mib,
		 "MiB all connections may pin and hold (0: a quarter of RAM)");

unsigned int tdb_max_conns = 256;
module_param_named(max_conns, tdb_max_conns, uint, 0444);
MODULE_PARM_DESC(max_conns, "connections per non-root uid (0: no limit)");

static unsigned int tdb_flush_ms = 10;
module_param_named(flush_ms, tdb_flush_ms, uint, 0444);
MODULE_PARM_DESC(flush_ms, "async tables are on disk within this many ms");

static unsigned int tdb_ckpt_secs = 60;
module_param_named(ckpt_secs, tdb_ckpt_secs, uint, 0444);
MODULE_PARM_DESC(ckpt_secs, "seconds between checkpoints (0: none)");

static unsigned int tdb_ckpt_log_mib = 128;
module_param_named(ckpt_log_mib, tdb_ckpt_log_mib, uint, 0444);
MODULE_PARM_DESC(ckpt_log_mib,
		 "log MiB past a checkpoint that call for the next (0: none)");

static bool tdb_accept_loss;
module_param_named(accept_loss, tdb_accept_loss, bool, 0444);
MODULE_PARM_DESC(accept_loss,
		 "load past a corrupt checkpoint or log, losing what it held");

unsigned int tdb_nr_workers;
module_param_named(workers, tdb_nr_workers, uint, 0444);
MODULE_PARM_DESC(workers, "worker kthreads (0: one per online CPU)");

struct tdb_owner tdb_owner;

static struct tdb_journal *tdb_journal;

void tdb_kmod_log_want(u64 lsn)
{
	tdb_journal_want(tdb_journal, lsn);
}

void tdb_kmod_log_appended(void)
{
	tdb_journal_appended(tdb_journal);
}

int tdb_kmod_checkpoint(u64 *lsn)
{
	int err = tdb_journal_checkpoint(tdb_journal);

	*lsn = READ_ONCE(tdb_owner.log.ckpt_lsn);
	return err;
}

static void tdb_log_progress(void *arg, u64 durable, int err)
{
	tdb_workers_log_progress(durable, err);
}

/* Recovers the tables and starts the log; 0 or -errno (logged). */
static int __init tdb_journal_init(void)
{
	const struct tdb_journal_opts opts = {
		.dir = tdb_data_dir,
		.flush_ms = tdb_flush_ms,
		.ckpt_secs = tdb_ckpt_secs,
		.ckpt_log = (u64)tdb_ckpt_log_mib << 20,
		.accept_loss = tdb_accept_loss,
		.host = "tdb.ko",
		.loss_flag = "accept_loss=1",
		.log_progress = tdb_log_progress,
	};
	int err;

	err = tdb_journal_recover(&tdb_owner, &opts, &tdb_journal);
	if (err)
		return err;
	err = tdb_journal_start(tdb_journal);
	if (err) {
		tdb_journal_stop(tdb_journal);
		tdb_journal = NULL;
	}
	return err;
}

static int __init tdb_check_params(void)
{
	if (!tdb_data_dir || tdb_data_dir[0] != '/') {
		pr_err("data_dir must be an absolute path\n");
		return -EINVAL;
	}
	if (tdb_frame_size < TDB_FRAME_SIZE_MIN ||
	    tdb_frame_size > TDB_FRAME_SIZE_MAX ||
	    tdb_frame_size % PAGE_SIZE) {
		pr_err("frame_size must be a multiple of %lu in [%u, %u]\n",
		       PAGE_SIZE, TDB_FRAME_SIZE_MIN, TDB_FRAME_SIZE_MAX);
		return -EINVAL;
	}
	if (tdb_frame_count < TDB_FRAME_COUNT_MIN ||
	    tdb_frame_count > TDB_FRAME_COUNT_MAX) {
		pr_err("frame_count must be in [%u, %u]\n",
		       TDB_FRAME_COUNT_MIN, TDB_FRAME_COUNT_MAX);
		return -EINVAL;
	}
	/* The control page holds the rings' offsets as u32. */
	if (TDB_REGION_SIZE((u64)tdb_frame_size, tdb_frame_count) > SZ_1G) {
		pr_err("frame_size x frame_count must be at most 512 MiB\n");
		return -EINVAL;
	}
	if (!tdb_nr_workers)
		tdb_nr_workers = num_online_cpus();
	if (!tdb_conn_mem_mib)
		tdb_conn_mem_mib =
			max((totalram_pages() >> (20 - PAGE_SHIFT)) / 4, 64UL);
	return 0;
}

/*
 * The hosts must agree on the hash and the checksum: checkpoints store the
 * hash key, and a data directory written by tdbd is read by tdb.ko and
 * back.  The expected values are port_user.c's (SipHash-1-3 of bytes
 * 0..14 under the key 00..0f; the CRC-32C check value of "123456789").
 */
static int __init tdb_port_selftest(void)
{
	static const struct port_hash_key key = {
		{ 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL }
	};
	static const u8 msg[15] = { 0, 1, 2, 3, 4, 5, 6, 7,
				    8, 9, 10, 11, 12, 13, 14 };
	u32 h = port_hash(msg, sizeof(msg), &key);
	u32 c = ~port_crc32c(~0U, "123456789", 9);

	if (h != 0x2a519956U || c != 0xe3069283U) {
		pr_err("port self-test failed: hash %#x, crc32c %#x\n", h, c);
		return -ELIBBAD;
	}
	return 0;
}

static int __init tdb_init(void)
{
	int err;

	err = tdb_check_params();
	if (err)
		return err;
	err = tdb_port_selftest();
	if (err)
		return err;
	err = tdb_pcache_init();
	if (err)
		return err;
	err = tdb_owner_init(&tdb_owner);
	if (err)
		goto pcache_fini;
	tdb_owner.conn_bytes_max = (u64)tdb_conn_mem_mib << 20;
	err = tdb_journal_init();
	if (err)
		goto owner_fini;
	err = tdb_workers_start(tdb_nr_workers);
	if (err)
		goto journal_stop;
	/* Last: clients come once everything serves them. */
	err = tdb_genl_init();
	if (err)
		goto workers_stop;
	err = tdb_dev_init();
	if (err)
		goto genl_fini;
	pr_info("loaded, data directory %s, %u workers, connections up to %u MiB\n",
		tdb_data_dir, tdb_nr_workers, tdb_conn_mem_mib);
	return 0;

genl_fini:
	tdb_genl_fini();
workers_stop:
	tdb_workers_stop();
journal_stop:
	tdb_journal_stop(tdb_journal);
owner_fini:
	tdb_owner_fini(&tdb_owner);
	rcu_barrier();
pcache_fini:
	tdb_pcache_fini();
	return err;
}

static void __exit tdb_exit(void)
{
	tdb_dev_fini();
	tdb_genl_fini();
	tdb_workers_stop();
	/* The last checkpoint: the next insmod replays next to nothing. */
	tdb_journal_stop(tdb_journal);
	tdb_owner_fini(&tdb_owner);
	/* RCU callbacks run module code: none may be left when it goes. */
	rcu_barrier();
	tdb_pcache_fini();
	pr_info("unloaded\n");
}

module_init(tdb_init);
module_exit(tdb_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("tdb: shared-memory database owner");
