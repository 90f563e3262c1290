/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * port.h - the only seam between tdb's engine and its host.
 *
 * The engine's .c files include core headers and this file, nothing else.
 * A host (tdbd in user space, tdb.ko in the kernel) provides, under the
 * names the kernel uses where the kernel has one:
 *
 *   types         u8 u16 u32 u64 s32 s64 bool size_t uintptr_t, true/false,
 *                 NULL
 *   errors        EINVAL ENOENT EEXIST ENOSPC ENOMEM E2BIG ... (kernel values);
 *                 port_strerror(-errno): static text for a log line
 *                 (strerror() in user space, the errno's name in tdb.ko)
 *   compiler      likely() unlikely() container_of() ARRAY_SIZE() prefetch()
 *                 prefetchw() (for a line about to be written)
 *                 __always_inline __maybe_unused noinline
 *   memory        memcpy() memcmp() memset() memmove() strlen() strcmp()
 *   ordering      READ_ONCE() WRITE_ONCE() smp_load_acquire()
 *                 smp_store_release() smp_mb()
 *   atomics       port_atomic_t (a long): port_atomic_read/set/add/
 *                 add_return/sub/inc/dec_return; port_atomic_xchg(a, v)
 *                 and port_atomic_cmpxchg(a, old, new), fully ordered,
 *                 returning the value that was there before
 *   rcu           rcu_read_lock() rcu_read_unlock() rcu_dereference()
 *                 rcu_assign_pointer() struct rcu_head call_rcu()
 *                 synchronize_rcu() rcu_barrier()
 *                 port_rcu_thread_online/offline(): user-space threads must
 *                 announce themselves before their first read-side section.
 *                 call_rcu() callbacks may run in softirq context in the
 *                 kernel (a thread in user space) and take the engine's
 *                 spinlocks, so the kernel port's port_spin_lock() must
 *                 disable bottom halves (spin_lock_bh).
 *   locks         port_spinlock_t port_spin_init/lock/unlock/destroy
 *                 port_mutex_t port_mutex_init/lock/unlock/destroy;
 *                 port_mutex_lock_nested(m, subclass): a second lock of
 *                 one kind, taken under the first (lockdep's subclass)
 *                 port_yield(): let other threads run (may sleep)
 *                 port_cond_resched(): a point in a long loop, outside
 *                 any read-side section and spinlock, where the kernel
 *                 may run others (cond_resched(): kthreads are not
 *                 preempted); nothing in user space
 *   pages         port_pages_alloc(order) / port_pages_free(p, order):
 *                 PAGE_SIZE << order bytes, aligned to their own size, not
 *                 zeroed.  Returns NULL on failure.
 *   sanitizers    port_poison(p, n) / port_unpoison(p, n): mark memory that
 *                 the engine's allocators hold as unusable / usable for
 *                 AddressSanitizer (KASAN later); nothing otherwise
 *   large         port_zalloc(size) / port_free(p, size): zeroed memory of
 *                 any size for the engine's own arrays (kvzalloc in the
 *                 kernel), NULL on failure; port_alloc(size) the same
 *                 without zeroing (kvmalloc), freed with port_free().
 *   stack         PORT_SMALL_STACK: defined where stacks are small (the
 *                 kernel's 16 KiB); the engine then keeps its on-stack
 *                 batches short
 *   cpus          port_cpu_id(): the CPU the caller runs on now (a hint in
 *                 user space, where the thread may migrate); port_nr_cpus()
 *   hashing       struct port_hash_key, port_hash_key_init(), port_hash():
 *                 a keyed 32-bit hash for hash tables (SipHash-1-3, the
 *                 kernel's hsiphash on 64-bit).  The key is u64 k[2] in
 *                 every port: checkpoints store it (see table.h)
 *   random        port_random_bytes(buf, len)
 *   time          port_time_ns(): monotonic nanoseconds;
 *                 port_real_seconds(): the wall clock, seconds since the
 *                 epoch (for file headers, never for intervals);
 *                 port_fsleep(usecs): sleep at least that long, maybe
 *                 a little longer (the kernel's fsleep())
 *   threads       struct port_thread, port_thread_run/join: see below
 *   waiting       port_waitq_t port_waitq_init/destroy, port_wake_up(),
 *                 port_wait_event_timeout(): see below
 *   logging       port_log(level, fmt, ...) with PORT_LOG_ERR/WARN/INFO/DEBUG
 *   netlink       struct nlmsghdr, struct nlattr, NLMSG_ALIGN() NLMSG_HDRLEN
 *                 NLA_ALIGN() NLA_HDRLEN NLA_TYPE_MASK, nla_type() nla_len()
 *                 nla_data() nla_ok() nla_next() nla_for_each_attr(), with
 *                 the kernel's semantics; port_attr_parse() below (libmnl in
 *                 user space, the kernel's nla helpers in tdb.ko)
 *   checksums     port_crc32c(crc, buf, len): CRC-32C (Castagnoli) with the
 *                 kernel's crc32c() semantics: no inversion on entry or
 *                 exit, so the standard check value of a buffer is
 *                 ~port_crc32c(~0U, buf, len)
 *   files         struct port_file, port_file_open/close/pread/pwrite/
 *                 datasync/truncate/size, port_file_unlink/rename,
 *                 port_dir_sync, port_dir_list: see below
 *
 * A primitive that is not listed here does not exist for core code.
 */
#ifndef TDB_CORE_PORT_H
#define TDB_CORE_PORT_H

/* syslog's numbers, so that a host can pass them through. */
#define PORT_LOG_ERR 3
#define PORT_LOG_WARN 4
#define PORT_LOG_INFO 6
#define PORT_LOG_DEBUG 7

#ifdef __KERNEL__
#include "port_kernel.h"
#else
#include "port_user.h"
#endif

/*
 * Attribute validation.  A policy entry says what an attribute type must
 * look like; port_attr_parse() checks every attribute of a run of
 * attributes (a message's payload after its fixed headers) against it.
 */
enum port_attr_kind {
	PORT_ATTR_UNSPEC,	/* not expected here: ignored */
	PORT_ATTR_FLAG,		/* no payload */
	PORT_ATTR_U32,		/* exactly 4 bytes */
	PORT_ATTR_S32,		/* exactly 4 bytes */
	PORT_ATTR_U64,		/* exactly 8 bytes */
	PORT_ATTR_STRING,	/* NUL-terminated, max_len bytes with the NUL */
	PORT_ATTR_BINARY,	/* min_len..max_len bytes (max_len 0: any) */
	PORT_ATTR_NESTED,	/* attributes; not looked into */
};

struct port_attr_policy {
	u8 kind;		/* enum port_attr_kind */
	bool multi;		/* may repeat; tb[] holds the first */
	u16 min_len, max_len;
};

/* Why port_attr_parse() refused: the attribute type and a static string. */
struct port_attr_error {
	u16 type;
	const char *reason;
};

/*
 * Validates the @len bytes of attributes at @buf against @policy (indexed
 * by type, 0..@maxtype) and stores in tb[type] the first attribute of each
 * type (tb has @maxtype + 1 entries; absent types are NULL).  Types above
 * @maxtype and PORT_ATTR_UNSPEC types are skipped, as newer peers may send
 * them.  Returns 0, or -EINVAL with @err filled when an attribute is
 * truncated, has a bad length or payload for its kind, repeats without
 * .multi, or trailing bytes follow the last attribute.
 */
int port_attr_parse(const void *buf, size_t len,
		    const struct port_attr_policy *policy, unsigned int maxtype,
		    const struct nlattr **tb, struct port_attr_error *err);

/*
 * Files, for the log and checkpoints.  Files are named by a directory and
 * a plain name inside it (no '/').  A file is opened for reading and
 * writing; every call may sleep, so only the log and checkpoint threads
 * (kthreads in tdb.ko: filp_open, kernel_read/kernel_write, vfs_fsync,
 * vfs_truncate, iterate_dir, vfs_unlink/vfs_rename) use them, never a
 * worker in the middle of a request.  All return 0 or -errno; -ENOSPC,
 * -EIO, -EDQUOT and -EFBIG come back unchanged so that callers can report
 * exactly what the disk said.
 */
struct port_file;

#define PORT_F_CREATE 0x1	/* create the file when it does not exist */
#define PORT_F_EXCL 0x2		/* with PORT_F_CREATE: -EEXIST if it does */
#define PORT_F_TRUNC 0x4	/* empty the file on open */

/* Opens @dir/@name (mode 0600 when created) and stores it in *@out. */
int port_file_open(const char *dir, const char *name, unsigned int flags,
		   struct port_file **out);
void port_file_close(struct port_file *f);
/*
 * Writes all @len bytes at @off, retrying short writes; -errno when the
 * disk refuses part of it (some bytes may then have reached the file).
 */
int port_file_pwrite(struct port_file *f, const void *buf, size_t len,
		     u64 off);
/* Reads up to @len bytes at @off: fewer only at end of file.  Or -errno. */
s64 port_file_pread(struct port_file *f, void *buf, size_t len, u64 off);
/* fdatasync(): the data and the size, not the timestamps. */
int port_file_datasync(struct port_file *f);
int port_file_truncate(struct port_file *f, u64 size);
/* The file's size in bytes, or -errno. */
s64 port_file_size(struct port_file *f);
int port_file_unlink(const char *dir, const char *name);
/* Renames @dir/@from to @dir/@to, replacing @to atomically. */
int port_file_rename(const char *dir, const char *from, const char *to);
/* Makes created, renamed and removed names in @dir durable (fsync). */
int port_dir_sync(const char *dir);
/*
 * Calls @fn with each name in @dir other than "." and ".." (in no order)
 * until it returns non-zero, which is returned; 0 at the end, -errno if
 * the directory cannot be read (-ENOENT, -ENOTDIR, -EACCES...).
 */
int port_dir_list(const char *dir, int (*fn)(void *arg, const char *name),
		  void *arg);

/*
 * Threads, for the engine's background work (the log writer, the
 * checkpoint thread): kthreads in tdb.ko, pthreads in user space.
 *
 * port_thread_run() starts @fn(@arg) on a new thread called @name (15
 * characters at most are kept: the kernel's comm) at nice value @nice
 * (0: the default; positive: yields the CPU to the owner's workers), and
 * stores a handle in *@out.  0 or -errno (-ENOMEM, -EAGAIN).  The new
 * thread may sleep and do file I/O; in user space it must call
 * port_rcu_thread_online() itself before reading under RCU.  Its signals
 * are blocked in tdb.ko (a kthread takes none) and inherited from the
 * starter in user space.
 *
 * port_thread_join() waits until @fn returned and frees the handle.  It
 * does not ask @fn to return: the caller tells it through its own state
 * (a flag and port_wake_up()) first.  Never from the thread itself.
 */
struct port_thread;

int port_thread_run(struct port_thread **out, int (*fn)(void *arg), void *arg,
		    const char *name, int nice);
void port_thread_join(struct port_thread *t);

/*
 * Waiting, with the kernel's wait_event()/wake_up() contract.  A waker
 * makes @cond true (WRITE_ONCE, an atomic...) and then calls
 * port_wake_up(wq), which wakes every waiter and waits for nothing but
 * a short lock (a spinlock in tdb.ko, where it may be called from any
 * context, a spinlock held or in softirq; a mutex in user space).  A waiter calls
 *
 *	ret = port_wait_event_timeout(wq, cond, timeout_ms);
 *
 * which returns at once when @cond (an expression, evaluated any number
 * of times) is true, else sleeps until a wake-up finds it true or
 * @timeout_ms passes: > 0 when @cond was true, 0 on timeout, -EINTR in
 * tdb.ko when a signal came to a user task (a kthread takes none).  A
 * wake-up between the waiter's test of @cond and its sleep is not lost.
 * The timeout is coarse: jiffies in tdb.ko (4 ms at HZ=250), so it is for
 * periodic work and for bounding a wait, not for precise delays
 * (port_fsleep()).  The waiter may sleep; never under a spinlock or in
 * an RCU read-side section.
 *
 * port_waitq_init() before first use, port_waitq_destroy() once nobody
 * waits or wakes any more.
 */

#endif /* TDB_CORE_PORT_H */
