/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * input.h - the streaming readers of 'tdbcli load': CSV (input_csv.c),
 * JSON Lines (input_jsonl.c) and 'ipset save' output (input_ipset.c).
 *
 * A reader turns a file into encoded records, one input_next() at a time,
 * each with the line it starts on.  It reads the file in chunks through a
 * line buffer (input.c) that holds one line (or, for CSV, one row) at a
 * time, never the whole file, and encodes each record with the table's
 * schema (tdb/schema.h) into the caller's struct tdb_record.
 *
 * Errors.  input_next() returns -errno with in->err holding the reason
 * and in->line the line it concerns (0 when it concerns no line, as a read
 * error): the caller prints "FILE:LINE: reason".  A reason from the codec
 * names the field ("dport: 70000 is out of range 0..65535"); the readers'
 * own reasons name the column, option or line kind at fault.
 */
#ifndef TDB_CLI_INPUT_H
#define TDB_CLI_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdb/schema.h"

/* The longest line (JSON Lines, ipset) or CSV row a reader takes. */
#define INPUT_LINE_MAX (16U << 20)

struct input;

/* One format: its reader's hooks. */
struct input_format {
	const char *name;	/* "csv", "jsonl", "ipset" */
	/* Sets up in->priv.  0 or -errno (with in->err). */
	int (*open)(struct input *in);
	/*
	 * Encodes the next record into @r and sets in->line to its first
	 * line: 1, 0 at the end of the input, or -errno with in->err and
	 * in->line.
	 */
	int (*next)(struct input *in, struct tdb_record *r);
	/*
	 * The key of the record last returned as written in the input,
	 * NUL-terminated, or NULL if unknown.  Called rarely (to show one
	 * normalised prefix), so it may be slow; valid until the next call.
	 */
	const char *(*key_text)(struct input *in);
	void (*close)(struct input *in);
};

extern const struct input_format input_csv, input_jsonl, input_ipset;

struct input {
	const char *name;	/* for messages: the path, or "<stdin>" */
	const struct tdb_schema *schema;
	const struct input_format *fmt;
	void *priv;		/* the format's state */

	int fd;
	uint64_t size;		/* bytes when a regular file, else 0 */
	uint64_t bytes;		/* bytes read so far */

	/* The line buffer: bytes [start, end) of buf are not yet used. */
	char *buf;
	size_t cap, start, end;
	bool eof;
	uint64_t lineno;	/* the number of the last line returned */

	uint64_t line;		/* the record's (or the error's) line */
	char err[512];
};

/*
 * About how many records a regular file holds, from its size and the
 * lines of its first 64 KiB (0 for stdin, or when it cannot tell): a
 * size hint for the owner, never a limit.
 */
uint64_t input_estimate(const struct input *in);

/*
 * The format named @name (NULL if none), or the one the file name @path
 * implies by its suffix: .csv; .jsonl, .ndjson; .ipset, .save, .restore.
 */
const struct input_format *input_format_find(const char *name);
const struct input_format *input_format_guess(const char *path);

/*
 * Opens @path ("-" for standard input) to be read as @fmt with the schema
 * @s (which must outlive @in).  0, or -errno with in->err set.
 */
int input_open(struct input *in, const char *path,
	       const struct input_format *fmt, const struct tdb_schema *s);
/* As the format's next(): 1 with a record, 0 at the end, or -errno. */
int input_next(struct input *in, struct tdb_record *r);
/* The format's key_text(). */
const char *input_key_text(struct input *in);
/* Closes the file (not standard input) and frees; safe after a failed open. */
void input_close(struct input *in);

/*
 * For the readers: the next line, without its "\n" or "\r\n", in the line
 * buffer and NUL-terminated: 1 with *@line and *@len set (valid until the
 * next call; the reader may change its bytes), 0 at the end of the input,
 * or -errno with in->err and in->line set (a read error; a line over
 * INPUT_LINE_MAX bytes is -EFBIG).  in->lineno numbers it.
 */
int input_read_line(struct input *in, char **line, size_t *len);

/* Formats a reason into in->err and returns @err (a negative errno). */
int input_fail(struct input *in, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Whether @s (@len bytes) holds nothing but spaces and tabs. */
bool input_blank(const char *s, size_t len);

#endif /* TDB_CLI_INPUT_H */
