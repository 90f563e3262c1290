// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Many processes at once: NPROC children forked together, each connecting
 * anew and doing NOPS mixed puts, gets and deletes, half through plain calls
 * and half through batches, on keys of its own and on keys shared by all.
 *
 * Schedules are deterministic (seeded by the child's number), so the parent
 * replays them to know the final contents of every private key, and for
 * each shared key the last operation each child did on it.
 *
 * Private keys: each child checks every read against its own model at once
 * (read-your-writes), and the parent checks the final contents exactly.
 * Shared keys: every value is self-describing (writer, sequence number, key,
 * length and a checksum), so any read can tell a torn or misplaced value;
 * at the end each shared key must hold the last write of some child to it,
 * or be absent when some child's last operation on it was a delete.
 * Finally a scan and plain gets must agree with each other and the model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#define NPROC 8
#define NOPS 20000
#define NPRIV 400	/* private keys per child */
#define NSHARED 64
#define SEG 100		/* operations per segment: plain or batched */
#define DEPTH 32
#define VMAX 70000	/* the largest value */

static char table[64];

enum { OP_PUT, OP_GET, OP_DEL };

struct op {
	int shared;
	int op;
	uint32_t key;		/* index among private or shared keys */
	uint32_t vlen;
	uint32_t seq;		/* the op's number in its child: 1.. */
};

/* The @i-th operation of child @c's schedule (deterministic). */
static void schedule(int c, uint32_t i, uint64_t *rng, struct op *o)
{
	uint32_t r = h_rand_below(rng, 100);

	o->seq = i + 1;
	o->shared = h_rand_below(rng, 100) < 30;
	o->key = h_rand_below(rng, o->shared ? NSHARED : NPRIV);
	o->op = r < 45 ? OP_PUT : r < 80 ? OP_GET : OP_DEL;
	r = h_rand_below(rng, 1000);
	if (r < 5)
		o->vlen = 4096 + h_rand_below(rng, VMAX - 4096);
	else if (r < 50)
		o->vlen = h_rand_below(rng, 4096);
	else
		o->vlen = h_rand_below(rng, 200);
	(void)c;
}

static uint64_t seed_of(int c)
{
	return 0x5eed0000ULL + (uint64_t)c * 7919;
}

static int key_of(char *buf, int shared, int c, uint32_t k)
{
	if (shared)
		return sprintf(buf, "s-%03u", k);
	return sprintf(buf, "p%d-%04u", c, k);
}

/*
 * A value: header { magic, writer, seq, key index, shared, len, sum } then
 * len - header bytes of filler made from (writer, seq).  Values shorter than
 * the header are bytes of the filler alone; they are checked by length and
 * contents, which the reader knows from (writer, seq) only for private keys
 * (short shared values are never written: see vlen_of()).
 */
struct vhdr {
	uint32_t magic;
	uint32_t writer;
	uint32_t seq;
	uint32_t key;
	uint32_t shared;
	uint32_t len;
	uint64_t sum;
};

#define VMAGIC 0x7064626bU

static uint32_t vlen_of(const struct op *o)
{
	if (o->shared && o->vlen < sizeof(struct vhdr))
		return sizeof(struct vhdr) + o->vlen;
	return o->vlen;
}

static void make_value(uint8_t *buf, int c, const struct op *o)
{
	uint32_t len = vlen_of(o);
	struct vhdr h;

	h_fill(buf, len, ((uint64_t)c << 32) | o->seq);
	if (len < sizeof(h))
		return;
	h.magic = VMAGIC;
	h.writer = (uint32_t)c;
	h.seq = o->seq;
	h.key = o->key;
	h.shared = (uint32_t)o->shared;
	h.len = len;
	h.sum = h_fnv(buf + sizeof(h), len - sizeof(h));
	memcpy(buf, &h, sizeof(h));
}

/* Is @v a well-formed shared value for shared key @k?  Fills *@h. */
static int shared_value_ok(const uint8_t *v, size_t len, uint32_t k,
			   struct vhdr *h)
{
	if (len < sizeof(*h))
		return 0;
	memcpy(h, v, sizeof(*h));
	return h->magic == VMAGIC && h->writer < NPROC && h->shared == 1 &&
	       h->key == k && h->len == len && h->seq >= 1 && h->seq <= NOPS &&
	       h->sum == h_fnv(v + sizeof(*h), len - sizeof(*h));
}

/* Private key model of one child: the seq of the live put, 0 if absent. */
struct model {
	uint32_t priv[NPRIV];		/* seq of the last put, 0: absent */
	uint32_t priv_len[NPRIV];
	int last_op[NSHARED];		/* OP_PUT, OP_DEL or -1 */
	uint32_t last_seq[NSHARED];	/* seq of the last put/del */
};

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	memset(m->last_op, 0xff, sizeof(m->last_op));
}

static void model_apply(struct model *m, const struct op *o)
{
	if (o->op == OP_GET)
		return;
	if (o->shared) {
		m->last_op[o->key] = o->op;
		m->last_seq[o->key] = o->seq;
	} else if (o->op == OP_PUT) {
		m->priv[o->key] = o->seq;
		m->priv_len[o->key] = vlen_of(o);
	} else {
		m->priv[o->key] = 0;
	}
}

/* Replays child @c's whole schedule into @m. */
static void replay(int c, struct model *m)
{
	uint64_t rng = seed_of(c);
	struct op o;
	uint32_t i;

	model_init(m);
	for (i = 0; i < NOPS; i++) {
		schedule(c, i, &rng, &o);
		model_apply(m, &o);
	}
}

/* ---- the child ---------------------------------------------------------- */

static uint8_t *cbuf;	/* values to write */
static uint8_t *xbuf;	/* expected values, for checks */
static uint8_t *rbuf;	/* read buffer */

/*
 * Checks the result of a GET of @o against the model (before applying @o).
 * For a private key the model is exact; a shared key must be absent or hold
 * a well-formed value for it.
 */
static void child_check_get(int c, const struct model *m, const struct op *o,
			    int rc, const uint8_t *v, size_t vlen)
{
	struct op w;
	struct vhdr h;

	if (o->shared) {
		CHILD_CHECK(rc == 0 || rc == -ENOENT, "get s-%03u: %d (%s)",
			    o->key, rc, tdb_strerror(rc));
		if (rc == 0)
			CHILD_CHECK(shared_value_ok(v, vlen, o->key, &h),
				    "malformed shared value s-%03u (%zu bytes)",
				    o->key, vlen);
		/* our own last write is visible unless someone overwrote it */
		return;
	}
	if (!m->priv[o->key]) {
		CHILD_CHECK(rc == -ENOENT, "get p%d-%04u: %d, expected ENOENT",
			    c, o->key, rc);
		return;
	}
	CHILD_CHECK(rc == 0, "get p%d-%04u: %d (%s)", c, o->key, rc,
		    tdb_strerror(rc));
	CHILD_CHECK(vlen == m->priv_len[o->key],
		    "get p%d-%04u: %zu bytes, expected %u", c, o->key, vlen,
		    m->priv_len[o->key]);
	memset(&w, 0, sizeof(w));
	w.key = o->key;
	w.seq = m->priv[o->key];
	w.vlen = m->priv_len[o->key];
	make_value(xbuf, c, &w);
	CHILD_CHECK(memcmp(xbuf, v, vlen) == 0,
		    "get p%d-%04u: wrong contents (expected seq %u)", c,
		    o->key, w.seq);
}

/* Checks a PUT/DEL status against the model (before applying @o). */
static void child_check_write(int c, const struct model *m, const struct op *o,
			      int rc)
{
	if (o->op == OP_PUT) {
		CHILD_CHECK(rc == 0, "put %s%u: %d (%s)", o->shared ? "s" : "p",
			    o->key, rc, tdb_strerror(rc));
	} else if (o->shared) {
		CHILD_CHECK(rc == 0 || rc == -ENOENT, "del s-%03u: %d (%s)",
			    o->key, rc, tdb_strerror(rc));
	} else {
		CHILD_CHECK(rc == (m->priv[o->key] ? 0 : -ENOENT),
			    "del p%d-%04u: %d, model says %s", c, o->key, rc,
			    m->priv[o->key] ? "present" : "absent");
	}
}

/* What a queued batch operation must complete with. */
struct pend {
	struct op o;
	int want;		/* private: expected status */
	uint32_t want_seq;	/* private GET: seq of the expected value */
	uint32_t want_len;
	int used;
};

static struct pend pend[SEG];

static void child_reap(int c, struct tdb_batch *b, unsigned int min,
		       unsigned int *left)
{
	struct tdb_completion comp[DEPTH];
	int n, i;

	n = tdb_batch_reap(b, comp, DEPTH, min);
	CHILD_CHECK(n >= (int)min, "reap: %d (%s)", n, tdb_strerror(n));
	for (i = 0; i < n; i++) {
		uintptr_t id = (uintptr_t)comp[i].user;
		struct pend *p;
		struct model mm;

		CHILD_CHECK(id >= 1 && id <= SEG, "reap: bad user %lu",
			    (unsigned long)id);
		p = &pend[id - 1];
		CHILD_CHECK(p->used == 1, "reap: op %lu completed twice",
			    (unsigned long)id);
		p->used = 2;
		CHILD_CHECK(comp[i].op == (p->o.op == OP_PUT ? TDB_CMD_PUT :
					   p->o.op == OP_GET ? TDB_CMD_GET :
							       TDB_CMD_DEL),
			    "reap: op %u for seq %u", comp[i].op, p->o.seq);
		if (p->o.shared) {
			/* the model is not needed for shared keys */
			model_init(&mm);
		} else {
			model_init(&mm);
			mm.priv[p->o.key] = p->want_seq;
			mm.priv_len[p->o.key] = p->want_len;
		}
		if (p->o.op == OP_GET)
			child_check_get(c, &mm, &p->o, comp[i].status,
					comp[i].val, comp[i].vlen);
		else
			child_check_write(c, &mm, &p->o, comp[i].status);
		(*left)--;
	}
}

static int child_main(int c, int start_fd)
{
	struct tdb *db;
	struct tdb_batch *b;
	struct model *m = calloc(1, sizeof(*m));
	uint64_t rng = seed_of(c);
	struct op o;
	char key[32];
	uint32_t i;
	int rc, klen;
	char go;

	cbuf = malloc(VMAX + 64);
	xbuf = malloc(VMAX + 64);
	rbuf = malloc(VMAX + 64);
	CHILD_CHECK(m && cbuf && xbuf && rbuf, "out of memory");
	model_init(m);
	rc = h_connect(&db);
	CHILD_CHECK(rc == 0, "connect: %d (%s)", rc, tdb_strerror(rc));
	b = tdb_batch_new(db, DEPTH);
	CHILD_CHECK(b, "tdb_batch_new");

	/* start all together */
	CHILD_CHECK(read(start_fd, &go, 1) == 1, "start pipe");

	for (i = 0; i < NOPS; i += SEG) {
		uint32_t j, nseg = NOPS - i < SEG ? NOPS - i : SEG;
		int batched = (i / SEG) % 2;
		unsigned int left = 0;

		for (j = 0; j < nseg; j++) {
			schedule(c, i + j, &rng, &o);
			klen = key_of(key, o.shared, c, o.key);
			if (o.op == OP_PUT)
				make_value(cbuf, c, &o);
			if (!batched) {
				size_t vlen = 0;

				if (o.op == OP_PUT) {
					rc = tdb_put(db, table, key, klen, cbuf,
						     vlen_of(&o), 0);
					child_check_write(c, m, &o, rc);
				} else if (o.op == OP_DEL) {
					rc = tdb_del(db, table, key, klen);
					child_check_write(c, m, &o, rc);
				} else {
					rc = tdb_get(db, table, key, klen,
						     rbuf, VMAX + 64, &vlen);
					child_check_get(c, m, &o, rc, rbuf,
							vlen);
				}
				model_apply(m, &o);
				continue;
			}
			/* batched: same-key operations run in queue order */
			while (tdb_batch_pending(b) >= DEPTH) {
				rc = tdb_batch_submit(b);
				CHILD_CHECK(rc == 0, "submit: %d", rc);
				child_reap(c, b, 1, &left);
			}
			pend[j].o = o;
			pend[j].used = 1;
			if (!o.shared) {
				pend[j].want_seq = m->priv[o.key];
				pend[j].want_len = m->priv_len[o.key];
			}
			if (o.op == OP_PUT)
				rc = tdb_batch_put(b, table, key, klen, cbuf,
						   vlen_of(&o), 0,
						   (void *)(uintptr_t)(j + 1));
			else if (o.op == OP_DEL)
				rc = tdb_batch_del(b, table, key, klen,
						   (void *)(uintptr_t)(j + 1));
			else
				rc = tdb_batch_get(b, table, key, klen,
						   (void *)(uintptr_t)(j + 1));
			CHILD_CHECK(rc == 0, "queue: %d (%s)", rc,
				    tdb_strerror(rc));
			left++;
			model_apply(m, &o);
		}
		if (batched) {
			rc = tdb_batch_submit(b);
			CHILD_CHECK(rc == 0, "submit: %d", rc);
			while (left)
				child_reap(c, b, 1, &left);
			CHILD_CHECK(tdb_batch_pending(b) == 0, "pending %u",
				    tdb_batch_pending(b));
			for (j = 0; j < nseg; j++)
				CHILD_CHECK(pend[j].used == 2,
					    "op %u never completed", j);
		}
	}

	/* Our private keys, read back once more. */
	for (i = 0; i < NPRIV; i++) {
		size_t vlen = 0;

		o.shared = 0;
		o.key = i;
		o.op = OP_GET;
		klen = key_of(key, 0, c, i);
		rc = tdb_get(db, table, key, klen, rbuf, VMAX + 64, &vlen);
		child_check_get(c, m, &o, rc, rbuf, vlen);
	}
	tdb_batch_free(b);
	tdb_close(db);
	free(m);
	return 0;
}

/* ---- the parent --------------------------------------------------------- */

static void test_procs(void **state)
{
	static struct model models[NPROC];
	struct tdb *db;
	struct tdb_create_opts opts = { .durability = TDB_DUR_ASYNC };
	struct tdb_scan *s;
	struct tdb_table_info info;
	pid_t pids[NPROC];
	int pfd[2], c, rc, status, bad = 0;
	uint8_t *seen_priv = calloc(NPROC * NPRIV, 1);
	uint8_t seen_shared[NSHARED] = { 0 };
	uint8_t *v = malloc(VMAX + 64);
	const void *k, *sv;
	size_t klen, svlen, vlen;
	uint64_t records = 0, t0;
	char key[32];
	uint32_t i;

	(void)state;
	assert_non_null(seen_priv);
	assert_non_null(v);
	assert_int_equal(h_connect(&db), 0);
	h_table(table, sizeof(table), "procs");
	assert_int_equal(tdb_create(db, table, &opts), 0);

	assert_int_equal(pipe(pfd), 0);
	for (c = 0; c < NPROC; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] == 0) {
			close(pfd[1]);
			/* the parent's connection is not ours to use */
			tdb_close(db);
			_exit(child_main(c, pfd[0]));
		}
	}
	close(pfd[0]);
	t0 = h_now_ms();
	{
		char go[NPROC];

		memset(go, 'g', sizeof(go));
		assert_int_equal(write(pfd[1], go, NPROC), NPROC);
	}
	close(pfd[1]);
	for (c = 0; c < NPROC; c++) {
		status = h_wait_child(pids[c], 600000);
		if (status != 0) {
			print_error("child %d exited with %d\n", c, status);
			bad++;
		}
	}
	print_message("%d processes x %d operations: %lu ms\n", NPROC, NOPS,
		      (unsigned long)(h_now_ms() - t0));
	assert_int_equal(bad, 0);

	for (c = 0; c < NPROC; c++)
		replay(c, &models[c]);

	/* Scan: every record once, each one as the model says. */
	assert_int_equal(tdb_scan_open(db, table, &s), 0);
	while ((rc = tdb_scan_next(s, &k, &klen, &sv, &svlen)) == 1) {
		char kb[32];
		unsigned int a, bk;
		struct vhdr h;

		assert_true(klen < sizeof(kb));
		memcpy(kb, k, klen);
		kb[klen] = 0;
		records++;
		if (sscanf(kb, "s-%u", &a) == 1) {
			assert_true(a < NSHARED);
			if (seen_shared[a]++)
				fail_msg("scan: %s twice", kb);
			if (!shared_value_ok(sv, svlen, a, &h))
				fail_msg("scan: malformed value under %s", kb);
			/* the writer's last operation on it was this put */
			if (models[h.writer].last_op[a] != OP_PUT ||
			    models[h.writer].last_seq[a] != h.seq)
				fail_msg("%s holds child %u's seq %u, which is "
					 "not its last write there (%d@%u)",
					 kb, h.writer, h.seq,
					 models[h.writer].last_op[a],
					 models[h.writer].last_seq[a]);
		} else if (sscanf(kb, "p%u-%u", &a, &bk) == 2) {
			struct op w = { 0 };

			assert_true(a < NPROC && bk < NPRIV);
			if (seen_priv[a * NPRIV + bk]++)
				fail_msg("scan: %s twice", kb);
			if (!models[a].priv[bk])
				fail_msg("scan: %s present, model says deleted",
					 kb);
			assert_int_equal(svlen, models[a].priv_len[bk]);
			w.key = bk;
			w.seq = models[a].priv[bk];
			w.vlen = models[a].priv_len[bk];
			make_value(v, (int)a, &w);
			if (memcmp(v, sv, svlen))
				fail_msg("scan: %s has wrong contents", kb);
		} else {
			fail_msg("scan: foreign key %s", kb);
		}
	}
	assert_int_equal(rc, 0);
	tdb_scan_close(s);

	/* Gets: every key, present or not, agrees with the scan. */
	for (c = 0; c < NPROC; c++)
		for (i = 0; i < NPRIV; i++) {
			int klen2 = key_of(key, 0, c, i);

			rc = tdb_get(db, table, key, klen2, v, VMAX + 64,
				     &vlen);
			if (models[c].priv[i]) {
				assert_int_equal(rc, 0);
				assert_true(seen_priv[c * NPRIV + i] == 1);
				assert_int_equal(vlen, models[c].priv_len[i]);
			} else {
				assert_int_equal(rc, -ENOENT);
				assert_true(seen_priv[c * NPRIV + i] == 0);
			}
		}
	for (i = 0; i < NSHARED; i++) {
		int klen2 = key_of(key, 1, 0, i), any_del = 0;
		struct vhdr h;

		for (c = 0; c < NPROC; c++)
			any_del |= models[c].last_op[i] == OP_DEL;
		rc = tdb_get(db, table, key, klen2, v, VMAX + 64, &vlen);
		if (rc == -ENOENT) {
			assert_int_equal(seen_shared[i], 0);
			if (!any_del)
				fail_msg("%s absent, but no child's last "
					 "operation on it was a delete", key);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(seen_shared[i], 1);
			assert_true(shared_value_ok(v, vlen, i, &h));
		}
	}
	assert_int_equal(tdb_info(db, table, &info), 0);
	assert_int_equal(info.records, records);

	assert_int_equal(tdb_drop(db, table), 0);
	tdb_close(db);
	free(seen_priv);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_procs),
	};

	return cmocka_run_group_tests_name("integration/procs", tests, NULL,
					   NULL);
}
