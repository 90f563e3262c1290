// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * input_jsonl.c - JSON Lines input for 'tdbcli load': one JSON object a
 * line, its members the key (under the schema's key name) and the fields,
 * encoded by tdb_record_encode_json().  Blank lines are skipped; any
 * other line must hold exactly one object.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

struct jsonl_state {
	const char *line;	/* the last record's line, in the buffer */
	size_t len;
	char *key;		/* jsonl_key_text()'s answer */
};

static int jsonl_open(struct input *in)
{
	in->priv = calloc(1, sizeof(struct jsonl_state));
	return in->priv ? 0 : input_fail(in, -ENOMEM, "out of memory");
}

static void jsonl_close(struct input *in)
{
	struct jsonl_state *st = in->priv;

	if (st)
		free(st->key);
	free(st);
	in->priv = NULL;
}

/* What a JSON text starting with @c is, for a line that is no object. */
static const char *json_kind(char c)
{
	switch (c) {
	case '[':
		return "an array";
	case '"':
		return "a string";
	case 't':
	case 'f':
		return "a boolean";
	case 'n':
		return "null";
	case '-':
		return "a number";
	default:
		return c >= '0' && c <= '9' ? "a number" : "not JSON";
	}
}

static int jsonl_next(struct input *in, struct tdb_record *r)
{
	struct jsonl_state *st = in->priv;
	char *line;
	size_t len, skip;
	int rc;

	do {
		rc = input_read_line(in, &line, &len);
		if (rc <= 0)
			return rc;
	} while (input_blank(line, len));
	in->line = in->lineno;
	skip = strspn(line, " \t");
	/*
	 * The codec would refuse a non-object too; saying what the line
	 * holds instead points at the usual mistake, a JSON array file.
	 */
	if (line[skip] != '{')
		return input_fail(in, -EINVAL,
				  "not a JSON object (%s): each line holds one object {...}",
				  json_kind(line[skip]));
	st->line = line;
	st->len = len;
	rc = tdb_record_encode_json(in->schema, line, len, r, in->err,
				    sizeof(in->err));
	/*
	 * A JSON syntax error comes as "line 1, column 23: ...": the
	 * caller gives the file's line, so the column alone is news.
	 */
	if (rc < 0 && !strncmp(in->err, "line 1, column ", 15))
		memmove(in->err, in->err + 8, strlen(in->err + 8) + 1);
	return rc < 0 ? rc : 1;
}

/* Parses the line again: only ever done for one record of a load. */
static const char *jsonl_key_text(struct input *in)
{
	struct jsonl_state *st = in->priv;
	const char *key;
	json_t *doc;

	free(st->key);
	st->key = NULL;
	doc = json_loadb(st->line, st->len, 0, NULL);
	key = json_string_value(
		json_object_get(doc, tdb_schema_key_name(in->schema)));
	if (key)
		st->key = strdup(key);
	json_decref(doc);
	return st->key;
}

const struct input_format input_jsonl = {
	.name = "jsonl",
	.open = jsonl_open,
	.next = jsonl_next,
	.key_text = jsonl_key_text,
	.close = jsonl_close,
};
