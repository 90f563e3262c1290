#!/bin/sh
# Durability benchmarks, all on one disk in one run: durable puts/s of
# tdbd's sync tables (plain and pipelined) against LMDB's synced commits,
# then tdbd's recovery time after SIGKILL, from the log and from a
# checkpoint.  Usage: scripts/bench-durable.sh BUILD_DIR
#
# Settings, from the environment:
#   BENCH_DIR        where the data goes (default /var/tmp; not a tmpfs:
#                    fdatasync must reach a disk)
#   BENCH_SECONDS    seconds per put run (5)
#   BENCH_PROCS      writer processes (4)
#   BENCH_DEPTH      puts in flight per writer, pipelined (64)
#   BENCH_SHARED     1: the writers share one table (default: one each)
#   BENCH_RECORDS    records loaded for recovery (10000000)
#   BENCH_LOADERS    loader processes (2)
#   BENCH_CKPT       --checkpoint-interval for the checkpoint step (1)
#   BENCH_TIMEOUT    seconds before a recovery step gives up (600)
#   BENCH_COLD       1: evict tdbd's files from the page cache before each
#                    measured restart, as after a reboot (default: warm,
#                    as after a crash of tdbd alone)
#   BENCH_ONLY       put or recovery: run only that part
#   TDBD_ARGS        more tdbd arguments (e.g. --flush-interval 5)
# Quick version: BENCH_RECORDS=1000000 BENCH_SECONDS=2 make bench-durable
set -eu
O=$1
base=${BENCH_DIR:-/var/tmp}
seconds=${BENCH_SECONDS:-5}
procs=${BENCH_PROCS:-4}
depth=${BENCH_DEPTH:-64}
records=${BENCH_RECORDS:-10000000}
loaders=${BENCH_LOADERS:-2}
ckpt=${BENCH_CKPT:-1}
timeout=${BENCH_TIMEOUT:-600}
only=${BENCH_ONLY:-}
shared=""
[ "${BENCH_SHARED:-0}" = 1 ] && shared=--shared
cold=""
[ "${BENCH_COLD:-0}" = 1 ] && cold=--cold
# shellcheck disable=SC2086
set -- ${TDBD_ARGS:-}

tmp=$(mktemp -d "$base/tdb-bench-durable.XXXXXX")
pid=""
trap '[ -z "$pid" ] || { kill $pid 2>/dev/null; wait $pid 2>/dev/null; }
	rm -rf "$tmp"' EXIT
fs=$(df -PT "$tmp" | awk 'NR == 2 { print $2 }')
echo "bench-durable: data in $tmp ($fs, $(df -P "$tmp" | awk 'NR == 2 { print $1 }'))"
[ "$fs" != tmpfs ] || echo "bench-durable: WARNING: $tmp is a tmpfs, fdatasync costs nothing there" >&2

results=$tmp/results
: >"$results"
# Runs a benchmark: its output shown, its "result" lines kept.
run() {
	"$@" >"$tmp/out" || { cat "$tmp/out"; return 1; }
	grep -v '^result ' "$tmp/out" || true
	grep '^result ' "$tmp/out" >>"$results" || true
}
# The value of result $1, the last one recorded under that name.
get() {
	awk -v k="$1" '$1 == "result" && $2 == k { v = $3 } END { print v }' \
		"$results"
}

if [ "$only" != recovery ]; then
	run "$O"/bench/durable disk --dir "$tmp"
	echo
	run "$O"/bench/lmdb_put --dir "$tmp/lmdb" --procs "$procs" \
		--seconds "$seconds"
	lmdb1=$(get lmdb_puts_per_s)
	rm -rf "$tmp/lmdb"
	echo

	"$O"/tdbd/tdbd --socket "$tmp/tdbd.sock" --data-dir "$tmp/put-data" \
		"$@" 2>"$tmp/tdbd-put.log" &
	pid=$!
	i=0
	until [ -S "$tmp/tdbd.sock" ]; do
		i=$((i + 1))
		[ $i -le 200 ] || { cat "$tmp/tdbd-put.log" >&2; exit 1; }
		sleep 0.05
	done
	export TDB_SOCKET="$tmp/tdbd.sock"
	run "$O"/bench/durable put --procs "$procs" --seconds "$seconds" \
		--depth "$depth" $shared ||
		{ echo "tdbd's log:" >&2; cat "$tmp/tdbd-put.log" >&2; exit 1; }
	kill "$pid"
	wait "$pid" || true
	pid=""
	rm -rf "$tmp/put-data"
	echo

	# LMDB again, and the disk: how much the disk drifted meanwhile.
	run "$O"/bench/lmdb_put --dir "$tmp/lmdb" --procs "$procs" \
		--seconds "$seconds"
	lmdb2=$(get lmdb_puts_per_s)
	rm -rf "$tmp/lmdb"
	run "$O"/bench/durable disk --dir "$tmp"
	echo
fi

if [ "$only" != put ]; then
	run "$O"/bench/durable recovery --tdbd "$O"/tdbd/tdbd \
		--dir "$tmp/restart" --records "$records" \
		--loaders "$loaders" --checkpoint-interval "$ckpt" \
		--timeout "$timeout" $cold -- "$@"
	rm -rf "$tmp/restart"
	echo
fi

echo "summary (data on $fs in $base)"
if [ "$only" != recovery ]; then
	awk -v l1="$lmdb1" -v l2="$lmdb2" \
	    -v p="$(get tdb_plain_puts_per_s)" \
	    -v pw="$(get tdb_plain_writes_per_sync)" \
	    -v b="$(get tdb_batch_puts_per_s)" \
	    -v bw="$(get tdb_batch_writes_per_sync)" \
	    -v depth="$depth" -v procs="$procs" 'BEGIN {
		l = (l1 + l2) / 2
		printf "  LMDB durable puts/s        %10.0f  (runs before and after tdb: %.0f, %.0f)\n", l, l1, l2
		printf "  tdb plain puts/s           %10.0f  %6.1fx LMDB  %s  (%s writes/fdatasync)\n", p, p / l, (p / l >= 10 ? "ok" : "BELOW 10x"), pw
		printf "  tdb pipelined puts/s       %10.0f  %6.1fx LMDB  %s  (%s writes/fdatasync, depth %d x %d writers)\n", b, b / l, (b / l >= 10 ? "ok" : "BELOW 10x"), bw, depth, procs
	}'
fi
if [ "$only" != put ]; then
	awk -v n="$records" \
	    -v ac="$(get recovery_a_connect_s)" -v af="$(get recovery_a_full_s)" \
	    -v am="$(get recovery_a_replay_mib)" \
	    -v bc="$(get recovery_b_connect_s)" -v bf="$(get recovery_b_full_s)" \
	    -v bm="$(get recovery_b_replay_mib)" \
	    -v lr="$(get load_records_per_s)" 'BEGIN {
		printf "  load                       %10.0f  records/s\n", lr
		printf "  recovery from the log      %10.3f  s to %d records  %s  (socket after %.3f s; %.1f MiB to replay)\n", af, n, (af < 3 ? "ok" : "OVER 3 s"), ac, am
		printf "  recovery from checkpoint   %10.3f  s to %d records  %s  (socket after %.3f s; %.1f MiB past it)\n", bf, n, (bf < 3 ? "ok" : "OVER 3 s"), bc, bm
	}'
fi
