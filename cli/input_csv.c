// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * input_csv.c - CSV input for 'tdbcli load' (RFC 4180, parsed by libcsv
 * in strict mode).  The first row is a header naming each column: the
 * key under the schema's key name, the others after the schema's fields,
 * in any order; a field without a column takes its default.  Every row
 * has as many columns as the header.  An empty, unquoted cell leaves its
 * field out (its default applies), while "" is an empty string.  Blank
 * lines are skipped; a quoted cell may span lines, and its row counts
 * from the line it begins on.
 *
 * libcsv is fed one line at a time, so that a row's first line is known
 * and no more than one row is held.
 */
#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

#define NO_CELL ((size_t)-1)
/*
 * libcsv grows its cell buffer by a fixed step (128 bytes by default),
 * a realloc per step: start at this and, for a cell over several lines,
 * step by the buffer's size, so that it doubles.
 */
#define CSV_BLOCK (64U << 10)

struct csv_state {
	struct csv_parser p;
	bool header_done;
	unsigned int ncols;		/* the header's columns */
	char **names;			/* the header's names */
	int key_col;			/* the key's column */

	/* The row being parsed: its cells, NUL-terminated, in one buffer. */
	char *data;
	size_t data_len, data_cap;
	struct cell {
		size_t off;		/* in data, or NO_CELL */
		size_t len;
	} *cells;
	size_t cells_cap;
	unsigned int nfields;		/* cells seen, maybe over ncols */
	bool row_open;			/* a row has begun and not ended */
	bool row_done;
	bool nomem;
	uint64_t row_line;
	size_t row_bytes;		/* fed to libcsv since the row began */

	/* What tdb_record_encode() is given: the cells present. */
	const char **enc_names, **enc_values;
};

/* libcsv's cell callback: keeps the cell (NULL: empty and unquoted). */
static void on_cell(void *s, size_t len, void *arg)
{
	struct csv_state *st = arg;
	size_t need = st->data_len + len + 1;

	st->nfields++;
	/* Past the header's width only the count matters, for the error. */
	if (st->header_done && st->nfields > st->ncols)
		return;
	if (st->nfields > st->cells_cap) {
		size_t cap = st->cells_cap ? 2 * st->cells_cap : 16;
		struct cell *c = realloc(st->cells, cap * sizeof(*c));

		if (!c)
			goto nomem;
		st->cells = c;
		st->cells_cap = cap;
	}
	if (!s) {
		st->cells[st->nfields - 1].off = NO_CELL;
		return;
	}
	if (need > st->data_cap) {
		size_t cap = st->data_cap ? st->data_cap : 4096;
		char *d;

		while (cap < need)
			cap *= 2;
		d = realloc(st->data, cap);
		if (!d)
			goto nomem;
		st->data = d;
		st->data_cap = cap;
	}
	memcpy(st->data + st->data_len, s, len);
	st->data[st->data_len + len] = 0;
	st->cells[st->nfields - 1].off = st->data_len;
	st->cells[st->nfields - 1].len = len;
	st->data_len = need;
	return;

nomem:
	st->nomem = true;
	st->nfields--;
}

/* libcsv's end-of-row callback. */
static void on_row(int c, void *arg)
{
	struct csv_state *st = arg;

	st->row_done = true;
}

/* Rows end at a newline only: a "\r\n" reaches libcsv as "\n". */
static int is_term(unsigned char c)
{
	return c == '\n';
}

static int csv_open(struct input *in)
{
	struct csv_state *st = calloc(1, sizeof(*st));

	if (!st)
		return input_fail(in, -ENOMEM, "out of memory");
	if (csv_init(&st->p,
		     CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL)) {
		free(st);
		return input_fail(in, -ENOMEM, "out of memory");
	}
	csv_set_term_func(&st->p, is_term);
	csv_set_blk_size(&st->p, CSV_BLOCK);
	st->key_col = -1;
	in->priv = st;
	return 0;
}

static void csv_close(struct input *in)
{
	struct csv_state *st = in->priv;

	if (!st)
		return;
	csv_free(&st->p);
	for (unsigned int i = 0; i < st->ncols; i++)
		free(st->names[i]);
	free(st->names);
	free(st->data);
	free(st->cells);
	free(st->enc_names);
	free(st->enc_values);
	free(st);
	in->priv = NULL;
}

/* The cell @i of the row just parsed, NULL when empty and unquoted. */
static const char *cell(const struct csv_state *st, unsigned int i)
{
	return st->cells[i].off == NO_CELL ? NULL : st->data + st->cells[i].off;
}

/*
 * Whether @name is the key's or a field's name in @s; or "value" in a
 * schema without fields, which tdb_record_encode() takes as the opaque
 * value of a table without a schema.
 */
static bool schema_has(const struct tdb_schema *s, const char *name)
{
	if (!strcmp(name, tdb_schema_key_name(s)))
		return true;
	if (!tdb_schema_nfields(s) && !strcmp(name, "value"))
		return true;
	for (unsigned int i = 0; i < tdb_schema_nfields(s); i++)
		if (!strcmp(name, tdb_schema_field_name(s, i)))
			return true;
	return false;
}

/* "prefix, action, comment": what a header may name, for a message. */
static void schema_names(const struct tdb_schema *s, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "%s", tdb_schema_key_name(s));

	for (unsigned int i = 0; i < tdb_schema_nfields(s) && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, ", %s",
				      tdb_schema_field_name(s, i));
}

/* Takes the row just parsed as the header.  0 or -errno. */
static int take_header(struct input *in, struct csv_state *st)
{
	char known[256];

	st->names = calloc(st->nfields, sizeof(*st->names));
	st->enc_names = calloc(st->nfields, sizeof(*st->enc_names));
	st->enc_values = calloc(st->nfields, sizeof(*st->enc_values));
	if (!st->names || !st->enc_names || !st->enc_values)
		return input_fail(in, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < st->nfields; i++) {
		const char *name = cell(st, i);

		if (!name || !*name)
			return input_fail(in, -EINVAL,
					  "header: column %u has no name",
					  i + 1);
		if (!schema_has(in->schema, name)) {
			schema_names(in->schema, known, sizeof(known));
			return input_fail(in, -EINVAL,
					  "header: unknown column '%s' (the table has: %s)",
					  name, known);
		}
		for (unsigned int j = 0; j < st->ncols; j++)
			if (!strcmp(st->names[j], name))
				return input_fail(in, -EINVAL,
						  "header: column '%s' given twice",
						  name);
		st->names[i] = strdup(name);
		if (!st->names[i])
			return input_fail(in, -ENOMEM, "out of memory");
		st->ncols = i + 1;
		if (!strcmp(name, tdb_schema_key_name(in->schema)))
			st->key_col = (int)i;
	}
	if (st->key_col < 0)
		return input_fail(in, -EINVAL,
				  "header: no column '%s' (the key)",
				  tdb_schema_key_name(in->schema));
	st->header_done = true;
	return 0;
}

/* Encodes the row just parsed into @r.  1 or -errno. */
static int take_row(struct input *in, struct csv_state *st,
		    struct tdb_record *r)
{
	unsigned int n = 0;
	int err;

	if (st->nfields != st->ncols)
		return input_fail(in, -EINVAL,
				  "%u column%s, but the header has %u",
				  st->nfields, st->nfields == 1 ? "" : "s",
				  st->ncols);
	for (unsigned int i = 0; i < st->ncols; i++) {
		const char *v = cell(st, i);

		if (!v)
			continue;
		/* The codec takes C strings: a NUL would cut the cell. */
		if (memchr(v, 0, st->cells[i].len))
			return input_fail(in, -EINVAL, "%s: holds a NUL byte",
					  st->names[i]);
		st->enc_names[n] = st->names[i];
		st->enc_values[n++] = v;
	}
	err = tdb_record_encode(in->schema, st->enc_names, st->enc_values, n, r,
				in->err, sizeof(in->err));
	return err < 0 ? err : 1;
}

static int csv_next(struct input *in, struct tdb_record *r)
{
	struct csv_state *st = in->priv;
	char *line;
	size_t len;
	int rc;

	for (;;) {
		rc = input_read_line(in, &line, &len);
		if (rc < 0)
			return rc;
		if (!rc) {
			if (!st->row_open)
				return 0;
			in->line = st->row_line;
			return input_fail(in, -EINVAL,
					  "quoted cell not closed at the end of the input");
		}
		/* A UTF-8 byte order mark, as spreadsheets write. */
		if (in->lineno == 1 && len >= 3 &&
		    !memcmp(line, "\xef\xbb\xbf", 3)) {
			line += 3;
			len -= 3;
		}
		if (!st->row_open) {
			if (input_blank(line, len))
				continue;
			st->row_open = true;
			st->row_line = in->lineno;
			st->row_done = false;
			st->nfields = 0;
			st->data_len = 0;
			st->row_bytes = 0;
		}
		/*
		 * libcsv keeps an open quoted cell whole: bound the row, or a
		 * stray quote would hold the rest of the file in memory.
		 */
		st->row_bytes += len + 1;
		if (st->row_bytes > INPUT_LINE_MAX) {
			in->line = st->row_line;
			return input_fail(in, -EFBIG,
					  "row longer than %u MiB (a quote not closed?)",
					  INPUT_LINE_MAX >> 20);
		}
		line[len] = '\n';
		if (csv_parse(&st->p, line, len + 1, on_cell, on_row, st) !=
		    len + 1) {
			in->line = in->lineno;
			if (csv_error(&st->p) == CSV_EPARSE)
				return input_fail(in, -EINVAL,
						  "bad quoting: a quote inside an unquoted cell, or text after a closing quote");
			return input_fail(in, -ENOMEM, "%s",
					  csv_strerror(csv_error(&st->p)));
		}
		if (st->nomem) {
			in->line = in->lineno;
			return input_fail(in, -ENOMEM, "out of memory");
		}
		if (!st->row_done) {
			if (csv_get_buffer_size(&st->p) > CSV_BLOCK)
				csv_set_blk_size(&st->p,
						 csv_get_buffer_size(&st->p));
			continue;
		}
		st->row_open = false;
		in->line = st->row_line;
		if (st->header_done)
			return take_row(in, st, r);
		rc = take_header(in, st);
		if (rc)
			return rc;
	}
}

static const char *csv_key_text(struct input *in)
{
	struct csv_state *st = in->priv;

	return st->key_col < 0 ? NULL : cell(st, (unsigned int)st->key_col);
}

const struct input_format input_csv = {
	.name = "csv",
	.open = csv_open,
	.next = csv_next,
	.key_text = csv_key_text,
	.close = csv_close,
};
