// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * log.c - tdbd's log: one line per event, filtered by --log-level, to
 * stderr by default or to syslog on request.  The engine's port_log()
 * goes through the same filter.
 *
 * stderr.  "tdbd: LEVEL: text", written with one write(2) each, so lines
 * from different threads never interleave.  When stderr is the journal
 * (systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * gave us), each line starts with the sd-daemon "<N>" prefix instead of
 * "tdbd: ", so that journald records the line's priority; the journal
 * names the program itself.
 *
 * syslog.  openlog() with LOG_PID and LOG_DAEMON once, the first time it
 * is asked for; tdbd's levels are syslog's priorities (port.h), so a line
 * keeps its priority.  A reload may switch between stderr and syslog
 * while workers log: the choice and the level are read with READ_ONCE(),
 * and syslog is never closed, so a thread that still chose it a moment
 * after the switch writes one last line there, not into a closed log.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tdbd.h"
/*
 * After tdbd.h: <syslog.h> defines LOG_ERR, LOG_INFO and LOG_DEBUG as
 * macros with the values of tdbd's enum of the same names.
 */
#include <syslog.h>

_Static_assert(PORT_LOG_ERR == LOG_ERR && PORT_LOG_WARN == LOG_WARNING &&
	       PORT_LOG_INFO == LOG_INFO && PORT_LOG_DEBUG == LOG_DEBUG,
	       "tdbd's log levels are syslog's priorities");

int log_level = LOG_INFO;
static bool log_syslog;		/* READ_ONCE: lines go to syslog */
static bool log_journal;	/* stderr is the journal: "<N>" prefixes */
static bool log_syslog_opened;	/* main thread only */

const char *log_level_name(int level)
{
	switch (level) {
	case LOG_ERR:
		return "error";
	case LOG_WARN:
		return "warning";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

int log_parse_level(const char *name)
{
	static const int levels[] = { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(levels); i++)
		if (!strcmp(name, log_level_name(levels[i])))
			return levels[i];
	if (!strcmp(name, "warn") || !strcmp(name, "err"))
		return name[0] == 'w' ? LOG_WARN : LOG_ERR;
	return -1;
}

static void log_write(int level, const char *msg)
{
	char line[640];
	int n;

	if (!log_enabled(level))
		return;
	if (READ_ONCE(log_syslog)) {
		syslog(level, "%s: %s", log_level_name(level), msg);
		return;
	}
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>%s: %s\n", level,
			     log_level_name(level), msg);
	else
		n = snprintf(line, sizeof(line), "tdbd: %s: %s\n",
			     log_level_name(level), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* Nothing sensible to do about a failing stderr. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

/* Whether JOURNAL_STREAM ("DEV:INO") names the stream stderr is. */
static bool log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void log_init(int level)
{
	log_level = level;
	log_journal = log_stderr_is_journal();
	port_log_sink = log_write;
}

void log_set_level(int level)
{
	WRITE_ONCE(log_level, level);
}

void log_set_syslog(bool on)
{
	struct stat st;

	/* Said on stderr, before the switch: syslog would swallow it. */
	if (on && !READ_ONCE(log_syslog) && stat(_PATH_LOG, &st) < 0)
		log_msg(LOG_WARN,
			"syslog: %s: %s; log lines will be lost until a syslog daemon listens there",
			_PATH_LOG, strerror(errno));
	if (on && !log_syslog_opened) {
		openlog("tdbd", LOG_PID, LOG_DAEMON);
		log_syslog_opened = true;
	}
	WRITE_ONCE(log_syslog, on);
}

void log_msg(int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_write(level, msg);
}
