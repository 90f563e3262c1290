// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * parse.c - strict parsing of command-line values: numbers, sizes with
 * K/M/G/T suffixes, octal modes, key types and durability classes, and
 * the encoding of keys per their table's key type.
 */
#include <errno.h>
#include <string.h>

#include "cli.h"

static const char *const key_types[] = {
	[TDB_KEY_BYTES] = "bytes",
	[TDB_KEY_STR] = "str",
	[TDB_KEY_U32] = "u32",
	[TDB_KEY_U64] = "u64",
};

static const char *const durabilities[] = {
	[TDB_DUR_MEMORY] = "memory",
	[TDB_DUR_ASYNC] = "async",
	[TDB_DUR_SYNC] = "sync",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A decimal number of digits only (no sign, no space), at most @max:
 * 0, -EINVAL (junk) or -ERANGE (too large).
 */
int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* Bytes: digits with an optional K, M, G or T suffix (powers of 1024). */
int parse_size(const char *s, uint64_t *out)
{
	static const char suffixes[] = "KMGT";
	char digits[32];
	size_t n = strlen(s);
	unsigned int shift = 0;
	const char *p;
	uint64_t v;
	int err;

	if (n && (p = strchr(suffixes, s[n - 1] & ~0x20)) && *p) {
		shift = 10 * (unsigned int)(p - suffixes + 1);
		n--;
	}
	if (!n || n >= sizeof(digits))
		return n ? -ERANGE : -EINVAL;
	memcpy(digits, s, n);
	digits[n] = 0;
	err = parse_u64(digits, UINT64_MAX >> shift, &v);
	if (err)
		return err;
	*out = v << shift;
	return 0;
}

/* Permission bits in octal, at most 0777. */
int parse_mode(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -EINVAL;
		v = v * 8 + (uint32_t)(*s - '0');
	}
	if (v > 0777)
		return -ERANGE;
	*out = v;
	return 0;
}

int key_type_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(key_types); i++)
		if (!strcmp(s, key_types[i]))
			return (int)i;
	return -1;
}

int durability_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(durabilities); i++)
		if (!strcmp(s, durabilities[i]))
			return (int)i;
	return -1;
}

const char *key_type_name(uint32_t t)
{
	return t < ARRAY_SIZE(key_types) ? key_types[t] : "unknown";
}

const char *durability_name(uint32_t d)
{
	return d < ARRAY_SIZE(durabilities) ? durabilities[d] : "unknown";
}

int key_encode(uint32_t type, const char *arg, void *buf, size_t cap,
	       size_t *len, const char **why)
{
	uint64_t v;
	uint8_t *p = buf;
	size_t width;
	int err;

	switch (type) {
	case TDB_KEY_U32:
	case TDB_KEY_U64:
		width = type == TDB_KEY_U32 ? 4 : 8;
		err = parse_u64(arg, width == 4 ? UINT32_MAX : UINT64_MAX, &v);
		if (err) {
			*why = err == -ERANGE ?
				       (width == 4 ? "is too large for a u32 key" :
						     "is too large for a u64 key") :
				       "is not a decimal number";
			return -EINVAL;
		}
		for (size_t i = 0; i < width; i++)
			p[i] = (uint8_t)(v >> (8 * i));
		*len = width;
		return 0;
	default:
		*len = strlen(arg);
		if (!*len) {
			*why = "is empty";
			return -EINVAL;
		}
		if (*len > cap) {
			*why = "is longer than 1024 bytes";
			return -E2BIG;
		}
		memcpy(buf, arg, *len);
		return 0;
	}
}
