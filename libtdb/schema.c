// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * schema.c - schemas: parsing and checking a schema's JSON text (with
 * jansson) into a struct tdb_schema, the bare schema of a table without
 * one, the accessors, and the small text helpers the codec shares.
 *
 * A schema is checked completely when it is parsed: every member known,
 * every name valid and unique, every bound within its type, every default
 * a valid value (parsed with the codec itself), and its largest key and
 * value within the protocol's limits.  The codec then trusts it, so a
 * schema that parses can encode every record it describes.  The format
 * is in schema/README.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "schema_int.h"

void schema_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Text buffers. */

void sb_init(struct sbuf *sb, char *buf, size_t cap)
{
	*sb = (struct sbuf){ .buf = buf, .cap = cap };
	if (cap)
		buf[0] = 0;
}

void sb_init_dyn(struct sbuf *sb)
{
	*sb = (struct sbuf){ .dyn = true };
}

/* Makes room for @n more bytes and a NUL in a growable buffer. */
static void sb_grow(struct sbuf *sb, size_t n)
{
	size_t want = sb->len + n + 1, cap;
	char *p;

	if (!sb->dyn || sb->oom || want <= sb->cap)
		return;
	cap = sb->cap ? sb->cap : 64;
	while (cap < want)
		cap *= 2;
	p = realloc(sb->buf, cap);
	if (!p) {
		sb->oom = true;
		return;
	}
	sb->buf = p;
	sb->cap = cap;
}

void sb_putn(struct sbuf *sb, const char *s, size_t n)
{
	sb_grow(sb, n);
	if (sb->len < sb->cap) {
		size_t room = sb->cap - sb->len - 1;

		memcpy(sb->buf + sb->len, s, n < room ? n : room);
		sb->buf[sb->len + (n < room ? n : room)] = 0;
	}
	sb->len += n;
}

void sb_puts(struct sbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sb_putn(sb, small, (size_t)n);
		return;
	}
	/* Long: format straight into the buffer (growing it first). */
	sb_grow(sb, (size_t)n);
	if (sb->len < sb->cap) {
		va_start(ap, fmt);
		vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

const char *sb_str(struct sbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

/* Length of the UTF-8 sequence at @p (at most @n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t c;

	if (p[0] < 0x80)
		return p[0] ? 1 : 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and past U+10FFFF. */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return len;
}

bool utf8_valid(const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0, k; i < n; i += k) {
		k = utf8_seq(s + i, n - i);
		if (!k)
			return false;
	}
	return true;
}

void sb_quoted(struct sbuf *sb, const void *p, size_t n)
{
	const unsigned char *s = p;
	bool plain = n > 0 && utf8_valid(p, n);

	for (size_t i = 0; plain && i < n; i++)
		if (s[i] <= ' ' || s[i] == '"' || s[i] == '\\' || s[i] == 0x7f)
			plain = false;
	if (plain) {
		sb_putn(sb, p, n);
		return;
	}
	sb_puts(sb, "\"");
	for (size_t i = 0, k; i < n; i += k) {
		k = utf8_seq(s + i, n - i);
		if (k > 1 || (k == 1 && s[i] >= ' ' && s[i] != 0x7f &&
			      s[i] != '"' && s[i] != '\\')) {
			sb_putn(sb, (const char *)s + i, k);
			continue;
		}
		k = 1;
		switch (s[i]) {
		case '"':
			sb_puts(sb, "\\\"");
			break;
		case '\\':
			sb_puts(sb, "\\\\");
			break;
		case '\t':
			sb_puts(sb, "\\t");
			break;
		case '\n':
			sb_puts(sb, "\\n");
			break;
		case '\r':
			sb_puts(sb, "\\r");
			break;
		default:
			sb_printf(sb, "\\x%02x", s[i]);
		}
	}
	sb_puts(sb, "\"");
}

void sb_escaped(struct sbuf *sb, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			sb_puts(sb, "\\\\");
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			sb_putn(sb, (const char *)s + i, 1);
		else
			sb_printf(sb, "\\x%02x", s[i]);
	}
}

/* Value types. */

static const struct {
	const char *name;
	size_t size;		/* encoded bytes; 0: str, variable */
} ftypes[FT_COUNT] = {
	[FT_U8] = { "u8", 1 },
	[FT_U16] = { "u16", 2 },
	[FT_U32] = { "u32", 4 },
	[FT_U64] = { "u64", 8 },
	[FT_I8] = { "i8", 1 },
	[FT_I16] = { "i16", 2 },
	[FT_I32] = { "i32", 4 },
	[FT_I64] = { "i64", 8 },
	[FT_BOOL] = { "bool", 1 },
	[FT_STR] = { "str", 0 },
	[FT_ENUM] = { "enum", 1 },
	[FT_IPV4] = { "ipv4", 4 },
	[FT_IPV6] = { "ipv6", 16 },
	[FT_IP] = { "ip", 16 },
	[FT_MAC] = { "mac", 6 },
	[FT_PORT] = { "port", 2 },
	[FT_PORT_RANGE] = { "port_range", 4 },
	[FT_TIMESTAMP] = { "timestamp", 8 },
};

const char *ftype_name(enum ftype t)
{
	return t < FT_COUNT ? ftypes[t].name : "?";
}

int ftype_parse(const char *name)
{
	for (int t = 0; t < FT_COUNT; t++)
		if (!strcmp(name, ftypes[t].name))
			return t;
	return -1;
}

size_t ftype_size(enum ftype t)
{
	return ftypes[t].size;
}

bool ftype_is_unsigned(enum ftype t)
{
	return t <= FT_U64 || t == FT_PORT;
}

bool ftype_is_signed(enum ftype t)
{
	return t >= FT_I8 && t <= FT_I64;
}

/* Parsing. */

/* A parse in progress: where errors go. */
struct sparse {
	char *err;
	size_t errlen;
	uint8_t *scratch;	/* room for any one encoded value */
};

#define PATH_MAX_LEN 64

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > SCHEMA_NAME_MAX ||
	    !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* Refuses members of @o that are not in @allowed (NULL-terminated). */
static int check_members(struct sparse *ps, json_t *o, const char *path,
			 const char *const *allowed)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		const char *const *a;

		for (a = allowed; *a && strcmp(*a, k); a++)
			;
		if (!*a) {
			schema_err(ps->err, ps->errlen, "%s%s%s: unknown member",
				   path, *path ? "." : "", k);
			return -EINVAL;
		}
	}
	return 0;
}

/* A member that must be a valid name: a copy in *@out. */
static int get_name(struct sparse *ps, json_t *o, const char *path,
		    const char *member, const char *dflt, char **out)
{
	json_t *v = json_object_get(o, member);
	const char *s = dflt;

	if (v) {
		if (!json_is_string(v)) {
			schema_err(ps->err, ps->errlen, "%s%s%s: not a string",
				   path, *path ? "." : "", member);
			return -EINVAL;
		}
		s = json_string_value(v);
	}
	if (!s) {
		schema_err(ps->err, ps->errlen, "%s%s%s: missing", path,
			   *path ? "." : "", member);
		return -EINVAL;
	}
	if (!name_valid(s) || (v && strlen(s) != json_string_length(v))) {
		schema_err(ps->err, ps->errlen,
			   "%s%s%s: \"%.64s\" is not a valid name (letters, digits, _ and -, from a letter or _, up to %d)",
			   path, *path ? "." : "", member, s, SCHEMA_NAME_MAX);
		return -EINVAL;
	}
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/*
 * A bound (min, max) of an integer type, as a JSON integer or a string
 * of digits (u64 bounds past JSON's integers), within the type's range.
 */
static int get_bound(struct sparse *ps, json_t *v, const char *path,
		     const char *member, const struct sfield *f, uint64_t *u,
		     int64_t *i)
{
	char num[32], why[160];
	const char *text;
	size_t n;
	int err;

	err = json_value_text(v, f->type, num, &text, &n, why, sizeof(why));
	if (!err)
		err = int_check(f, text, n, u, i, why, sizeof(why));
	if (err)
		schema_err(ps->err, ps->errlen, "%s.%s: %s", path, member, why);
	return err;
}

/* An enum's names and their numbers (one byte each). */
static int parse_enum(struct sparse *ps, json_t *vals, const char *path,
		      struct sfield *f)
{
	bool used[SCHEMA_ENUM_MAX] = { 0 };
	size_t n = json_is_array(vals)	? json_array_size(vals) :
		   json_is_object(vals) ? json_object_size(vals) :
					  0;
	const char *name;
	json_t *v;
	size_t i;

	if (!vals) {
		schema_err(ps->err, ps->errlen, "%s.values: missing (an enum needs its names)",
			   path);
		return -EINVAL;
	}
	if (!n || n > SCHEMA_ENUM_MAX) {
		schema_err(ps->err, ps->errlen,
			   "%s.values: not an array of 1 to %d names, nor an object of names and numbers",
			   path, SCHEMA_ENUM_MAX);
		return -EINVAL;
	}
	f->vnames = calloc(n, sizeof(*f->vnames));
	f->vnums = calloc(n, 1);
	if (!f->vnames || !f->vnums)
		return -ENOMEM;
	f->nvals = (unsigned int)n;
	if (json_is_array(vals)) {
		/* ["a", "b"]: numbered from 0 in order. */
		json_array_foreach(vals, i, v) {
			name = json_string_value(v);
			if (!name || !name_valid(name)) {
				schema_err(ps->err, ps->errlen, "%s.values[%zu]: not a valid name",
					   path, i);
				return -EINVAL;
			}
			for (size_t k = 0; k < i; k++)
				if (!strcmp(f->vnames[k], name)) {
					schema_err(ps->err, ps->errlen, "%s.values[%zu]: \"%s\" is used twice",
						   path, i, name);
					return -EINVAL;
				}
			f->vnums[i] = (uint8_t)i;
			f->vnames[i] = strdup(name);
			if (!f->vnames[i])
				return -ENOMEM;
		}
		return 0;
	}
	/* {"a": 6, "b": 17}: names for numbers; jansson keeps their order. */
	i = 0;
	json_object_foreach(vals, name, v) {
		json_int_t num = json_integer_value(v);

		if (!name_valid(name)) {
			schema_err(ps->err, ps->errlen, "%s.values: \"%.64s\" is not a valid name",
				   path, name);
			return -EINVAL;
		}
		if (!json_is_integer(v) || num < 0 || num >= SCHEMA_ENUM_MAX) {
			schema_err(ps->err, ps->errlen, "%s.values.%s: not a number from 0 to %d",
				   path, name, SCHEMA_ENUM_MAX - 1);
			return -EINVAL;
		}
		if (used[num]) {
			schema_err(ps->err, ps->errlen, "%s.values.%s: number %d is used twice",
				   path, name, (int)num);
			return -EINVAL;
		}
		used[num] = true;
		f->vnums[i] = (uint8_t)num;
		f->vnames[i] = strdup(name);
		if (!f->vnames[i])
			return -ENOMEM;
		i++;
	}
	return 0;
}

/* The default of a field: checked by encoding it, kept as text. */
static int parse_default(struct sparse *ps, json_t *v, const char *path,
			 struct sfield *f)
{
	char num[32], why[256];
	const char *text;
	size_t n;
	int err;

	err = json_value_text(v, f->type, num, &text, &n, why, sizeof(why));
	if (!err)
		err = atom_parse(f, text, n, false, ps->scratch,
				 SCHEMA_STR_MAX + 2, why, sizeof(why));
	if (err < 0) {
		schema_err(ps->err, ps->errlen, "%s.default: %s", path, why);
		return err;
	}
	f->def = strndup(text, n);
	if (!f->def)
		return -ENOMEM;
	if (f->type == FT_TIMESTAMP)
		return 0;
	/* Every record that leaves the field out gets these bytes. */
	f->def_len = (size_t)err;
	f->def_enc = malloc(f->def_len ? f->def_len : 1);
	if (!f->def_enc)
		return -ENOMEM;
	memcpy(f->def_enc, ps->scratch, f->def_len);
	return 0;
}

/*
 * One field (@part false) or composite key part (@part true): parts have
 * fixed sizes, no default and are never optional.
 */
static int parse_field(struct sparse *ps, json_t *o, const char *path,
		       bool part, struct sfield *f)
{
	static const char *const field_members[] = {
		"name", "type", "description", "default", "optional",
		"min",	"max",	"max_len",     "values",  NULL
	};
	static const char *const part_members[] = {
		"name", "type", "description", "min", "max", "values", NULL
	};
	json_t *v;
	int t, err;

	if (!json_is_object(o)) {
		schema_err(ps->err, ps->errlen, "%s: not an object", path);
		return -EINVAL;
	}
	err = check_members(ps, o, path, part ? part_members : field_members);
	if (!err)
		err = get_name(ps, o, path, "name", NULL, &f->name);
	if (err)
		return err;
	v = json_object_get(o, "type");
	if (!json_is_string(v)) {
		schema_err(ps->err, ps->errlen, "%s.type: %s", path,
			   v ? "not a string" : "missing");
		return -EINVAL;
	}
	t = ftype_parse(json_string_value(v));
	if (t < 0) {
		schema_err(ps->err, ps->errlen, "%s.type: unknown type \"%.32s\"",
			   path, json_string_value(v));
		return -EINVAL;
	}
	f->type = (enum ftype)t;
	if (part && f->type == FT_STR) {
		schema_err(ps->err, ps->errlen,
			   "%s.type: str cannot be a key part (parts have fixed sizes)",
			   path);
		return -EINVAL;
	}
	/* The type's own range; min and max narrow it. */
	switch (f->type) {
	case FT_U8:
	case FT_U16:
	case FT_U32:
	case FT_PORT:
		f->umax = f->type == FT_U8 ? UINT8_MAX :
			  f->type == FT_U32 ? UINT32_MAX : UINT16_MAX;
		break;
	case FT_U64:
		f->umax = UINT64_MAX;
		break;
	case FT_I8:
	case FT_I16:
	case FT_I32:
	case FT_I64:
		f->smax = (int64_t)(UINT64_MAX >> (65 - 8 * ftype_size(f->type)));
		f->smin = -f->smax - 1;
		break;
	default:
		break;
	}
	if (json_object_get(o, "min") || json_object_get(o, "max")) {
		uint64_t umin = f->umin, umax = f->umax;
		int64_t smin = f->smin, smax = f->smax;

		if (!ftype_is_unsigned(f->type) && !ftype_is_signed(f->type)) {
			schema_err(ps->err, ps->errlen, "%s.%s: only integer types have bounds",
				   path, json_object_get(o, "min") ? "min" : "max");
			return -EINVAL;
		}
		v = json_object_get(o, "min");
		if (v && get_bound(ps, v, path, "min", f, &umin, &smin))
			return -EINVAL;
		v = json_object_get(o, "max");
		if (v && get_bound(ps, v, path, "max", f, &umax, &smax))
			return -EINVAL;
		if (ftype_is_unsigned(f->type) ? umin > umax : smin > smax) {
			schema_err(ps->err, ps->errlen, "%s: min is over max", path);
			return -EINVAL;
		}
		f->umin = umin, f->umax = umax, f->smin = smin, f->smax = smax;
	}
	v = json_object_get(o, "max_len");
	if (f->type == FT_STR) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > SCHEMA_STR_MAX) {
			schema_err(ps->err, ps->errlen, "%s.max_len: %s (a str needs its longest length in bytes, 1 to %u)",
				   path, v ? "not a number in range" : "missing",
				   SCHEMA_STR_MAX);
			return -EINVAL;
		}
		f->max_len = (uint32_t)json_integer_value(v);
		f->lenw = f->max_len > 255 ? 2 : 1;
	} else if (v) {
		schema_err(ps->err, ps->errlen, "%s.max_len: only a str has a length",
			   path);
		return -EINVAL;
	}
	v = json_object_get(o, "values");
	if (f->type == FT_ENUM) {
		err = parse_enum(ps, v, path, f);
		if (err)
			return err;
	} else if (v) {
		schema_err(ps->err, ps->errlen, "%s.values: only an enum has values",
			   path);
		return -EINVAL;
	}
	v = json_object_get(o, "optional");
	if (v && !json_is_boolean(v)) {
		schema_err(ps->err, ps->errlen, "%s.optional: not true or false",
			   path);
		return -EINVAL;
	}
	f->optional = json_is_true(v);
	v = json_object_get(o, "default");
	if (v && f->optional) {
		schema_err(ps->err, ps->errlen,
			   "%s.default: an optional field has no default (unset is its default)",
			   path);
		return -EINVAL;
	}
	return v ? parse_default(ps, v, path, f) : 0;
}

/* The bytes of a key of type @t (tdb/proto.h), or 0 when it varies. */
static size_t key_type_size(uint32_t t)
{
	static const uint8_t size[TDB_KEY_TYPE_MAX + 1] = {
		[TDB_KEY_U32] = 4,   [TDB_KEY_U64] = 8,	   [TDB_KEY_IPV4] = 4,
		[TDB_KEY_IPV6] = 16, [TDB_KEY_CIDR4] = 5,  [TDB_KEY_CIDR6] = 17,
		[TDB_KEY_MAC] = 6,
	};

	return t <= TDB_KEY_TYPE_MAX ? size[t] : 0;
}

static int parse_key(struct sparse *ps, json_t *k, struct tdb_schema *s)
{
	static const char *const members[] = { "name",	  "type",
					       "max_len", "parts",
					       "description", NULL };
	json_t *type = json_object_get(k, "type");
	json_t *parts = json_object_get(k, "parts");
	json_t *v;
	int t, err;

	if (!json_is_object(k)) {
		schema_err(ps->err, ps->errlen, "key: %s",
			   k ? "not an object" : "missing");
		return -EINVAL;
	}
	err = check_members(ps, k, "key", members);
	if (!err)
		err = get_name(ps, k, "key", "name", "key", &s->key_name);
	if (err)
		return err;
	if (type && !json_is_string(type)) {
		schema_err(ps->err, ps->errlen, "key.type: not a string");
		return -EINVAL;
	}
	if (!type && !parts) {
		schema_err(ps->err, ps->errlen, "key.type: missing");
		return -EINVAL;
	}
	t = type ? tdb_key_type_parse(json_string_value(type)) : TDB_KEY_BYTES;
	if (t < 0) {
		schema_err(ps->err, ps->errlen,
			   "key.type: unknown key type \"%.32s\" (bytes, str, u32, u64, ipv4, ipv6, cidr4, cidr6, mac)",
			   json_string_value(type));
		return -EINVAL;
	}
	s->key_type = (uint32_t)t;
	v = json_object_get(k, "max_len");
	if (v && (t != TDB_KEY_BYTES && t != TDB_KEY_STR)) {
		schema_err(ps->err, ps->errlen, "key.max_len: only bytes and str keys have a length");
		return -EINVAL;
	}
	if (v && parts) {
		schema_err(ps->err, ps->errlen, "key.max_len: a composite key's length is its parts'");
		return -EINVAL;
	}
	s->key_max_len = TDB_KEY_MAX;
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > TDB_KEY_MAX) {
			schema_err(ps->err, ps->errlen, "key.max_len: not a number from 1 to %u",
				   TDB_KEY_MAX);
			return -EINVAL;
		}
		s->key_max_len = (uint32_t)json_integer_value(v);
	}
	s->key_max = key_type_size(t);
	if (!s->key_max)
		s->key_max = s->key_max_len;
	if (!parts)
		return 0;
	if (t != TDB_KEY_BYTES) {
		schema_err(ps->err, ps->errlen, "key.parts: a composite key has type bytes");
		return -EINVAL;
	}
	if (!json_is_array(parts) || !json_array_size(parts) ||
	    json_array_size(parts) > SCHEMA_PARTS_MAX) {
		schema_err(ps->err, ps->errlen, "key.parts: not an array of 1 to %d parts",
			   SCHEMA_PARTS_MAX);
		return -EINVAL;
	}
	s->parts = calloc(json_array_size(parts), sizeof(*s->parts));
	if (!s->parts)
		return -ENOMEM;
	s->key_max = 0;
	for (size_t i = 0; i < json_array_size(parts); i++) {
		char path[PATH_MAX_LEN];

		snprintf(path, sizeof(path), "key.parts[%zu]", i);
		s->nparts++;
		err = parse_field(ps, json_array_get(parts, i), path, true,
				  &s->parts[i]);
		if (err)
			return err;
		for (size_t k2 = 0; k2 < i; k2++)
			if (!strcmp(s->parts[k2].name, s->parts[i].name)) {
				schema_err(ps->err, ps->errlen, "%s.name: \"%s\" is used twice",
					   path, s->parts[i].name);
				return -EINVAL;
			}
		s->key_max += ftype_size(s->parts[i].type);
	}
	return 0;
}

static int parse_fields(struct sparse *ps, json_t *fields,
			struct tdb_schema *s)
{
	size_t n = json_array_size(fields);

	if (!fields)
		return 0;
	if (!json_is_array(fields) || n > SCHEMA_FIELDS_MAX) {
		schema_err(ps->err, ps->errlen, "fields: not an array of at most %d fields",
			   SCHEMA_FIELDS_MAX);
		return -EINVAL;
	}
	s->fields = calloc(n ? n : 1, sizeof(*s->fields));
	if (!s->fields)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct sfield *f = &s->fields[i];
		char path[PATH_MAX_LEN];
		int err;

		snprintf(path, sizeof(path), "fields[%zu]", i);
		s->nfields++;
		err = parse_field(ps, json_array_get(fields, i), path, false, f);
		if (err)
			return err;
		if (!strcmp(f->name, s->key_name)) {
			schema_err(ps->err, ps->errlen, "%s.name: \"%s\" is the key's name",
				   path, f->name);
			return -EINVAL;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(s->fields[k].name, f->name)) {
				schema_err(ps->err, ps->errlen, "%s.name: \"%s\" is used twice",
					   path, f->name);
				return -EINVAL;
			}
		if (f->optional)
			f->bit = s->nopt++;
		s->value_max += f->type == FT_STR ? f->lenw + f->max_len :
						    ftype_size(f->type);
	}
	s->value_max += schema_bitmap_len(s);
	if (s->value_max > TDB_VAL_MAX) {
		schema_err(ps->err, ps->errlen,
			   "fields: a value could take %zu bytes, over the limit of %u",
			   s->value_max, TDB_VAL_MAX);
		return -EINVAL;
	}
	return 0;
}

TDB_EXPORT int tdb_schema_parse(const char *text, size_t len,
				struct tdb_schema **out, char *err,
				size_t errlen)
{
	static const char *const members[] = { "name", "description", "key",
					       "fields", NULL };
	struct sparse ps = { .err = err, .errlen = errlen };
	struct tdb_schema *s = NULL;
	json_error_t jerr;
	json_t *root;
	char *name;
	int ret;

	*out = NULL;
	if (len > TDB_SCHEMA_MAX) {
		schema_err(err, errlen, "the schema has %zu bytes, over the limit of %u",
			   len, TDB_SCHEMA_MAX);
		return -EINVAL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		schema_err(err, errlen, "line %d, column %d: %s", jerr.line,
			   jerr.column, jerr.text);
		return -EINVAL;
	}
	ret = -ENOMEM;
	ps.scratch = malloc(SCHEMA_STR_MAX + 2);
	s = calloc(1, sizeof(*s));
	if (!ps.scratch || !s)
		goto free_all;
	ret = -EINVAL;
	if (!json_is_object(root)) {
		schema_err(err, errlen, "the schema is not a JSON object");
		goto free_all;
	}
	ret = check_members(&ps, root, "", members);
	if (ret)
		goto free_all;
	ret = get_name(&ps, root, "", "name", NULL, &name);
	if (ret)
		goto free_all;
	s->name = name;
	if (json_object_get(root, "description") &&
	    !json_is_string(json_object_get(root, "description"))) {
		schema_err(err, errlen, "description: not a string");
		ret = -EINVAL;
		goto free_all;
	}
	ret = parse_key(&ps, json_object_get(root, "key"), s);
	if (!ret)
		ret = parse_fields(&ps, json_object_get(root, "fields"), s);
	if (ret)
		goto free_all;
	json_decref(root);
	free(ps.scratch);
	*out = s;
	return 0;
free_all:
	if (ret == -ENOMEM)
		schema_err(err, errlen, "out of memory");
	tdb_schema_free(s);
	free(ps.scratch);
	json_decref(root);
	return ret;
}

TDB_EXPORT struct tdb_schema *tdb_schema_bare(uint32_t key_type)
{
	struct tdb_schema *s;

	if (key_type > TDB_KEY_TYPE_MAX)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->bare = true;
	s->key_type = key_type;
	s->key_name = strdup("key");
	if (!s->key_name) {
		free(s);
		return NULL;
	}
	s->key_max_len = TDB_KEY_MAX;
	s->key_max = key_type_size(key_type);
	if (!s->key_max)
		s->key_max = TDB_KEY_MAX;
	s->value_max = TDB_VAL_MAX;
	return s;
}

static void field_free(struct sfield *f)
{
	free(f->name);
	free(f->def);
	free(f->def_enc);
	for (unsigned int i = 0; f->vnames && i < f->nvals; i++)
		free(f->vnames[i]);
	free(f->vnames);
	free(f->vnums);
}

TDB_EXPORT void tdb_schema_free(struct tdb_schema *s)
{
	if (!s)
		return;
	for (unsigned int i = 0; i < s->nparts; i++)
		field_free(&s->parts[i]);
	for (unsigned int i = 0; i < s->nfields; i++)
		field_free(&s->fields[i]);
	free(s->parts);
	free(s->fields);
	free(s->key_name);
	free(s->name);
	free(s);
}

TDB_EXPORT const char *tdb_schema_name(const struct tdb_schema *s)
{
	return s->name;
}

TDB_EXPORT uint32_t tdb_schema_key_type(const struct tdb_schema *s)
{
	return s->key_type;
}

TDB_EXPORT const char *tdb_schema_key_name(const struct tdb_schema *s)
{
	return s->key_name;
}

TDB_EXPORT unsigned int tdb_schema_nfields(const struct tdb_schema *s)
{
	return s->nfields;
}

TDB_EXPORT const char *tdb_schema_field_name(const struct tdb_schema *s,
					     unsigned int i)
{
	return i < s->nfields ? s->fields[i].name : NULL;
}

TDB_EXPORT const char *tdb_schema_field_type(const struct tdb_schema *s,
					     unsigned int i)
{
	return i < s->nfields ? ftype_name(s->fields[i].type) : NULL;
}

TDB_EXPORT size_t tdb_schema_key_max(const struct tdb_schema *s)
{
	return s->key_max;
}

TDB_EXPORT size_t tdb_schema_value_max(const struct tdb_schema *s)
{
	return s->value_max;
}
