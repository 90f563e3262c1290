// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * input.c - what the readers of 'tdbcli load' share: choosing a format,
 * opening the input and reading it line by line through one buffer that
 * grows to the longest line and no further, so that a load of any size
 * holds a few chunks of its file at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"

/* What one read() asks for; the buffer starts at twice this. */
#define INPUT_CHUNK (64U << 10)

static const struct input_format *const formats[] = {
	&input_csv,
	&input_jsonl,
	&input_ipset,
};

static const struct {
	const char *suffix;
	const struct input_format *fmt;
} suffixes[] = {
	{ ".csv", &input_csv },	     { ".jsonl", &input_jsonl },
	{ ".ndjson", &input_jsonl }, { ".ipset", &input_ipset },
	{ ".save", &input_ipset },   { ".restore", &input_ipset },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const struct input_format *input_format_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
		if (!strcmp(name, formats[i]->name))
			return formats[i];
	return NULL;
}

const struct input_format *input_format_guess(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t k = strlen(suffixes[i].suffix);

		if (n > k && !strcasecmp(path + n - k, suffixes[i].suffix))
			return suffixes[i].fmt;
	}
	return NULL;
}

int input_fail(struct input *in, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(in->err, sizeof(in->err), fmt, ap);
	va_end(ap);
	return err;
}

bool input_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

int input_open(struct input *in, const char *path,
	       const struct input_format *fmt, const struct tdb_schema *s)
{
	struct stat st;
	int err;

	memset(in, 0, sizeof(*in));
	in->fmt = fmt;
	in->schema = s;
	if (!strcmp(path, "-")) {
		in->name = "<stdin>";
		in->fd = STDIN_FILENO;
	} else {
		in->name = path;
		in->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (in->fd < 0)
			return input_fail(in, -errno, "cannot open '%s': %s",
					  path, strerror(errno));
		/*
		 * Only a named regular file has a size to measure progress
		 * against: standard input shows no time left, as a pipe.
		 */
		if (!fstat(in->fd, &st) && S_ISREG(st.st_mode))
			in->size = (uint64_t)st.st_size;
		posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	in->cap = 2 * INPUT_CHUNK;
	in->buf = malloc(in->cap);
	if (!in->buf) {
		err = input_fail(in, -ENOMEM, "out of memory");
		goto close_fd;
	}
	if (fmt->open) {
		err = fmt->open(in);
		if (err)
			goto free_buf;
	}
	return 0;

free_buf:
	free(in->buf);
	in->buf = NULL;
close_fd:
	if (in->fd != STDIN_FILENO)
		close(in->fd);
	in->fd = -1;
	return err;
}

int input_next(struct input *in, struct tdb_record *r)
{
	in->err[0] = 0;
	return in->fmt->next(in, r);
}

const char *input_key_text(struct input *in)
{
	return in->fmt->key_text ? in->fmt->key_text(in) : NULL;
}

void input_close(struct input *in)
{
	if (in->fmt && in->fmt->close && in->buf)
		in->fmt->close(in);
	free(in->buf);
	in->buf = NULL;
	if (in->fd > STDIN_FILENO)
		close(in->fd);
	in->fd = -1;
}

/*
 * Makes room for one more chunk after the unused bytes: moves them to the
 * front, and doubles the buffer when they fill most of it (a long line).
 * 0 or -ENOMEM.
 */
static int make_room(struct input *in)
{
	size_t used = in->end - in->start;
	size_t cap;
	char *p;

	if (in->start) {
		memmove(in->buf, in->buf + in->start, used);
		in->start = 0;
		in->end = used;
	}
	if (in->cap - in->end > INPUT_CHUNK / 2)
		return 0;
	cap = in->cap * 2;
	p = realloc(in->buf, cap);
	if (!p)
		return input_fail(in, -ENOMEM, "out of memory");
	in->buf = p;
	in->cap = cap;
	return 0;
}

int input_read_line(struct input *in, char **line, size_t *len)
{
	size_t scanned = 0;
	char *nl;
	ssize_t n;
	int err;

	for (;;) {
		nl = memchr(in->buf + in->start + scanned, '\n',
			    in->end - in->start - scanned);
		if (nl)
			break;
		scanned = in->end - in->start;
		if (scanned > INPUT_LINE_MAX)
			goto too_long;
		if (in->eof) {
			if (!scanned)
				return 0;
			/* A last line without its newline. */
			nl = in->buf + in->end;
			break;
		}
		err = make_room(in);
		if (err) {
			in->line = in->lineno + 1;
			return err;
		}
		/* Keep a byte for the NUL of a last line without newline. */
		n = read(in->fd, in->buf + in->end, in->cap - in->end - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			in->line = 0;
			return input_fail(in, -errno, "read error: %s",
					  strerror(errno));
		}
		if (!n)
			in->eof = true;
		in->end += (size_t)n;
		in->bytes += (uint64_t)n;
	}
	*line = in->buf + in->start;
	*len = (size_t)(nl - *line);
	if (*len > INPUT_LINE_MAX)
		goto too_long;
	in->start += *len + (nl < in->buf + in->end);
	if (*len && (*line)[*len - 1] == '\r')
		(*len)--;
	(*line)[*len] = 0;
	in->lineno++;
	return 1;

too_long:
	in->line = in->lineno + 1;
	return input_fail(in, -EFBIG, "line longer than %u MiB",
			  INPUT_LINE_MAX >> 20);
}

uint64_t input_estimate(const struct input *in)
{
	char buf[65536];
	uint64_t lines = 0;
	ssize_t n;

	if (!in->size || in->fd == STDIN_FILENO)
		return 0;
	n = pread(in->fd, buf, sizeof(buf), 0);
	if (n <= 0)
		return 0;
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	if (!lines)
		return 0;
	/* Lines of the sample's average length; a header line is noise. */
	return in->size * lines / (uint64_t)n;
}
