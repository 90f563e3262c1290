#!/bin/sh
# make bench / make bench-quick: every workload of issue 7 in one run, tdb
# against its peers, each part started with its own owner and servers in a
# temporary directory (the scripts below).  Each part's own report is
# printed as it finishes (it states its exact parameters and the peers'
# configurations); then one table of all workloads, with the ratios and
# the targets, which also goes to a JSON file.
#
#   scripts/bench.sh BUILD_DIR [full|quick]
#
#   part     script                      workloads
#   alloc    bench/alloc                 7  tdb's pool and slabs vs malloc
#   gets     scripts/bench-gets.sh       1  batched gets vs LMDB
#                                        6  scaling, memory per record
#   redis    scripts/bench-redis.sh      2  unbatched gets vs Redis
#                                        3  pipelined gets+sets vs Redis
#   durable  scripts/bench-durable.sh    4  durable puts vs LMDB and Redis
#   load     scripts/bench-load.sh       5  bulk load vs ipset, nft, LMDB
#
# Settings, from the environment:
#   BENCH_PARTS  the parts to run (default: all, in the order above)
#   BENCH_JSON   where the JSON goes (full: bench/results/latest.json;
#                quick: BUILD_DIR/bench-quick.json, so that a quick run
#                never replaces the figures kept in the tree)
#   and each script's own settings (BENCH_SECONDS, BENCH_RUNS, ...), which
#   the quick mode sets to small values: it checks that every workload
#   still runs (CI runs it after the tests), not how fast.
#
# Every part's "result NAME VALUE" lines are kept as PART.NAME, all of them
# in the JSON's "results"; the table picks the ones with targets.  Exit
# status 1 when a part fails (its output says why); a missed target is
# reported, not a failure.
set -eu
O=$1
mode=${2:-full}
case "$mode" in
full) json=${BENCH_JSON:-bench/results/latest.json} ;;
quick) json=${BENCH_JSON:-$O/bench-quick.json} ;;
*) echo "bench.sh: mode is full or quick, not '$mode'" >&2; exit 2 ;;
esac
parts=${BENCH_PARTS:-alloc gets redis durable load}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results=$tmp/results
: >"$results"
began=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# The tree measured: what it was when the run began.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] ||
	commit="$commit+changes"
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# Runs part $1: the command after it; keeps its "result" lines as $1.NAME.
part() {
	name=$1
	shift
	echo "=== $name: $*"
	t0=$(date +%s)
	if ! "$@" >"$tmp/$name.out" 2>&1; then
		cat "$tmp/$name.out"
		echo "bench.sh: part $name failed: $*" >&2
		exit 1
	fi
	grep -v '^result ' "$tmp/$name.out" || true
	awk -v p="$name" '$1 == "result" { print p "." $2, $3 }' \
		"$tmp/$name.out" >>"$results"
	echo "=== $name: $(($(date +%s) - t0)) s"
	echo
}

# Quick: every part small, its own settings (each script reads only its
# own), so that the whole run takes about a minute.
alloc_args=""
if [ "$mode" = quick ]; then
	export BENCH_RECORDS=100000 BENCH_SECONDS=1 BENCH_RUNS=1 \
		BENCH_SCALE="10000 100000" BENCH_RECOVERY=0 BENCH_COUNT=100000
	alloc_args="-n 1000000"
fi
for p in $parts; do
	case "$p" in
	alloc)
		# shellcheck disable=SC2086
		part alloc "$O"/bench/alloc $alloc_args ;;
	gets | redis | durable | load)
		part "$p" scripts/bench-"$p".sh "$O" ;;
	*)
		echo "bench.sh: unknown part '$p'" >&2
		exit 2 ;;
	esac
done

# The value of result $1 (PART.NAME), empty when that part did not run.
val() {
	awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$results"
}

# One row of the table, into $tmp/rows (tab-separated):
#   WORKLOAD LABEL UNIT TDB PEER PEERVALUE SENSE TARGET
# SENSE: "more" (rates: ratio tdb/peer), "less" (times: ratio peer/tdb) or
# "limit" (an absolute bound on tdb's own figure: ratio empty).  TARGET:
# the least ratio wanted, the bound for "limit" rows, or "-".
: >"$tmp/rows"
row() {
	[ -n "$4" ] || return 0
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$tmp/rows"
}

for n in 1 2 4; do
	row 1 "batched gets, $n process(es), depth 64" ops/s \
		"$(val gets.w1_tdb_p${n}_gets_per_s)" LMDB \
		"$(val gets.w1_lmdb_p${n}_gets_per_s)" more 1.0
done
row 2 "unbatched gets, 1 client" ops/s "$(val redis.tdb_get_ops_per_s)" \
	Redis "$(val redis.redis_get_ops_per_s)" more 3.0
row 2 "unbatched get latency, p50" us "$(val redis.tdb_get_p50_us)" \
	Redis "$(val redis.redis_get_p50_us)" less -
row 2 "unbatched get latency, p99" us "$(val redis.tdb_get_p99_us)" \
	Redis "$(val redis.redis_get_p99_us)" limit 50
row 3 "pipelined gets+sets, 4 processes" ops/s \
	"$(val redis.tdb_pipelined_ops_per_s)" Redis \
	"$(val redis.redis_pipelined_ops_per_s)" more 2.0
row 4 "durable puts, 4 processes, 1 in flight each" puts/s \
	"$(val durable.w4_tdb_plain_puts_per_s)" LMDB \
	"$(val durable.w4_lmdb_puts_per_s)" more 10.0
row 4 "durable puts, 4 processes, pipelined" puts/s \
	"$(val durable.w4_tdb_pipelined_puts_per_s)" LMDB \
	"$(val durable.w4_lmdb_puts_per_s)" more 10.0
row 4 "durable puts, 1 in flight each" puts/s \
	"$(val durable.w4_tdb_plain_puts_per_s)" Redis \
	"$(val durable.w4_redis_plain_puts_per_s)" more -
row 4 "durable puts, pipelined" puts/s \
	"$(val durable.w4_tdb_pipelined_puts_per_s)" Redis \
	"$(val durable.w4_redis_pipelined_puts_per_s)" more -
row 5 "bulk load of prefixes, wall time" s "$(val load.tdb_load_s)" \
	- - limit 1.0
row 5 "bulk load vs ipset restore" s "$(val load.tdb_load_s)" ipset \
	"$(val load.ipset_s)" less 3.0
row 5 "bulk load vs nft -f (interval set)" s "$(val load.tdb_load_s)" nft \
	"$(val load.nft-set_s)" less -
row 5 "bulk load vs LMDB (1 txn, file order)" s "$(val load.tdb_load_s)" \
	LMDB "$(val load.lmdb_s)" less -
row 5 "bulk load vs LMDB (1 txn, sorted, append)" s \
	"$(val load.tdb_load_s)" LMDB "$(val load.lmdb_sorted_s)" less -
# Scaling: the largest table against the smallest, same client count.
scale=$(awk '$1 ~ /^gets\.w6_tdb_r[0-9]+_gets_per_s$/ {
	n = $1; sub(/^gets\.w6_tdb_r/, "", n); sub(/_gets_per_s$/, "", n)
	print n }' "$results" | sort -n)
if [ -n "$scale" ]; then
	small=$(echo "$scale" | head -n 1)
	for n in $scale; do
		[ "$n" != "$small" ] || continue
		row 6 "batched gets at $n records" ops/s \
			"$(val gets.w6_tdb_r${n}_gets_per_s)" "tdb@$small" \
			"$(val gets.w6_tdb_r${small}_gets_per_s)" more 0.75
	done
	for n in $scale; do
		row 6 "owner memory per record at $n records" B \
			"$(val gets.w6_tdb_r${n}_bytes_per_record)" - - limit -
	done
fi
# bench/alloc's cases, in its order.
c=0
for what in "Small [pool]" "Big [pool]" "Small, 1/4 freed [pool]" \
	"Big, 1/4 freed [pool]" "Small/Big mix [pool]" "many pools [pool]" \
	"Small, 1/4 freed [slab]" "Big, 1/4 freed [slab]"; do
	c=$((c + 1))
	row 7 "allocations: $what" Mops/s "$(val alloc.w7_case${c}_tdb_mops)" \
		malloc "$(val alloc.w7_case${c}_malloc_mops)" more -
done

machine="$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' \
	/proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' \
	/proc/meminfo), Linux $(uname -r)"
load1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "=== summary ($mode): $began, commit $commit"
echo "    $machine; load average $load0 at the start, $load1 at the end"
echo "    ratio: tdb's rate over the peer's, or the peer's time over tdb's"
awk -F'\t' '
function num(x) { return x == "-" || x == "" ? "-" : x }
{
	w = $1; label = $2; unit = $3; t = $4; peer = $5; pv = $6
	sense = $7; target = $8; ratio = ""; verdict = ""
	if (sense == "more" && pv > 0)
		ratio = t / pv
	else if (sense == "less" && t > 0 && pv != "-")
		ratio = pv / t
	if (target != "-") {
		if (sense == "limit")
			verdict = t < target ? "met" : "MISSED"
		else if (ratio != "")
			verdict = ratio >= target ? "met" : "MISSED"
	}
	fmt = unit == "s" || unit == "us" || unit == "Mops/s" ? "%.2f" : \
	      unit == "B" ? "%.1f" : "%.0f"
	ts = sprintf(fmt, t)
	ps = pv == "-" ? "" : sprintf(fmt, pv)
	rs = ratio == "" ? "" : sprintf("%.2fx", ratio)
	tg = target == "-" ? "" : (sense == "limit" ? "< " target " " unit : \
	     ">= " target "x")
	if (w != last)
		print ""
	last = w
	printf "%s %-44s %12s %-7s %-8s %12s %8s  %-10s %s\n", w, label, ts, \
		unit, peer == "-" ? "" : peer, ps, rs, tg, verdict
}' "$tmp/rows"

mkdir -p "$(dirname "$json")"
awk -F'\t' -v date="$began" -v mode="$mode" -v commit="$commit" \
    -v machine="$machine" -v load0="$load0" -v load1="$load1" \
    -v results="$results" '
function str(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s)
	return "\"" s "\"" }
function num(x) { return x == "" || x == "-" ? "null" : x + 0 }
BEGIN {
	printf "{\n  \"date\": %s,\n  \"mode\": %s,\n  \"commit\": %s,\n", \
		str(date), str(mode), str(commit)
	printf "  \"machine\": %s,\n  \"load_average\": [%s, %s],\n", \
		str(machine), str(load0), str(load1)
	printf "  \"rows\": ["
}
{
	ratio = "null"
	if ($7 == "more" && $6 > 0)
		ratio = $4 / $6
	else if ($7 == "less" && $4 > 0 && $6 != "-")
		ratio = $6 / $4
	met = "null"
	if ($8 != "-" && $7 == "limit")
		met = $4 < $8 ? "true" : "false"
	else if ($8 != "-" && ratio != "null")
		met = ratio >= $8 ? "true" : "false"
	printf "%s\n    {\"workload\": %d, \"what\": %s, \"unit\": %s, " \
		"\"tdb\": %s, \"peer\": %s, \"peer_value\": %s, " \
		"\"ratio\": %s, \"target\": %s, \"target_kind\": %s, " \
		"\"met\": %s}", n++ ? "," : "", $1, str($2), str($3), num($4), \
		$5 == "-" ? "null" : str($5), num($6), \
		ratio == "null" ? ratio : sprintf("%.3f", ratio), num($8), \
		$8 == "-" ? "null" : str($7 == "limit" ? "below" : "least ratio"), \
		met
}
END {
	printf "\n  ],\n  \"results\": {"
	n = 0
	while ((getline line < results) > 0) {
		split(line, f, " ")
		printf "%s\n    %s: %s", n++ ? "," : "", str(f[1]), num(f[2])
	}
	printf "\n  }\n}\n"
}' "$tmp/rows" >"$json"
echo
echo "bench.sh: figures in $json"
