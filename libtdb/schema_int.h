/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * schema_int.h - libtdb's private side of tdb/schema.h: the parsed schema,
 * the value types, and the codec of one typed value (an "atom") shared by
 * keys (keytext.c), composite key parts and record fields (record.c).
 *
 * Text in, bytes out: every parser writes a reason without the name of
 * what it parsed into @why ("70000 is out of range 0..65535"); the caller
 * that knows the name prefixes it ("dport: ...").
 */
#ifndef TDB_LIBTDB_SCHEMA_INT_H
#define TDB_LIBTDB_SCHEMA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tdb/schema.h"

/* Names of keys, parts, fields and enum values: [A-Za-z_][A-Za-z0-9_-]*. */
#define SCHEMA_NAME_MAX 63
/* Fields of one schema, and so bits of the presence bitmap at most. */
#define SCHEMA_FIELDS_MAX 128
/* Parts of a composite key. */
#define SCHEMA_PARTS_MAX 16
/* Names of one enum: its values are one byte. */
#define SCHEMA_ENUM_MAX 256
/* The longest str field. */
#define SCHEMA_STR_MAX 65535U
/* The most bytes one fixed-size atom takes (an IPv6 address). */
#define ATOM_FIXED_MAX 16

/* Value types (schema/README.md lists them with their encodings). */
enum ftype {
	FT_U8,
	FT_U16,
	FT_U32,
	FT_U64,
	FT_I8,
	FT_I16,
	FT_I32,
	FT_I64,
	FT_BOOL,
	FT_STR,
	FT_ENUM,
	FT_IPV4,
	FT_IPV6,
	FT_IP,			/* either family; IPv4 as ::ffff:a.b.c.d */
	FT_MAC,
	FT_PORT,
	FT_PORT_RANGE,
	FT_TIMESTAMP,
	FT_COUNT
};

/* A typed value: a record field, or one part of a composite key. */
struct sfield {
	char *name;
	enum ftype type;
	bool optional;		/* may be unset: a presence bit */
	unsigned int bit;	/* that bit's index among optional fields */
	unsigned int lenw;	/* str: length prefix bytes, 1 or 2 */
	uint32_t max_len;	/* str: longest, in bytes */
	uint64_t umin, umax;	/* unsigned types and port: the bounds */
	int64_t smin, smax;	/* signed types */
	char *def;		/* the default as text, NULL: none */
	/*
	 * The default encoded once, when it cannot change (a timestamp's
	 * may be relative to now, "+1h", and is encoded at each write).
	 */
	uint8_t *def_enc;
	size_t def_len;
	unsigned int nvals;	/* enum: names[i] is numbers[i] */
	char **vnames;
	uint8_t *vnums;
};

struct tdb_schema {
	char *name;		/* the schema's "name"; NULL when bare */
	bool bare;		/* tdb_schema_bare(): opaque values */
	uint32_t key_type;	/* enum tdb_key_type */
	char *key_name;
	uint32_t key_max_len;	/* bytes and str keys without parts */
	unsigned int nparts;	/* composite key: a bytes key of parts */
	struct sfield *parts;
	unsigned int nfields;
	struct sfield *fields;
	unsigned int nopt;	/* optional fields: bits in the bitmap */
	size_t key_max, value_max;
};

/* Bytes of the presence bitmap that starts a value, 0 without one. */
static inline size_t schema_bitmap_len(const struct tdb_schema *s)
{
	return (s->nopt + 7) / 8;
}

/* Writes "fmt..." into @err (@errlen bytes, may be NULL/0). */
void schema_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The name of a value type, and the type of a name (-1: none). */
const char *ftype_name(enum ftype t);
int ftype_parse(const char *name);
/* Encoded bytes of a fixed-size type, 0 for str. */
size_t ftype_size(enum ftype t);
/* Integer types with bounds (u*, i*, port). */
bool ftype_is_unsigned(enum ftype t);
bool ftype_is_signed(enum ftype t);

/*
 * A text buffer that counts what it could not hold, as snprintf does.
 * Growable ones (sb_init_dyn) realloc; a failed realloc sets @oom.
 */
struct sbuf {
	char *buf;
	size_t cap, len;
	bool dyn, oom;
};

void sb_init(struct sbuf *sb, char *buf, size_t cap);
void sb_init_dyn(struct sbuf *sb);
void sb_putn(struct sbuf *sb, const char *s, size_t n);
void sb_puts(struct sbuf *sb, const char *s);
void sb_printf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The text, NUL-terminated ("" for an empty growable one). */
const char *sb_str(struct sbuf *sb);

/*
 * Appends @p (@n bytes) as a token that reads back unambiguously: as it
 * is when it is non-empty UTF-8 without spaces, quotes, backslashes or
 * control bytes, else double-quoted with \" \\ \t \n \r and \xHH escapes.
 */
void sb_quoted(struct sbuf *sb, const void *p, size_t n);
/* Appends @p with '\' as \\ and bytes outside printable ASCII as \xHH. */
void sb_escaped(struct sbuf *sb, const void *p, size_t n);
/* Whether @p (@n bytes) is valid UTF-8 without NUL bytes. */
bool utf8_valid(const void *p, size_t n);

/* keytext.c: keys, and addresses in text. */
/* tdb_key_parse() of counted text (JSON strings may hold NUL bytes). */
int key_parse_n(const struct tdb_schema *s, const char *text, size_t n,
		void *buf, size_t cap, size_t *len, char *err, size_t errlen);
/* Appends the key's text to @sb: 0, or -EINVAL when @klen does not fit. */
int key_format_sb(const struct tdb_schema *s, const uint8_t *key,
		  size_t klen, struct sbuf *sb);
int ipv4_parse(const char *text, size_t n, uint8_t out[4], char *why,
	       size_t whylen);
int ipv6_parse(const char *text, size_t n, uint8_t out[16], char *why,
	       size_t whylen);
/* Either family, into 16 bytes: IPv4 as ::ffff:a.b.c.d. */
int ip_parse(const char *text, size_t n, uint8_t out[16], char *why,
	     size_t whylen);
int mac_parse(const char *text, size_t n, uint8_t out[6], char *why,
	      size_t whylen);
void ipv4_format(struct sbuf *sb, const uint8_t a[4]);
void ipv6_format(struct sbuf *sb, const uint8_t a[16]);
/* IPv6, but an IPv4-mapped address as a dotted quad. */
void ip_format(struct sbuf *sb, const uint8_t a[16]);
void mac_format(struct sbuf *sb, const uint8_t a[6]);

/* record.c: one atom. */
/*
 * Parses @text (@n bytes) as a value of @f into @out: the number of bytes
 * written, or -EINVAL with the reason.  Numbers are little-endian unless
 * @be (composite key parts are big-endian, so keys sort as tuples).  A
 * str writes its length prefix and bytes, at most @cap bytes (-E2BIG).
 */
int atom_parse(const struct sfield *f, const char *text, size_t n,
	       bool be, uint8_t *out, size_t cap, char *why, size_t whylen);
/*
 * Reads one value of @f from @p (@avail bytes): the bytes it took, or
 * -EINVAL when they do not make a value of @f.  Appends its text to @sb
 * when @sb is not NULL (str values raw, not quoted).
 */
int atom_format(const struct sfield *f, const uint8_t *p, size_t avail,
		bool be, struct sbuf *sb);

/*
 * Parses integer text for the integer type of @f (u*, i*, port) within
 * its bounds: 0 with *@u (unsigned types) or *@i (signed) set, or -EINVAL
 * with the reason.
 */
int int_check(const struct sfield *f, const char *text, size_t n, uint64_t *u,
	      int64_t *i, char *why, size_t whylen);
/*
 * The text of a JSON value given for a value of type @type: strings as
 * they are, integers for integer types, port ranges and timestamps
 * (written into @num), true and false for bool.  0, or -EINVAL with the
 * reason.
 */
int json_value_text(json_t *v, enum ftype type, char num[32],
		    const char **text, size_t *n, char *why, size_t whylen);

#endif /* TDB_LIBTDB_SCHEMA_INT_H */
