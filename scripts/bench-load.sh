#!/bin/sh
# Bulk-load benchmark (issue 5): one run loads the same 1M random,
# non-overlapping IPv4 prefixes, each with an action, from a file into
#   tdb     tdbcli load fw FILE.csv --replace, into a sync table with the
#           schema schema/fw4.json (a bare cidr4 table, keys alone, when
#           tdbcli cannot create one with a schema), through a private tdbd
#   ipset   ipset restore, hash:net with skbinfo (the action as skbmark),
#           and without it (prefixes alone: ipset's cheapest form)
#   nft     nft -f, an interval set, and an interval verdict map (vmap)
#           carrying the action
#   LMDB    one write transaction of 1M puts, synced commit (bench/lmdb_load),
#           in file order, and sorted with MDB_APPEND
# and takes the median wall time of BENCH_RUNS runs of each, with records/s
# and each peer's time over tdb's.  ipset and nft run in private network
# namespaces (unshare -n; unshare -rn when not root): the machine's
# firewall is never touched.  Then a reload: tdb --replace over the full
# table against ipset's atomic idiom (restore into a new set, swap, destroy),
# alternating between two sets of 1M prefixes; and longest-prefix lookups
# per second through libtdb (bench/lookup) on the loaded table.
# Usage: scripts/bench-load.sh BUILD_DIR
#
# Settings, from the environment:
#   BENCH_DIR      where the data goes (default /var/tmp; not a tmpfs: the
#                  sync commits must reach a disk)
#   BENCH_COUNT    prefixes (1000000)
#   BENCH_SEED     seed of the prefix set (1; the reload's second set uses
#                  the seed + 1)
#   BENCH_RUNS     runs of each load, the median is kept (3)
#   BENCH_SECONDS  seconds per lookup run (5)
#   BENCH_ONLY     space-separated parts to run, of: tdb ipset nft lmdb
#                  reload lookup (default: all)
#   BENCH_SCHEMA   the table's schema (schema/fw4.json)
#   TDBD_ARGS      more tdbd arguments
# Quick version: BENCH_COUNT=100000 BENCH_RUNS=1 make bench-load
set -eu
O=$1
base=${BENCH_DIR:-/var/tmp}
count=${BENCH_COUNT:-1000000}
seed=${BENCH_SEED:-1}
runs=${BENCH_RUNS:-3}
seconds=${BENCH_SECONDS:-5}
only=${BENCH_ONLY:-tdb ipset nft lmdb reload lookup}
schema=${BENCH_SCHEMA:-schema/fw4.json}
# shellcheck disable=SC2086
set -- ${TDBD_ARGS:-}

ns="unshare -n"
[ "$(id -u)" -eq 0 ] || ns="unshare -rn"

tmp=$(mktemp -d "$base/tdb-bench-load.XXXXXX")
pid=""
trap '[ -z "$pid" ] || { kill $pid 2>/dev/null; wait $pid 2>/dev/null; }
	rm -rf "$tmp"' EXIT
fs=$(df -PT "$tmp" | awk 'NR == 2 { print $2 }')
echo "bench-load: data in $tmp ($fs, $(df -P "$tmp" | awk 'NR == 2 { print $1 }'))"
[ "$fs" != tmpfs ] || echo "bench-load: WARNING: $tmp is a tmpfs, fdatasync costs nothing there" >&2

want() {
	case " $only " in *" $1 "*) return 0 ;; esac
	return 1
}

results=$tmp/results
: >"$results"
# Records "result NAME VALUE".
put() {
	echo "result $1 $2" >>"$results"
}
# The median of the values recorded under NAME, empty if none.
median() {
	awk -v k="$1" '$1 == "result" && $2 == k { print $3 }' "$results" |
		sort -g | awk '{ v[NR] = $1 } END {
			if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
# All values recorded under NAME, in order.
values() {
	awk -v k="$1" '$1 == "result" && $2 == k { printf "%s%s", s, $3; s = " " }' \
		"$results"
}
# Pairs of "times" outputs around each run, and "time T0 T1" lines (ns),
# in FILE: one "WALL CPU" line per run, in seconds (CPU: the children's
# user + system time between the pair).
parse_runs() {
	awk 'function sec(x, a) { split(x, a, "m"); sub("s", "", a[2]); return a[1] * 60 + a[2] }
	/^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$/ { if (++k % 2 == 0) c[++nc] = sec($1) + sec($2) }
	$1 == "time" { w[++nw] = ($3 - $2) / 1e9 }
	END { for (i = 1; i <= nw; i++) printf "%.3f %.3f\n", w[i], c[2 * i] - c[2 * i - 1] }' "$1"
}
# tdbd's CPU time so far (user + system), in seconds; 0 without one.
tdbd_cpu() {
	if [ -n "$pid" ]; then
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' \
			"/proc/$pid/stat"
	else
		echo 0
	fi
}
# Records the runs of parse_runs FILE under NAME (plus EXTRA_CPU seconds
# of CPU for the last run) and shows them.
record() {
	parse_runs "$2" | while read -r w c; do
		put "${1}_s" "$w"
		put "${1}_cpu" "$c"
		echo "  $1: $w s wall, $c s CPU$3"
	done
}
# Runs CMD... (quietly unless it fails) and records its wall and CPU
# time under NAME; for tdb (NAME tdb_*), tdbd's CPU time meanwhile too.
timed() {
	name=$1
	shift
	d0=$(tdbd_cpu)
	{
		times
		echo "time $(date +%s%N) 0"
	} >"$tmp/runs"
	"$@" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; return 1; }
	t1=$(date +%s%N)
	times >>"$tmp/runs"
	sed -i "s/^time \([0-9]*\) 0\$/time \1 $t1/" "$tmp/runs"
	d1=$(tdbd_cpu)
	parse_runs "$tmp/runs" | while read -r w c; do
		c=$(awk -v c="$c" -v a="$d0" -v b="$d1" 'BEGIN { printf "%.3f", c + b - a }')
		put "${name}_s" "$w"
		put "${name}_cpu" "$c"
		echo "  $name: $w s wall, $c s CPU$(loadavg)"
	done
}
# Runs CMD... in a new network namespace, then the shell code POST there;
# records the wall and CPU time of CMD under NAME.
in_ns() {
	name=$1 post=$2
	shift 2
	# shellcheck disable=SC2016
	$ns sh -c 'post=$1; shift
		times; t0=$(date +%s%N)
		"$@" || exit 1
		t1=$(date +%s%N); times
		echo "time $t0 $t1"
		eval "$post"' sh "$post" "$@" >"$tmp/out" 2>&1 ||
		{ cat "$tmp/out" >&2; return 1; }
	record "$name" "$tmp/out" "$(loadavg)"
}
# The load average, to tell how noisy the machine was.
loadavg() {
	echo " (load $(cut -d' ' -f1 /proc/loadavg))"
}

echo "bench-load: generating $count prefixes (seed $seed)"
"$O"/bench/prefixes --dir "$tmp/a" --count "$count" --seed "$seed"
if want reload; then
	"$O"/bench/prefixes --dir "$tmp/b" --count "$count" \
		--seed $((seed + 1)) >/dev/null
fi
echo

cli() {
	"$O"/cli/tdbcli --socket "$tmp/tdbd.sock" "$@"
}
# Creates table fw, empty, with the schema or bare.
create_fw() {
	cli drop fw >/dev/null 2>&1 || true
	if [ "$bare" = 0 ]; then
		cli create fw --schema "$schema" --durability sync
	else
		cli create fw --key-type cidr4 --durability sync
	fi
}
# The number of records in table fw.
fw_records() {
	cli info fw | awk '$1 == "records:" { print $2 }'
}

if want tdb || want reload || want lookup; then
	"$O"/tdbd/tdbd --socket "$tmp/tdbd.sock" --data-dir "$tmp/tdb-data" \
		"$@" 2>"$tmp/tdbd.log" &
	pid=$!
	i=0
	until [ -S "$tmp/tdbd.sock" ]; do
		i=$((i + 1))
		[ $i -le 200 ] || { cat "$tmp/tdbd.log" >&2; exit 1; }
		sleep 0.05
	done
	export TDB_SOCKET="$tmp/tdbd.sock"

	bare=0
	if ! cli create fw --schema "$schema" --durability sync \
			>"$tmp/out" 2>&1; then
		echo "bench-load: cannot create a table with $schema ($(head -1 "$tmp/out")):" \
			"a bare cidr4 table, keys alone" >&2
		bare=1
		for d in a b; do
			[ -d "$tmp/$d" ] || continue
			cut -d, -f1 "$tmp/$d/fw.csv" >"$tmp/$d/fw-key.csv"
			mv "$tmp/$d/fw-key.csv" "$tmp/$d/fw.csv"
		done
		create_fw
	fi
	if [ "$bare" = 0 ]; then
		tdb_what="sync table, schema $schema, CSV prefix,action"
	else
		tdb_what="sync table, bare cidr4, CSV of keys alone"
	fi

fi

# The table created empty before each run (not timed).
if want tdb; then
	echo "tdb: tdbcli load fw fw.csv --replace into an empty $tdb_what"
	for r in $(seq "$runs"); do
		[ "$r" = 1 ] || create_fw
		timed tdb_load cli load fw "$tmp/a/fw.csv" --replace ||
			{ echo "tdbd's log:" >&2; cat "$tmp/tdbd.log" >&2; exit 1; }
		n=$(fw_records)
		[ "$n" = "$count" ] || {
			echo "bench-load: table fw holds $n records, not $count" >&2
			exit 1
		}
	done
	echo
fi

# ipset: each run in a new namespace, so each loads into nothing.
if want ipset; then
	for v in ipset ipset-plain; do
		echo "$v: ipset restore -f $v.restore in a private network namespace"
		for r in $(seq "$runs"); do
			in_ns "$v" 'ipset list -t fw' ipset restore -f "$tmp/a/$v.restore"
			n=$(awk '/^Number of entries:/ { print $4 }' "$tmp/out")
			[ "$n" = "$count" ] || {
				echo "bench-load: $v holds $n entries, not $count" >&2
				exit 1
			}
		done
		echo "  ($(grep -o 'hashsize [0-9]* maxelem [0-9]*' "$tmp/out") after the load)"
		echo
	done
fi

# nft: the same, one transaction per file.
if want nft; then
	for v in nft-set nft-vmap; do
		echo "$v: nft -f $v.nft in a private network namespace"
		for r in $(seq "$runs"); do
			in_ns "$v" : nft -f "$tmp/a/$v.nft"
		done
		echo
	done
fi

if want lmdb; then
	for v in "" --sorted; do
		echo "lmdb${v:+ $v}: bench/lmdb_load --file plain.txt $v"
		for r in $(seq "$runs"); do
			timed "lmdb${v:+_sorted}" "$O"/bench/lmdb_load \
				--dir "$tmp/lmdb" --file "$tmp/a/plain.txt" $v
			rm -rf "$tmp/lmdb"
		done
		echo
	done
fi

# Reload: replace a full set with the other one, alternately.
last=a
if want reload; then
	echo "reload: tdbcli load --replace over the full table, sets b, a, b..."
	create_fw
	cli load fw "$tmp/a/fw.csv" --replace >/dev/null
	for r in $(seq "$runs"); do
		[ "$last" = a ] && last=b || last=a
		timed tdb_reload cli load fw "$tmp/$last/fw.csv" --replace
	done
	echo
	echo "reload: ipset restore into fw-new, swap fw fw-new, destroy fw-new"
	for d in a b; do
		{
			sed 's/^\(create\|add\) fw /\1 fw-new /' "$tmp/$d/ipset.restore"
			echo "swap fw fw-new"
			echo "destroy fw-new"
		} >"$tmp/$d/ipset-swap.restore"
	done
	# shellcheck disable=SC2016
	$ns sh -c 'ipset restore -f "$1/a/ipset.restore" || exit 1
		d=a
		for r in $(seq "$2"); do
			[ $d = a ] && d=b || d=a
			times; t0=$(date +%s%N)
			ipset restore -f "$1/$d/ipset-swap.restore" || exit 1
			t1=$(date +%s%N); times
			echo "time $t0 $t1"
		done
		ipset list -t fw' sh "$tmp" "$runs" >"$tmp/out" 2>&1 ||
		{ cat "$tmp/out" >&2; exit 1; }
	n=$(awk '/^Number of entries:/ { print $4 }' "$tmp/out")
	[ "$n" = "$count" ] || {
		echo "bench-load: fw holds $n entries after the swaps, not $count" >&2
		exit 1
	}
	record ipset_reload "$tmp/out" "$(loadavg)"
	echo
fi

if want lookup; then
	if ! want tdb && ! want reload; then
		create_fw
		cli load fw "$tmp/a/fw.csv" --replace >/dev/null
	fi
	for mode in random inside; do
		for p in 1 2; do
			check=0
			[ "$mode.$p" != random.1 ] || check=100000
			"$O"/bench/lookup --table fw --prefixes "$tmp/$last/plain.txt" \
				--mode "$mode" --procs "$p" --batch 64 \
				--seconds "$seconds" --check "$check" >"$tmp/out" ||
				{ cat "$tmp/out"; exit 1; }
			grep -v '^result ' "$tmp/out" || true
			grep '^result ' "$tmp/out" >>"$results" || true
		done
	done
	"$O"/bench/lookup --table fw --mode random --procs 1 --sync \
		--seconds "$seconds" >"$tmp/out" || { cat "$tmp/out"; exit 1; }
	grep -v '^result ' "$tmp/out" || true
	grep '^result ' "$tmp/out" >>"$results" || true
	echo
fi

if [ -n "$pid" ]; then
	kill "$pid"
	wait "$pid" || true
	pid=""
fi

echo "summary: $count prefixes, median of $runs runs (data on $fs in $base);"
echo "  \"x tdb\": the peer's time over tdb's; CPU: the loading process's user +"
echo "  system time (for tdb, tdbcli's and tdbd's), which the machine's noise"
echo "  disturbs less than the wall time"
printf "  %-34s %8s %10s %8s %7s %7s\n" "" "wall s" "records/s" "x tdb" "CPU s" "x tdb"
# One line: NAME's medians against tdb's (REF), TARGET the least ratio
# wanted (none for tdb itself).
row() {
	w=$(median "${1}_s")
	[ -n "$w" ] || return 0
	awk -v what="$2" -v w="$w" -v c="$(median "${1}_cpu")" -v n="$count" \
	    -v tw="$(median "${3}_s")" -v tc="$(median "${3}_cpu")" \
	    -v target="${4:-}" -v all="$(values "${1}_s")" 'BEGIN {
		rw = rc = ""
		if (target != "" && tw > 0) {
			rw = sprintf("%.1f", w / tw)
			rc = sprintf("%.1f", c / tc)
		}
		note = ""
		if (target == "")
			note = (w < 1 ? "under 1 s: ok" : "OVER 1 s")
		else if (tw > 0 && tc > 0) {
			okw = w / tw >= target
			okc = c / tc >= target
			note = okw && okc ? "ok" : okw ? "BELOW " target "x in CPU" : \
			       okc ? "BELOW " target "x in wall time" : "BELOW " target "x"
		}
		printf "  %-34s %8.3f %10.0f %8s %7.3f %7s  %s  (runs: %s)\n", what, w, n / w, rw, c, rc, note, all
	}'
}
if [ -n "$(median tdb_load_s)" ]; then
	row tdb_load "tdb load --replace, sync" tdb_load
	echo "    ($tdb_what)"
fi
row ipset "ipset restore, hash:net skbinfo" tdb_load 3
row ipset-plain "ipset restore, hash:net plain" tdb_load 3
row nft-set "nft -f, interval set" tdb_load 1
row nft-vmap "nft -f, interval vmap" tdb_load 1
row lmdb "LMDB 1 txn, file order, synced" tdb_load 1
row lmdb_sorted "LMDB 1 txn, sorted, MDB_APPEND" tdb_load 1
row tdb_reload "reload: tdb load --replace" tdb_reload
row ipset_reload "reload: ipset restore+swap" tdb_reload 3
for k in random_p1 random_p2 inside_p1 inside_p2 sync_random_p1; do
	v=$(median "lookup_${k}_per_s")
	[ -n "$v" ] || continue
	printf "  %-34s %12.0f lookups/s\n" "lookup ${k}" "$v"
done
# The medians, for scripts/bench.sh.
for k in $(awk '$1 == "result" { print $2 }' "$results" | sort -u); do
	echo "result $k $(median "$k")"
done
