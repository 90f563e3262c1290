/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * kmod.h - tdb.ko's private declarations: the owner, the parameters, the
 * device, connections and the worker kthreads.
 *
 * Threads.  Connections are made in the ioctl of the process that
 * connects (dev.c) and handed to a worker kthread, round-robin; the worker
 * owns them from then on: it services their rings and is the only one to
 * close them, so a connection needs no lock.  Other contexts only set
 * flags and wake the worker: the TX eventfd's wait-queue callback (a
 * client's kick, or its last descriptor closing) and module unload.
 */
#ifndef TDB_KMOD_H
#define TDB_KMOD_H

#include <linux/list.h>
#include <linux/poll.h>
#include <linux/wait.h>

#include "conn.h"

/* The module's parameters (main.c). */
extern char *tdb_data_dir;
extern unsigned int tdb_frame_size;
extern unsigned int tdb_frame_count;
extern unsigned int tdb_max_conns;
extern unsigned int tdb_conn_mem_mib;
extern unsigned int tdb_nr_workers;

extern struct tdb_owner tdb_owner;

struct tdb_worker;

/* One client connection (dev.c). */
struct kconn {
	struct tdb_conn tc;
	void *region;			/* vmap of the client's pinned pages */
	size_t region_size;
	struct page **pages;
	unsigned long npages;
	struct eventfd_ctx *tx;		/* the client writes: wakes us */
	struct eventfd_ctx *rx;		/* we write: wakes the client */
	wait_queue_entry_t tx_wait;	/* on tx's wait queue */
	wait_queue_head_t *tx_wqh;
	poll_table tx_pt;
	bool hup;			/* tx's last descriptor closed */
	bool uid_counted;		/* in max_conns' count for uid */
	u32 uid;
	struct tdb_worker *w;
	struct list_head node;		/* in the worker's list */
};

/* dev.c */
int tdb_dev_init(void);
/* Refuses new connections; the device goes away with it. */
void tdb_dev_fini(void);
/*
 * Ends @kc: tells the client why unless @gone is 0 (it hung up): @gone
 * (TDB_GONE_*) in owner_gone, then the RX eventfd; unhooks from its
 * eventfds, unpins its region and frees it.  Worker context.
 */
void kconn_destroy(struct kconn *kc, u32 gone);
/* The module's wake of the client (conn.h's wake_client). */
void kconn_wake_client(struct tdb_conn *tc);

/* main.c: the journal's side of conn.h's tdb_conn_ops. */
void tdb_kmod_log_want(u64 lsn);
void tdb_kmod_log_appended(void);
/* Writes a checkpoint now; 0 with its LSN in *@lsn, or -errno. */
int tdb_kmod_checkpoint(u64 *lsn);

/* genl.c: the "tdb" generic netlink family. */
int tdb_genl_init(void);
void tdb_genl_fini(void);

/* worker.c */
int tdb_workers_start(unsigned int n);
/* The worker the next connection goes to (round-robin). */
struct tdb_worker *tdb_workers_pick(void);
/* Gives @kc to kc->w, which owns it from then on. */
void tdb_workers_add(struct kconn *kc);
/* A connection of @w has something new (a kick or a hangup). */
void tdb_worker_kick(struct tdb_worker *w);
/*
 * Finishes batches already begun (for a little while), tells every
 * client the owner is gone, closes all and stops the kthreads.
 */
void tdb_workers_stop(void);
/* The log made progress (or failed): wakes workers that wait on it. */
void tdb_workers_log_progress(u64 durable, int err);

#endif /* TDB_KMOD_H */
