/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * tdb/schema.h - typed records: schemas, keys written as text, and the
 * codec between named fields and the bytes a table stores.  Part of
 * libtdb; this header is the manual, schema/README.md the format's.
 *
 * A schema (a JSON document, see schema/README.md) names a table's key
 * (its name and type) and its value's fields (name, type, bounds,
 * default).  tdbcli stores the schema's text with the table
 * (tdb_create_opts.schema), so that any client can fetch it
 * (tdb_table_schema()) and decode the records.  A table without a schema
 * has a bare schema (tdb_schema_bare()): its key type and no fields; its
 * values are empty or opaque bytes.
 *
 * Errors.  Functions that can fail return 0 or a negative errno value
 * (-EINVAL for bad input, -E2BIG when a result does not fit, -ENOMEM) and
 * write a one-line reason into @err (@errlen bytes, NUL-terminated,
 * truncated to fit; @err may be NULL).  A reason names what was wrong and
 * where: the schema's member ("fields[2].type: unknown type \"u17\""), a
 * record's field ("dport: 70000 is out of range 0..65535"), or the key by
 * its name ("key: 10.0.0.0/33: prefix length over 32" for a bare schema,
 * "prefix: ..." for fw4.json's, "flow.sport: ..." for a composite key's
 * part).
 *
 * Threads.  A parsed schema is read-only: any number of threads may use
 * it at once.
 */
#ifndef TDB_SCHEMA_H
#define TDB_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tdb_schema;

/*
 * Parses and checks the schema text at @text (@len bytes, need not be
 * NUL-terminated; at most TDB_SCHEMA_MAX).  0 with *@out set, or -EINVAL
 * with the reason (a JSON syntax error gives its line and column).
 */
int tdb_schema_parse(const char *text, size_t len, struct tdb_schema **out,
		     char *err, size_t errlen);

/*
 * The schema of a table without one: key type @key_type (enum
 * tdb_key_type), key named "key", no fields; its values are taken and
 * shown as opaque bytes (tdb_record_encode() accepts a field named
 * "value" holding them, and an absent value as empty).  NULL for an
 * unknown key type or without memory.
 */
struct tdb_schema *tdb_schema_bare(uint32_t key_type);

/* Frees @s; NULL is a no-op. */
void tdb_schema_free(struct tdb_schema *s);

/* The schema's "name" ("fw4"...), NULL for a bare schema. */
const char *tdb_schema_name(const struct tdb_schema *s);
/* The wire key type (enum tdb_key_type) of the schema's key. */
uint32_t tdb_schema_key_type(const struct tdb_schema *s);
/* The key's name ("prefix", "key"...). */
const char *tdb_schema_key_name(const struct tdb_schema *s);
/* The number of value fields and the name of field @i (in order). */
unsigned int tdb_schema_nfields(const struct tdb_schema *s);
const char *tdb_schema_field_name(const struct tdb_schema *s, unsigned int i);
/* The type of field @i as the schema names it ("u16", "enum"...). */
const char *tdb_schema_field_type(const struct tdb_schema *s, unsigned int i);

/*
 * Key type names as schemas and tdbcli write them ("bytes", "cidr4"...):
 * the name of @type (NULL when unknown), and the type of @name (-EINVAL
 * when unknown).
 */
const char *tdb_key_type_name(uint32_t type);
int tdb_key_type_parse(const char *name);

/*
 * The largest encoded key and value this schema produces: buffers of
 * these sizes always suffice for tdb_record_encode().
 */
size_t tdb_schema_key_max(const struct tdb_schema *s);
size_t tdb_schema_value_max(const struct tdb_schema *s);

/*
 * Encodes the key written as @text into @buf (@cap bytes).  0 with *@len
 * set, or -EINVAL/-E2BIG (a bytes key over its max_len, or @cap short)
 * with the reason.  A prefix with bits set past its length is stored
 * normalised (10.1.2.3/8 as 10.0.0.0/8): the call then returns 1, and
 * tdb_key_format() of the result tells the caller what was stored.  An
 * address without a length is a full-length prefix (10.0.0.1 is
 * 10.0.0.1/32).  bytes and str keys are @text's bytes as they are (str:
 * UTF-8); a composite key is its parts joined by commas.  The text forms
 * of every type are in schema/README.md.
 */
int tdb_key_parse(const struct tdb_schema *s, const char *text, void *buf,
		  size_t cap, size_t *len, char *err, size_t errlen);

/*
 * Writes the key @key (@klen bytes) as text into @buf (@cap bytes,
 * NUL-terminated).  Returns the length the text needs (as snprintf), or
 * -EINVAL when the bytes do not fit the key type (a length, a prefix
 * length, a composite key's enum part).  A bytes or str key that is not
 * plain printable UTF-8 (spaces, quotes, backslashes, control bytes) is
 * written double-quoted with C escapes, as tdb_record_format() does.
 */
int tdb_key_format(const struct tdb_schema *s, const void *key, size_t klen,
		   char *buf, size_t cap);

/* A record's encoded key and value, in buffers the caller provides. */
struct tdb_record {
	void *key;
	size_t key_cap, klen;
	void *val;
	size_t val_cap, vlen;
	int normalised;		/* set by encode: 1 when the key was a
				 * prefix that was normalised */
};

/*
 * Encodes one record from @n name/value pairs written as text: the key
 * under the schema's key name, each field under its own name.  A field
 * left out takes its default, stays unset when it is optional, and is an
 * error when it is neither; an unknown name, a name given twice, and a
 * value that does not parse or is out of bounds are errors naming the
 * field (the key is checked first).  0 (or 1 when the key was
 * normalised) with r->klen, r->vlen and r->normalised set, or -errno
 * with the reason: -EINVAL, or -E2BIG when r->key_cap or r->val_cap is
 * short (tdb_schema_key_max() and tdb_schema_value_max() always do).
 */
int tdb_record_encode(const struct tdb_schema *s, const char *const *names,
		      const char *const *values, unsigned int n,
		      struct tdb_record *r, char *err, size_t errlen);

/*
 * As tdb_record_encode(), from one JSON object (@json, @len bytes) whose
 * members are the key and the fields; numbers (integers, ports, port
 * ranges, timestamps, u32/u64 keys) may be given as JSON integers or
 * strings, booleans as true/false or strings, everything else as
 * strings.  A field given as null is left out.  A JSON syntax error
 * gives its line and column.
 */
int tdb_record_encode_json(const struct tdb_schema *s, const char *json,
			   size_t len, struct tdb_record *r, char *err,
			   size_t errlen);

/*
 * Decodes the value @val (@vlen bytes) and calls @fn with each field's
 * name and its value as text, in schema order (unset optional fields
 * skipped; str values as they are, unquoted); @fn returns non-zero to
 * stop (returned).  -EINVAL when the bytes do not match the schema (a
 * record written by another schema, or by raw puts): the whole value is
 * checked before the first call, so @fn never sees part of a bad value.
 * With a bare schema, a non-empty value is one field "value", its bytes
 * with '\' as \\ and others outside printable ASCII as \xHH.
 */
int tdb_record_decode(const struct tdb_schema *s, const void *val,
		      size_t vlen,
		      int (*fn)(void *arg, const char *name, const char *text),
		      void *arg);

/*
 * The record as one line of text, "KEY name=value name=value" (values
 * and keys with spaces or quotes are double-quoted, C-escaped; unset
 * optional fields left out), or as a JSON object {"KEYNAME": "KEY",
 * "name": value...} (numbers and booleans as JSON numbers and booleans,
 * a u64 past 2^63-1 as a string; u32 and u64 keys as numbers; a bytes
 * key that is not UTF-8 as "KEYNAME_hex": "hex digits"), in a malloc'd
 * NUL-terminated string that the caller frees (*@out NULL on failure).
 * A bare schema's record is "KEY value=BYTES" ("KEY" when the value is
 * empty), or {"key": KEY, "value": "..."} ("value_hex" when not UTF-8).
 * 0, -EINVAL (the key or value does not match, as tdb_record_decode(),
 * or an unknown @format) or -ENOMEM.
 */
#define TDB_FORMAT_TEXT 0
#define TDB_FORMAT_JSON 1
int tdb_record_format(const struct tdb_schema *s, const void *key,
		      size_t klen, const void *val, size_t vlen,
		      unsigned int format, char **out);

#ifdef __cplusplus
}
#endif

#endif /* TDB_SCHEMA_H */
