#!/bin/sh
# Workloads 1 and 6 of issue 7: batched random gets, tdb against LMDB.
# Starts tdbd instances of its own in a temporary directory (on a unix
# socket there) and makes the LMDB environments in the same directory;
# runs bench/gets and bench/lmdb_get, passes their output through (with
# their "result NAME VALUE" lines) and ends with one table of the ratios
# and the targets.  Usage:
#   scripts/bench-gets.sh BUILD_DIR
#
#   1. 1, 2 and 4 client processes, batches of 64, BENCH_RECORDS records:
#      tdb_batch_get() x 64 / submit / reap against a read transaction of
#      64 mdb_get() (renewed, then reset).  Target: tdb >= 1.0x LMDB.
#   6. the same gets from BENCH_SCALE_PROCS processes at each record count
#      of BENCH_SCALE: one table each in a fresh tdbd, loaded one after
#      the other, so that tdbd's RssAnon growth over a table's load is
#      the memory its records took (nothing freed before is reused); each
#      run then goes round the tables, so that the machine's noise falls
#      on all alike.  Target: the largest count at most 25% slower than
#      the smallest.  LMDB likewise, for context (BENCH_SCALE_LMDB=0: not).
#
# Settings, from the environment:
#   BENCH_RECORDS      records of workload 1 (1000000)
#   BENCH_SECONDS      seconds per measurement (3)
#   BENCH_RUNS         runs of each measurement, the median reported (3)
#   BENCH_SCALE        record counts of workload 6 ("10000 1000000 10000000")
#   BENCH_SCALE_PROCS  client processes of workload 6 (4)
#   BENCH_SCALE_LMDB   1: LMDB in workload 6 too (1)
#   TDBD_ARGS          more tdbd arguments
# Quick version (under 30 s):
#   BENCH_RECORDS=100000 BENCH_SECONDS=1 BENCH_RUNS=1 \
#	BENCH_SCALE="10000 100000" scripts/bench-gets.sh build
set -eu
O=$1
records=${BENCH_RECORDS:-1000000}
seconds=${BENCH_SECONDS:-3}
runs=${BENCH_RUNS:-3}
scale=${BENCH_SCALE:-10000 1000000 10000000}
sprocs=${BENCH_SCALE_PROCS:-4}
slmdb=${BENCH_SCALE_LMDB:-1}

for b in "$O/tdbd/tdbd" "$O/bench/gets" "$O/bench/lmdb_get"; do
	[ -x "$b" ] || { echo "bench-gets: $b is not built" >&2; exit 1; }
done

tmp=$(mktemp -d)
tpid=""
trap '[ -z "$tpid" ] || { kill $tpid 2>/dev/null; wait $tpid 2>/dev/null; }
	rm -rf "$tmp"' EXIT

load() {
	cut -d' ' -f1-3 /proc/loadavg
}

# Starts a fresh tdbd (a new data directory) and waits for its socket.
tdbd_start() {
	rm -rf "$tmp/data" "$tmp/tdbd.sock"
	# shellcheck disable=SC2086
	"$O"/tdbd/tdbd --socket "$tmp/tdbd.sock" --data-dir "$tmp/data" \
		--log-level warning ${TDBD_ARGS:-} 2>"$tmp/tdbd.log" &
	tpid=$!
	i=0
	until [ -S "$tmp/tdbd.sock" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 $tpid 2>/dev/null; then
			echo "bench-gets: tdbd did not start; its log:" >&2
			cat "$tmp/tdbd.log" >&2
			exit 1
		fi
		sleep 0.05
	done
}

tdbd_stop() {
	kill $tpid
	wait $tpid || { echo "bench-gets: tdbd exited with $?; its log:" >&2
		cat "$tmp/tdbd.log" >&2; exit 1; }
	tpid=""
}

# Runs bench program $1 with the rest as arguments, its output to stdout
# and to $tmp/out (for the table); on failure shows tdbd's log.
run() {
	prog=$1
	shift
	echo "bench-gets: load average $(load) before $prog"
	if ! TDB_SOCKET=$tmp/tdbd.sock "$O/bench/$prog" "$@" >"$tmp/one"; then
		cat "$tmp/one"
		echo "bench-gets: bench/$prog failed" >&2
		[ -z "$tpid" ] || { echo "bench-gets: tdbd's log:" >&2
			cat "$tmp/tdbd.log" >&2; }
		exit 1
	fi
	cat "$tmp/one"
	cat "$tmp/one" >>"$tmp/out"
}

: >"$tmp/out"
echo "bench-gets: workloads 1 and 6 of issue 7; $(nproc) CPUs, load average $(load)"
echo "bench-gets: tdbd --log-level warning${TDBD_ARGS:+ $TDBD_ARGS}"

common="--seconds $seconds --runs $runs"
# Workload 1.
tdbd_start
# shellcheck disable=SC2086
run gets --workload 1 --records "$records" --procs 1,2,4 --owner-pid $tpid \
	$common
tdbd_stop
# shellcheck disable=SC2086
run lmdb_get --workload 1 --dir "$tmp/lmdb" --records "$records" \
	--procs 1,2,4 $common
rm -rf "$tmp/lmdb"

# Workload 6: a fresh tdbd, for its memory; the tables all load first,
# then each run goes round them (the same noise for all).
tdbd_start
# shellcheck disable=SC2086
run gets --workload 6 --records "$scale" --procs "$sprocs" --owner-pid $tpid \
	$common
tdbd_stop
if [ "$slmdb" = 1 ]; then
	# shellcheck disable=SC2086
	run lmdb_get --workload 6 --dir "$tmp/lmdb" --records "$scale" \
		--procs "$sprocs" $common
	rm -rf "$tmp/lmdb"
fi
echo "bench-gets: load average $(load) at the end"

# The table, from the result lines (and the "cpu" lines beside them).
awk -v records="$records" -v runs="$runs" -v seconds="$seconds" \
    -v scale="$scale" -v sprocs="$sprocs" '
$1 == "result" || $1 == "cpu" { v[$2] = $3 }
function ratio(a, b) { return (a != "" && b > 0) ? sprintf("%.2fx", a / b) : "-" }
function or_dash(a) { return a == "" ? "-" : a }
END {
	printf "\nbatched random gets, depth 64, 16-byte keys, 100-byte values; median of %d run(s), %s s each\n", runs, seconds
	printf "tdb: tdbd, a memory table, libtdb batches; LMDB: default flags, one read transaction (renew/reset) per 64 mdb_get()\n"
	printf "CPU us/get: all CPU time over the measurement per get (tdb: clients and tdbd; LMDB: readers)\n"
	printf "workload 1: %d records\n", records
	printf "  %-9s %12s %12s %9s %8s %8s  %s\n", "processes", "tdb gets/s", "LMDB gets/s", "tdb/LMDB", "tdb CPU", "LMDB CPU", "target tdb/LMDB >= 1.00x"
	for (p = 1; p <= 4; p *= 2) {
		t = v["w1_tdb_p" p "_gets_per_s"]; l = v["w1_lmdb_p" p "_gets_per_s"]
		printf "  %-9d %12s %12s %9s %8s %8s  %s\n", p, t, l, ratio(t, l),
			or_dash(v["w1_tdb_p" p "_us_per_get"]),
			or_dash(v["w1_lmdb_p" p "_us_per_get"]),
			(l > 0 && t / l >= 1.0) ? "met" : "MISSED"
	}
	n = split(scale, s, " ")
	printf "workload 6: scaling, %d processes (B/rec: tdbd RssAnon growth over the load; LMDB: its tree pages)\n", sprocs
	printf "  %-9s %12s %8s %8s %8s %12s %8s %8s %8s\n", "records", "tdb gets/s", "vs first", "tdb CPU", "tdb B/rec", "LMDB gets/s", "vs first", "LMDB CPU", "LMDB B/rec"
	for (i = 1; i <= n; i++) {
		r = s[i]
		t = v["w6_tdb_r" r "_gets_per_s"]; l = v["w6_lmdb_r" r "_gets_per_s"]
		printf "  %-9s %12s %8s %8s %8s %12s %8s %8s %8s\n", r, t,
			ratio(t, v["w6_tdb_r" s[1] "_gets_per_s"]),
			or_dash(v["w6_tdb_r" r "_us_per_get"]),
			or_dash(v["w6_tdb_r" r "_bytes_per_record"]), or_dash(l),
			ratio(l, v["w6_lmdb_r" s[1] "_gets_per_s"]),
			or_dash(v["w6_lmdb_r" r "_us_per_get"]),
			or_dash(v["w6_lmdb_r" r "_bytes_per_record"])
	}
	t0 = v["w6_tdb_r" s[1] "_gets_per_s"]; t1 = v["w6_tdb_r" s[n] "_gets_per_s"]
	if (n > 1 && t0 > 0) {
		slow = 100 * (1 - t1 / t0)
		printf "  tdb at %s records: %.1f%% slower than at %s (target <= 25%%): %s\n",
			s[n], slow, s[1], slow <= 25 ? "met" : "MISSED"
	}
}' "$tmp/out"
