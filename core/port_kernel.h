/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * port_kernel.h - the kernel host of the engine (tdb.ko): the kernel's own
 * RCU, locks, atomics, page allocator, kvmalloc, crc32c() (libcrc32c),
 * hsiphash() and printk.  The pieces that do not fit in a header (files,
 * logging, attribute parsing, randomness) are in kmod/port_kernel.c.
 *
 * See port.h for the contract.  Only port.h may include this file.  Where
 * the kernel makes a primitive behave differently from port_user.c, the
 * comment next to it says so.
 */
#ifndef TDB_CORE_PORT_KERNEL_H
#define TDB_CORE_PORT_KERNEL_H

#include <linux/types.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/compiler.h>
#include <linux/string.h>
#include <linux/prefetch.h>
#include <linux/atomic.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/crc32c.h>
#include <linux/siphash.h>
#include <linux/timekeeping.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/wait.h>
#include <net/netlink.h>

/*
 * Checkpoints store the hash key and user space computes the same hash
 * (port_user.c): hsiphash() is SipHash-1-3 with two 64-bit key words only
 * where longs have 64 bits (32-bit kernels use HalfSipHash).
 */
#if BITS_PER_LONG != 64
#error "tdb.ko needs a 64-bit kernel: hsiphash() must be SipHash-1-3"
#endif

/* 16 KiB stacks, and Kbuild warns about frames over 2 KiB. */
#define PORT_SMALL_STACK 1

/* Atomics: the kernel's atomic_long_t, with the same orderings. */
typedef atomic_long_t port_atomic_t;

static inline long port_atomic_read(const port_atomic_t *a)
{
	return atomic_long_read(a);
}

static inline void port_atomic_set(port_atomic_t *a, long v)
{
	atomic_long_set(a, v);
}

/* Fully ordered, as __ATOMIC_SEQ_CST in port_user.h. */
static inline long port_atomic_add_return(port_atomic_t *a, long d)
{
	return atomic_long_add_return(d, a);
}

/* Unordered (relaxed), as in port_user.h. */
static inline void port_atomic_add(port_atomic_t *a, long d)
{
	atomic_long_add(d, a);
}

static inline void port_atomic_sub(port_atomic_t *a, long d)
{
	atomic_long_sub(d, a);
}

static inline void port_atomic_inc(port_atomic_t *a)
{
	atomic_long_inc(a);
}

static inline long port_atomic_dec_return(port_atomic_t *a)
{
	return atomic_long_dec_return(a);
}

static inline long port_atomic_xchg(port_atomic_t *a, long v)
{
	return atomic_long_xchg(a, v);
}

static inline long port_atomic_cmpxchg(port_atomic_t *a, long old, long v)
{
	return atomic_long_cmpxchg(a, old, v);
}

/*
 * No KASAN hooks: kasan_poison() is internal to the kernel.  Debian's
 * kernel has no KASAN anyway; SLUB debugging and kmemleak see the pages.
 */
#define port_poison(p, n) ((void)(p), (void)(n))
#define port_unpoison(p, n) ((void)(p), (void)(n))

/* RCU: the kernel's.  Kernel threads need not register with it. */
static inline void port_rcu_thread_online(void)
{
}

static inline void port_rcu_thread_offline(void)
{
}

/*
 * Locks.  call_rcu() callbacks run in softirq context and take the
 * engine's spinlocks, so every spinlock disables bottom halves.  The init
 * calls are macros so that lockdep gives each place in the engine that
 * initializes a lock a class of its own, as mutex_init() does.
 */
typedef spinlock_t port_spinlock_t;
typedef struct mutex port_mutex_t;

#define port_spin_init(l) spin_lock_init(l)
#define port_spin_lock(l) spin_lock_bh(l)
#define port_spin_unlock(l) spin_unlock_bh(l)
#define port_spin_destroy(l) ((void)(l))

#define port_mutex_init(m) mutex_init(m)
#define port_mutex_lock(m) mutex_lock(m)
#define port_mutex_lock_nested(m, subclass) mutex_lock_nested(m, subclass)
#define port_mutex_unlock(m) mutex_unlock(m)
#define port_mutex_destroy(m) mutex_destroy(m)

/* A chance to reschedule: cond_resched(), not a forced yield. */
static inline void port_yield(void)
{
	cond_resched();
}

static inline void port_cond_resched(void)
{
	cond_resched();
}

static inline unsigned int port_cpu_id(void)
{
	return raw_smp_processor_id();
}

/* One more than the highest possible CPU id: port_cpu_id() stays below. */
static inline unsigned int port_nr_cpus(void)
{
	return nr_cpu_ids;
}

/*
 * Pages from the buddy allocator, naturally aligned.  Orders from
 * MAX_ORDER up (4 MiB on x86-64) do not exist in the kernel: NULL, which
 * the engine reports as -ENOMEM (user space maps any order).  No warning
 * on failure: the engine reports it.  GFP_KERNEL: may sleep, so never
 * under a spinlock or in an RCU read-side section (the engine allocates
 * outside both).
 */
static inline void *port_pages_alloc(unsigned int order)
{
	if (order >= MAX_ORDER)
		return NULL;
	return (void *)__get_free_pages(GFP_KERNEL | __GFP_NOWARN, order);
}

static inline void port_pages_free(void *p, unsigned int order)
{
	if (p)
		free_pages((unsigned long)p, order);
}

/*
 * Large arrays: kvmalloc, kmalloc first and vmalloc past what it gives.
 * kvmalloc refuses more than INT_MAX bytes (NULL; calloc in user space
 * has no such limit).  May sleep; kvfree() may run in softirq context
 * (an RCU callback): vfree() defers the unmap there.
 */
static inline void *port_zalloc(size_t size)
{
	return kvzalloc(size, GFP_KERNEL | __GFP_NOWARN);
}

static inline void *port_alloc(size_t size)
{
	return kvmalloc(size, GFP_KERNEL | __GFP_NOWARN);
}

static inline void port_free(void *p, size_t size)
{
	kvfree(p);
}

/*
 * The same layout as hsiphash_key_t on 64-bit kernels (checked in
 * kmod/port_kernel.c), so port_hash() is hsiphash() itself: SipHash-1-3
 * with a 32-bit result, as port_user.c computes it.
 */
struct port_hash_key {
	u64 k[2];
};

void port_hash_key_init(struct port_hash_key *key);

static inline u32 port_hash(const void *data, size_t len,
			    const struct port_hash_key *key)
{
	return hsiphash(data, len, (const hsiphash_key_t *)key);
}

/*
 * Waits until the kernel's random pool is seeded (as getrandom(2) does),
 * then get_random_bytes().
 */
void port_random_bytes(void *buf, size_t len);

/* CLOCK_MONOTONIC, as clock_gettime() in port_user.c. */
static inline u64 port_time_ns(void)
{
	return ktime_get_ns();
}

static inline u64 port_real_seconds(void)
{
	return ktime_get_real_seconds();
}

/* usleep_range() below 20 ms, msleep() above: uninterruptible. */
static inline void port_fsleep(unsigned long usecs)
{
	fsleep(usecs);
}

/*
 * The errno's name ("ENOSPC") where port_user.c has strerror()'s text:
 * the kernel has no message table, and its errname() is not exported.
 */
const char *port_strerror(int err);

/*
 * Waiting: the kernel's wait queues.  Interruptible, so that a sleeping
 * kthread neither counts in the load average nor trips the hung-task
 * check; a kthread takes no signals, so only a user task (a generic
 * netlink request) sees -EINTR.  port_thread_join() lets a thread finish
 * before kthread_stop() can raise its signal flag.
 */
typedef wait_queue_head_t port_waitq_t;

#define port_waitq_init(wq) init_waitqueue_head(wq)
#define port_waitq_destroy(wq) ((void)(wq))
#define port_wake_up(wq) wake_up_all(wq)

#define port_wait_event_timeout(wq, cond, timeout_ms)                       \
	({                                                                  \
		long __pret = wait_event_interruptible_timeout(             \
			*(wq), cond, msecs_to_jiffies(timeout_ms));         \
									    \
		__pret > 0 ? 1 : __pret ? -EINTR : 0;                       \
	})

/*
 * printk, prefixed "tdb: ", at the level given (PORT_LOG_DEBUG is
 * pr_debug(): off unless dynamic debug turns it on).  printk's %p prints
 * hashed addresses.
 */
void port_log(int level, const char *fmt, ...) __printf(2, 3);

/*
 * CRC-32C through libcrc32c (crc32c-intel when the CPU has SSE4.2): no
 * inversions, as port_user.c.  crc32c() takes an unsigned int length.
 */
static inline u32 port_crc32c(u32 crc, const void *buf, size_t len)
{
	const u8 *p = buf;

	while (unlikely(len > (1U << 30))) {
		crc = crc32c(crc, p, 1U << 30);
		p += 1U << 30;
		len -= 1U << 30;
	}
	return crc32c(crc, p, (unsigned int)len);
}

/*
 * Netlink attributes: nla_type() nla_len() nla_data() nla_ok() nla_next()
 * nla_for_each_attr() come from <net/netlink.h>, NLMSG_* and NLA_* from
 * its UAPI header.
 */

#endif /* TDB_CORE_PORT_KERNEL_H */
