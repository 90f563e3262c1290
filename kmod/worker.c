// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * worker.c - the worker kthreads, tdbd's worker.c in the kernel.  Each
 * serves many connections: it polls their rings while there is work,
 * spins TDB_SPIN_NS after the last work in case more comes, then sleeps
 * on its wait queue until a client kicks (its TX eventfd's callback, see
 * dev.c), the log makes progress it waits for, or, when output waits for
 * RX room, a millisecond passes.
 *
 * Sleeping follows tdb/proto.h: set owner_need_wakeup on every
 * connection, full barrier, look at every ring once more, and only then
 * sleep; once awake, clear the words again so that busy clients publish
 * frames without a system call.  A kick sets w->kicked before waking, and
 * the sleep's condition consumes it, so a kick between the last look and
 * the sleep is not lost.
 *
 * A connection is closed when its TX eventfd's last descriptor closes,
 * when its frames are malformed (core's conn.c), or at unload; a worker
 * never waits for one client.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "kmod.h"

/* How long an idle worker polls its rings before it sleeps. */
#define TDB_SPIN_NS (30ULL * 1000)
/* How often a sleeping worker looks at rings whose RX side was full. */
#define TDB_POLL_MS 1
/* How long an unloading worker lets batches already begun finish. */
#define TDB_DRAIN_NS (200ULL * 1000000)

struct tdb_worker {
	unsigned int id;
	struct task_struct *task;
	wait_queue_head_t wq;
	atomic_t kicked;
	spinlock_t lock;		/* protects incoming */
	struct list_head incoming;
	struct list_head conns;		/* owned by the kthread */
	/* Asleep with responses held for the log up to here; 0: none. */
	u64 log_wait;
};

static struct tdb_worker *workers;
static unsigned int nworkers;
static atomic_t next_worker;
/* Lets the log thread look at workers while they start and stop. */
static DEFINE_MUTEX(workers_lock);

void tdb_worker_kick(struct tdb_worker *w)
{
	if (!atomic_xchg(&w->kicked, 1))
		wake_up(&w->wq);
}

struct tdb_worker *tdb_workers_pick(void)
{
	return &workers[(unsigned int)atomic_inc_return(&next_worker) %
			nworkers];
}

void tdb_workers_add(struct kconn *kc)
{
	struct tdb_worker *w = kc->w;

	spin_lock(&w->lock);
	list_add_tail(&kc->node, &w->incoming);
	spin_unlock(&w->lock);
	tdb_worker_kick(w);
}

static void worker_take(struct tdb_worker *w)
{
	spin_lock(&w->lock);
	list_splice_tail_init(&w->incoming, &w->conns);
	spin_unlock(&w->lock);
}

static void worker_close(struct kconn *kc, u32 gone)
{
	list_del(&kc->node);
	kconn_destroy(kc, gone);
}

/* Services every connection once; returns whether any had work. */
static bool worker_service(struct tdb_worker *w)
{
	struct kconn *kc, *next;
	bool work = false;

	list_for_each_entry_safe(kc, next, &w->conns, node) {
		int ret;

		if (READ_ONCE(kc->hup)) {
			if (tdb_conn_in_busy(&kc->tc))
				tdb_conn_log(&kc->tc, PORT_LOG_INFO,
					     "client went away in the middle of a batch (%zu bytes received); closed",
					     kc->tc.in.len);
			else
				tdb_conn_log(&kc->tc, PORT_LOG_DEBUG,
					     "closed by the client");
			worker_close(kc, 0);
			continue;
		}
		ret = tdb_conn_service(&kc->tc);
		if (ret == TDB_CONN_CLOSE)
			worker_close(kc, TDB_GONE_CLOSED);
		else if (ret == TDB_CONN_WORK)
			work = true;
		cond_resched();
	}
	return work;
}

static void worker_need_wakeup(struct tdb_worker *w, bool on)
{
	struct kconn *kc;

	list_for_each_entry(kc, &w->conns, node)
		tdb_conn_need_wakeup(&kc->tc, on);
}

static bool worker_out_pending(const struct tdb_worker *w)
{
	const struct kconn *kc;

	list_for_each_entry(kc, &w->conns, node)
		if (tdb_conn_out_blocked(&kc->tc) || kc->tc.in_ready)
			return true;
	return false;
}

/* The lowest log position a held response waits for, or 0. */
static u64 worker_hold_lsn(const struct tdb_worker *w)
{
	const struct kconn *kc;
	u64 min = 0, lsn;

	list_for_each_entry(kc, &w->conns, node) {
		lsn = tdb_conn_hold_lsn(&kc->tc);
		if (lsn && (!min || lsn < min))
			min = lsn;
	}
	return min;
}

/*
 * At unload: runs batches already begun, and sends answers held for the
 * log, for a little while; then tells every client the owner is gone.
 */
static void worker_drain(struct tdb_worker *w)
{
	u64 end = ktime_get_ns() + TDB_DRAIN_NS;
	struct kconn *kc, *next;
	bool begun;

	worker_take(w);
	worker_need_wakeup(w, false);
	do {
		worker_service(w);
		begun = false;
		list_for_each_entry(kc, &w->conns, node)
			if (tdb_conn_in_busy(&kc->tc) ||
			    tdb_conn_tx_pending(&kc->tc) ||
			    tdb_conn_hold_lsn(&kc->tc))
				begun = true;
		/*
		 * Uninterruptible: kthread_stop() left a signal pending,
		 * which would make an interruptible sleep return at once.
		 */
		if (begun)
			schedule_timeout_uninterruptible(1);
	} while (begun && ktime_get_ns() < end);
	list_for_each_entry_safe(kc, next, &w->conns, node)
		worker_close(kc, TDB_GONE_SHUTDOWN);
}

static int worker_main(void *arg)
{
	struct tdb_worker *w = arg;
	u64 last_work = ktime_get_ns();
	long timeout;

	while (!kthread_should_stop()) {
		worker_take(w);
		if (worker_service(w)) {
			last_work = ktime_get_ns();
			continue;
		}
		if (ktime_get_ns() - last_work < TDB_SPIN_NS) {
			cpu_relax();
			continue;
		}

		/* Going to sleep: tell the clients, then look once more. */
		worker_need_wakeup(w, true);
		WRITE_ONCE(w->log_wait, worker_hold_lsn(w));
		smp_mb();
		if (worker_service(w)) {
			worker_need_wakeup(w, false);
			WRITE_ONCE(w->log_wait, 0);
			last_work = ktime_get_ns();
			continue;
		}
		timeout = worker_out_pending(w) ? msecs_to_jiffies(TDB_POLL_MS) :
						  MAX_SCHEDULE_TIMEOUT;
		wait_event_interruptible_timeout(w->wq,
						 atomic_xchg(&w->kicked, 0) ||
							 kthread_should_stop(),
						 timeout);
		worker_need_wakeup(w, false);
		WRITE_ONCE(w->log_wait, 0);
		last_work = ktime_get_ns();
	}
	worker_drain(w);
	return 0;
}

int tdb_workers_start(unsigned int n)
{
	unsigned int i;

	workers = kcalloc(n, sizeof(*workers), GFP_KERNEL);
	if (!workers)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct tdb_worker *w = &workers[i];

		w->id = i;
		init_waitqueue_head(&w->wq);
		spin_lock_init(&w->lock);
		INIT_LIST_HEAD(&w->incoming);
		INIT_LIST_HEAD(&w->conns);
		w->task = kthread_run(worker_main, w, "tdb-worker/%u", i);
		if (IS_ERR(w->task)) {
			int err = PTR_ERR(w->task);

			pr_err("cannot start worker %u: %d\n", i, err);
			w->task = NULL;
			tdb_workers_stop();
			return err;
		}
		mutex_lock(&workers_lock);
		nworkers = i + 1;
		mutex_unlock(&workers_lock);
	}
	return 0;
}

void tdb_workers_log_progress(u64 durable, int err)
{
	unsigned int i;

	smp_mb();
	mutex_lock(&workers_lock);
	for (i = 0; i < nworkers; i++) {
		u64 lsn = READ_ONCE(workers[i].log_wait);

		if (lsn && (lsn <= durable || err))
			tdb_worker_kick(&workers[i]);
	}
	mutex_unlock(&workers_lock);
}

void tdb_workers_stop(void)
{
	unsigned int i;

	/*
	 * One at a time, each left in the array until it is gone: held
	 * answers a draining worker sends need the log thread's kicks.
	 */
	for (i = 0; i < nworkers; i++)
		kthread_stop(workers[i].task);
	mutex_lock(&workers_lock);
	nworkers = 0;
	kfree(workers);
	workers = NULL;
	mutex_unlock(&workers_lock);
}
