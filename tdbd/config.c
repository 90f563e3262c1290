// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * config.c - tdbd's configuration file: "key = value" lines, '#' starts a
 * comment line, blank lines are ignored, a value may be put in double
 * quotes.  Keys: socket, data-dir, workers, max-conns, log-level (the long flags'
 * names).  Any error names the file and line and stops tdbd.
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

/* Sets option @key to @val; NULL or what is wrong. */
static const char *config_set(struct tdbd_opts *o, const char *key,
			      const char *val)
{
	char **str = NULL;

	if (!strcmp(key, "socket")) {
		str = &o->socket;
	} else if (!strcmp(key, "data-dir") || !strcmp(key, "data_dir")) {
		str = &o->data_dir;
	} else if (!strcmp(key, "workers")) {
		if (config_parse_count(val, 1, 1024, &o->workers))
			return "workers must be a number from 1 to 1024";
		return NULL;
	} else if (!strcmp(key, "max-conns") || !strcmp(key, "max_conns")) {
		if (config_parse_count(val, 0, 1000000, &o->max_conns))
			return "max-conns must be a number from 0 to 1000000";
		return NULL;
	} else if (!strcmp(key, "log-level") || !strcmp(key, "log_level")) {
		int level = log_parse_level(val);

		if (level < 0)
			return "log-level must be error, warning, info or debug";
		o->log_level = level;
		return NULL;
	} else {
		return "unknown key (known: socket, data-dir, workers, max-conns, log-level)";
	}
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
