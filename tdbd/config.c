// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * config.c - tdbd's configuration file: "key = value" lines, '#' starts a
 * comment line, blank lines are ignored, a value may be put in double
 * quotes.  The keys are the long flags' names (config_set() lists them),
 * and the flags go through the same setter, so both are checked alike.
 * Any error names the file and line and stops tdbd.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdbd.h"

static char *config_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* A size in bytes with an optional K, M or G suffix (powers of 1024). */
static int config_parse_size(const char *s, u64 min, u64 max, u64 *out)
{
	unsigned long long n;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	case 'T': case 't':
		shift = 40;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (shift && end[1])
		return -EINVAL;
	if (n > (max >> shift) || (n << shift) < min)
		return -EINVAL;
	*out = (u64)n << shift;
	return 0;
}

/* Sets option @key to @val; NULL or what is wrong. */
const char *config_set(struct tdbd_opts *o, const char *key, const char *val)
{
	char **str = NULL;
	int level;

	if (!strcmp(key, "socket")) {
		str = &o->socket;
	} else if (!strcmp(key, "data-dir")) {
		str = &o->data_dir;
	} else if (!strcmp(key, "workers")) {
		if (config_parse_count(val, 1, 1024, &o->workers))
			return "not a number from 1 to 1024";
	} else if (!strcmp(key, "max-conns")) {
		if (config_parse_count(val, 0, 1000000, &o->max_conns))
			return "not a number from 0 to 1000000";
	} else if (!strcmp(key, "flush-interval")) {
		if (config_parse_count(val, 1, 10000, &o->flush_ms))
			return "not a number of milliseconds from 1 to 10000";
	} else if (!strcmp(key, "checkpoint-interval")) {
		if (config_parse_count(val, 0, 86400, &o->ckpt_secs))
			return "not a number of seconds from 0 to 86400";
	} else if (!strcmp(key, "checkpoint-log")) {
		if (config_parse_size(val, 0, 1ULL << 40, &o->ckpt_log))
			return "not a size up to 1T (bytes, or with K, M, G or T)";
	} else if (!strcmp(key, "segment-size")) {
		if (config_parse_size(val, 64 << 10, 1ULL << 32,
				      &o->segment_size))
			return "not a size from 64K to 4G (bytes, or with K, M or G)";
	} else if (!strcmp(key, "log-level")) {
		level = log_parse_level(val);
		if (level < 0)
			return "not error, warning, info or debug";
		o->log_level = level;
	} else {
		return "unknown key (known: socket, data-dir, workers, max-conns, flush-interval, checkpoint-interval, checkpoint-log, segment-size, log-level)";
	}
	if (!str)
		return NULL;
	if (!*val)
		return "empty value";
	free(*str);
	*str = strdup(val);
	return *str ? NULL : "out of memory";
}

int config_parse_count(const char *s, unsigned int min, unsigned int max,
		       unsigned int *out)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || !*s || *s == '-' || n < min || n > max)
		return -EINVAL;
	*out = (unsigned int)n;
	return 0;
}

int config_load(const char *file, struct tdbd_opts *o)
{
	char buf[4096];
	unsigned int line = 0;
	FILE *f;

	f = fopen(file, "r");
	if (!f) {
		log_msg(LOG_ERR, "%s: %s", file, strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof(buf), f)) {
		char *s, *eq, *key, *val;
		const char *err;
		size_t vlen;

		line++;
		if (!strchr(buf, '\n') && !feof(f)) {
			log_msg(LOG_ERR, "%s:%u: line too long", file, line);
			goto fail;
		}
		s = config_trim(buf);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			log_msg(LOG_ERR, "%s:%u: expected 'key = value'", file,
				line);
			goto fail;
		}
		*eq = '\0';
		key = config_trim(s);
		/* data_dir as well as data-dir, as older files wrote it. */
		for (char *u = key; *u; u++)
			if (*u == '_')
				*u = '-';
		val = config_trim(eq + 1);
		vlen = strlen(val);
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			val[vlen - 1] = '\0';
			val++;
		}
		err = config_set(o, key, val);
		if (err) {
			log_msg(LOG_ERR, "%s:%u: %s: %s", file, line, key, err);
			goto fail;
		}
	}
	if (ferror(f)) {
		log_msg(LOG_ERR, "%s: read error", file);
		goto fail;
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	return -1;
}
