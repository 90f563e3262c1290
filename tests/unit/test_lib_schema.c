// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test_lib_schema.c - unit tests of libtdb's schema codec (tdb/schema.h):
 * schema parsing with every error it reports, keys of every type to and
 * from text, records encoded from text and JSON and decoded back, the
 * shipped schemas in schema/, and every error message asserted by text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tdb/schema.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* schema/NAME, found from this file's path (the build runs at the top). */
static char *read_schema(const char *name, size_t *len)
{
	const char *me = __FILE__, *tail = strstr(me, "tests/unit/");
	char path[4096];
	FILE *f;
	char *buf = malloc(65536);

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%.*sschema/%s",
		 (int)(tail ? tail - me : 0), me, name);
	f = fopen(path, "r");
	assert_non_null(f);
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	buf[*len] = 0;
	return buf;
}

static struct tdb_schema *load(const char *name)
{
	struct tdb_schema *s = NULL;
	char err[256];
	size_t len;
	char *text = read_schema(name, &len);
	int r = tdb_schema_parse(text, len, &s, err, sizeof(err));

	if (r)
		fail_msg("%s: %s", name, err);
	free(text);
	return s;
}

static struct tdb_schema *parse_ok(const char *text)
{
	struct tdb_schema *s = NULL;
	char err[256];

	if (tdb_schema_parse(text, strlen(text), &s, err, sizeof(err)))
		fail_msg("schema refused: %s\n%s", err, text);
	return s;
}

/* The schema @text is refused with exactly @want. */
static void parse_fails(const char *text, const char *want)
{
	struct tdb_schema *s = (void *)1;
	char err[256] = "";
	int r = tdb_schema_parse(text, strlen(text), &s, err, sizeof(err));

	if (r != -EINVAL || strcmp(err, want))
		fail_msg("schema %s\n  gave %d '%s'\n  want '%s'", text, r, err,
			 want);
	assert_null(s);
}

/* A schema whose one field is @field (JSON), keyed by a u32. */
static void field_fails(const char *field, const char *want)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"name\": \"t\", \"key\": {\"type\": \"u32\"}, \"fields\": [%s]}",
		 field);
	parse_fails(text, want);
}

static void test_schema_errors(void **state)
{
	char big[TDB_SCHEMA_MAX + 2];

	parse_fails("{", "line 1, column 1: string or '}' expected near end of file");
	parse_fails("{\"name\": \"a\",\n \"key\": }",
		    "line 2, column 9: unexpected token near '}'");
	parse_fails("[]", "the schema is not a JSON object");
	parse_fails("{\"name\": \"a\", \"name\": \"b\"}",
		    "line 1, column 20: duplicate object key near '\"name\"'");
	memset(big, ' ', sizeof(big));
	big[sizeof(big) - 1] = 0;
	parse_fails(big, "the schema has 16385 bytes, over the limit of 16384");
	assert_int_equal(tdb_schema_parse(big, sizeof(big), &(struct tdb_schema *){ 0 },
					  NULL, 0),
			 -EINVAL);
	parse_fails("{\"name\": \"a\", \"key\": {\"parts\": [7]}}",
		    "key.parts[0]: not an object");
	parse_fails("{\"name\": \"a\", \"key\": {\"type\": \"u32\"}, \"fields\": [{\"name\": \"x\", \"type\": 8}]}",
		    "fields[0].type: not a string");
	parse_fails("{\"key\": {\"type\": \"u32\"}}", "name: missing");
	parse_fails("{\"name\": 7, \"key\": {\"type\": \"u32\"}}",
		    "name: not a string");
	parse_fails("{\"name\": \"9lives\", \"key\": {\"type\": \"u32\"}}",
		    "name: \"9lives\" is not a valid name (letters, digits, _ and -, from a letter or _, up to 63)");
	parse_fails("{\"name\": \"a\", \"frob\": 1}", "frob: unknown member");
	parse_fails("{\"name\": \"a\", \"description\": 1, \"key\": {\"type\": \"u32\"}}",
		    "description: not a string");
	parse_fails("{\"name\": \"a\"}", "key: missing");
	parse_fails("{\"name\": \"a\", \"key\": \"u32\"}", "key: not an object");
	parse_fails("{\"name\": \"a\", \"key\": {}}", "key.type: missing");
	parse_fails("{\"name\": \"a\", \"key\": {\"type\": 4}}",
		    "key.type: not a string");
	parse_fails("{\"name\": \"a\", \"key\": {\"type\": \"cidr5\"}}",
		    "key.type: unknown key type \"cidr5\" (bytes, str, u32, u64, ipv4, ipv6, cidr4, cidr6, mac)");
	parse_fails("{\"name\": \"a\", \"key\": {\"type\": \"u32\", \"size\": 4}}",
		    "key.size: unknown member");
	parse_fails("{\"name\": \"a\", \"key\": {\"type\": \"u32\", \"name\": \"a b\"}}",
		    "key.name: \"a b\" is not a valid name (letters, digits, _ and -, from a letter or _, up to 63)");
	parse_fails("{\"name\": \"a\", \"key\": {\"type\": \"u32\", \"max_len\": 4}}",
		    "key.max_len: only bytes and str keys have a length");
	parse_fails("{\"name\": \"a\", \"key\": {\"type\": \"str\", \"max_len\": 1025}}",
		    "key.max_len: not a number from 1 to 1024");
	parse_fails("{\"name\": \"a\", \"key\": {\"type\": \"ipv4\", \"parts\": []}}",
		    "key.parts: a composite key has type bytes");
	parse_fails("{\"name\": \"a\", \"key\": {\"parts\": []}}",
		    "key.parts: not an array of 1 to 16 parts");
	parse_fails("{\"name\": \"a\", \"key\": {\"parts\": [{\"name\": \"s\", \"type\": \"str\", \"max_len\": 4}]}}",
		    "key.parts[0].max_len: unknown member");
	parse_fails("{\"name\": \"a\", \"key\": {\"parts\": [{\"name\": \"s\", \"type\": \"str\"}]}}",
		    "key.parts[0].type: str cannot be a key part (parts have fixed sizes)");
	parse_fails("{\"name\": \"a\", \"key\": {\"parts\": [{\"name\": \"p\", \"type\": \"u8\", \"default\": 1}]}}",
		    "key.parts[0].default: unknown member");
	parse_fails("{\"name\": \"a\", \"key\": {\"parts\": [{\"name\": \"p\", \"type\": \"u8\"}, {\"name\": \"p\", \"type\": \"u8\"}]}}",
		    "key.parts[1].name: \"p\" is used twice");
	parse_fails("{\"name\": \"a\", \"key\": {\"type\": \"u32\"}, \"fields\": {}}",
		    "fields: not an array of at most 128 fields");

	field_fails("7", "fields[0]: not an object");
	field_fails("{\"type\": \"u8\"}", "fields[0].name: missing");
	field_fails("{\"name\": \"x\"}", "fields[0].type: missing");
	field_fails("{\"name\": \"x\", \"type\": \"u17\"}",
		    "fields[0].type: unknown type \"u17\"");
	field_fails("{\"name\": \"x\", \"type\": \"u8\", \"colour\": 1}",
		    "fields[0].colour: unknown member");
	field_fails("{\"name\": \"key\", \"type\": \"u8\"}",
		    "fields[0].name: \"key\" is the key's name");
	field_fails("{\"name\": \"x\", \"type\": \"u8\"}, {\"name\": \"x\", \"type\": \"u16\"}",
		    "fields[1].name: \"x\" is used twice");
	field_fails("{\"name\": \"x\", \"type\": \"str\"}",
		    "fields[0].max_len: missing (a str needs its longest length in bytes, 1 to 65535)");
	field_fails("{\"name\": \"x\", \"type\": \"str\", \"max_len\": 0}",
		    "fields[0].max_len: not a number in range (a str needs its longest length in bytes, 1 to 65535)");
	field_fails("{\"name\": \"x\", \"type\": \"u8\", \"max_len\": 4}",
		    "fields[0].max_len: only a str has a length");
	field_fails("{\"name\": \"x\", \"type\": \"bool\", \"min\": 0}",
		    "fields[0].min: only integer types have bounds");
	field_fails("{\"name\": \"x\", \"type\": \"u8\", \"max\": 256}",
		    "fields[0].max: 256 is out of range 0..255");
	field_fails("{\"name\": \"x\", \"type\": \"u8\", \"min\": -1}",
		    "fields[0].min: -1 is out of range 0..255");
	field_fails("{\"name\": \"x\", \"type\": \"i8\", \"min\": -129}",
		    "fields[0].min: -129 is out of range -128..127");
	field_fails("{\"name\": \"x\", \"type\": \"u8\", \"min\": 9, \"max\": 3}",
		    "fields[0]: min is over max");
	field_fails("{\"name\": \"x\", \"type\": \"u8\", \"max\": 1.5}",
		    "fields[0].max: expected an integer or a string, not a fraction");
	field_fails("{\"name\": \"x\", \"type\": \"enum\"}",
		    "fields[0].values: missing (an enum needs its names)");
	field_fails("{\"name\": \"x\", \"type\": \"enum\", \"values\": []}",
		    "fields[0].values: not an array of 1 to 256 names, nor an object of names and numbers");
	field_fails("{\"name\": \"x\", \"type\": \"enum\", \"values\": [\"a\", 1]}",
		    "fields[0].values[1]: not a valid name");
	field_fails("{\"name\": \"x\", \"type\": \"enum\", \"values\": [\"a\", \"a\"]}",
		    "fields[0].values[1]: \"a\" is used twice");
	field_fails("{\"name\": \"x\", \"type\": \"enum\", \"values\": {\"a\": 1, \"b\": 1}}",
		    "fields[0].values.b: number 1 is used twice");
	field_fails("{\"name\": \"x\", \"type\": \"enum\", \"values\": {\"a\": 256}}",
		    "fields[0].values.a: not a number from 0 to 255");
	field_fails("{\"name\": \"x\", \"type\": \"enum\", \"values\": {\"a b\": 2}}",
		    "fields[0].values: \"a b\" is not a valid name");
	field_fails("{\"name\": \"x\", \"type\": \"u8\", \"values\": [\"a\"]}",
		    "fields[0].values: only an enum has values");
	field_fails("{\"name\": \"x\", \"type\": \"u8\", \"optional\": 1}",
		    "fields[0].optional: not true or false");
	field_fails("{\"name\": \"x\", \"type\": \"u8\", \"optional\": true, \"default\": 1}",
		    "fields[0].default: an optional field has no default (unset is its default)");
	field_fails("{\"name\": \"x\", \"type\": \"u8\", \"default\": 300}",
		    "fields[0].default: 300 is out of range 0..255");
	field_fails("{\"name\": \"x\", \"type\": \"u8\", \"min\": 10, \"default\": 5}",
		    "fields[0].default: 5 is out of range 10..255");
	field_fails("{\"name\": \"x\", \"type\": \"enum\", \"values\": [\"a\"], \"default\": \"b\"}",
		    "fields[0].default: b is not one of a");
	field_fails("{\"name\": \"x\", \"type\": \"str\", \"max_len\": 2, \"default\": \"abc\"}",
		    "fields[0].default: too long: 3 bytes, the maximum is 2");
	field_fails("{\"name\": \"x\", \"type\": \"str\", \"max_len\": 2, \"default\": 1}",
		    "fields[0].default: expected a string, not a number");
	field_fails("{\"name\": \"x\", \"type\": \"bool\", \"default\": \"maybe\"}",
		    "fields[0].default: maybe is not true or false");
	field_fails("{\"name\": \"x\", \"type\": \"ipv4\", \"default\": \"1.2.3\"}",
		    "fields[0].default: 1.2.3: not an IPv4 address (four decimal octets, a.b.c.d)");
	field_fails("{\"name\": \"x\", \"type\": \"timestamp\", \"default\": \"tomorrow\"}",
		    "fields[0].default: tomorrow: not a time (YYYY-MM-DDTHH:MM:SSZ, seconds since 1970, now, or +N with a unit s, m, h, d or w)");

	/* 17 strings of 65535 bytes pass the 1 MiB limit of a value. */
	{
		char text[4096];
		size_t n;

		n = (size_t)snprintf(text, sizeof(text),
				     "{\"name\": \"t\", \"key\": {\"type\": \"u32\"}, \"fields\": [");
		for (int i = 0; i < 17; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "%s{\"name\": \"s%d\", \"type\": \"str\", \"max_len\": 65535}",
					      i ? ", " : "", i);
		snprintf(text + n, sizeof(text) - n, "]}");
		parse_fails(text, "fields: a value could take 1114129 bytes, over the limit of 1048576");
	}
}

static void test_schema_accessors(void **state)
{
	struct tdb_schema *s = load("fw4.json");

	assert_string_equal(tdb_schema_name(s), "fw4");
	assert_int_equal(tdb_schema_key_type(s), TDB_KEY_CIDR4);
	assert_string_equal(tdb_schema_key_name(s), "prefix");
	assert_int_equal(tdb_schema_nfields(s), 5);
	assert_string_equal(tdb_schema_field_name(s, 0), "action");
	assert_string_equal(tdb_schema_field_name(s, 4), "comment");
	assert_null(tdb_schema_field_name(s, 5));
	assert_string_equal(tdb_schema_field_type(s, 2), "port_range");
	assert_int_equal(tdb_schema_key_max(s), 5);
	/* bitmap 1, action 1, proto 1, dport 4, priority 2, comment 1+64 */
	assert_int_equal(tdb_schema_value_max(s), 74);
	tdb_schema_free(s);

	s = tdb_schema_bare(TDB_KEY_MAC);
	assert_non_null(s);
	assert_null(tdb_schema_name(s));
	assert_string_equal(tdb_schema_key_name(s), "key");
	assert_int_equal(tdb_schema_nfields(s), 0);
	assert_int_equal(tdb_schema_key_max(s), 6);
	assert_int_equal(tdb_schema_value_max(s), TDB_VAL_MAX);
	tdb_schema_free(s);
	assert_null(tdb_schema_bare(TDB_KEY_TYPE_MAX + 1));
	tdb_schema_free(NULL);

	assert_string_equal(tdb_key_type_name(TDB_KEY_CIDR6), "cidr6");
	assert_null(tdb_key_type_name(99));
	assert_int_equal(tdb_key_type_parse("mac"), TDB_KEY_MAC);
	assert_int_equal(tdb_key_type_parse("int"), -EINVAL);
}

/* Keys. */

static void hex(const void *p, size_t n, char *out)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = 0;
}

/*
 * Parses @text as a key of @s: returns @ret (0 or 1), with the bytes
 * @want_hex, formatted back as @want_text.
 */
static void key_ok(const struct tdb_schema *s, const char *text, int ret,
		   const char *want_hex, const char *want_text)
{
	unsigned char buf[TDB_KEY_MAX];
	char err[256] = "", h[2 * TDB_KEY_MAX + 1], out[256];
	size_t len = 0;
	int r = tdb_key_parse(s, text, buf, sizeof(buf), &len, err, sizeof(err));

	if (r != ret)
		fail_msg("key '%s': %d (%s), want %d", text, r, err, ret);
	hex(buf, len, h);
	if (strcmp(h, want_hex))
		fail_msg("key '%s': bytes %s, want %s", text, h, want_hex);
	r = tdb_key_format(s, buf, len, out, sizeof(out));
	assert_int_equal(r, (int)strlen(want_text));
	if (strcmp(out, want_text))
		fail_msg("key '%s': text '%s', want '%s'", text, out, want_text);
}

static void key_fails(const struct tdb_schema *s, const char *text, int ret,
		      const char *want)
{
	unsigned char buf[TDB_KEY_MAX];
	char err[256] = "";
	size_t len;
	int r = tdb_key_parse(s, text, buf, sizeof(buf), &len, err, sizeof(err));

	if (r != ret || strcmp(err, want))
		fail_msg("key '%s': %d '%s', want %d '%s'", text, r, err, ret,
			 want);
}

static void test_keys_numbers_and_bytes(void **state)
{
	struct tdb_schema *s = tdb_schema_bare(TDB_KEY_U32);
	char out[8];
	size_t len;

	key_ok(s, "0", 0, "00000000", "0");
	key_ok(s, "42", 0, "2a000000", "42");
	key_ok(s, "042", 0, "2a000000", "42");
	key_ok(s, "4294967295", 0, "ffffffff", "4294967295");
	key_fails(s, "4294967296", -EINVAL, "key: 4294967296 is out of range 0..4294967295");
	key_fails(s, "99999999999999999999999", -EINVAL,
		  "key: 99999999999999999999999 is out of range 0..4294967295");
	key_fails(s, "12a", -EINVAL, "key: 12a is not a number");
	key_fails(s, "-1", -EINVAL, "key: -1 is out of range 0..4294967295");
	key_fails(s, " 1", -EINVAL, "key: \" 1\" is not a number");
	key_fails(s, "", -EINVAL, "key: \"\" is not a number");
	assert_int_equal(tdb_key_format(s, "abc", 3, out, sizeof(out)), -EINVAL);
	tdb_schema_free(s);

	s = tdb_schema_bare(TDB_KEY_U64);
	key_ok(s, "18446744073709551615", 0, "ffffffffffffffff",
	       "18446744073709551615");
	key_fails(s, "18446744073709551616", -EINVAL,
		  "key: 18446744073709551616 is out of range 0..18446744073709551615");
	tdb_schema_free(s);

	s = tdb_schema_bare(TDB_KEY_BYTES);
	key_ok(s, "k", 0, "6b", "k");
	key_ok(s, "a b", 0, "612062", "\"a b\"");
	key_ok(s, "x\\y", 0, "785c79", "\"x\\\\y\"");
	key_ok(s, "\xff", 0, "ff", "\"\\xff\"");
	key_ok(s, "caf\xc3\xa9", 0, "636166c3a9", "caf\xc3\xa9");
	key_fails(s, "", -EINVAL, "key: empty (keys are 1 to 1024 bytes)");
	{
		char big[1100];

		memset(big, 'k', 1025);
		big[1025] = 0;
		key_fails(s, big, -E2BIG, "key: too long: 1025 bytes, the maximum is 1024");
		big[1024] = 0;
		assert_int_equal(tdb_key_parse(s, big, out, sizeof(out), &len,
					       NULL, 0),
				 -E2BIG);
	}
	tdb_schema_free(s);

	s = tdb_schema_bare(TDB_KEY_STR);
	key_ok(s, "hello", 0, "68656c6c6f", "hello");
	key_fails(s, "\xff", -EINVAL, "key: not UTF-8 text (a str key)");
	tdb_schema_free(s);
}

static void test_keys_addresses(void **state)
{
	struct tdb_schema *s = tdb_schema_bare(TDB_KEY_IPV4);

	key_ok(s, "0.0.0.0", 0, "00000000", "0.0.0.0");
	key_ok(s, "10.1.2.3", 0, "0a010203", "10.1.2.3");
	key_ok(s, "255.255.255.255", 0, "ffffffff", "255.255.255.255");
	key_fails(s, "256.0.0.1", -EINVAL, "key: 256.0.0.1: octet 256 is over 255");
	key_fails(s, "10.0.0.1000", -EINVAL, "key: 10.0.0.1000: octet 1000 is over 255");
	key_fails(s, "10.01.0.1", -EINVAL, "key: 10.01.0.1: octet 01 has a leading zero");
	key_fails(s, "10.0.0", -EINVAL,
		  "key: 10.0.0: not an IPv4 address (four decimal octets, a.b.c.d)");
	key_fails(s, "10.0.0.1.", -EINVAL,
		  "key: 10.0.0.1.: not an IPv4 address (four decimal octets, a.b.c.d)");
	key_fails(s, "10..0.1", -EINVAL,
		  "key: 10..0.1: not an IPv4 address (four decimal octets, a.b.c.d)");
	key_fails(s, "0x0a.0.0.1", -EINVAL,
		  "key: 0x0a.0.0.1: not an IPv4 address (four decimal octets, a.b.c.d)");
	key_fails(s, "10.0.0.1/32", -EINVAL,
		  "key: 10.0.0.1/32: not an IPv4 address (four decimal octets, a.b.c.d)");
	tdb_schema_free(s);

	s = tdb_schema_bare(TDB_KEY_IPV6);
	key_ok(s, "::", 0, "00000000000000000000000000000000", "::");
	key_ok(s, "2001:DB8::1", 0, "20010db8000000000000000000000001",
	       "2001:db8::1");
	key_ok(s, "::ffff:1.2.3.4", 0, "00000000000000000000ffff01020304",
	       "::ffff:1.2.3.4");
	key_ok(s, "2001:db8:0:0:1:0:0:1", 0, "20010db8000000000001000000000001",
	       "2001:db8::1:0:0:1");
	key_fails(s, "1.2.3.4", -EINVAL, "key: 1.2.3.4: not an IPv6 address");
	key_fails(s, "2001:db8::1%eth0", -EINVAL,
		  "key: 2001:db8::1%eth0: not an IPv6 address");
	key_fails(s, "1:2:3:4:5:6:7:8:9", -EINVAL,
		  "key: 1:2:3:4:5:6:7:8:9: not an IPv6 address");
	tdb_schema_free(s);

	s = tdb_schema_bare(TDB_KEY_MAC);
	key_ok(s, "00:1A:2b:3c:4d:5e", 0, "001a2b3c4d5e", "00:1a:2b:3c:4d:5e");
	key_ok(s, "00-1a-2b-3c-4d-5e", 0, "001a2b3c4d5e", "00:1a:2b:3c:4d:5e");
	key_ok(s, "001a.2b3c.4d5e", 0, "001a2b3c4d5e", "00:1a:2b:3c:4d:5e");
	key_ok(s, "001a2b3c4d5e", 0, "001a2b3c4d5e", "00:1a:2b:3c:4d:5e");
	key_fails(s, "0:1a:2b:3c:4d:5e", -EINVAL,
		  "key: 0:1a:2b:3c:4d:5e: not a MAC address (aa:bb:cc:dd:ee:ff)");
	key_fails(s, "00:1a-2b:3c:4d:5e", -EINVAL,
		  "key: 00:1a-2b:3c:4d:5e: not a MAC address (aa:bb:cc:dd:ee:ff)");
	key_fails(s, "00:1a:2b:3c:4d:5g", -EINVAL,
		  "key: 00:1a:2b:3c:4d:5g: not a MAC address (aa:bb:cc:dd:ee:ff)");
	tdb_schema_free(s);
}

static void test_keys_prefixes(void **state)
{
	struct tdb_schema *s = tdb_schema_bare(TDB_KEY_CIDR4);
	char out[64];

	key_ok(s, "0.0.0.0/0", 0, "0000000000", "0.0.0.0/0");
	key_ok(s, "10.0.0.0/8", 0, "0a00000008", "10.0.0.0/8");
	key_ok(s, "10.1.2.3/32", 0, "0a01020320", "10.1.2.3/32");
	key_ok(s, "10.1.2.3", 0, "0a01020320", "10.1.2.3/32");
	/* Normalised: bits past the length are cleared, and the call says so. */
	key_ok(s, "10.1.2.3/8", 1, "0a00000008", "10.0.0.0/8");
	key_ok(s, "255.255.255.255/0", 1, "0000000000", "0.0.0.0/0");
	key_ok(s, "192.168.255.1/23", 1, "c0a8fe0017", "192.168.254.0/23");
	key_fails(s, "10.0.0.0/33", -EINVAL, "key: 10.0.0.0/33: prefix length over 32");
	key_fails(s, "10.0.0.0/", -EINVAL, "key: 10.0.0.0/: bad prefix length (0 to 32)");
	key_fails(s, "10.0.0.0/08", -EINVAL, "key: 10.0.0.0/08: bad prefix length (0 to 32)");
	key_fails(s, "10.0.0.0/-1", -EINVAL, "key: 10.0.0.0/-1: bad prefix length (0 to 32)");
	key_fails(s, "10.0.0.0/8/8", -EINVAL, "key: 10.0.0.0/8/8: bad prefix length (0 to 32)");
	key_fails(s, "10.0.0.256/8", -EINVAL, "key: 10.0.0.256/8: octet 256 is over 255");
	key_fails(s, "10.0/8", -EINVAL,
		  "key: 10.0/8: not an IPv4 address (four decimal octets, a.b.c.d)");
	/* Stored bytes that are no prefix do not format. */
	assert_int_equal(tdb_key_format(s, "\x0a\0\0\0\x21", 5, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(tdb_key_format(s, "\x0a\0\0\0", 4, out, sizeof(out)),
			 -EINVAL);
	/* A short buffer gets a truncated text and the length it needs. */
	assert_int_equal(tdb_key_format(s, "\x0a\0\0\0\x08", 5, out, 5), 10);
	assert_string_equal(out, "10.0");
	tdb_schema_free(s);

	s = tdb_schema_bare(TDB_KEY_CIDR6);
	key_ok(s, "::/0", 0, "0000000000000000000000000000000000", "::/0");
	key_ok(s, "2001:db8::/32", 0, "20010db800000000000000000000000020",
	       "2001:db8::/32");
	key_ok(s, "2001:db8::1", 0, "20010db800000000000000000000000180",
	       "2001:db8::1/128");
	key_ok(s, "2001:db8:ffff::1/33", 1, "20010db880000000000000000000000021",
	       "2001:db8:8000::/33");
	key_ok(s, "::ffff:1.2.3.4/128", 0, "00000000000000000000ffff0102030480",
	       "::ffff:1.2.3.4/128");
	key_ok(s, "::ffff:1.2.3.4/104", 1, "00000000000000000000ffff0100000068",
	       "::ffff:1.0.0.0/104");
	key_fails(s, "2001:db8::/129", -EINVAL, "key: 2001:db8::/129: prefix length over 128");
	key_fails(s, "2001:db8::/1280", -EINVAL,
		  "key: 2001:db8::/1280: bad prefix length (0 to 128)");
	key_fails(s, "10.0.0.0/8", -EINVAL, "key: 10.0.0.0/8: not an IPv6 address");
	tdb_schema_free(s);
}

static void test_keys_composite(void **state)
{
	struct tdb_schema *s = load("sessions.json");
	char out[128];

	assert_int_equal(tdb_schema_key_type(s), TDB_KEY_BYTES);
	assert_int_equal(tdb_schema_key_max(s), 37);
	/* proto, src (16), sport (BE), dst (16), dport (BE) */
	key_ok(s, "tcp,10.0.0.1,40000,10.0.0.2,80", 0,
	       "06" "00000000000000000000ffff0a000001" "9c40"
	       "00000000000000000000ffff0a000002" "0050",
	       "tcp,10.0.0.1,40000,10.0.0.2,80");
	key_ok(s, "udp,2001:db8::1,53,2001:DB8::2,5353", 0,
	       "11" "20010db8000000000000000000000001" "0035"
	       "20010db8000000000000000000000002" "14e9",
	       "udp,2001:db8::1,53,2001:db8::2,5353");
	/* An IPv4-mapped address is an IPv4 one: shown as such. */
	key_ok(s, "tcp,::ffff:10.0.0.1,1,10.0.0.2,2", 0,
	       "06" "00000000000000000000ffff0a000001" "0001"
	       "00000000000000000000ffff0a000002" "0002",
	       "tcp,10.0.0.1,1,10.0.0.2,2");
	key_fails(s, "tcp,10.0.0.1,40000,10.0.0.2", -EINVAL,
		  "flow: tcp,10.0.0.1,40000,10.0.0.2: needs 5 parts separated by commas (proto,src,sport,dst,dport)");
	key_fails(s, "tcp,10.0.0.1,40000,10.0.0.2,80,", -EINVAL,
		  "flow: tcp,10.0.0.1,40000,10.0.0.2,80,: needs 5 parts separated by commas (proto,src,sport,dst,dport)");
	key_fails(s, "gre,10.0.0.1,1,10.0.0.2,2", -EINVAL,
		  "flow.proto: gre is not one of icmp, tcp, udp, icmpv6, sctp");
	key_fails(s, "tcp,10.0.0.300,1,10.0.0.2,2", -EINVAL,
		  "flow.src: 10.0.0.300: octet 300 is over 255");
	key_fails(s, "tcp,10.0.0.1,65536,10.0.0.2,2", -EINVAL,
		  "flow.sport: 65536 is out of range 0..65535");
	key_fails(s, "tcp,10.0.0.1,1,2001:db8::g,2", -EINVAL,
		  "flow.dst: 2001:db8::g: not an IPv6 address");
	key_fails(s, "tcp,10.0.0.1,1,10.0.0.2,", -EINVAL,
		  "flow.dport: \"\" is not a number");
	/* Bytes that are no 5-tuple of this schema. */
	assert_int_equal(tdb_key_format(s, "\x06", 1, out, sizeof(out)), -EINVAL);
	{
		unsigned char k[38] = { 2 };	/* proto 2: not in the enum */

		assert_int_equal(tdb_key_format(s, k, 37, out, sizeof(out)),
				 -EINVAL);
		k[0] = 6;
		assert_int_equal(tdb_key_format(s, k, 38, out, sizeof(out)),
				 -EINVAL);
		assert_true(tdb_key_format(s, k, 37, out, sizeof(out)) > 0);
		assert_string_equal(out, "tcp,::,0,::,0");
	}
	tdb_schema_free(s);
}

/* Records. */

struct rec {
	unsigned char key[TDB_KEY_MAX];
	unsigned char val[1 << 17];
	struct tdb_record r;
	char err[512];
};

static struct rec *rec_new(void)
{
	struct rec *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->r = (struct tdb_record){ .key = x->key, .key_cap = sizeof(x->key),
				    .val = x->val, .val_cap = sizeof(x->val) };
	return x;
}

/*
 * Encodes "KEY name=value..." (@args: the key, then pairs, NULL-ended)
 * with tdb_record_encode(): its return value, the reason in x->err.
 */
static int encode(const struct tdb_schema *s, struct rec *x, ...)
{
	const char *names[32], *values[32];
	unsigned int n = 0;
	const char *a;
	va_list ap;

	va_start(ap, x);
	names[n] = tdb_schema_key_name(s);
	values[n++] = va_arg(ap, const char *);
	while ((a = va_arg(ap, const char *))) {
		names[n] = a;
		values[n++] = va_arg(ap, const char *);
	}
	va_end(ap);
	x->err[0] = 0;
	return tdb_record_encode(s, names, values, n, &x->r, x->err,
				 sizeof(x->err));
}

/* The record in @x as text (or JSON) must be @want. */
static void format_is(const struct tdb_schema *s, struct rec *x,
		      unsigned int format, const char *want)
{
	char *out = NULL;
	int r = tdb_record_format(s, x->key, x->r.klen, x->val, x->r.vlen,
				  format, &out);

	assert_int_equal(r, 0);
	if (strcmp(out, want))
		fail_msg("record is\n  %s\nwant\n  %s", out, want);
	free(out);
}

static void value_is(struct rec *x, const char *want_hex)
{
	char h[2 * 4096 + 1];

	assert_true(x->r.vlen <= 4096);
	hex(x->val, x->r.vlen, h);
	if (strcmp(h, want_hex))
		fail_msg("value %s, want %s", h, want_hex);
}

/* Collects decoded fields as "name=text;" */
static int collect(void *arg, const char *name, const char *text)
{
	char *buf = arg;

	snprintf(buf + strlen(buf), 1024 - strlen(buf), "%s=%s;", name, text);
	return 0;
}

static int stop_at_second(void *arg, const char *name, const char *text)
{
	int *n = arg;

	return ++*n == 2 ? 42 : 0;
}

static void test_record_fw(void **state)
{
	struct tdb_schema *s = load("fw4.json");
	struct rec *x = rec_new();
	char buf[1024] = "";
	int n = 0;

	/* Defaults fill the fields left out; the comment stays unset. */
	assert_int_equal(encode(s, x, "10.0.0.0/8", NULL), 0);
	value_is(x, "00" "01" "ff" "0000ffff" "6400");
	format_is(s, x, TDB_FORMAT_TEXT,
		  "10.0.0.0/8 action=drop proto=any dport=0-65535 priority=100");
	format_is(s, x, TDB_FORMAT_JSON,
		  "{\"prefix\":\"10.0.0.0/8\",\"action\":\"drop\",\"proto\":\"any\",\"dport\":\"0-65535\",\"priority\":100}");

	/* The example; a prefix with host bits returns 1. */
	assert_int_equal(encode(s, x, "10.1.2.3/8", "action", "drop", "proto",
				"tcp", "dport", "22", NULL),
			 1);
	assert_int_equal(x->r.normalised, 1);
	assert_int_equal(x->r.klen, 5);
	value_is(x, "00" "01" "06" "16001600" "6400");
	format_is(s, x, TDB_FORMAT_TEXT,
		  "10.0.0.0/8 action=drop proto=tcp dport=22 priority=100");

	/* Every field; a comment that needs quotes. */
	assert_int_equal(encode(s, x, "192.168.0.0/16", "action", "accept",
				"dport", "1024-65535", "priority", "7",
				"comment", "say \"hi\"", NULL),
			 0);
	assert_int_equal(x->r.normalised, 0);
	value_is(x, "01" "00" "ff" "0004ffff" "0700" "08" "7361792022686922");
	assert_int_equal(x->r.vlen, 18);
	format_is(s, x, TDB_FORMAT_TEXT,
		  "192.168.0.0/16 action=accept proto=any dport=1024-65535 priority=7 comment=\"say \\\"hi\\\"\"");
	format_is(s, x, TDB_FORMAT_JSON,
		  "{\"prefix\":\"192.168.0.0/16\",\"action\":\"accept\",\"proto\":\"any\",\"dport\":\"1024-65535\",\"priority\":7,\"comment\":\"say \\\"hi\\\"\"}");
	assert_int_equal(tdb_record_decode(s, x->val, x->r.vlen, collect, buf), 0);
	assert_string_equal(buf, "action=accept;proto=any;dport=1024-65535;priority=7;comment=say \"hi\";");
	assert_int_equal(tdb_record_decode(s, x->val, x->r.vlen, stop_at_second, &n),
			 42);
	assert_int_equal(n, 2);

	/* An empty comment is set, and shown as "". */
	assert_int_equal(encode(s, x, "10.0.0.0/8", "comment", "", NULL), 0);
	value_is(x, "01" "01" "ff" "0000ffff" "6400" "00");
	format_is(s, x, TDB_FORMAT_TEXT,
		  "10.0.0.0/8 action=drop proto=any dport=0-65535 priority=100 comment=\"\"");
	assert_int_equal(encode(s, x, "10.0.0.0/8", "comment", "caf\xc3\xa9", NULL),
			 0);
	format_is(s, x, TDB_FORMAT_TEXT,
		  "10.0.0.0/8 action=drop proto=any dport=0-65535 priority=100 comment=caf\xc3\xa9");

	/* IPv6 rules. */
	tdb_schema_free(s);
	s = load("fw6.json");
	assert_int_equal(encode(s, x, "2001:db8::/32", "proto", "icmpv6",
				"action", "reject", NULL),
			 0);
	format_is(s, x, TDB_FORMAT_TEXT,
		  "2001:db8::/32 action=reject proto=icmpv6 dport=0-65535 priority=100");
	tdb_schema_free(s);
	free(x);
}

/* Each error the issue lists, and the others, named by field. */
static void fails(const struct tdb_schema *s, struct rec *x, int ret,
		  const char *want, const char *key, const char *name,
		  const char *value)
{
	int r = name ? encode(s, x, key, name, value, NULL) :
		       encode(s, x, key, NULL);

	if (r != ret || strcmp(x->err, want))
		fail_msg("%s %s=%s: %d '%s'\n  want %d '%s'", key,
			 name ? name : "", value ? value : "", r, x->err, ret,
			 want);
}

static void test_record_errors(void **state)
{
	struct tdb_schema *s = load("fw4.json");
	struct rec *x = rec_new();
	char big[100];
	const char *names[3] = { "prefix", "action", "action" };
	const char *values[3] = { "10.0.0.0/8", "drop", "accept" };

	fails(s, x, -EINVAL, "frob: no such field (fields: action, proto, dport, priority, comment)",
	      "10.0.0.0/8", "frob", "1");
	fails(s, x, -EINVAL, "priority: 70000 is out of range 0..65535",
	      "10.0.0.0/8", "priority", "70000");
	fails(s, x, -EINVAL, "priority: -1 is out of range 0..65535",
	      "10.0.0.0/8", "priority", "-1");
	fails(s, x, -EINVAL, "priority: high is not a number", "10.0.0.0/8",
	      "priority", "high");
	fails(s, x, -EINVAL, "dport: 70000 is out of range 0..65535",
	      "10.0.0.0/8", "dport", "70000");
	fails(s, x, -EINVAL, "dport: 1-70000: 70000 is out of range 0..65535",
	      "10.0.0.0/8", "dport", "1-70000");
	fails(s, x, -EINVAL, "dport: 30-20: the low port is above the high one",
	      "10.0.0.0/8", "dport", "30-20");
	fails(s, x, -EINVAL, "dport: 22-: not a port range (PORT or LOW-HIGH)",
	      "10.0.0.0/8", "dport", "22-");
	fails(s, x, -EINVAL, "dport: ssh: not a port range (PORT or LOW-HIGH)",
	      "10.0.0.0/8", "dport", "ssh");
	fails(s, x, -EINVAL, "action: allow is not one of accept, drop, reject",
	      "10.0.0.0/8", "action", "allow");
	fails(s, x, -EINVAL, "proto: \"\" is not one of icmp, tcp, udp, gre, esp, ah, sctp, any",
	      "10.0.0.0/8", "proto", "");
	fails(s, x, -EINVAL, "prefix: 10.0.0/8: not an IPv4 address (four decimal octets, a.b.c.d)",
	      "10.0.0/8", NULL, NULL);
	fails(s, x, -EINVAL, "prefix: 10.0.0.0/33: prefix length over 32",
	      "10.0.0.0/33", NULL, NULL);
	fails(s, x, -EINVAL, "prefix: 10.0.0.0/x: bad prefix length (0 to 32)",
	      "10.0.0.0/x", NULL, NULL);
	memset(big, 'x', 65);
	big[65] = 0;
	fails(s, x, -EINVAL, "comment: too long: 65 bytes, the maximum is 64",
	      "10.0.0.0/8", "comment", big);
	big[64] = 0;
	assert_int_equal(encode(s, x, "10.0.0.0/8", "comment", big, NULL), 0);
	assert_int_equal(x->r.vlen, tdb_schema_value_max(s));
	fails(s, x, -EINVAL, "comment: not UTF-8 text (or holds a NUL byte)",
	      "10.0.0.0/8", "comment", "\xff");
	/* The key checked before the fields. */
	fails(s, x, -EINVAL, "prefix: 10.0.0.0/33: prefix length over 32",
	      "10.0.0.0/33", "priority", "70000");
	/* A name given twice, and no key. */
	assert_int_equal(tdb_record_encode(s, names, values, 3, &x->r, x->err,
					   sizeof(x->err)),
			 -EINVAL);
	assert_string_equal(x->err, "action: given twice");
	assert_int_equal(tdb_record_encode(s, names + 1, values + 1, 1, &x->r,
					   x->err, sizeof(x->err)),
			 -EINVAL);
	assert_string_equal(x->err, "prefix: missing (the key)");
	/* A buffer too small; a NULL err is fine. */
	x->r.val_cap = 3;
	assert_int_equal(encode(s, x, "10.0.0.0/8", NULL), -E2BIG);
	assert_string_equal(x->err, "dport: needs 4 bytes, the buffer holds 0");
	x->r.key_cap = 4;
	x->r.val_cap = sizeof(x->val);
	assert_int_equal(encode(s, x, "10.0.0.0/8", NULL), -E2BIG);
	assert_string_equal(x->err, "prefix: needs 5 bytes, the buffer holds 4");
	x->r.key_cap = sizeof(x->key);
	assert_int_equal(tdb_record_encode(s, names, values, 3, &x->r, NULL, 0),
			 -EINVAL);
	tdb_schema_free(s);
	free(x);
}

static int count_calls(void *arg, const char *name, const char *text)
{
	++*(int *)arg;
	return 0;
}

/* The value @hexval (fw4) is refused by decode and format alike. */
static void fw_bad(const struct tdb_schema *s, const char *hexval)
{
	unsigned char v[128];
	size_t n = strlen(hexval) / 2;
	char *out = (char *)1;
	int calls = 0;

	for (size_t i = 0; i < n; i++)
		sscanf(hexval + 2 * i, "%2hhx", &v[i]);
	if (tdb_record_decode(s, v, n, count_calls, &calls) != -EINVAL)
		fail_msg("value %s decoded", hexval);
	assert_int_equal(calls, 0);
	assert_int_equal(tdb_record_format(s, "\x0a\0\0\0\x08", 5, v, n,
					   TDB_FORMAT_TEXT, &out),
			 -EINVAL);
	assert_null(out);
}

static void test_record_decode_rejects(void **state)
{
	struct tdb_schema *s = load("fw4.json");
	char *out;

	/* The good one, for reference. */
	assert_int_equal(tdb_record_format(s, "\x0a\0\0\0\x08", 5,
					   "\x00\x01\x06\x16\x00\x16\x00\x64\x00",
					   9, TDB_FORMAT_TEXT, &out),
			 0);
	free(out);
	fw_bad(s, "");				/* empty */
	fw_bad(s, "0001061600160064");		/* a byte short */
	fw_bad(s, "000106160016006400ff");	/* a byte over */
	fw_bad(s, "000306160016006400");	/* action 3: no such name */
	fw_bad(s, "000102160016006400");	/* proto 2: no such name */
	fw_bad(s, "000106170016006400");	/* dport 23-22 */
	fw_bad(s, "020106160016006400");	/* a spare bitmap bit */
	fw_bad(s, "0101061600160064000a616263");	/* comment: 10 of 3 bytes */
	fw_bad(s, "01010616001600640041"
		  "41414141414141414141414141414141414141414141414141414141414141414"
		  "14141414141414141414141414141414141414141414141414141414141414141");
	/* comment of 65 bytes, over max_len */
	fw_bad(s, "01010616001600640001ff");	/* comment not UTF-8 */
	fw_bad(s, "010106160016006400");	/* comment flagged, missing */
	/* A key that does not fit the key type. */
	assert_int_equal(tdb_record_format(s, "\x0a\0\0\0", 4,
					   "\x00\x01\x06\x16\x00\x16\x00\x64\x00",
					   9, TDB_FORMAT_JSON, &out),
			 -EINVAL);
	assert_int_equal(tdb_record_format(s, "\x0a\0\0\0\x08", 5, "", 0, 7, &out),
			 -EINVAL);
	tdb_schema_free(s);
}

static int encode_json(const struct tdb_schema *s, struct rec *x,
		       const char *json)
{
	x->err[0] = 0;
	return tdb_record_encode_json(s, json, strlen(json), &x->r, x->err,
				      sizeof(x->err));
}

static void json_fails(const struct tdb_schema *s, struct rec *x,
		       const char *json, const char *want)
{
	int r = encode_json(s, x, json);

	if (r != -EINVAL || strcmp(x->err, want))
		fail_msg("%s: %d '%s', want '%s'", json, r, x->err, want);
}

static void test_record_json(void **state)
{
	struct tdb_schema *s = load("fw4.json");
	struct rec *x = rec_new();

	assert_int_equal(encode_json(s, x,
				     "{\"prefix\": \"10.9.0.0/8\", \"action\": \"accept\", \"dport\": 443, \"priority\": \"9\", \"comment\": null, \"proto\": null}"),
			 1);
	format_is(s, x, TDB_FORMAT_TEXT,
		  "10.0.0.0/8 action=accept proto=any dport=443 priority=9");
	assert_int_equal(encode_json(s, x,
				     "{\"prefix\": \"10.0.0.0/8\", \"priority\": 1, \"comment\": \"a\\u00e9\"}"),
			 0);
	format_is(s, x, TDB_FORMAT_JSON,
		  "{\"prefix\":\"10.0.0.0/8\",\"action\":\"drop\",\"proto\":\"any\",\"dport\":\"0-65535\",\"priority\":1,\"comment\":\"a\xc3\xa9\"}");

	json_fails(s, x, "{", "line 1, column 1: string or '}' expected near end of file");
	json_fails(s, x, "[1]", "a record is a JSON object");
	json_fails(s, x, "{\"prefix\": \"10.0.0.0/8\", \"prefix\": \"10.0.0.0/8\"}",
		   "line 1, column 33: duplicate object key near '\"prefix\"'");
	json_fails(s, x, "{\"prefix\": 10}", "prefix: expected a string, not a number");
	json_fails(s, x, "{\"prefix\": null}", "prefix: expected a string, not null");
	json_fails(s, x, "{\"priority\": 1}", "prefix: missing (the key)");
	json_fails(s, x, "{\"prefix\": \"10.0.0.0/8\", \"priority\": 1.5}",
		   "priority: expected an integer or a string, not a fraction");
	json_fails(s, x, "{\"prefix\": \"10.0.0.0/8\", \"priority\": 65536}",
		   "priority: 65536 is out of range 0..65535");
	json_fails(s, x, "{\"prefix\": \"10.0.0.0/8\", \"comment\": 5}",
		   "comment: expected a string, not a number");
	json_fails(s, x, "{\"prefix\": \"10.0.0.0/8\", \"action\": true}",
		   "action: expected a string, not a boolean");
	json_fails(s, x, "{\"prefix\": \"10.0.0.0/8\", \"action\": [\"drop\"]}",
		   "action: expected a string, not an array");
	json_fails(s, x, "{\"prefix\": \"10.0.0.0/8\", \"frob\": null}",
		   "frob: no such field (fields: action, proto, dport, priority, comment)");
	json_fails(s, x, "{\"prefix\": \"10.0.0.0/8\", \"comment\": \"a\\u0000b\"}",
		   "comment: not UTF-8 text (or holds a NUL byte)");
	tdb_schema_free(s);
	free(x);
}

static void test_record_sessions(void **state)
{
	struct tdb_schema *s = load("sessions.json");
	struct rec *x = rec_new();
	time_t t0 = time(NULL), t1;
	char buf[1024] = "";
	int64_t created = 0;
	const unsigned char *v;

	assert_int_equal(encode(s, x, "tcp,10.0.0.1,40000,2001:db8::2,443",
				"state", "established", "created",
				"2026-03-01T12:00:00Z", "last_seen",
				"2026-03-01T12:00:05+00:00", "packets",
				"18446744073709551615", "nat", "true", "mark",
				"7", NULL),
			 0);
	assert_int_equal(x->r.klen, 37);
	/* bitmap, state, created, last_seen, packets, bytes, nat, mark */
	assert_int_equal(x->r.vlen, 1 + 1 + 8 + 8 + 8 + 8 + 1 + 4);
	format_is(s, x, TDB_FORMAT_TEXT,
		  "tcp,10.0.0.1,40000,2001:db8::2,443 state=established created=2026-03-01T12:00:00Z last_seen=2026-03-01T12:00:05Z packets=18446744073709551615 bytes=0 nat=true mark=7");
	/* u64 past JSON's integers: a string. */
	format_is(s, x, TDB_FORMAT_JSON,
		  "{\"flow\":\"tcp,10.0.0.1,40000,2001:db8::2,443\",\"state\":\"established\",\"created\":\"2026-03-01T12:00:00Z\",\"last_seen\":\"2026-03-01T12:00:05Z\",\"packets\":\"18446744073709551615\",\"bytes\":0,\"nat\":true,\"mark\":7}");

	/* "now" defaults take the time of the encode. */
	assert_int_equal(encode_json(s, x,
				     "{\"flow\": \"udp,::1,53,::1,9\", \"nat\": false, \"ifname\": \"eth0\"}"),
			 0);
	t1 = time(NULL);
	v = x->val;
	assert_int_equal(v[0], 2);	/* ifname set, mark not */
	for (int i = 0; i < 8; i++)
		created |= (int64_t)v[2 + i] << (8 * i);
	assert_true(created >= t0 && created <= t1);
	assert_int_equal(tdb_record_decode(s, x->val, x->r.vlen, collect, buf), 0);
	assert_non_null(strstr(buf, ";packets=0;bytes=0;nat=false;ifname=eth0;"));
	json_fails(s, x, "{\"flow\": \"udp,::1,53,::1,9\", \"nat\": 1}",
		   "nat: expected true, false or a string, not a number");
	json_fails(s, x, "{\"flow\": \"udp,::1,53,::1\"}",
		   "flow: udp,::1,53,::1: needs 5 parts separated by commas (proto,src,sport,dst,dport)");
	json_fails(s, x, "{\"flow\": \"udp,::1,53,::1,9\", \"ifname\": \"a-very-long-name\"}",
		   "ifname: too long: 16 bytes, the maximum is 15");
	tdb_schema_free(s);
	free(x);
}

static void test_record_timestamps(void **state)
{
	struct tdb_schema *s = load("blocklist.json");
	struct rec *x = rec_new();
	time_t t0 = time(NULL);
	int64_t expires = 0;
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "0", "1970-01-01T00:00:00Z" },
		{ "1700000000", "2023-11-14T22:13:20Z" },
		{ "2030-01-01T00:00:00+01:00", "2029-12-31T23:00:00Z" },
		{ "2030-01-01T00:00:00-00:30", "2030-01-01T00:30:00Z" },
		{ "2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z" },
		{ "2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z" },
		{ "9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z" },
		{ "253402300799", "9999-12-31T23:59:59Z" },
	};
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "253402300800", "expires: 253402300800: out of range (1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z)" },
		{ "1969-12-31T23:59:59Z", "expires: 1969-12-31T23:59:59Z: out of range (1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z)" },
		{ "2023-02-29T00:00:00Z", "expires: 2023-02-29T00:00:00Z: no such date" },
		{ "1900-02-29T00:00:00Z", "expires: 1900-02-29T00:00:00Z: no such date" },
		{ "2024-04-31T00:00:00Z", "expires: 2024-04-31T00:00:00Z: no such date" },
		{ "2024-13-01T00:00:00Z", "expires: 2024-13-01T00:00:00Z: not a time (YYYY-MM-DDTHH:MM:SSZ, seconds since 1970, now, or +N with a unit s, m, h, d or w)" },
		{ "2024-01-01T24:00:00Z", "expires: 2024-01-01T24:00:00Z: not a time (YYYY-MM-DDTHH:MM:SSZ, seconds since 1970, now, or +N with a unit s, m, h, d or w)" },
		{ "2024-01-01 00:00:00Z", "expires: \"2024-01-01 00:00:00Z\": not a time (YYYY-MM-DDTHH:MM:SSZ, seconds since 1970, now, or +N with a unit s, m, h, d or w)" },
		{ "2024-01-01T00:00:00", "expires: 2024-01-01T00:00:00: not a time (YYYY-MM-DDTHH:MM:SSZ, seconds since 1970, now, or +N with a unit s, m, h, d or w)" },
		{ "-1", "expires: -1: not a time (YYYY-MM-DDTHH:MM:SSZ, seconds since 1970, now, or +N with a unit s, m, h, d or w)" },
		{ "+", "expires: +: not a time (YYYY-MM-DDTHH:MM:SSZ, seconds since 1970, now, or +N with a unit s, m, h, d or w)" },
		{ "+1y", "expires: +1y: not a time (YYYY-MM-DDTHH:MM:SSZ, seconds since 1970, now, or +N with a unit s, m, h, d or w)" },
		{ "+99999999999w", "expires: +99999999999w: out of range (1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z)" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		char want[128], *out;

		assert_int_equal(encode(s, x, "1.2.3.4", "expires", ok[i].in,
					"added", "0", NULL),
				 0);
		snprintf(want, sizeof(want),
			 "1.2.3.4/32 expires=%s added=1970-01-01T00:00:00Z source=manual hits=0",
			 ok[i].out);
		assert_int_equal(tdb_record_format(s, x->key, x->r.klen, x->val,
						   x->r.vlen, TDB_FORMAT_TEXT,
						   &out),
				 0);
		if (strcmp(out, want))
			fail_msg("%s: %s, want %s", ok[i].in, out, want);
		free(out);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		fails(s, x, -EINVAL, bad[i].err, "1.2.3.4", "expires", bad[i].in);

	/* Relative times, and the default "+1h". */
	assert_int_equal(encode(s, x, "1.2.3.4", "expires", "+2d", NULL), 0);
	for (int i = 0; i < 8; i++)
		expires |= (int64_t)x->val[1 + i] << (8 * i);
	assert_true(expires >= t0 + 2 * 86400 && expires <= time(NULL) + 2 * 86400);
	assert_int_equal(encode(s, x, "1.2.3.4", "reason", "brute force", NULL), 0);
	expires = 0;
	for (int i = 0; i < 8; i++)
		expires |= (int64_t)x->val[1 + i] << (8 * i);
	assert_true(expires >= t0 + 3600 && expires <= time(NULL) + 3600);
	/* A timestamp past 9999 in the bytes is refused. */
	memset(x->val + 1, 0xff, 8);
	assert_int_equal(tdb_record_decode(s, x->val, x->r.vlen, count_calls,
					   &(int){ 0 }),
			 -EINVAL);
	tdb_schema_free(s);
	free(x);
}

/* Every field type in one schema, with bounds. */
static const char all_types[] =
	"{\"name\": \"all\", \"key\": {\"name\": \"id\", \"type\": \"u64\"},\n"
	" \"fields\": [\n"
	"  {\"name\": \"a\", \"type\": \"u8\", \"min\": 10, \"max\": 20, \"default\": 10},\n"
	"  {\"name\": \"b\", \"type\": \"u16\", \"optional\": true},\n"
	"  {\"name\": \"c\", \"type\": \"u32\", \"optional\": true},\n"
	"  {\"name\": \"d\", \"type\": \"u64\", \"max\": \"18446744073709551615\", \"optional\": true},\n"
	"  {\"name\": \"e\", \"type\": \"i8\", \"optional\": true},\n"
	"  {\"name\": \"f\", \"type\": \"i16\", \"min\": -5, \"max\": \"5\", \"optional\": true},\n"
	"  {\"name\": \"g\", \"type\": \"i32\", \"optional\": true},\n"
	"  {\"name\": \"h\", \"type\": \"i64\", \"optional\": true},\n"
	"  {\"name\": \"i\", \"type\": \"bool\", \"optional\": true},\n"
	"  {\"name\": \"j\", \"type\": \"ipv4\", \"optional\": true},\n"
	"  {\"name\": \"k\", \"type\": \"ipv6\", \"optional\": true},\n"
	"  {\"name\": \"l\", \"type\": \"ip\", \"optional\": true},\n"
	"  {\"name\": \"m\", \"type\": \"mac\", \"optional\": true},\n"
	"  {\"name\": \"n\", \"type\": \"port\", \"min\": 1, \"optional\": true},\n"
	"  {\"name\": \"o\", \"type\": \"str\", \"max_len\": 300, \"optional\": true},\n"
	"  {\"name\": \"r\", \"type\": \"enum\", \"values\": [\"x\", \"y\"]}\n"
	" ]}";

static void test_record_types(void **state)
{
	struct tdb_schema *s = parse_ok(all_types);
	struct rec *x = rec_new();
	char big[301];

	/* 14 optional fields: a 2-byte bitmap. */
	assert_int_equal(encode(s, x, "5", "r", "y", NULL), 0);
	value_is(x, "0000" "0a" "01");
	format_is(s, x, TDB_FORMAT_TEXT, "5 a=10 r=y");
	format_is(s, x, TDB_FORMAT_JSON, "{\"id\":5,\"a\":10,\"r\":\"y\"}");
	assert_int_equal(encode(s, x, "18446744073709551615", "a", "20", "b",
				"65535", "c", "4294967295", "d",
				"18446744073709551615", "e", "-128", "f", "-5",
				"g", "-2147483648", "h", "-9223372036854775808",
				"i", "1", "j", "192.0.2.1", "k", "2001:db8::1",
				"l", "192.0.2.2", "m", "aa-bb-cc-dd-ee-ff", "n",
				"443", "o", "two words", "r", "x", NULL),
			 0);
	format_is(s, x, TDB_FORMAT_TEXT,
		  "18446744073709551615 a=20 b=65535 c=4294967295 d=18446744073709551615 e=-128 f=-5 g=-2147483648 h=-9223372036854775808 i=true j=192.0.2.1 k=2001:db8::1 l=192.0.2.2 m=aa:bb:cc:dd:ee:ff n=443 o=\"two words\" r=x");
	format_is(s, x, TDB_FORMAT_JSON,
		  "{\"id\":\"18446744073709551615\",\"a\":20,\"b\":65535,\"c\":4294967295,\"d\":\"18446744073709551615\",\"e\":-128,\"f\":-5,\"g\":-2147483648,\"h\":-9223372036854775808,\"i\":true,\"j\":\"192.0.2.1\",\"k\":\"2001:db8::1\",\"l\":\"192.0.2.2\",\"m\":\"aa:bb:cc:dd:ee:ff\",\"n\":443,\"o\":\"two words\",\"r\":\"x\"}");
	assert_int_equal(encode(s, x, "1", "e", "127", "g", "2147483647", "h",
				"9223372036854775807", "i", "false", "l",
				"::1", "r", "x", NULL),
			 0);
	format_is(s, x, TDB_FORMAT_TEXT,
		  "1 a=10 e=127 g=2147483647 h=9223372036854775807 i=false l=::1 r=x");

	fails(s, x, -EINVAL, "r: missing (the field has no default)", "1", NULL,
	      NULL);
	fails(s, x, -EINVAL, "a: 9 is out of range 10..20", "1", "a", "9");
	fails(s, x, -EINVAL, "a: 21 is out of range 10..20", "1", "a", "21");
	fails(s, x, -EINVAL, "e: -129 is out of range -128..127", "1", "e", "-129");
	fails(s, x, -EINVAL, "f: 6 is out of range -5..5", "1", "f", "6");
	fails(s, x, -EINVAL, "h: -9223372036854775809 is out of range -9223372036854775808..9223372036854775807",
	      "1", "h", "-9223372036854775809");
	fails(s, x, -EINVAL, "h: 9223372036854775808 is out of range -9223372036854775808..9223372036854775807",
	      "1", "h", "9223372036854775808");
	fails(s, x, -EINVAL, "h: - is not a number", "1", "h", "-");
	fails(s, x, -EINVAL, "i: yes is not true or false", "1", "i", "yes");
	fails(s, x, -EINVAL, "j: ::1: not an IPv4 address (four decimal octets, a.b.c.d)",
	      "1", "j", "::1");
	fails(s, x, -EINVAL, "l: 1.2.3: not an IPv4 address (four decimal octets, a.b.c.d)",
	      "1", "l", "1.2.3");
	fails(s, x, -EINVAL, "m: aa:bb: not a MAC address (aa:bb:cc:dd:ee:ff)",
	      "1", "m", "aa:bb");
	fails(s, x, -EINVAL, "n: 0 is out of range 1..65535", "1", "n", "0");
	fails(s, x, -EINVAL, "id: 1.5 is not a number", "1.5", NULL, NULL);

	/* A str over 255 bytes has a 2-byte length. */
	memset(big, 'z', 300);
	big[300] = 0;
	assert_int_equal(encode(s, x, "1", "o", big, "r", "x", NULL), 0);
	assert_int_equal(x->r.vlen, 2 + 1 + 2 + 300 + 1);
	assert_int_equal(x->val[0], 0);
	assert_int_equal(x->val[1], 0x20);	/* o is optional field 13 */
	assert_int_equal(x->val[3], 300 & 0xff);
	assert_int_equal(x->val[4], 300 >> 8);

	/* Bytes out of bounds are refused. */
	assert_int_equal(encode(s, x, "1", "r", "x", NULL), 0);
	x->val[2] = 21;
	assert_int_equal(tdb_record_decode(s, x->val, x->r.vlen, count_calls,
					   &(int){ 0 }),
			 -EINVAL);
	x->val[2] = 10;
	x->val[3] = 2;		/* enum r: x and y are 0 and 1 */
	assert_int_equal(tdb_record_decode(s, x->val, x->r.vlen, count_calls,
					   &(int){ 0 }),
			 -EINVAL);
	x->val[3] = 1;
	x->val[1] = 0x40;	/* bit 14: no such optional field */
	assert_int_equal(tdb_record_decode(s, x->val, x->r.vlen, count_calls,
					   &(int){ 0 }),
			 -EINVAL);
	/* f present with 6: past its max. */
	assert_int_equal(encode(s, x, "1", "f", "5", "r", "x", NULL), 0);
	x->val[3] = 6;
	assert_int_equal(tdb_record_decode(s, x->val, x->r.vlen, count_calls,
					   &(int){ 0 }),
			 -EINVAL);
	/* i (bool) of 2. */
	assert_int_equal(encode(s, x, "1", "i", "true", "r", "x", NULL), 0);
	x->val[3] = 2;
	assert_int_equal(tdb_record_decode(s, x->val, x->r.vlen, count_calls,
					   &(int){ 0 }),
			 -EINVAL);
	tdb_schema_free(s);
	free(x);
}

static void test_record_bare(void **state)
{
	struct tdb_schema *s = tdb_schema_bare(TDB_KEY_BYTES);
	struct rec *x = rec_new();
	char buf[1024] = "";
	int calls = 0;

	assert_int_equal(encode(s, x, "k", "value", "hello world", NULL), 0);
	assert_int_equal(x->r.vlen, 11);
	format_is(s, x, TDB_FORMAT_TEXT, "k value=\"hello world\"");
	format_is(s, x, TDB_FORMAT_JSON, "{\"key\":\"k\",\"value\":\"hello world\"}");
	assert_int_equal(encode(s, x, "k", NULL), 0);
	assert_int_equal(x->r.vlen, 0);
	format_is(s, x, TDB_FORMAT_TEXT, "k");
	format_is(s, x, TDB_FORMAT_JSON, "{\"key\":\"k\"}");
	assert_int_equal(tdb_record_decode(s, x->val, 0, count_calls, &calls), 0);
	assert_int_equal(calls, 0);
	assert_int_equal(tdb_record_decode(s, "a\\\xff", 3, collect, buf), 0);
	assert_string_equal(buf, "value=a\\\\\\xff;");
	fails(s, x, -EINVAL, "action: no such field (a table without a schema has only \"value\")",
	      "k", "action", "drop");
	assert_int_equal(encode_json(s, x, "{\"key\": \"\\u0000k\", \"value\": \"v\"}"), 0);
	assert_int_equal(x->r.klen, 2);
	tdb_schema_free(s);

	/* Sets: prefixes with empty values, normalised. */
	s = tdb_schema_bare(TDB_KEY_CIDR4);
	assert_int_equal(encode(s, x, "10.1.2.3/8", NULL), 1);
	assert_int_equal(x->r.vlen, 0);
	format_is(s, x, TDB_FORMAT_TEXT, "10.0.0.0/8");
	tdb_schema_free(s);

	/* u32 keys are JSON numbers; bytes not UTF-8 become NAME_hex. */
	s = tdb_schema_bare(TDB_KEY_U32);
	assert_int_equal(encode_json(s, x, "{\"key\": 42, \"value\": \"v\"}"), 0);
	format_is(s, x, TDB_FORMAT_JSON, "{\"key\":42,\"value\":\"v\"}");
	x->val[0] = 0xff;
	format_is(s, x, TDB_FORMAT_JSON, "{\"key\":42,\"value_hex\":\"ff\"}");
	format_is(s, x, TDB_FORMAT_TEXT, "42 value=\"\\xff\"");
	json_fails(s, x, "{\"key\": -1}", "key: -1 is out of range 0..4294967295");
	tdb_schema_free(s);
	free(x);
}

static void test_shipped_schemas(void **state)
{
	static const char *const names[] = { "fw4.json", "fw6.json",
					     "sessions.json", "blocklist.json" };
	static const uint32_t types[] = { TDB_KEY_CIDR4, TDB_KEY_CIDR6,
					  TDB_KEY_BYTES, TDB_KEY_CIDR4 };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct tdb_schema *s = load(names[i]);
		char want[64];

		snprintf(want, sizeof(want), "%s", names[i]);
		*strchr(want, '.') = 0;
		assert_string_equal(tdb_schema_name(s), want);
		assert_int_equal(tdb_schema_key_type(s), types[i]);
		/* Compact: a rule is ~10-20 bytes, a session under 64. */
		assert_true(tdb_schema_value_max(s) <= 160);
		tdb_schema_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_errors),
		cmocka_unit_test(test_schema_accessors),
		cmocka_unit_test(test_keys_numbers_and_bytes),
		cmocka_unit_test(test_keys_addresses),
		cmocka_unit_test(test_keys_prefixes),
		cmocka_unit_test(test_keys_composite),
		cmocka_unit_test(test_record_fw),
		cmocka_unit_test(test_record_errors),
		cmocka_unit_test(test_record_decode_rejects),
		cmocka_unit_test(test_record_json),
		cmocka_unit_test(test_record_sessions),
		cmocka_unit_test(test_record_timestamps),
		cmocka_unit_test(test_record_types),
		cmocka_unit_test(test_record_bare),
		cmocka_unit_test(test_shipped_schemas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
