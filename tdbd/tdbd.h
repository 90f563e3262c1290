/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * tdbd.h - the user-space owner's private declarations: options, logging,
 * the listening socket, connections, their rings, and worker threads.
 *
 * Threads.  The main thread accepts connections, runs their handshake and
 * hands each to a worker, round-robin; it also waits for SIGTERM/SIGINT
 * and reloads the configuration on SIGHUP.
 * A worker owns its connections from then on: no other thread touches
 * them, so a connection needs no lock.
 */
#ifndef TDBD_TDBD_H
#define TDBD_TDBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "port.h"
#include "exec.h"
#include "conn.h"

/* Ring geometry that tdbd offers every connection. */
#define TDBD_FRAME_SIZE (16U << 10)
#define TDBD_FRAME_COUNT 64U

/* A connection that sends no hello this long after connecting is closed. */
#define TDBD_HELLO_NS (5ULL * 1000000000ULL)
/* How long an idle worker polls its rings before it sleeps. */
#define TDBD_SPIN_NS (30ULL * 1000)
/* How often a sleeping worker looks at rings whose RX side was full. */
#define TDBD_POLL_MS 1

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* log.c */
enum {
	LOG_ERR = PORT_LOG_ERR,
	LOG_WARN = PORT_LOG_WARN,
	LOG_INFO = PORT_LOG_INFO,
	LOG_DEBUG = PORT_LOG_DEBUG,
};

/* Read by every thread, changed by a reload: READ_ONCE/WRITE_ONCE. */
extern int log_level;

/* "error", "warning", "info", "debug" -> level, or -1. */
int log_parse_level(const char *name);
const char *log_level_name(int level);
/* To stderr, at @level; once, before any other thread runs. */
void log_init(int level);
void log_set_level(int level);
/* To syslog (daemon facility) or back to stderr; main thread only. */
void log_set_syslog(bool on);
void log_msg(int level, const char *fmt, ...) __printf(2, 3);

#define log_enabled(level) ((level) <= READ_ONCE(log_level))

/* main.c: the options after flags, config file and environment. */
/* Connections one non-root uid may hold at once, by default. */
#define TDBD_MAX_CONNS_DEFAULT 256U

/* Async tables reach the disk within this many milliseconds. */
#define TDBD_FLUSH_MS_DEFAULT 10U
/* Seconds between checkpoints (when the log grew). */
#define TDBD_CKPT_SECS_DEFAULT 60U
/*
 * Log bytes past the last checkpoint that call for the next one at once:
 * they bound what recovery replays record by record.  128 MiB is about
 * 800,000 records of 16-byte keys and 100-byte values, 1.5 s of replay
 * at the 1.8 us a record measured on a 2-CPU VM; with a checkpoint of
 * ten million such records loading in about 1.5 s, recovery stays near
 * 3 s.
 */
#define TDBD_CKPT_LOG_DEFAULT (128ULL << 20)

struct tdbd_opts {
	char *socket;
	char *data_dir;
	unsigned int workers;
	unsigned int max_conns;		/* per non-root uid; 0: no limit */
	unsigned int flush_ms;
	unsigned int ckpt_secs;		/* 0: no periodic checkpoints */
	u64 ckpt_log;			/* 0: none for log growth */
	u64 segment_size;
	bool accept_loss;
	bool syslog;			/* log to syslog, not stderr */
	int log_level;
};

/* config.c */
/*
 * Applies the INI file @file to @o.  0, or -1 with the first error, as
 * "FILE:LINE: what is wrong" (or "FILE: why it cannot be read"), in
 * @err (@errlen bytes).
 */
int config_load(const char *file, struct tdbd_opts *o, char *err,
		size_t errlen);
/* Sets option @key (a long flag's name) to @val: NULL, or what is wrong. */
const char *config_set(struct tdbd_opts *o, const char *key, const char *val);
/* Parses a decimal count in [@min, @max] into *@out; 0 or -EINVAL. */
int config_parse_count(const char *s, unsigned int min, unsigned int max,
		       unsigned int *out);

/* uidconns.c */
/* Counts a connection of @uid: 0, or -EUSERS when it holds @max already. */
int uid_conns_take(uid_t uid, unsigned int max);
void uid_conns_drop(uid_t uid);

/* listen.c */
struct tdbd_listener {
	int fd;
	int lock_fd;		/* flock on "<socket>.lock" */
	char *path;
	dev_t dev;		/* of the socket file we bound */
	ino_t ino;
};

/* Makes sure no other tdbd runs, replaces a stale socket, listens. */
int listener_open(struct tdbd_listener *l, const char *path);
void listener_close(struct tdbd_listener *l);

/* datadir.c */
/* mkdir -p: 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);
/* Creates or checks DIR and locks DIR/tdbd.lock; the lock fd or -1. */
int datadir_lock(const char *dir);
/*
 * Opens and flocks @lock_path without waiting, so that only one tdbd uses
 * the @kind ("socket", "data directory") called @name; the fd, or -1 after
 * logging why.
 */
int lock_file(const char *lock_path, const char *kind, const char *name);

struct worker;

/*
 * conn.c: one client connection: the core's side of its rings (conn.h)
 * and what tdbd holds for it.
 */
struct conn {
	struct tdb_conn tc;
	int sock;		/* control channel */
	int memfd;		/* the region, until the welcome is sent */
	int tx_efd;		/* the client writes: wakes us (never read) */
	int rx_efd;		/* we write: wakes the client */
	u8 *region;
	size_t region_size;

	bool uid_counted;	/* counted by uid_conns_take() */
	struct worker *w;
	struct conn *next, *prev;
};

#define conn_log(c, level, fmt, ...) \
	tdb_conn_log(&(c)->tc, level, fmt, ##__VA_ARGS__)

extern struct tdb_owner owner;

struct ucred;

/* conn.c */
/* A connection for the socket @fd (whose peer sent a valid hello). */
struct conn *conn_create(int fd, const struct ucred *peer);
/* Sends the welcome and the region and eventfds.  0 or -errno. */
int conn_send_welcome(struct conn *c);
/* Ends the session and frees everything; runs on an RCU-online thread. */
void conn_destroy(struct conn *c);

/* journal.c: tdbd's one journal (core/journal.h), with tdbd's options. */
/*
 * Loads the newest checkpoint and replays the log into owner.db, then
 * opens the log for writing and sets owner.db.wal.  0, or -1 after
 * logging why (a corrupt log names the file, offset and reason).
 */
int journal_recover(const struct tdbd_opts *o);
int journal_start(void);
/* After the workers stopped: syncs the log, checkpoints, closes. */
void journal_stop(void);
/* SIGHUP: the flush and checkpoint intervals of @o from now on. */
void journal_set_intervals(const struct tdbd_opts *o);
/* A response waits for the log to be durable up to @lsn: hurry. */
void journal_want(u64 lsn);
/*
 * A batch ran and may have appended to the log: wakes a log thread that
 * sleeps for long with nothing to write, so async writes reach the disk
 * within the flush interval.  Costs one barrier and one load otherwise.
 */
void journal_appended(void);

/* worker.c */
/* How long a worker lets a write to a client's eventfd block. */
#define TDBD_WAKE_TIMEOUT_NS (1000ULL * 1000)

/*
 * Writes 1 to the client's RX eventfd from worker @w, which never blocks
 * for more than TDBD_WAKE_TIMEOUT_NS: 0, or -EINTR when the write had to
 * be cut short (the client made the eventfd blocking and filled it).
 */
int worker_wake_fd(struct worker *w, int fd);
int workers_start(unsigned int n);
/* Gives @c to the next worker, which owns it from then on. */
void workers_add(struct conn *c);
/* Asks every worker to finish in-flight batches, close all, and exit. */
void workers_stop(void);
/* The log thread made progress (or failed): wakes workers that wait. */
void workers_log_progress(u64 durable, int err);

#endif /* TDBD_TDBD_H */
