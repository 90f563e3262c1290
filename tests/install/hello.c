// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * hello.c - the program tests/install/run.sh builds against an installed
 * libtdb through pkg-config, once with the shared library and once with
 * libtdb.a: it connects to the owner that TDB_SOCKET names, creates TABLE
 * when it is missing, puts KEY with VALUE, gets it back and checks it.
 *
 * Usage: hello TABLE KEY VALUE.  Prints "TABLE/KEY = VALUE" and exits 0,
 * or says what went wrong and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tdb/schema.h>
#include <tdb/tdb.h>

int main(int argc, char **argv)
{
	const char *table, *key, *val, *type;
	struct tdb_table_info info;
	char buf[256];
	size_t klen, vlen, got;
	struct tdb *db;
	int err;

	if (argc != 4) {
		fprintf(stderr, "usage: hello TABLE KEY VALUE\n");
		return 1;
	}
	table = argv[1];
	key = argv[2];
	val = argv[3];
	klen = strlen(key);
	vlen = strlen(val);

	err = tdb_connect(NULL, &db);
	if (err) {
		fprintf(stderr, "hello: cannot connect to '%s': %s\n",
			tdb_owner_path(NULL), tdb_strerror(err));
		return 1;
	}
	err = tdb_create(db, table, NULL);
	if (err && err != -EEXIST) {
		fprintf(stderr, "hello: create %s: %s\n", table,
			tdb_strerror(err));
		goto fail;
	}
	err = tdb_put(db, table, key, klen, val, vlen, 0);
	if (err) {
		fprintf(stderr, "hello: put %s/%s: %s\n", table, key,
			tdb_strerror(err));
		goto fail;
	}
	err = tdb_get(db, table, key, klen, buf, sizeof(buf), &got);
	if (err) {
		fprintf(stderr, "hello: get %s/%s: %s\n", table, key,
			tdb_strerror(err));
		goto fail;
	}
	if (got != vlen || memcmp(buf, val, vlen)) {
		fprintf(stderr, "hello: get %s/%s returned %zu bytes '%.*s', not the %zu bytes '%s' put\n",
			table, key, got, (int)(got < sizeof(buf) ? got : sizeof(buf)),
			buf, vlen, val);
		goto fail;
	}
	/* The typed-record half of the library links too (schema.h). */
	err = tdb_info(db, table, &info);
	if (err) {
		fprintf(stderr, "hello: info %s: %s\n", table,
			tdb_strerror(err));
		goto fail;
	}
	type = tdb_key_type_name(info.key_type);
	if (!type || strcmp(type, "bytes")) {
		fprintf(stderr, "hello: table %s has key type %s, not bytes\n",
			table, type ? type : "(unknown)");
		goto fail;
	}
	printf("%s/%s = %.*s\n", table, key, (int)got, buf);
	tdb_close(db);
	return 0;
fail:
	tdb_close(db);
	return 1;
}
