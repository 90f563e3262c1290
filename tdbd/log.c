// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * log.c - tdbd's log: one line per event on stderr, "tdbd: LEVEL: text",
 * filtered by --log-level.  The engine's port_log() goes through the same
 * filter.  Lines are written with one write(2) each, so lines from
 * different threads never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tdbd.h"

int log_level = LOG_INFO;

static const char *log_name(int level)
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
		if (!strcmp(name, log_name(levels[i])))
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
	n = snprintf(line, sizeof(line), "tdbd: %s: %s\n", log_name(level),
		     msg);
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

void log_init(int level)
{
	log_level = level;
	port_log_sink = log_write;
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
