// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Durability and recovery of tdbd: the write-ahead log, group commit and
 * checkpoints, tested against private owners (owner.h) that these tests
 * start, SIGKILL, SIGTERM and restart on the same data directory.  The
 * shared owner of run.sh is never touched.
 *
 *  crash_sync     4 children write a sync table as fast as they can (plain
 *                 puts, pipelined batch puts, plain and batched deletes of
 *                 keys they had acknowledged), recording every request and
 *                 acknowledgement in MAP_SHARED memory; tdbd is SIGKILLed
 *                 20..300 ms into the writing (1..1.5 s in every tenth
 *                 round, so that kills also land in checkpoints) and
 *                 restarted on the same data directory.  Every acknowledged
 *                 put is there with its exact value, every acknowledged
 *                 delete is gone, nothing was never written, and the table's
 *                 record count matches a scan.  Five rounds share a data
 *                 directory, so later rounds recover earlier rounds' data
 *                 (and what the earlier restarts made of it) again.
 *                 TDB_CRASH_ROUNDS=N (default 30) runs more.
 *  crash_async    the same with an async table: what was acknowledged more
 *                 than the flush interval plus a slack before the kill (see
 *                 ASYNC_SLACK_MS for the reasoning) is there.
 *  sync_ack       a sync write answers only once the log is durable past
 *                 it; an async one becomes durable within the flush
 *                 interval; a memory table's writes never reach the log;
 *                 pipelined sync writes share syncs (group commit), and
 *                 tdb_stats() counts them and their rates.
 *  torn_tail      the last segment cut at a random byte after its header
 *                 (and at chosen ones: a record boundary, inside a header,
 *                 the last byte): tdbd starts, says it truncated, and holds
 *                 exactly the records wholly before the cut; writes after
 *                 that survive another SIGKILL and a clean restart.
 *  corrupt        a byte flipped in a record (or segment header) in the
 *                 middle of the log: tdbd exits non-zero naming the file,
 *                 the offset and the reason, and leaves the log as it was;
 *                 with --accept-loss it starts, reports the loss, and holds
 *                 exactly the records before the damage.
 *  disk_full      the data directory on a 16 MiB tmpfs (or a loop-mounted
 *                 ext4 image), mostly filled: writes fail with -ENOSPC,
 *                 reads go on, writes resume once there is room, and after
 *                 a SIGKILL every acknowledged write is there and none of
 *                 the refused ones.  Skipped, saying why, when nothing can
 *                 be mounted.
 *  clean_restart  memory, async and sync tables, defaults, a dropped and a
 *                 re-created table, overwrites, deletes, a 512 KiB value;
 *                 four restarts (SIGTERM with exit 0, except one SIGKILL
 *                 after a last sync write), with more changes after each:
 *                 the logged tables with their records and options (mode,
 *                 quota, key type, durability, owner), the memory table
 *                 gone.
 *  checkpoint     --checkpoint-interval 1 --segment-size 1M: several
 *                 segments written, checkpoints taken, old segments and
 *                 checkpoints removed, tdb_info()/tdb_stats() figures, all
 *                 data after a SIGKILL; a corrupt newest checkpoint is
 *                 refused, or passed over with --accept-loss.
 *  bad_datadir    a data directory that cannot be made or used, an
 *                 unreadable log segment or checkpoint, bad flag values:
 *                 non-zero exit and a message; a missing data directory is
 *                 created.
 *
 * Environment: TDB_DURABLE_TESTS=PATTERN runs only the matching tests
 * (e.g. "test_crash_*"); TDB_KEEP=1 keeps each test's directory, with
 * tdbd's stderr of every start in it (tdbd-N.log); TDB_CRASH_ROUNDS and
 * TDB_CRASH_SEED set the crash tests' rounds and random seed (printed);
 * TDB_ASYNC_SLACK_MS the async margin; TDB_DURABLE_DUMP=FILE writes, when
 * a crash round fails, every key of that round as "child number state
 * put_age_us del_age_us found".  TDB_TDBD and TDB_TDBCLI (run.sh sets
 * them) name the binaries under test.
 *
 * Every wait is bounded; a per-test watchdog (alarm()) kills the private
 * owner if a test hangs in a libtdb call, which then fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <pwd.h>

#include "owner.h"

#define MAX_PROBLEMS 12

/* ---- per-test state and the watchdog ------------------------------------ */

#define MAX_KIDS 8

struct dstate {
	struct owner o;
	pid_t kids[MAX_KIDS];
	char mnt[PATH_MAX]; /* disk_full: the mount point, "" if none */
	char loopdev[64]; /* disk_full: the loop device, if any */
};

static struct dstate *cur; /* for the watchdog */

static void watchdog(int sig)
{
	static const char msg[] =
		"\ntest_durable: watchdog: the test hangs; killing its tdbd\n";
	int i;

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do */
	}
	if (!cur)
		_exit(1);
	if (cur->o.pid > 0)
		kill(cur->o.pid, SIGKILL);
	for (i = 0; i < MAX_KIDS; i++)
		if (cur->kids[i] > 0)
			kill(cur->kids[i], SIGKILL);
	alarm(10); /* still stuck: give up */
	signal(SIGALRM, SIG_DFL);
}

static int setup(void **state)
{
	struct dstate *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	if (owner_init(&s->o, "durable")) {
		free(s);
		return -1;
	}
	cur = s;
	signal(SIGALRM, watchdog);
	alarm(UNDER_SAN ? 240 : 120);
	*state = s;
	return 0;
}

static void unmount_scratch(struct dstate *s)
{
	char cmd[PATH_MAX + 64];

	if (!s->mnt[0])
		return;
	if (umount(s->mnt) < 0 && umount2(s->mnt, MNT_DETACH) < 0)
		fprintf(stderr, "cannot unmount %s: %s\n", s->mnt,
			strerror(errno));
	if (s->loopdev[0]) {
		o_fmt(cmd, sizeof(cmd), "losetup -d %s 2>/dev/null",
		      s->loopdev);
		if (system(cmd)) {
			/* autoclear detaches it anyway */
		}
	}
	s->mnt[0] = '\0';
}


static int teardown(void **state)
{
	struct dstate *s = *state;
	int i;

	alarm(0);
	close_all_dbs();
	for (i = 0; i < MAX_KIDS; i++)
		if (s->kids[i] > 0) {
			kill(s->kids[i], SIGKILL);
			waitpid(s->kids[i], NULL, 0);
		}
	if (s->o.pid > 0)
		owner_kill(&s->o);
	unmount_scratch(s);
	owner_fini(&s->o);
	cur = NULL;
	free(s);
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static int conn_error(int rc)
{
	return rc == -ECONNRESET || rc == -EPIPE;
}

/*
 * The value of @key, which depends on the key alone: 0..199 bytes, or
 * 1..4 KiB for keys that begin with 'B' (big).  @v holds VAL_MAX bytes.
 */
#define VAL_MAX 4096
static size_t val_of(const void *key, size_t klen, uint8_t *v)
{
	uint64_t h = h_fnv(key, klen);
	size_t len = *(const char *)key == 'B' ? 1024 + h % 3072 : h % 200;

	h_fill(v, len, h ^ 0x76616c7565ULL);
	return len;
}

static int val_ok(const void *key, size_t klen, const void *v, size_t vlen)
{
	uint8_t want[VAL_MAX];
	size_t len = val_of(key, klen, want);

	return vlen == len && !memcmp(v, want, len);
}

static void create_ok(struct tdb *db, const char *name, uint32_t dur)
{
	struct tdb_create_opts co = { .durability = dur };
	int rc = tdb_create(db, name, &co);

	if (rc)
		fail_msg("create %s: %s", name, tdb_strerror(rc));
}

static void put_ok(struct tdb *db, const char *t, const char *key)
{
	uint8_t v[VAL_MAX];
	size_t vlen = val_of(key, strlen(key), v);
	int rc = tdb_put(db, t, key, strlen(key), v, vlen, 0);

	if (rc)
		fail_msg("put %s/%s: %s", t, key, tdb_strerror(rc));
}

/* Copies the regular files of directory @src into @dst (made if needed). */
static void copy_dir(const char *src, const char *dst)
{
	char a[PATH_MAX], b[PATH_MAX], buf[65536];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(src);
	int in, out;
	ssize_t n;

	assert_non_null(d);
	if (mkdir(dst, 0755) < 0)
		assert_int_equal(errno, EEXIST);
	while ((e = readdir(d))) {
		o_fmt(a, sizeof(a), "%s/%s", src, e->d_name);
		o_fmt(b, sizeof(b), "%s/%s", dst, e->d_name);
		if (lstat(a, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		in = open(a, O_RDONLY | O_CLOEXEC);
		out = open(b, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		assert_true(in >= 0 && out >= 0);
		while ((n = read(in, buf, sizeof(buf))) > 0)
			assert_int_equal(write(out, buf, (size_t)n), n);
		assert_int_equal(n, 0);
		close(in);
		close(out);
	}
	closedir(d);
}

/* Replaces directory @dst by a copy of @src. */
static void restore_dir(const char *src, const char *dst)
{
	owner_rm_rf(dst);
	copy_dir(src, dst);
}

/*
 * The names in @dir that start with @prefix and end with @suffix, sorted
 * (hex LSNs of equal width sort as numbers): a malloc'd array of
 * malloc'd strings, its length in *@n.
 */
static char **list_names(const char *dir, const char *prefix,
			 const char *suffix, int *n)
{
	struct dirent *e;
	char **v = NULL;
	DIR *d = opendir(dir);
	size_t pl = strlen(prefix), sl = strlen(suffix);
	int i, j;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l < pl + sl || strncmp(e->d_name, prefix, pl) ||
		    strcmp(e->d_name + l - sl, suffix))
			continue;
		v = realloc(v, sizeof(*v) * (size_t)(*n + 1));
		assert_non_null(v);
		v[(*n)++] = strdup(e->d_name);
	}
	closedir(d);
	for (i = 1; i < *n; i++)
		for (j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v;
}

static void free_names(char **v, int n)
{
	while (n-- > 0)
		free(v[n]);
	free(v);
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* ---- reading the log as core/wal.h lays it out ---------------------------- */

#define WAL_SEG_HDR 24
#define WAL_REC_HDR 24
#define WAL_PUT 1
#define WAL_TABLE_CREATE 3

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* One record of the log as the test sees it. */
struct wrec {
	int seg; /* index into the sorted segment list */
	uint64_t off; /* file offset of its header */
	uint32_t len; /* payload */
	uint16_t type;
	char table[TDB_NAME_MAX];
	char key[64]; /* PUT: the key if it is short text, else "" */
};

struct wlog {
	char **segs; /* "wal-....log" names, sorted */
	int nsegs;
	uint64_t *sizes;
	struct wrec *recs;
	int nrecs;
};

/*
 * Reads every segment of @dir and lists its complete records (header and
 * payload within the file), trusting the lengths: the log the tests read
 * is one tdbd wrote, before the tests damage it.
 */
static void wlog_read(const char *dir, struct wlog *w)
{
	char path[PATH_MAX];
	int i, cap = 0;

	memset(w, 0, sizeof(*w));
	w->segs = list_names(dir, "wal-", ".log", &w->nsegs);
	w->sizes = calloc((size_t)w->nsegs + 1, sizeof(*w->sizes));
	assert_non_null(w->sizes);
	for (i = 0; i < w->nsegs; i++) {
		uint8_t *buf;
		uint64_t off, size;

		o_fmt(path, sizeof(path), "%s/%s", dir, w->segs[i]);
		buf = (uint8_t *)owner_read_file(path);
		size = file_size(path);
		w->sizes[i] = size;
		assert_non_null(buf);
		for (off = WAL_SEG_HDR; off + WAL_REC_HDR <= size;) {
			const uint8_t *h = buf + off, *p = h + WAL_REC_HDR;
			uint32_t len = le32(h + 4);
			struct wrec *r;

			if (off + WAL_REC_HDR + len > size)
				break;
			if (w->nrecs == cap) {
				cap = cap ? cap * 2 : 1024;
				w->recs = realloc(w->recs, sizeof(*w->recs) *
								   (size_t)cap);
				assert_non_null(w->recs);
			}
			r = &w->recs[w->nrecs++];
			memset(r, 0, sizeof(*r));
			r->seg = i;
			r->off = off;
			r->len = len;
			r->type = le16(h + 16);
			if ((r->type == WAL_PUT ||
			     r->type == WAL_TABLE_CREATE) &&
			    len >= 4) {
				uint16_t nlen = le16(p), klen = le16(p + 2);
				uint32_t fixed = r->type == WAL_PUT ? 8 : 36;

				if (nlen < TDB_NAME_MAX &&
				    fixed + nlen <= len) {
					memcpy(r->table, p + fixed, nlen);
					r->table[nlen] = '\0';
				}
				if (r->type == WAL_PUT &&
				    klen < sizeof(r->key) &&
				    8U + nlen + klen <= len) {
					memcpy(r->key, p + 8 + nlen, klen);
					r->key[klen] = '\0';
				}
			}
			off += WAL_REC_HDR + len;
		}
		free(buf);
	}
}

static void wlog_free(struct wlog *w)
{
	free_names(w->segs, w->nsegs);
	free(w->sizes);
	free(w->recs);
	memset(w, 0, sizeof(*w));
}

/* Flips the bits of the byte at @off of @path with @mask. */
static void flip_byte(const char *path, uint64_t off, uint8_t mask)
{
	uint8_t b;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	b ^= mask;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

/*
 * Does the current run's stderr have a line naming @file and @off (in
 * decimal or as 0x hex) and, if @reason is given, containing one of the
 * '|'-separated words of @reason (case-insensitive)?
 */
static int log_names(const struct owner *o, const char *file, uint64_t off,
		     const char *reason)
{
	char *s = owner_log(o), *line, *save = NULL;
	char dec[32], hex[32], words[128];
	int found = 0;

	o_fmt(dec, sizeof(dec), "%llu", (unsigned long long)off);
	o_fmt(hex, sizeof(hex), "0x%llx", (unsigned long long)off);
	for (line = strtok_r(s, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p, *w, *ws = NULL;
		int num = 0;

		if (!strstr(line, file))
			continue;
		/* the offset as a whole number somewhere on the line */
		for (p = line; (p = strstr(p, dec)); p++)
			if ((p == line || !isdigit((unsigned char)p[-1])) &&
			    !isdigit((unsigned char)p[strlen(dec)]))
				num = 1;
		if (strcasestr(line, hex))
			num = 1;
		if (!num)
			continue;
		if (!reason) {
			found = 1;
			break;
		}
		o_fmt(words, sizeof(words), "%s", reason);
		for (w = strtok_r(words, "|", &ws); w;
		     w = strtok_r(NULL, "|", &ws))
			if (strcasestr(line, w))
				found = 1;
	}
	free(s);
	return found;
}

/* Problems found by a check: the first MAX_PROBLEMS are printed. */
static int nproblems;

static void problem(const char *fmt, ...)
{
	va_list ap;

	if (nproblems++ >= MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	fputs("  problem: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static unsigned int env_uint(const char *name, unsigned int dflt)
{
	const char *s = getenv(name);

	return s && *s ? (unsigned int)strtoul(s, NULL, 0) : dflt;
}

/* ---- crash_sync and crash_async ------------------------------------------ */

#define CR_CHILDREN 4
#define CR_KEYS 12000 /* keys per child and round, at most */
#define CR_EPOCH 5 /* rounds that share a data directory */
#define CR_TABLE "crash"
#define CR_DEL_BIT 0x80000000U /* batch completion: a delete */

/*
 * The async promise that crash_async checks: a write acknowledged more
 * than the flush interval before the kill survives it.
 *
 * Only tdbd is killed, not the machine, so a record survives once the log
 * thread has write()n it to the segment (the page cache outlives the
 * process); its fdatasync matters for a power cut only.  Between the
 * owner's acknowledgement and that write() lie: up to one flush interval
 * (the log thread's period), the log thread's wake-up latency, and, when
 * the period ends during the fdatasync of the previous group, the rest of
 * that sync.  The clocks are read on the safe side: a child reads
 * CLOCK_MONOTONIC after tdb_put() returned (after the owner answered) and
 * the parent before it calls kill() (the owner dies after that).
 *
 * Two things are not the log's fault and get a margin each:
 *  - Scheduling noise: the test machines have 2 CPUs shared by 4 writing
 *    children, tdbd's workers, log and checkpoint threads, and a runnable
 *    thread can wait tens of ms.  ASYNC_SLACK_MS: 60 ms in a plain build
 *    (6 flush periods), 150 ms under ASan, where everything runs 2-5
 *    times slower; TDB_ASYNC_SLACK_MS overrides it.
 *  - The disk: no log can be on disk sooner than the disk syncs, and a
 *    single fdatasync on a busy ext4 (a checkpoint of several MiB being
 *    written beside the log, or the deletion of a large directory being
 *    committed) was seen to take 300 ms.  A probe process appends 4 KiB
 *    to a file in the test's directory and fdatasyncs it every 20 ms
 *    while the children write (an append, like the log's, needs a
 *    journal commit); the longest sync it saw in the last second before
 *    the kill (or the one it is still in) is added to the window of that
 *    round.  The test itself syncs after deleting a data directory.
 *
 * A log thread that never writes on its own (only when a segment fills,
 * at a checkpoint or at shutdown) or that sleeps a second when idle loses
 * writes hundreds of ms old in most rounds and fails; one that writes
 * every 50 ms instead of every 10 may pass: this test guards the promise,
 * sync_ack measures it more closely.  The oldest acknowledged write that
 * was lost and the longest disk stall are printed, over all rounds, to
 * show how much of the margin was used.
 */
#define ASYNC_FLUSH_MS 10
#define ASYNC_SLACK_MS (UNDER_SAN ? 150 : 60)

enum { K_NONE, K_PUT_SENT, K_PUT_ACKED, K_DEL_SENT, K_DEL_ACKED };
enum { V_MUSTNOT, V_MAY, V_MUST };

static const char *const k_state_name[] = {
	[K_NONE] = "never sent",
	[K_PUT_SENT] = "put sent, not answered",
	[K_PUT_ACKED] = "put acknowledged",
	[K_DEL_SENT] = "delete sent, not answered",
	[K_DEL_ACKED] = "delete acknowledged",
};

/* One key, in memory shared with the children that write it. */
struct cr_slot {
	uint64_t put_us; /* CLOCK_MONOTONIC when its put was answered */
	uint64_t del_us; /* ... its delete; 0: in an earlier round */
	uint8_t state; /* K_* */
};

struct cr_shm {
	uint32_t ready[CR_CHILDREN];
	uint32_t used[CR_EPOCH][CR_CHILDREN]; /* keys handed out */
	uint64_t nops[CR_CHILDREN][4]; /* puts, batched ops, dels, idle */
	struct cr_slot slot[CR_EPOCH][CR_CHILDREN][CR_KEYS];
};

struct cr_cfg {
	const char *what;
	uint32_t durability;
	uint64_t lag_us; /* async: the window; 0: every ack must hold */
	const char *const *args;
};

struct cr_totals {
	uint64_t puts_acked, dels_acked, must, may_present, may_absent;
	uint64_t lost_acked; /* async: acked, inside the window */
	uint64_t max_stall_us; /* async: the disk probe's longest */
	uint64_t max_lost_age_us; /* async: the oldest of those */
	unsigned int capped, long_rounds;
};

static int cr_key(char *k, unsigned int r, unsigned int c, unsigned int n)
{
	return snprintf(k, 32, "r%u-c%u-%05u", r, c, n);
}

/* The key's round, child and number; 0, or -1 if it is none of ours. */
static int cr_parse(const void *key, size_t klen, unsigned int *r,
		    unsigned int *c, unsigned int *n)
{
	char k[40], again[32];

	if (klen == 0 || klen >= sizeof(k))
		return -1;
	memcpy(k, key, klen);
	k[klen] = '\0';
	if (sscanf(k, "r%u-c%u-%u", r, c, n) != 3 || *r >= CR_EPOCH ||
	    *c >= CR_CHILDREN || *n >= CR_KEYS)
		return -1;
	cr_key(again, *r, *c, *n);
	return strcmp(k, again) ? -1 : 0;
}

/* Must the key be there after a kill, may it, or must it not? */
static int cr_verdict(const struct cr_slot *sl, uint64_t deadline)
{
	switch (sl->state) {
	case K_PUT_ACKED:
		return sl->put_us <= deadline ? V_MUST : V_MAY;
	case K_DEL_ACKED:
		return sl->del_us <= deadline ? V_MUSTNOT : V_MAY;
	case K_PUT_SENT:
	case K_DEL_SENT:
		return V_MAY;
	default:
		return V_MUSTNOT;
	}
}

/* A random key of ours whose put was acknowledged, or -1. */
static int cr_pick_acked(const struct cr_slot *sl, uint32_t used, uint64_t *rng)
{
	int i, n;

	for (i = 0; used && i < 8; i++) {
		n = (int)h_rand_below(rng, used);
		if (sl[n].state == K_PUT_ACKED)
			return n;
	}
	return -1;
}

/*
 * A writing child: plain puts, batches of puts and deletes (pipelined),
 * plain deletes, as fast as it can, recording each request before it is
 * sent and each answer after it came, until the owner dies (exit 0).
 * Any other failure exits 1 through CHILD_CHECK.
 */
static void cr_child(const struct owner *o, struct cr_shm *m, unsigned int r,
		     unsigned int c, uint64_t rng)
{
	struct cr_slot *sl = m->slot[r][c];
	uint32_t *used = &m->used[r][c];
	struct tdb_completion comp[64];
	struct tdb_batch *b;
	struct tdb *db;
	uint8_t v[VAL_MAX];
	char k[32];
	int rc, i, j, n, klen, dead;
	size_t vlen;

	rc = owner_connect(o, &db);
	CHILD_CHECK(rc == 0, "connect: %s", tdb_strerror(rc));
	b = tdb_batch_new(db, 64);
	CHILD_CHECK(b, "tdb_batch_new: %s", strerror(errno));
	__atomic_store_n(&m->ready[c], 1, __ATOMIC_RELEASE);
	for (;;) {
		uint32_t dice = h_rand_below(&rng, 100);

		if (*used >= CR_KEYS) {
			/* out of keys: wait for the owner to die */
			rc = tdb_get(db, CR_TABLE, "idle", 4, NULL, 0, NULL);
			if (conn_error(rc))
				_exit(0);
			CHILD_CHECK(rc == -ENOENT, "get: %s", tdb_strerror(rc));
			m->nops[c][3]++;
			h_sleep_us(1000);
		} else if (dice < 8) {
			i = cr_pick_acked(sl, *used, &rng);
			if (i < 0)
				continue;
			klen = cr_key(k, r, c, (unsigned int)i);
			sl[i].state = K_DEL_SENT;
			rc = tdb_del(db, CR_TABLE, k, (size_t)klen);
			if (conn_error(rc))
				_exit(0);
			CHILD_CHECK(rc == 0, "del %s (put acknowledged): %s", k,
				    tdb_strerror(rc));
			sl[i].del_us = h_now_us();
			sl[i].state = K_DEL_ACKED;
			m->nops[c][2]++;
		} else if (dice < 45) {
			n = 1 + (int)h_rand_below(&rng, 64);
			for (j = 0; j < n && *used < CR_KEYS; j++) {
				i = h_rand_below(&rng, 8) ?
					    -1 :
					    cr_pick_acked(sl, *used, &rng);
				if (i >= 0) {
					klen = cr_key(k, r, c, (unsigned int)i);
					sl[i].state = K_DEL_SENT;
					rc = tdb_batch_del(
						b, CR_TABLE, k, (size_t)klen,
						(void *)(uintptr_t)((uint32_t)i |
								    CR_DEL_BIT));
				} else {
					i = (int)(*used)++;
					klen = cr_key(k, r, c, (unsigned int)i);
					vlen = val_of(k, (size_t)klen, v);
					sl[i].state = K_PUT_SENT;
					rc = tdb_batch_put(
						b, CR_TABLE, k, (size_t)klen, v,
						vlen, 0, (void *)(uintptr_t)i);
				}
				if (conn_error(rc))
					_exit(0);
				CHILD_CHECK(rc == 0, "queue: %s",
					    tdb_strerror(rc));
			}
			rc = tdb_batch_submit(b);
			if (conn_error(rc))
				_exit(0);
			CHILD_CHECK(rc == 0, "submit: %s", tdb_strerror(rc));
			dead = 0;
			while (tdb_batch_pending(b)) {
				uint64_t now;

				rc = tdb_batch_reap(b, comp, 64, 1);
				if (conn_error(rc))
					_exit(0);
				CHILD_CHECK(rc > 0, "reap: %s",
					    tdb_strerror(rc));
				now = h_now_us();
				for (j = 0; j < rc; j++) {
					uint32_t u =
						(uint32_t)(uintptr_t)comp[j]
							.user;
					struct cr_slot *x =
						&sl[u & ~CR_DEL_BIT];

					if (conn_error(comp[j].status)) {
						dead = 1;
						continue;
					}
					CHILD_CHECK(
						comp[j].status == 0,
						"batch %s #%u: %s",
						u & CR_DEL_BIT ? "del" : "put",
						u & ~CR_DEL_BIT,
						tdb_strerror(comp[j].status));
					if (u & CR_DEL_BIT) {
						x->del_us = now;
						x->state = K_DEL_ACKED;
					} else {
						x->put_us = now;
						x->state = K_PUT_ACKED;
					}
				}
				m->nops[c][1] += (uint64_t)rc;
				if (dead)
					_exit(0);
			}
		} else {
			i = (int)(*used)++;
			klen = cr_key(k, r, c, (unsigned int)i);
			vlen = val_of(k, (size_t)klen, v);
			sl[i].state = K_PUT_SENT;
			rc = tdb_put(db, CR_TABLE, k, (size_t)klen, v, vlen, 0);
			if (conn_error(rc))
				_exit(0);
			CHILD_CHECK(rc == 0, "put %s: %s", k, tdb_strerror(rc));
			sl[i].put_us = h_now_us();
			sl[i].state = K_PUT_ACKED;
			m->nops[c][0]++;
		}
	}
}

static void cr_describe(char *buf, size_t cap, const struct cr_slot *sl,
			uint64_t kill_us)
{
	uint64_t t = sl->state >= K_DEL_ACKED ? sl->del_us : sl->put_us;

	if (sl->state == K_PUT_ACKED || sl->state == K_DEL_ACKED) {
		if (t)
			o_fmt(buf, cap, "%s %.1f ms before the kill",
			      k_state_name[sl->state],
			      (double)((int64_t)(kill_us - t)) / 1000.0);
		else
			o_fmt(buf, cap,
			      "%s (seen so after an earlier "
			      "restart)",
			      k_state_name[sl->state]);
	} else {
		o_fmt(buf, cap, "%s", k_state_name[sl->state]);
	}
}

/* Reaps at least @min answers of cr_verify()'s gets and checks them. */
static void cr_check_gets(struct tdb_batch *b, uint8_t (*seen)[CR_KEYS],
			  unsigned int e, unsigned int min)
{
	struct tdb_completion comp[64];
	char key[32];
	int got, j, klen;

	got = tdb_batch_reap(b, comp, 64, min);
	assert_true(got > 0);
	for (j = 0; j < got; j++) {
		unsigned int u = (unsigned int)(uintptr_t)comp[j].user;
		unsigned int c = u / CR_KEYS, n = u % CR_KEYS;

		klen = cr_key(key, e, c, n);
		if (seen[c][n] &&
		    (comp[j].status != 0 ||
		     !val_ok(key, (size_t)klen, comp[j].val, comp[j].vlen)))
			problem("get '%s' after the scan found it: %s", key,
				comp[j].status ? tdb_strerror(comp[j].status) :
						 "wrong value");
		if (!seen[c][n] && comp[j].status != -ENOENT)
			problem("get '%s' after the scan missed it: %s", key,
				tdb_strerror(comp[j].status));
	}
}

/*
 * After a kill and restart: the table holds every key that must be there
 * with its value, none that must not, nothing foreign.  Then keys that
 * were in doubt are settled as found (they must stay so from now on).
 */
static void cr_verify(struct dstate *s, struct cr_shm *m, unsigned int e,
		      uint64_t kill_us, uint64_t lag_us,
		      const struct cr_cfg *cfg, struct cr_totals *tot,
		      unsigned int round, unsigned int delay_ms)
{
	static uint8_t seen[CR_EPOCH][CR_CHILDREN][CR_KEYS];
	uint64_t deadline = lag_us ? kill_us - lag_us : UINT64_MAX;
	/* this round's acknowledged writes: newest kept, oldest lost */
	uint64_t kept_us = UINT64_MAX, lost_us = 0, nacks = 0;
	struct tdb_table_info info;
	struct tdb_scan *sc;
	struct tdb_batch *b;
	struct tdb *db = connect_ok(&s->o);
	const void *k, *v;
	size_t kl, vl;
	uint64_t nrec = 0;
	unsigned int r, c, n;
	char desc[128], key[32];
	int rc;

	nproblems = 0;
	rc = tdb_info(db, CR_TABLE, &info);
	if (rc)
		fail_msg("round %u: table %s after the restart: %s", round,
			 CR_TABLE, tdb_strerror(rc));
	if (info.durability != cfg->durability)
		problem("durability %u after the restart, created as %u",
			info.durability, cfg->durability);
	memset(seen, 0, sizeof(seen));
	rc = tdb_scan_open(db, CR_TABLE, &sc);
	if (rc)
		fail_msg("round %u: scan: %s", round, tdb_strerror(rc));
	while ((rc = tdb_scan_next(sc, &k, &kl, &v, &vl)) == 1) {
		nrec++;
		if (cr_parse(k, kl, &r, &c, &n) || r > e ||
		    n >= m->used[r][c]) {
			problem("a key that was never written: '%.*s' (%zu "
				"bytes, value %zu bytes)",
				(int)(kl < 40 ? kl : 40), (const char *)k, kl,
				vl);
			continue;
		}
		if (seen[r][c][n]++)
			problem("'%.*s' returned twice by the scan", (int)kl,
				(const char *)k);
		if (!val_ok(k, kl, v, vl))
			problem("'%.*s' has a wrong value (%zu bytes)", (int)kl,
				(const char *)k, vl);
		if (cr_verdict(&m->slot[r][c][n], deadline) == V_MUSTNOT) {
			cr_describe(desc, sizeof(desc), &m->slot[r][c][n],
				    kill_us);
			problem("'%.*s' is present but was %s", (int)kl,
				(const char *)k, desc);
		}
	}
	tdb_scan_close(sc);
	if (rc < 0)
		fail_msg("round %u: scan: %s", round, tdb_strerror(rc));
	if (info.records != nrec)
		problem("tdb_info counts %llu records, the scan found %llu",
			(unsigned long long)info.records,
			(unsigned long long)nrec);

	for (r = 0; r <= e; r++)
		for (c = 0; c < CR_CHILDREN; c++)
			for (n = 0; n < m->used[r][c]; n++) {
				struct cr_slot *sl = &m->slot[r][c][n];
				int verdict = cr_verdict(sl, deadline);

				if (r == e) {
					tot->puts_acked += sl->state >=
							   K_PUT_ACKED;
					tot->dels_acked += sl->state ==
							   K_DEL_ACKED;
				}
				if (verdict == V_MUST && !seen[r][c][n]) {
					cr_key(key, r, c, n);
					cr_describe(desc, sizeof(desc), sl,
						    kill_us);
					problem("'%s' is missing but was %s",
						key, desc);
				}
				if (r == e && (sl->state == K_PUT_ACKED ||
					       sl->state == K_DEL_ACKED)) {
					uint64_t t = sl->state == K_PUT_ACKED ?
							     sl->put_us :
							     sl->del_us;
					int kept = (sl->state == K_PUT_ACKED) ==
						   !!seen[r][c][n];

					nacks++;
					if (t && t < kill_us && kept &&
					    kill_us - t < kept_us)
						kept_us = kill_us - t;
					if (t && t < kill_us && !kept &&
					    kill_us - t > lost_us)
						lost_us = kill_us - t;
				}
				if (r == e && verdict == V_MUST)
					tot->must++;
				if (r == e && verdict == V_MAY)
					seen[r][c][n] ? tot->may_present++ :
							tot->may_absent++;
				if (r == e && verdict == V_MAY &&
				    !seen[r][c][n] &&
				    sl->state == K_PUT_ACKED) {
					tot->lost_acked++;
					/* an ack may be read after the kill */
					if (sl->put_us < kill_us &&
					    kill_us - sl->put_us >
						    tot->max_lost_age_us)
						tot->max_lost_age_us =
							kill_us - sl->put_us;
				}
			}

	/* The index agrees with the scan: a get of each present key. */
	b = tdb_batch_new(db, 256);
	assert_non_null(b);
	for (c = 0; c < CR_CHILDREN; c++)
		for (n = 0; n < m->used[e][c]; n++) {
			int klen = cr_key(key, e, c, n);

			if (!seen[e][c][n] && n % 4)
				continue; /* a sample of the absent ones */
			rc = tdb_batch_get(
				b, CR_TABLE, key, (size_t)klen,
				(void *)(uintptr_t)(c * CR_KEYS + n));
			assert_int_equal(rc, 0);
			if (tdb_batch_pending(b) >= 256)
				cr_check_gets(b, seen[e], e, 1);
		}
	while (tdb_batch_pending(b))
		cr_check_gets(b, seen[e], e, 1);
	tdb_batch_free(b);
	close_db(db);

	if (nproblems && getenv("TDB_DURABLE_DUMP")) {
		FILE *f = fopen(getenv("TDB_DURABLE_DUMP"), "w");

		for (c = 0; f && c < CR_CHILDREN; c++)
			for (n = 0; n < m->used[e][c]; n++) {
				struct cr_slot *sl = &m->slot[e][c][n];

				fprintf(f, "%u %u %u %lld %lld %d\n", c, n,
					sl->state,
					sl->put_us ? (long long)(kill_us -
								 sl->put_us) :
						     -1,
					sl->del_us ? (long long)(kill_us -
								 sl->del_us) :
						     -1,
					seen[e][c][n]);
			}
		if (f)
			fclose(f);
	}
	if (nproblems) {
		owner_log_print(&s->o, 30);
		fprintf(stderr,
			"  this round: killed %u ms into the writing "
			"(window %.1f ms); %llu writes acknowledged, the "
			"newest whose effect survived %.1f ms before the "
			"kill, the oldest whose effect did not %.1f ms before "
			"it\n",
			delay_ms, (double)lag_us / 1000.0,
			(unsigned long long)nacks,
			kept_us == UINT64_MAX ? -1.0 : (double)kept_us / 1000.0,
			(double)lost_us / 1000.0);
		fail_msg("%s round %u (data directory round %u): %d "
			 "problem(s), the first %d above",
			 cfg->what, round, e, nproblems,
			 nproblems < MAX_PROBLEMS ? nproblems : MAX_PROBLEMS);
	}

	/* Settle the doubtful keys as found. */
	for (r = 0; r <= e; r++)
		for (c = 0; c < CR_CHILDREN; c++)
			for (n = 0; n < m->used[r][c]; n++) {
				struct cr_slot *sl = &m->slot[r][c][n];

				if (sl->state == K_NONE)
					continue;
				if (seen[r][c][n]) {
					sl->state = K_PUT_ACKED;
					sl->put_us = 0;
				} else {
					sl->state = K_DEL_ACKED;
					sl->del_us = 0;
				}
			}
}

/* The disk probe of crash_async (see ASYNC_SLACK_MS). */
struct probe_shm {
	uint64_t in_sync; /* start of the sync it is in, 0: none */
	uint32_t n;
	struct {
		uint64_t start, end;
	} slow[1024]; /* syncs over 5 ms */
};

static void probe_main(struct probe_shm *p, const char *dir)
{
	char path[PATH_MAX], buf[4096];
	uint64_t t, i;
	int fd;

	o_fmt(path, sizeof(path), "%s/probe", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHILD_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	memset(buf, 0x70, sizeof(buf));
	for (i = 0;; i++) {
		/* appends, as the log does: each sync commits metadata */
		if (i % 256 == 0)
			CHILD_CHECK(ftruncate(fd, 0) == 0, "probe truncate: %s",
				    strerror(errno));
		CHILD_CHECK(pwrite(fd, buf, sizeof(buf),
				   (off_t)(i % 256) * 4096) == sizeof(buf),
			    "probe write: %s", strerror(errno));
		t = h_now_us();
		__atomic_store_n(&p->in_sync, t, __ATOMIC_RELEASE);
		fdatasync(fd);
		__atomic_store_n(&p->in_sync, 0, __ATOMIC_RELEASE);
		if (h_now_us() - t > 5000 && p->n < 1024) {
			p->slow[p->n].start = t;
			p->slow[p->n].end = h_now_us();
			__atomic_store_n(&p->n, p->n + 1, __ATOMIC_RELEASE);
		}
		h_sleep_us(20000);
	}
}

/* The longest probe sync that overlapped the second before @kill_us. */
static uint64_t probe_stall(struct probe_shm *p, uint64_t kill_us)
{
	uint64_t worst = 0,
		 now = __atomic_load_n(&p->in_sync, __ATOMIC_ACQUIRE);
	uint32_t i, n = __atomic_load_n(&p->n, __ATOMIC_ACQUIRE);

	if (now && now < kill_us)
		worst = kill_us - now;
	for (i = 0; i < n; i++)
		if (p->slow[i].end + 1000000 >= kill_us &&
		    p->slow[i].start < kill_us &&
		    p->slow[i].end - p->slow[i].start > worst)
			worst = p->slow[i].end - p->slow[i].start;
	return worst;
}

static void crash_rounds(struct dstate *s, const struct cr_cfg *cfg)
{
	unsigned int rounds = env_uint("TDB_CRASH_ROUNDS", 30), round, c;
	uint64_t seed = env_uint("TDB_CRASH_SEED", (unsigned int)time(NULL));
	uint64_t rng = seed, t0 = h_now_ms(), kill_us, ops[4] = { 0 };
	struct cr_totals tot = { 0 };
	struct probe_shm *probe = NULL;
	uint64_t lag_us, stall;
	struct cr_shm *m;
	struct tdb *db;

	print_message("%s: %u rounds, seed %llu (TDB_CRASH_SEED)\n", cfg->what,
		      rounds, (unsigned long long)seed);
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	if (cfg->lag_us) {
		probe = mmap(NULL, sizeof(*probe), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		assert_true(probe != MAP_FAILED);
	}
	for (round = 0; round < rounds; round++) {
		unsigned int e = round % CR_EPOCH, delay_ms;
		uint64_t end;

		if (e == 0) {
			if (round) {
				stop_ok(&s->o);
				owner_rm_rf(s->o.data);
				/* our deletions are not tdbd's disk stall */
				sync();
			}
			memset(m, 0, sizeof(*m));
			start_ok(&s->o, cfg->args);
			db = connect_ok(&s->o);
			create_ok(db, CR_TABLE, cfg->durability);
			close_db(db);
		}
		memset(m->ready, 0, sizeof(m->ready));
		if (round % 10 == 2) {
			/* long enough for a checkpoint to run meanwhile */
			delay_ms = 1000 + h_rand_below(&rng, 500);
			tot.long_rounds++;
		} else {
			delay_ms = 20 + h_rand_below(&rng, 281);
		}
		if (probe) {
			memset(probe, 0, sizeof(*probe));
			s->kids[CR_CHILDREN] = fork();
			assert_true(s->kids[CR_CHILDREN] >= 0);
			if (s->kids[CR_CHILDREN] == 0)
				probe_main(probe, s->o.dir);
		}
		for (c = 0; c < CR_CHILDREN; c++) {
			pid_t pid = fork();

			assert_true(pid >= 0);
			if (pid == 0) {
				cr_child(&s->o, m, e, c, h_rand(&rng) + c);
				_exit(0);
			}
			s->kids[c] = pid;
		}
		/* the clock starts when every child is connected */
		end = h_now_ms() + 20000;
		for (c = 0; c < CR_CHILDREN; c++)
			while (!__atomic_load_n(&m->ready[c],
						__ATOMIC_ACQUIRE)) {
				if (h_now_ms() > end ||
				    waitpid(s->kids[c], NULL, WNOHANG) ==
					    s->kids[c]) {
					s->kids[c] = 0;
					fail_msg("round %u: child %u did not "
						 "start writing",
						 round, c);
				}
				h_sleep_us(1000);
			}
		h_sleep_us(delay_ms * 1000UL);
		kill_us = h_now_us();
		kill_ok(&s->o);
		lag_us = cfg->lag_us;
		if (probe) {
			stall = probe_stall(probe, kill_us);
			kill(s->kids[CR_CHILDREN], SIGKILL);
			waitpid(s->kids[CR_CHILDREN], NULL, 0);
			s->kids[CR_CHILDREN] = 0;
			lag_us += stall;
			if (stall > tot.max_stall_us)
				tot.max_stall_us = stall;
		}
		for (c = 0; c < CR_CHILDREN; c++) {
			int st = h_wait_child(s->kids[c], 20000);

			s->kids[c] = 0;
			if (st != 0)
				fail_msg("round %u: writing child %u ended "
					 "with status %d (see its message "
					 "above)",
					 round, c, st);
			if (m->used[e][c] >= CR_KEYS)
				tot.capped++;
		}
		start_ok(&s->o, cfg->args);
		cr_verify(s, m, e, kill_us, lag_us, cfg, &tot, round, delay_ms);
	}
	stop_ok(&s->o);
	for (c = 0; c < CR_CHILDREN; c++) {
		ops[0] += m->nops[c][0];
		ops[1] += m->nops[c][1];
		ops[2] += m->nops[c][2];
	}
	print_message("%s: %u rounds in %llu ms: %llu puts and %llu deletes "
		      "acknowledged (%llu plain puts, %llu batched ops, %llu "
		      "plain deletes in the last data directory); after the "
		      "kills %llu had to be there, of those in doubt %llu "
		      "were there and %llu not; %u child-rounds ran out of "
		      "keys; %u long rounds\n",
		      cfg->what, rounds, (unsigned long long)(h_now_ms() - t0),
		      (unsigned long long)tot.puts_acked,
		      (unsigned long long)tot.dels_acked,
		      (unsigned long long)ops[0], (unsigned long long)ops[1],
		      (unsigned long long)ops[2], (unsigned long long)tot.must,
		      (unsigned long long)tot.may_present,
		      (unsigned long long)tot.may_absent, tot.capped,
		      tot.long_rounds);
	if (cfg->lag_us)
		print_message("%s: %llu acknowledged puts lost inside the "
			      "window (%llu ms, plus the disk's stall of each "
			      "round: %.1f ms at most); the oldest was "
			      "acknowledged %.1f ms before the kill\n",
			      cfg->what, (unsigned long long)tot.lost_acked,
			      (unsigned long long)cfg->lag_us / 1000,
			      (double)tot.max_stall_us / 1000.0,
			      (double)tot.max_lost_age_us / 1000.0);
	if (probe)
		munmap(probe, sizeof(*probe));
	if (tot.must == 0)
		fail_msg("%s: no round had a write old enough to have to "
			 "survive: the test proved nothing",
			 cfg->what);
	munmap(m, sizeof(*m));
}

static void test_crash_sync(void **state)
{
	static const char *const args[] = { "--checkpoint-interval", "1",
					    "--segment-size", "4M", NULL };
	struct cr_cfg cfg = {
		.what = "crash_sync",
		.durability = TDB_DUR_SYNC,
		.args = args,
	};

	crash_rounds(*state, &cfg);
}

static void test_crash_async(void **state)
{
	static const char *const args[] = { "--checkpoint-interval",
					    "1",
					    "--segment-size",
					    "4M",
					    "--flush-interval",
					    "10",
					    NULL };
	struct cr_cfg cfg = {
		.what = "crash_async",
		.durability = TDB_DUR_ASYNC,
		.lag_us = 1000ULL *
			  (ASYNC_FLUSH_MS +
			   env_uint("TDB_ASYNC_SLACK_MS", ASYNC_SLACK_MS)),
		.args = args,
	};

	crash_rounds(*state, &cfg);
}

/* ---- sync_ack ------------------------------------------------------------- */

/* A child for the group-commit check: pipelined sync puts for @ms. */
static void gc_child(const struct owner *o, unsigned int id, unsigned int ms,
		     int out_fd)
{
	struct tdb_completion comp[64];
	struct tdb_batch *b;
	struct tdb *db;
	uint8_t v[VAL_MAX];
	uint64_t end, acked = 0;
	unsigned int n = 0;
	char k[32];
	size_t vlen;
	int rc, i;

	rc = owner_connect(o, &db);
	CHILD_CHECK(rc == 0, "connect: %s", tdb_strerror(rc));
	b = tdb_batch_new(db, 128);
	CHILD_CHECK(b, "batch");
	end = h_now_ms() + ms;
	while (h_now_ms() < end) {
		o_fmt(k, sizeof(k), "g%u-%06u", id, n++);
		vlen = val_of(k, strlen(k), v);
		rc = tdb_batch_put(b, "sa_sync", k, strlen(k), v, vlen, 0,
				   NULL);
		CHILD_CHECK(rc == 0, "queue: %s", tdb_strerror(rc));
		rc = tdb_batch_reap(b, comp, 64, 0);
		CHILD_CHECK(rc >= 0, "reap: %s", tdb_strerror(rc));
		for (i = 0; i < rc; i++) {
			CHILD_CHECK(comp[i].status == 0, "put: %s",
				    tdb_strerror(comp[i].status));
			acked++;
		}
	}
	while (tdb_batch_pending(b)) {
		rc = tdb_batch_reap(b, comp, 64, 1);
		CHILD_CHECK(rc > 0, "reap: %s", tdb_strerror(rc));
		for (i = 0; i < rc; i++) {
			CHILD_CHECK(comp[i].status == 0, "put: %s",
				    tdb_strerror(comp[i].status));
			acked++;
		}
	}
	CHILD_CHECK(write(out_fd, &acked, sizeof(acked)) == sizeof(acked),
		    "pipe");
	tdb_close(db);
	_exit(0);
}

static void test_sync_ack(void **state)
{
	struct dstate *s = *state;
	static const char *const args[] = { "--flush-interval", "10", NULL };
	unsigned int slack = env_uint("TDB_ASYNC_SLACK_MS", ASYNC_SLACK_MS);
	struct tdb_table_info ti, ti2;
	struct tdb_stats st0, st1;
	uint64_t t, worst = 0, acked = 0, total = 0, rng = 42;
	struct tdb *db;
	char k[32];
	int i, c, pfd[2];

	start_ok(&s->o, args);
	db = connect_ok(&s->o);
	create_ok(db, "sa_sync", TDB_DUR_SYNC);
	create_ok(db, "sa_async", TDB_DUR_ASYNC);
	create_ok(db, "sa_mem", TDB_DUR_MEMORY);

	/* A sync write is answered once the log is durable past it. */
	info_ok(db, "sa_sync", &ti);
	for (i = 0; i < 50; i++) {
		uint64_t prev = ti.log_lsn;

		o_fmt(k, sizeof(k), "s%03d", i);
		stats_ok(db, &st0);
		put_ok(db, "sa_sync", k);
		info_ok(db, "sa_sync", &ti);
		stats_ok(db, &st1);
		if (ti.log_lsn <= prev)
			fail_msg("sync put %d: the table's log_lsn went from "
				 "%llu to %llu",
				 i, (unsigned long long)prev,
				 (unsigned long long)ti.log_lsn);
		if (st1.log_durable_lsn < ti.log_lsn)
			fail_msg("sync put %d answered with the log durable to "
				 "%llu only, the write ends at %llu",
				 i, (unsigned long long)st1.log_durable_lsn,
				 (unsigned long long)ti.log_lsn);
		if (st1.log_syncs <= st0.log_syncs)
			fail_msg("sync put %d answered without a sync of the "
				 "log (log_syncs %llu before and after)",
				 i, (unsigned long long)st1.log_syncs);
		if (st1.log_error)
			fail_msg("log_error %d", st1.log_error);
	}

	/* An async write is durable within the flush interval (+ slack). */
	for (i = 0; i < 20; i++) {
		o_fmt(k, sizeof(k), "a%03d", i);
		put_ok(db, "sa_async", k);
		t = h_now_us();
		info_ok(db, "sa_async", &ti);
		do {
			stats_ok(db, &st1);
			if (st1.log_durable_lsn >= ti.log_lsn)
				break;
			h_sleep_us(500);
		} while (h_now_us() - t < 2000000);
		t = h_now_us() - t;
		if (st1.log_durable_lsn < ti.log_lsn)
			fail_msg("async put %d: not durable after 2 s (log "
				 "durable to %llu, the write ends at %llu)",
				 i, (unsigned long long)st1.log_durable_lsn,
				 (unsigned long long)ti.log_lsn);
		if (t > worst)
			worst = t;
		h_sleep_us(h_rand_below(&rng, 10000));
	}
	print_message("async writes durable after %.1f ms at worst "
		      "(--flush-interval 10, limit %u ms)\n",
		      (double)worst / 1000.0, ASYNC_FLUSH_MS + slack);
	if (worst > 1000ULL * (ASYNC_FLUSH_MS + slack))
		fail_msg("an async write became durable %.1f ms after it was "
			 "answered; --flush-interval is 10 ms (slack %u ms)",
			 (double)worst / 1000.0, slack);

	/* A memory table never reaches the log. */
	put_ok(db, "sa_sync", "settle");
	h_sleep_us(50000);
	stats_ok(db, &st0);
	for (i = 0; i < 100; i++) {
		o_fmt(k, sizeof(k), "m%03d", i);
		put_ok(db, "sa_mem", k);
	}
	assert_int_equal(tdb_del(db, "sa_mem", "m000", 4), 0);
	h_sleep_us(50000);
	stats_ok(db, &st1);
	info_ok(db, "sa_mem", &ti);
	if (ti.log_lsn != 0 || st1.log_durable_lsn != st0.log_durable_lsn ||
	    st1.log_bytes != st0.log_bytes)
		fail_msg("101 writes to a memory table: its log_lsn %llu, the "
			 "log's durable LSN %llu -> %llu, log_bytes %llu -> "
			 "%llu",
			 (unsigned long long)ti.log_lsn,
			 (unsigned long long)st0.log_durable_lsn,
			 (unsigned long long)st1.log_durable_lsn,
			 (unsigned long long)st0.log_bytes,
			 (unsigned long long)st1.log_bytes);
	if (ti.durability != TDB_DUR_MEMORY)
		fail_msg("sa_mem durability %u", ti.durability);

	/* Group commit: 4 clients pipelining sync puts share syncs. */
	stats_ok(db, &st0);
	assert_int_equal(pipe(pfd), 0);
	for (c = 0; c < 4; c++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			gc_child(&s->o, (unsigned int)c, 2100, pfd[1]);
		}
		s->kids[c] = pid;
	}
	close(pfd[1]);
	for (c = 0; c < 4; c++) {
		int st = h_wait_child(s->kids[c], 30000);

		s->kids[c] = 0;
		if (st != 0)
			fail_msg("group-commit child %d: status %d", c, st);
		assert_int_equal(read(pfd[0], &acked, sizeof(acked)),
				 sizeof(acked));
		total += acked;
	}
	close(pfd[0]);
	stats_ok(db, &st1);
	print_message("group commit: %llu sync puts from 4 pipelining "
		      "clients took %llu syncs (%.1f writes per sync); rates "
		      "now %u writes/s, %u syncs/s\n",
		      (unsigned long long)total,
		      (unsigned long long)(st1.log_syncs - st0.log_syncs),
		      (double)(st1.log_writes - st0.log_writes) /
			      (double)(st1.log_syncs - st0.log_syncs +
				       !(st1.log_syncs - st0.log_syncs)),
		      st1.log_write_rate, st1.log_sync_rate);
	if (st1.log_writes - st0.log_writes < total)
		fail_msg("log_writes grew by %llu for %llu acknowledged sync "
			 "puts",
			 (unsigned long long)(st1.log_writes - st0.log_writes),
			 (unsigned long long)total);
	/* 2.1 s of writing: the last whole second was all busy */
	if (!st1.log_write_rate || !st1.log_sync_rate ||
	    st1.log_write_rate < 4 * st1.log_sync_rate ||
	    st1.log_write_rate > total)
		fail_msg("after 2.1 s of pipelined sync puts (%llu in all), "
			 "the rates of the last whole second: %u writes/s, %u "
			 "syncs/s",
			 (unsigned long long)total, st1.log_write_rate,
			 st1.log_sync_rate);
	if (total < 100 || (st1.log_syncs - st0.log_syncs) * 4 > total)
		fail_msg("%llu pipelined sync puts needed %llu syncs: no group "
			 "commit (want at least 4 writes per sync)",
			 (unsigned long long)total,
			 (unsigned long long)(st1.log_syncs - st0.log_syncs));
	info_ok(db, "sa_sync", &ti2);
	if (ti2.records != 51 + total)
		fail_msg("sa_sync holds %llu records, want %llu",
			 (unsigned long long)ti2.records,
			 (unsigned long long)(51 + total));
	close_db(db);
	stop_ok(&s->o);
}

/* ---- torn_tail and corrupt ------------------------------------------------ */

#define LOG_ARGS_SMALL "--checkpoint-interval", "0", "--segment-size", "64K"

static void seq_key(char *k, const char *pfx, int i)
{
	o_fmt(k, 32, "%s%05d", pfx, i);
}

/*
 * The table holds exactly @pfx1 0..@n1-1 and @pfx2 0..@n2-1 with their
 * values (a scan, a get of each, and the record count).  @what says when.
 */
static void expect_exactly(struct tdb *db, const char *t, const char *pfx1,
			   int n1, const char *pfx2, int n2, const char *what)
{
	uint8_t *seen1 = calloc((size_t)n1 + 1, 1),
		*seen2 = calloc((size_t)n2 + 1, 1);
	struct tdb_table_info ti;
	struct tdb_scan *sc;
	const void *k, *v;
	size_t kl, vl, p1 = strlen(pfx1), p2 = strlen(pfx2);
	uint8_t buf[VAL_MAX];
	char key[32];
	int rc, i, nrec = 0, low1 = n1, low2 = n2;

	assert_true(seen1 && seen2);
	nproblems = 0;
	rc = tdb_scan_open(db, t, &sc);
	if (rc)
		fail_msg("%s: scan %s: %s", what, t, tdb_strerror(rc));
	while ((rc = tdb_scan_next(sc, &k, &kl, &v, &vl)) == 1) {
		char ks[40];

		nrec++;
		o_fmt(ks, sizeof(ks), "%.*s", (int)(kl < 39 ? kl : 39),
		      (const char *)k);
		i = -1;
		if (kl == p1 + 5 && !memcmp(k, pfx1, p1))
			i = atoi(ks + p1);
		if (i >= 0 && i < n1) {
			seen1[i]++;
		} else if (kl == p2 + 5 && !memcmp(k, pfx2, p2) &&
			   (i = atoi(ks + p2)) >= 0 && i < n2) {
			seen2[i]++;
		} else {
			problem("unexpected key '%s' (%zu bytes)", ks, kl);
			continue;
		}
		if (!val_ok(k, kl, v, vl))
			problem("'%s' has a wrong value (%zu bytes)", ks, vl);
	}
	tdb_scan_close(sc);
	if (rc < 0)
		fail_msg("%s: scan: %s", what, tdb_strerror(rc));
	for (i = 0; i < n1; i++)
		if (seen1[i] != 1 && low1 == n1)
			low1 = i;
	for (i = 0; i < n2; i++)
		if (seen2[i] != 1 && low2 == n2)
			low2 = i;
	if (low1 < n1)
		problem("%s%05d..%s%05d should all be there once; %s%05d is "
			"there %d times",
			pfx1, 0, pfx1, n1 - 1, pfx1, low1, seen1[low1]);
	if (low2 < n2)
		problem("%s%05d..%s%05d should all be there once; %s%05d is "
			"there %d times",
			pfx2, 0, pfx2, n2 - 1, pfx2, low2, seen2[low2]);
	info_ok(db, t, &ti);
	if (ti.records != (uint64_t)(n1 + n2) || nrec != n1 + n2)
		problem("%llu records counted, %d scanned, want %d",
			(unsigned long long)ti.records, nrec, n1 + n2);
	for (i = 0; i < n1 && !nproblems; i++) {
		seq_key(key, pfx1, i);
		rc = tdb_get(db, t, key, strlen(key), buf, sizeof(buf), &kl);
		if (rc || !val_ok(key, strlen(key), buf, kl))
			problem("get %s: %s", key,
				rc ? tdb_strerror(rc) : "wrong value");
	}
	free(seen1);
	free(seen2);
	if (nproblems)
		fail_msg("%s: table %s: %d problem(s), the first above", what,
			 t, nproblems);
}

/* The records a test wrote: PUTs of table @t in log order. */
static int puts_of(const struct wlog *w, const char *t, int upto_rec)
{
	int i, n = 0;

	for (i = 0; i < upto_rec && i < w->nrecs; i++)
		n += w->recs[i].type == WAL_PUT && !strcmp(w->recs[i].table, t);
	return n;
}

static int create_rec(const struct wlog *w, const char *t)
{
	int i;

	for (i = 0; i < w->nrecs; i++)
		if (w->recs[i].type == WAL_TABLE_CREATE &&
		    !strcmp(w->recs[i].table, t))
			return i;
	return -1;
}

static void test_torn_tail(void **state)
{
	struct dstate *s = *state;
	static const char *const args[] = { LOG_ARGS_SMALL, NULL };
	uint64_t rng = env_uint("TDB_CRASH_SEED", (unsigned int)time(NULL));
	char orig[PATH_MAX], last[PATH_MAX], k[32], what[160];
	int n = 0, cut_i, i, last_seg, first_in_last, nlast;
	struct wlog w;
	struct tdb *db;
	uint64_t size;

	start_ok(&s->o, args);
	db = connect_ok(&s->o);
	create_ok(db, "torn", TDB_DUR_SYNC);
	/* 400 records at least, in 2 segments at least, 2 KiB in the last */
	for (;;) {
		seq_key(k, "t", n++);
		put_ok(db, "torn", k);
		if (n >= 400 && n % 10 == 0) {
			wlog_read(s->o.data, &w);
			i = w.nsegs >= 2 && w.sizes[w.nsegs - 1] >= 2048;
			wlog_free(&w);
			if (i)
				break;
		}
		if (n > 5000)
			fail_msg("5000 sync puts of up to 200 bytes and no "
				 "second log segment of 64K with 2 KiB in it");
	}
	close_db(db);
	kill_ok(&s->o);
	o_fmt(orig, sizeof(orig), "%s/orig", s->o.dir);
	copy_dir(s->o.data, orig);
	wlog_read(orig, &w);
	if (puts_of(&w, "torn", w.nrecs) != n)
		fail_msg("the log holds %d puts of 'torn', %d were "
			 "acknowledged (sync)",
			 puts_of(&w, "torn", w.nrecs), n);
	last_seg = w.nsegs - 1;
	size = w.sizes[last_seg];
	for (first_in_last = 0; w.recs[first_in_last].seg != last_seg;
	     first_in_last++)
		;
	nlast = w.nrecs - first_in_last;
	assert_true(nlast >= 2);

	for (cut_i = 0; cut_i < 7; cut_i++) {
		uint64_t cut;
		int complete, boundary, keys, has_table;
		const struct wrec *r;

		switch (cut_i) {
		case 0: /* a record boundary: nothing torn */
			r = &w.recs[first_in_last + 1 +
				    (int)h_rand_below(&rng,
						      (uint32_t)nlast - 1)];
			cut = r->off;
			break;
		case 1: /* inside a record's header */
			r = &w.recs[first_in_last +
				    (int)h_rand_below(&rng, (uint32_t)nlast)];
			cut = r->off + 1 + h_rand_below(&rng, WAL_REC_HDR - 1);
			break;
		case 2: /* the last byte missing */
			cut = size - 1;
			break;
		default:
			cut = WAL_SEG_HDR +
			      h_rand_below(&rng,
					   (uint32_t)(size - WAL_SEG_HDR));
			break;
		}
		complete = first_in_last;
		boundary = cut == WAL_SEG_HDR;
		for (i = first_in_last; i < w.nrecs; i++) {
			r = &w.recs[i];
			if (r->off + WAL_REC_HDR + r->len <= cut)
				complete = i + 1;
			if (r->off + WAL_REC_HDR + r->len == cut)
				boundary = 1;
		}
		keys = puts_of(&w, "torn", complete);
		i = create_rec(&w, "torn");
		has_table = i >= 0 && i < complete;
		o_fmt(what, sizeof(what), "%s cut at %llu of %llu bytes (%s)",
		      w.segs[last_seg], (unsigned long long)cut,
		      (unsigned long long)size,
		      boundary ? "a record boundary" : "inside a record");
		print_message("torn_tail: %s: expect t00000..t%05d\n", what,
			      keys - 1);

		restore_dir(orig, s->o.data);
		o_fmt(last, sizeof(last), "%s/%s", s->o.data, w.segs[last_seg]);
		assert_int_equal(truncate(last, (off_t)cut), 0);
		start_ok(&s->o, args);
		if (!boundary && !owner_log_has(&s->o, "torn") &&
		    !owner_log_has(&s->o, "truncat")) {
			owner_log_print(&s->o, 30);
			fail_msg("%s: tdbd started without saying that it "
				 "truncated a torn tail",
				 what);
		}
		if (owner_log_has(&s->o, "corrupt")) {
			owner_log_print(&s->o, 30);
			fail_msg("%s: a torn tail reported as corruption",
				 what);
		}
		db = connect_ok(&s->o);
		if (!has_table) {
			struct tdb_table_info ti;

			assert_int_equal(tdb_info(db, "torn", &ti), -ENOENT);
			create_ok(db, "torn", TDB_DUR_SYNC);
		}
		expect_exactly(db, "torn", "t", keys, "u", 0, what);

		/* Writes after the repair survive a kill and a restart. */
		for (i = 0; i < 30; i++) {
			seq_key(k, "u", i);
			put_ok(db, "torn", k);
		}
		close_db(db);
		kill_ok(&s->o);
		start_ok(&s->o, args);
		if (owner_log_has(&s->o, "corrupt") ||
		    owner_log_has(&s->o, "torn")) {
			owner_log_print(&s->o, 30);
			fail_msg("%s, repaired, 30 sync puts, SIGKILL: the "
				 "restart found damage",
				 what);
		}
		db = connect_ok(&s->o);
		expect_exactly(db, "torn", "t", keys, "u", 30, what);
		close_db(db);
		stop_ok(&s->o);
		start_ok(&s->o, args);
		db = connect_ok(&s->o);
		expect_exactly(db, "torn", "t", keys, "u", 30, what);
		close_db(db);
		kill_ok(&s->o);
	}
	wlog_free(&w);
}

/* The size of every file of @dir, as "name=size " words, malloc'd. */
static char *dir_sizes(const char *dir)
{
	char **v, path[PATH_MAX], *out = calloc(1, 1);
	int n, i;

	v = list_names(dir, "", "", &n);
	for (i = 0; i < n; i++) {
		char *o2;

		if (!strcmp(v[i], ".") || !strcmp(v[i], "..") ||
		    !strcmp(v[i], "tdbd.lock"))
			continue;
		o_fmt(path, sizeof(path), "%s/%s", dir, v[i]);
		if (asprintf(&o2, "%s%s=%llu ", out, v[i],
			     (unsigned long long)file_size(path)) < 0)
			o2 = NULL;
		free(out);
		out = o2;
		assert_non_null(out);
	}
	free_names(v, n);
	return out;
}

static void test_corrupt(void **state)
{
	struct dstate *s = *state;
	static const char *const args[] = { LOG_ARGS_SMALL, NULL };
	static const char *const loss_args[] = { LOG_ARGS_SMALL,
						 "--accept-loss", NULL };
	char orig[PATH_MAX], path[PATH_MAX], k[32], what[200];
	int n, cs, i, mid, seg0_mid = -1, last_mid = -1, first_last;
	struct wlog w;
	struct tdb *db;

	start_ok(&s->o, args);
	db = connect_ok(&s->o);
	create_ok(db, "bad", TDB_DUR_SYNC);
	/* 3 segments at least, the last with a few records */
	for (n = 0;; n++) {
		seq_key(k, "k", n);
		put_ok(db, "bad", k);
		if (n % 50 == 0) {
			wlog_read(s->o.data, &w);
			i = w.nsegs >= 3 && w.sizes[w.nsegs - 1] >= 2048;
			wlog_free(&w);
			if (i)
				break;
		}
		if (n > 8000)
			fail_msg("8000 sync puts of up to 200 bytes with "
				 "--segment-size 64K and not 3 segments");
	}
	n++;
	close_db(db);
	kill_ok(&s->o);
	o_fmt(orig, sizeof(orig), "%s/orig", s->o.dir);
	copy_dir(s->o.data, orig);
	wlog_read(orig, &w);
	assert_int_equal(puts_of(&w, "bad", w.nrecs), n);
	mid = w.nrecs / 2;
	while (w.recs[mid].type != WAL_PUT)
		mid++;
	for (i = 0; i < w.nrecs; i++)
		if (w.recs[i].seg == 0 && w.recs[i].type == WAL_PUT)
			seg0_mid = i; /* the last put of segment 0... */
	seg0_mid = (create_rec(&w, "bad") + 1 + seg0_mid) / 2; /* ...halved */
	for (first_last = 0; w.recs[first_last].seg != w.nsegs - 1;
	     first_last++)
		;
	last_mid = first_last + (w.nrecs - first_last) / 2;
	assert_true(last_mid + 1 < w.nrecs);

	for (cs = 0; cs < 4; cs++) {
		const struct wrec *r = NULL;
		const char *reason = NULL, *how;
		uint64_t off, at;
		char *before, *after;
		int seg, keep, rc;

		switch (cs) {
		case 0: /* a value byte of a record in the middle */
			r = &w.recs[mid];
			at = r->off + WAL_REC_HDR + r->len - 1;
			reason = "crc|checksum";
			how = "last payload byte of the middle record flipped";
			break;
		case 1: /* the same in the last segment, records after it */
			r = &w.recs[last_mid];
			at = r->off + WAL_REC_HDR + r->len / 2;
			reason = "crc|checksum";
			how = "a payload byte flipped, last segment, valid "
			      "records after it";
			break;
		case 2: /* a length in the first segment */
			r = &w.recs[seg0_mid];
			at = r->off + 6;
			how = "record length made huge, first segment";
			break;
		default: /* the second segment's header */
			at = 8;
			how = "the second segment's header (its start LSN)";
			break;
		}
		if (r) {
			seg = r->seg;
			off = r->off;
			keep = puts_of(&w, "bad", (int)(r - w.recs));
		} else {
			seg = 1;
			off = 0;
			for (i = 0; w.recs[i].seg < 1; i++)
				;
			keep = puts_of(&w, "bad", i);
		}
		o_fmt(what, sizeof(what), "%s (%s at offset %llu, byte %llu)",
		      how, w.segs[seg], (unsigned long long)off,
		      (unsigned long long)at);
		print_message("corrupt: %s: expect k00000..k%05d with "
			      "--accept-loss\n",
			      what, keep - 1);

		restore_dir(orig, s->o.data);
		o_fmt(path, sizeof(path), "%s/%s", s->o.data, w.segs[seg]);
		flip_byte(path, at, cs == 2 ? 0x40 : 0x5a);
		before = dir_sizes(s->o.data);
		rc = owner_try_start(&s->o, args, OWNER_START_MS);
		if (rc == OWNER_STARTED) {
			owner_log_print(&s->o, 30);
			owner_kill(&s->o);
			fail_msg("%s: tdbd started on a corrupt log without "
				 "--accept-loss",
				 what);
		}
		if (rc <= 0 || rc >= 128) {
			owner_log_print(&s->o, 30);
			fail_msg("%s: tdbd ended with status %d; want an error "
				 "exit (1..127)",
				 what, rc);
		}
		if (!log_names(&s->o, w.segs[seg], off, reason)) {
			owner_log_print(&s->o, 30);
			fail_msg("%s: stderr has no line naming %s, offset %llu"
				 "%s%s",
				 what, w.segs[seg], (unsigned long long)off,
				 reason ? " and a reason like " : "",
				 reason ? reason : "");
		}
		after = dir_sizes(s->o.data);
		if (strcmp(before, after))
			fail_msg("%s: the refused start changed the data "
				 "directory:\n  before: %s\n  after:  %s",
				 what, before, after);
		free(before);
		free(after);

		start_ok(&s->o, loss_args);
		if (!owner_log_has(&s->o, w.segs[seg]) ||
		    (!owner_log_has(&s->o, "los") &&
		     !owner_log_has(&s->o, "drop") &&
		     !owner_log_has(&s->o, "discard"))) {
			owner_log_print(&s->o, 30);
			fail_msg(
				"%s: with --accept-loss, stderr does not report "
				"what was lost in %s",
				what, w.segs[seg]);
		}
		db = connect_ok(&s->o);
		expect_exactly(db, "bad", "k", keep, "u", 0, what);
		for (i = 0; i < 20; i++) {
			seq_key(k, "u", i);
			put_ok(db, "bad", k);
		}
		close_db(db);
		stop_ok(&s->o);
		/* the cut is for good: no --accept-loss needed now */
		start_ok(&s->o, args);
		db = connect_ok(&s->o);
		expect_exactly(db, "bad", "k", keep, "u", 20, what);
		close_db(db);
		kill_ok(&s->o);
	}
	wlog_free(&w);
}

/* ---- disk_full ------------------------------------------------------------ */

/*
 * Mounts a 16 MiB file system at s->mnt: tmpfs, else an ext4 image on a
 * loop device.  0, or -1 with @why filled.
 */
static int mount_small(struct dstate *s, char *why, size_t cap)
{
	char img[PATH_MAX], cmd[3 * PATH_MAX];
	int e1;

	o_fmt(s->mnt, sizeof(s->mnt), "%s/mnt", s->o.dir);
	if (mkdir(s->mnt, 0755) < 0) {
		o_fmt(why, cap, "mkdir %s: %s", s->mnt, strerror(errno));
		s->mnt[0] = '\0';
		return -1;
	}
	if (mount("tmpfs", s->mnt, "tmpfs", 0, "size=16m,mode=0755") == 0)
		return 0;
	e1 = errno;
	o_fmt(img, sizeof(img), "%s/disk.img", s->o.dir);
	o_fmt(cmd, sizeof(cmd),
	      "truncate -s 16M %s && mkfs.ext4 -q -F %s >/dev/null 2>&1 && "
	      "mount -o loop %s %s >/dev/null 2>&1",
	      img, img, img, s->mnt);
	if (system(cmd) == 0)
		return 0;
	o_fmt(why, cap,
	      "cannot mount a tmpfs (%s) nor a loop-mounted "
	      "ext4 image on %s",
	      strerror(e1), s->mnt);
	s->mnt[0] = '\0';
	return -1;
}

/* Writes zeroes to @path until @bytes are written or the disk is full. */
static uint64_t fill_file(const char *path, uint64_t bytes)
{
	static uint8_t zero[1 << 16];
	uint64_t done = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	while (done < bytes) {
		size_t n = bytes - done < sizeof(zero) ? bytes - done :
							 sizeof(zero);
		ssize_t w = write(fd, zero, n);

		if (w <= 0)
			break;
		done += (uint64_t)w;
	}
	fsync(fd);
	close(fd);
	return done;
}

/* What disk_full asked for: key, table, and how it went. */
struct df_op {
	char key[16];
	int sync; /* the sync table, else the async one */
	int must; /* 1: must be there; 0: must not; -1: either */
};

static void df_add(struct df_op **v, int *n, const char *k, int sync, int must)
{
	*v = realloc(*v, sizeof(**v) * (size_t)(*n + 1));
	assert_non_null(*v);
	o_fmt((*v)[*n].key, sizeof((*v)[*n].key), "%s", k);
	(*v)[*n].sync = sync;
	(*v)[*n].must = must;
	(*n)++;
}

static void df_check(struct tdb *db, const struct df_op *v, int n,
		     const char *when)
{
	uint8_t buf[VAL_MAX];
	size_t vlen;
	int i, rc;

	nproblems = 0;
	for (i = 0; i < n; i++) {
		const char *t = v[i].sync ? "df_sync" : "df_async";

		if (v[i].must < 0)
			continue;
		rc = tdb_get(db, t, v[i].key, strlen(v[i].key), buf,
			     sizeof(buf), &vlen);
		if (v[i].must && rc)
			problem("%s/%s (acknowledged) is missing: %s", t,
				v[i].key, tdb_strerror(rc));
		else if (v[i].must &&
			 !val_ok(v[i].key, strlen(v[i].key), buf, vlen))
			problem("%s/%s has a wrong value", t, v[i].key);
		else if (!v[i].must && rc != -ENOENT)
			problem("%s/%s (refused with -ENOSPC while the log "
				"reported -ENOSPC) is there: %s",
				t, v[i].key, tdb_strerror(rc));
	}
	if (nproblems)
		fail_msg("%s: %d problem(s), the first above", when, nproblems);
}

static void test_disk_full(void **state)
{
	struct dstate *s = *state;
	static const char *const args[] = { "--segment-size", "1M",
					    "--checkpoint-interval", "0",
					    NULL };
	char why[PATH_MAX + 128], filler[PATH_MAX], k[16];
	struct df_op *ops = NULL;
	int nops = 0, i, rc, refused = 0, sync;
	uint64_t free_b, t0, fill;
	struct statvfs sv;
	struct tdb_stats st;
	struct tdb *db;

	if (geteuid() != 0) {
		print_message("disk_full: skipped: mounting a small file "
			      "system needs root (euid %u)\n",
			      (unsigned int)geteuid());
		skip();
	}
	if (mount_small(s, why, sizeof(why))) {
		print_message("disk_full: skipped: %s\n", why);
		skip();
	}
	o_fmt(s->o.data, sizeof(s->o.data), "%s/data", s->mnt);
	o_fmt(filler, sizeof(filler), "%s/filler", s->mnt);
	start_ok(&s->o, args);
	db = connect_ok(&s->o);
	create_ok(db, "df_sync", TDB_DUR_SYNC);
	create_ok(db, "df_async", TDB_DUR_ASYNC);
	for (i = 0; i < 100; i++) {
		o_fmt(k, sizeof(k), "Bs%06d", i);
		put_ok(db, "df_sync", k);
		df_add(&ops, &nops, k, 1, 1);
		o_fmt(k, sizeof(k), "Ba%06d", i);
		put_ok(db, "df_async", k);
		df_add(&ops, &nops, k, 0, 1);
	}

	/* Fill all but 3 MiB, then write until the log runs out of room. */
	assert_int_equal(statvfs(s->mnt, &sv), 0);
	free_b = (uint64_t)sv.f_bavail * sv.f_frsize;
	fill = fill_file(filler, free_b > 3 * MIB ? free_b - 3 * MIB : 0);
	print_message("disk_full: %llu KiB free, filler of %llu KiB\n",
		      (unsigned long long)(free_b / KIB),
		      (unsigned long long)(fill / KIB));
	for (i = 100; refused == 0; i++) {
		sync = i % 2;
		o_fmt(k, sizeof(k), "B%c%06d", sync ? 's' : 'a', i);
		{
			uint8_t v[VAL_MAX];
			size_t vlen = val_of(k, strlen(k), v);

			rc = tdb_put(db, sync ? "df_sync" : "df_async", k,
				     strlen(k), v, vlen, 0);
		}
		if (rc == 0) {
			df_add(&ops, &nops, k, sync, 1);
		} else if (rc == -ENOSPC) {
			/* the first refusal: it may have been applied */
			df_add(&ops, &nops, k, sync, -1);
			refused++;
		} else {
			fail_msg("put %s on a filling disk: %s (want 0 or "
				 "-ENOSPC)",
				 k, tdb_strerror(rc));
		}
		if (i > 20000)
			fail_msg("20000 puts of 1..4 KiB into a 16 MiB file "
				 "system with 3 MiB free and no -ENOSPC");
	}
	print_message("disk_full: first -ENOSPC after %d puts\n", i - 100);

	/* The log says so; writes fail and change nothing; reads work. */
	for (t0 = h_now_ms();; h_sleep_us(10000)) {
		stats_ok(db, &st);
		if (st.log_error == -ENOSPC || h_now_ms() - t0 > 3000)
			break;
	}
	if (st.log_error != -ENOSPC)
		fail_msg("a put failed with -ENOSPC; tdb_stats log_error is %d",
			 st.log_error);
	for (i = 0; i < 20; i++) {
		uint8_t v[VAL_MAX];
		size_t vlen;

		sync = i % 2;
		o_fmt(k, sizeof(k), "Bx%06d", i);
		vlen = val_of(k, strlen(k), v);
		rc = tdb_put(db, sync ? "df_sync" : "df_async", k, strlen(k), v,
			     vlen, 0);
		if (rc != -ENOSPC)
			fail_msg("put %s while the log reports -ENOSPC: %s", k,
				 tdb_strerror(rc));
		df_add(&ops, &nops, k, sync, 0);
		/* a delete of an acknowledged key is refused too */
		rc = tdb_del(db, ops[i].sync ? "df_sync" : "df_async",
			     ops[i].key, strlen(ops[i].key));
		if (rc != -ENOSPC)
			fail_msg("del %s while the log reports -ENOSPC: %s",
				 ops[i].key, tdb_strerror(rc));
	}
	df_check(db, ops, nops, "disk full: reads");
	{
		struct tdb_table_info ti;

		info_ok(db, "df_async", &ti);
		assert_true(ti.records >= 100);
	}

	/* Room again: writes resume within seconds, without a restart. */
	assert_int_equal(unlink(filler), 0);
	t0 = h_now_ms();
	for (;;) {
		uint8_t v[VAL_MAX];
		size_t vlen = val_of("Bretry", 6, v);

		rc = tdb_put(db, "df_sync", "Bretry", 6, v, vlen, 0);
		if (rc == 0)
			break;
		if (rc != -ENOSPC && rc != -EIO)
			fail_msg("put after freeing the disk: %s",
				 tdb_strerror(rc));
		if (h_now_ms() - t0 > 10000)
			fail_msg("writes still fail (%s) 10 s after the disk "
				 "has room again",
				 tdb_strerror(rc));
		h_sleep_us(50000);
	}
	df_add(&ops, &nops, "Bretry", 1, 1);
	print_message("disk_full: writes resumed %llu ms after the filler "
		      "was removed\n",
		      (unsigned long long)(h_now_ms() - t0));
	for (i = 0; i < 200; i++) {
		sync = i % 2;
		o_fmt(k, sizeof(k), "Bz%06d", i);
		put_ok(db, sync ? "df_sync" : "df_async", k);
		df_add(&ops, &nops, k, sync, 1);
	}
	put_ok(db, "df_sync", "Bend"); /* durable: so is all before it */
	df_add(&ops, &nops, "Bend", 1, 1);
	stats_ok(db, &st);
	if (st.log_error)
		fail_msg("log_error %d after writes succeeded again",
			 st.log_error);
	df_check(db, ops, nops, "after the disk had room again");
	close_db(db);

	kill_ok(&s->o);
	start_ok(&s->o, args);
	db = connect_ok(&s->o);
	df_check(db, ops, nops, "after SIGKILL and restart");
	close_db(db);
	stop_ok(&s->o);
	free(ops);
}

/* ---- clean_restart -------------------------------------------------------- */

#define CT_KEYS 500
#define CT_HUGE (512 * 1024)

/* A table of clean_restart: its options and what each key should hold. */
struct ct_table {
	const char *name;
	struct tdb_create_opts opts; /* as expected back */
	int null_opts; /* created with opts NULL */
	int ver[CT_KEYS]; /* 0: absent */
	int huge; /* holds "huge" */
};

static void ct_value(const char *key, int ver, uint8_t *v, size_t *vlen)
{
	char vk[48];

	o_fmt(vk, sizeof(vk), "%s#%d", key, ver);
	*vlen = val_of(vk, strlen(vk), v);
}

static void ct_put(struct tdb *db, struct ct_table *t, int i, int ver)
{
	uint8_t v[VAL_MAX];
	size_t vlen;
	char k[16];
	int rc;

	o_fmt(k, sizeof(k), "k%04d", i);
	ct_value(k, ver, v, &vlen);
	rc = tdb_put(db, t->name, k, strlen(k), v, vlen, 0);
	if (rc)
		fail_msg("put %s/%s: %s", t->name, k, tdb_strerror(rc));
	t->ver[i] = ver;
}

static void ct_del(struct tdb *db, struct ct_table *t, int i)
{
	char k[16];
	int rc;

	o_fmt(k, sizeof(k), "k%04d", i);
	rc = tdb_del(db, t->name, k, strlen(k));
	if (rc)
		fail_msg("del %s/%s: %s", t->name, k, tdb_strerror(rc));
	t->ver[i] = 0;
}

static void ct_huge(uint8_t *v)
{
	h_fill(v, CT_HUGE, 0x68756765);
}

static void ct_fill(struct tdb *db, struct ct_table *t)
{
	uint8_t *v = malloc(CT_HUGE);
	int i, rc;

	assert_non_null(v);
	rc = tdb_create(db, t->name, t->null_opts ? NULL : &t->opts);
	if (rc)
		fail_msg("create %s: %s", t->name, tdb_strerror(rc));
	for (i = 0; i < CT_KEYS; i++)
		ct_put(db, t, i, 1);
	for (i = 0; i < 100; i++)
		ct_put(db, t, i, 2);
	for (i = 400; i < 450; i++)
		ct_del(db, t, i);
	ct_huge(v);
	rc = tdb_put(db, t->name, "huge", 4, v, CT_HUGE, 0);
	if (rc)
		fail_msg("put %s/huge: %s", t->name, tdb_strerror(rc));
	t->huge = 1;
	free(v);
}

static void ct_check(struct tdb *db, const struct ct_table *t, const char *when)
{
	uint8_t *huge = malloc(CT_HUGE), want[VAL_MAX];
	struct tdb_table_info ti;
	struct tdb_scan *sc;
	const void *k, *v;
	size_t kl, vl, wl;
	uint64_t want_n = (uint64_t)t->huge;
	int rc, i, seen[CT_KEYS] = { 0 };
	char key[16];

	assert_non_null(huge);
	nproblems = 0;
	rc = tdb_info(db, t->name, &ti);
	if (rc)
		fail_msg("%s: table %s: %s", when, t->name, tdb_strerror(rc));
	for (i = 0; i < CT_KEYS; i++)
		want_n += t->ver[i] != 0;
	if (ti.durability != t->opts.durability || ti.mode != t->opts.mode ||
	    ti.quota != t->opts.quota || ti.key_type != t->opts.key_type ||
	    ti.uid != geteuid() || ti.gid != getegid())
		problem("options: durability %u mode %04o quota %llu key type "
			"%u uid %u gid %u; want %u %04o %llu %u %u %u",
			ti.durability, ti.mode, (unsigned long long)ti.quota,
			ti.key_type, ti.uid, ti.gid, t->opts.durability,
			t->opts.mode, (unsigned long long)t->opts.quota,
			t->opts.key_type, (unsigned int)geteuid(),
			(unsigned int)getegid());
	if (ti.records != want_n)
		problem("%llu records, want %llu",
			(unsigned long long)ti.records,
			(unsigned long long)want_n);
	rc = tdb_scan_open(db, t->name, &sc);
	assert_int_equal(rc, 0);
	while ((rc = tdb_scan_next(sc, &k, &kl, &v, &vl)) == 1) {
		if (kl == 4 && !memcmp(k, "huge", 4)) {
			ct_huge(huge);
			if (!t->huge || vl != CT_HUGE || memcmp(v, huge, vl))
				problem("'huge': %zu bytes, %s", vl,
					t->huge ? "wrong value" :
						  "should not be there");
			continue;
		}
		o_fmt(key, sizeof(key), "%.*s", (int)(kl < 15 ? kl : 15),
		      (const char *)k);
		i = kl == 5 && key[0] == 'k' ? atoi(key + 1) : -1;
		if (i < 0 || i >= CT_KEYS || !t->ver[i]) {
			problem("'%s' should not be there", key);
			continue;
		}
		seen[i]++;
		ct_value(key, t->ver[i], want, &wl);
		if (vl != wl || memcmp(v, want, wl))
			problem("'%s': not the value of version %d", key,
				t->ver[i]);
	}
	tdb_scan_close(sc);
	assert_int_equal(rc, 0);
	for (i = 0; i < CT_KEYS; i++)
		if (t->ver[i] && seen[i] != 1)
			problem("k%04d (version %d) seen %d times", i,
				t->ver[i], seen[i]);
	free(huge);
	if (nproblems)
		fail_msg("%s: table %s: %d problem(s), the first above", when,
			 t->name, nproblems);
}

/* The names tdb_tables() lists, sorted and joined by spaces. */
static char *table_names(struct tdb *db)
{
	struct tdb_table_info *list;
	char *out = calloc(1, 1), *o2;
	int n = tdb_tables(db, &list), i, j;

	assert_true(n >= 0);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(list[j - 1].name, list[j].name) > 0;
		     j--) {
			struct tdb_table_info x = list[j];

			list[j] = list[j - 1];
			list[j - 1] = x;
		}
	for (i = 0; i < n; i++) {
		if (asprintf(&o2, "%s%s%s", out, i ? " " : "", list[i].name) <
		    0)
			o2 = NULL;
		free(out);
		out = o2;
		assert_non_null(out);
	}
	free(list);
	return out;
}

/* Runs tdbcli with @cmd against the owner; its output, malloc'd, or NULL. */
static char *tdbcli(const struct owner *o, const char *cmd)
{
	const char *cli = owner_tdbcli();
	char line[PATH_MAX * 2], *out = NULL;
	size_t len = 0;
	FILE *p;

	if (!cli)
		return NULL;
	o_fmt(line, sizeof(line), "%s --socket %s %s 2>&1", cli, o->sock, cmd);
	p = popen(line, "r");
	assert_non_null(p);
	out = calloc(1, 65536);
	assert_non_null(out);
	len = fread(out, 1, 65535, p);
	out[len] = '\0';
	if (pclose(p) != 0)
		fail_msg("'%s' failed:\n%s", line, out);
	return out;
}

static void test_clean_restart(void **state)
{
	struct dstate *s = *state;
	static struct ct_table mem = {
		.name = "c_mem",
		.opts = { 1 * MIB, 0640, TDB_KEY_STR, TDB_DUR_MEMORY },
	}, as = {
		.name = "c_async",
		.opts = { 8 * MIB, 0604, TDB_KEY_STR, TDB_DUR_ASYNC },
	}, sy = {
		.name = "c_sync",
		/* Keys are text: the key types that take any bytes. */
		.opts = { 4 * MIB, 0660, TDB_KEY_STR, TDB_DUR_SYNC },
	}, df = {
		.name = "c_dflt",
		.opts = { 0, 0600, TDB_KEY_BYTES, TDB_DUR_ASYNC },
		.null_opts = 1,
	}, dr = {
		.name = "c_drop",
		.opts = { 0, 0600, TDB_KEY_BYTES, TDB_DUR_SYNC },
	}, re = {
		.name = "c_re",
		.opts = { 0, 0600, TDB_KEY_BYTES, TDB_DUR_ASYNC },
	};
	struct ct_table *live[] = { &as, &sy, &df, &re };
	const char *want = "c_async c_dflt c_re c_sync";
	struct tdb_table_info ti;
	struct tdb *db;
	char *names, *out, when[64];
	int i, cycle;

	start_ok(&s->o, NULL);
	db = connect_ok(&s->o);
	ct_fill(db, &mem);
	ct_fill(db, &as);
	ct_fill(db, &sy);
	ct_fill(db, &df);
	ct_fill(db, &dr);
	assert_int_equal(tdb_drop(db, "c_drop"), 0);
	ct_fill(db, &re);
	assert_int_equal(tdb_drop(db, "c_re"), 0);
	/* re-created with other options and other records */
	re.opts = (struct tdb_create_opts){ .quota = 2 * MIB,
					    .mode = 0644,
					    .key_type = TDB_KEY_STR,
					    .durability = TDB_DUR_SYNC };
	memset(re.ver, 0, sizeof(re.ver));
	re.huge = 0;
	assert_int_equal(tdb_create(db, "c_re", &re.opts), 0);
	for (i = 0; i < 50; i++)
		ct_put(db, &re, i * 3, 3);
	for (i = 0; i < 4; i++)
		ct_check(db, live[i], "before the restart");
	close_db(db);

	for (cycle = 1; cycle <= 4; cycle++) {
		/* 1, 3, 4: SIGTERM; 2: SIGKILL after a last sync write */
		if (cycle == 2)
			kill_ok(&s->o);
		else
			stop_ok(&s->o);
		start_ok(&s->o, NULL);
		o_fmt(when, sizeof(when), "after restart %d (%s)", cycle,
		      cycle == 2 ? "SIGKILL" : "SIGTERM");
		db = connect_ok(&s->o);
		names = table_names(db);
		if (strcmp(names, want))
			fail_msg("%s: tables '%s', want '%s'", when, names,
				 want);
		free(names);
		for (i = 0; i < 4; i++)
			ct_check(db, live[i], when);
		assert_int_equal(tdb_info(db, "c_mem", &ti), -ENOENT);
		/* the memory table's name is free; it goes again */
		assert_int_equal(tdb_create(db, "c_mem", &mem.opts), 0);
		ct_put(db, &mem, 1, 1);

		/* changes after recovery are logged like any others */
		ct_put(db, &as, 7, 4 + cycle);
		ct_del(db, &as, 8 + cycle);
		ct_put(db, &df, 450 + cycle, 4);
		ct_put(db, &re, 1, 4 + cycle);
		ct_put(db, &sy, 0, 4 + cycle); /* sync, last */
		close_db(db);
	}
	out = tdbcli(&s->o, "tables");
	if (out && (!strstr(out, "c_sync") || !strstr(out, "sync") ||
		    !strstr(out, "async")))
		fail_msg("tdbcli tables does not show the durability:\n%s",
			 out);
	free(out);
	stop_ok(&s->o);
}

/* ---- checkpoint ----------------------------------------------------------- */

static uint64_t lsn_of_name(const char *name)
{
	const char *dash = strchr(name, '-');

	return dash ? strtoull(dash + 1, NULL, 16) : 0;
}

static int count_names(const char *dir, const char *prefix, const char *suffix,
		       uint64_t *bytes, uint64_t *first)
{
	char path[PATH_MAX];
	char **v;
	int n, i;

	v = list_names(dir, prefix, suffix, &n);
	if (bytes)
		*bytes = 0;
	for (i = 0; bytes && i < n; i++) {
		o_fmt(path, sizeof(path), "%s/%s", dir, v[i]);
		*bytes += file_size(path);
	}
	if (first)
		*first = n ? lsn_of_name(v[0]) : 0;
	free_names(v, n);
	return n;
}

/* Polls tdb_stats until checkpoint_lsn >= @lsn; the stats, or fails. */
static void wait_checkpoint(struct tdb *db, uint64_t lsn, struct tdb_stats *st,
			    const char *what)
{
	uint64_t t0 = h_now_ms(), limit = UNDER_SAN ? 40000 : 20000;

	for (;;) {
		stats_ok(db, st);
		if (st->checkpoint_lsn >= lsn && st->checkpoint_time)
			break;
		if (h_now_ms() - t0 > limit)
			fail_msg("%s: no checkpoint from LSN %llu within %llu "
				 "s with --checkpoint-interval 1 (the last "
				 "from %llu, time %llu)",
				 what, (unsigned long long)lsn,
				 (unsigned long long)limit / 1000,
				 (unsigned long long)st->checkpoint_lsn,
				 (unsigned long long)st->checkpoint_time);
		h_sleep_us(50000);
	}
	print_message("checkpoint: %s after %llu ms\n", what,
		      (unsigned long long)(h_now_ms() - t0));
}

/* Every record of @t that is there has its value; the count. */
static uint64_t values_ok(struct tdb *db, const char *t, const char *when)
{
	struct tdb_scan *sc;
	const void *k, *v;
	size_t kl, vl;
	uint64_t n = 0;
	int rc = tdb_scan_open(db, t, &sc);

	if (rc == -ENOENT)
		return 0;
	assert_int_equal(rc, 0);
	while ((rc = tdb_scan_next(sc, &k, &kl, &v, &vl)) == 1) {
		if (!val_ok(k, kl, v, vl))
			fail_msg("%s: %s/'%.*s' has a wrong value", when, t,
				 (int)kl, (const char *)k);
		n++;
	}
	tdb_scan_close(sc);
	assert_int_equal(rc, 0);
	return n;
}

static void test_checkpoint(void **state)
{
	struct dstate *s = *state;
	static const char *const args[] = { "--checkpoint-interval", "1",
					    "--segment-size", "1M", NULL };
	static const char *const loss_args[] = {
		"--checkpoint-interval", "1", "--segment-size", "1M",
		"--accept-loss",	 NULL
	};
	uint64_t wall0 = (uint64_t)time(NULL), lmax, ck1, bytes, first, t0;
	uint64_t durable, off, blk = 0, size;
	struct tdb_table_info ta, ts, tm;
	struct tdb_completion comp[64];
	struct tdb_stats st;
	struct tdb_batch *b;
	struct tdb *db;
	char k[32], name[64], path[PATH_MAX], orig[PATH_MAX], *before, *after;
	char **v;
	int i, rc, nwal, maxwal = 0, nck;
	uint8_t *buf;

	start_ok(&s->o, args);
	db = connect_ok(&s->o);
	create_ok(db, "ck_a", TDB_DUR_ASYNC);
	create_ok(db, "ck_s", TDB_DUR_SYNC);
	create_ok(db, "ck_m", TDB_DUR_MEMORY);
	for (i = 0; i < 300; i++) {
		seq_key(k, "s", i);
		put_ok(db, "ck_s", k);
		seq_key(k, "m", i);
		put_ok(db, "ck_m", k);
	}
	/*
	 * Right after a checkpoint, about 6 MiB in a burst, made durable by
	 * a sync write: the segments it filled are all there until the next
	 * checkpoint, a second later.
	 */
	info_ok(db, "ck_s", &ts);
	wait_checkpoint(db, ts.log_lsn, &st, "one after the sync writes");
	b = tdb_batch_new(db, 64);
	assert_non_null(b);
	for (i = 0; i < 2500; i++) {
		uint8_t val[VAL_MAX];
		size_t vlen;

		seq_key(k, "B", i);
		vlen = val_of(k, strlen(k), val);
		assert_int_equal(tdb_batch_put(b, "ck_a", k, strlen(k), val,
					       vlen, 0, NULL),
				 0);
		while ((rc = tdb_batch_reap(b, comp, 64, 0)) > 0)
			while (rc--)
				assert_int_equal(comp[rc].status, 0);
		if (i % 100 == 0) {
			nwal = count_names(s->o.data, "wal-", ".log", NULL,
					   NULL);
			maxwal = nwal > maxwal ? nwal : maxwal;
		}
	}
	while (tdb_batch_pending(b))
		if ((rc = tdb_batch_reap(b, comp, 64, 1)) > 0)
			while (rc--)
				assert_int_equal(comp[rc].status, 0);
	tdb_batch_free(b);
	put_ok(db, "ck_s", "t00000");
	nwal = count_names(s->o.data, "wal-", ".log", NULL, NULL);
	maxwal = nwal > maxwal ? nwal : maxwal;
	info_ok(db, "ck_a", &ta);
	info_ok(db, "ck_s", &ts);
	lmax = ta.log_lsn > ts.log_lsn ? ta.log_lsn : ts.log_lsn;
	if (ta.log_lsn < 5 * MIB)
		fail_msg("about 6 MiB written to ck_a; its log_lsn is %llu",
			 (unsigned long long)ta.log_lsn);

	/* A checkpoint covers it all; after the next, old segments go. */
	wait_checkpoint(db, lmax, &st, "one covering the writes");
	ck1 = st.checkpoint_lsn;
	put_ok(db, "ck_s", "t00001");
	wait_checkpoint(db, ck1 + 1, &st, "the next one");
	for (t0 = h_now_ms();; h_sleep_us(50000)) {
		nwal = count_names(s->o.data, "wal-", ".log", &bytes, &first);
		if (nwal <= 3 || h_now_ms() - t0 > 5000)
			break;
	}
	nck = count_names(s->o.data, "ckpt-", ".ckp", NULL, NULL);
	print_message("checkpoint: at most %d segments while writing; now %d "
		      "(%llu bytes, the first from LSN %llu) and %d "
		      "checkpoint(s)\n",
		      maxwal, nwal, (unsigned long long)bytes,
		      (unsigned long long)first, nck);
	if (maxwal < 3)
		fail_msg("about 6 MiB written with --segment-size 1M and never "
			 "more than %d segment files",
			 maxwal);
	if (nwal > 3 || first == 0)
		fail_msg("after two checkpoints past the writes, %d segment "
			 "files remain, the first from LSN %llu: old segments "
			 "are not removed",
			 nwal, (unsigned long long)first);
	if (nck < 1 || nck > 2)
		fail_msg("%d checkpoint files (want the newest and perhaps "
			 "the one before)",
			 nck);
	o_fmt(name, sizeof(name), "ckpt-%016llx.ckp",
	      (unsigned long long)st.checkpoint_lsn);
	o_fmt(path, sizeof(path), "%s/%s", s->o.data, name);
	if (access(path, F_OK))
		fail_msg("tdb_stats checkpoint_lsn %llu, and no %s",
			 (unsigned long long)st.checkpoint_lsn, name);

	/* The figures. */
	for (i = 0; i < 3; i++) {
		uint64_t b2;

		stats_ok(db, &st);
		nwal = count_names(s->o.data, "wal-", ".log", &bytes, NULL);
		count_names(s->o.data, "wal-", ".log", &b2, NULL);
		if (b2 == bytes && st.log_bytes <= bytes &&
		    st.log_bytes + (uint64_t)nwal * WAL_SEG_HDR >= bytes)
			break;
		h_sleep_us(100000);
	}
	if (i == 3)
		fail_msg("tdb_stats log_bytes %llu; the %d segment files hold "
			 "%llu bytes",
			 (unsigned long long)st.log_bytes, nwal,
			 (unsigned long long)bytes);
	if (!st.log_syncs || !st.log_writes || st.log_error)
		fail_msg("tdb_stats: log_syncs %llu log_writes %llu log_error "
			 "%d",
			 (unsigned long long)st.log_syncs,
			 (unsigned long long)st.log_writes, st.log_error);
	if (st.checkpoint_time + 1 < wall0 ||
	    st.checkpoint_time > (uint64_t)time(NULL) + 1)
		fail_msg("checkpoint_time %llu; the test began at %llu",
			 (unsigned long long)st.checkpoint_time,
			 (unsigned long long)wall0);
	info_ok(db, "ck_a", &ta);
	info_ok(db, "ck_s", &ts);
	info_ok(db, "ck_m", &tm);
	if (ta.durability != TDB_DUR_ASYNC || ts.durability != TDB_DUR_SYNC ||
	    tm.durability != TDB_DUR_MEMORY)
		fail_msg("durability %u %u %u", ta.durability, ts.durability,
			 tm.durability);
	if (ta.checkpoint_time != st.checkpoint_time ||
	    ta.checkpoint_lsn != st.checkpoint_lsn)
		fail_msg("tdb_info checkpoint %llu/%llu, tdb_stats %llu/%llu",
			 (unsigned long long)ta.checkpoint_time,
			 (unsigned long long)ta.checkpoint_lsn,
			 (unsigned long long)st.checkpoint_time,
			 (unsigned long long)st.checkpoint_lsn);
	if (tm.log_lsn != 0 || ts.log_lsn <= lmax ||
	    ts.log_lsn > st.log_durable_lsn)
		fail_msg("log_lsn: memory table %llu (want 0), sync table "
			 "%llu (want > %llu and <= the durable %llu)",
			 (unsigned long long)tm.log_lsn,
			 (unsigned long long)ts.log_lsn,
			 (unsigned long long)lmax,
			 (unsigned long long)st.log_durable_lsn);
	durable = st.log_durable_lsn;
	close_db(db);

	/* SIGKILL: the checkpoint and what is left of the log hold it all. */
	kill_ok(&s->o);
	start_ok(&s->o, args);
	db = connect_ok(&s->o);
	expect_exactly(db, "ck_a", "B", 2500, "-", 0, "after SIGKILL");
	expect_exactly(db, "ck_s", "s", 300, "t", 2, "after SIGKILL");
	assert_int_equal(tdb_info(db, "ck_m", &tm), -ENOENT);
	info_ok(db, "ck_a", &ta);
	stats_ok(db, &st);
	if (ta.durability != TDB_DUR_ASYNC || !ta.checkpoint_time ||
	    ta.checkpoint_time + 1 < wall0 || !ta.checkpoint_lsn)
		fail_msg("after the restart: durability %u, checkpoint time "
			 "%llu lsn %llu",
			 ta.durability, (unsigned long long)ta.checkpoint_time,
			 (unsigned long long)ta.checkpoint_lsn);
	if (st.log_durable_lsn < durable)
		fail_msg("the log was durable to %llu before the kill, to %llu "
			 "after the restart",
			 (unsigned long long)durable,
			 (unsigned long long)st.log_durable_lsn);
	put_ok(db, "ck_s", "t00002");
	info_ok(db, "ck_s", &ts);
	if (ts.log_lsn <= durable)
		fail_msg("a write after the restart got log position %llu; "
			 "the log had reached %llu before",
			 (unsigned long long)ts.log_lsn,
			 (unsigned long long)durable);
	if ((before = tdbcli(&s->o, "info ck_s")) && !strstr(before, "sync"))
		fail_msg("tdbcli info ck_s does not show the durability:\n%s",
			 before);
	free(before);
	close_db(db);

	/* A corrupt newest checkpoint: refused, or passed over. */
	kill_ok(&s->o);
	v = list_names(s->o.data, "ckpt-", ".ckp", &nck);
	assert_true(nck >= 1);
	o_fmt(name, sizeof(name), "%s", v[nck - 1]);
	free_names(v, nck);
	o_fmt(path, sizeof(path), "%s/%s", s->o.data, name);
	buf = (uint8_t *)owner_read_file(path);
	size = file_size(path);
	assert_non_null(buf);
	for (off = 32; off + 16 <= size; off += 16 + le32(buf + off + 4))
		if (!blk || le32(buf + off + 4) > le32(buf + blk + 4))
			blk = off; /* the largest block */
	assert_true(blk && le32(buf + blk + 4) > 2);
	flip_byte(path, blk + 16 + le32(buf + blk + 4) / 2, 0x5a);
	free(buf);
	o_fmt(orig, sizeof(orig), "%s/orig", s->o.dir);
	copy_dir(s->o.data, orig);
	before = dir_sizes(s->o.data);
	rc = owner_try_start(&s->o, args, OWNER_START_MS);
	if (rc == OWNER_STARTED) {
		owner_log_print(&s->o, 30);
		fail_msg("tdbd started with a corrupt newest checkpoint (%s, "
			 "block at %llu) without --accept-loss",
			 name, (unsigned long long)blk);
	}
	if (rc <= 0 || rc >= 128 ||
	    !log_names(&s->o, name, blk, "crc|checksum")) {
		owner_log_print(&s->o, 30);
		fail_msg("corrupt checkpoint %s (block at offset %llu): status "
			 "%d (want 1..127) and stderr naming the file, the "
			 "offset and the reason",
			 name, (unsigned long long)blk, rc);
	}
	after = dir_sizes(s->o.data);
	if (strcmp(before, after))
		fail_msg("the refused start changed the data directory:\n"
			 "  before: %s\n  after:  %s",
			 before, after);
	free(before);
	free(after);
	rc = owner_try_start(&s->o, loss_args, OWNER_START_MS);
	if (rc != OWNER_STARTED) {
		owner_log_print(&s->o, 30);
		fail_msg("with --accept-loss and a corrupt newest checkpoint "
			 "(%s), tdbd did not start: status %d",
			 name, rc);
	}
	if (!owner_log_has(&s->o, name)) {
		owner_log_print(&s->o, 30);
		fail_msg("with --accept-loss, stderr does not name the corrupt "
			 "checkpoint %s",
			 name);
	}
	db = connect_ok(&s->o);
	print_message("checkpoint: with the newest checkpoint corrupt and "
		      "--accept-loss: %llu of 2500 + %llu of 303 records\n",
		      (unsigned long long)values_ok(db, "ck_a", "accept-loss"),
		      (unsigned long long)values_ok(db, "ck_s", "accept-loss"));
	close_db(db);
	stop_ok(&s->o);
}

/* ---- bad_datadir ---------------------------------------------------------- */

/* tdbd must refuse to start: an error exit and @needle on stderr. */
static void expect_refusal(struct owner *o, const char *const *args,
			   const char *what, const char *needle)
{
	int rc = owner_try_start(o, args, 20000);

	if (rc == OWNER_STARTED) {
		owner_log_print(o, 20);
		owner_kill(o);
		fail_msg("%s: tdbd started", what);
	}
	if (rc <= 0 || rc >= 128) {
		owner_log_print(o, 20);
		fail_msg("%s: tdbd ended with status %d; want an error exit "
			 "(1..127)",
			 what, rc);
	}
	if (needle && !owner_log_has(o, needle)) {
		owner_log_print(o, 20);
		fail_msg("%s: exit status %d, but stderr does not mention "
			 "'%s'",
			 what, rc, needle);
	}
	print_message("bad_datadir: %s: refused (status %d)\n", what, rc);
}

/* Makes the files of @dir that start with @prefix unreadable to tdbd. */
static void lock_files(const struct owner *o, const char *prefix, int lock)
{
	char path[PATH_MAX];
	char **v;
	int n, i;

	v = list_names(o->data, prefix, "", &n);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		o_fmt(path, sizeof(path), "%s/%s", o->data, v[i]);
		if (o->run_as)
			assert_int_equal(chown(path, lock ? 0 : o->run_uid,
					       lock ? 0 : o->run_gid),
					 0);
		assert_int_equal(chmod(path, lock ? 0 : 0644), 0);
	}
	free_names(v, n);
}

static void test_bad_datadir(void **state)
{
	struct dstate *s = *state;
	struct owner *o = &s->o;
	static const char *const bad_flags[][3] = {
		{ "--segment-size", "12Q", NULL },
		{ "--flush-interval", "-5", NULL },
		{ "--checkpoint-interval", "soon", NULL },
		{ "--segment-size", "", NULL },
	};
	char afile[PATH_MAX], run[PATH_MAX], what[128];
	struct passwd *pw;
	struct tdb *db;
	size_t i;
	int fd;

	/* A path through a regular file, and a regular file. */
	o_fmt(afile, sizeof(afile), "%s/afile", o->dir);
	fd = open(afile, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	o_fmt(o->data, sizeof(o->data), "%s/afile/data", o->dir);
	expect_refusal(o, NULL, "data directory below a regular file",
		       "afile/data");
	o_fmt(o->data, sizeof(o->data), "%s/afile", o->dir);
	expect_refusal(o, NULL, "data directory is a regular file", "afile");

	/* Bad values of the new flags. */
	o_fmt(o->data, sizeof(o->data), "%s/data", o->dir);
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		o_fmt(what, sizeof(what), "%s '%s'", bad_flags[i][0],
		      bad_flags[i][1]);
		expect_refusal(o, bad_flags[i], what, bad_flags[i][0] + 2);
	}

	/* A missing data directory is made, parents too. */
	o_fmt(o->data, sizeof(o->data), "%s/new/sub/data", o->dir);
	start_ok(o, NULL);
	stop_ok(o);

	/*
	 * Unreadable: as root, tdbd runs as nobody (root reads anything);
	 * otherwise the modes alone lock it out.
	 */
	if (geteuid() == 0) {
		pw = getpwnam("nobody");
		o->run_uid = pw ? pw->pw_uid : 65534;
		o->run_gid = pw ? pw->pw_gid : 65534;
		o->run_as = 1;
		/* a socket directory nobody may write */
		o_fmt(run, sizeof(run), "%s/run", o->dir);
		assert_int_equal(mkdir(run, 01777), 0);
		assert_int_equal(chmod(run, 01777), 0);
		o_fmt(o->sock, sizeof(o->sock), "%s/tdbd.sock", run);
	}
	o_fmt(o->data, sizeof(o->data), "%s/locked", o->dir);
	assert_int_equal(mkdir(o->data, 0), 0);
	expect_refusal(o, NULL, "data directory without permissions", "locked");

	/* A data directory of its own, then its files made unreadable. */
	o_fmt(o->data, sizeof(o->data), "%s/own", o->dir);
	assert_int_equal(mkdir(o->data, 0755), 0);
	if (o->run_as)
		assert_int_equal(chown(o->data, o->run_uid, o->run_gid), 0);
	start_ok(o, NULL);
	db = connect_ok(o);
	create_ok(db, "kept", TDB_DUR_SYNC);
	for (i = 0; i < 10; i++) {
		char k[16];

		seq_key(k, "k", (int)i);
		put_ok(db, "kept", k);
	}
	close_db(db);
	kill_ok(o); /* the records are in the log alone */
	lock_files(o, "wal-", 1);
	expect_refusal(o, NULL, "an unreadable log segment", "wal-");
	lock_files(o, "wal-", 0);
	start_ok(o, NULL);
	db = connect_ok(o);
	expect_exactly(db, "kept", "k", 10, "-", 0, "the log readable again");
	close_db(db);
	stop_ok(o); /* a checkpoint now */
	lock_files(o, "ckpt-", 1);
	expect_refusal(o, NULL, "an unreadable checkpoint", "ckpt-");
	lock_files(o, "ckpt-", 0);
	start_ok(o, NULL);
	db = connect_ok(o);
	expect_exactly(db, "kept", "k", 10, "-", 0,
		       "the checkpoint readable again");
	close_db(db);
	stop_ok(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_datadir, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_clean_restart, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sync_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crash_sync, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crash_async, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("TDB_DURABLE_TESTS")) /* e.g. "test_crash_*" */
		cmocka_set_test_filter(getenv("TDB_DURABLE_TESTS"));
	return cmocka_run_group_tests_name("integration/durable", tests, NULL,
					   NULL);
}
