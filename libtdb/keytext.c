// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * keytext.c - keys written as text: every key type of tdb/proto.h to and
 * from its wire bytes, prefix normalisation, and composite keys (a bytes
 * key made of typed parts).  Also the address and MAC parsers that
 * record fields share.
 *
 * Text forms (schema/README.md has the full list):
 *   ipv4   dotted quad of four decimal octets, no leading zeros ("010" is
 *          octal to inet_aton() and decimal to others: refused, not
 *          guessed)
 *   ipv6   anything inet_pton() takes, ::ffff:1.2.3.4 included; written
 *          as RFC 5952 (inet_ntop())
 *   cidr4/cidr6  ADDRESS[/LEN]: no length is a full-length prefix; bits
 *          past LEN are cleared and the caller told (return 1); always
 *          written with its length
 *   mac    aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff or
 *          aabbccddeeff, any case; written lower-case with colons
 *   composite  the parts in schema order joined by ',' (IPv6 text has no
 *          comma, so "tcp,2001:db8::1,40000,2001:db8::2,443" is plain)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "schema_int.h"

static const char *const key_type_names[] = {
	[TDB_KEY_BYTES] = "bytes", [TDB_KEY_STR] = "str",
	[TDB_KEY_U32] = "u32",	   [TDB_KEY_U64] = "u64",
	[TDB_KEY_IPV4] = "ipv4",   [TDB_KEY_IPV6] = "ipv6",
	[TDB_KEY_CIDR4] = "cidr4", [TDB_KEY_CIDR6] = "cidr6",
	[TDB_KEY_MAC] = "mac",
};

TDB_EXPORT const char *tdb_key_type_name(uint32_t type)
{
	return type <= TDB_KEY_TYPE_MAX ? key_type_names[type] : NULL;
}

TDB_EXPORT int tdb_key_type_parse(const char *name)
{
	for (unsigned int i = 0; i <= TDB_KEY_TYPE_MAX; i++)
		if (name && !strcmp(name, key_type_names[i]))
			return (int)i;
	return -EINVAL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "TEXT: reason" into @why, TEXT quoted when it is not plain. */
static void why_text(char *why, size_t whylen, const char *text, size_t n,
		     const char *reason)
{
	struct sbuf sb;

	sb_init(&sb, why, whylen);
	sb_quoted(&sb, text, n);
	sb_printf(&sb, ": %s", reason);
}

/* The address scanners: 0, or -EINVAL with the reason in @r. */
static int ipv4_scan(const char *text, size_t n, uint8_t out[4], char *r,
		     size_t rlen)
{
	size_t i = 0;

	for (int o = 0; o < 4; o++) {
		size_t start;
		unsigned int v = 0;

		if (o && (i >= n || text[i++] != '.'))
			goto bad;
		start = i;
		while (i < n && is_digit(text[i]) && i - start < 4)
			v = v * 10 + (unsigned int)(text[i++] - '0');
		if (i == start || (i < n && is_digit(text[i])))
			goto bad;
		if (text[start] == '0' && i - start > 1) {
			schema_err(r, rlen, "octet %.*s has a leading zero",
				   (int)(i - start), text + start);
			return -EINVAL;
		}
		if (v > 255) {
			schema_err(r, rlen, "octet %u is over 255", v);
			return -EINVAL;
		}
		out[o] = (uint8_t)v;
	}
	if (i == n)
		return 0;
bad:
	schema_err(r, rlen, "not an IPv4 address (four decimal octets, a.b.c.d)");
	return -EINVAL;
}

static int ipv6_scan(const char *text, size_t n, uint8_t out[16], char *r,
		     size_t rlen)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (n < sizeof(buf) && !memchr(text, 0, n)) {
		memcpy(buf, text, n);
		buf[n] = 0;
		if (inet_pton(AF_INET6, buf, out) == 1)
			return 0;
	}
	schema_err(r, rlen, "not an IPv6 address");
	return -EINVAL;
}

int ipv4_parse(const char *text, size_t n, uint8_t out[4], char *why,
	       size_t whylen)
{
	char r[96];

	if (!ipv4_scan(text, n, out, r, sizeof(r)))
		return 0;
	why_text(why, whylen, text, n, r);
	return -EINVAL;
}

int ipv6_parse(const char *text, size_t n, uint8_t out[16], char *why,
	       size_t whylen)
{
	char r[96];

	if (!ipv6_scan(text, n, out, r, sizeof(r)))
		return 0;
	why_text(why, whylen, text, n, r);
	return -EINVAL;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int ip_parse(const char *text, size_t n, uint8_t out[16], char *why,
	     size_t whylen)
{
	if (memchr(text, ':', n))
		return ipv6_parse(text, n, out, why, whylen);
	memcpy(out, v4mapped, sizeof(v4mapped));
	return ipv4_parse(text, n, out + 12, why, whylen);
}

int mac_parse(const char *text, size_t n, uint8_t out[6], char *why,
	      size_t whylen)
{
	/* Digits per group and the separator of each accepted form. */
	unsigned int group = 2;
	char sep = 0;
	size_t i = 0;

	if (n == 17 && (text[2] == ':' || text[2] == '-'))
		sep = text[2];
	else if (n == 14 && text[4] == '.')
		sep = '.', group = 4;
	else if (n != 12)
		goto bad;
	for (unsigned int b = 0; b < 6; b++) {
		int hi, lo;

		if (sep && b && b % (group / 2) == 0 && text[i++] != sep)
			goto bad;
		hi = hex_val(text[i]);
		lo = hex_val(text[i + 1]);
		if (hi < 0 || lo < 0)
			goto bad;
		out[b] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	if (i == n)
		return 0;
bad:
	why_text(why, whylen, text, n, "not a MAC address (aa:bb:cc:dd:ee:ff)");
	return -EINVAL;
}

void ipv4_format(struct sbuf *sb, const uint8_t a[4])
{
	sb_printf(sb, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

void ipv6_format(struct sbuf *sb, const uint8_t a[16])
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, buf, sizeof(buf));
	sb_puts(sb, buf);
}

void ip_format(struct sbuf *sb, const uint8_t a[16])
{
	if (!memcmp(a, v4mapped, sizeof(v4mapped)))
		ipv4_format(sb, a + 12);
	else
		ipv6_format(sb, a);
}

void mac_format(struct sbuf *sb, const uint8_t a[6])
{
	sb_printf(sb, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3],
		  a[4], a[5]);
}

/*
 * ADDRESS[/LEN] into @out: the address (4 or 16 bytes, per @alen) then
 * the length.  Clears bits past the length and sets *@normalised when
 * there were any.
 */
static int prefix_parse(const char *text, size_t n, size_t alen, uint8_t *out,
			bool *normalised, char *why, size_t whylen)
{
	const char *slash = memchr(text, '/', n);
	size_t an = slash ? (size_t)(slash - text) : n;
	unsigned int bits = (unsigned int)alen * 8, len = bits;
	char r[96];
	int err;

	err = alen == 4 ? ipv4_scan(text, an, out, r, sizeof(r)) :
			  ipv6_scan(text, an, out, r, sizeof(r));
	if (err)
		goto fail;
	if (slash) {
		const char *p = slash + 1, *end = text + n;

		len = 0;
		if (p == end || (*p == '0' && end - p > 1) || end - p > 3)
			goto bad_len;
		for (; p < end; p++) {
			if (!is_digit(*p))
				goto bad_len;
			len = len * 10 + (unsigned int)(*p - '0');
		}
		if (len > bits) {
			schema_err(r, sizeof(r), "prefix length over %u", bits);
			goto fail;
		}
	}
	*normalised = false;
	for (unsigned int b = 0; b < alen; b++) {
		unsigned int keep = len > b * 8 ? len - b * 8 : 0;
		uint8_t mask = keep >= 8 ? 0xff : (uint8_t)(0xff00 >> keep);

		if (out[b] & ~mask) {
			out[b] &= mask;
			*normalised = true;
		}
	}
	out[alen] = (uint8_t)len;
	return 0;
bad_len:
	schema_err(r, sizeof(r), "bad prefix length (0 to %u)", bits);
fail:
	why_text(why, whylen, text, n, r);
	return -EINVAL;
}

/* The parts of a composite key, separated by commas. */
static int composite_parse(const struct tdb_schema *s, const char *text,
			   size_t n, uint8_t *out, size_t *len, char *err,
			   size_t errlen)
{
	const char *p = text, *end = text + n;
	unsigned int i, commas = 0;
	size_t off = 0;
	char why[256];

	for (size_t k = 0; k < n; k++)
		commas += text[k] == ',';
	if (commas + 1 != s->nparts) {
		struct sbuf sb;

		sb_init(&sb, err, errlen);
		sb_printf(&sb, "%s: ", s->key_name);
		sb_quoted(&sb, text, n);
		sb_printf(&sb, ": needs %u parts separated by commas (",
			  s->nparts);
		for (i = 0; i < s->nparts; i++)
			sb_printf(&sb, "%s%s", i ? "," : "", s->parts[i].name);
		sb_puts(&sb, ")");
		return -EINVAL;
	}
	for (i = 0; i < s->nparts; i++) {
		const struct sfield *f = &s->parts[i];
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		int r;

		r = atom_parse(f, p, (size_t)(stop - p), true, out + off,
			       ATOM_FIXED_MAX, why, sizeof(why));
		if (r < 0) {
			schema_err(err, errlen, "%s.%s: %s", s->key_name,
				   f->name, why);
			return r;
		}
		off += (size_t)r;
		p = stop + 1;
	}
	*len = off;
	return 0;
}

/* The unsigned-key pseudo-fields: their bounds and width. */
static const struct sfield key_u32 = { .name = "key", .type = FT_U32,
				       .umax = UINT32_MAX };
static const struct sfield key_u64 = { .name = "key", .type = FT_U64,
				       .umax = UINT64_MAX };

/*
 * tdb_key_parse() on counted text (JSON strings may hold NUL bytes, which
 * only bytes keys accept).
 */
int key_parse_n(const struct tdb_schema *s, const char *text, size_t n,
		void *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
	uint8_t tmp[TDB_KEY_MAX];
	char why[256];
	bool norm = false;
	size_t need;
	int r;

	switch (s->key_type) {
	case TDB_KEY_BYTES:
	case TDB_KEY_STR:
		if (s->nparts) {
			r = composite_parse(s, text, n, tmp, &need, err,
					    errlen);
			if (r)
				return r;
			break;
		}
		if (!n) {
			schema_err(err, errlen, "%s: empty (keys are 1 to %u bytes)",
				   s->key_name, s->key_max_len);
			return -EINVAL;
		}
		if (n > s->key_max_len) {
			schema_err(err, errlen, "%s: too long: %zu bytes, the maximum is %u",
				   s->key_name, n, s->key_max_len);
			return -E2BIG;
		}
		if (s->key_type == TDB_KEY_STR && !utf8_valid(text, n)) {
			schema_err(err, errlen, "%s: not UTF-8 text (a str key)",
				   s->key_name);
			return -EINVAL;
		}
		need = n;
		if (need > cap)
			goto small;
		memcpy(buf, text, n);
		*len = n;
		return 0;
	case TDB_KEY_U32:
	case TDB_KEY_U64:
		r = atom_parse(s->key_type == TDB_KEY_U32 ? &key_u32 : &key_u64,
			       text, n, false, tmp, sizeof(tmp), why,
			       sizeof(why));
		if (r < 0)
			goto fail;
		need = (size_t)r;
		break;
	case TDB_KEY_IPV4:
		r = ipv4_parse(text, n, tmp, why, sizeof(why));
		if (r)
			goto fail;
		need = 4;
		break;
	case TDB_KEY_IPV6:
		r = ipv6_parse(text, n, tmp, why, sizeof(why));
		if (r)
			goto fail;
		need = 16;
		break;
	case TDB_KEY_CIDR4:
	case TDB_KEY_CIDR6:
		need = s->key_type == TDB_KEY_CIDR4 ? 4 : 16;
		r = prefix_parse(text, n, need, tmp, &norm, why, sizeof(why));
		if (r)
			goto fail;
		need++;
		break;
	case TDB_KEY_MAC:
		r = mac_parse(text, n, tmp, why, sizeof(why));
		if (r)
			goto fail;
		need = 6;
		break;
	default:
		schema_err(err, errlen, "%s: unknown key type %u", s->key_name,
			   s->key_type);
		return -EINVAL;
	}
	if (need > cap)
		goto small;
	memcpy(buf, tmp, need);
	*len = need;
	return norm ? 1 : 0;
fail:
	schema_err(err, errlen, "%s: %s", s->key_name, why);
	return r;
small:
	schema_err(err, errlen, "%s: needs %zu bytes, the buffer holds %zu",
		   s->key_name, need, cap);
	return -E2BIG;
}

TDB_EXPORT int tdb_key_parse(const struct tdb_schema *s, const char *text,
			     void *buf, size_t cap, size_t *len, char *err,
			     size_t errlen)
{
	return key_parse_n(s, text, strlen(text), buf, cap, len, err, errlen);
}

/* Appends the key's text to @sb: 0, or -EINVAL when @klen does not fit. */
int key_format_sb(const struct tdb_schema *s, const uint8_t *key,
		  size_t klen, struct sbuf *sb)
{
	uint64_t v = 0;
	size_t off = 0;

	switch (s->key_type) {
	case TDB_KEY_BYTES:
	case TDB_KEY_STR:
		if (!s->nparts) {
			if (!klen || klen > TDB_KEY_MAX)
				return -EINVAL;
			sb_quoted(sb, key, klen);
			return 0;
		}
		for (unsigned int i = 0; i < s->nparts; i++) {
			int r;

			if (i)
				sb_puts(sb, ",");
			r = atom_format(&s->parts[i], key + off, klen - off,
					true, sb);
			if (r < 0)
				return r;
			off += (size_t)r;
		}
		return off == klen ? 0 : -EINVAL;
	case TDB_KEY_U32:
	case TDB_KEY_U64:
		if (klen != (s->key_type == TDB_KEY_U32 ? 4U : 8U))
			return -EINVAL;
		for (size_t i = 0; i < klen; i++)
			v |= (uint64_t)key[i] << (8 * i);
		sb_printf(sb, "%llu", (unsigned long long)v);
		return 0;
	case TDB_KEY_IPV4:
		if (klen != 4)
			return -EINVAL;
		ipv4_format(sb, key);
		return 0;
	case TDB_KEY_IPV6:
		if (klen != 16)
			return -EINVAL;
		ipv6_format(sb, key);
		return 0;
	case TDB_KEY_CIDR4:
		if (klen != 5 || key[4] > 32)
			return -EINVAL;
		ipv4_format(sb, key);
		sb_printf(sb, "/%u", key[4]);
		return 0;
	case TDB_KEY_CIDR6:
		if (klen != 17 || key[16] > 128)
			return -EINVAL;
		ipv6_format(sb, key);
		sb_printf(sb, "/%u", key[16]);
		return 0;
	case TDB_KEY_MAC:
		if (klen != 6)
			return -EINVAL;
		mac_format(sb, key);
		return 0;
	}
	return -EINVAL;
}

TDB_EXPORT int tdb_key_format(const struct tdb_schema *s, const void *key,
			      size_t klen, char *buf, size_t cap)
{
	struct sbuf sb;
	int err;

	sb_init(&sb, buf, cap);
	err = key_format_sb(s, key, klen, &sb);
	if (err) {
		if (cap)
			buf[0] = 0;
		return err;
	}
	return sb.len > INT32_MAX ? -E2BIG : (int)sb.len;
}
