/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * owner.h - a private tdbd for the tests that stop, kill and restart their
 * owner (test_durable.c), which must not touch the shared one that run.sh
 * starts.
 *
 * struct owner is one temporary directory (under $TMPDIR) holding a socket,
 * a data directory and one stderr capture per start of tdbd ("tdbd-N.log",
 * N counting starts, so that earlier runs stay readable).  The binary is
 * $TDB_TDBD (run.sh exports it) or, when that is unset, tdbd/tdbd next to
 * the test's build directory.
 *
 *   owner_init()         makes the directory; owner_fini() kills what runs
 *                        and removes it (TDB_KEEP=1 keeps it)
 *   owner_start()        starts tdbd with extra flags and waits, bounded,
 *                        until it answers a handshake on its socket
 *   owner_try_start()    starts tdbd and waits for whichever comes first:
 *                        it answers (OWNER_STARTED) or it exits (its status)
 *   owner_kill()         SIGKILL, and reaps it
 *   owner_stop()         SIGTERM, and waits (bounded) for its exit status
 *   owner_log*()         the current run's stderr: read, search, print,
 *                        check for sanitizer reports
 *
 * "Answers" means a real handshake: a raw struct tdb_hello on the socket
 * and a welcome of status 0, with a time limit, since tdb_connect() has
 * none.  Every wait here is bounded.  Like harness.h, the helpers are
 * static functions in a header.
 *
 * Against tdb.ko (TDB_TEST_OWNER=kmod) there is no tdbd to run: starting
 * one skips the test case (CMocka's skip()), with a printed reason.
 */
#ifndef TDB_TEST_OWNER_H
#define TDB_TEST_OWNER_H

#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <sys/stat.h>

#include "harness.h"

/* Whether AddressSanitizer is built in: tests scale their rounds down. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SAN 1
#endif
#endif
#ifndef UNDER_SAN
#define UNDER_SAN 0
#endif

#define KIB 1024ULL
#define MIB (1024 * KIB)

#define OWNER_MAX_ARGS 32
#define OWNER_STARTED 1000 /* owner_try_start(): it answers */
#define OWNER_SAN_RE_N 4

/* How long tdbd may take to answer or to stop (ASan builds are slow). */
#define OWNER_START_MS 30000
#define OWNER_STOP_MS 30000

struct owner {
	char dir[200]; /* the temporary directory */
	char data[PATH_MAX]; /* --data-dir */
	char sock[108]; /* --socket */
	char log[PATH_MAX]; /* the current run's stderr */
	pid_t pid; /* 0 when nothing runs */
	uid_t run_uid; /* run tdbd as this uid/gid when run_as */
	gid_t run_gid;
	int run_as;
	unsigned int runs;
};

static const char *const owner_san_re[OWNER_SAN_RE_N] = {
	"ERROR: AddressSanitizer",
	"runtime error:",
	"LeakSanitizer",
	"ERROR: ThreadSanitizer",
};

/*
 * snprintf() for paths and messages that are cut when too long (the
 * compiler's truncation warnings do not look through it).
 */
static inline void __attribute__((format(printf, 3, 4)))
o_fmt(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
}

/* The tdbd binary under test: $TDB_TDBD, else next to this test binary. */
static inline const char *owner_tdbd(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("TDB_TDBD");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	if (path[0])
		return path;
	/* BUILD/tests/integration/test_x -> BUILD/tdbd/tdbd */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return "tdbd";
	self[n] = '\0';
	for (int i = 0; i < 3; i++) {
		slash = strrchr(self, '/');
		if (!slash)
			return "tdbd";
		*slash = '\0';
	}
	o_fmt(path, sizeof(path), "%s/tdbd/tdbd", self);
	return path;
}

/* The tdbcli binary: $TDB_TDBCLI, else next to this test binary; or NULL. */
static inline const char *owner_tdbcli(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("TDB_TDBCLI");
	const char *d = owner_tdbd();
	const char *slash;

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	slash = strrchr(d, '/');
	if (!slash)
		return NULL;
	/* BUILD/tdbd/tdbd -> BUILD/cli/tdbcli */
	o_fmt(path, sizeof(path), "%.*s/../cli/tdbcli", (int)(slash - d), d);
	return access(path, X_OK) == 0 ? path : NULL;
}

static inline int owner_rm_one(const char *p, const struct stat *st, int flag,
			       struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(p) < 0 && errno != ENOENT)
		fprintf(stderr, "owner: cannot remove %s: %s\n", p,
			strerror(errno));
	return 0;
}

/* rm -rf @path (does not cross into mounts: the caller unmounts first). */
static inline void owner_rm_rf(const char *path)
{
	nftw(path, owner_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/*
 * Makes the temporary directory (mode 0755, so that a tdbd run as another
 * uid can reach it) and names the socket and data directory in it.  The
 * data directory is not created: tdbd creates it.  0 or -errno.
 */
static inline int owner_init(struct owner *o, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	memset(o, 0, sizeof(*o));
	o_fmt(o->dir, sizeof(o->dir), "%s/tdb-%s.XXXXXX",
	      tmp && *tmp ? tmp : "/tmp", tag);
	if (!mkdtemp(o->dir))
		return -errno;
	if (chmod(o->dir, 0755) < 0)
		return -errno;
	o_fmt(o->data, sizeof(o->data), "%s/data", o->dir);
	o_fmt(o->sock, sizeof(o->sock), "%s/tdbd.sock", o->dir);
	return 0;
}

/* Reads a whole file into a NUL-terminated malloc'd buffer, or NULL. */
static inline char *owner_read_file(const char *path)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *nb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !buf) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	for (;;) {
		if (len + 1 >= cap) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

/* The current run's stderr, malloc'd (an empty string if unreadable). */
static inline char *owner_log(const struct owner *o)
{
	char *s = o->log[0] ? owner_read_file(o->log) : NULL;

	return s ? s : strdup("");
}

/* Does the current run's stderr contain @needle (case-insensitive)? */
static inline int owner_log_has(const struct owner *o, const char *needle)
{
	char *s = owner_log(o);
	int r = s && strcasestr(s, needle) != NULL;

	free(s);
	return r;
}

/* Prints the last @lines lines of the current run's stderr. */
static inline void owner_log_print(const struct owner *o, int lines)
{
	char *s = owner_log(o), *p;
	int n = 0;

	if (!s)
		return;
	for (p = s + strlen(s); p > s; p--)
		if (p[-1] == '\n' && p[0] && ++n > lines)
			break;
	fprintf(stderr, "---- %s (last %d lines):\n%s%s---- end\n", o->log,
		lines, p, *p && p[strlen(p) - 1] != '\n' ? "\n" : "");
	free(s);
}

/* The first sanitizer report's line in the current run's stderr, or NULL. */
static inline const char *owner_log_sanitizer(const struct owner *o)
{
	char *s = owner_log(o);
	const char *hit = NULL;
	int i;

	for (i = 0; s && i < OWNER_SAN_RE_N; i++)
		if (strstr(s, owner_san_re[i])) {
			hit = owner_san_re[i];
			break;
		}
	free(s);
	return hit;
}

/*
 * Starts tdbd --socket --data-dir and the NULL-terminated @extra flags,
 * its stdout and stderr going to a new log file.  Does not wait.  The
 * pid, or -errno.
 */
static inline pid_t owner_spawn(struct owner *o, const char *const *extra)
{
	const char *argv[OWNER_MAX_ARGS + 8];
	int n = 0, i, fd;
	pid_t pid;

	argv[n++] = owner_tdbd();
	argv[n++] = "--socket";
	argv[n++] = o->sock;
	argv[n++] = "--data-dir";
	argv[n++] = o->data;
	for (i = 0; extra && extra[i] && i < OWNER_MAX_ARGS; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	o_fmt(o->log, sizeof(o->log), "%s/tdbd-%u.log", o->dir, ++o->runs);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		fd = open(o->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0644);
		if (fd < 0)
			_exit(126);
		if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		if (o->run_as &&
		    (setgroups(0, NULL) < 0 || setgid(o->run_gid) < 0 ||
		     setuid(o->run_uid) < 0)) {
			fprintf(stderr, "owner: cannot become uid %u: %s\n",
				(unsigned int)o->run_uid, strerror(errno));
			_exit(126);
		}
		execv(argv[0], (char **)argv);
		fprintf(stderr, "owner: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	o->pid = pid;
	return pid;
}

/*
 * One handshake on the socket, with a time limit: 1 when the owner
 * welcomes us (status 0), 0 when it is not there yet or refused, -errno
 * on a local failure.  Descriptors that come with the welcome are closed.
 */
static inline int owner_probe(const struct owner *o, int ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tdb_hello h = { TDB_HELLO_MAGIC, TDB_PROTO_VERSION, 0, 0 };
	struct tdb_welcome w;
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { &w, sizeof(w) };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;
	int fd, ok = 0;
	ssize_t n;

	memcpy(sa.sun_path, o->sock, sizeof(sa.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) != (ssize_t)sizeof(h))
		goto out;
	if (h_wait_readable(fd, ms) != 1)
		goto out;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		goto out;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		int k, i, f;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < k; i++) {
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(f);
		}
	}
	ok = n == (ssize_t)sizeof(w) && w.status == 0;
out:
	close(fd);
	return ok;
}

/*
 * Reaps the running tdbd if it has exited: its status as h_wait_child()
 * gives it (0..255, 128+signal), or -1 while it runs.
 */
static inline int owner_reap(struct owner *o)
{
	int st;
	pid_t r;

	if (o->pid <= 0)
		return -1;
	r = waitpid(o->pid, &st, WNOHANG);
	if (r != o->pid)
		return -1;
	o->pid = 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
}

/*
 * Starts tdbd with @extra flags and waits at most @ms for the first of:
 * it answers a handshake (OWNER_STARTED; it keeps running), or it exits
 * (its status, 0..255 or 128+signal).  -ETIMEDOUT (it was killed) or
 * another -errno.
 */
static inline int owner_try_start(struct owner *o, const char *const *extra,
				  unsigned int ms)
{
	uint64_t end = h_now_ms() + ms;
	pid_t pid;
	int st;

	/*
	 * Against tdb.ko (run.sh's kmod mode) the suite has no tdbd to
	 * start, kill or restart: the test case that needs one is skipped.
	 * make kmod-test covers the module's restarts and crashes itself.
	 */
	if (h_kmod()) {
		print_message("owner: skipped: this test runs tdbd owners of "
			      "its own, and the owner is tdb.ko\n");
		skip();
	}
	pid = owner_spawn(o, extra);
	if (pid < 0)
		return pid;
	for (;;) {
		st = owner_reap(o);
		if (st >= 0)
			return st;
		if (owner_probe(o, 1000) == 1)
			return OWNER_STARTED;
		if (h_now_ms() > end) {
			kill(o->pid, SIGKILL);
			waitpid(o->pid, &st, 0);
			o->pid = 0;
			return -ETIMEDOUT;
		}
		h_sleep_us(10000);
	}
}

/*
 * Starts tdbd with @extra flags and waits until it answers.  0, or -1
 * after printing why and the log (it did not start).
 */
static inline int owner_start(struct owner *o, const char *const *extra)
{
	int rc = owner_try_start(o, extra, OWNER_START_MS);

	if (rc == OWNER_STARTED)
		return 0;
	if (rc == -ETIMEDOUT)
		fprintf(stderr,
			"owner: tdbd did not answer on %s within %u ms\n",
			o->sock, OWNER_START_MS);
	else if (rc >= 0)
		fprintf(stderr, "owner: tdbd exited with status %d at start\n",
			rc);
	else
		fprintf(stderr, "owner: cannot start tdbd: %s\n",
			strerror(-rc));
	owner_log_print(o, 40);
	return -1;
}

/* SIGKILLs the running tdbd and reaps it.  Its status (137), or -1. */
static inline int owner_kill(struct owner *o)
{
	int st;

	if (o->pid <= 0)
		return -1;
	kill(o->pid, SIGKILL);
	if (waitpid(o->pid, &st, 0) != o->pid)
		return -1;
	o->pid = 0;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/*
 * SIGTERM, then at most OWNER_STOP_MS for tdbd to exit.  Its status
 * (0..255, 128+signal), or -1 when it had to be killed.
 */
static inline int owner_stop(struct owner *o)
{
	int rc;

	if (o->pid <= 0)
		return -1;
	kill(o->pid, SIGTERM);
	rc = h_wait_child(o->pid, OWNER_STOP_MS);
	o->pid = 0;
	return rc;
}

/* Kills what runs and removes the directory (unless TDB_KEEP=1). */
static inline void owner_fini(struct owner *o)
{
	const char *keep = getenv("TDB_KEEP");

	if (o->pid > 0)
		owner_kill(o);
	if (!o->dir[0])
		return;
	if (keep && !strcmp(keep, "1"))
		fprintf(stderr, "owner: kept %s\n", o->dir);
	else
		owner_rm_rf(o->dir);
	o->dir[0] = '\0';
}

/* Connects a libtdb client to this owner.  0 or -errno. */
static inline int owner_connect(const struct owner *o, struct tdb **db)
{
	*db = NULL;
	return tdb_connect(o->sock, db);
}

/*
 * Checks that fail the test.  The test's connections are tracked, so that
 * teardown closes those a failed check left open (LeakSanitizer would
 * report them).
 */
#define OWNER_MAX_DBS 8
static struct tdb *owner_dbs[OWNER_MAX_DBS];

static inline struct tdb *track_db(struct tdb *db)
{
	int i;

	for (i = 0; i < OWNER_MAX_DBS; i++)
		if (!owner_dbs[i]) {
			owner_dbs[i] = db;
			break;
		}
	return db;
}

static inline struct tdb *connect_ok(const struct owner *o)
{
	struct tdb *db;
	int rc = owner_connect(o, &db);

	if (rc)
		fail_msg("connect to %s: %s", o->sock, tdb_strerror(rc));
	return track_db(db);
}

static inline void close_db(struct tdb *db)
{
	int i;

	for (i = 0; i < OWNER_MAX_DBS; i++)
		if (owner_dbs[i] == db)
			owner_dbs[i] = NULL;
	tdb_close(db);
}

static inline void close_all_dbs(void)
{
	int i;

	for (i = 0; i < OWNER_MAX_DBS; i++)
		if (owner_dbs[i]) {
			tdb_close(owner_dbs[i]);
			owner_dbs[i] = NULL;
		}
}

/* Starts the owner, failing the test (with its log) if it does not answer. */
static inline void start_ok(struct owner *o, const char *const *args)
{
	if (owner_start(o, args))
		fail_msg("tdbd did not start (log above)");
}

/* SIGTERM: exit 0 and no sanitizer report, or the test fails. */
static inline void stop_ok(struct owner *o)
{
	int st = owner_stop(o);
	const char *san = owner_log_sanitizer(o);

	if (st != 0 || san) {
		owner_log_print(o, 60);
		fail_msg("tdbd after SIGTERM: exit status %d%s%s", st,
			 san ? ", sanitizer report: " : "", san ? san : "");
	}
}

/* SIGKILL; also checks that it had not died already. */
static inline void kill_ok(struct owner *o)
{
	int st = owner_kill(o);
	const char *san = owner_log_sanitizer(o);

	if (st != 128 + SIGKILL || san) {
		owner_log_print(o, 60);
		fail_msg("tdbd was not alive to be killed (status %d)%s%s", st,
			 san ? "; sanitizer report: " : "", san ? san : "");
	}
}

static inline void stats_ok(struct tdb *db, struct tdb_stats *st)
{
	int rc = tdb_stats(db, st);

	if (rc)
		fail_msg("tdb_stats: %s", tdb_strerror(rc));
}

static inline void info_ok(struct tdb *db, const char *t, struct tdb_table_info *ti)
{
	int rc = tdb_info(db, t, ti);

	if (rc)
		fail_msg("tdb_info %s: %s", t, tdb_strerror(rc));
}

#endif /* TDB_TEST_OWNER_H */
