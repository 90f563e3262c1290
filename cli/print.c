// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * print.c - output: escaping bytes for text, keys decoded per key type,
 * owners with resolved names, and JSON through jansson.
 */
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>

#include "cli.h"
#include "tdb/schema.h"

void print_escaped(FILE *f, const void *p, size_t len)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\')
			fputs("\\\\", f);
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			fputc(s[i], f);
		else
			fprintf(f, "\\x%02x", s[i]);
	}
}

/* The number in a little-endian u32/u64 key, if it is one. */
static bool key_number(uint32_t type, const void *key, size_t klen,
		       uint64_t *v)
{
	const unsigned char *p = key;

	if (!((type == TDB_KEY_U32 && klen == 4) ||
	      (type == TDB_KEY_U64 && klen == 8)))
		return false;
	*v = 0;
	for (size_t i = 0; i < klen; i++)
		*v |= (uint64_t)p[i] << (8 * i);
	return true;
}

void print_key(FILE *f, const struct tdb_schema *s, const void *key,
	       size_t klen)
{
	char buf[256], *big;
	int n = tdb_key_format(s, key, klen, buf, sizeof(buf));

	if (n < 0) {
		print_escaped(f, key, klen);
		return;
	}
	if ((size_t)n < sizeof(buf)) {
		fputs(buf, f);
		return;
	}
	/* A long bytes key, quoted and escaped: up to 4 bytes of text each. */
	big = malloc((size_t)n + 1);
	if (big && tdb_key_format(s, key, klen, big, (size_t)n + 1) == n)
		fputs(big, f);
	else
		print_escaped(f, key, klen);
	free(big);
}

int json_set_bytes(json_t *obj, const char *name, const void *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = p;
	json_t *v = json_stringn(p, len);
	char hname[64];
	char *h;
	int err;

	if (v)
		return json_object_set_new(obj, name, v);
	h = malloc(2 * len + 1);
	if (!h)
		return -1;
	for (size_t i = 0; i < len; i++) {
		h[2 * i] = hex[s[i] >> 4];
		h[2 * i + 1] = hex[s[i] & 15];
	}
	h[2 * len] = 0;
	snprintf(hname, sizeof(hname), "%s_hex", name);
	err = json_object_set_new(obj, hname, json_string(h));
	free(h);
	return err;
}

int json_set_key(json_t *obj, const struct tdb_schema *s, const void *key,
		 size_t klen)
{
	uint32_t type = tdb_schema_key_type(s);
	char buf[256];
	uint64_t v;

	if (key_number(type, key, klen, &v)) {
		if (v <= INT64_MAX)
			return json_object_set_new(obj, "key",
						   json_integer((json_int_t)v));
		/* Beyond JSON's safe integers either way: a string. */
		snprintf(buf, sizeof(buf), "%" PRIu64, v);
		return json_object_set_new(obj, "key", json_string(buf));
	}
	/* Addresses and prefixes as text; bytes as they are. */
	if (type != TDB_KEY_BYTES && type != TDB_KEY_STR &&
	    tdb_key_format(s, key, klen, buf, sizeof(buf)) > 0)
		return json_object_set_new(obj, "key", json_string(buf));
	return json_set_bytes(obj, "key", key, klen);
}

int json_print(const struct cli *c, json_t *doc, bool compact)
{
	int err;

	if (!doc) {
		cli_error(c, "out of memory building JSON");
		return CLI_FAIL;
	}
	err = json_dumpf(doc, stdout,
			 compact ? JSON_COMPACT : JSON_INDENT(2));
	json_decref(doc);
	if (err || fputc('\n', stdout) == EOF) {
		cli_error(c, "cannot write JSON to standard output");
		return CLI_FAIL;
	}
	return CLI_OK;
}

static const char *user_name(uint32_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw ? pw->pw_name : NULL;
}

static const char *group_name(uint32_t gid)
{
	struct group *gr = getgrgid(gid);

	return gr ? gr->gr_name : NULL;
}

json_t *json_table_info(const struct tdb_table_info *info)
{
	const char *user = user_name(info->uid);
	const char *group = group_name(info->gid);
	char mode[8];

	snprintf(mode, sizeof(mode), "%04o", info->mode);
	return json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:o, s:o, s:s, s:I, s:I, s:I}",
			 "name", info->name,
			 "records", (json_int_t)info->records,
			 "mem_bytes", (json_int_t)info->mem_bytes,
			 "quota", (json_int_t)info->quota,
			 "durability", durability_name(info->durability),
			 "key_type", key_type_name(info->key_type),
			 "uid", (json_int_t)info->uid,
			 "gid", (json_int_t)info->gid,
			 "user", user ? json_string(user) : json_null(),
			 "group", group ? json_string(group) : json_null(),
			 "mode", mode,
			 "log_lsn", (json_int_t)info->log_lsn,
			 "checkpoint_time", (json_int_t)info->checkpoint_time,
			 "checkpoint_lsn", (json_int_t)info->checkpoint_lsn);
}

void print_checkpoint(FILE *f, const char *label, uint64_t time, uint64_t lsn)
{
	time_t t = (time_t)time;
	struct tm tm;
	char buf[64];

	fputs(label, f);
	if (!time || !gmtime_r(&t, &tm)) {
		fputs("none yet\n", f);
		return;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(f, "%s (recovery replays the log from LSN %" PRIu64 ")\n",
		buf, lsn);
}

void print_owner(FILE *f, uint32_t uid, uint32_t gid)
{
	const char *user = user_name(uid);
	const char *group;

	fprintf(f, "uid %" PRIu32, uid);
	if (user)
		fprintf(f, " (%s)", user);
	group = group_name(gid);
	fprintf(f, ", gid %" PRIu32, gid);
	if (group)
		fprintf(f, " (%s)", group);
}

void print_bytes(FILE *f, uint64_t n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	fprintf(f, "%" PRIu64 " bytes", n);
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	if (u >= 0)
		fprintf(f, " (%.1f %s)", v, units[u]);
}
