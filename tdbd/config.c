// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * config.c - tdbd's settings: the configuration file (INI, parsed by
 * inih) and the setter that both the file and the command line go
 * through, so both are checked alike.
 *
 * Layout.  The file is named tdb.conf, not tdbd.conf, so that other parts
 * of tdb may one day have sections of their own in it: tdbd's keys go in
 * a [tdbd] section.  Keys before any section header are tdbd's too, so
 * that a plain list of "key = value" lines (the format before inih) still
 * works.  Any other section is an error, even an empty one: a misspelt
 * "[tbdd]" must not quietly drop the settings under it.
 *
 * Keys are the long flags' names (config_keys[]), "_" accepted for "-";
 * every tdbd setting is one.  A value may be put in double quotes, which
 * are removed; a quote left open is an error, since inih ends the value
 * at " ;" even inside quotes.  A UTF-8 byte order mark before the first
 * line is skipped.  '#' or ';' starts a comment line, and ';' after a blank
 * starts a comment at the end of a line (inih's defaults).  A key given
 * twice is an error: one of the two would be silently ignored.
 * Continuation lines (inih's multi-line values) are off: an indented line
 * is a line like any other.
 *
 * Errors.  An unknown key or section, a bad value and a malformed line
 * are errors naming the file and the line, and the file is not applied
 * at all: at start-up tdbd exits, at a reload it keeps its settings.
 * The line numbers come from our own reader (ini_parse_stream()), which
 * counts physical lines.  Whether inih passes the handler a line number
 * is fixed when the library is built (INI_HANDLER_LINENO): Debian's
 * libinih1 55 is built with it, but its <ini.h> says 0, so a program
 * cannot tell which it links against; and inih's count numbers the
 * pieces of a line longer than its buffer as lines of their own.  The
 * reader also rejects such lines, sections other than [tdbd] and lines
 * that are neither a key nor a section, and stops the parse at the
 * first error; inih's return value is only a backstop for what it alone
 * finds wrong.
 *
 * Debian's inih has run-time switches for what upstream fixes at compile
 * time (ini_allow_multiline, ini_max_line): we set them on each parse,
 * from the main thread, the only one that parses.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdbd.h"

/* A path of PATH_MAX bytes, its key and some blanks fit on a line. */
#define CONFIG_MAX_LINE 4352

static const char *const config_keys[] = {
	"socket", "data-dir", "workers", "max-conns", "flush-interval",
	"checkpoint-interval", "checkpoint-log", "segment-size",
	"accept-loss", "log-level", "syslog",
};
#define CONFIG_NKEYS ARRAY_SIZE(config_keys)

/* One parse of one file. */
struct config_ctx {
	FILE *f;
	const char *file;
	struct tdbd_opts *o;
	unsigned int line;		/* the line inih is parsing */
	unsigned int set_on[CONFIG_NKEYS];	/* line of each key, or 0 */
	char *buf;			/* getline()'s */
	size_t cap;
	char *err;
	size_t errlen;
	bool failed;
};

static void config_fail(struct config_ctx *ctx, const char *fmt, ...)
	__printf(2, 3);

/* Records the first error, "FILE:LINE: ...", and stops the parse. */
static void config_fail(struct config_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ctx->failed)
		return;
	ctx->failed = true;
	n = snprintf(ctx->err, ctx->errlen, "%s:%u: ", ctx->file, ctx->line);
	if (n < 0 || (size_t)n >= ctx->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static int config_key_index(const char *key)
{
	unsigned int i;

	for (i = 0; i < CONFIG_NKEYS; i++)
		if (!strcmp(key, config_keys[i]))
			return (int)i;
	return -1;
}

/* A size in bytes with an optional K, M, G or T suffix (powers of 1024). */
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

/* yes/no, true/false, on/off, 1/0: 0 or -EINVAL. */
static int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
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
		if (!strcmp(val, "auto"))
			o->workers = port_nr_cpus();
		else if (config_parse_count(val, 1, 1024, &o->workers))
			return "not auto or a number from 1 to 1024";
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
	} else if (!strcmp(key, "accept-loss")) {
		if (config_parse_bool(val, &o->accept_loss))
			return "not yes or no";
	} else if (!strcmp(key, "syslog")) {
		if (config_parse_bool(val, &o->syslog))
			return "not yes or no";
	} else if (!strcmp(key, "log-level")) {
		level = log_parse_level(val);
		if (level < 0)
			return "not error, warning, info or debug";
		o->log_level = level;
	} else {
		return "unknown key (known: socket, data-dir, workers, max-conns, flush-interval, checkpoint-interval, checkpoint-log, segment-size, accept-loss, log-level, syslog)";
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

/* A section header: only [tdbd], with nothing but a comment after it. */
static void config_check_section(struct config_ctx *ctx, const char *s)
{
	const char *end = strchr(s, ']');
	const char *name = s + 1, *rest;
	size_t len;

	if (!end) {
		config_fail(ctx, "section header without ']'");
		return;
	}
	for (rest = end + 1; isspace((unsigned char)*rest); rest++)
		;
	if (*rest && *rest != ';' && *rest != '#') {
		len = strcspn(rest, "\r\n");
		config_fail(ctx, "text after the section header: '%.*s'",
			    (int)len, rest);
		return;
	}
	while (isspace((unsigned char)*name))
		name++;
	len = (size_t)(end - name);
	while (len && isspace((unsigned char)name[len - 1]))
		len--;
	if (len != 4 || memcmp(name, "tdbd", 4))
		config_fail(ctx, "unknown section [%.*s] (tdbd's keys go in [tdbd])",
			    (int)len, name);
}

/*
 * inih's fgets: hands it one whole line of the file at a time, counting
 * them, and checks what inih would take without a word (sections) or
 * could only report by number.  NULL ends the parse, also on an error.
 */
static char *config_read(char *str, int num, void *stream)
{
	struct config_ctx *ctx = stream;
	const char *s;
	ssize_t n;

	if (ctx->failed)
		return NULL;
	errno = 0;
	n = getline(&ctx->buf, &ctx->cap, ctx->f);
	if (n < 0) {
		if (ferror(ctx->f)) {
			ctx->failed = true;
			snprintf(ctx->err, ctx->errlen, "%s: cannot read: %s",
				 ctx->file, strerror(errno ? errno : EIO));
		}
		return NULL;
	}
	ctx->line++;
	if (strlen(ctx->buf) != (size_t)n) {
		config_fail(ctx, "NUL byte in the line");
		return NULL;
	}
	if ((size_t)n + 1 > (size_t)num) {
		config_fail(ctx, "line longer than %d characters", num - 2);
		return NULL;
	}
	s = ctx->buf;
	/* A byte order mark, which some editors write (inih skips it too). */
	if (ctx->line == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
		s += 3;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '[')
		config_check_section(ctx, s);
	else if (*s && *s != '#' && *s != ';' && !strpbrk(s, "=:"))
		config_fail(ctx, "expected 'key = value' or '[tdbd]'");
	if (ctx->failed)
		return NULL;
	memcpy(str, ctx->buf, (size_t)n + 1);
	return str;
}

/* inih's handler: one key of [tdbd] (or before any section). */
static int config_handler(void *user, const char *section, const char *name,
			  const char *value)
{
	struct config_ctx *ctx = user;
	char key[64], val[CONFIG_MAX_LINE];
	const char *err;
	size_t len;
	int i;

	if (ctx->failed)
		return 0;
	if (!value) {		/* only if ini_allow_no_value */
		config_fail(ctx, "%s: no value", name);
		return 0;
	}
	/* config_read() let no other section through, blanks aside. */
	while (isspace((unsigned char)*section))
		section++;
	len = strlen(section);
	while (len && isspace((unsigned char)section[len - 1]))
		len--;
	if (len && (len != 4 || memcmp(section, "tdbd", 4))) {
		config_fail(ctx, "unknown section [%.*s]", (int)len, section);
		return 0;
	}
	len = strlen(name);
	if (!len || len >= sizeof(key)) {
		config_fail(ctx, "%s", len ? "key too long" : "no key before the '='");
		return 0;
	}
	/* data_dir as well as data-dir. */
	for (i = 0; name[i]; i++)
		key[i] = name[i] == '_' ? '-' : name[i];
	key[i] = '\0';
	len = strlen(value);
	if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
		value++;
		len -= 2;
	} else if (len && value[0] == '"') {
		/* inih ends a value at " ;", also inside quotes. */
		config_fail(ctx, "%s: the value's quotes do not close (a ';' after a blank starts a comment)",
			    key);
		return 0;
	}
	if (len >= sizeof(val)) {	/* config_read() checked the line */
		config_fail(ctx, "%s: value too long", key);
		return 0;
	}
	memcpy(val, value, len);
	val[len] = '\0';

	i = config_key_index(key);
	if (i < 0) {
		err = config_set(ctx->o, key, val);
		config_fail(ctx, "%s: %s", key, err ? err : "unknown key");
		return 0;
	}
	if (ctx->set_on[i]) {
		config_fail(ctx, "%s: already set on line %u", key,
			    ctx->set_on[i]);
		return 0;
	}
	err = config_set(ctx->o, key, val);
	if (err) {
		config_fail(ctx, "%s: %s", key, err);
		return 0;
	}
	ctx->set_on[i] = ctx->line;
	return 1;
}

int config_load(const char *file, struct tdbd_opts *o, char *err,
		size_t errlen)
{
	struct config_ctx ctx = {
		.file = file,
		.o = o,
		.err = err,
		.errlen = errlen,
	};
	int ret;

	ctx.f = fopen(file, "re");
	if (!ctx.f) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	ini_allow_multiline = false;
	ini_max_line = CONFIG_MAX_LINE;
	ret = ini_parse_stream(config_read, &ctx, config_handler, &ctx);
	fclose(ctx.f);
	free(ctx.buf);
	if (ctx.failed)
		return -1;
	if (ret) {
		/* Something only inih found wrong; its numbering is ours. */
		if (ret > 0) {
			ctx.line = (unsigned int)ret;
			config_fail(&ctx, "malformed line");
		} else {
			snprintf(err, errlen, "%s: %s", file,
				 ret == -2 ? "out of memory" : "cannot read");
		}
		return -1;
	}
	return 0;
}
