// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * record.c - the value codec: typed values from text (name=value pairs or
 * a JSON object) to the bytes a table stores, and back to text or JSON.
 *
 * Encoding (schema/README.md is the reference): an optional presence
 * bitmap, then every field in schema order, fixed-size except str:
 *
 *   bitmap   ceil(optional fields / 8) bytes, absent when no field is
 *            optional; bit i (LSB first) set when the i-th optional field
 *            is present.  An unset optional field takes no other byte.
 *   u8..u64, i8..i64, port   1, 2, 4, 8 bytes little-endian (as u32/u64
 *            keys are); signed ones two's complement
 *   bool     1 byte, 0 or 1             enum   1 byte, the name's number
 *   ipv4 4, ipv6 16, ip 16 (IPv4 as ::ffff:a.b.c.d), mac 6: network order
 *   port_range  low then high port, 2 bytes each, low <= high
 *   timestamp   8 bytes, seconds since 1970 UTC, 0..9999-12-31T23:59:59Z
 *   str      its length (1 byte when max_len < 256, else 2, LE), then
 *            that many bytes of UTF-8 without NUL
 *
 * There is no tag, version or padding: the schema stored with the table
 * says what the bytes are, and a firewall rule takes 9 bytes plus its
 * comment.  A field with a default is always stored with a value (the
 * default is applied when the record is written, so a schema's default
 * never changes records already stored).  Composite key parts use the
 * same encodings big-endian, so that keys compare as tuples.
 *
 * Decoding trusts nothing: a value whose length, str lengths, enum
 * numbers, booleans, bounds, port ranges, times or spare bitmap bits do
 * not match the schema is refused whole (-EINVAL), before any field is
 * handed out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "internal.h"
#include "schema_int.h"

/* The last second a timestamp may hold: 9999-12-31T23:59:59Z. */
#define TS_MAX 253402300799LL

/* Appends @text, quoted when it is not plain, and @what. */
static void why_text(char *why, size_t whylen, const char *text, size_t n,
		     const char *what)
{
	struct sbuf sb;

	sb_init(&sb, why, whylen);
	sb_quoted(&sb, text, n);
	sb_puts(&sb, what);
}

static void put_uint(uint8_t *p, uint64_t v, size_t width, bool be)
{
	for (size_t i = 0; i < width; i++)
		p[be ? width - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_uint(const uint8_t *p, size_t width, bool be)
{
	uint64_t v = 0;

	for (size_t i = 0; i < width; i++)
		v |= (uint64_t)p[be ? width - 1 - i : i] << (8 * i);
	return v;
}

/*
 * Integer text: an optional '-' then decimal digits (leading zeros are
 * fine: 042 is 42).  0, -EINVAL (not a number) or -ERANGE (over 64 bits).
 */
static int int_text(const char *t, size_t n, bool *neg, uint64_t *mag)
{
	uint64_t v = 0;
	size_t i = 0;

	*neg = n && t[0] == '-';
	i = *neg;
	if (i == n)
		return -EINVAL;
	for (; i < n; i++) {
		unsigned int d = (unsigned int)(t[i] - '0');

		if (t[i] < '0' || t[i] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10) {
			/* Finish checking it is a number first. */
			while (++i < n)
				if (t[i] < '0' || t[i] > '9')
					return -EINVAL;
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	*mag = v;
	return 0;
}

int int_check(const struct sfield *f, const char *text, size_t n, uint64_t *u,
	      int64_t *i, char *why, size_t whylen)
{
	bool neg = false, in;
	uint64_t mag = 0;
	char range[96];
	int err;

	err = int_text(text, n, &neg, &mag);
	if (err == -EINVAL) {
		why_text(why, whylen, text, n, " is not a number");
		return -EINVAL;
	}
	if (ftype_is_unsigned(f->type)) {
		in = !err && (!neg || !mag) && mag >= f->umin && mag <= f->umax;
		*u = mag;
	} else {
		in = !err && (neg ? mag <= (uint64_t)INT64_MAX + 1 :
				    mag <= (uint64_t)INT64_MAX);
		*i = !in ? 0 : neg ? (int64_t)(0 - mag) : (int64_t)mag;
		in = in && *i >= f->smin && *i <= f->smax;
	}
	if (in)
		return 0;
	/* The message only when it is needed: this runs for every field. */
	if (ftype_is_unsigned(f->type))
		snprintf(range, sizeof(range),
			 " is out of range %" PRIu64 "..%" PRIu64, f->umin,
			 f->umax);
	else
		snprintf(range, sizeof(range),
			 " is out of range %" PRId64 "..%" PRId64, f->smin,
			 f->smax);
	why_text(why, whylen, text, n, range);
	return -EINVAL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned int *m,
			    unsigned int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* @n digits at @p as a number, or -1. */
static int digits(const char *p, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/*
 * A time: RFC 3339 (2026-03-01T12:00:00Z, or with an offset +01:00),
 * seconds since 1970, "now", or "+N" with an optional unit s, m, h, d or
 * w: N from now.
 */
static int ts_parse(const char *t, size_t n, int64_t *out, char *why,
		    size_t whylen)
{
	static const char units[] = "smhdw";
	static const int64_t mult[] = { 1, 60, 3600, 86400, 604800 };
	bool neg;
	uint64_t mag;
	int64_t v;

	if (n == 3 && !memcmp(t, "now", 3)) {
		*out = (int64_t)time(NULL);
		return 0;
	}
	if (n > 1 && t[0] == '+') {
		const char *u = memchr(units, t[n - 1], 5);
		int64_t m = u ? mult[u - units] : 1;

		if (int_text(t + 1, n - 1 - (u ? 1 : 0), &neg, &mag) || neg)
			goto bad;
		if (mag > (uint64_t)TS_MAX / (uint64_t)m)
			goto range;
		v = (int64_t)time(NULL) + (int64_t)mag * m;
		goto check;
	}
	if (!int_text(t, n, &neg, &mag) && !neg) {
		if (mag > (uint64_t)TS_MAX)
			goto range;
		v = (int64_t)mag;
		goto check;
	}
	/* YYYY-MM-DDTHH:MM:SS then Z or +HH:MM / -HH:MM */
	if ((n == 20 && t[19] == 'Z') ||
	    (n == 25 && (t[19] == '+' || t[19] == '-') && t[22] == ':')) {
		int y = digits(t, 4), mo = digits(t + 5, 2),
		    d = digits(t + 8, 2), h = digits(t + 11, 2),
		    mi = digits(t + 14, 2), s = digits(t + 17, 2);
		int oh = n == 25 ? digits(t + 20, 2) : 0;
		int om = n == 25 ? digits(t + 23, 2) : 0;
		static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30,
						       31, 31, 30, 31, 30, 31 };

		if (t[4] != '-' || t[7] != '-' || t[10] != 'T' ||
		    t[13] != ':' || t[16] != ':' || y < 0 || mo < 1 ||
		    mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
		    s < 0 || s > 59 || oh < 0 || oh > 23 || om < 0 || om > 59)
			goto bad;
		if (d > mdays[mo - 1] ||
		    (mo == 2 && d == 29 &&
		     (y % 4 || (y % 100 == 0 && y % 400)))) {
			why_text(why, whylen, t, n, ": no such date");
			return -EINVAL;
		}
		v = days_from_civil(y, (unsigned int)mo, (unsigned int)d) *
			    86400 +
		    h * 3600 + mi * 60 + s;
		v -= (t[19] == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
		goto check;
	}
bad:
	why_text(why, whylen, t, n,
		 ": not a time (YYYY-MM-DDTHH:MM:SSZ, seconds since 1970, now, or +N with a unit s, m, h, d or w)");
	return -EINVAL;
check:
	if (v >= 0 && v <= TS_MAX) {
		*out = v;
		return 0;
	}
range:
	why_text(why, whylen, t, n,
		 ": out of range (1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z)");
	return -EINVAL;
}

static void ts_format(struct sbuf *sb, int64_t v)
{
	int64_t y, days = v / 86400, secs = v % 86400;
	unsigned int m, d;

	civil_from_days(days, &y, &m, &d);
	sb_printf(sb, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)y, m, d,
		  (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

/* PORT or LOW-HIGH. */
static int port_range_parse(const char *t, size_t n, uint16_t *lo,
			    uint16_t *hi, char *why, size_t whylen)
{
	const char *dash = memchr(t, '-', n);
	size_t ln = dash ? (size_t)(dash - t) : n;
	uint64_t a, b;
	bool neg;
	int e1, e2;

	e1 = int_text(t, ln, &neg, &a);
	if (e1 == -EINVAL || neg)
		goto bad;
	b = a;
	e2 = 0;
	if (dash) {
		e2 = int_text(dash + 1, n - ln - 1, &neg, &b);
		if (e2 == -EINVAL || neg)
			goto bad;
	}
	if (e1 || a > 65535 || e2 || b > 65535) {
		/* Name the port that is out of range, as integers do. */
		const char *bad = e1 || a > 65535 ? t : dash + 1;
		size_t bn = e1 || a > 65535 ? ln : n - ln - 1;
		struct sbuf sb;

		sb_init(&sb, why, whylen);
		if (dash) {
			sb_quoted(&sb, t, n);
			sb_puts(&sb, ": ");
		}
		sb_putn(&sb, bad, bn);
		sb_puts(&sb, " is out of range 0..65535");
		return -EINVAL;
	}
	if (a > b) {
		why_text(why, whylen, t, n, ": the low port is above the high one");
		return -EINVAL;
	}
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
bad:
	why_text(why, whylen, t, n, ": not a port range (PORT or LOW-HIGH)");
	return -EINVAL;
}

int atom_parse(const struct sfield *f, const char *text, size_t n, bool be,
	       uint8_t *out, size_t cap, char *why, size_t whylen)
{
	size_t size = ftype_size(f->type);
	uint16_t lo, hi;
	uint64_t u;
	int64_t i;
	int err = 0;

	if (f->type == FT_STR) {
		if (n > f->max_len) {
			schema_err(why, whylen, "too long: %zu bytes, the maximum is %u",
				   n, f->max_len);
			return -EINVAL;
		}
		if (!utf8_valid(text, n)) {
			schema_err(why, whylen, "not UTF-8 text (or holds a NUL byte)");
			return -EINVAL;
		}
		size = f->lenw + n;
	}
	if (size > cap) {
		schema_err(why, whylen, "needs %zu bytes, the buffer holds %zu",
			   size, cap);
		return -E2BIG;
	}
	switch (f->type) {
	case FT_U8:
	case FT_U16:
	case FT_U32:
	case FT_U64:
	case FT_PORT:
		err = int_check(f, text, n, &u, &i, why, whylen);
		if (!err)
			put_uint(out, u, size, be);
		break;
	case FT_I8:
	case FT_I16:
	case FT_I32:
	case FT_I64:
		err = int_check(f, text, n, &u, &i, why, whylen);
		if (!err)
			put_uint(out, (uint64_t)i, size, be);
		break;
	case FT_BOOL:
		if ((n == 4 && !memcmp(text, "true", 4)) ||
		    (n == 1 && text[0] == '1'))
			out[0] = 1;
		else if ((n == 5 && !memcmp(text, "false", 5)) ||
			 (n == 1 && text[0] == '0'))
			out[0] = 0;
		else {
			why_text(why, whylen, text, n, " is not true or false");
			err = -EINVAL;
		}
		break;
	case FT_STR:
		put_uint(out, n, f->lenw, false);
		memcpy(out + f->lenw, text, n);
		break;
	case FT_ENUM:
		for (unsigned int k = 0; k < f->nvals; k++)
			if (strlen(f->vnames[k]) == n &&
			    !memcmp(f->vnames[k], text, n)) {
				out[0] = f->vnums[k];
				return 1;
			}
		{
			struct sbuf sb;

			sb_init(&sb, why, whylen);
			sb_quoted(&sb, text, n);
			sb_puts(&sb, " is not one of ");
			for (unsigned int k = 0; k < f->nvals; k++)
				sb_printf(&sb, "%s%s", k ? ", " : "",
					  f->vnames[k]);
		}
		err = -EINVAL;
		break;
	case FT_IPV4:
		err = ipv4_parse(text, n, out, why, whylen);
		break;
	case FT_IPV6:
		err = ipv6_parse(text, n, out, why, whylen);
		break;
	case FT_IP:
		err = ip_parse(text, n, out, why, whylen);
		break;
	case FT_MAC:
		err = mac_parse(text, n, out, why, whylen);
		break;
	case FT_PORT_RANGE:
		err = port_range_parse(text, n, &lo, &hi, why, whylen);
		if (!err) {
			put_uint(out, lo, 2, be);
			put_uint(out + 2, hi, 2, be);
		}
		break;
	case FT_TIMESTAMP:
		err = ts_parse(text, n, &i, why, whylen);
		if (!err)
			put_uint(out, (uint64_t)i, 8, be);
		break;
	default:
		schema_err(why, whylen, "unknown type");
		err = -EINVAL;
	}
	return err ? err : (int)size;
}

int atom_format(const struct sfield *f, const uint8_t *p, size_t avail,
		bool be, struct sbuf *sb)
{
	size_t size = ftype_size(f->type);
	uint64_t u;
	int64_t i;
	unsigned int k;

	if (f->type == FT_STR) {
		if (avail < f->lenw)
			return -EINVAL;
		u = get_uint(p, f->lenw, false);
		if (u > f->max_len || f->lenw + u > avail ||
		    !utf8_valid(p + f->lenw, u))
			return -EINVAL;
		if (sb)
			sb_putn(sb, (const char *)p + f->lenw, u);
		return (int)(f->lenw + u);
	}
	if (size > avail)
		return -EINVAL;
	/* Addresses are bytes; every other fixed type a number. */
	u = size <= 8 ? get_uint(p, size, be) : 0;
	switch (f->type) {
	case FT_U8:
	case FT_U16:
	case FT_U32:
	case FT_U64:
	case FT_PORT:
		if (u < f->umin || u > f->umax)
			return -EINVAL;
		if (sb)
			sb_printf(sb, "%" PRIu64, u);
		break;
	case FT_I8:
	case FT_I16:
	case FT_I32:
	case FT_I64:
		/* Sign-extend from the field's width. */
		if (size < 8 && (u >> (8 * size - 1)) & 1)
			u |= UINT64_MAX << (8 * size);
		i = (int64_t)u;
		if (i < f->smin || i > f->smax)
			return -EINVAL;
		if (sb)
			sb_printf(sb, "%" PRId64, i);
		break;
	case FT_BOOL:
		if (u > 1)
			return -EINVAL;
		if (sb)
			sb_puts(sb, u ? "true" : "false");
		break;
	case FT_ENUM:
		for (k = 0; k < f->nvals && f->vnums[k] != u; k++)
			;
		if (k == f->nvals)
			return -EINVAL;
		if (sb)
			sb_puts(sb, f->vnames[k]);
		break;
	case FT_IPV4:
		if (sb)
			ipv4_format(sb, p);
		break;
	case FT_IPV6:
		if (sb)
			ipv6_format(sb, p);
		break;
	case FT_IP:
		if (sb)
			ip_format(sb, p);
		break;
	case FT_MAC:
		if (sb)
			mac_format(sb, p);
		break;
	case FT_PORT_RANGE: {
		uint64_t lo = get_uint(p, 2, be), hi = get_uint(p + 2, 2, be);

		if (lo > hi)
			return -EINVAL;
		if (sb && lo == hi)
			sb_printf(sb, "%" PRIu64, lo);
		else if (sb)
			sb_printf(sb, "%" PRIu64 "-%" PRIu64, lo, hi);
		break;
	}
	case FT_TIMESTAMP:
		if (u > (uint64_t)TS_MAX)
			return -EINVAL;
		if (sb)
			ts_format(sb, (int64_t)u);
		break;
	default:
		return -EINVAL;
	}
	return (int)size;
}

int json_value_text(json_t *v, enum ftype type, char num[32],
		    const char **text, size_t *n, char *why, size_t whylen)
{
	bool number = ftype_is_unsigned(type) || ftype_is_signed(type) ||
		      type == FT_TIMESTAMP || type == FT_PORT_RANGE;

	if (json_is_string(v)) {
		*text = json_string_value(v);
		*n = json_string_length(v);
		return 0;
	}
	if (json_is_integer(v) && number) {
		*n = (size_t)snprintf(num, 32, "%" JSON_INTEGER_FORMAT,
				      json_integer_value(v));
		*text = num;
		return 0;
	}
	if (json_is_boolean(v) && type == FT_BOOL) {
		*text = json_is_true(v) ? "true" : "false";
		*n = strlen(*text);
		return 0;
	}
	schema_err(why, whylen, "expected %s, not %s",
		   number ? "an integer or a string" :
		   type == FT_BOOL ? "true, false or a string" : "a string",
		   json_is_real(v) ? "a fraction" :
		   json_is_integer(v) ? "a number" :
		   json_is_boolean(v) ? "a boolean" :
		   json_is_null(v) ? "null" :
		   json_is_array(v) ? "an array" : "an object");
	return -EINVAL;
}

/* Encoding. */

/* "NAME: no such field (fields: a, b)" */
static void unknown_field(const struct tdb_schema *s, const char *name,
			  char *err, size_t errlen)
{
	struct sbuf sb;

	sb_init(&sb, err, errlen);
	sb_quoted(&sb, name, strnlen(name, SCHEMA_NAME_MAX + 1));
	if (s->bare) {
		sb_puts(&sb, ": no such field (a table without a schema has only \"value\")");
		return;
	}
	sb_puts(&sb, ": no such field (");
	if (!s->nfields)
		sb_puts(&sb, "the schema has no fields");
	else
		sb_puts(&sb, "fields: ");
	for (unsigned int i = 0; i < s->nfields; i++)
		sb_printf(&sb, "%s%s", i ? ", " : "", s->fields[i].name);
	sb_puts(&sb, ")");
}

/* The index of field @name, or nfields + 1 when there is none. */
static unsigned int field_index(const struct tdb_schema *s, const char *name)
{
	for (unsigned int i = 0; i < s->nfields; i++)
		if (!strcmp(name, s->fields[i].name))
			return i;
	return s->nfields + 1;
}

/*
 * The common encoder: @lens[i] is the length of @values[i], which need
 * not be NUL-terminated.
 */
static int record_encode_n(const struct tdb_schema *s,
			   const char *const *names,
			   const char *const *values, const size_t *lens,
			   unsigned int n, struct tdb_record *r, char *err,
			   size_t errlen)
{
	/* For each field (and [nfields] the key): which pair gives it. */
	int given[SCHEMA_FIELDS_MAX + 1];
	unsigned int nf = s->bare ? 1 : s->nfields;
	uint8_t *val = r->val;
	size_t off, bm = schema_bitmap_len(s);
	char why[512];
	int ret, norm;

	for (unsigned int i = 0; i <= nf; i++)
		given[i] = -1;
	for (unsigned int k = 0; k < n; k++) {
		unsigned int i;

		if (!strcmp(names[k], s->key_name))
			i = nf;
		else if (s->bare)
			i = strcmp(names[k], "value") ? nf + 1 : 0;
		else
			i = field_index(s, names[k]);
		if (i > nf) {
			unknown_field(s, names[k], err, errlen);
			return -EINVAL;
		}
		if (given[i] >= 0) {
			schema_err(err, errlen, "%s: given twice", names[k]);
			return -EINVAL;
		}
		given[i] = (int)k;
	}
	if (given[nf] < 0) {
		schema_err(err, errlen, "%s: missing (the key)", s->key_name);
		return -EINVAL;
	}
	norm = key_parse_n(s, values[given[nf]], lens[given[nf]], r->key,
			   r->key_cap, &r->klen, err, errlen);
	if (norm < 0)
		return norm;
	r->normalised = norm;

	if (s->bare) {
		size_t vn = given[0] < 0 ? 0 : lens[given[0]];

		if (vn > TDB_VAL_MAX || vn > r->val_cap) {
			schema_err(err, errlen, "value: %zu bytes, over %s of %zu",
				   vn, vn > TDB_VAL_MAX ? "the limit" : "the buffer",
				   vn > TDB_VAL_MAX ? (size_t)TDB_VAL_MAX : r->val_cap);
			return -E2BIG;
		}
		if (vn)
			memcpy(val, values[given[0]], vn);
		r->vlen = vn;
		return norm;
	}
	if (bm > r->val_cap) {
		schema_err(err, errlen, "value: the buffer of %zu bytes is too small",
			   r->val_cap);
		return -E2BIG;
	}
	memset(val, 0, bm);
	off = bm;
	for (unsigned int i = 0; i < nf; i++) {
		const struct sfield *f = &s->fields[i];
		const char *text = f->def;
		size_t tn = text ? strlen(text) : 0;

		if (given[i] >= 0) {
			text = values[given[i]];
			tn = lens[given[i]];
		} else if (f->def_enc) {
			if (f->def_len > r->val_cap - off) {
				schema_err(err, errlen, "%s: needs %zu bytes, the buffer holds %zu",
					   f->name, f->def_len, r->val_cap - off);
				return -E2BIG;
			}
			memcpy(val + off, f->def_enc, f->def_len);
			off += f->def_len;
			if (f->optional)
				val[f->bit / 8] |= (uint8_t)(1U << (f->bit % 8));
			continue;
		}
		if (!text) {
			if (f->optional)
				continue;
			schema_err(err, errlen, "%s: missing (the field has no default)",
				   f->name);
			return -EINVAL;
		}
		ret = atom_parse(f, text, tn, false, val + off, r->val_cap - off,
				 why, sizeof(why));
		if (ret < 0) {
			schema_err(err, errlen, "%s: %s", f->name, why);
			return ret;
		}
		if (f->optional)
			val[f->bit / 8] |= (uint8_t)(1U << (f->bit % 8));
		off += (size_t)ret;
	}
	r->vlen = off;
	return norm;
}

TDB_EXPORT int tdb_record_encode(const struct tdb_schema *s,
				 const char *const *names,
				 const char *const *values, unsigned int n,
				 struct tdb_record *r, char *err,
				 size_t errlen)
{
	size_t *lens;
	int ret;

	lens = malloc((n ? n : 1) * sizeof(*lens));
	if (!lens) {
		schema_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++)
		lens[i] = strlen(values[i]);
	ret = record_encode_n(s, names, values, lens, n, r, err, errlen);
	free(lens);
	return ret;
}

/* The type a JSON member's value is read as: the field's, or the key's. */
static enum ftype member_type(const struct tdb_schema *s, const char *name)
{
	if (!strcmp(name, s->key_name))
		return s->key_type == TDB_KEY_U32 || s->key_type == TDB_KEY_U64 ?
			       FT_U64 :
			       FT_STR;
	if (!s->bare && field_index(s, name) < s->nfields)
		return s->fields[field_index(s, name)].type;
	return FT_STR;
}

TDB_EXPORT int tdb_record_encode_json(const struct tdb_schema *s,
				      const char *json, size_t len,
				      struct tdb_record *r, char *err,
				      size_t errlen)
{
	const char **names = NULL, **values = NULL;
	char (*nums)[32] = NULL;
	size_t *lens = NULL;
	unsigned int n = 0;
	json_error_t jerr;
	const char *name;
	json_t *root, *v;
	char why[256];
	size_t cnt;
	int ret;

	/* \u0000 is a byte like any other in a bytes key. */
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
			  &jerr);
	if (!root) {
		schema_err(err, errlen, "line %d, column %d: %s", jerr.line,
			   jerr.column, jerr.text);
		return -EINVAL;
	}
	ret = -EINVAL;
	if (!json_is_object(root)) {
		schema_err(err, errlen, "a record is a JSON object");
		goto out;
	}
	cnt = json_object_size(root) ? json_object_size(root) : 1;
	ret = -ENOMEM;
	names = calloc(cnt, sizeof(*names));
	values = calloc(cnt, sizeof(*values));
	lens = calloc(cnt, sizeof(*lens));
	nums = calloc(cnt, sizeof(*nums));
	if (!names || !values || !lens || !nums) {
		schema_err(err, errlen, "out of memory");
		goto out;
	}
	json_object_foreach(root, name, v) {
		bool key = !strcmp(name, s->key_name);
		bool field = s->bare ? !strcmp(name, "value") :
				       field_index(s, name) < s->nfields;

		if (!key && !field) {
			/* Left to record_encode_n() to report. */
			names[n] = name;
			values[n++] = "";
			continue;
		}
		/* null: a field as if left out (its default, or unset). */
		if (json_is_null(v) && field)
			continue;
		ret = json_value_text(v, member_type(s, name), nums[n],
				      &values[n], &lens[n], why, sizeof(why));
		if (ret) {
			schema_err(err, errlen, "%s: %s", name, why);
			goto out;
		}
		names[n++] = name;
	}
	ret = record_encode_n(s, names, values, lens, n, r, err, errlen);
out:
	free(names);
	free(values);
	free(lens);
	free(nums);
	json_decref(root);
	return ret;
}

/* Decoding. */

/* Whether field @i is present in the value at @val. */
static bool field_present(const struct tdb_schema *s, const uint8_t *val,
			  unsigned int i)
{
	const struct sfield *f = &s->fields[i];

	return !f->optional || (val[f->bit / 8] >> (f->bit % 8) & 1);
}

/*
 * Checks the value @val against the schema: 0, or -EINVAL.  The
 * presence bitmap's spare bits must be clear.
 */
static int value_check(const struct tdb_schema *s, const uint8_t *val,
		       size_t vlen)
{
	size_t off = schema_bitmap_len(s);

	if (vlen < off)
		return -EINVAL;
	if (s->nopt % 8 && val[off - 1] >> (s->nopt % 8))
		return -EINVAL;
	for (unsigned int i = 0; i < s->nfields; i++) {
		int r;

		if (!field_present(s, val, i))
			continue;
		r = atom_format(&s->fields[i], val + off, vlen - off, false,
				NULL);
		if (r < 0)
			return r;
		off += (size_t)r;
	}
	return off == vlen ? 0 : -EINVAL;
}

TDB_EXPORT int tdb_record_decode(const struct tdb_schema *s, const void *val,
				 size_t vlen,
				 int (*fn)(void *arg, const char *name,
					   const char *text),
				 void *arg)
{
	const uint8_t *p = val;
	struct sbuf sb;
	size_t off = schema_bitmap_len(s);
	int ret = 0;

	if (!s->bare && value_check(s, p, vlen))
		return -EINVAL;
	sb_init_dyn(&sb);
	if (s->bare) {
		if (vlen) {
			sb_escaped(&sb, val, vlen);
			ret = sb.oom ? -ENOMEM : fn(arg, "value", sb_str(&sb));
		}
		free(sb.buf);
		return ret;
	}
	for (unsigned int i = 0; i < s->nfields && !ret; i++) {
		if (!field_present(s, p, i))
			continue;
		sb.len = 0;
		if (sb.buf)
			sb.buf[0] = 0;
		off += (size_t)atom_format(&s->fields[i], p + off, vlen - off,
					   false, &sb);
		ret = sb.oom ? -ENOMEM : fn(arg, s->fields[i].name, sb_str(&sb));
	}
	free(sb.buf);
	return ret;
}

/* A typed JSON value from an atom's text. */
static json_t *json_atom(const struct sfield *f, const char *text)
{
	if (ftype_is_unsigned(f->type)) {
		uint64_t u = strtoull(text, NULL, 10);

		return u <= INT64_MAX ? json_integer((json_int_t)u) :
					json_string(text);
	}
	if (ftype_is_signed(f->type))
		return json_integer((json_int_t)strtoll(text, NULL, 10));
	if (f->type == FT_BOOL)
		return json_boolean(text[0] == 't');
	return json_string(text);
}

/* Sets member @name to @p as a JSON string if UTF-8, else "@name_hex". */
static int json_set_bytes(json_t *o, const char *name, const void *p,
			  size_t n)
{
	const unsigned char *s = p;
	char hname[SCHEMA_NAME_MAX + 8];
	struct sbuf sb;
	int err;

	if (utf8_valid(p, n))
		return json_object_set_new(o, name, json_stringn(p, n));
	sb_init_dyn(&sb);
	for (size_t i = 0; i < n; i++)
		sb_printf(&sb, "%02x", s[i]);
	snprintf(hname, sizeof(hname), "%s_hex", name);
	err = sb.oom ? -1 :
		       json_object_set_new(o, hname, json_string(sb_str(&sb)));
	free(sb.buf);
	return err;
}

static int format_json(const struct tdb_schema *s, const uint8_t *key,
		       size_t klen, const uint8_t *val, size_t vlen,
		       struct sbuf *sb, char **out)
{
	json_t *o = json_object();
	size_t off = schema_bitmap_len(s);
	int ret = -ENOMEM;

	if (!o)
		return -ENOMEM;
	if ((s->key_type == TDB_KEY_BYTES || s->key_type == TDB_KEY_STR) &&
	    !s->nparts) {
		if (json_set_bytes(o, s->key_name, key, klen))
			goto out;
	} else if (s->key_type == TDB_KEY_U32 || s->key_type == TDB_KEY_U64) {
		static const struct sfield u64 = { .type = FT_U64 };

		if (json_object_set_new(o, s->key_name,
					json_atom(&u64, sb_str(sb))))
			goto out;
	} else if (json_object_set_new(o, s->key_name,
				       json_string(sb_str(sb)))) {
		goto out;
	}
	if (s->bare) {
		if (vlen && json_set_bytes(o, "value", val, vlen))
			goto out;
	}
	for (unsigned int i = 0; !s->bare && i < s->nfields; i++) {
		if (!field_present(s, val, i))
			continue;
		sb->len = 0;
		if (sb->buf)
			sb->buf[0] = 0;
		off += (size_t)atom_format(&s->fields[i], val + off, vlen - off,
					   false, sb);
		if (sb->oom ||
		    json_object_set_new(o, s->fields[i].name,
					json_atom(&s->fields[i], sb_str(sb))))
			goto out;
	}
	*out = json_dumps(o, JSON_COMPACT);
	ret = *out ? 0 : -ENOMEM;
out:
	json_decref(o);
	return ret;
}

TDB_EXPORT int tdb_record_format(const struct tdb_schema *s, const void *key,
				 size_t klen, const void *val, size_t vlen,
				 unsigned int format, char **out)
{
	const uint8_t *p = val;
	struct sbuf sb;
	size_t off = schema_bitmap_len(s);
	int ret;

	*out = NULL;
	if (format != TDB_FORMAT_TEXT && format != TDB_FORMAT_JSON)
		return -EINVAL;
	if (!s->bare && value_check(s, p, vlen))
		return -EINVAL;
	sb_init_dyn(&sb);
	ret = key_format_sb(s, key, klen, &sb);
	if (ret)
		goto out;
	if (format == TDB_FORMAT_JSON) {
		ret = format_json(s, key, klen, p, vlen, &sb, out);
		goto out;
	}
	if (s->bare && vlen) {
		sb_puts(&sb, " value=");
		sb_quoted(&sb, val, vlen);
	}
	for (unsigned int i = 0; !s->bare && i < s->nfields; i++) {
		const struct sfield *f = &s->fields[i];

		if (!field_present(s, p, i))
			continue;
		sb_printf(&sb, " %s=", f->name);
		if (f->type == FT_STR) {
			size_t n = (size_t)get_uint(p + off, f->lenw, false);

			/* "" and text with spaces or quotes are quoted. */
			sb_quoted(&sb, p + off + f->lenw, n);
			off += f->lenw + n;
			continue;
		}
		off += (size_t)atom_format(f, p + off, vlen - off, false, &sb);
	}
	ret = sb.oom ? -ENOMEM : 0;
	if (!ret) {
		*out = sb.buf ? sb.buf : strdup("");
		sb.buf = NULL;
		ret = *out ? 0 : -ENOMEM;
	}
out:
	free(sb.buf);
	return ret;
}
