// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/prefixes - the prefix set of the bulk-load benchmark
 * (scripts/bench-load.sh), written once in the input form of each peer.
 *
 *   prefixes --dir DIR [--count N] [--seed S] [--csv key|value|action|full]
 *
 * Draws N (default 1000000) distinct IPv4 prefixes, no two of which
 * overlap, each with an action (accept, drop or reject), deterministically
 * from the seed S (default 1): the same N and S give the same files on any
 * machine.  The prefix lengths follow a fixed mix shaped like a large
 * blocklist or routing table (about 45% /24, 30% /32, the rest /14 to /31;
 * see lengths[] below); together the prefixes cover about a quarter of the
 * address space, so random addresses hit about one time in four.  They
 * are drawn shortest first, a candidate that lies inside an earlier
 * prefix being drawn again, so that none contains another; then they are
 * shuffled, so that no peer receives them sorted.
 *
 * Why no overlaps: an nftables interval set (and map) refuses overlapping
 * elements (auto-merge would merge them, and is not allowed on maps), so
 * only a set without overlaps loads the same records into every peer.
 *
 * Files written into DIR (created if missing):
 *   fw.csv               tdbcli load: a header, then one record a line.
 *                        --csv key: "prefix" alone (a bare cidr4 table);
 *                        value: "prefix,value", the action's name as the
 *                        opaque value of a bare table;
 *                        action (the default): "prefix,action";
 *                        full: "prefix,action,proto,dport,priority,comment"
 *                        (schema/fw4.json), the fields after action fixed.
 *   ipset.restore        ipset restore: "create fw hash:net ... skbinfo",
 *                        then "add fw PREFIX skbmark M" with the action as
 *                        the mark (accept 0x1, drop 0x2, reject 0x3)
 *   ipset-plain.restore  the same prefixes without the action
 *   nft-set.nft          nft -f: table ip fw, interval set "pfx"
 *   nft-vmap.nft         nft -f: table ip fw, interval verdict map "pfxv"
 *                        (accept, drop, or jump to a chain that rejects)
 *   plain.txt            "PREFIX ACTION" lines: bench/lmdb_load and
 *                        bench/lookup read it
 * A /32 is written with its length ("10.0.0.1/32") everywhere.
 *
 * The ipset sets are sized for the load: maxelem the next power of two at
 * or above N (never under 65536), hashsize maxelem / 2 (at least 1024),
 * so the hash never grows while loading (ipset grows it when a bucket
 * overflows) and buckets stay short for lookups.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

/* Tenths of a percent of the prefixes at each length; /24 takes the rest. */
static const struct {
	unsigned int len, tenths;
} lengths[] = {
	{ 14, 1 },  { 15, 1 },  { 16, 10 }, { 17, 5 },  { 18, 7 },
	{ 19, 10 }, { 20, 20 }, { 21, 25 }, { 22, 40 }, { 23, 40 },
	{ 25, 5 },  { 26, 5 },  { 27, 10 }, { 28, 15 }, { 29, 20 },
	{ 30, 30 }, { 31, 5 },  { 32, 300 },
};

struct prefix {
	uint32_t addr;		/* host order */
	uint8_t len;
	uint8_t action;		/* index in prefix_actions[] */
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	return splitmix(rng_state++);
}

/* Open addressing over (addr << 6 | len) + 1; 0 is an empty slot. */
static uint64_t *set;
static uint64_t set_mask;

static uint64_t set_slot(uint64_t k)
{
	uint64_t i = splitmix(k) & set_mask;

	while (set[i] && set[i] != k)
		i = (i + 1) & set_mask;
	return i;
}

static int set_has(uint32_t addr, unsigned int len)
{
	uint64_t k = ((uint64_t)addr << 6 | len) + 1;

	return set[set_slot(k)] == k;
}

static void set_add(uint32_t addr, unsigned int len)
{
	uint64_t k = ((uint64_t)addr << 6 | len) + 1;

	set[set_slot(k)] = k;
}

static uint32_t mask(unsigned int len)
{
	return len ? ~0U << (32 - len) : 0;
}

static FILE *out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "bench/prefixes: %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
	return f;
}

static void done(FILE *f, const char *name)
{
	if (ferror(f) || fclose(f)) {
		fprintf(stderr, "bench/prefixes: writing %s failed\n", name);
		exit(1);
	}
}

static const char usage[] =
	"usage: prefixes --dir DIR [--count N] [--seed S] [--csv key|value|action|full]\n"
	"Writes N non-overlapping random IPv4 prefixes with actions as\n"
	"fw.csv, ipset.restore, ipset-plain.restore, nft-set.nft,\n"
	"nft-vmap.nft and plain.txt in DIR.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "csv", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long count = 1000000, seed = 1, maxelem, hashsize, i, n;
	unsigned int l, j, used[33] = { 0 }, nused = 0;
	const char *dir = NULL, *csv = "action";
	char a[INET_ADDRSTRLEN];
	struct prefix *p;
	unsigned long at[33] = { 0 };
	double covered = 0;
	FILE *f[6];
	int c;

	while ((c = bench_getopt(argc, argv, "d:n:s:c:h", opts, usage)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			csv = optarg;
			break;
		}
	}
	if (!dir || !count || count > 50000000 ||
	    (strcmp(csv, "key") && strcmp(csv, "value") &&
	     strcmp(csv, "action") &&
	     strcmp(csv, "full")))
		usage_exit(usage, 2);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "bench/prefixes: mkdir %s: %s\n", dir,
			strerror(errno));
		return 1;
	}

	/* How many at each length. */
	n = 0;
	for (j = 0; j < sizeof(lengths) / sizeof(lengths[0]); j++) {
		at[lengths[j].len] = count * lengths[j].tenths / 1000;
		n += at[lengths[j].len];
	}
	at[24] = count - n;

	for (set_mask = 1; set_mask < 2 * count; set_mask <<= 1)
		;
	set = calloc(set_mask, sizeof(*set));
	set_mask--;
	p = malloc(count * sizeof(*p));
	if (!set || !p) {
		fputs("bench/prefixes: out of memory\n", stderr);
		return 1;
	}
	rng_state = splitmix(seed ^ 0x7064625f62656e63ULL);

	/* Shortest first: a candidate can only lie inside an earlier one. */
	n = 0;
	for (l = 1; l <= 32; l++) {
		unsigned long tries = 0;

		for (i = 0; i < at[l]; i++) {
			uint32_t addr;
			unsigned int k;

again:
			if (++tries > 100 * at[l] + 1000) {
				fprintf(stderr, "bench/prefixes: no room for /%u prefixes\n",
					l);
				return 1;
			}
			addr = (uint32_t)rnd() & mask(l);
			for (k = 0; k < nused; k++)
				if (set_has(addr & mask(used[k]), used[k]))
					goto again;
			if (set_has(addr, l))
				goto again;
			set_add(addr, l);
			p[n].addr = addr;
			p[n].len = l;
			p[n].action = rnd() % 3;
			n++;
			covered += 1.0 / (1ULL << l);
		}
		if (at[l])
			used[nused++] = l;
	}

	/* Fisher-Yates. */
	for (i = count - 1; i > 0; i--) {
		unsigned long r = rnd() % (i + 1);
		struct prefix t = p[i];

		p[i] = p[r];
		p[r] = t;
	}

	for (maxelem = 65536; maxelem < count; maxelem <<= 1)
		;
	hashsize = maxelem / 2 < 1024 ? 1024 : maxelem / 2;

	f[0] = out(dir, "fw.csv");
	f[1] = out(dir, "ipset.restore");
	f[2] = out(dir, "ipset-plain.restore");
	f[3] = out(dir, "nft-set.nft");
	f[4] = out(dir, "nft-vmap.nft");
	f[5] = out(dir, "plain.txt");
	if (!strcmp(csv, "key"))
		fputs("prefix\n", f[0]);
	else if (!strcmp(csv, "value"))
		fputs("prefix,value\n", f[0]);
	else if (!strcmp(csv, "action"))
		fputs("prefix,action\n", f[0]);
	else
		fputs("prefix,action,proto,dport,priority,comment\n", f[0]);
	fprintf(f[1], "create fw hash:net family inet hashsize %lu maxelem %lu skbinfo\n",
		hashsize, maxelem);
	fprintf(f[2], "create fw hash:net family inet hashsize %lu maxelem %lu\n",
		hashsize, maxelem);
	fputs("table ip fw {\n\tset pfx {\n\t\ttype ipv4_addr\n"
	      "\t\tflags interval\n\t\telements = {", f[3]);
	fputs("table ip fw {\n\tchain rej {\n\t\treject\n\t}\n"
	      "\tmap pfxv {\n\t\ttype ipv4_addr : verdict\n"
	      "\t\tflags interval\n\t\telements = {", f[4]);
	for (i = 0; i < count; i++) {
		static const char *const verdicts[] = { "accept", "drop",
							"jump rej" };
		uint32_t be = htonl(p[i].addr);
		const char *act = prefix_actions[p[i].action];
		const char *sep = i + 1 < count ? "," : "";

		inet_ntop(AF_INET, &be, a, sizeof(a));
		if (!strcmp(csv, "key"))
			fprintf(f[0], "%s/%u\n", a, p[i].len);
		else if (strcmp(csv, "full"))
			fprintf(f[0], "%s/%u,%s\n", a, p[i].len, act);
		else
			fprintf(f[0], "%s/%u,%s,tcp,0-65535,%u,\n", a,
				p[i].len, act, 100 + p[i].action);
		fprintf(f[1], "add fw %s/%u skbmark 0x%x\n", a, p[i].len,
			p[i].action + 1);
		fprintf(f[2], "add fw %s/%u\n", a, p[i].len);
		fprintf(f[3], "%s%s/%u%s", i % 8 ? " " : "\n\t\t\t", a,
			p[i].len, sep);
		fprintf(f[4], "%s%s/%u : %s%s", i % 4 ? " " : "\n\t\t\t", a,
			p[i].len, verdicts[p[i].action], sep);
		fprintf(f[5], "%s/%u %s\n", a, p[i].len, act);
	}
	fputs("\n\t\t}\n\t}\n}\n", f[3]);
	fputs("\n\t\t}\n\t}\n}\n", f[4]);
	done(f[0], "fw.csv");
	done(f[1], "ipset.restore");
	done(f[2], "ipset-plain.restore");
	done(f[3], "nft-set.nft");
	done(f[4], "nft-vmap.nft");
	done(f[5], "plain.txt");

	printf("prefixes: %lu non-overlapping IPv4 prefixes (seed %lu), %.1f%% of the address space; ipset hashsize %lu maxelem %lu\n",
	       count, seed, covered * 100, hashsize, maxelem);
	printf("  by length:");
	for (l = 1; l <= 32; l++)
		if (at[l])
			printf(" /%u %lu", l, at[l]);
	printf("\n");
	free(set);
	free(p);
	return 0;
}
