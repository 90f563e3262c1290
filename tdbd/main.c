// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * main.c - tdbd, the user-space owner of tdb's tables: options, startup,
 * the accept loop with each connection's handshake, signals and shutdown.
 *
 * Options come from, in rising order of precedence: built-in defaults,
 * the TDB_SOCKET environment variable, the --config file, and the
 * command line.
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
		"  -s, --socket PATH      listen on PATH (default: $TDB_SOCKET, else\n"
		"                         " TDB_DEFAULT_SOCKET "; its directory is created)\n"
		"  -d, --data-dir DIR     data directory, created if missing and locked\n"
		"                         against a second tdbd (default " TDBD_DEFAULT_DATA_DIR ")\n"
		"  -w, --workers N        worker threads (default: one per CPU)\n"
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
		"      --accept-loss      start even when the log or the newest checkpoint\n"
		"                         is corrupt, discarding everything from the\n"
		"                         damage on (reported); never the default\n"
		"  -c, --config FILE      read 'key = value' lines, keys named as the\n"
		"                         long flags above (flags override)\n"
		"  -l, --log-level LEVEL  error, warning, info (default) or debug\n"
		"  -h, --help             show this help\n"
		"\n"
		"Tables other than memory ones are logged to the data directory and\n"
		"recovered at start-up.\n"
		"SIGTERM or SIGINT stops tdbd after the batches in flight; exit 0.\n");
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

/* Parses the command line over the defaults.  Exits on usage errors. */
static void parse_args(int argc, char **argv, struct tdbd_opts *o)
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
		{ "accept-loss", no_argument, NULL, 'A' },
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *env, *err;
	/* Flags apply after the config file, through the same setter. */
	const char **keys = calloc(argc, sizeof(*keys));
	const char **vals = calloc(argc, sizeof(*vals));
	int c, i, n = 0;

	if (!keys || !vals) {
		fputs("tdbd: out of memory\n", stderr);
		exit(1);
	}
	while ((c = getopt_long(argc, argv, "s:d:w:m:c:l:h", longopts,
				&i)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'A':
			o->accept_loss = true;
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
			keys[n] = longopts[i].name;
			vals[n++] = optarg;
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tdbd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}

	env = getenv("TDB_SOCKET");
	o->socket = xstrdup(env && *env ? env : TDB_DEFAULT_SOCKET);
	o->data_dir = xstrdup(TDBD_DEFAULT_DATA_DIR);
	o->workers = port_nr_cpus();
	o->max_conns = TDBD_MAX_CONNS_DEFAULT;
	o->flush_ms = TDBD_FLUSH_MS_DEFAULT;
	o->ckpt_secs = TDBD_CKPT_SECS_DEFAULT;
	o->ckpt_log = TDBD_CKPT_LOG_DEFAULT;
	o->segment_size = TDB_WAL_SEGMENT_SIZE;
	o->log_level = LOG_INFO;
	if (config && config_load(config, o))
		exit(2);
	for (i = 0; i < n; i++) {
		err = config_set(o, keys[i], vals[i]);
		if (err) {
			fprintf(stderr, "tdbd: --%s '%s': %s\n", keys[i],
				vals[i], err);
			exit(2);
		}
	}
	free(keys);
	free(vals);
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

/* Serves the listener and the handshakes until a stop signal. */
static int main_loop(int lfd, int sfd)
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
	sigset_t sigs;

	log_init(LOG_INFO);
	parse_args(argc, argv, &o);
	max_conns = o.max_conns;
	log_init(o.log_level);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	data_lock = datadir_lock(o.data_dir);
	if (data_lock < 0)
		goto free_opts;
	if (listener_open(&l, o.socket))
		goto unlock_data;

	/* Every thread inherits the mask: the signals come through sfd. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_msg(LOG_ERR, "signalfd: %s", strerror(errno));
		goto close_listener;
	}

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
	err = main_loop(l.fd, sfd);
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
	close(sfd);
close_listener:
	listener_close(&l);
unlock_data:
	close(data_lock);
free_opts:
	free(o.socket);
	free(o.data_dir);
	return ret;
}
