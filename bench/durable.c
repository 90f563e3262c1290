// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/durable - what durability costs in tdbd: durable puts per second
 * through sync tables, and how long tdbd takes to recover after SIGKILL.
 *
 *   durable put [--procs N] [--seconds S] [--depth D] [--shared]
 *               [--mode plain|pipelined|both]
 *   durable recovery --tdbd PATH --dir DIR [--records N] [--loaders L]
 *                    [--checkpoint-interval S] [--timeout S] [--cold]
 *                    [-- TDBD-ARG...]
 *   durable disk --dir DIR [--count N]
 *
 * put: against the tdbd at $TDB_SOCKET (started by the caller, with its
 * data directory on the disk to measure).  N writer processes (default
 * 4, forked; each connects anew) put into tables of durability sync, one
 * table per writer (or, with --shared, one table for all), 16-byte keys
 * (bench.h make_key(); writer w uses indexes w << 40 onwards) and 100-byte
 * values, for S seconds each (default 5), starting together:
 *
 *   plain      tdb_put(), one round trip per put: each writer has one
 *              put waiting for its fdatasync at a time
 *   pipelined  tdb_batch_put() into a batch of depth D (default 64),
 *              submitted D/4 at a time, at most D puts in flight per
 *              writer
 *
 * --mode runs one of the two alone (default both, plain first).  Every
 * put is a new key: after each run the tables must hold one more record
 * per acknowledged put.  Prints puts/s (all writers together, over the
 * longest writer's time from the start to its last answer) and the
 * writes per fdatasync over the run, from the deltas of tdb_stats()
 * log_writes and log_syncs.  The tables are dropped at the end.
 *
 * recovery: starts PATH (tdbd) on DIR/tdbd.sock with the data directory
 * DIR/data (DIR should not hold one yet) and its stderr in
 * DIR/tdbd-K.log for its K-th start, then:
 *
 *   1. loads N records (default 10000000; 16-byte keys, 100-byte values)
 *      into an async table through batches of depth 1024 from L loader
 *      processes (default 2), waits until the log is synced past the
 *      table's last write, and SIGKILLs tdbd;
 *   2. (a) restarts it and measures the time from the fork that execs
 *      tdbd to its socket accepting a connection, and to tdb_info()
 *      showing the N records: recovery mostly from the log;
 *   3. SIGKILLs it, restarts it with --checkpoint-interval S (default 1),
 *      writes one record to a second table and waits for a checkpoint
 *      that starts after that write (tdb_stats() checkpoint_time changes
 *      and checkpoint_lsn reaches the write), then SIGKILLs it;
 *   4. (b) restarts it and measures as in (a): recovery from the
 *      checkpoint; then stops it with SIGTERM and times that.
 *
 * Starts other than the one of step 3 pass --checkpoint-interval 0
 * (checkpoints at shutdown only, none in the way).  TDBD-ARGs are added to every start.  Each
 * step gives up after the timeout (default 600 s), printing tdbd's log.
 * Prints the times, what the data directory holds, and the lines of
 * tdbd's log that speak of recovery, replay or checkpoints.  The files
 * that a restart reads are in the page cache (a SIGKILL leaves them
 * there); with --cold they are evicted before each measured restart, as
 * after a reboot (posix_fadvise() per file: nothing else is touched).
 *
 * disk: the time of one 4 KiB append plus fdatasync() to a file in DIR,
 * COUNT times (default 200): the floor under a synced write there.
 *
 * Each command ends with lines "result NAME VALUE" for
 * scripts/bench-durable.sh.  Exit status 1 on any error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "tdb/tdb.h"

#define KEY_LEN 16
#define VAL_LEN BENCH_VAL_LEN
#define REAP_MAX 256U
#define LOAD_DEPTH 1024U
#define NO_CKPT_INTERVAL 0U /* only at shutdown */

static void fail(const char *what, int err)
{
	fprintf(stderr, "bench/durable: %s: %s\n", what, tdb_strerror(err));
	exit(1);
}

static void fail_errno(const char *what)
{
	fprintf(stderr, "bench/durable: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * Reaps @b's completions until at most @left operations are pending,
 * failing on any error status; returns how many it reaped.
 */
static uint64_t batch_drain(struct tdb_batch *b, unsigned int left)
{
	struct tdb_completion c[REAP_MAX];
	unsigned int pending, min;
	uint64_t done = 0;
	int n, k;

	while ((pending = tdb_batch_pending(b)) > left) {
		min = pending - left;
		if (min > REAP_MAX)
			min = REAP_MAX;
		n = tdb_batch_reap(b, c, REAP_MAX, min);
		if (n < 0)
			fail("tdb_batch_reap", n);
		for (k = 0; k < n; k++)
			if (c[k].status)
				fail("batched put", c[k].status);
		done += (unsigned int)n;
	}
	return done;
}

/*
 * Puts keys @first to @last - 1 through @b, or for @seconds from now when
 * @last is 0, keeping at most @depth in flight and submitting a quarter
 * of that at a time.  Returns how many were acknowledged; *@elapsed gets
 * the time until the last answer.
 */
static uint64_t batch_puts(struct tdb_batch *b, const char *table,
			   unsigned int depth, uint64_t first, uint64_t last,
			   double seconds, double *elapsed)
{
	unsigned int chunk = depth / 4 ? depth / 4 : 1, j;
	uint8_t key[KEY_LEN], val[VAL_LEN];
	double start = now(), end = start + seconds;
	uint64_t i = first, done = 0;
	int err;

	while (last ? i < last : now() < end) {
		for (j = 0; j < chunk && (!last || i < last); j++, i++) {
			make_key(key, i);
			make_val(val, i);
			err = tdb_batch_put(b, table, key, KEY_LEN, val,
					    VAL_LEN, 0, NULL);
			if (err)
				fail("tdb_batch_put", err);
		}
		err = tdb_batch_submit(b);
		if (err)
			fail("tdb_batch_submit", err);
		done += batch_drain(b, depth - chunk);
	}
	done += batch_drain(b, 0);
	*elapsed = now() - start;
	return done;
}

/*
 * team_run() (bench.h), exiting when a member failed.  The members here
 * get the parent's connection as their argument, and first close their
 * copy of it.
 */
static struct team_result team_sum(struct team *t)
{
	struct team_result sum;

	if (team_run(t, &sum)) {
		fprintf(stderr, "bench/durable: a process failed\n");
		exit(1);
	}
	return sum;
}

/* put */

static int put_procs = 4;
static double put_seconds = 5.0;
static unsigned int put_depth = 64;
static bool put_shared;
static char put_base[40];
static bool put_batched;
static const char *put_mode = "both";

static void put_table(char *buf, int w)
{
	if (put_shared)
		snprintf(buf, TDB_NAME_MAX, "%s", put_base);
	else
		snprintf(buf, TDB_NAME_MAX, "%s_%d", put_base, w);
}

/* One writer, plain or pipelined, for put_seconds. */
static void put_writer(int w, void *arg, struct team_result *r)
{
	uint64_t i = (uint64_t)w << 40 | (uint64_t)put_batched << 39;
	uint8_t key[KEY_LEN], val[VAL_LEN];
	struct tdb_batch *b = NULL;
	char table[TDB_NAME_MAX];
	double start, end, t;
	struct tdb *db;
	int err;

	tdb_close(arg);

	put_table(table, w);
	err = tdb_connect(NULL, &db);
	if (err)
		fail("tdb_connect", err);
	if (put_batched) {
		b = tdb_batch_new(db, put_depth);
		if (!b)
			fail("tdb_batch_new", -errno);
	}
	team_wait_go();
	if (b) {
		r->ops = batch_puts(b, table, put_depth, i, 0, put_seconds,
				    &r->elapsed);
		tdb_batch_free(b);
	} else {
		start = now();
		end = start + put_seconds;
		do {
			make_key(key, i);
			make_val(val, i);
			err = tdb_put(db, table, key, KEY_LEN, val, VAL_LEN, 0);
			if (err)
				fail("tdb_put", err);
			i++;
			r->ops++;
			t = now();
		} while (t < end);
		r->elapsed = t - start;
	}
	tdb_close(db);
}

struct put_figures {
	double rate; /* puts/s */
	double per_sync; /* writes per fdatasync, 0: no sync seen */
	double sync_rate; /* fdatasyncs/s */
};

/* Records in the writers' tables, all together. */
static uint64_t put_records(struct tdb *db)
{
	struct tdb_table_info info;
	char table[TDB_NAME_MAX];
	uint64_t n = 0;
	int err, w;

	for (w = 0; w < (put_shared ? 1 : put_procs); w++) {
		put_table(table, w);
		err = tdb_info(db, table, &info);
		if (err)
			fail("tdb_info", err);
		n += info.records;
	}
	return n;
}

static struct put_figures put_run(struct tdb *db, bool batched)
{
	struct tdb_stats st0, st1;
	struct team_result sum;
	struct put_figures f;
	struct team t;
	uint64_t syncs, rec0, rec1;
	int err;

	put_batched = batched;
	rec0 = put_records(db);
	team_start(&t, "bench/durable", put_procs, put_writer, db);
	err = tdb_stats(db, &st0);
	if (err)
		fail("tdb_stats", err);
	sum = team_sum(&t);
	err = tdb_stats(db, &st1);
	if (err)
		fail("tdb_stats", err);
	rec1 = put_records(db);
	if (rec1 - rec0 != sum.ops) {
		fprintf(stderr,
			"bench/durable: %llu puts were acknowledged but the tables grew by %llu records\n",
			(unsigned long long)sum.ops,
			(unsigned long long)(rec1 - rec0));
		exit(1);
	}
	syncs = st1.log_syncs - st0.log_syncs;
	f.rate = sum.ops / sum.elapsed;
	f.per_sync = syncs ? (double)(st1.log_writes - st0.log_writes) / syncs :
			     0;
	f.sync_rate = syncs / sum.elapsed;
	return f;
}

static void put_print(const char *what, const struct put_figures *f,
		      double inflight)
{
	char per_sync[32];

	if (f->per_sync)
		snprintf(per_sync, sizeof(per_sync), "%.1f", f->per_sync);
	else
		snprintf(per_sync, sizeof(per_sync), "n/a");
	printf("  %-28s %12.0f %12s %12.0f %12.3f\n", what, f->rate, per_sync,
	       f->sync_rate, 1e3 * inflight / f->rate);
}

static int cmd_put(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "procs", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'D' },
		{ "shared", no_argument, NULL, 'S' },
		{ "mode", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct tdb_create_opts co = { .durability = TDB_DUR_SYNC };
	struct put_figures plain = { 0 }, piped = { 0 };
	bool do_plain, do_piped;
	char table[TDB_NAME_MAX], what[64];
	struct tdb *db;
	int c, err, w;

	while ((c = getopt_long(argc, argv, "p:s:D:Sm:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			put_procs = atoi(optarg);
			break;
		case 's':
			put_seconds = strtod(optarg, NULL);
			break;
		case 'D':
			put_depth = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			put_shared = true;
			break;
		case 'm':
			put_mode = optarg;
			break;
		default:
			return 2;
		}
	}
	do_plain = !strcmp(put_mode, "plain") || !strcmp(put_mode, "both");
	do_piped = !strcmp(put_mode, "pipelined") || !strcmp(put_mode, "both");
	if (put_procs < 1 || put_procs > TEAM_MAX || put_seconds <= 0 ||
	    put_depth < 1 || put_depth > 65535 || !(do_plain || do_piped)) {
		fprintf(stderr,
			"bench/durable put: bad --procs, --seconds, --depth or --mode\n");
		return 2;
	}

	snprintf(put_base, sizeof(put_base), "bench_durable_%ld",
		 (long)getpid());
	err = tdb_connect(NULL, &db);
	if (err)
		fail("tdb_connect (is tdbd running at $TDB_SOCKET?)", err);
	for (w = 0; w < (put_shared ? 1 : put_procs); w++) {
		put_table(table, w);
		err = tdb_create(db, table, &co);
		if (err)
			fail("tdb_create", err);
	}

	if (do_plain)
		plain = put_run(db, false);
	if (do_piped)
		piped = put_run(db, true);

	printf("durable puts/s (%d processes, %s, %d-byte keys, %d-byte values, %.1f s each)\n",
	       put_procs,
	       put_shared ? "one shared sync table" : "one sync table each",
	       KEY_LEN, VAL_LEN, put_seconds);
	printf("  %-28s %12s %12s %12s %12s\n", "", "puts/s", "writes/sync",
	       "syncs/s", "latency ms");
	if (do_plain)
		put_print("plain (tdb_put)", &plain, put_procs);
	snprintf(what, sizeof(what), "pipelined (batch depth %u)", put_depth);
	/* Up to put_depth in flight per writer: latency is at most this. */
	if (do_piped)
		put_print(what, &piped, (double)put_procs * put_depth);
	printf("  (latency: in flight / puts/s; for pipelined, an upper bound)\n");
	if (do_plain) {
		printf("result tdb_plain_puts_per_s %.0f\n", plain.rate);
		printf("result tdb_plain_writes_per_sync %.1f\n",
		       plain.per_sync);
		printf("result tdb_plain_syncs_per_s %.0f\n", plain.sync_rate);
	}
	if (do_piped) {
		printf("result tdb_batch_puts_per_s %.0f\n", piped.rate);
		printf("result tdb_batch_writes_per_sync %.1f\n",
		       piped.per_sync);
		printf("result tdb_batch_syncs_per_s %.0f\n", piped.sync_rate);
	}

	for (w = 0; w < (put_shared ? 1 : put_procs); w++) {
		put_table(table, w);
		err = tdb_drop(db, table);
		if (err)
			fail("tdb_drop", err);
	}
	tdb_close(db);
	return 0;
}

/* recovery */

#define REC_TABLE "bench_recovery"
#define POKE_TABLE "bench_recovery_poke"

static const char *tdbd_path, *rec_dir;
static char rec_sock[PATH_MAX], rec_data[PATH_MAX];
static uint64_t rec_records = 10000000;
static int rec_loaders = 2;
static unsigned int rec_ckpt_interval = 1;
static double rec_timeout = 600;
static bool rec_cold;
static char **tdbd_extra;
static int tdbd_nextra;
static int tdbd_starts;

struct daemon {
	pid_t pid;
	char log[PATH_MAX];
};

/* 1 if @line speaks of recovery or checkpoints, paths aside. */
static bool log_line_wanted(const char *line)
{
	static const char *const words[] = {
		"recover", "replay", "checkpoint", "torn", "truncat", "corrupt",
	};
	size_t dlen = strlen(rec_dir);
	char buf[1024], *p;
	unsigned int i;

	if (strstr(line, "listening on"))
		return false;
	snprintf(buf, sizeof(buf), "%s", line);
	while (dlen && (p = strstr(buf, rec_dir)))
		memmove(p, p + dlen, strlen(p + dlen) + 1);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(buf, words[i]))
			return true;
	return false;
}

/* Prints @d's log: the lines about recovery and checkpoints, or all. */
static void daemon_print_log(const struct daemon *d, bool all)
{
	char line[1024];
	bool any = false;
	FILE *f;

	f = fopen(d->log, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (all || log_line_wanted(line)) {
			printf("    %s", line);
			any = true;
		}
	}
	if (!any)
		printf("    (tdbd logged nothing about recovery: %s)\n",
		       d->log);
	fclose(f);
	fflush(stdout);
}

/* Gives up: prints why and @d's log, kills it. */
static void daemon_fail(struct daemon *d, const char *why)
{
	fflush(stdout);
	fprintf(stderr, "bench/durable: %s; tdbd's log (%s):\n", why, d->log);
	daemon_print_log(d, true);
	if (d->pid > 0)
		kill(d->pid, SIGKILL);
	exit(1);
}

/* Fails when tdbd has exited, or when more than the timeout has passed. */
static void daemon_check(struct daemon *d, double t0, const char *doing)
{
	char why[160];
	int status;

	if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
		d->pid = 0;
		snprintf(why, sizeof(why), "tdbd ended (status 0x%x) while %s",
			 status, doing);
		daemon_fail(d, why);
	}
	if (now() - t0 > rec_timeout) {
		snprintf(why, sizeof(why), "%s: no result after %.0f s", doing,
			 rec_timeout);
		daemon_fail(d, why);
	}
}

/* Forks and execs tdbd with a checkpoint interval of @ckpt seconds. */
static void daemon_start(struct daemon *d, unsigned int ckpt)
{
	char interval[16], **argv;
	int i, n = 0, fd;

	snprintf(d->log, sizeof(d->log), "%s/tdbd-%d.log", rec_dir,
		 ++tdbd_starts);
	snprintf(interval, sizeof(interval), "%u", ckpt);
	argv = calloc(10 + tdbd_nextra, sizeof(*argv));
	if (!argv)
		fail("calloc", -ENOMEM);
	argv[n++] = (char *)tdbd_path;
	argv[n++] = "--socket";
	argv[n++] = rec_sock;
	argv[n++] = "--data-dir";
	argv[n++] = rec_data;
	argv[n++] = "--checkpoint-interval";
	argv[n++] = interval;
	for (i = 0; i < tdbd_nextra; i++)
		argv[n++] = tdbd_extra[i];
	argv[n] = NULL;

	fflush(stdout);
	d->pid = fork();
	if (d->pid < 0)
		fail_errno("fork");
	if (!d->pid) {
		fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		execv(tdbd_path, argv);
		fprintf(stderr, "exec %s: %s\n", tdbd_path, strerror(errno));
		_exit(127);
	}
	free(argv);
}

/* Sends @sig to tdbd and reaps it; returns the seconds that took. */
static double daemon_stop(struct daemon *d, int sig)
{
	double t0 = now();
	int status;

	if (kill(d->pid, sig) < 0 || waitpid(d->pid, &status, 0) != d->pid)
		fail_errno("stopping tdbd");
	d->pid = 0;
	if (sig != SIGKILL && (!WIFEXITED(status) || WEXITSTATUS(status))) {
		fprintf(stderr,
			"bench/durable: tdbd exited with status 0x%x after signal %d\n",
			status, sig);
		exit(1);
	}
	return now() - t0;
}

/*
 * Connects to tdbd as soon as it accepts, then, when @table is not NULL,
 * waits until the table holds rec_records records.  *@t_conn and *@t_full
 * get the seconds from @t0 to each.
 */
static struct tdb *daemon_ready(struct daemon *d, double t0, const char *table,
				double *t_conn, double *t_full)
{
	struct tdb_table_info info;
	char doing[128];
	struct tdb *db;
	int err;

	for (;;) {
		err = tdb_connect(rec_sock, &db);
		if (!err)
			break;
		if (err != -ENOENT && err != -ECONNREFUSED && err != -EAGAIN)
			fail("tdb_connect", err);
		daemon_check(d, t0, "waiting for tdbd's socket");
		usleep(500);
	}
	*t_conn = now() - t0;
	if (!table)
		return db;
	info.records = 0;
	for (;;) {
		err = tdb_info(db, table, &info);
		if (!err && info.records >= rec_records)
			break;
		if (err && err != -ENOENT)
			fail("tdb_info", err);
		snprintf(doing, sizeof(doing),
			 "waiting for %llu records in %s (%llu now)",
			 (unsigned long long)rec_records, table,
			 (unsigned long long)info.records);
		daemon_check(d, t0, doing);
		usleep(1000);
	}
	*t_full = now() - t0;
	if (info.records != rec_records)
		printf("  NOTE: %s holds %llu records, %llu were loaded\n",
		       table, (unsigned long long)info.records,
		       (unsigned long long)rec_records);
	return db;
}

/* One loader: its share of the records, batched. */
static void loader(int w, void *arg, struct team_result *r)
{
	uint64_t first = rec_records * w / rec_loaders;
	uint64_t last = rec_records * (w + 1) / rec_loaders;
	struct tdb_batch *b;
	struct tdb *db;
	int err;

	tdb_close(arg);
	err = tdb_connect(rec_sock, &db);
	if (err)
		fail("tdb_connect", err);
	b = tdb_batch_new(db, LOAD_DEPTH);
	if (!b)
		fail("tdb_batch_new", -errno);
	team_wait_go();
	r->ops = batch_puts(b, REC_TABLE, LOAD_DEPTH, first, last, 0,
			    &r->elapsed);
	tdb_batch_free(b);
	tdb_close(db);
}

/* Waits until the log is synced up to @lsn. */
static void wait_durable(struct daemon *d, struct tdb *db, uint64_t lsn,
			 struct tdb_stats *st)
{
	double t0 = now();
	int err;

	for (;;) {
		err = tdb_stats(db, st);
		if (err)
			fail("tdb_stats", err);
		if (st->log_durable_lsn >= lsn)
			return;
		daemon_check(d, t0, "waiting for the log to be synced");
		usleep(1000);
	}
}

static double mib(uint64_t bytes)
{
	return bytes / 1048576.0;
}

/* Drops @path's pages from the page cache. */
static void file_evict(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail_errno(path);
	if (fdatasync(fd) < 0)
		fail_errno("fdatasync");
	errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (errno)
		fail_errno("posix_fadvise");
	close(fd);
}

/*
 * Prints what the data directory holds: log segments and checkpoints.
 * With @evict, also drops each file from the page cache (after syncing
 * it, since dirty pages stay), as a reboot would.
 */
static void data_dir_scan(bool evict)
{
	uint64_t wal = 0, ckpt = 0, other = 0;
	int nwal = 0, nckpt = 0;
	char path[PATH_MAX + 256];
	struct dirent *e;
	struct stat sb;
	DIR *dir;

	dir = opendir(rec_data);
	if (!dir)
		fail_errno(rec_data);
	while ((e = readdir(dir))) {
		snprintf(path, sizeof(path), "%s/%s", rec_data, e->d_name);
		if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
			continue;
		if (evict)
			file_evict(path);
		if (!strncmp(e->d_name, "wal-", 4)) {
			wal += sb.st_size;
			nwal++;
		} else if (!strncmp(e->d_name, "ckpt-", 5)) {
			ckpt += sb.st_size;
			nckpt++;
		} else {
			other += sb.st_size;
		}
	}
	closedir(dir);
	if (evict)
		return;
	printf("  data directory: %.1f MiB of log in %d segment%s, %.1f MiB in %d checkpoint%s, %.1f MiB else\n",
	       mib(wal), nwal, nwal == 1 ? "" : "s", mib(ckpt), nckpt,
	       nckpt == 1 ? "" : "s", mib(other));
}

/* Restarts tdbd, measures its recovery and prints it as @label. */
static struct tdb *measure(struct daemon *d, const char *label,
			   unsigned int ckpt, double *t_conn, double *t_full)
{
	struct tdb *db;
	double t0;

	if (rec_cold)
		data_dir_scan(true);
	t0 = now();
	daemon_start(d, ckpt);
	db = daemon_ready(d, t0, REC_TABLE, t_conn, t_full);
	printf("  %s\n", label);
	printf("    socket accepts after       %8.3f s\n", *t_conn);
	printf("    %llu records after   %8.3f s\n",
	       (unsigned long long)rec_records, *t_full);
	daemon_print_log(d, false);
	return db;
}

static int cmd_recovery(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tdbd", required_argument, NULL, 't' },
		{ "dir", required_argument, NULL, 'd' },
		{ "records", required_argument, NULL, 'r' },
		{ "loaders", required_argument, NULL, 'l' },
		{ "checkpoint-interval", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "cold", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct tdb_create_opts co = { .durability = TDB_DUR_ASYNC };
	double a_conn, a_full, b_conn, b_full, x_conn, x_full, t0, t;
	struct tdb_table_info info, poke;
	uint64_t replay_a, replay_b, ckpt0;
	uint8_t key[KEY_LEN], val[VAL_LEN];
	struct tdb_stats st;
	struct daemon d = { 0 };
	struct team_result sum;
	struct team team;
	struct tdb *db;
	int c, err;

	while ((c = getopt_long(argc, argv, "t:d:r:l:c:T:C", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 't':
			tdbd_path = optarg;
			break;
		case 'd':
			rec_dir = optarg;
			break;
		case 'r':
			rec_records = strtoull(optarg, NULL, 10);
			break;
		case 'l':
			rec_loaders = atoi(optarg);
			break;
		case 'c':
			rec_ckpt_interval =
				(unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'T':
			rec_timeout = strtod(optarg, NULL);
			break;
		case 'C':
			rec_cold = true;
			break;
		default:
			return 2;
		}
	}
	if (!tdbd_path || !rec_dir || !rec_records || rec_loaders < 1 ||
	    rec_loaders > TEAM_MAX || !rec_ckpt_interval || rec_timeout <= 0) {
		fprintf(stderr,
			"bench/durable recovery: --tdbd and --dir are needed; bad --records, --loaders, --checkpoint-interval or --timeout\n");
		return 2;
	}
	tdbd_extra = argv + optind;
	tdbd_nextra = argc - optind;
	if (mkdir(rec_dir, 0755) < 0 && errno != EEXIST)
		fail_errno("mkdir");
	snprintf(rec_sock, sizeof(rec_sock), "%s/tdbd.sock", rec_dir);
	snprintf(rec_data, sizeof(rec_data), "%s/data", rec_dir);

	printf("tdbd recovery after SIGKILL (%llu records, %d-byte keys, %d-byte values, one async table; data in %s; page cache %s)\n",
	       (unsigned long long)rec_records, KEY_LEN, VAL_LEN, rec_data,
	       rec_cold ?
		       "cold: tdbd's files evicted before each measured start" :
		       "warm");

	/* 1. Load. */
	t0 = now();
	daemon_start(&d, NO_CKPT_INTERVAL);
	db = daemon_ready(&d, t0, NULL, &x_conn, &x_full);
	err = tdb_create(db, REC_TABLE, &co);
	if (err)
		fail("tdb_create", err);
	team_start(&team, "bench/durable", rec_loaders, loader, db);
	t = now();
	sum = team_sum(&team);
	t = now() - t;
	if (sum.ops != rec_records)
		fail("load: count of acknowledged puts", -EPROTO);
	t0 = now();
	err = tdb_info(db, REC_TABLE, &info);
	if (err)
		fail("tdb_info", err);
	printf("  load: %d loader%s, batches of depth %u: %.2f s, %.0f records/s\n",
	       rec_loaders, rec_loaders == 1 ? "" : "s", LOAD_DEPTH, t,
	       rec_records / t);
	wait_durable(&d, db, info.log_lsn, &st);
	replay_a = info.log_lsn - st.checkpoint_lsn;
	printf("  log synced %.3f s after the load: %.1f MiB to replay (checkpoint lsn %llu, table lsn %llu)\n",
	       now() - t0, mib(replay_a), (unsigned long long)st.checkpoint_lsn,
	       (unsigned long long)info.log_lsn);
	data_dir_scan(false);
	tdb_close(db);
	daemon_stop(&d, SIGKILL);

	/* 2. (a) */
	db = measure(&d, "(a) restart after SIGKILL, mostly from the log:",
		     NO_CKPT_INTERVAL, &a_conn, &a_full);
	tdb_close(db);
	daemon_stop(&d, SIGKILL);

	/* 3. A checkpoint that covers everything. */
	t0 = now();
	daemon_start(&d, rec_ckpt_interval);
	db = daemon_ready(&d, t0, REC_TABLE, &x_conn, &x_full);
	printf("  restart with --checkpoint-interval %u: socket after %.3f s, %llu records after %.3f s\n",
	       rec_ckpt_interval, x_conn, (unsigned long long)rec_records,
	       x_full);
	err = tdb_stats(db, &st);
	if (err)
		fail("tdb_stats", err);
	ckpt0 = st.checkpoint_time;
	err = tdb_create(db, POKE_TABLE, &co);
	if (err)
		fail("tdb_create", err);
	make_key(key, 0);
	make_val(val, 0);
	err = tdb_put(db, POKE_TABLE, key, KEY_LEN, val, VAL_LEN, 0);
	if (err)
		fail("tdb_put", err);
	err = tdb_info(db, POKE_TABLE, &poke);
	if (err)
		fail("tdb_info", err);
	t0 = now();
	for (;;) {
		err = tdb_stats(db, &st);
		if (err)
			fail("tdb_stats", err);
		if (st.checkpoint_time && st.checkpoint_time != ckpt0 &&
		    st.checkpoint_lsn >= poke.log_lsn)
			break;
		daemon_check(&d, t0, "waiting for a checkpoint");
		usleep(10000);
	}
	err = tdb_info(db, REC_TABLE, &info);
	if (err)
		fail("tdb_info", err);
	replay_b = st.log_durable_lsn > st.checkpoint_lsn ?
			   st.log_durable_lsn - st.checkpoint_lsn :
			   0;
	printf("  checkpoint done %.3f s after the last write: checkpoint lsn %llu, %.1f MiB of log past it\n",
	       now() - t0, (unsigned long long)st.checkpoint_lsn,
	       mib(replay_b));
	daemon_print_log(&d, false);
	/* The log thread removes old segments just after: let it. */
	usleep(200000);
	data_dir_scan(false);
	tdb_close(db);
	daemon_stop(&d, SIGKILL);

	/* 4. (b) */
	db = measure(&d, "(b) restart after SIGKILL, from a checkpoint:",
		     NO_CKPT_INTERVAL, &b_conn, &b_full);
	tdb_close(db);
	t = daemon_stop(&d, SIGTERM);
	printf("  SIGTERM stop (with a checkpoint if the log grew): %.3f s\n",
	       t);

	printf("result load_records_per_s %.0f\n", rec_records / sum.elapsed);
	printf("result recovery_a_connect_s %.3f\n", a_conn);
	printf("result recovery_a_full_s %.3f\n", a_full);
	printf("result recovery_a_replay_mib %.1f\n", mib(replay_a));
	printf("result recovery_b_connect_s %.3f\n", b_conn);
	printf("result recovery_b_full_s %.3f\n", b_full);
	printf("result recovery_b_replay_mib %.1f\n", mib(replay_b));
	return 0;
}

/* disk */

static int cmd_disk(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	static char buf[4096];
	const char *dir = NULL;
	char path[PATH_MAX];
	int c, fd, i, count = 200;
	double t = 0, mean;

	while ((c = getopt_long(argc, argv, "d:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!dir || count < 1) {
		fprintf(stderr,
			"bench/durable disk: --dir is needed; bad --count\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/fdatasync-probe", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0)
		fail_errno(path);
	memset(buf, 0x5a, sizeof(buf));
	/* Ten untimed, for the file's first blocks and the journal. */
	for (i = -10; i < count; i++) {
		if (!i)
			t = now();
		if (write(fd, buf, sizeof(buf)) != sizeof(buf) ||
		    fdatasync(fd) < 0)
			fail_errno("append and fdatasync");
	}
	mean = (now() - t) / count;
	close(fd);
	unlink(path);
	printf("disk: 4 KiB append + fdatasync in %s: %.3f ms each, %.0f/s (%d times)\n",
	       dir, 1e3 * mean, 1 / mean, count);
	printf("result fdatasync_ms %.3f\n", 1e3 * mean);
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: durable put [--procs N] [--seconds S] [--depth D] [--shared]\n"
	      "                   [--mode plain|pipelined|both]\n"
	      "       durable recovery --tdbd PATH --dir DIR [--records N] [--loaders L]\n"
	      "                        [--checkpoint-interval S] [--timeout S] [--cold]\n"
	      "                        [-- TDBD-ARG...]\n"
	      "       durable disk --dir DIR [--count N]\n"
	      "Durable puts/s through tdbd's sync tables ($TDB_SOCKET), recovery time\n"
	      "after SIGKILL, and the disk's fdatasync time.\n",
	      f);
}

int main(int argc, char **argv)
{
	int ret;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "put"))
		ret = cmd_put(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "recovery"))
		ret = cmd_recovery(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "disk"))
		ret = cmd_disk(argc - 1, argv + 1);
	else
		ret = 2;
	if (ret == 2)
		usage(stderr);
	return ret;
}
