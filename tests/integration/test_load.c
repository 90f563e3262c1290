// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Bulk load, atomic replace and longest-prefix match, through `tdbcli load`
 * and tdb_load_*(), checked against a brute-force reference (prefixes.h).
 *
 * Rule sets are generated (seeded): distinct IPv4 prefixes of lengths 0..32
 * skewed as real tables are, a quarter nested in others.  Records use the
 * firewall schema schema/fw4.json (key "prefix", fields action, proto,
 * dport, priority, comment), stored with the table; every field's text is
 * derived from the rule's (tag, prefix), and the expected value is that
 * text encoded by tdb_record_encode() with the table's schema.  Without
 * schema/fw4.json the test uses a firewall schema of its own (fw4_fallback).
 * Lookups are checked against ref_lookup() (prefixes.h): the prefix found
 * (or -ENOENT), and the value's bytes.
 *
 *  formats        a 200,000-rule set written as CSV, JSON Lines and `ipset
 *                 save` output (keys only, into a bare cidr4 table, without
 *                 the default route that ipset cannot hold), each loaded by
 *                 `tdbcli load` into a new table: the record count, the
 *                 stored schema, and 20,000 random addresses plus the edges
 *                 of 2,000 prefixes (first, last, one before, one past),
 *                 looked up in batches and one by one.
 *  replace        4 reader processes (2 with tdb_lookup, 2 with batches of
 *                 32 tdb_batch_lookup) look up probe addresses whose answer
 *                 differs between two rule sets A and B, while the table is
 *                 replaced TDB_LOAD_ROUNDS times (20, 10 under ASan),
 *                 alternating B and A, by `tdbcli load --replace` and by
 *                 tdb_load_*() with TDB_LOAD_REPLACE.  Every answer must be A's or B's; an
 *                 answer whose lookup ran wholly between two replaces (a
 *                 shared sequence counter, seqlock-style) must be the
 *                 current set's; and every reader must have seen both sets.
 *  rollback       loads of 160,000 records whose line 150,001 is
 *                 malformed (CSV, JSON Lines, ipset; with and without
 *                 --replace): exit status 2, "FILE:150001:" on stderr, and
 *                 the table exactly as before (count, every record by a
 *                 scan, sampled lookups), no new table listed.
 *  kill_client    (a private tdbd) `tdbcli load` of a big file, with and
 *                 without --replace, SIGKILLed once tdb_stats() shows the
 *                 staging table grown by 4 MiB: within a bounded wait the
 *                 owner's mem_bytes is back to its figure before the load,
 *                 the table's info is unchanged, no staging table is
 *                 listed, and the table holds exactly its old records.
 *  durable        (a private tdbd) loads into a sync table: after `tdbcli
 *                 load` returns, SIGKILL tdbd and restart: every record is
 *                 there (scan).  Then tdbd is SIGKILLed during loads, with
 *                 and without --replace, once tdb_stats() shows 30%, 60%,
 *                 97% or 99.5% of the new set staged, and right after
 *                 loads returned: after the restart the table holds exactly
 *                 the old set, or the new one (replace) or the old upserted
 *                 with the new (without), and must hold the new one when
 *                 tdbcli had exited 0; no staging table is listed.
 *
 * Environment: TDB_LOAD_TESTS=PATTERN runs only the matching tests;
 * TDB_LOAD_ROUNDS (replace rounds) and TDB_LOAD_KILLS (kill points of
 * durable, default 6, 4 under ASan); TDB_LOAD_SCHEMA names the fw4 schema file
 * (default: schema/fw4.json in the working directory or above the test
 * binary); TDB_KEEP=1 keeps the temporary files.  TDB_SOCKET is the shared
 * owner (run.sh); TDB_TDBD and TDB_TDBCLI name the binaries under test.
 * Every wait is bounded; a per-test watchdog kills what the test started.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>

#include <tdb/schema.h>

#include "owner.h"
#include "prefixes.h"


#define N_RULES 200000 /* the formats set */
#define N_DUR 100000 /* durable: rules of each set */
#define N_RAND 20000 /* random probe addresses */
#define N_EDGE 2000 /* prefixes whose edges are probed */
#define N_REPL 50000 /* replace: rules of set A */
#define N_BASE 50000 /* rollback, kill_client: the table before */
#define N_BAD 160000 /* rollback: records of the bad file */
#define BAD_LINE 150001 /* rollback: the malformed line */
#define N_BIG 400000 /* kill_client: the big file */
#define MAX_FIELDS 16
#define TEXT_MAX 256 /* one field's text */
#define MAX_KIDS 8
#define MAX_PROBLEMS 8

static unsigned int env_uint(const char *name, unsigned int dflt)
{
	const char *s = getenv(name);

	return s && *s ? (unsigned int)strtoul(s, NULL, 0) : dflt;
}

/* ---- problems, the watchdog, per-test state ------------------------------ */

static int nproblems;

static void __attribute__((format(printf, 1, 2))) problem(const char *fmt, ...)
{
	va_list ap;

	if (nproblems++ >= MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	fputs("  problem: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

struct lstate {
	struct owner o; /* a private owner, when the test has one */
	int has_owner;
	pid_t kids[MAX_KIDS]; /* readers, tdbcli runs */
};

static struct lstate *cur;

static void kid_add(pid_t pid)
{
	int i;

	for (i = 0; cur && i < MAX_KIDS; i++)
		if (cur->kids[i] <= 0) {
			cur->kids[i] = pid;
			return;
		}
}

static void kid_del(pid_t pid)
{
	int i;

	for (i = 0; cur && i < MAX_KIDS; i++)
		if (cur->kids[i] == pid)
			cur->kids[i] = 0;
}

static void watchdog(int sig)
{
	static const char msg[] =
		"\ntest_load: watchdog: the test hangs; killing what it started\n";
	int i;

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do */
	}
	if (!cur)
		_exit(1);
	if (cur->has_owner && cur->o.pid > 0)
		kill(cur->o.pid, SIGKILL);
	for (i = 0; i < MAX_KIDS; i++)
		if (cur->kids[i] > 0)
			kill(cur->kids[i], SIGKILL);
	alarm(10);
	signal(SIGALRM, SIG_DFL);
}

/* The directory for this run's files (made by the group setup). */
static char g_dir[PATH_MAX];

static int setup(void **state)
{
	struct lstate *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	cur = s;
	nproblems = 0;
	signal(SIGALRM, watchdog);
	alarm(UNDER_SAN ? 400 : 150);
	*state = s;
	return 0;
}


static int teardown(void **state)
{
	struct lstate *s = *state;
	int i;

	alarm(0);
	close_all_dbs();
	for (i = 0; i < MAX_KIDS; i++)
		if (s->kids[i] > 0) {
			kill(s->kids[i], SIGKILL);
			waitpid(s->kids[i], NULL, 0);
		}
	if (s->has_owner)
		owner_fini(&s->o);
	cur = NULL;
	free(s);
	return 0;
}

/* A connection to the shared owner (TDB_SOCKET). */
static struct tdb *connect_shared(void)
{
	struct tdb *db;
	int rc = h_connect(&db);

	if (rc)
		fail_msg("connect to %s: %s (is TDB_SOCKET set? run through "
			 "run.sh)",
			 h_socket_path(), tdb_strerror(rc));
	return track_db(db);
}

/* ---- the record schema --------------------------------------------------- */

/* How the test writes a field; FG_OTHER fields are not compared decoded. */
enum { FG_UINT, FG_INT, FG_BOOL, FG_STR, FG_ENUM, FG_IPV4, FG_PORTS, FG_OTHER };

struct fieldgen {
	char name[64];
	int kind;
	uint64_t umin, umax; /* FG_UINT */
	int64_t imin, imax; /* FG_INT */
	const char *enums[64]; /* FG_ENUM (pointers into the json) */
	unsigned int nenum;
	unsigned int maxlen; /* FG_STR: 0 for no limit */
	char other[16]; /* FG_OTHER: the type */
};

struct rschema {
	char *text; /* stored with the table; NULL: a bare table */
	size_t len;
	json_t *json;
	struct tdb_schema *s;
	const char *keyname;
	unsigned int nf;
	struct fieldgen f[MAX_FIELDS];
	int bare_empty; /* bare, values empty (ipset) */
};

static struct rschema g_fw; /* fw4, or the test's own firewall schema */
static struct rschema g_keys; /* bare cidr4, empty values */

static const char *find_schema(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("TDB_LOAD_SCHEMA");
	char self[PATH_MAX], *slash;
	ssize_t n;
	int i;

	if (env && *env)
		return access(env, R_OK) == 0 ? env : NULL;
	if (access("schema/fw4.json", R_OK) == 0)
		return "schema/fw4.json";
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	for (i = 0; i < 6; i++) {
		slash = strrchr(self, '/');
		if (!slash)
			return NULL;
		*slash = '\0';
		o_fmt(path, sizeof(path), "%s/schema/fw4.json", self);
		if (access(path, R_OK) == 0)
			return path;
	}
	return NULL;
}

static uint64_t json_u(json_t *o, const char *k, uint64_t dflt)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : dflt;
}

/* How to generate the text of one field, from its schema member. */
static int fieldgen_of(json_t *f, struct fieldgen *g, char *err, size_t cap)
{
	const char *name = json_string_value(json_object_get(f, "name"));
	const char *type = json_string_value(json_object_get(f, "type"));
	json_t *vals, *v;
	const char *key;
	size_t i;
	int bits;

	memset(g, 0, sizeof(*g));
	if (!name || !type) {
		snprintf(err, cap, "a field without name or type");
		return -1;
	}
	o_fmt(g->name, sizeof(g->name), "%s", name);
	if (!strcmp(type, "port")) {
		g->kind = FG_UINT;
		g->umin = json_u(f, "min", 0);
		g->umax = json_u(f, "max", 65535);
	} else if (sscanf(type, "u%d", &bits) == 1 &&
		   (bits == 8 || bits == 16 || bits == 32 || bits == 64)) {
		g->kind = FG_UINT;
		g->umax = bits == 64 ? UINT64_MAX : (1ULL << bits) - 1;
		g->umin = json_u(f, "min", 0);
		g->umax = json_u(f, "max", g->umax);
	} else if (sscanf(type, "i%d", &bits) == 1 &&
		   (bits == 8 || bits == 16 || bits == 32 || bits == 64)) {
		g->kind = FG_INT;
		g->imax = bits == 64 ? INT64_MAX : (1LL << (bits - 1)) - 1;
		g->imin = -g->imax - 1;
		g->imin = (int64_t)json_u(f, "min", (uint64_t)g->imin);
		g->imax = (int64_t)json_u(f, "max", (uint64_t)g->imax);
	} else if (!strcmp(type, "bool")) {
		g->kind = FG_BOOL;
	} else if (!strcmp(type, "str")) {
		g->kind = FG_STR;
		g->maxlen = (unsigned int)json_u(f, "max_len", 0);
	} else if (!strcmp(type, "enum")) {
		g->kind = FG_ENUM;
		vals = json_object_get(f, "values");
		if (json_is_array(vals)) {
			json_array_foreach(vals, i, v) if (json_is_string(v) &&
							   g->nenum < 64)
				g->enums[g->nenum++] = json_string_value(v);
		} else if (json_is_object(vals)) {
			json_object_foreach(vals, key, v) if (g->nenum < 64)
				g->enums[g->nenum++] = key;
		}
		if (!g->nenum) {
			snprintf(err, cap, "%s: an enum without values", name);
			return -1;
		}
	} else if (!strcmp(type, "ipv4")) {
		g->kind = FG_IPV4;
	} else if (!strcmp(type, "port_range")) {
		g->kind = FG_PORTS;
	} else if (!strcmp(type, "ipv6") || !strcmp(type, "ip") ||
		   !strcmp(type, "mac") || !strcmp(type, "timestamp")) {
		g->kind = FG_OTHER;
		o_fmt(g->other, sizeof(g->other), "%s", type);
	} else {
		snprintf(err, cap, "%s: type \"%s\" unknown to the test", name,
			 type);
		return -1;
	}
	return 0;
}

/*
 * The test's own firewall schema, for when schema/fw4.json is not there:
 * the same key and fields as the issue describes.
 */
static const char fw4_fallback[] =
	"{\n"
	"  \"name\": \"fw4_test\",\n"
	"  \"description\": \"test_load's firewall rules\",\n"
	"  \"key\": { \"name\": \"prefix\", \"type\": \"cidr4\" },\n"
	"  \"fields\": [\n"
	"    { \"name\": \"action\", \"type\": \"enum\",\n"
	"      \"values\": [\"accept\", \"drop\", \"reject\", \"log\"] },\n"
	"    { \"name\": \"proto\", \"type\": \"enum\",\n"
	"      \"values\": {\"any\": 0, \"icmp\": 1, \"tcp\": 6, \"udp\": 17} },\n"
	"    { \"name\": \"dport\", \"type\": \"port_range\" },\n"
	"    { \"name\": \"priority\", \"type\": \"u32\" },\n"
	"    { \"name\": \"comment\", \"type\": \"str\", \"max_len\": 64 }\n"
	"  ]\n"
	"}\n";

/* Reads schema/fw4.json, or takes the test's own firewall schema. */
static void rschema_load(struct rschema *rs)
{
	const char *path = find_schema();
	json_error_t je;
	json_t *fields;
	char err[256];
	size_t i;
	int rc;

	memset(rs, 0, sizeof(*rs));
	if (path) {
		rs->text = owner_read_file(path);
		if (!rs->text)
			fail_msg("cannot read %s", path);
	} else {
		print_message("schema/fw4.json not found: the test's own "
			      "firewall schema instead\n");
		path = "(the test's own schema)";
		rs->text = strdup(fw4_fallback);
		assert_non_null(rs->text);
	}
	rs->len = strlen(rs->text);
	rc = tdb_schema_parse(rs->text, rs->len, &rs->s, err, sizeof(err));
	if (rc)
		fail_msg("%s: tdb_schema_parse: %s (%s)", path,
			 tdb_strerror(rc), err);
	if (tdb_schema_key_type(rs->s) != TDB_KEY_CIDR4)
		fail_msg("%s: key type %u, not cidr4", path,
			 tdb_schema_key_type(rs->s));
	rs->keyname = tdb_schema_key_name(rs->s);
	rs->json = json_loadb(rs->text, rs->len, 0, &je);
	if (!rs->json)
		fail_msg("%s: %s (line %d)", path, je.text, je.line);
	fields = json_object_get(rs->json, "fields");
	if (!json_is_array(fields))
		fail_msg("%s: no \"fields\" array", path);
	rs->nf = tdb_schema_nfields(rs->s);
	if (rs->nf != json_array_size(fields) || rs->nf > MAX_FIELDS)
		fail_msg("%s: %u fields by the codec, %zu in the file", path,
			 rs->nf, json_array_size(fields));
	for (i = 0; i < rs->nf; i++) {
		if (fieldgen_of(json_array_get(fields, i), &rs->f[i], err,
				sizeof(err)))
			fail_msg("%s: fields[%zu]: %s", path, i, err);
		if (strcmp(rs->f[i].name,
			   tdb_schema_field_name(rs->s, (unsigned int)i)))
			fail_msg("%s: fields[%zu] is \"%s\", the codec says "
				 "\"%s\"",
				 path, i, rs->f[i].name,
				 tdb_schema_field_name(rs->s, (unsigned int)i));
	}
	print_message("schema %s: key \"%s\", %u fields\n", path, rs->keyname,
		      rs->nf);
}

static void rschema_keys(struct rschema *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->s = tdb_schema_bare(TDB_KEY_CIDR4);
	assert_non_null(rs->s);
	rs->keyname = tdb_schema_key_name(rs->s);
	rs->bare_empty = 1;
}

static void rschema_free(struct rschema *rs)
{
	tdb_schema_free(rs->s);
	if (rs->json)
		json_decref(rs->json);
	free(rs->text);
	memset(rs, 0, sizeof(*rs));
}

/* ---- records: keys, field texts, values ---------------------------------- */

static void key_bytes(const struct pfx *p, uint8_t k[5])
{
	k[0] = (uint8_t)(p->addr >> 24);
	k[1] = (uint8_t)(p->addr >> 16);
	k[2] = (uint8_t)(p->addr >> 8);
	k[3] = (uint8_t)p->addr;
	k[4] = p->len;
}

static void addr_text(uint32_t a, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
		 (a >> 8) & 255, a & 255);
}

/* "a.b.c.d/len", or without "/32" when @short32. */
static void key_text(const struct pfx *p, int short32, char *buf, size_t cap)
{
	char a[20];

	addr_text(p->addr, a, sizeof(a));
	if (short32 && p->len == 32)
		snprintf(buf, cap, "%s", a);
	else
		snprintf(buf, cap, "%s/%u", a, p->len);
}

static uint64_t rule_hash(const struct pfx *p)
{
	uint64_t s = (uint64_t)p->tag << 40 ^ (uint64_t)p->addr << 6 ^ p->len;

	h_rand(&s);
	return h_rand(&s);
}

/*
 * The text of every field of rule @p, into @t.  A string field holds the
 * rule's tag and hash (so that the same prefix under two tags has two
 * values), with commas, quotes, backslashes and spaces in some rules to
 * exercise CSV quoting and JSON escaping.
 */
static void rule_texts(const struct rschema *rs, const struct pfx *p,
		       char t[][TEXT_MAX])
{
	uint64_t h = rule_hash(p), s = h;
	unsigned int i;

	for (i = 0; i < rs->nf; i++) {
		const struct fieldgen *g = &rs->f[i];
		uint64_t r = h_rand(&s);

		switch (g->kind) {
		case FG_UINT: {
			uint64_t span = g->umax - g->umin;

			snprintf(t[i], TEXT_MAX, "%" PRIu64,
				 g->umin + (span == UINT64_MAX ?
						    r :
						    r % (span + 1)));
			break;
		}
		case FG_INT: {
			uint64_t span = (uint64_t)g->imax - (uint64_t)g->imin;

			snprintf(t[i], TEXT_MAX, "%" PRId64,
				 (int64_t)((uint64_t)g->imin +
					   (span == UINT64_MAX ?
						    r :
						    r % (span + 1))));
			break;
		}
		case FG_BOOL:
			snprintf(t[i], TEXT_MAX, "%s",
				 r & 1 ? "true" : "false");
			break;
		case FG_ENUM:
			snprintf(t[i], TEXT_MAX, "%s", g->enums[r % g->nenum]);
			break;
		case FG_IPV4:
			addr_text((uint32_t)r, t[i], TEXT_MAX);
			break;
		case FG_PORTS: {
			unsigned int lo = r & 0xffff, hi = lo + (r >> 16) % 64;

			if (hi > 65535 || (r >> 32) % 2)
				hi = lo;
			if (hi == lo)
				snprintf(t[i], TEXT_MAX, "%u", lo);
			else
				snprintf(t[i], TEXT_MAX, "%u-%u", lo, hi);
			break;
		}
		case FG_OTHER:
			if (!strcmp(g->other, "mac"))
				snprintf(t[i], TEXT_MAX,
					 "02:00:%02x:%02x:%02x:%02x",
					 (unsigned int)(r & 255),
					 (unsigned int)(r >> 8 & 255),
					 (unsigned int)(r >> 16 & 255),
					 (unsigned int)(r >> 24 & 255));
			else if (!strcmp(g->other, "timestamp"))
				snprintf(t[i], TEXT_MAX, "%llu",
					 1600000000ULL + r % 100000000);
			else /* ipv6, ip */
				snprintf(t[i], TEXT_MAX, "2001:db8::%x:%x",
					 (unsigned int)(r & 0xffff),
					 (unsigned int)(r >> 16 & 0xffff));
			break;
		case FG_STR:
		default: {
			static const char *const extra[] = {
				"",
				"",
				"",
				"",
				"",
				" allow web",
				", a comma",
				" \"quoted\"",
				" back\\slash",
				" several words here",
			};

			snprintf(t[i], TEXT_MAX, "r%x-%08x%s", p->tag,
				 (uint32_t)(h >> 32), extra[r % 10]);
			if (g->maxlen && strlen(t[i]) > g->maxlen)
				t[i][g->maxlen] = '\0';
			break;
		}
		}
	}
}

/*
 * The value rule @p must have: its field texts encoded by the schema's
 * codec (empty for a bare table).  Its length, or fails the test.
 */
static size_t rule_value(const struct rschema *rs, const struct pfx *p,
			 uint8_t *val, size_t cap)
{
	char t[MAX_FIELDS][TEXT_MAX], kt[32], err[256];
	const char *names[MAX_FIELDS + 1], *vals[MAX_FIELDS + 1];
	uint8_t kb[32], want[5];
	struct tdb_record r = { kb, sizeof(kb), 0, val, cap, 0, 0 };
	unsigned int i;
	int rc;

	if (rs->bare_empty)
		return 0;
	rule_texts(rs, p, t);
	key_text(p, 0, kt, sizeof(kt));
	names[0] = rs->keyname;
	vals[0] = kt;
	for (i = 0; i < rs->nf; i++) {
		names[i + 1] = rs->f[i].name;
		vals[i + 1] = t[i];
	}
	rc = tdb_record_encode(rs->s, names, vals, rs->nf + 1, &r, err,
			       sizeof(err));
	if (rc < 0)
		fail_msg("tdb_record_encode of %s: %s (%s)", kt,
			 tdb_strerror(rc), err);
	key_bytes(p, want);
	if (r.klen != 5 || memcmp(kb, want, 5))
		fail_msg("tdb_record_encode of key %s: %zu bytes, not the 5 of "
			 "proto.h's cidr4 layout",
			 kt, r.klen);
	return r.vlen;
}

/* ---- expected answers of probes ------------------------------------------ */

struct expect {
	int64_t rule; /* -1: no prefix matches */
	uint8_t key[5];
	uint32_t voff, vlen;
};

struct expset {
	const struct pset *set;
	const struct rschema *rs;
	uint32_t n;
	const uint32_t *addr;
	struct expect *e;
	uint8_t *blob;
	size_t blen, bcap;
};

static void expset_build(struct expset *x, const struct rschema *rs,
			 const struct pset *s, const struct lpm_ref *ref,
			 const uint32_t *addr, uint32_t n)
{
	uint8_t v[64 * KIB];
	uint32_t i;

	memset(x, 0, sizeof(*x));
	x->set = s;
	x->rs = rs;
	x->n = n;
	x->addr = addr;
	x->e = calloc(n ? n : 1, sizeof(*x->e));
	assert_non_null(x->e);
	for (i = 0; i < n; i++) {
		struct expect *e = &x->e[i];
		size_t vlen;

		e->rule = ref_lookup(ref, addr[i]);
		if (e->rule < 0)
			continue;
		key_bytes(&s->v[e->rule], e->key);
		vlen = rule_value(rs, &s->v[e->rule], v, sizeof(v));
		if (!x->blob || x->blen + vlen > x->bcap) {
			x->bcap = (x->bcap + vlen) * 2 + 4096;
			x->blob = realloc(x->blob, x->bcap);
			assert_non_null(x->blob);
		}
		memcpy(x->blob + x->blen, v, vlen);
		e->voff = (uint32_t)x->blen;
		e->vlen = (uint32_t)vlen;
		x->blen += vlen;
	}
}

static void expset_free(struct expset *x)
{
	free(x->e);
	free(x->blob);
	memset(x, 0, sizeof(*x));
}

/* Is (@status, @key, @val) the answer probe @i must get? */
static int answer_is(const struct expset *x, uint32_t i, int status,
		     const void *key, size_t klen, const void *val, size_t vlen)
{
	const struct expect *e = &x->e[i];

	if (e->rule < 0)
		return status == -ENOENT;
	return status == 0 && klen == 5 && !memcmp(key, e->key, 5) &&
	       vlen == e->vlen &&
	       (!vlen || !memcmp(val, x->blob + e->voff, vlen));
}

/* Describes the answer and what was expected, for a message. */
static void answer_describe(const struct expset *x, uint32_t i, int status,
			    const void *key, size_t klen, size_t vlen,
			    char *buf, size_t cap)
{
	const struct expect *e = &x->e[i];
	const uint8_t *k = key;
	char a[20], want[48], got[64];

	addr_text(x->addr[i], a, sizeof(a));
	if (e->rule < 0)
		snprintf(want, sizeof(want), "no match");
	else
		key_text(&x->set->v[e->rule], 0, want, sizeof(want));
	if (status)
		snprintf(got, sizeof(got), "%s", tdb_strerror(status));
	else if (klen == 5)
		snprintf(got, sizeof(got), "%u.%u.%u.%u/%u (%zu value bytes)",
			 k[0], k[1], k[2], k[3], k[4], vlen);
	else
		snprintf(got, sizeof(got), "a key of %zu bytes", klen);
	snprintf(buf, cap, "lookup %s: got %s, want %s%s", a, got, want,
		 e->rule >= 0 && !status && klen == 5 &&
				 !memcmp(key, e->key, 5) ?
			 " (the prefix is right, the value is not)" :
			 "");
}

/* Field by field: does @val decode to the texts rule @p was made of? */
struct decode_ctx {
	const struct rschema *rs;
	char (*t)[TEXT_MAX];
	unsigned int i;
	char why[512];
};

static int decode_one(void *arg, const char *name, const char *text)
{
	struct decode_ctx *c = arg;
	const struct fieldgen *g;
	int same;

	if (c->i >= c->rs->nf) {
		snprintf(c->why, sizeof(c->why), "an extra field %s", name);
		return 1;
	}
	g = &c->rs->f[c->i];
	if (strcmp(name, g->name)) {
		snprintf(c->why, sizeof(c->why), "field %u is %s, want %s",
			 c->i, name, g->name);
		return 1;
	}
	if (g->kind == FG_OTHER)
		same = 1; /* written in one of several forms */
	else if (g->kind == FG_UINT)
		same = strtoull(text, NULL, 0) == strtoull(c->t[c->i], NULL, 0);
	else if (g->kind == FG_INT)
		same = strtoll(text, NULL, 0) == strtoll(c->t[c->i], NULL, 0);
	else
		same = !strcmp(text, c->t[c->i]);
	if (!same) {
		snprintf(c->why, sizeof(c->why),
			 "%s is \"%s\", was loaded as "
			 "\"%s\"",
			 name, text, c->t[c->i]);
		return 1;
	}
	c->i++;
	return 0;
}

static int decode_matches(const struct rschema *rs, const struct pfx *p,
			  const void *val, size_t vlen, char *why, size_t cap)
{
	char t[MAX_FIELDS][TEXT_MAX];
	struct decode_ctx c = { rs, t, 0, "" };
	int rc;

	if (rs->bare_empty || !rs->text)
		return 1;
	rule_texts(rs, p, t);
	rc = tdb_record_decode(rs->s, val, vlen, decode_one, &c);
	if (rc < 0)
		snprintf(c.why, sizeof(c.why), "tdb_record_decode: %s",
			 tdb_strerror(rc));
	else if (!c.why[0] && c.i != rs->nf)
		snprintf(c.why, sizeof(c.why), "%u fields, want %u", c.i,
			 rs->nf);
	snprintf(why, cap, "%s", c.why);
	return !c.why[0];
}

/*
 * Looks every probe of @x up in @table (batches of up to 128 in flight,
 * and every 8th one also by tdb_lookup()) and checks the answers; the
 * first 500 values found are also decoded field by field.  Fails the test
 * on any wrong answer.  @misses, when not NULL, gets the number of probes
 * that matched no prefix.
 */
static void check_lookups(struct tdb *db, const char *table,
			  const struct expset *x, const char *what,
			  uint32_t *misses)
{
	struct tdb_completion c[128];
	struct tdb_batch *b = tdb_batch_new(db, 128);
	uint8_t kbuf[17], vbuf[4096];
	char msg[256], why[512];
	uint32_t i, bad = 0, decoded = 0, miss = 0, sync_n = 0;
	uint64_t t0 = h_now_ms();
	int rc, k;

	assert_non_null(b);
	nproblems = 0;
	for (i = 0; i < x->n || tdb_batch_pending(b);) {
		if (i < x->n) {
			uint8_t a[4] = { (uint8_t)(x->addr[i] >> 24),
					 (uint8_t)(x->addr[i] >> 16),
					 (uint8_t)(x->addr[i] >> 8),
					 (uint8_t)x->addr[i] };

			rc = tdb_batch_lookup(b, table, a, 4,
					      (void *)(uintptr_t)i);
			if (rc)
				fail_msg("%s: tdb_batch_lookup: %s", what,
					 tdb_strerror(rc));
			i++;
			if (tdb_batch_pending(b) < 128 && i < x->n)
				continue;
		}
		rc = tdb_batch_reap(b, c, 128, 1);
		if (rc < 0)
			fail_msg("%s: tdb_batch_reap: %s", what,
				 tdb_strerror(rc));
		for (k = 0; k < rc; k++) {
			uint32_t j = (uint32_t)(uintptr_t)c[k].user;

			if (x->e[j].rule < 0)
				miss++;
			if (!answer_is(x, j, c[k].status, c[k].key, c[k].klen,
				       c[k].val, c[k].vlen)) {
				answer_describe(x, j, c[k].status, c[k].key,
						c[k].klen, c[k].vlen, msg,
						sizeof(msg));
				problem("%s: batch %s", what, msg);
				bad++;
				continue;
			}
			if (x->e[j].rule >= 0 && decoded < 500 && x->rs->text) {
				decoded++;
				if (!decode_matches(x->rs,
						    &x->set->v[x->e[j].rule],
						    c[k].val, c[k].vlen, why,
						    sizeof(why))) {
					problem("%s: the value of %s: %s", what,
						msg, why);
					bad++;
				}
			}
		}
	}
	tdb_batch_free(b);
	for (i = 0; i < x->n; i += 8) {
		uint8_t a[4] = { (uint8_t)(x->addr[i] >> 24),
				 (uint8_t)(x->addr[i] >> 16),
				 (uint8_t)(x->addr[i] >> 8),
				 (uint8_t)x->addr[i] };
		size_t plen = 0, vlen = 0;

		memset(kbuf, 0, sizeof(kbuf));
		rc = tdb_lookup(db, table, a, 4, kbuf, &plen, vbuf,
				sizeof(vbuf), &vlen);
		sync_n++;
		if (!answer_is(x, i, rc, kbuf, plen, vbuf,
			       vlen < sizeof(vbuf) ? vlen : sizeof(vbuf))) {
			answer_describe(x, i, rc, kbuf, plen, vlen, msg,
					sizeof(msg));
			problem("%s: tdb_lookup %s", what, msg);
			bad++;
		}
	}
	print_message("%s: %u batched and %u single lookups (%u no match) in "
		      "%llu ms: %u wrong\n",
		      what, x->n, sync_n, miss,
		      (unsigned long long)(h_now_ms() - t0), bad);
	if (bad)
		fail_msg("%s: %u wrong answers (the first are above)", what,
			 bad);
	if (misses)
		*misses = miss;
}

/* ---- files --------------------------------------------------------------- */

enum { F_CSV, F_JSONL, F_IPSET };
static const char *const fmt_name[] = { "csv", "jsonl", "ipset" };

static void csv_field(FILE *f, const char *s)
{
	size_t n = strlen(s);

	if (n && !strpbrk(s, ",\"\r\n") && s[0] != ' ' && s[n - 1] != ' ') {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/*
 * Writes rule set @s to @path in format @fmt: CSV with a header line
 * (the key's and fields' names), JSON Lines (one object a line, numbers
 * as numbers, /32 written as a plain address), or `ipset save` output
 * (a create line, then one add line per prefix, /32 as a plain address,
 * the default route left out).  When @bad_line is not 0, that physical
 * line (1-based) holds a malformed record instead.  The number of lines.
 */
static uint64_t write_file(const char *path, int fmt, const struct rschema *rs,
			   const struct pset *s, uint64_t bad_line)
{
	static char iobuf[1 << 20];
	char t[MAX_FIELDS][TEXT_MAX], kt[32];
	uint64_t line = 1;
	unsigned int k;
	uint32_t i;
	FILE *f = fopen(path, "w");

	if (!f)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	if (fmt == F_CSV) {
		fputs(rs->keyname, f);
		for (k = 0; k < rs->nf; k++) {
			fputc(',', f);
			fputs(rs->f[k].name, f);
		}
		fputc('\n', f);
		line++;
	} else if (fmt == F_IPSET) {
		fprintf(f, "create fw4 hash:net family inet hashsize 65536 "
			   "maxelem 4194304\n");
		line++;
	}
	for (i = 0; i < s->n; i++) {
		const struct pfx *p = &s->v[i];
		int bad = line == bad_line;

		if (fmt == F_IPSET && p->len == 0)
			continue;
		if (!rs->bare_empty)
			rule_texts(rs, p, t);
		key_text(p, fmt != F_CSV, kt, sizeof(kt));
		if (bad && fmt != F_JSONL) /* a prefix length over 32 */
			snprintf(kt, sizeof(kt), "10.%u.0.0/33", i & 255);
		if (fmt == F_CSV) {
			fputs(kt, f);
			for (k = 0; k < rs->nf; k++) {
				fputc(',', f);
				csv_field(f, t[k]);
			}
		} else if (fmt == F_JSONL) {
			fputc('{', f);
			json_str(f, rs->keyname);
			fputc(':', f);
			json_str(f, kt);
			for (k = 0; k < rs->nf; k++) {
				fputs(", ", f);
				json_str(f, rs->f[k].name);
				fputc(':', f);
				if ((rs->f[k].kind == FG_UINT &&
				     strtoull(t[k], NULL, 10) <= INT64_MAX) ||
				    rs->f[k].kind == FG_INT ||
				    rs->f[k].kind == FG_BOOL)
					fputs(t[k], f);
				else
					json_str(f, t[k]);
				if (bad && k == 0) /* cut short: bad JSON */
					break;
			}
			if (!bad)
				fputc('}', f);
		} else {
			fprintf(f, "add fw4 %s", kt);
		}
		fputc('\n', f);
		line++;
	}
	if (fclose(f))
		fail_msg("cannot write %s: %s", path, strerror(errno));
	return line - 1;
}

/* ---- tdbcli -------------------------------------------------------------- */

static const char *cli_bin(void)
{
	const char *cli = owner_tdbcli();

	if (!cli)
		fail_msg(
			"no tdbcli (set TDB_TDBCLI, or build BUILD/cli/tdbcli)");
	return cli;
}

/*
 * Starts `tdbcli --socket SOCK load [--replace] --format FMT TABLE FILE`,
 * its stdout to /dev/null and stderr to @errpath.  Its pid; it is tracked
 * for the watchdog until reaped by cli_wait().
 */
static pid_t cli_spawn_load(const char *sock, const char *table,
			    const char *file, int fmt, int replace,
			    const char *errpath)
{
	const char *argv[16];
	int n = 0, fd;
	pid_t pid;

	argv[n++] = cli_bin();
	argv[n++] = "--socket";
	argv[n++] = sock;
	argv[n++] = "load";
	if (replace)
		argv[n++] = "--replace";
	argv[n++] = "--format";
	argv[n++] = fmt_name[fmt];
	argv[n++] = table;
	argv[n++] = file;
	argv[n] = NULL;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
			_exit(126);
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0644);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execv(argv[0], (char **)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	kid_add(pid);
	return pid;
}

/* Waits (bounded) for a tdbcli run: its status as h_wait_child() says. */
static int cli_wait(pid_t pid, unsigned int ms)
{
	int st = h_wait_child(pid, ms);

	kid_del(pid);
	return st;
}

/* A sanitizer report in @text? */
static const char *san_in(const char *text)
{
	int i;

	for (i = 0; i < OWNER_SAN_RE_N; i++)
		if (strstr(text, owner_san_re[i]))
			return owner_san_re[i];
	return NULL;
}

/*
 * Runs a load and waits for it (at most two minutes); its exit status,
 * with its stderr in *@err (malloc'd) when @err is not NULL.  A sanitizer
 * report in tdbcli's stderr fails the test.
 */
static int cli_load(const char *sock, const char *table, const char *file,
		    int fmt, int replace, char **err)
{
	char errpath[PATH_MAX], *text;
	pid_t pid;
	int st;

	o_fmt(errpath, sizeof(errpath), "%s/tdbcli.err", g_dir);
	pid = cli_spawn_load(sock, table, file, fmt, replace, errpath);
	st = cli_wait(pid, UNDER_SAN ? 300000 : 120000);
	text = owner_read_file(errpath);
	if (!text)
		text = strdup("");
	if (san_in(text))
		fail_msg("tdbcli load %s: a sanitizer report:\n%s", file, text);
	if (err)
		*err = text;
	else
		free(text);
	return st;
}

/* A load that must succeed; the time it took in ms. */
static uint64_t cli_load_ok(const char *sock, const char *table,
			    const char *file, int fmt, int replace)
{
	uint64_t t0 = h_now_ms();
	char *err;
	int st = cli_load(sock, table, file, fmt, replace, &err);

	if (st != 0)
		fail_msg("tdbcli load%s %s %s: exit status %d:\n%s",
			 replace ? " --replace" : "", table, file, st, err);
	free(err);
	return h_now_ms() - t0;
}

/* ---- tables -------------------------------------------------------------- */

static void create_table(struct tdb *db, const char *name,
			 const struct rschema *rs, uint32_t durability)
{
	struct tdb_create_opts co = {
		.key_type = TDB_KEY_CIDR4,
		.durability = durability,
		.schema = rs->text,
		.schema_len = rs->text ? rs->len : 0,
	};
	int rc = tdb_create(db, name, &co);

	if (rc)
		fail_msg("create %s (cidr4): %s", name, tdb_strerror(rc));
}

static uint64_t records_of(struct tdb *db, const char *table)
{
	struct tdb_table_info ti;
	int rc = tdb_info(db, table, &ti);

	if (rc)
		fail_msg("info %s: %s", table, tdb_strerror(rc));
	return ti.records;
}

static void expect_records(struct tdb *db, const char *table, uint64_t n,
			   const char *what)
{
	uint64_t got = records_of(db, table);

	if (got != n)
		fail_msg("%s: %s holds %llu records, want %llu", what, table,
			 (unsigned long long)got, (unsigned long long)n);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the tables listed, sorted, as one malloc'd string. */
static char *table_names(struct tdb *db)
{
	struct tdb_table_info *l = NULL;
	char **v, *out;
	size_t len = 1;
	int n = tdb_tables(db, &l), i;

	if (n < 0)
		fail_msg("tdb_tables: %s", tdb_strerror(n));
	if (n < 0)
		n = 0;
	v = calloc((size_t)n + 1, sizeof(*v));
	assert_non_null(v);
	for (i = 0; i < n; i++) {
		v[i] = l[i].name;
		len += strlen(v[i]) + 1;
	}
	qsort(v, (size_t)n, sizeof(*v), name_cmp);
	out = calloc(1, len);
	assert_non_null(out);
	for (i = 0; i < n; i++) {
		strcat(out, v[i]);
		if (i + 1 < n)
			strcat(out, " ");
	}
	free(v);
	free(l);
	return out;
}

/* Does @table's stored schema equal @rs's text? */
static void expect_schema(struct tdb *db, const char *table,
			  const struct rschema *rs)
{
	char *text = NULL;
	size_t len = 0;
	int rc = tdb_table_schema(db, table, &text, &len);

	if (rc)
		fail_msg("tdb_table_schema %s: %s", table, tdb_strerror(rc));
	if (!rs->text ? text != NULL || len != 0 :
			!text || len != rs->len || memcmp(text, rs->text, len))
		fail_msg("tdb_table_schema %s: %zu bytes, not the %zu stored",
			 table, len, rs->text ? rs->len : 0);
	free(text);
}

/* A map from prefix to rule index, for scans. */
struct pfx_map {
	uint64_t *code;
	uint32_t *idx;
	uint64_t mask;
};

static void map_build(struct pfx_map *m, const struct pset *s)
{
	uint64_t cap = 1024, j;
	uint32_t i;

	while (cap < 2ULL * s->n + 16)
		cap *= 2;
	m->code = calloc(cap, sizeof(*m->code));
	m->idx = calloc(cap, sizeof(*m->idx));
	m->mask = cap - 1;
	assert_true(m->code && m->idx);
	for (i = 0; i < s->n; i++) {
		uint64_t c = pfx_code(s->v[i].addr, s->v[i].len);

		for (j = hset_hash(c) & m->mask; m->code[j];
		     j = (j + 1) & m->mask)
			;
		m->code[j] = c;
		m->idx[j] = i;
	}
}

static int64_t map_find(const struct pfx_map *m, uint32_t addr,
			unsigned int len)
{
	uint64_t c = pfx_code(addr, len), j;

	for (j = hset_hash(c) & m->mask; m->code[j]; j = (j + 1) & m->mask)
		if (m->code[j] == c)
			return m->idx[j];
	return -1;
}

static void map_free(struct pfx_map *m)
{
	free(m->code);
	free(m->idx);
}

/*
 * Does @table hold exactly the rules of @s, each with its value?  1 or 0,
 * with the first difference in @why.  The record count must agree too.
 */
static int scan_matches(struct tdb *db, const char *table,
			const struct rschema *rs, const struct pset *s,
			char *why, size_t cap)
{
	struct tdb_scan *sc;
	struct pfx_map m;
	uint8_t *seen = calloc(s->n ? s->n : 1, 1), v[64 * KIB];
	const void *k, *val;
	size_t kl, vl, want;
	uint64_t n = 0, recs;
	int rc, ok = 1;

	assert_non_null(seen);
	why[0] = '\0';
	rc = tdb_scan_open(db, table, &sc);
	if (rc)
		fail_msg("scan %s: %s", table, tdb_strerror(rc));
	map_build(&m, s);
	while (ok && (rc = tdb_scan_next(sc, &k, &kl, &val, &vl)) == 1) {
		const uint8_t *kb = k;
		int64_t i;

		n++;
		if (kl != 5) {
			snprintf(why, cap, "a key of %zu bytes", kl);
			ok = 0;
			break;
		}
		i = map_find(&m,
			     (uint32_t)kb[0] << 24 | (uint32_t)kb[1] << 16 |
				     (uint32_t)kb[2] << 8 | kb[3],
			     kb[4]);
		if (i < 0) {
			snprintf(why, cap, "%u.%u.%u.%u/%u is not in the set",
				 kb[0], kb[1], kb[2], kb[3], kb[4]);
			ok = 0;
			break;
		}
		if (seen[i]++) {
			snprintf(why, cap, "%u.%u.%u.%u/%u twice in a scan",
				 kb[0], kb[1], kb[2], kb[3], kb[4]);
			ok = 0;
			break;
		}
		want = rule_value(rs, &s->v[i], v, sizeof(v));
		if (vl != want || memcmp(v, val, vl)) {
			snprintf(why, cap,
				 "%u.%u.%u.%u/%u has another value (%zu "
				 "bytes, want %zu: tag %x)",
				 kb[0], kb[1], kb[2], kb[3], kb[4], vl, want,
				 s->v[i].tag);
			ok = 0;
			break;
		}
	}
	tdb_scan_close(sc);
	map_free(&m);
	free(seen);
	if (ok && rc < 0)
		fail_msg("scan %s: %s", table, tdb_strerror(rc));
	if (ok && n != s->n) {
		snprintf(why, cap, "%llu records scanned, the set has %u",
			 (unsigned long long)n, s->n);
		ok = 0;
	}
	recs = records_of(db, table);
	if (ok && recs != s->n) {
		snprintf(why, cap,
			 "tdb_info counts %llu records, the set has "
			 "%u",
			 (unsigned long long)recs, s->n);
		ok = 0;
	}
	return ok;
}

static void expect_exactly(struct tdb *db, const char *table,
			   const struct rschema *rs, const struct pset *s,
			   const char *what)
{
	char why[256];

	if (!scan_matches(db, table, rs, s, why, sizeof(why)))
		fail_msg("%s: %s does not hold exactly the %u rules expected: "
			 "%s",
			 what, table, s->n, why);
}

/* Loads @s through tdb_load_*() (no tdbcli); the count after the commit. */
static uint64_t lib_load(struct tdb *db, const char *table,
			 const struct rschema *rs, const struct pset *s,
			 unsigned int flags)
{
	struct tdb_load *ld;
	uint8_t k[5], v[64 * KIB];
	uint64_t recs = 0;
	uint32_t i;
	int rc = tdb_load_begin(db, table, flags, 0, &ld);

	if (rc)
		fail_msg("tdb_load_begin %s: %s", table, tdb_strerror(rc));
	for (i = 0; i < s->n; i++) {
		size_t vlen = rule_value(rs, &s->v[i], v, sizeof(v));

		key_bytes(&s->v[i], k);
		rc = tdb_load_put(ld, k, 5, v, vlen);
		if (rc) {
			int64_t f = tdb_load_failed_record(ld);

			tdb_load_abort(ld);
			fail_msg("tdb_load_put %s (record %u): %s; failed "
				 "record %lld",
				 table, i, tdb_strerror(rc), (long long)f);
		}
	}
	if (tdb_load_count(ld) != s->n)
		fail_msg("tdb_load_count %llu after %u puts",
			 (unsigned long long)tdb_load_count(ld), s->n);
	rc = tdb_load_commit(ld, &recs);
	if (rc) {
		int64_t f = tdb_load_failed_record(ld);

		tdb_load_abort(ld);
		fail_msg("tdb_load_commit %s: %s; failed record %lld", table,
			 tdb_strerror(rc), (long long)f);
	}
	return recs;
}

/* ---- shared data: the rule sets ------------------------------------------ */

/* @s without its prefixes of length 0 (what ipset holds). */
static void pset_no_default(struct pset *dst, const struct pset *s)
{
	uint32_t i;

	dst->v = malloc((s->n + 1) * sizeof(*dst->v));
	assert_non_null(dst->v);
	dst->n = 0;
	for (i = 0; i < s->n; i++)
		if (s->v[i].len)
			dst->v[dst->n++] = s->v[i];
}

/* The first @n rules of @s under tag @tag. */
static void pset_retag(struct pset *dst, const struct pset *s, uint32_t n,
		       uint32_t tag)
{
	uint32_t i;

	assert_true(n <= s->n);
	dst->v = malloc((n + 1) * sizeof(*dst->v));
	assert_non_null(dst->v);
	for (i = 0; i < n; i++) {
		dst->v[i] = s->v[i];
		dst->v[i].tag = tag;
	}
	dst->n = n;
}

/* Do @x and @y hold the same rules (prefixes and tags), in any order? */
static int pset_same(const struct pset *x, const struct pset *y)
{
	struct pfx_map m;
	uint32_t i;
	int same = x->n == y->n;

	if (!same)
		return 0;
	map_build(&m, y);
	for (i = 0; same && i < x->n; i++) {
		int64_t j = map_find(&m, x->v[i].addr, x->v[i].len);

		same = j >= 0 && y->v[j].tag == x->v[i].tag;
	}
	map_free(&m);
	return same;
}

static void gen_ok(struct pset *s, uint32_t n, uint64_t seed, uint32_t tag,
		   int with_default)
{
	if (pset_gen(s, n, seed, tag, with_default))
		fail_msg("out of memory generating %u rules", n);
}

/*
 * The reference, checked against a linear scan on @nself addresses
 * (prefix edges and random ones) before it is trusted.
 */
static void ref_ok(struct lpm_ref *r, const struct pset *s, uint32_t nself)
{
	uint32_t n, i, *p;

	if (ref_build(r, s))
		fail_msg("out of memory building the reference");
	p = probes_gen(s, nself / 2, nself / 8, 0x5e1f, &n);
	assert_non_null(p);
	for (i = 0; i < n; i++) {
		int64_t a = ref_lookup(r, p[i]), b = ref_linear(s, p[i]);

		if (a != b)
			fail_msg("the reference disagrees with a linear scan "
				 "at %08x: %lld, %lld",
				 p[i], (long long)a, (long long)b);
	}
	free(p);
}

/* Removes the run's files named in the NULL-terminated list. */
static void rm_files(const char *const *names)
{
	char path[PATH_MAX];

	for (; *names; names++) {
		o_fmt(path, sizeof(path), "%s/%s", g_dir, *names);
		unlink(path);
	}
}

/* A path in the run's directory. */
static const char *tmp_path(char *buf, size_t cap, const char *name)
{
	o_fmt(buf, cap, "%s/%s", g_dir, name);
	return buf;
}

/* The shape of a set, for the log: how many of each length group. */
static void print_shape(const char *what, const struct pset *s)
{
	uint32_t c[33] = { 0 }, i, nested = 0;
	struct lpm_ref r;

	for (i = 0; i < s->n; i++)
		c[s->v[i].len]++;
	if (!ref_build(&r, s)) {
		for (i = 0; i < s->n; i++) {
			const struct pfx *p = &s->v[i];
			int l;

			for (l = p->len - 1; l >= 1; l--)
				if (ref_find(&r,
					     p->addr & pfx_mask((unsigned)l),
					     (unsigned)l) >= 0) {
					nested++;
					break;
				}
		}
		ref_free(&r);
	}
	print_message(
		"%s: %u rules: /0 %u, /1-/15 %u, /16-/23 %u, /24 %u, "
		"/25-/31 %u, /32 %u; %u inside another (not /0)\n",
		what, s->n, c[0],
		c[1] + c[2] + c[3] + c[4] + c[5] + c[6] + c[7] + c[8] + c[9] +
			c[10] + c[11] + c[12] + c[13] + c[14] + c[15],
		c[16] + c[17] + c[18] + c[19] + c[20] + c[21] + c[22] + c[23],
		c[24], c[25] + c[26] + c[27] + c[28] + c[29] + c[30] + c[31],
		c[32], nested);
}

/* ---- formats ------------------------------------------------------------- */

static void test_formats(void **state)
{
	struct pset s, s4;
	struct lpm_ref ref, ref4;
	struct expset x, x4;
	struct tdb *db = connect_shared();
	const char *sock = h_socket_path();
	char path[PATH_MAX], table[64], name[32];
	uint32_t *probes, *probes4, np, np4, misses = 0;
	uint64_t lines, ms;
	int fmt;

	(void)state;
	gen_ok(&s, N_RULES, 0xf0f0, 1, 1);
	print_shape("formats", &s);
	ref_ok(&ref, &s, 400);
	probes = probes_gen(&s, N_RAND, N_EDGE, 0xabc, &np);
	assert_non_null(probes);
	expset_build(&x, &g_fw, &s, &ref, probes, np);

	for (fmt = F_CSV; fmt <= F_JSONL; fmt++) {
		o_fmt(name, sizeof(name), "rules.%s", fmt_name[fmt]);
		lines = write_file(tmp_path(path, sizeof(path), name), fmt,
				   &g_fw, &s, 0);
		h_table(table, sizeof(table), "load_fmt");
		create_table(db, table, &g_fw, TDB_DUR_ASYNC);
		ms = cli_load_ok(sock, table, path, fmt, 0);
		print_message("formats: %s: %llu lines loaded in %llu ms\n",
			      fmt_name[fmt], (unsigned long long)lines,
			      (unsigned long long)ms);
		expect_records(db, table, s.n, fmt_name[fmt]);
		expect_schema(db, table, &g_fw);
		check_lookups(db, table, &x, fmt_name[fmt], NULL);
		assert_int_equal(tdb_drop(db, table), 0);
	}

	/* ipset: keys only, into a bare cidr4 table; no default route. */
	pset_no_default(&s4, &s);
	ref_ok(&ref4, &s4, 0);
	probes4 = probes_gen(&s4, N_RAND, N_EDGE, 0xabd, &np4);
	assert_non_null(probes4);
	expset_build(&x4, &g_keys, &s4, &ref4, probes4, np4);
	lines = write_file(tmp_path(path, sizeof(path), "rules.ipset"), F_IPSET,
			   &g_keys, &s, 0);
	h_table(table, sizeof(table), "load_fmt");
	create_table(db, table, &g_keys, TDB_DUR_ASYNC);
	ms = cli_load_ok(sock, table, path, F_IPSET, 0);
	print_message("formats: ipset: %llu lines loaded in %llu ms\n",
		      (unsigned long long)lines, (unsigned long long)ms);
	expect_records(db, table, s4.n, "ipset");
	expect_schema(db, table, &g_keys);
	check_lookups(db, table, &x4, "ipset", &misses);
	if (misses < 100)
		fail_msg("ipset: only %u probes match no prefix: the test "
			 "does not exercise misses",
			 misses);
	assert_int_equal(tdb_drop(db, table), 0);

	expset_free(&x4);
	expset_free(&x);
	free(probes4);
	free(probes);
	ref_free(&ref4);
	ref_free(&ref);
	pset_free(&s4);
	rm_files((const char *const[]){ "rules.csv", "rules.jsonl",
					"rules.ipset", NULL });
	pset_free(&s);
	close_db(db);
}

/* ---- replace ------------------------------------------------------------- */

#define NREAD 4
#define RBATCH 32
/*
 * A reader naps this long after each batch or 4 single lookups, so that
 * 4 readers on a 2-CPU machine leave the loader and the owner some time.
 */
#define READER_NAP_US 100

struct rstat {
	uint64_t answers; /* answers checked */
	uint64_t stable; /* of those, wholly between two replaces */
	uint64_t saw_a, saw_b; /* answers that were A's, B's */
	uint64_t viol;
	uint64_t last_seq; /* the phase of its last stable answer */
	char msg[4][240];
};

struct rshm {
	uint64_t seq; /* odd: a replace is under way; even: set
				 * (seq / 2) % 2 ? B : A is in place */
	uint32_t go, stop;
	struct rstat r[NREAD];
};

static void reader_note(struct rstat *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reader_note(struct rstat *st, const char *fmt, ...)
{
	va_list ap;

	if (st->viol < 4) {
		va_start(ap, fmt);
		vsnprintf(st->msg[st->viol], sizeof(st->msg[0]), fmt, ap);
		va_end(ap);
	}
	__atomic_add_fetch(&st->viol, 1, __ATOMIC_RELAXED);
}

/* Checks one answer of probe @j, looked up between seq @s0 and @s1. */
static void reader_check(struct rstat *st, const struct expset *xa,
			 const struct expset *xb, uint32_t j, uint64_t s0,
			 uint64_t s1, int status, const void *key, size_t klen,
			 const void *val, size_t vlen, int batched)
{
	int a = answer_is(xa, j, status, key, klen, val, vlen);
	int b = answer_is(xb, j, status, key, klen, val, vlen);
	char msg[256];

	st->answers++;
	st->saw_a += a;
	st->saw_b += b;
	if (!a && !b) {
		answer_describe(xa, j, status, key, klen, vlen, msg,
				sizeof(msg));
		reader_note(st, "%s, neither A's nor B's (%s; seq %llu..%llu)",
			    msg, batched ? "batch" : "tdb_lookup",
			    (unsigned long long)s0, (unsigned long long)s1);
	} else if (s0 == s1 && !(s0 & 1)) {
		int want_b = (s0 / 2) % 2;

		st->stable++;
		if (want_b ? !b : !a) {
			answer_describe(want_b ? xb : xa, j, status, key, klen,
					vlen, msg, sizeof(msg));
			reader_note(st,
				    "%s: set %c's answer, the other set's, "
				    "after replace %llu had returned and "
				    "before the next began (%s)",
				    msg, want_b ? 'A' : 'B',
				    (unsigned long long)s0 / 2,
				    batched ? "batch" : "tdb_lookup");
		}
		__atomic_store_n(&st->last_seq, s0, __ATOMIC_RELEASE);
	}
}

static int reader_main(int id, struct rshm *shm, const char *table,
		       const struct expset *xa, const struct expset *xb)
{
	struct rstat *st = &shm->r[id];
	struct tdb_completion c[RBATCH];
	struct tdb_batch *b = NULL;
	struct tdb *db;
	uint64_t rng = 0x4ead + (uint64_t)id, end;
	uint8_t kbuf[17], vbuf[4096];
	int rc, k;

	rc = h_connect(&db);
	CHILD_CHECK(rc == 0, "connect: %s", tdb_strerror(rc));
	if (id % 2) {
		b = tdb_batch_new(db, RBATCH);
		CHILD_CHECK(b, "tdb_batch_new: %s", strerror(errno));
	}
	end = h_now_ms() + 20000;
	while (!__atomic_load_n(&shm->go, __ATOMIC_ACQUIRE)) {
		CHILD_CHECK(h_now_ms() < end, "no start signal in 20 s");
		h_sleep_us(1000);
	}
	while (!__atomic_load_n(&shm->stop, __ATOMIC_ACQUIRE)) {
		uint64_t s0 = __atomic_load_n(&shm->seq, __ATOMIC_ACQUIRE), s1;
		uint32_t js[RBATCH];

		if (!b) {
			uint32_t j = h_rand_below(&rng, xa->n);
			uint8_t a[4] = { (uint8_t)(xa->addr[j] >> 24),
					 (uint8_t)(xa->addr[j] >> 16),
					 (uint8_t)(xa->addr[j] >> 8),
					 (uint8_t)xa->addr[j] };
			size_t plen = 0, vlen = 0;

			rc = tdb_lookup(db, table, a, 4, kbuf, &plen, vbuf,
					sizeof(vbuf), &vlen);
			s1 = __atomic_load_n(&shm->seq, __ATOMIC_ACQUIRE);
			CHILD_CHECK(rc == 0 || rc == -ENOENT, "tdb_lookup: %s",
				    tdb_strerror(rc));
			reader_check(st, xa, xb, j, s0, s1, rc, kbuf, plen,
				     vbuf,
				     vlen < sizeof(vbuf) ? vlen : sizeof(vbuf),
				     0);
			if (st->answers % 4 == 0)
				h_sleep_us(READER_NAP_US);
			continue;
		}
		for (k = 0; k < RBATCH; k++) {
			uint32_t j = js[k] = h_rand_below(&rng, xa->n);
			uint8_t a[4] = { (uint8_t)(xa->addr[j] >> 24),
					 (uint8_t)(xa->addr[j] >> 16),
					 (uint8_t)(xa->addr[j] >> 8),
					 (uint8_t)xa->addr[j] };

			rc = tdb_batch_lookup(b, table, a, 4,
					      (void *)(uintptr_t)k);
			CHILD_CHECK(rc == 0, "tdb_batch_lookup: %s",
				    tdb_strerror(rc));
		}
		for (k = 0; k < RBATCH;) {
			int i, n = tdb_batch_reap(b, c, RBATCH, RBATCH - k);

			CHILD_CHECK(n > 0, "tdb_batch_reap: %s",
				    tdb_strerror(n));
			s1 = __atomic_load_n(&shm->seq, __ATOMIC_ACQUIRE);
			for (i = 0; i < n; i++)
				reader_check(st, xa, xb,
					     js[(uintptr_t)c[i].user], s0, s1,
					     c[i].status, c[i].key, c[i].klen,
					     c[i].val, c[i].vlen, 1);
			k += n;
		}
		h_sleep_us(READER_NAP_US);
	}
	tdb_batch_free(b);
	tdb_close(db);
	return 0;
}

/*
 * Probes for two sets whose answers differ between them: addresses drawn
 * from both (random, inside prefixes, prefix edges), those with equal
 * answers dropped.  Fills @xa and @xb on the kept addresses (a malloc'd
 * array, returned).
 */
static uint32_t *
probes_differing(const struct pset *a, const struct lpm_ref *ra,
		 const struct pset *b, const struct lpm_ref *rb, uint32_t nrand,
		 uint32_t nedge, struct expset *xa, struct expset *xb)
{
	uint32_t npa, npb, n, i, keep = 0;
	uint32_t *pa = probes_gen(a, nrand / 2, nedge / 2, 0xa1, &npa);
	uint32_t *pb = probes_gen(b, nrand / 2, nedge / 2, 0xb1, &npb);
	uint32_t *p = malloc(((size_t)npa + npb + 1) * sizeof(*p));
	struct expset ea, eb;

	assert_true(pa && pb && p);
	memcpy(p, pa, npa * sizeof(*p));
	memcpy(p + npa, pb, npb * sizeof(*p));
	n = npa + npb;
	free(pa);
	free(pb);
	expset_build(&ea, &g_fw, a, ra, p, n);
	expset_build(&eb, &g_fw, b, rb, p, n);
	for (i = 0; i < n; i++) {
		const struct expect *x = &ea.e[i], *y = &eb.e[i];
		int same = x->rule < 0 ?
				   y->rule < 0 :
				   y->rule >= 0 && !memcmp(x->key, y->key, 5) &&
					   x->vlen == y->vlen &&
					   !memcmp(ea.blob + x->voff,
						   eb.blob + y->voff, x->vlen);

		if (!same)
			p[keep++] = p[i];
	}
	expset_free(&ea);
	expset_free(&eb);
	print_message("replace: %u of %u probe addresses answer differently "
		      "in A and B\n",
		      keep, n);
	if (keep < n * 9 / 10 || keep < 10000)
		fail_msg("only %u of %u probes tell A from B", keep, n);
	expset_build(xa, &g_fw, a, ra, p, keep);
	expset_build(xb, &g_fw, b, rb, p, keep);
	return p;
}

static void test_replace(void **state)
{
	struct lstate *ls = *state;
	unsigned int rounds = env_uint("TDB_LOAD_ROUNDS", UNDER_SAN ? 10 : 20);
	unsigned int r;
	const char *sock = h_socket_path();
	struct pset a, bnew, ahalf, b;
	struct lpm_ref ra, rb;
	struct expset xa, xb;
	struct rshm *shm;
	struct tdb *db = connect_shared();
	pid_t pids[NREAD];
	char table[64], fa[PATH_MAX], fb[PATH_MAX];
	uint64_t t0, ms_cli = 0, ms_lib = 0, tot[5] = { 0 };
	uint32_t *probes;
	int i, bad = 0;

	gen_ok(&a, N_REPL, 0xaaaa, 0xA, 1);
	gen_ok(&bnew, N_REPL / 2, 0xbbbb, 0xB, 1);
	pset_retag(&ahalf, &a, N_REPL / 2, 0xB); /* A's /0 included */
	if (pset_merge(&b, &bnew, &ahalf))
		fail_msg("out of memory");
	print_shape("replace A", &a);
	print_shape("replace B", &b);
	ref_ok(&ra, &a, 200);
	ref_ok(&rb, &b, 200);
	probes = probes_differing(&a, &ra, &b, &rb, N_RAND, N_EDGE, &xa, &xb);
	write_file(tmp_path(fa, sizeof(fa), "replA.csv"), F_CSV, &g_fw, &a, 0);
	write_file(tmp_path(fb, sizeof(fb), "replB.jsonl"), F_JSONL, &g_fw, &b,
		   0);
	h_table(table, sizeof(table), "load_repl");
	create_table(db, table, &g_fw, TDB_DUR_ASYNC);
	cli_load_ok(sock, table, fa, F_CSV, 0);
	expect_records(db, table, a.n, "set A loaded");

	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(shm != MAP_FAILED);
	memset(shm, 0, sizeof(*shm));
	for (i = 0; i < NREAD; i++) {
		fflush(stdout);
		fflush(stderr);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			alarm(0);
			tdb_close(db); /* the parent's, not ours */
			_exit(reader_main(i, shm, table, &xa, &xb));
		}
		ls->kids[i] = pids[i];
	}
	__atomic_store_n(&shm->go, 1, __ATOMIC_RELEASE);
	h_sleep_us(50000);

	for (r = 1; r <= rounds; r++) {
		const struct pset *x = r % 2 ? &b : &a;
		int use_cli = (r / 2) % 2 == 0;
		uint64_t end;

		__atomic_store_n(&shm->seq, 2 * r - 1, __ATOMIC_RELEASE);
		t0 = h_now_ms();
		if (use_cli) {
			cli_load_ok(sock, table, r % 2 ? fb : fa,
				    r % 2 ? F_JSONL : F_CSV, 1);
			ms_cli += h_now_ms() - t0;
		} else {
			uint64_t n =
				lib_load(db, table, &g_fw, x, TDB_LOAD_REPLACE);

			if (n != x->n)
				fail_msg(
					"replace %u: tdb_load_commit says %llu "
					"records, the set has %u",
					r, (unsigned long long)n, x->n);
			ms_lib += h_now_ms() - t0;
		}
		expect_records(db, table, x->n,
			       r % 2 ? "after replace by B" :
				       "after replace by A");
		__atomic_store_n(&shm->seq, 2 * r, __ATOMIC_RELEASE);
		/* every reader checks at least one answer of this phase */
		end = h_now_ms() + (UNDER_SAN ? 30000 : 10000);
		for (i = 0; i < NREAD; i++)
			while (__atomic_load_n(&shm->r[i].last_seq,
					       __ATOMIC_ACQUIRE) < 2 * r) {
				if (h_now_ms() > end)
					fail_msg(
						"replace %u: reader %d checked "
						"no answer in 10 s",
						r, i);
				h_sleep_us(1000);
			}
	}
	__atomic_store_n(&shm->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NREAD; i++) {
		int st = h_wait_child(pids[i], 30000);

		ls->kids[i] = 0;
		if (st != 0) {
			print_error("reader %d exited with status %d\n", i, st);
			bad++;
		}
	}
	for (i = 0; i < NREAD; i++) {
		struct rstat *st = &shm->r[i];
		uint64_t k;

		print_message("replace: reader %d (%s): %llu answers, %llu "
			      "between replaces, %llu A, %llu B, %llu wrong\n",
			      i, i % 2 ? "batches" : "tdb_lookup",
			      (unsigned long long)st->answers,
			      (unsigned long long)st->stable,
			      (unsigned long long)st->saw_a,
			      (unsigned long long)st->saw_b,
			      (unsigned long long)st->viol);
		for (k = 0; k < st->viol && k < 4; k++)
			print_error("  reader %d: %s\n", i, st->msg[k]);
		if (st->viol || !st->saw_a || !st->saw_b)
			bad++;
		tot[0] += st->answers;
		tot[1] += st->viol;
	}
	print_message("replace: %u replaces of %u/%u rules: tdbcli %llu ms, "
		      "tdb_load %llu ms in all; %llu answers checked\n",
		      rounds, a.n, b.n, (unsigned long long)ms_cli,
		      (unsigned long long)ms_lib, (unsigned long long)tot[0]);
	if (bad)
		fail_msg("replace: %llu wrong answers, or a reader that failed "
			 "or did not see both sets (above)",
			 (unsigned long long)tot[1]);
	expect_exactly(db, table, &g_fw, rounds % 2 ? &b : &a,
		       "after the last "
		       "replace");
	assert_int_equal(tdb_drop(db, table), 0);

	munmap(shm, sizeof(*shm));
	expset_free(&xa);
	expset_free(&xb);
	free(probes);
	ref_free(&ra);
	ref_free(&rb);
	pset_free(&a);
	pset_free(&bnew);
	rm_files((const char *const[]){ "replA.csv", "replB.jsonl", NULL });
	pset_free(&ahalf);
	pset_free(&b);
	close_db(db);
}

/* ---- rollback ------------------------------------------------------------ */

static void test_rollback(void **state)
{
	static const struct {
		int fmt, replace, keys;
	} cases[] = {
		{ F_CSV, 1, 0 },   { F_CSV, 0, 0 },   { F_JSONL, 0, 0 },
		{ F_JSONL, 1, 0 }, { F_IPSET, 1, 1 }, { F_IPSET, 0, 1 },
	};
	const char *sock = h_socket_path();
	struct pset r0, newr, upd, f;
	struct lpm_ref ref;
	struct expset x, x4;
	struct tdb *db = connect_shared();
	char t[64], t4[64], path[3][PATH_MAX], needle[64], *before, *after;
	char *err;
	uint32_t *probes, np;
	size_t i;

	(void)state;
	gen_ok(&r0, N_BASE, 0x1111, 0x10, 1);
	gen_ok(&newr, N_BAD - 30000, 0x2222, 0x11, 0);
	pset_retag(&upd, &r0, 30000, 0x11);
	if (pset_merge(&f, &newr, &upd))
		fail_msg("out of memory");
	if (f.n < BAD_LINE + 100)
		fail_msg("the bad file's set has only %u rules", f.n);
	ref_ok(&ref, &r0, 0);
	probes = probes_gen(&r0, 5000, 500, 0x77, &np);
	assert_non_null(probes);
	expset_build(&x, &g_fw, &r0, &ref, probes, np);
	expset_build(&x4, &g_keys, &r0, &ref, probes, np);
	for (i = 0; i < 3; i++) {
		char name[32];

		o_fmt(name, sizeof(name), "bad.%s", fmt_name[i]);
		write_file(tmp_path(path[i], sizeof(path[i]), name), (int)i,
			   i == F_IPSET ? &g_keys : &g_fw, &f, BAD_LINE);
	}
	h_table(t, sizeof(t), "load_rb");
	create_table(db, t, &g_fw, TDB_DUR_ASYNC);
	write_file(tmp_path(path[0], sizeof(path[0]), "base.csv"), F_CSV, &g_fw,
		   &r0, 0);
	cli_load_ok(sock, t, path[0], F_CSV, 0);
	o_fmt(path[0], sizeof(path[0]), "%s/bad.csv", g_dir);
	h_table(t4, sizeof(t4), "load_rb4");
	create_table(db, t4, &g_keys, TDB_DUR_ASYNC);
	if (lib_load(db, t4, &g_keys, &r0, 0) != r0.n)
		fail_msg("tdb_load_commit: a wrong record count");
	expect_exactly(db, t, &g_fw, &r0, "before the bad loads");
	expect_exactly(db, t4, &g_keys, &r0, "before the bad loads");
	before = table_names(db);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *tab = cases[i].keys ? t4 : t;
		const char *file = path[cases[i].fmt];
		char what[96];
		int st;

		o_fmt(what, sizeof(what), "%s%s with line %d malformed",
		      fmt_name[cases[i].fmt],
		      cases[i].replace ? " --replace" : "", BAD_LINE);
		st = cli_load(sock, tab, file, cases[i].fmt, cases[i].replace,
			      &err);
		o_fmt(needle, sizeof(needle), "%s:%d:", strrchr(file, '/') + 1,
		      BAD_LINE);
		if (st != 2 || !strstr(err, needle))
			fail_msg("%s: exit status %d (want 2), stderr (want "
				 "\"%s\"):\n%s",
				 what, st, needle, err);
		print_message("rollback: %s: status 2, %s", what,
			      strstr(err, needle));
		if (err[0] && err[strlen(err) - 1] != '\n')
			print_message("\n");
		free(err);
		expect_exactly(db, tab, cases[i].keys ? &g_keys : &g_fw, &r0,
			       what);
		check_lookups(db, tab, cases[i].keys ? &x4 : &x, what, NULL);
		after = table_names(db);
		if (strcmp(before, after))
			fail_msg("%s: the tables listed were\n  %s\nand are "
				 "now\n  %s",
				 what, before, after);
		free(after);
	}
	free(before);
	assert_int_equal(tdb_drop(db, t), 0);
	assert_int_equal(tdb_drop(db, t4), 0);
	expset_free(&x);
	expset_free(&x4);
	free(probes);
	ref_free(&ref);
	pset_free(&r0);
	pset_free(&newr);
	pset_free(&upd);
	pset_free(&f);
	rm_files((const char *const[]){ "base.csv", "bad.csv", "bad.jsonl",
					"bad.ipset", NULL });
	close_db(db);
}

/* ---- kill_client --------------------------------------------------------- */

/* Waits (at most 5 s) for tdb_stats' mem_bytes to hold still 200 ms. */
static uint64_t settled_mem(struct tdb *db)
{
	struct tdb_stats st;
	uint64_t end = h_now_ms() + 5000, last = UINT64_MAX, since = 0;

	for (;;) {
		stats_ok(db, &st);
		if (st.mem_bytes != last) {
			last = st.mem_bytes;
			since = h_now_ms();
		} else if (h_now_ms() - since >= 200 || h_now_ms() > end) {
			return last;
		}
		h_sleep_us(10000);
	}
}

/*
 * What one more connection adds to tdb_stats' mem_bytes (its rings and
 * buffers): measured with a second connection to @o, so that the growth
 * a load shows can be told from tdbcli's connection.
 */
static uint64_t conn_mem(struct tdb *db, const struct owner *o)
{
	struct tdb_stats st;
	struct tdb *db2;
	uint64_t m0 = settled_mem(db);
	int rc = owner_connect(o, &db2);

	if (rc)
		fail_msg("connect to %s: %s", o->sock, tdb_strerror(rc));
	stats_ok(db, &st);
	tdb_close(db2);
	settled_mem(db);
	return st.mem_bytes > m0 ? st.mem_bytes - m0 : 0;
}

#define STAGING_SEEN (4 * MIB) /* growth that shows the staging table */
#define MEM_SLACK (256 * KIB) /* what may stay after it is dropped */

static void test_kill_client(void **state)
{
	struct lstate *ls = *state;
	struct pset r0, big;
	struct lpm_ref ref;
	struct expset x;
	struct tdb *db;
	char t[] = "kc", base[PATH_MAX], bigf[PATH_MAX], errp[PATH_MAX];
	uint32_t *probes, np;
	uint64_t conn;
	int mode;

	if (owner_init(&ls->o, "load"))
		fail_msg("cannot make a directory for tdbd");
	ls->has_owner = 1;
	start_ok(&ls->o, NULL);
	db = connect_ok(&ls->o);
	create_table(db, t, &g_fw, TDB_DUR_ASYNC);
	gen_ok(&r0, N_BASE, 0x3333, 0x20, 1);
	gen_ok(&big, N_BIG, 0x4444, 0x21, 1);
	ref_ok(&ref, &r0, 0);
	probes = probes_gen(&r0, 5000, 500, 0x78, &np);
	assert_non_null(probes);
	expset_build(&x, &g_fw, &r0, &ref, probes, np);
	write_file(tmp_path(base, sizeof(base), "kc_base.csv"), F_CSV, &g_fw,
		   &r0, 0);
	write_file(tmp_path(bigf, sizeof(bigf), "kc_big.csv"), F_CSV, &g_fw,
		   &big, 0);
	tmp_path(errp, sizeof(errp), "kc.err");
	cli_load_ok(ls->o.sock, t, base, F_CSV, 0);
	expect_exactly(db, t, &g_fw, &r0, "the base set");
	conn = conn_mem(db, &ls->o);

	for (mode = 1; mode >= 0; mode--) {
		const char *what = mode ? "load --replace" : "load";
		struct tdb_table_info ti0, ti;
		struct tdb_stats st;
		uint64_t mem0 = settled_mem(db), t0, t1, end, grown;
		char *names0 = table_names(db), *names = NULL;
		pid_t pid;
		int s, ok = 0;

		info_ok(db, t, &ti0);
		pid = cli_spawn_load(ls->o.sock, t, bigf, F_CSV, mode, errp);
		t0 = h_now_ms();
		end = t0 + (UNDER_SAN ? 90000 : 30000);
		for (;;) {
			stats_ok(db, &st);
			if (st.mem_bytes >= mem0 + conn + STAGING_SEEN)
				break;
			if (waitpid(pid, &s, WNOHANG) == pid) {
				kid_del(pid);
				fail_msg("%s: tdbcli ended (wait status %#x) "
					 "before tdb_stats showed %llu MiB "
					 "more than the %llu bytes before: a "
					 "staging table that tdb_stats does "
					 "not count, or a file too small",
					 what, s,
					 (unsigned long long)(STAGING_SEEN /
							      MIB),
					 (unsigned long long)mem0);
			}
			if (h_now_ms() > end)
				fail_msg("%s: no growth seen in 30 s", what);
			h_sleep_us(1000);
		}
		kill(pid, SIGKILL);
		s = cli_wait(pid, 10000);
		if (s != 128 + SIGKILL)
			fail_msg("%s: tdbcli was not killed (status %d)", what,
				 s);
		grown = st.mem_bytes - mem0 - conn;
		t1 = h_now_ms();
		end = t1 + (UNDER_SAN ? 45000 : 15000);
		do {
			h_sleep_us(10000);
			stats_ok(db, &st);
			info_ok(db, t, &ti);
			free(names);
			names = table_names(db);
			ok = st.mem_bytes <= mem0 + MEM_SLACK &&
			     ti.records == ti0.records &&
			     ti.mem_bytes == ti0.mem_bytes &&
			     !strcmp(names, names0);
		} while (!ok && h_now_ms() < end);
		print_message("kill_client: %s killed %llu ms in, with %llu "
			      "KiB staged; %s after %llu ms: mem_bytes %llu "
			      "(before %llu), table %llu records %llu bytes "
			      "(before %llu, %llu), tables [%s]\n",
			      what, (unsigned long long)(t1 - t0),
			      (unsigned long long)(grown / KIB),
			      ok ? "clean" : "NOT clean",
			      (unsigned long long)(h_now_ms() - t1),
			      (unsigned long long)st.mem_bytes,
			      (unsigned long long)mem0,
			      (unsigned long long)ti.records,
			      (unsigned long long)ti.mem_bytes,
			      (unsigned long long)ti0.records,
			      (unsigned long long)ti0.mem_bytes, names);
		if (!ok)
			fail_msg("%s killed: the owner did not return to its "
				 "state before the load (tables before: [%s])",
				 what, names0);
		free(names);
		free(names0);
		expect_exactly(db, t, &g_fw, &r0, what);
		check_lookups(db, t, &x, what, NULL);
	}
	close_db(db);
	stop_ok(&ls->o);
	expset_free(&x);
	free(probes);
	ref_free(&ref);
	pset_free(&r0);
	pset_free(&big);
	rm_files((const char *const[]){ "kc_base.csv", "kc_big.csv", NULL });
}

/* ---- durable ------------------------------------------------------------- */

static void test_durable(void **state)
{
	/*
	 * How much of the new set is staged when tdbd is killed (0: only
	 * once tdbcli returned); even rounds replace, odd ones upsert.
	 */
	static const unsigned int permille[] = { 300, 995, 0, 0, 970, 600 };
	struct lstate *ls = *state;
	unsigned int kills = env_uint("TDB_LOAD_KILLS", UNDER_SAN ? 4 : 6);
	unsigned int k;
	struct pset a, bnew, ahalf, b, s, nw;
	struct tdb *db;
	char t[] = "dur", fa[PATH_MAX], fb[PATH_MAX], errp[PATH_MAX], *names;
	char why_new[256], why_old[256];
	uint64_t d, conn;

	if (owner_init(&ls->o, "load"))
		fail_msg("cannot make a directory for tdbd");
	ls->has_owner = 1;
	gen_ok(&a, N_DUR, 0x5555, 0x30, 1);
	gen_ok(&bnew, N_DUR / 2, 0x6666, 0x31, 1);
	pset_retag(&ahalf, &a, N_DUR / 2, 0x31);
	if (pset_merge(&b, &bnew, &ahalf))
		fail_msg("out of memory");
	write_file(tmp_path(fa, sizeof(fa), "durA.csv"), F_CSV, &g_fw, &a, 0);
	write_file(tmp_path(fb, sizeof(fb), "durB.jsonl"), F_JSONL, &g_fw, &b,
		   0);
	tmp_path(errp, sizeof(errp), "dur.err");

	start_ok(&ls->o, NULL);
	db = connect_ok(&ls->o);
	create_table(db, t, &g_fw, TDB_DUR_SYNC);
	d = cli_load_ok(ls->o.sock, t, fa, F_CSV, 0);
	close_db(db);
	kill_ok(&ls->o);
	start_ok(&ls->o, NULL);
	db = connect_ok(&ls->o);
	expect_exactly(db, t, &g_fw, &a,
		       "SIGKILL right after tdbcli load returned");
	print_message("durable: %u rules loaded into a sync table in %llu ms, "
		      "all there after SIGKILL and restart\n",
		      a.n, (unsigned long long)d);
	if (pset_copy(&s, &a))
		fail_msg("out of memory");
	conn = conn_mem(db, &ls->o);

	for (k = 0; k < kills; k++) {
		int replace = k % 2 == 0;
		const struct pset *x = &b;
		uint64_t at, t0, end, mem0, goal, staged = 0;
		struct tdb_table_info ti;
		struct tdb_stats sts;
		const char *outcome = "";
		char aim[48];
		pid_t pid;
		int st = -1, exited = 0, w;

		/* the set (B first, else A) whose load changes the table */
		if (replace ? pset_copy(&nw, x) : pset_merge(&nw, &s, x))
			fail_msg("out of memory");
		if (pset_same(&nw, &s)) {
			pset_free(&nw);
			x = &a;
			if (replace ? pset_copy(&nw, x) :
				      pset_merge(&nw, &s, x))
				fail_msg("out of memory");
		}
		if (pset_same(&nw, &s))
			fail_msg("neither set changes the table");
		/*
		 * The staging table of @x will take about what the table
		 * takes per record: kill tdbd once that much of it shows in
		 * tdb_stats (beyond tdbcli's connection), or when tdbcli
		 * ends first.
		 */
		info_ok(db, t, &ti);
		mem0 = settled_mem(db);
		goal = mem0 + conn +
		       ti.mem_bytes / s.n * x->n * permille[k % 6] / 1000;
		pid = cli_spawn_load(ls->o.sock, t, x == &b ? fb : fa,
				     x == &b ? F_JSONL : F_CSV, replace, errp);
		t0 = h_now_ms();
		end = t0 + (UNDER_SAN ? 120000 : 60000);
		for (;;) {
			if (waitpid(pid, &w, WNOHANG) == pid) {
				kid_del(pid);
				exited = 1;
				st = WIFEXITED(w) ? WEXITSTATUS(w) :
						    128 + WTERMSIG(w);
				break;
			}
			stats_ok(db, &sts);
			if (sts.mem_bytes > mem0 + conn)
				staged = sts.mem_bytes - mem0 - conn;
			if (permille[k % 6] && sts.mem_bytes >= goal)
				break;
			if (h_now_ms() > end)
				fail_msg(
					"a load into %s staged %llu KiB in %llu "
					"s, not the %llu expected",
					t, (unsigned long long)(staged / KIB),
					(unsigned long long)(end - t0) / 1000,
					(unsigned long long)(goal - mem0 -
							     conn) /
						KIB);
			h_sleep_us(500);
		}
		close_db(db);
		at = h_now_ms() - t0;
		kill_ok(&ls->o);
		if (exited && st != 0)
			fail_msg("tdbcli load%s failed (status %d) before tdbd "
				 "was killed",
				 replace ? " --replace" : "", st);
		if (!exited)
			st = cli_wait(pid, 30000);
		start_ok(&ls->o, NULL);
		db = connect_ok(&ls->o);
		names = table_names(db);
		if (strcmp(names, t))
			fail_msg("after a kill during a load: tables [%s], "
				 "want [%s]",
				 names, t);
		free(names);
		if (scan_matches(db, t, &g_fw, &nw, why_new, sizeof(why_new))) {
			outcome = "the new set";
			pset_free(&s);
			s = nw;
			nw.v = NULL;
		} else if (st != 0 && scan_matches(db, t, &g_fw, &s, why_old,
						   sizeof(why_old))) {
			outcome = "the old set";
		} else {
			fail_msg(
				"tdbd killed %llu ms into a load%s (tdbcli "
				"status %d%s): the table holds neither the new "
				"set (%s) nor the old one (%s)",
				(unsigned long long)at,
				replace ? " --replace" : "", st,
				st == 0 ? ": the commit was acknowledged" : "",
				why_new, st ? why_old : "not allowed");
		}
		if (permille[k % 6])
			o_fmt(aim, sizeof(aim), "when %u.%u%% was staged",
			      permille[k % 6] / 10, permille[k % 6] % 10);
		else
			o_fmt(aim, sizeof(aim), "once tdbcli returned");
		print_message("durable: tdbd killed %llu ms into a load%s of "
			      "%u rules, %s (%llu KiB; tdbcli %s, status %d): "
			      "%s, %u records\n",
			      (unsigned long long)at,
			      replace ? " --replace" : "", x->n, aim,
			      (unsigned long long)(staged / KIB),
			      exited ? "had exited" : "was running", st,
			      outcome, s.n);
		pset_free(&nw);
	}
	close_db(db);
	stop_ok(&ls->o);
	pset_free(&s);
	pset_free(&a);
	pset_free(&bnew);
	rm_files((const char *const[]){ "durA.csv", "durB.jsonl", NULL });
	pset_free(&ahalf);
	pset_free(&b);
}

/* ---- main ---------------------------------------------------------------- */

static int group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	o_fmt(g_dir, sizeof(g_dir), "%s/tdb-load.XXXXXX",
	      tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g_dir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", g_dir, strerror(errno));
		return -1;
	}
	rschema_load(&g_fw);
	rschema_keys(&g_keys);
	return 0;
}

static int group_teardown(void **state)
{
	const char *keep = getenv("TDB_KEEP");

	(void)state;
	rschema_free(&g_fw);
	rschema_free(&g_keys);
	if (keep && !strcmp(keep, "1"))
		fprintf(stderr, "test_load: kept %s\n", g_dir);
	else if (g_dir[0])
		owner_rm_rf(g_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_client, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_durable, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("TDB_LOAD_TESTS"))
		cmocka_set_test_filter(getenv("TDB_LOAD_TESTS"));
	return cmocka_run_group_tests_name("integration/load", tests,
					   group_setup, group_teardown);
}
