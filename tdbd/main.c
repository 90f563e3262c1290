// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * main.c - tdbd, the user-space owner of tdb's tables: options, startup,
 * the accept loop with each connection's handshake, signals and shutdown.
 *
 * Options come from, in rising order of precedence: built-in defaults,
 * the TDB_SOCKET environment variable, the --config file (config.c), and
 * the command line, whatever the order of the flags.
 *
 * Reload.  SIGHUP reads the file again, with the same flags over it (they
 * still win), and applies what tdbd itself owns and can change while it
 * serves: the log level, syslog, and --max-conns, all on the main thread
 * (max_conns is only read here; the log level by every thread, through
 * READ_ONCE), and the flush and checkpoint intervals, which the journal's
 * threads read anew at each wake-up (tdb_journal_set_intervals()).  Each
 * other changed setting is logged as needing a restart: the socket, data
 * directory, workers and segment size are fixed by what tdbd set up with
 * them.  A file with an error changes nothing; tdbd never stops because
 * of a reload.
 *
 * systemd.  With Type=notify, sd_notify(3) says READY=1 once tdbd serves:
 * the socket listens, recovery is done and the workers run, so a client
 * connecting then gets its welcome at once.  RELOADING=1 and READY=1
 * bracket a reload, STOPPING=1 starts the shutdown, and STATUS= says
 * what tdbd does.  Without NOTIFY_SOCKET these calls do nothing.
 *
 * Handshake.  The main thread accepts connections (non-blocking), reads
 * each client's struct tdb_hello when it arrives (a client that sends none
 * within TDBD_HELLO_NS is dropped), creates the connection's region and
 * eventfds, sends the welcome with them, and hands the connection to a
 * worker.  A hello of another protocol version is answered with a
 * welcome of status -EPROTO and no descriptors, then closed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"
#include "tdbd.h"

#define TDBD_DEFAULT_DATA_DIR "/var/lib/tdb"
#define EV_LISTEN 1ULL
#define EV_SIGNAL 2ULL

struct tdb_owner owner;

/* A connection that has not said hello yet. */
struct pending {
	int fd;
	struct ucred peer;
	u64 deadline;
	struct pending *next, *prev;
};

static struct pending *pendings;
static int main_epfd = -1;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tdbd [OPTION]...\n"
		"The tdb owner daemon: holds the tables and serves libtdb clients over\n"
		"shared-memory rings.  Runs in the foreground and logs to stderr.\n"
		"\n"
		"  -c, --config FILE      read the INI file FILE: keys named as the long\n"
		"                         flags, in a [tdbd] section; flags override it\n"
		"                         (see tdb.conf(5))\n"
		"  -s, --socket PATH      listen on PATH (default: $TDB_SOCKET, else\n"
		"                         " TDB_DEFAULT_SOCKET "; its directory is created)\n"
		"  -d, --data-dir DIR     data directory, created if missing and locked\n"
		"                         against a second tdbd (default " TDBD_DEFAULT_DATA_DIR ")\n"
		"  -w, --workers N        worker threads (default auto: one per CPU)\n"
		"  -m, --max-conns N      connections one non-root uid may hold at once\n"
		"                         (default 256; 0: no limit)\n"
		"      --flush-interval MS\n"
		"                         async tables reach the disk within MS\n"
		"                         milliseconds (default 10)\n"
		"      --checkpoint-interval S\n"
		"                         write a checkpoint every S seconds when the\n"
		"                         log grew (default 60; 0: never by time)\n"
		"      --checkpoint-log SIZE\n"
		"                         write one as soon as the log grew by SIZE\n"
		"                         since the last (default 128M; 0: never by size)\n"
		"      --segment-size SIZE\n"
		"                         log segment size, K/M/G suffixes (default 64M)\n"
		"      --accept-loss[=yes|no]\n"
		"                         start even when the log or the newest checkpoint\n"
		"                         is corrupt, discarding everything from the\n"
		"                         damage on (reported); never the default\n"
		"  -l, --log-level LEVEL  error, warning, info (default) or debug\n"
		"      --syslog[=yes|no]  log to syslog (facility daemon), not stderr\n"
		"  -h, --help             show this help\n"
		"\n"
		"Tables other than memory ones are logged to the data directory and\n"
		"recovered at start-up.\n"
		"SIGHUP reloads the configuration file; SIGTERM or SIGINT stops tdbd\n"
		"after the batches in flight (exit status 0).  Exit status 2: bad\n"
		"options or configuration file; 1: tdbd could not start or failed.\n");
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p) {
		fputs("tdbd: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

/* The command line, kept for reloads: flags apply over the file. */
static struct {
	const char *config;
	int n;
	const char **keys;	/* long flag names */
	const char **vals;	/* their arguments (argv's) */
} args;

static void opts_free(struct tdbd_opts *o)
{
	free(o->socket);
	free(o->data_dir);
	o->socket = o->data_dir = NULL;
}

/*
 * Builds the options: defaults, environment, the config file, the flags.
 * 0, or -1 with what is wrong in @err.
 */
static int opts_load(struct tdbd_opts *o, char *err, size_t errlen)
{
	const char *env = getenv("TDB_SOCKET"), *bad;
	int i;

	memset(o, 0, sizeof(*o));
	o->socket = xstrdup(env && *env ? env : TDB_DEFAULT_SOCKET);
	o->data_dir = xstrdup(TDBD_DEFAULT_DATA_DIR);
	o->workers = port_nr_cpus();
	o->max_conns = TDBD_MAX_CONNS_DEFAULT;
	o->flush_ms = TDBD_FLUSH_MS_DEFAULT;
	o->ckpt_secs = TDBD_CKPT_SECS_DEFAULT;
	o->ckpt_log = TDBD_CKPT_LOG_DEFAULT;
	o->segment_size = TDB_WAL_SEGMENT_SIZE;
	o->log_level = LOG_INFO;
	if (args.config && config_load(args.config, o, err, errlen))
		return -1;
	for (i = 0; i < args.n; i++) {
		bad = config_set(o, args.keys[i], args.vals[i]);
		if (bad) {
			snprintf(err, errlen, "--%s '%s': %s", args.keys[i],
				 args.vals[i], bad);
			return -1;
		}
	}
	return 0;
}

/* Parses the command line into args.  Exits on usage errors. */
static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "flush-interval", required_argument, NULL, 'F' },
		{ "checkpoint-interval", required_argument, NULL, 'C' },
		{ "checkpoint-log", required_argument, NULL, 'L' },
		{ "segment-size", required_argument, NULL, 'S' },
		{ "accept-loss", optional_argument, NULL, 'A' },
		{ "syslog", optional_argument, NULL, 'Y' },
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, i;

	args.keys = calloc(argc, sizeof(*args.keys));
	args.vals = calloc(argc, sizeof(*args.vals));
	if (!args.keys || !args.vals) {
		fputs("tdbd: out of memory\n", stderr);
		exit(1);
	}
	while ((c = getopt_long(argc, argv, "s:d:w:m:c:l:h", longopts,
				&i)) != -1) {
		switch (c) {
		case 'c':
			args.config = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case '?':
			usage(stderr);
			exit(2);
		default:
			for (i = 0; longopts[i].val != c; i++)
				;
			args.keys[args.n] = longopts[i].name;
			/* --accept-loss and --syslog alone mean yes. */
			args.vals[args.n++] = optarg ? optarg : "yes";
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tdbd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
}

/* As many descriptors as we may have: each connection takes four. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void pending_free(struct pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		pendings = p->next;
	if (p->next)
		p->next->prev = p->prev;
	if (p->fd >= 0) {
		epoll_ctl(main_epfd, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
	}
	free(p);
}

static void accept_all(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	socklen_t len;
	struct pending *p;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				log_msg(LOG_WARN, "accept: %s", strerror(errno));
			return;
		}
		p = calloc(1, sizeof(*p));
		if (!p) {
			close(fd);
			continue;
		}
		p->fd = fd;
		len = sizeof(p->peer);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &p->peer, &len) < 0) {
			log_msg(LOG_WARN, "SO_PEERCRED: %s", strerror(errno));
			close(fd);
			free(p);
			continue;
		}
		p->deadline = port_time_ns() + TDBD_HELLO_NS;
		ev.data.ptr = p;
		if (epoll_ctl(main_epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(p);
			continue;
		}
		p->next = pendings;
		if (pendings)
			pendings->prev = p;
		pendings = p;
	}
}

/* --max-conns, for the handshakes. */
static unsigned int max_conns;

/* Answers a hello with a welcome of @status and no descriptors. */
static void refuse(int fd, int status)
{
	struct tdb_welcome w = {
		.magic = TDB_HELLO_MAGIC,
		.version = TDB_PROTO_VERSION,
		.status = status,
	};

	if (send(fd, &w, sizeof(w), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return;
}

/* The client of @p sent something: its hello, we hope. */
static void hello_event(struct pending *p)
{
	struct tdb_hello hello;
	char buf[64];
	struct conn *c;
	ssize_t n;
	int err;

	n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != (ssize_t)sizeof(hello)) {
		if (n > 0)
			log_msg(LOG_WARN,
				"client pid %ld uid %u: hello of %zd bytes, not %zu; closing",
				(long)p->peer.pid, p->peer.uid, n, sizeof(hello));
		pending_free(p);
		return;
	}
	memcpy(&hello, buf, sizeof(hello));
	if (hello.magic != TDB_HELLO_MAGIC) {
		log_msg(LOG_WARN, "client pid %ld uid %u: bad hello magic; closing",
			(long)p->peer.pid, p->peer.uid);
		pending_free(p);
		return;
	}
	if (hello.version != TDB_PROTO_VERSION) {
		log_msg(LOG_WARN,
			"client pid %ld uid %u: protocol version %u, not %u; refused",
			(long)p->peer.pid, p->peer.uid, hello.version,
			TDB_PROTO_VERSION);
		refuse(p->fd, -EPROTO);
		pending_free(p);
		return;
	}
	err = uid_conns_take(p->peer.uid, max_conns);
	if (err) {
		log_msg(LOG_WARN,
			"client pid %ld uid %u: %s; refused",
			(long)p->peer.pid, p->peer.uid,
			err == -EUSERS ? "uid holds --max-conns connections"
				       : strerror(-err));
		refuse(p->fd, err);
		pending_free(p);
		return;
	}

	epoll_ctl(main_epfd, EPOLL_CTL_DEL, p->fd, NULL);
	c = conn_create(p->fd, &p->peer);
	if (!c) {
		uid_conns_drop(p->peer.uid);
		pending_free(p);
		return;
	}
	c->uid_counted = true;
	p->fd = -1;	/* the connection owns it now */
	pending_free(p);
	err = conn_send_welcome(c);
	if (err) {
		conn_log(c, LOG_INFO, "cannot send the welcome: %s",
			 strerror(-err));
		conn_destroy(c);
		return;
	}
	conn_log(c, LOG_DEBUG, "connected");
	workers_add(c);
}

/* Drops connections that said no hello in time; ms until the next due. */
static int pending_expire(void)
{
	u64 now = port_time_ns(), next = UINT64_MAX;
	struct pending *p, *n;

	for (p = pendings; p; p = n) {
		n = p->next;
		if (p->deadline <= now) {
			log_msg(LOG_WARN,
				"client pid %ld uid %u: no hello within %llu s; closing",
				(long)p->peer.pid, p->peer.uid,
				TDBD_HELLO_NS / 1000000000ULL);
			pending_free(p);
		} else if (p->deadline < next) {
			next = p->deadline;
		}
	}
	if (next == UINT64_MAX)
		return -1;
	return (int)((next - now) / 1000000 + 1);
}

/* CLOCK_MONOTONIC in microseconds, for RELOADING=1. */
static unsigned long long monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	       (unsigned long long)ts.tv_nsec / 1000;
}

static void notify_serving(const struct tdbd_opts *o, const char *note)
{
	sd_notifyf(0, "READY=1\nSTATUS=serving on %s, data directory %s, %u worker%s%s%s",
		   o->socket, o->data_dir, o->workers,
		   o->workers == 1 ? "" : "s", note ? "; " : "",
		   note ? note : "");
}

/* A setting the reload cannot change: say that it waits for a restart. */
static void reload_restart(const char *key, const char *from, const char *to)
{
	log_msg(LOG_WARN,
		"reload: %s changed from %s to %s, which needs a restart; still %s",
		key, from, to, from);
}

static void reload_restart_num(const char *key, unsigned long long from,
			       unsigned long long to)
{
	char f[32], t[32];

	if (from == to)
		return;
	snprintf(f, sizeof(f), "%llu", from);
	snprintf(t, sizeof(t), "%llu", to);
	reload_restart(key, f, t);
}

/*
 * SIGHUP: the file again, the flags over it; what may change now does,
 * the rest is reported.  @cur stays what runs.
 */
static void reload(struct tdbd_opts *cur)
{
	struct tdbd_opts o;
	char err[640];
	int old_level = cur->log_level;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
		   monotonic_usec(), args.config ? args.config : "");
	if (!args.config) {
		log_msg(LOG_INFO,
			"SIGHUP: no configuration file to reload (tdbd was started without --config)");
		notify_serving(cur, NULL);
		return;
	}
	if (opts_load(&o, err, sizeof(err))) {
		log_msg(LOG_ERR, "reload: %s; keeping the running configuration",
			err);
		opts_free(&o);
		sd_notifyf(0, "READY=1\nSTATUS=serving on %s; reload failed: %s",
			   cur->socket, err);
		return;
	}

	if (strcmp(o.socket, cur->socket))
		reload_restart("socket", cur->socket, o.socket);
	if (strcmp(o.data_dir, cur->data_dir))
		reload_restart("data-dir", cur->data_dir, o.data_dir);
	reload_restart_num("workers", cur->workers, o.workers);
	reload_restart_num("segment-size", cur->segment_size, o.segment_size);
	if (o.accept_loss != cur->accept_loss)
		reload_restart("accept-loss", cur->accept_loss ? "yes" : "no",
			       o.accept_loss ? "yes" : "no");

	/* Said at whichever of the two levels shows more. */
	if (o.log_level != old_level) {
		if (o.log_level > old_level)
			log_set_level(o.log_level);
		log_msg(LOG_INFO, "reload: log-level %s, was %s",
			log_level_name(o.log_level), log_level_name(old_level));
		log_set_level(o.log_level);
		cur->log_level = o.log_level;
	}
	if (o.flush_ms != cur->flush_ms || o.ckpt_secs != cur->ckpt_secs ||
	    o.ckpt_log != cur->ckpt_log) {
		log_msg(LOG_INFO,
			"reload: flush-interval %u ms, checkpoint-interval %u s, checkpoint-log %llu bytes (were %u, %u, %llu)",
			o.flush_ms, o.ckpt_secs, (unsigned long long)o.ckpt_log,
			cur->flush_ms, cur->ckpt_secs,
			(unsigned long long)cur->ckpt_log);
		journal_set_intervals(&o);
		cur->flush_ms = o.flush_ms;
		cur->ckpt_secs = o.ckpt_secs;
		cur->ckpt_log = o.ckpt_log;
	}
	if (o.max_conns != cur->max_conns) {
		log_msg(LOG_INFO,
			"reload: max-conns %u, was %u (connections held beyond it stay)",
			o.max_conns, cur->max_conns);
		max_conns = o.max_conns;
		cur->max_conns = o.max_conns;
	}
	if (o.syslog != cur->syslog) {
		log_msg(LOG_INFO, "reload: logging to %s from now on",
			o.syslog ? "syslog" : "stderr");
		log_set_syslog(o.syslog);
		log_msg(LOG_INFO, "reload: logging to %s, was %s",
			o.syslog ? "syslog" : "stderr",
			o.syslog ? "stderr" : "syslog");
		cur->syslog = o.syslog;
	}
	log_msg(LOG_INFO, "reloaded %s", args.config);
	opts_free(&o);
	notify_serving(cur, "configuration reloaded");
}

/* Serves the listener and the handshakes until a stop signal. */
static int main_loop(int lfd, int sfd, struct tdbd_opts *o)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct epoll_event evs[32];
	struct signalfd_siginfo si;
	int i, n;

	main_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (main_epfd < 0)
		return -errno;
	ev.data.u64 = EV_LISTEN;
	if (epoll_ctl(main_epfd, EPOLL_CTL_ADD, lfd, &ev) < 0)
		return -errno;
	ev.data.u64 = EV_SIGNAL;
	if (epoll_ctl(main_epfd, EPOLL_CTL_ADD, sfd, &ev) < 0)
		return -errno;

	for (;;) {
		n = epoll_wait(main_epfd, evs, ARRAY_SIZE(evs), pending_expire());
		if (n < 0 && errno != EINTR)
			return -errno;
		for (i = 0; i < n; i++) {
			if (evs[i].data.u64 == EV_LISTEN) {
				accept_all(lfd);
			} else if (evs[i].data.u64 == EV_SIGNAL) {
				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					reload(o);
					continue;
				}
				if (si.ssi_signo == SIGTERM ||
				    si.ssi_signo == SIGINT) {
					log_msg(LOG_INFO, "%s: stopping",
						strsignal((int)si.ssi_signo));
					return 0;
				}
			} else {
				hello_event(evs[i].data.ptr);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct tdbd_listener l = { .fd = -1, .lock_fd = -1 };
	struct tdbd_opts o = { 0 };
	int data_lock = -1, sfd = -1, ret = 1, err;
	char msg[640];
	sigset_t sigs;

	log_init(LOG_INFO);
	parse_args(argc, argv);
	if (opts_load(&o, msg, sizeof(msg))) {
		log_msg(LOG_ERR, "%s", msg);
		opts_free(&o);
		return 2;
	}
	max_conns = o.max_conns;
	log_set_level(o.log_level);
	if (o.syslog)
		log_set_syslog(true);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	/*
	 * Before any thread starts, which inherits the mask: the signals
	 * come through sfd, and a SIGHUP while tdbd starts waits for the
	 * main loop instead of killing it.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_msg(LOG_ERR, "signalfd: %s", strerror(errno));
		goto free_opts;
	}

	data_lock = datadir_lock(o.data_dir);
	if (data_lock < 0)
		goto close_sfd;
	if (listener_open(&l, o.socket))
		goto unlock_data;

	port_rcu_thread_online();
	err = tdb_pcache_init();
	if (err) {
		log_msg(LOG_ERR, "page cache: %s", strerror(-err));
		goto rcu_offline;
	}
	err = tdb_owner_init(&owner);
	if (err) {
		log_msg(LOG_ERR, "owner: %s", strerror(-err));
		goto pcache_fini;
	}
	sd_notifyf(0, "STATUS=recovering the tables in %s", o.data_dir);
	if (journal_recover(&o))
		goto owner_fini;
	if (journal_start())
		goto journal_stop;
	err = workers_start(o.workers);
	if (err)
		goto journal_stop;

	log_msg(LOG_INFO,
		"listening on %s, data directory %s, %u worker%s, async flush every %u ms, checkpoint every %u s",
		o.socket, o.data_dir, o.workers, o.workers == 1 ? "" : "s",
		o.flush_ms, o.ckpt_secs);
	notify_serving(&o, NULL);
	err = main_loop(l.fd, sfd, &o);
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: finishing the batches in flight, then the last checkpoint");
	if (err)
		log_msg(LOG_ERR, "main loop: %s", strerror(-err));
	else
		ret = 0;

	/* Stop accepting, finish what is in flight, then close everything. */
	listener_close(&l);
	while (pendings)
		pending_free(pendings);
	workers_stop();
	log_msg(LOG_INFO, "stopped: %ld requests served",
		port_atomic_read(&owner.requests));
journal_stop:
	journal_stop();
owner_fini:
	tdb_owner_fini(&owner);
pcache_fini:
	tdb_pcache_fini();
rcu_offline:
	port_rcu_thread_offline();
	if (main_epfd >= 0)
		close(main_epfd);
	listener_close(&l);
unlock_data:
	close(data_lock);
close_sfd:
	close(sfd);
free_opts:
	opts_free(&o);
	return ret;
}
