// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * main.c - tdb.ko: the kernel host of the engine in core/.  This first
 * step holds the owner (struct tdb_owner) for the module's lifetime; the
 * device, the workers and the log come next (issue 6).
 *
 * Parameters (read-only once loaded):
 *   data_dir   absolute path of the data directory (default /var/lib/tdb,
 *              as tdbd's): kthreads resolve paths from "/", so a relative
 *              one would not mean what the loader meant.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>

#include "exec.h"
#include "pool.h"

static char *data_dir = "/var/lib/tdb";
module_param(data_dir, charp, 0444);
MODULE_PARM_DESC(data_dir, "absolute path of the data directory");

static struct tdb_owner tdb_owner;

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

	if (!data_dir || data_dir[0] != '/') {
		pr_err("data_dir must be an absolute path\n");
		return -EINVAL;
	}
	err = tdb_port_selftest();
	if (err)
		return err;
	err = tdb_pcache_init();
	if (err)
		return err;
	err = tdb_owner_init(&tdb_owner);
	if (err)
		goto pcache_fini;
	pr_info("loaded, data directory %s\n", data_dir);
	return 0;

pcache_fini:
	tdb_pcache_fini();
	return err;
}

static void __exit tdb_exit(void)
{
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
