// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * parse.c - strict parsing of command-line values: numbers, sizes with
 * K/M/G/T suffixes, octal modes, key types and durability classes.  Keys
 * and records are encoded by libtdb (tdb/schema.h).
 */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "tdb/schema.h"

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
	int t = tdb_key_type_parse(s);

	return t < 0 ? -1 : t;
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
	const char *name = tdb_key_type_name(t);

	return name ? name : "unknown";
}

const char *durability_name(uint32_t d)
{
	return d < ARRAY_SIZE(durabilities) ? durabilities[d] : "unknown";
}
