// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cmd_load.c - load: streams a CSV, JSON Lines or 'ipset save' file into
 * a table through libtdb's bulk load (tdb_load_*), which packs records
 * into full frames and makes them visible in one commit, or not at all.
 *
 * A bad input line, or a record the owner refuses, aborts the load: the
 * table stays as it was.  Either is reported as FILE:LINE.  The owner
 * names a refused record by its index in the load; rather than keep a
 * line number per record, the load keeps the (index, line) pairs where
 * the lines stop following the records one for one (the header, blank
 * and comment lines, rows over several lines): a record's line is the
 * last such pair's line plus its distance from that pair's record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "progress.h"

int cli_load_schema(struct cli *c, const char *table,
		    const struct tdb_table_info *info, struct tdb_schema **out)
{
	char err[256];
	size_t len;
	char *text;
	int r;

	r = tdb_table_schema(c->db, table, &text, &len);
	if (r)
		return cli_table_error(c, table, r);
	if (!text) {
		*out = tdb_schema_bare(info->key_type);
		if (*out)
			return CLI_OK;
		cli_error(c, "table '%s': no schema for its key type %u", table,
			  info->key_type);
		return CLI_FAIL;
	}
	r = tdb_schema_parse(text, len, out, err, sizeof(err));
	free(text);
	if (r) {
		cli_error(c, "table '%s' has a schema this tdbcli cannot read: %s",
			  table, err);
		return CLI_FAIL;
	}
	return CLI_OK;
}

/* Where the records' lines stop following one another (see above). */
struct line_map {
	struct anchor {
		uint64_t index, line;
	} *a;
	size_t n, cap;
	uint64_t records;	/* records added */
	uint64_t last;		/* the last record's line */
};

/* Notes that the next record starts on @line.  0 or -ENOMEM. */
static int line_map_add(struct line_map *m, uint64_t line)
{
	struct anchor *a;

	if (m->n && line == m->last + 1)
		goto out;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		a = realloc(m->a, m->cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		m->a = a;
	}
	m->a[m->n++] = (struct anchor){ m->records, line };
out:
	m->records++;
	m->last = line;
	return 0;
}

/* The line of record @index (< m->records). */
static uint64_t line_map_find(const struct line_map *m, uint64_t index)
{
	size_t lo = 0, hi = m->n;

	/* The last anchor at or before @index; the first is at 0. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->a[mid].index <= index)
			lo = mid;
		else
			hi = mid;
	}
	return m->a[lo].line + (index - m->a[lo].index);
}

/* The state of one load. */
struct load {
	struct cli *c;
	const char *table;
	struct input in;
	struct tdb_record rec;
	struct line_map map;
	struct progress pg;
	/* Prefixes stored normalised: how many, and the first. */
	uint64_t normalised;
	uint64_t norm_line;
	char *norm_from;
	char norm_to[64];
};

static const char *opt_format;
static bool opt_replace;

static const struct cli_opt load_opts[] = {
	{ "--format", &opt_format },
	{ NULL, NULL },
};

static const struct cli_flag load_flags[] = {
	{ "--replace", &opt_replace },
	{ NULL, NULL },
};

/* Reports a failed tdb_load_put() or commit.  An exit status. */
static int load_error(struct load *l, struct tdb_load *ld, int err)
{
	int64_t idx = tdb_load_failed_record(ld);
	const char *why = tdb_strerror(err);

	progress_clear(&l->pg);
	if (idx < 0 || (uint64_t)idx >= l->map.records) {
		if (err == -EINVAL) {
			cli_error(l->c, "load into table '%s' failed: %s",
				  l->table, why);
			return CLI_FAIL;
		}
		return cli_table_error(l->c, l->table, err);
	}
	switch (err) {
	case -EINVAL:
		why = "the key does not fit the table's key type";
		break;
	case -ENOSPC:
		why = "the table's quota is full, or the owner's disk is";
		break;
	}
	cli_error(l->c, "%s:%llu: the owner refused the record: %s", l->in.name,
		  (unsigned long long)line_map_find(&l->map, (uint64_t)idx),
		  why);
	return CLI_FAIL;
}

/* Reports a bad input line.  An exit status. */
static int input_error(struct load *l)
{
	progress_clear(&l->pg);
	if (l->in.line)
		cli_error(l->c, "%s:%llu: %s", l->in.name,
			  (unsigned long long)l->in.line, l->in.err);
	else
		cli_error(l->c, "%s: %s", l->in.name, l->in.err);
	return CLI_FAIL;
}

/* Remembers the first normalised prefix, to show it in the summary. */
static void note_normalised(struct load *l)
{
	const char *from;

	if (l->normalised++)
		return;
	l->norm_line = l->in.line;
	from = input_key_text(&l->in);
	l->norm_from = from ? strdup(from) : NULL;
	if (tdb_key_format(l->in.schema, l->rec.key, l->rec.klen, l->norm_to,
			   sizeof(l->norm_to)) < 0)
		l->norm_to[0] = 0;
}

/* The summary line, or its JSON object.  An exit status. */
static int summary(struct load *l, uint64_t records, uint64_t total)
{
	double secs = progress_elapsed(&l->pg);
	double rate = secs > 0 ? (double)records / secs : 0;
	json_t *o, *ex;

	if (l->c->json) {
		/* Whole milliseconds: a double prints with 17 digits. */
		o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "table",
			      l->table, "records", (json_int_t)records,
			      "milliseconds", (json_int_t)(secs * 1000 + 0.5),
			      "records_per_second", (json_int_t)rate,
			      "table_records", (json_int_t)total, "normalised",
			      (json_int_t)l->normalised);
		if (o && l->normalised) {
			ex = json_pack("{s:I, s:s?, s:s}", "line",
				       (json_int_t)l->norm_line, "from",
				       l->norm_from, "to", l->norm_to);
			if (json_object_set_new(o, "normalised_example", ex))
				json_decref(o), o = NULL;
		}
		return json_print(l->c, o, false);
	}
	printf("loaded %llu record%s into %s in %.2f s (%.0f records/s)",
	       (unsigned long long)records, records == 1 ? "" : "s", l->table,
	       secs, rate);
	if (l->normalised) {
		if (l->normalised == 1)
			printf("; 1 prefix normalised: ");
		else
			printf("; %llu prefixes normalised, e.g. ",
			       (unsigned long long)l->normalised);
		if (l->norm_from)
			printf("%s -> %s", l->norm_from, l->norm_to);
		else
			printf("%s on line %llu", l->norm_to,
			       (unsigned long long)l->norm_line);
	}
	putchar('\n');
	return CLI_OK;
}

/* Reads every record and queues it.  An exit status. */
static int stream(struct load *l, struct tdb_load *ld)
{
	int rc, err;

	for (;;) {
		rc = input_next(&l->in, &l->rec);
		if (!rc)
			return CLI_OK;
		if (rc < 0)
			return input_error(l);
		if (line_map_add(&l->map, l->in.line)) {
			progress_clear(&l->pg);
			cli_error(l->c, "out of memory");
			return CLI_FAIL;
		}
		if (l->rec.normalised)
			note_normalised(l);
		err = tdb_load_put(ld, l->rec.key, l->rec.klen, l->rec.val,
				   l->rec.vlen);
		if (err)
			return load_error(l, ld, err);
		progress_update(&l->pg, l->map.records, l->in.bytes);
	}
}

static int run_load(struct cli *c, char **args)
{
	const char *table = args[0], *path = args[1];
	const struct input_format *fmt;
	struct tdb_table_info info;
	struct tdb_schema *schema;
	struct tdb_load *ld;
	struct load l = { .c = c, .table = table };
	uint64_t total;
	int r, err;

	if (opt_format) {
		fmt = input_format_find(opt_format);
		if (!fmt) {
			cli_error(c, "bad --format '%s' (csv, jsonl or ipset)",
				  opt_format);
			return CLI_FAIL;
		}
	} else if (!strcmp(path, "-")) {
		cli_error(c, "reading standard input needs --format (csv, jsonl or ipset)");
		return CLI_FAIL;
	} else {
		fmt = input_format_guess(path);
		if (!fmt) {
			cli_error(c, "cannot tell the format of '%s' from its name (.csv, .jsonl, .ndjson, .ipset, .save, .restore): give --format",
				  path);
			return CLI_FAIL;
		}
	}
	r = cli_table_info(c, table, &info);
	if (r)
		return r;
	r = cli_load_schema(c, table, &info, &schema);
	if (r)
		return r;

	r = CLI_FAIL;
	l.rec.key_cap = tdb_schema_key_max(schema);
	l.rec.val_cap = tdb_schema_value_max(schema);
	l.rec.key = malloc(l.rec.key_cap + 1);
	l.rec.val = malloc(l.rec.val_cap + 1);
	if (!l.rec.key || !l.rec.val) {
		cli_error(c, "out of memory");
		goto free_rec;
	}
	err = input_open(&l.in, path, fmt, schema);
	if (err) {
		cli_error(c, "%s", l.in.err);
		goto free_rec;
	}
	err = tdb_load_begin(c->db, table, opt_replace ? TDB_LOAD_REPLACE : 0,
			     input_estimate(&l.in), &ld);
	if (err) {
		r = cli_table_error(c, table, err);
		goto close_input;
	}

	progress_start(&l.pg, l.in.size);
	r = stream(&l, ld);
	if (r)
		goto abort_load;
	progress_show(&l.pg, l.map.records, l.in.bytes, "committing");
	err = tdb_load_commit(ld, &total);
	if (err) {
		r = load_error(&l, ld, err);
		goto abort_load;
	}
	progress_clear(&l.pg);
	r = summary(&l, l.map.records, total);
	goto close_input;

abort_load:
	tdb_load_abort(ld);
close_input:
	input_close(&l.in);
free_rec:
	free(l.rec.key);
	free(l.rec.val);
	free(l.map.a);
	free(l.norm_from);
	tdb_schema_free(schema);
	return r;
}

const struct cli_cmd cmd_load = {
	.name = "load",
	.args = "TABLE FILE",
	.nargs = 2,
	.opts = load_opts,
	.flags = load_flags,
	.run = run_load,
	.help = "Loads the records of FILE ('-': standard input) into TABLE, in\n"
		"one step: they all appear when the load commits, or, when any\n"
		"fails, none does and the table stays as it was.  The table's\n"
		"schema names the columns, members or options that hold the key\n"
		"and the fields; a table without one takes keys alone.\n"
		"\n"
		"Formats, from FILE's name unless --format gives one:\n"
		"  csv    (.csv) a header row names the columns: the key's name\n"
		"         and fields' names; an empty unquoted cell takes the\n"
		"         field's default, \"\" is an empty string\n"
		"  jsonl  (.jsonl, .ndjson) one JSON object a line\n"
		"  ipset  (.ipset, .save, .restore) 'ipset save' output: 'create'\n"
		"         lines are checked against the table's key type, 'add'\n"
		"         lines are records, their options (timeout, comment...)\n"
		"         going to fields of the same name\n"
		"Blank lines are skipped, and in ipset files lines starting '#'.\n"
		"\n"
		"Options:\n"
		"  --format FMT  csv, jsonl or ipset\n"
		"  --replace     the file's records replace the table's (readers\n"
		"                see the old set or the new one, never a mix);\n"
		"                without it, records are inserted or replaced\n"
		"\n"
		"On a terminal, a progress bar shows on stderr.  Then one line:\n"
		"\"loaded N records into TABLE in S s (R records/s)\", with how\n"
		"many prefixes were stored normalised (10.1.2.3/8 as 10.0.0.0/8).\n"
		"With --json: {\"table\", \"records\", \"milliseconds\",\n"
		"\"records_per_second\", \"table_records\", \"normalised\"}.\n"
		"A bad line, or a record the owner refuses, stops the load with\n"
		"\"FILE:LINE: reason\" and exit status 2; exit status 1 when the\n"
		"table does not exist.\n",
};
