// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * port_user.c - user-space implementations of the port primitives that are
 * not one-line wrappers: pages, hashing, randomness, time, threads,
 * waiting and logging.
 */
#define PORT_USER_IMPL
#include "port.h"

/*
 * Pages.  The kernel hands out naturally aligned blocks from its buddy
 * allocator; here small orders are carved from 2 MiB arenas that are
 * marked for transparent huge pages, so that a table's slabs share few TLB
 * entries.  Freed small blocks stay on a per-order free list for reuse, as
 * pages freed to the kernel stay in the machine: the engine's own page
 * cache (core/pool.c) sits in front of this and absorbs most traffic.
 * Orders from PORT_ARENA_ORDER up are mapped and unmapped directly.
 */
#define PORT_ARENA_ORDER 9
#define PORT_ARENA_SIZE (PAGE_SIZE << PORT_ARENA_ORDER)

struct port_free_block {
	struct port_free_block *next;
};

static struct {
	pthread_mutex_t lock;
	struct port_free_block *free[PORT_ARENA_ORDER];
	char *arena;
	size_t arena_left;
} port_pages = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *port_map_aligned(size_t size)
{
	size_t span = size * 2;
	char *p, *aligned;

	p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	aligned = (char *)(((uintptr_t)p + size - 1) & ~(uintptr_t)(size - 1));
	if (aligned > p)
		munmap(p, aligned - p);
	if (aligned + size < p + span)
		munmap(aligned + size, p + span - (aligned + size));
	madvise(aligned, size, MADV_HUGEPAGE);
	return aligned;
}

void *port_pages_alloc(unsigned int order)
{
	size_t size = PAGE_SIZE << order;
	struct port_free_block *b;
	void *p = NULL;

	if (order >= PORT_ARENA_ORDER)
		return port_map_aligned(size);

	pthread_mutex_lock(&port_pages.lock);
	b = port_pages.free[order];
	if (b) {
		port_pages.free[order] = b->next;
		p = b;
		goto out;
	}
	/* Arena blocks are handed out in address order, so alignment holds. */
	if (port_pages.arena_left < size) {
		/* The tail of the old arena is too small: file it by order. */
		while (port_pages.arena_left) {
			unsigned int o = 0;

			while ((PAGE_SIZE << (o + 1)) <= port_pages.arena_left &&
			       !((uintptr_t)port_pages.arena &
				 ((PAGE_SIZE << (o + 1)) - 1)))
				o++;
			b = (struct port_free_block *)port_pages.arena;
			b->next = port_pages.free[o];
			port_pages.free[o] = b;
			port_pages.arena += PAGE_SIZE << o;
			port_pages.arena_left -= PAGE_SIZE << o;
		}
		port_pages.arena = port_map_aligned(PORT_ARENA_SIZE);
		if (!port_pages.arena)
			goto out;
		port_pages.arena_left = PORT_ARENA_SIZE;
	}
	while ((uintptr_t)port_pages.arena & (size - 1)) {
		/* Skip to alignment, keeping the skipped pages. */
		unsigned int o = __builtin_ctzl((uintptr_t)port_pages.arena) -
				 PAGE_SHIFT;

		b = (struct port_free_block *)port_pages.arena;
		b->next = port_pages.free[o];
		port_pages.free[o] = b;
		port_pages.arena += PAGE_SIZE << o;
		port_pages.arena_left -= PAGE_SIZE << o;
	}
	p = port_pages.arena;
	port_pages.arena += size;
	port_pages.arena_left -= size;
out:
	pthread_mutex_unlock(&port_pages.lock);
	return p;
}

void port_pages_free(void *p, unsigned int order)
{
	struct port_free_block *b = p;

	if (!p)
		return;
	if (order >= PORT_ARENA_ORDER) {
		munmap(p, PAGE_SIZE << order);
		return;
	}
	pthread_mutex_lock(&port_pages.lock);
	b->next = port_pages.free[order];
	port_pages.free[order] = b;
	pthread_mutex_unlock(&port_pages.lock);
}

/*
 * Large arrays.  The biggest are the index's bucket heads (128 MiB for ten
 * million records), touched one line per head in no useful order, so that
 * a TLB miss would cost as much as the cache miss itself.  So from
 * PORT_ZALLOC_HUGE up the 2 MiB-aligned part of the block is marked for
 * transparent huge pages before anything touches it: glibc maps blocks
 * this large afresh and does not write them (the kernel's pages come
 * zeroed), so nothing has been faulted in with small pages yet.  A block
 * recycled from the heap instead is cleared by calloc() first and only
 * gets huge pages later, from khugepaged.  The advice is only that: its
 * failure (no THP in the kernel) changes nothing.
 */
#define PORT_ZALLOC_HUGE (4UL << 20)
#define PORT_HUGE_PAGE (2UL << 20)

void *port_zalloc(size_t size)
{
	void *p = calloc(1, size);
	uintptr_t start, end;

	if (p && size >= PORT_ZALLOC_HUGE) {
		start = ((uintptr_t)p + PORT_HUGE_PAGE - 1) &
			~(uintptr_t)(PORT_HUGE_PAGE - 1);
		end = ((uintptr_t)p + size) & ~(uintptr_t)(PORT_HUGE_PAGE - 1);
		if (end > start)
			madvise((void *)start, end - start, MADV_HUGEPAGE);
	}
	return p;
}

void *port_alloc(size_t size)
{
	return malloc(size);
}

void port_free(void *p, size_t size)
{
	(void)size;
	free(p);
}

unsigned int port_nr_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);

	return n > 0 ? (unsigned int)n : 1;
}

/* SipHash-1-3 with a 32-bit result: the kernel's hsiphash() on 64-bit. */
#define SIPROUND                                                              \
	do {                                                                  \
		v0 += v1;                                                     \
		v1 = (v1 << 13) | (v1 >> 51);                                 \
		v1 ^= v0;                                                     \
		v0 = (v0 << 32) | (v0 >> 32);                                 \
		v2 += v3;                                                     \
		v3 = (v3 << 16) | (v3 >> 48);                                 \
		v3 ^= v2;                                                     \
		v0 += v3;                                                     \
		v3 = (v3 << 21) | (v3 >> 43);                                 \
		v3 ^= v0;                                                     \
		v2 += v1;                                                     \
		v1 = (v1 << 17) | (v1 >> 47);                                 \
		v1 ^= v2;                                                     \
		v2 = (v2 << 32) | (v2 >> 32);                                 \
	} while (0)

u32 port_hash(const void *data, size_t len, const struct port_hash_key *key)
{
	const u8 *p = data, *end = p + (len & ~(size_t)7);
	u64 v0 = 0x736f6d6570736575ULL ^ key->k[0];
	u64 v1 = 0x646f72616e646f6dULL ^ key->k[1];
	u64 v2 = 0x6c7967656e657261ULL ^ key->k[0];
	u64 v3 = 0x7465646279746573ULL ^ key->k[1];
	u64 b = (u64)len << 56, m;

	for (; p != end; p += 8) {
		memcpy(&m, p, 8);	/* little-endian hosts only, as x86-64 */
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	switch (len & 7) {
	case 7: b |= (u64)p[6] << 48; /* fall through */
	case 6: b |= (u64)p[5] << 40; /* fall through */
	case 5: b |= (u64)p[4] << 32; /* fall through */
	case 4: b |= (u64)p[3] << 24; /* fall through */
	case 3: b |= (u64)p[2] << 16; /* fall through */
	case 2: b |= (u64)p[1] << 8; /* fall through */
	case 1: b |= (u64)p[0];
	}
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return (u32)((v0 ^ v1) ^ (v2 ^ v3));
}

void port_hash_key_init(struct port_hash_key *key)
{
	port_random_bytes(key, sizeof(*key));
}

void port_random_bytes(void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			u64 t;

			if (errno == EINTR)
				continue;
			/*
			 * No entropy source at all (a kernel before 3.17):
			 * fall back to the clock and an address, weak but
			 * never the same key for every table.
			 */
			port_log(PORT_LOG_WARN, "getrandom: %s; hash keys are "
				 "guessable", strerror(errno));
			while (len) {
				t = port_time_ns() ^ (u64)(uintptr_t)p;
				t *= 0x9e3779b97f4a7c15ULL;
				*p++ = (char)(t >> 56);
				len--;
			}
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

u64 port_time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

u64 port_real_seconds(void)
{
	return (u64)time(NULL);
}

void port_fsleep(unsigned long usecs)
{
	struct timespec ts = {
		.tv_sec = (time_t)(usecs / 1000000),
		.tv_nsec = (long)(usecs % 1000000) * 1000,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void port_waitq_init(port_waitq_t *wq)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&wq->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wq->cond, &ca);
	pthread_condattr_destroy(&ca);
}

void port_waitq_destroy(port_waitq_t *wq)
{
	pthread_cond_destroy(&wq->cond);
	pthread_mutex_destroy(&wq->lock);
}

void port_wake_up(port_waitq_t *wq)
{
	pthread_mutex_lock(&wq->lock);
	pthread_cond_broadcast(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
}

bool port_waitq_sleep(port_waitq_t *wq, u64 end)
{
	struct timespec ts = {
		.tv_sec = (time_t)(end / 1000000000ULL),
		.tv_nsec = (long)(end % 1000000000ULL),
	};

	pthread_cond_timedwait(&wq->cond, &wq->lock, &ts);
	return port_time_ns() < end;
}

struct port_thread {
	pthread_t tid;
	int (*fn)(void *arg);
	void *arg;
	int nice;
	char name[16];
};

static void *port_thread_main(void *arg)
{
	struct port_thread *t = arg;

	pthread_setname_np(pthread_self(), t->name);
	/* Linux applies a thread's own nice value to it alone. */
	if (t->nice && setpriority(PRIO_PROCESS, (id_t)gettid(), t->nice))
		port_log(PORT_LOG_DEBUG, "%s thread: setpriority: %s", t->name,
			 strerror(errno));
	t->fn(t->arg);
	return NULL;
}

int port_thread_run(struct port_thread **out, int (*fn)(void *arg), void *arg,
		    const char *name, int nice)
{
	struct port_thread *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->arg = arg;
	t->nice = nice;
	snprintf(t->name, sizeof(t->name), "%s", name);
	err = pthread_create(&t->tid, NULL, port_thread_main, t);
	if (err) {
		free(t);
		return -err;
	}
	*out = t;
	return 0;
}

void port_thread_join(struct port_thread *t)
{
	pthread_join(t->tid, NULL);
	free(t);
}

static void port_log_stderr(int level, const char *msg)
{
	static const char *const names[] = {
		[PORT_LOG_ERR] = "error",  [PORT_LOG_WARN] = "warning",
		[PORT_LOG_INFO] = "info",  [PORT_LOG_DEBUG] = "debug",
	};
	const char *name = level >= 0 && level < (int)ARRAY_SIZE(names) &&
					   names[level] ? names[level] : "log";

	fprintf(stderr, "tdb: %s: %s\n", name, msg);
}

void (*port_log_sink)(int level, const char *msg) = port_log_stderr;

void port_log(int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	port_log_sink(level, msg);
}

struct port_attr_walk {
	const struct port_attr_policy *policy;
	unsigned int maxtype;
	const struct nlattr **tb;
	struct port_attr_error *err;
	const char *base;
	size_t end;		/* offset past the last attribute seen */
};

static int port_attr_fail(struct port_attr_walk *w, u16 type,
			  const char *reason)
{
	w->err->type = type;
	w->err->reason = reason;
	return MNL_CB_ERROR;
}

/* libmnl callback: checks one attribute against its policy entry. */
static int port_attr_check(const struct nlattr *attr, void *data)
{
	static const enum mnl_attr_data_type mnl_kind[] = {
		[PORT_ATTR_FLAG] = MNL_TYPE_FLAG,
		[PORT_ATTR_U32] = MNL_TYPE_U32,
		[PORT_ATTR_S32] = MNL_TYPE_U32,
		[PORT_ATTR_U64] = MNL_TYPE_U64,
		[PORT_ATTR_STRING] = MNL_TYPE_NUL_STRING,
		[PORT_ATTR_NESTED] = MNL_TYPE_NESTED,
	};
	struct port_attr_walk *w = data;
	u16 type = mnl_attr_get_type(attr);
	size_t plen = mnl_attr_get_payload_len(attr);
	const struct port_attr_policy *p;

	w->end = (const char *)attr - w->base + MNL_ALIGN(attr->nla_len);
	if (type > w->maxtype || w->policy[type].kind == PORT_ATTR_UNSPEC)
		return MNL_CB_OK;
	p = &w->policy[type];
	if (w->tb[type] && !p->multi)
		return port_attr_fail(w, type, "attribute repeated");
	switch (p->kind) {
	case PORT_ATTR_BINARY:
		if (plen < p->min_len)
			return port_attr_fail(w, type, "attribute too short");
		if (p->max_len && plen > p->max_len)
			return port_attr_fail(w, type, "attribute too long");
		break;
	case PORT_ATTR_STRING:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return port_attr_fail(w, type,
					      "string not NUL-terminated");
		if (p->max_len && plen > p->max_len)
			return port_attr_fail(w, type, "string too long");
		if (strlen(mnl_attr_get_str(attr)) + 1 != plen)
			return port_attr_fail(w, type, "NUL inside string");
		break;
	default:
		if (p->kind >= ARRAY_SIZE(mnl_kind) ||
		    mnl_attr_validate(attr, mnl_kind[p->kind]) < 0)
			return port_attr_fail(w, type,
					      "attribute length does not fit its type");
		break;
	}
	if (!w->tb[type])
		w->tb[type] = attr;
	return MNL_CB_OK;
}

int port_attr_parse(const void *buf, size_t len,
		    const struct port_attr_policy *policy, unsigned int maxtype,
		    const struct nlattr **tb, struct port_attr_error *err)
{
	struct port_attr_walk w = {
		.policy = policy, .maxtype = maxtype, .tb = tb, .err = err,
		.base = buf,
	};

	memset(tb, 0, (maxtype + 1) * sizeof(*tb));
	if (len > INT_MAX) {
		err->type = 0;
		err->reason = "attributes too long";
		return -EINVAL;
	}
	if (mnl_attr_parse_payload(buf, len, port_attr_check, &w) < 0)
		return -EINVAL;
	/* libmnl stops quietly at a truncated attribute: that is an error. */
	if (w.end < len) {
		err->type = 0;
		err->reason = "truncated attribute or trailing bytes";
		return -EINVAL;
	}
	return 0;
}

/*
 * CRC-32C, reflected polynomial 0x82f63b78, without the usual inversions
 * (the kernel's crc32c()).  Slicing-by-8 tables are built once; on x86-64
 * with SSE4.2 the crc32 instruction does the work eight bytes at a time.
 */
static u32 port_crc32c_table[8][256];
static pthread_once_t port_crc32c_once = PTHREAD_ONCE_INIT;

static void port_crc32c_init(void)
{
	unsigned int i, j;

	for (i = 0; i < 256; i++) {
		u32 c = i;

		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (0x82f63b78U & -(c & 1));
		port_crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			port_crc32c_table[j][i] =
				(port_crc32c_table[j - 1][i] >> 8) ^
				port_crc32c_table[0][port_crc32c_table[j - 1][i] &
						     0xff];
}

u32 port_crc32c_sw(u32 crc, const void *buf, size_t len)
{
	const u32(*t)[256] = port_crc32c_table;
	const u8 *p = buf;
	u64 w;

	pthread_once(&port_crc32c_once, port_crc32c_init);
	for (; len && ((uintptr_t)p & 7); len--)
		crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w, p, 8);	/* little-endian hosts only */
		w ^= crc;
		crc = t[7][w & 0xff] ^ t[6][(w >> 8) & 0xff] ^
		      t[5][(w >> 16) & 0xff] ^ t[4][(w >> 24) & 0xff] ^
		      t[3][(w >> 32) & 0xff] ^ t[2][(w >> 40) & 0xff] ^
		      t[1][(w >> 48) & 0xff] ^ t[0][w >> 56];
	}
	for (; len; len--)
		crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static u32 port_crc32c_hw(u32 crc,
							    const void *buf,
							    size_t len)
{
	const u8 *p = buf;
	u64 c = crc, w;

	for (; len && ((uintptr_t)p & 7); len--)
		c = __builtin_ia32_crc32qi((u32)c, *p++);
	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	for (; len; len--)
		c = __builtin_ia32_crc32qi((u32)c, *p++);
	return (u32)c;
}

u32 port_crc32c(u32 crc, const void *buf, size_t len)
{
	static int hw = -1;

	if (unlikely(hw < 0))
		hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	return hw ? port_crc32c_hw(crc, buf, len) :
		    port_crc32c_sw(crc, buf, len);
}
#else
u32 port_crc32c(u32 crc, const void *buf, size_t len)
{
	return port_crc32c_sw(crc, buf, len);
}
#endif

/* Files: a file descriptor, and paths built as "dir/name". */
struct port_file {
	int fd;
};

static int port_path(char *path, size_t size, const char *dir,
		     const char *name)
{
	int n = snprintf(path, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int port_file_open(const char *dir, const char *name, unsigned int flags,
		   struct port_file **out)
{
	int oflags = O_RDWR | O_CLOEXEC;
	char path[PATH_MAX];
	struct port_file *f;
	int err;

	err = port_path(path, sizeof(path), dir, name);
	if (err)
		return err;
	if (flags & PORT_F_CREATE)
		oflags |= O_CREAT;
	if (flags & PORT_F_EXCL)
		oflags |= O_EXCL;
	if (flags & PORT_F_TRUNC)
		oflags |= O_TRUNC;
	f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = open(path, oflags, 0600);
	if (f->fd < 0) {
		err = -errno;
		free(f);
		return err;
	}
	*out = f;
	return 0;
}

void port_file_close(struct port_file *f)
{
	if (!f)
		return;
	close(f->fd);
	free(f);
}

int port_file_pwrite(struct port_file *f, const void *buf, size_t len,
		     u64 off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(f->fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += (u64)n;
		len -= (size_t)n;
	}
	return 0;
}

s64 port_file_pread(struct port_file *f, void *buf, size_t len, u64 off)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(f->fd, p + done, len - done,
				  (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (s64)done;
}

int port_file_datasync(struct port_file *f)
{
	return fdatasync(f->fd) ? -errno : 0;
}

int port_file_truncate(struct port_file *f, u64 size)
{
	return ftruncate(f->fd, (off_t)size) ? -errno : 0;
}

s64 port_file_size(struct port_file *f)
{
	struct stat st;

	if (fstat(f->fd, &st))
		return -errno;
	return (s64)st.st_size;
}

int port_file_unlink(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err = port_path(path, sizeof(path), dir, name);

	if (err)
		return err;
	return unlink(path) ? -errno : 0;
}

int port_file_rename(const char *dir, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	int err = port_path(a, sizeof(a), dir, from);

	if (!err)
		err = port_path(b, sizeof(b), dir, to);
	if (err)
		return err;
	return rename(a, b) ? -errno : 0;
}

int port_dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

int port_dir_list(const char *dir, int (*fn)(void *arg, const char *name),
		  void *arg)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = 0;

	if (!d)
		return -errno;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			ret = errno ? -errno : 0;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ret = fn(arg, de->d_name);
		if (ret)
			break;
	}
	closedir(d);
	return ret;
}
