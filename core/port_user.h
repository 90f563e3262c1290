/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * port_user.h - the user-space host of the engine: libc, pthreads and
 * liburcu (the memb flavour: readers need no signals and no quiescent-state
 * calls, at the price of a membarrier() in synchronize_rcu()).
 *
 * See port.h for the contract.  Only port.h may include this file.
 */
#ifndef TDB_CORE_PORT_USER_H
#define TDB_CORE_PORT_USER_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Inline liburcu's read-side fast paths instead of calling into the .so. */
#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE
#endif

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <urcu.h>
#include <linux/netlink.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __maybe_unused __attribute__((unused))
#ifndef noinline
#define noinline __attribute__((__noinline__))
#endif
#define __printf(a, b) __attribute__((format(printf, a, b)))
#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define prefetch(p) __builtin_prefetch(p)
#define prefetchw(p) __builtin_prefetch(p, 1)

#ifndef PAGE_SHIFT
#define PAGE_SHIFT 12
#endif
#ifndef PAGE_SIZE
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#endif

#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

typedef struct {
	long v;
} port_atomic_t;

static inline long port_atomic_read(const port_atomic_t *a)
{
	return __atomic_load_n(&a->v, __ATOMIC_RELAXED);
}

static inline void port_atomic_set(port_atomic_t *a, long v)
{
	__atomic_store_n(&a->v, v, __ATOMIC_RELAXED);
}

static inline long port_atomic_add_return(port_atomic_t *a, long d)
{
	return __atomic_add_fetch(&a->v, d, __ATOMIC_SEQ_CST);
}

static inline void port_atomic_add(port_atomic_t *a, long d)
{
	__atomic_add_fetch(&a->v, d, __ATOMIC_RELAXED);
}

static inline void port_atomic_sub(port_atomic_t *a, long d)
{
	__atomic_sub_fetch(&a->v, d, __ATOMIC_RELAXED);
}

static inline void port_atomic_inc(port_atomic_t *a)
{
	port_atomic_add(a, 1);
}

static inline long port_atomic_dec_return(port_atomic_t *a)
{
	return __atomic_sub_fetch(&a->v, 1, __ATOMIC_SEQ_CST);
}

static inline long port_atomic_xchg(port_atomic_t *a, long v)
{
	return __atomic_exchange_n(&a->v, v, __ATOMIC_SEQ_CST);
}

static inline long port_atomic_cmpxchg(port_atomic_t *a, long old, long v)
{
	__atomic_compare_exchange_n(&a->v, &old, v, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return old;
}

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define port_poison(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define port_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define port_poison(p, n) ((void)(p), (void)(n))
#define port_unpoison(p, n) ((void)(p), (void)(n))
#endif

/* RCU: liburcu's API already has the kernel's names. */
static inline void port_rcu_thread_online(void)
{
	rcu_register_thread();
}

static inline void port_rcu_thread_offline(void)
{
	rcu_unregister_thread();
}

typedef pthread_spinlock_t port_spinlock_t;
typedef pthread_mutex_t port_mutex_t;

static inline void port_spin_init(port_spinlock_t *l)
{
	pthread_spin_init(l, PTHREAD_PROCESS_PRIVATE);
}

static inline void port_spin_lock(port_spinlock_t *l)
{
	pthread_spin_lock(l);
}

static inline void port_spin_unlock(port_spinlock_t *l)
{
	pthread_spin_unlock(l);
}

static inline void port_spin_destroy(port_spinlock_t *l)
{
	pthread_spin_destroy(l);
}

static inline void port_mutex_init(port_mutex_t *m)
{
	pthread_mutex_init(m, NULL);
}

static inline void port_mutex_lock(port_mutex_t *m)
{
	pthread_mutex_lock(m);
}

/* Lock order is the caller's to keep: no checker here. */
static inline void port_mutex_lock_nested(port_mutex_t *m,
					  unsigned int subclass)
{
	pthread_mutex_lock(m);
}

static inline void port_mutex_unlock(port_mutex_t *m)
{
	pthread_mutex_unlock(m);
}

static inline void port_mutex_destroy(port_mutex_t *m)
{
	pthread_mutex_destroy(m);
}

/* Threads are preempted: a long loop needs no point of its own. */
static inline void port_cond_resched(void)
{
}

static inline void port_yield(void)
{
	sched_yield();
}

static inline unsigned int port_cpu_id(void)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? 0 : (unsigned int)cpu;
}

unsigned int port_nr_cpus(void);

void *port_pages_alloc(unsigned int order);
void port_pages_free(void *p, unsigned int order);
void *port_zalloc(size_t size);
void *port_alloc(size_t size);
void port_free(void *p, size_t size);

struct port_hash_key {
	u64 k[2];
};

void port_hash_key_init(struct port_hash_key *key);
u32 port_hash(const void *data, size_t len, const struct port_hash_key *key);

void port_random_bytes(void *buf, size_t len);
u64 port_time_ns(void);
u64 port_real_seconds(void);
void port_fsleep(unsigned long usecs);

static inline const char *port_strerror(int err)
{
	return strerror(-err);
}

/*
 * Waiting: a mutex and a condition variable on CLOCK_MONOTONIC (so that a
 * timeout does not move with the wall clock).  The waiter tests @cond
 * under the mutex and port_wake_up() takes it before it broadcasts, so a
 * wake-up cannot fall between the test and the sleep.
 */
typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
} port_waitq_t;

void port_waitq_init(port_waitq_t *wq);
void port_waitq_destroy(port_waitq_t *wq);
void port_wake_up(port_waitq_t *wq);
/* With wq->lock held: one sleep; false once @end (port_time_ns()) passed. */
bool port_waitq_sleep(port_waitq_t *wq, u64 end);

#define port_wait_event_timeout(wq, cond, timeout_ms)                       \
	({                                                                  \
		port_waitq_t *__pwq = (wq);                                 \
		u64 __pend = port_time_ns() + (u64)(timeout_ms) * 1000000;  \
		int __pret = 1;                                             \
									    \
		pthread_mutex_lock(&__pwq->lock);                           \
		while (!(cond)) {                                           \
			if (!port_waitq_sleep(__pwq, __pend)) {             \
				__pret = !!(cond);                          \
				break;                                      \
			}                                                   \
		}                                                           \
		pthread_mutex_unlock(&__pwq->lock);                         \
		__pret;                                                     \
	})

void port_log(int level, const char *fmt, ...) __printf(2, 3);

/* Netlink attributes, with the kernel's names and semantics. */
static inline int nla_type(const struct nlattr *nla)
{
	return nla->nla_type & NLA_TYPE_MASK;
}

static inline int nla_len(const struct nlattr *nla)
{
	return nla->nla_len - NLA_HDRLEN;
}

static inline void *nla_data(const struct nlattr *nla)
{
	return (char *)nla + NLA_HDRLEN;
}

static inline bool nla_ok(const struct nlattr *nla, int remaining)
{
	return remaining >= (int)sizeof(*nla) &&
	       nla->nla_len >= sizeof(*nla) && nla->nla_len <= remaining;
}

static inline struct nlattr *nla_next(const struct nlattr *nla, int *remaining)
{
	unsigned int totlen = NLA_ALIGN(nla->nla_len);

	*remaining -= totlen;
	return (struct nlattr *)((char *)nla + totlen);
}

#define nla_for_each_attr(pos, head, len, rem)                              \
	for (pos = head, rem = len; nla_ok(pos, rem);                      \
	     pos = nla_next(pos, &(rem)))

/*
 * Where port_log() writes: stderr unless a host installs its own sink
 * (tdbd does, for syslog and its own level filter).
 */
extern void (*port_log_sink)(int level, const char *msg);

/* The implementation file alone reaches further into libc. */
#ifdef PORT_USER_IMPL
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#endif

/* CRC-32C: SSE4.2's crc32 instruction when the CPU has it. */
u32 port_crc32c(u32 crc, const void *buf, size_t len);
/* The portable slicing-by-8 path alone, so that tests can check it too. */
u32 port_crc32c_sw(u32 crc, const void *buf, size_t len);

#ifdef PORT_USER_IMPL
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#endif

#endif /* TDB_CORE_PORT_USER_H */
