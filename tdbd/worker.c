// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * worker.c - worker threads.  Each serves many connections: it polls
 * their rings while there is work, spins TDBD_SPIN_NS after the last work
 * in case more comes, then sleeps in epoll_wait() on the connections'
 * wakeup eventfds and control sockets.
 *
 * Sleeping follows tdb/proto.h: set owner_need_wakeup on every
 * connection, full barrier, look at every ring once more, and only then
 * sleep; once awake, clear the words again so that busy clients publish
 * frames without writing the eventfd.  The TX eventfds are watched
 * edge-triggered and never read: an eventfd signals every write to an
 * edge-triggered watcher, and not reading means a client cannot make
 * tdbd block on its counter.  A worker with output waiting for RX room
 * wakes every TDBD_POLL_MS to look (clients also write the TX eventfd
 * when they free RX frames while owner_need_wakeup is set).
 *
 * A connection is closed when its control socket hangs up, when its
 * frames are malformed (core's conn.c), or at shutdown; a worker never
 * waits for one client: every descriptor it reads or writes is
 * non-blocking.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tdbd.h"

/* epoll data of the worker's own eventfd and of TX eventfds. */
#define EV_NOTIFY 1ULL
#define EV_TX 0ULL
/* How long a stopping worker waits for batches already begun. */
#define TDBD_DRAIN_NS (200ULL * 1000000)

struct worker {
	unsigned int id;
	pthread_t thread;
	int epfd;
	int notify_fd;			/* eventfd: new connections, stop */
	pthread_mutex_t lock;		/* protects incoming and stop */
	struct conn *incoming;
	bool stop;
	struct conn *conns;		/* owned by the thread */
	unsigned int nconns;
	timer_t wake_timer;		/* cuts a blocked eventfd write short */
	bool has_timer;
	/* Asleep with responses held for the log up to here; 0: none. */
	u64 log_wait;
};

static struct worker *workers;
static unsigned int nworkers;
/* Lets the log thread look at workers while they start and stop. */
static pthread_mutex_t workers_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int next_worker;

static void worker_unlink(struct worker *w, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
}

static void worker_close(struct worker *w, struct conn *c)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->sock, NULL);
	/* The client holds the eventfd too: closing ours would not unwatch it. */
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->tx_efd, NULL);
	worker_unlink(w, c);
	conn_destroy(c);
}

static void worker_adopt(struct worker *w, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

	c->w = w;
	ev.data.u64 = EV_TX;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->tx_efd, &ev) < 0)
		goto fail;
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->sock, &ev) < 0) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->tx_efd, NULL);
		goto fail;
	}
	c->prev = NULL;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	conn_log(c, LOG_DEBUG, "served by worker %u", w->id);
	return;
fail:
	conn_log(c, LOG_WARN, "epoll_ctl: %s; closing", strerror(errno));
	conn_destroy(c);
}

/* Takes the connections handed over; returns whether to stop. */
static bool worker_take(struct worker *w)
{
	struct conn *list, *c;
	bool stop;

	pthread_mutex_lock(&w->lock);
	list = w->incoming;
	w->incoming = NULL;
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	while ((c = list)) {
		list = c->next;
		worker_adopt(w, c);
	}
	return stop;
}

/* Services every connection once; returns whether any had work. */
static bool worker_service(struct worker *w)
{
	struct conn *c, *next;
	bool work = false;

	for (c = w->conns; c; c = next) {
		int ret;

		next = c->next;
		ret = tdb_conn_service(&c->tc);
		if (ret == TDB_CONN_CLOSE)
			worker_close(w, c);
		else if (ret == TDB_CONN_WORK)
			work = true;
	}
	return work;
}

static void worker_need_wakeup(struct worker *w, bool on)
{
	struct conn *c;

	for (c = w->conns; c; c = c->next)
		tdb_conn_need_wakeup(&c->tc, on);
}

static bool worker_out_pending(const struct worker *w)
{
	const struct conn *c;

	for (c = w->conns; c; c = c->next)
		if (tdb_conn_out_blocked(&c->tc) || c->tc.in_ready)
			return true;
	return false;
}

/* The lowest log position a held response waits for, or 0. */
static u64 worker_hold_lsn(const struct worker *w)
{
	const struct conn *c;
	u64 min = 0, lsn;

	for (c = w->conns; c; c = c->next) {
		lsn = tdb_conn_hold_lsn(&c->tc);
		if (lsn && (!min || lsn < min))
			min = lsn;
	}
	return min;
}

/* Reads what a client sent on its control socket: nothing is expected. */
static void worker_sock_event(struct worker *w, struct conn *c, u32 events)
{
	unsigned int budget = 16;
	char buf[256];
	ssize_t n;

	if (events & EPOLLIN) {
		do {
			n = recv(c->sock, buf, sizeof(buf), MSG_DONTWAIT);
		} while (n > 0 && --budget);
		if (n > 0)
			return;	/* more later: level-triggered */
		if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
		    !(events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
			return;
	}
	if (tdb_conn_in_busy(&c->tc))
		conn_log(c, LOG_INFO,
			 "client went away in the middle of a batch (%zu bytes received); closed",
			 c->tc.in.len);
	else
		conn_log(c, LOG_DEBUG, "closed by the client");
	worker_close(w, c);
}

/*
 * At shutdown: runs batches already begun, and sends answers held for the
 * log, for a little while, then closes.
 */
static void worker_drain(struct worker *w)
{
	u64 end = port_time_ns() + TDBD_DRAIN_NS;
	struct conn *c;
	bool begun;

	worker_need_wakeup(w, 0);
	do {
		worker_service(w);
		begun = false;
		/* Held answers too: the log thread still runs. */
		for (c = w->conns; c; c = c->next)
			if (tdb_conn_in_busy(&c->tc) ||
			    tdb_conn_tx_pending(&c->tc) ||
			    tdb_conn_hold_lsn(&c->tc))
				begun = true;
		if (begun)
			port_yield();
	} while (begun && port_time_ns() < end);
	while ((c = w->conns))
		worker_close(w, c);
}

/* The timer's signal only has to interrupt a write: nothing to do here. */
static void worker_timer_signal(int sig)
{
	(void)sig;
}

/* A one-shot timer that signals this thread: see worker_wake_fd(). */
static void worker_timer_init(struct worker *w)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGRTMIN,
	};

	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &w->wake_timer) == 0)
		w->has_timer = true;
	else
		log_msg(LOG_WARN, "worker %u: timer_create: %s", w->id,
			strerror(errno));
}

int worker_wake_fd(struct worker *w, int fd)
{
	struct itimerspec arm = {
		.it_value.tv_sec = TDBD_WAKE_TIMEOUT_NS / 1000000000ULL,
		.it_value.tv_nsec = TDBD_WAKE_TIMEOUT_NS % 1000000000ULL,
	};
	struct itimerspec disarm = { 0 };
	u64 one = 1;
	ssize_t n;
	int err;

	/* Without a timer, a write is only safe on a non-blocking fd. */
	if (!w->has_timer)
		return -EINTR;
	timer_settime(w->wake_timer, 0, &arm, NULL);
	n = write(fd, &one, sizeof(one));
	err = n < 0 ? errno : 0;
	timer_settime(w->wake_timer, 0, &disarm, NULL);
	/* EAGAIN: the counter is full and the client has a wakeup pending. */
	return err == EINTR ? -EINTR : 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];
	u64 last_work = port_time_ns();
	int i, n, timeout;

	port_rcu_thread_online();
	worker_timer_init(w);
	for (;;) {
		if (worker_take(w))
			break;
		if (worker_service(w)) {
			last_work = port_time_ns();
			continue;
		}
		if (port_time_ns() - last_work < TDBD_SPIN_NS) {
			cpu_relax();
			continue;
		}

		/* Going to sleep: tell the clients, then look once more. */
		worker_need_wakeup(w, 1);
		WRITE_ONCE(w->log_wait, worker_hold_lsn(w));
		smp_mb();
		if (worker_service(w)) {
			worker_need_wakeup(w, 0);
			WRITE_ONCE(w->log_wait, 0);
			last_work = port_time_ns();
			continue;
		}
		timeout = worker_out_pending(w) ? TDBD_POLL_MS : -1;
		n = epoll_wait(w->epfd, evs, ARRAY_SIZE(evs), timeout);
		worker_need_wakeup(w, 0);
		WRITE_ONCE(w->log_wait, 0);
		for (i = 0; i < n; i++) {
			u64 data = evs[i].data.u64;

			if (data == EV_NOTIFY) {
				u64 v;

				if (read(w->notify_fd, &v, sizeof(v)) < 0)
					continue;
			} else if (data != EV_TX) {
				worker_sock_event(w, evs[i].data.ptr,
						  evs[i].events);
			}
		}
		last_work = port_time_ns();
	}
	worker_drain(w);
	if (w->has_timer)
		timer_delete(w->wake_timer);
	port_rcu_thread_offline();
	return NULL;
}

static void worker_notify(struct worker *w)
{
	u64 one = 1;

	if (write(w->notify_fd, &one, sizeof(one)) < 0)
		return;	/* the counter is full: the worker will wake anyway */
}

int workers_start(unsigned int n)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_NOTIFY };
	struct sigaction sa = { .sa_handler = worker_timer_signal };
	unsigned int i;
	int err;

	/* No SA_RESTART: the write the signal interrupts must fail. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);

	workers = calloc(n, sizeof(*workers));
	if (!workers)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct worker *w = &workers[i];

		w->id = i;
		pthread_mutex_init(&w->lock, NULL);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->epfd < 0 || w->notify_fd < 0 ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->notify_fd, &ev) < 0) {
			err = -errno;
			goto fail;
		}
		err = -pthread_create(&w->thread, NULL, worker_main, w);
		if (err)
			goto fail;
		pthread_mutex_lock(&workers_lock);
		nworkers++;
		pthread_mutex_unlock(&workers_lock);
	}
	return 0;
fail:
	log_msg(LOG_ERR, "cannot start worker %u: %s", i, strerror(-err));
	if (workers[i].epfd >= 0)
		close(workers[i].epfd);
	if (workers[i].notify_fd >= 0)
		close(workers[i].notify_fd);
	workers_stop();
	return err;
}

void workers_add(struct conn *c)
{
	struct worker *w = &workers[next_worker++ % nworkers];

	pthread_mutex_lock(&w->lock);
	c->next = w->incoming;
	w->incoming = c;
	pthread_mutex_unlock(&w->lock);
	worker_notify(w);
}

void workers_log_progress(u64 durable, int err)
{
	unsigned int i;

	smp_mb();
	pthread_mutex_lock(&workers_lock);
	for (i = 0; i < nworkers; i++) {
		u64 lsn = READ_ONCE(workers[i].log_wait);

		if (lsn && (lsn <= durable || err))
			worker_notify(&workers[i]);
	}
	pthread_mutex_unlock(&workers_lock);
}

void workers_stop(void)
{
	unsigned int i;

	for (i = 0; i < nworkers; i++) {
		pthread_mutex_lock(&workers[i].lock);
		workers[i].stop = true;
		pthread_mutex_unlock(&workers[i].lock);
		worker_notify(&workers[i]);
	}
	for (i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		struct conn *c;

		pthread_join(w->thread, NULL);
		/* The log thread must not write to notify_fd once it closes. */
		pthread_mutex_lock(&workers_lock);
		w->log_wait = 0;
		pthread_mutex_unlock(&workers_lock);
		/* Connections handed over after the worker's last look. */
		while ((c = w->incoming)) {
			w->incoming = c->next;
			conn_destroy(c);
		}
		close(w->epfd);
		close(w->notify_fd);
		pthread_mutex_destroy(&w->lock);
	}
	pthread_mutex_lock(&workers_lock);
	free(workers);
	workers = NULL;
	nworkers = 0;
	pthread_mutex_unlock(&workers_lock);
}
