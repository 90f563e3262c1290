/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * bench.h - what the benchmarks share: the keys they look up, a clock,
 * option parsing, teams of forked client processes, the prefix files of
 * the bulk-load benchmark and the directory of an LMDB environment.
 *
 * Each benchmark is a program of one .c file, so all here is static
 * inline: a program compiles in what it uses.  The functions that fail
 * print "NAME: ..." (NAME the program's, as "bench/lookup") and exit 1.
 */
#ifndef TDB_BENCH_H
#define TDB_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* 16-byte key i: a scrambled half, so that nothing sorts, and i itself. */
static inline void make_key(uint8_t *key, uint64_t i)
{
	uint64_t h = splitmix(i);

	memcpy(key, &h, 8);
	memcpy(key + 8, &i, 8);
}

/* The value of key i: i itself, then i's low byte repeated. */
#define BENCH_VAL_LEN 100

static inline void make_val(uint8_t *val, uint64_t i)
{
	memset(val, (int)(i & 0xff), BENCH_VAL_LEN);
	memcpy(val, &i, sizeof(i));
}

/*
 * Fails unless @val (@len bytes), which peer @who returned, is the value
 * of key @i: its length, its index and its last byte.
 */
static inline void check_val(const char *name, const char *who,
			     const void *val, size_t len, uint64_t i)
{
	const uint8_t *v = val;
	uint64_t got;

	if (len != BENCH_VAL_LEN) {
		fprintf(stderr, "%s: %s: a get of key %llu returned %zu bytes, not %d\n",
			name, who, (unsigned long long)i, len, BENCH_VAL_LEN);
		exit(1);
	}
	memcpy(&got, v, sizeof(got));
	if (got != i || v[BENCH_VAL_LEN - 1] != (uint8_t)i) {
		fprintf(stderr,
			"%s: %s: key %llu returned another value (index %llu, last byte %u)\n",
			name, who, (unsigned long long)i,
			(unsigned long long)got, v[BENCH_VAL_LEN - 1]);
		exit(1);
	}
}

/* CPU seconds of process @pid so far (all its threads), from /proc. */
static inline double bench_proc_cpu(const char *name, long pid)
{
	unsigned long long ut, st;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		fprintf(stderr, "%s: %s: %s\n", name, path, strerror(errno));
		exit(1);
	}
	close(fd);
	buf[n] = 0;
	/* After the command's closing parenthesis: utime is field 14. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2) {
		fprintf(stderr, "%s: %s: malformed\n", name, path);
		exit(1);
	}
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/* CPU seconds of the children waited for so far. */
static inline double bench_children_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * Parses "N,N,..." (commas or blanks) into @v, at most @max numbers from
 * 1 to @limit: their count, or -1 when malformed.
 */
static inline int bench_parse_list(const char *s, uint64_t *v, int max,
				   uint64_t limit)
{
	unsigned long long x;
	int n = 0;
	char *e;

	while (*s) {
		if (*s == ',' || *s == ' ') {
			s++;
			continue;
		}
		errno = 0;
		x = strtoull(s, &e, 10);
		if (e == s || errno || x < 1 || x > limit || n == max)
			return -1;
		v[n++] = x;
		s = e;
	}
	return n ? n : -1;
}

/* Monotonic seconds. */
static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @v[0..n-1], which it sorts. */
static inline double bench_median(double *v, int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The most runs of one measurement a benchmark takes. */
#define BENCH_RUNS_MAX 99

/*
 * One figure of workloads 1 and 6 (bench/gets, bench/lmdb_get): @runs
 * measurements at @records records and @procs processes, gets/s in @rate
 * and CPU microseconds per get (of @cpu_of) in @cpu, printed as their
 * medians with every run, then as the "result" and "cpu" lines that
 * scripts/bench-gets.sh reads, named for @peer.
 */
static inline void bench_gets_cell(const char *peer, int workload,
				   uint64_t records, uint64_t procs,
				   const double *rate, const double *cpu,
				   int runs, const char *cpu_of)
{
	double sorted[BENCH_RUNS_MAX], med, mcpu;
	char name[64];
	int run;

	/* bench_median() sorts: a copy, the runs stay in order. */
	memcpy(sorted, rate, runs * sizeof(*sorted));
	med = bench_median(sorted, runs);
	printf("    %2d process%s %12.0f gets/s; each run, in order:",
	       (int)procs, procs == 1 ? " " : "es", med);
	for (run = 0; run < runs; run++)
		printf(" %.0f", rate[run]);
	memcpy(sorted, cpu, runs * sizeof(*sorted));
	mcpu = bench_median(sorted, runs);
	printf("\n       CPU per get: %.2f us (%s; median)\n", mcpu, cpu_of);
	if (workload == 1)
		snprintf(name, sizeof(name), "w1_%s_p%d", peer, (int)procs);
	else
		snprintf(name, sizeof(name), "w6_%s_r%llu", peer,
			 (unsigned long long)records);
	printf("result %s_gets_per_s %.0f\n", name, med);
	printf("cpu %s_us_per_get %.3f\n", name, mcpu);
}

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Prints @usage, to stdout when @status is 0, else to stderr; exits @status. */
static inline __attribute__((noreturn)) void usage_exit(const char *usage,
							int status)
{
	fputs(usage, status ? stderr : stdout);
	exit(status);
}

/*
 * getopt_long() for a benchmark's main(), with the two usual endings:
 * -h (which @optstring and @opts must hold) prints @usage and exits 0; an
 * unknown option or a missing value prints it to stderr and exits 2.
 * Returns the next option, or -1 after the last.
 */
static inline int bench_getopt(int argc, char **argv, const char *optstring,
			       const struct option *opts, const char *usage)
{
	int c = getopt_long(argc, argv, optstring, opts, NULL);

	if (c == 'h')
		usage_exit(usage, 0);
	if (c == '?' || c == ':')
		usage_exit(usage, 2);
	return c;
}

/*
 * A team: up to TEAM_MAX forked processes (members) that set up (connect,
 * open), call team_wait_go(), start together once all have, and each send
 * back one struct team_result.  A member that fails exits non-zero: while
 * setting up, the parent then kills the others and exits 1; later,
 * team_run() says so.
 */
#define TEAM_MAX 256

struct team_result {
	uint64_t ops; /* operations done */
	uint64_t hits; /* lookups that found a record, where counted */
	double elapsed; /* seconds they took */
};

/* A member's work, in its own process: fills @r (zeroed), then returns. */
typedef void (*team_fn)(int id, void *arg, struct team_result *r);

struct team {
	const char *name; /* for messages */
	int n;
	pid_t pids[TEAM_MAX]; /* 0: ended */
	int ready[2], go[2], res[2];
};

/* In a member, set by team_start(). */
static int team_ready_fd __attribute__((unused)) = -1;
static int team_go_fd __attribute__((unused)) = -1;

/* A member calls this once set up: it returns at the start. */
static inline void team_wait_go(void)
{
	char c = 0;

	if (write(team_ready_fd, &c, 1) != 1 || read(team_go_fd, &c, 1) != 0)
		_exit(1);
}

/* Kills the members still running and exits 1, printing @why. */
static inline __attribute__((noreturn)) void team_abort(struct team *t,
							const char *why)
{
	int i;

	fprintf(stderr, "%s: %s\n", t->name, why);
	for (i = 0; i < t->n; i++)
		if (t->pids[i] > 0)
			kill(t->pids[i], SIGKILL);
	exit(1);
}

/* 1 when a member has ended, which before its result means it failed. */
static inline int team_member_gone(struct team *t)
{
	int i, status;

	for (i = 0; i < t->n; i++)
		if (t->pids[i] > 0 &&
		    waitpid(t->pids[i], &status, WNOHANG) == t->pids[i]) {
			t->pids[i] = 0;
			return 1;
		}
	return 0;
}

/*
 * Forks @n (1 to TEAM_MAX) members, member i running @fn(i, @arg, r) and
 * then sending r back.  Returns when all are set up; team_run() starts
 * them.
 */
static inline void team_start(struct team *t, const char *name, int n,
			      team_fn fn, void *arg)
{
	struct team_result r = { 0, 0, 0 };
	struct pollfd pfd;
	char why[128], c;
	int i, got = 0;

	t->name = name;
	t->n = 0;
	if (pipe2(t->ready, O_CLOEXEC) < 0 || pipe2(t->go, O_CLOEXEC) < 0 ||
	    pipe2(t->res, O_CLOEXEC) < 0) {
		snprintf(why, sizeof(why), "pipe: %s", strerror(errno));
		team_abort(t, why);
	}
	/* Nothing buffered for the members to print again. */
	fflush(stdout);
	for (i = 0; i < n; i++) {
		t->pids[i] = fork();
		if (t->pids[i] < 0) {
			snprintf(why, sizeof(why), "fork: %s", strerror(errno));
			team_abort(t, why);
		}
		t->n++;
		if (!t->pids[i]) {
			close(t->ready[0]);
			close(t->go[1]);
			close(t->res[0]);
			team_ready_fd = t->ready[1];
			team_go_fd = t->go[0];
			fn(i, arg, &r);
			if (write(t->res[1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
			_exit(0);
		}
	}
	close(t->ready[1]);
	close(t->go[0]);
	close(t->res[1]);
	pfd.fd = t->ready[0];
	pfd.events = POLLIN;
	while (got < n) {
		if (poll(&pfd, 1, 100) > 0) {
			if (read(t->ready[0], &c, 1) != 1)
				team_abort(t, "a process failed to start");
			got++;
		} else if (team_member_gone(t)) {
			team_abort(t, "a process failed while setting up");
		}
	}
	close(t->ready[0]);
}

/*
 * Starts the members; returns when all have answered and ended: 0 with
 * their results in @sum (ops and hits added up, the longest elapsed), or
 * -1 when a member failed.
 */
static inline int team_run(struct team *t, struct team_result *sum)
{
	struct team_result r;
	int i, got, status, bad = 0;

	*sum = (struct team_result){ 0, 0, 0 };
	close(t->go[1]);
	for (got = 0; got < t->n; got++) {
		if (read(t->res[0], &r, sizeof(r)) != sizeof(r))
			break;
		sum->ops += r.ops;
		sum->hits += r.hits;
		if (r.elapsed > sum->elapsed)
			sum->elapsed = r.elapsed;
	}
	close(t->res[0]);
	for (i = 0; i < t->n; i++)
		if (t->pids[i] > 0 && waitpid(t->pids[i], &status, 0) > 0 &&
		    (!WIFEXITED(status) || WEXITSTATUS(status)))
			bad = 1;
	return bad || got < t->n ? -1 : 0;
}

/*
 * The prefix files of the bulk-load benchmark (plain.txt from
 * bench/prefixes): "A.B.C.D/LEN ACTION" lines, ACTION one of
 * prefix_actions[].
 */
static const char *const prefix_actions[] = { "accept", "drop", "reject" };

struct prefix_line {
	uint8_t key[5]; /* as a cidr4 key: the address (network order), LEN */
	uint8_t action; /* index in prefix_actions[] */
};

/* Parses one line into @p: 0, or -1 when it is malformed. */
static inline int parse_prefix_line(const char *s, struct prefix_line *p)
{
	unsigned int i, v, len;

	for (i = 0; i < 4; i++) {
		if (*s < '0' || *s > '9')
			return -1;
		for (v = 0; *s >= '0' && *s <= '9'; s++)
			v = v * 10 + (*s - '0');
		if (v > 255 || *s++ != (i < 3 ? '.' : '/'))
			return -1;
		p->key[i] = v;
	}
	if (*s < '0' || *s > '9')
		return -1;
	for (len = 0; *s >= '0' && *s <= '9'; s++)
		len = len * 10 + (*s - '0');
	if (len > 32 || *s++ != ' ')
		return -1;
	p->key[4] = len;
	/* In the order of prefix_actions[]. */
	if (!strncmp(s, "accept", 6)) {
		p->action = 0;
		s += 6;
	} else if (!strncmp(s, "drop", 4)) {
		p->action = 1;
		s += 4;
	} else if (!strncmp(s, "reject", 6)) {
		p->action = 2;
		s += 6;
	} else {
		return -1;
	}
	return *s && *s != '\n' ? -1 : 0;
}

/*
 * Reads the prefix file @file, in its order: returns its lines (free()
 * them), *@n their count.
 */
static inline struct prefix_line *read_prefix_file(const char *name,
						   const char *file, size_t *n)
{
	size_t cap = 1 << 20, linecap = 0, i = 0;
	FILE *f = fopen(file, "r");
	struct prefix_line *p;
	char *line = NULL;

	p = malloc(cap * sizeof(*p));
	if (!f || !p) {
		fprintf(stderr, "%s: %s: %s\n", name, file, strerror(errno));
		exit(1);
	}
	while (getline(&line, &linecap, f) > 0) {
		if (i == cap) {
			cap *= 2;
			p = realloc(p, cap * sizeof(*p));
			if (!p) {
				fprintf(stderr, "%s: out of memory\n", name);
				exit(1);
			}
		}
		if (parse_prefix_line(line, &p[i])) {
			fprintf(stderr, "%s: %s:%zu: malformed line\n", name,
				file, i + 1);
			exit(1);
		}
		i++;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: reading %s failed\n", name, file);
		exit(1);
	}
	fclose(f);
	free(line);
	*n = i;
	return p;
}

/*
 * Makes @dir, the directory of an LMDB environment, if missing, and
 * removes the files of an environment left there.
 */
static inline void lmdb_dir_clear(const char *name, const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	char path[4096];
	unsigned int i;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: mkdir %s: %s\n", name, dir,
			strerror(errno));
		exit(1);
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) < 0 && errno != ENOENT) {
			fprintf(stderr, "%s: unlink %s: %s\n", name, path,
				strerror(errno));
			exit(1);
		}
	}
}

#ifdef MDB_VERSION_MAJOR /* lmdb.h was included first: an LMDB peer */
/* Prints that @what failed with the LMDB error @rc, and exits 1. */
static inline __attribute__((noreturn)) void lmdb_fail(const char *name,
						       const char *what, int rc)
{
	fprintf(stderr, "%s: %s: %s\n", name, what, mdb_strerror(rc));
	exit(1);
}

/*
 * Opens the environment in @dir with a map of @mapsize MiB and
 * mdb_env_open()'s default flags (synced commits); the caller closes it.
 */
static inline MDB_env *lmdb_env_open(const char *name, const char *dir,
				     size_t mapsize)
{
	MDB_env *env;
	int rc;

	rc = mdb_env_create(&env);
	if (rc)
		lmdb_fail(name, "mdb_env_create", rc);
	rc = mdb_env_set_mapsize(env, mapsize << 20);
	if (rc)
		lmdb_fail(name, "mdb_env_set_mapsize", rc);
	rc = mdb_env_open(env, dir, 0, 0644);
	if (rc)
		lmdb_fail(name, "mdb_env_open", rc);
	return env;
}
#endif

#ifdef HIREDIS_MAJOR /* hiredis.h was included first: a Redis peer */
static inline __attribute__((noreturn)) void redis_fail(const char *name,
							redisContext *c,
							const char *what)
{
	fprintf(stderr, "%s: Redis: %s: %s\n", name, what,
		c && c->err ? c->errstr : "no reply");
	exit(1);
}

/* A connection to the redis-server on unix socket @path. */
static inline redisContext *redis_connect(const char *name, const char *path)
{
	redisContext *c = redisConnectUnix(path);

	if (!c || c->err) {
		fprintf(stderr, "%s: Redis: connect to %s: %s\n", name, path,
			c ? c->errstr : "out of memory");
		exit(1);
	}
	return c;
}
#endif

#endif /* TDB_BENCH_H */
