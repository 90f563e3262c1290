#!/bin/sh
# Workload 4 of issue 7, durable puts from 4 processes: tdbd's sync tables
# (plain and pipelined) against LMDB's synced commits and Redis with
# appendfsync always (plain and pipelined), all on one disk in one run;
# then tdbd's recovery time after SIGKILL, from the log and from a
# checkpoint.  Usage: scripts/bench-durable.sh BUILD_DIR
#
# Settings, from the environment:
#   BENCH_DIR        where the data of all peers goes (default /var/tmp;
#                    not a tmpfs: fdatasync must reach a disk)
#   BENCH_SECONDS    seconds per put measurement (5)
#   BENCH_RUNS       runs of the put measurements, the median reported (3)
#   BENCH_PROCS      writer processes (4)
#   BENCH_DEPTH      puts in flight per writer, pipelined (64)
#   BENCH_SHARED     1: tdb's writers share one table (default: one each)
#   BENCH_RECOVERY   0: skip the recovery part (default 1)
#   BENCH_RECORDS    records loaded for recovery (10000000)
#   BENCH_LOADERS    loader processes (2)
#   BENCH_CKPT       --checkpoint-interval for the checkpoint step (1)
#   BENCH_TIMEOUT    seconds before a recovery step gives up (600)
#   BENCH_COLD       1: evict tdbd's files from the page cache before each
#                    measured restart, as after a reboot (default: warm,
#                    as after a crash of tdbd alone)
#   BENCH_ONLY       put or recovery: run only that part
#   TDBD_ARGS        more tdbd arguments (e.g. --flush-interval 5)
# Quick version (workload 4 alone, well under 30 s):
#   BENCH_SECONDS=1 BENCH_RUNS=1 BENCH_RECOVERY=0 make bench-durable
#
# Each run measures the disk's fdatasync floor, then LMDB, tdb and Redis,
# the three in an order that rotates from run to run, so that a disk
# that drifts during the run favours none of them.  The table shows the
# median of the runs, every run's figures below it, and ends with lines
# "result NAME VALUE" (w4_* for workload 4, fdatasync_ms, and the
# recovery figures) for scripts/bench.sh.  Writes per fsync: tdb's from
# its STATS; LMDB's and Redis's counted with perf (their fdatasync and
# fsync calls) when perf is installed and allowed to count them.
set -eu
O=$1
base=${BENCH_DIR:-/var/tmp}
seconds=${BENCH_SECONDS:-5}
runs=${BENCH_RUNS:-3}
procs=${BENCH_PROCS:-4}
depth=${BENCH_DEPTH:-64}
records=${BENCH_RECORDS:-10000000}
loaders=${BENCH_LOADERS:-2}
ckpt=${BENCH_CKPT:-1}
timeout=${BENCH_TIMEOUT:-600}
only=${BENCH_ONLY:-}
[ "${BENCH_RECOVERY:-1}" != 0 ] || only=put
shared=""
[ "${BENCH_SHARED:-0}" = 1 ] && shared=--shared
cold=""
[ "${BENCH_COLD:-0}" = 1 ] && cold=--cold
case "$runs" in
'' | *[!0-9]* | 0) echo "bench-durable: BENCH_RUNS must be a positive integer" >&2
	exit 2 ;;
esac
# shellcheck disable=SC2086
set -- ${TDBD_ARGS:-}

tmp=$(mktemp -d "$base/tdb-bench-durable.XXXXXX")
tpid=""
rpid=""
trap '[ -z "$tpid$rpid" ] || { kill $tpid $rpid 2>/dev/null; wait; }
	rm -rf "$tmp"' EXIT
fs=$(df -PT "$tmp" | awk 'NR == 2 { print $2 }')
dev=$(df -P "$tmp" | awk 'NR == 2 { print $1 }')
echo "bench-durable: data of every peer in $tmp ($fs, $dev); $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$fs" != tmpfs ] || echo "bench-durable: WARNING: $tmp is a tmpfs, fdatasync costs nothing there" >&2

# Every "result" line, as "RUN NAME VALUE" (RUN 0: outside the put runs).
results=$tmp/results
: >"$results"
r=0
# Runs a benchmark: its output shown, its "result" lines kept.
run() {
	"$@" >"$tmp/out" || { cat "$tmp/out"; return 1; }
	grep -v '^result ' "$tmp/out" || true
	awk -v r="$r" '$1 == "result" { print r, $2, $3 }' "$tmp/out" \
		>>"$results"
}
# The median over the runs of result $1 (empty when none has it).
median() {
	awk -v k="$1" '$2 == k { print $3 }' "$results" | sort -g |
		awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]
		      else if (NR) print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# Result $1 of run $2.
get() {
	awk -v k="$1" -v r="$2" '$1 == r && $2 == k { v = $3 } END { print v }' \
		"$results"
}
# Waits until socket $1 exists; else prints log $2 and fails.
wait_socket() {
	i=0
	until [ -S "$1" ]; do
		i=$((i + 1))
		[ $i -le 200 ] || { echo "bench-durable: no socket $1" >&2
			cat "$2" >&2; exit 1; }
		sleep 0.05
	done
}

# perf counts fdatasync and fsync calls where it can; else "n/a".
sync_events=syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync
have_perf=0
if command -v perf >/dev/null 2>&1 &&
   perf stat -x, -e "$sync_events" true >/dev/null 2>&1; then
	have_perf=1
fi
# Runs the command after $1 (a file for perf's figures) under perf stat,
# or as it is; the processes $pids, when set, are counted instead of the
# command.
counted() {
	out=$1
	shift
	rm -f "$out"
	if [ $have_perf = 0 ]; then
		run "$@"
	elif [ -n "$pids" ]; then
		perf stat -x, -e "$sync_events" -p "$pids" -o "$out" &
		ppid=$!
		# perf attaches in the background: let it.
		sleep 0.2
		run "$@" || { kill $ppid; wait $ppid || true; return 1; }
		kill -INT $ppid
		wait $ppid || true
	else
		run perf stat -x, -e "$sync_events" -o "$out" -- "$@"
	fi
}
# The fdatasync and fsync calls that perf counted into file $1.
syncs_counted() {
	[ -s "$1" ] || return 0
	awk -F, '$3 ~ /sys_enter_f(data)?sync/ { n += $1 } END { print n }' "$1"
}
# Records result $1 = puts per fsync, from puts/s $2 over $3 s and perf's
# count in file $4.
per_sync() {
	n=$(syncs_counted "$4")
	[ -n "$n" ] && [ "$n" != 0 ] || return 0
	awk -v r="$r" -v k="$1" -v rate="$2" -v s="$3" -v n="$n" \
		'BEGIN { printf "%s %s %.2f\n", r, k, rate * s / n }' \
		>>"$results"
}

pids=""
lmdb() {
	counted "$tmp/perf" "$O"/bench/lmdb_put --dir "$tmp/lmdb" \
		--procs "$procs" --seconds "$seconds"
	per_sync lmdb_puts_per_sync "$(get lmdb_puts_per_s "$r")" "$seconds" \
		"$tmp/perf"
	rm -rf "$tmp/lmdb"
}

tdb() {
	"$O"/tdbd/tdbd --socket "$tmp/tdbd.sock" --data-dir "$tmp/put-data" \
		--log-level warning "$@" 2>"$tmp/tdbd-put.log" &
	tpid=$!
	wait_socket "$tmp/tdbd.sock" "$tmp/tdbd-put.log"
	TDB_SOCKET="$tmp/tdbd.sock" run "$O"/bench/durable put \
		--procs "$procs" --seconds "$seconds" --depth "$depth" $shared ||
		{ echo "tdbd's log:" >&2; cat "$tmp/tdbd-put.log" >&2; exit 1; }
	kill "$tpid"
	wait "$tpid" || { echo "bench-durable: tdbd failed; its log:" >&2
		cat "$tmp/tdbd-put.log" >&2; exit 1; }
	tpid=""
	rm -rf "$tmp/put-data" "$tmp/tdbd.sock"
}

# Redis in its documented fully durable mode: every write appended to the
# append-only file and fsynced before it is answered; no RDB snapshots;
# a unix socket, no TCP; everything else redis-server's default.
redis_conf="--port 0 --unixsocket $tmp/redis.sock --unixsocketperm 700 --appendonly yes --appendfsync always --save ''"
redis() {
	mkdir "$tmp/redis"
	redis-server --port 0 --unixsocket "$tmp/redis.sock" \
		--unixsocketperm 700 --appendonly yes --appendfsync always \
		--save '' --dir "$tmp/redis" --logfile "$tmp/redis.log" &
	rpid=$!
	wait_socket "$tmp/redis.sock" "$tmp/redis.log"
	pids=$rpid
	for mode in plain pipelined; do
		counted "$tmp/perf" "$O"/bench/redis_put \
			--redis "$tmp/redis.sock" --procs "$procs" \
			--seconds "$seconds" --depth "$depth" --mode $mode || {
			echo "bench-durable: redis-server's log:" >&2
			tail -n 20 "$tmp/redis.log" >&2; exit 1; }
		per_sync redis_${mode}_puts_per_sync \
			"$(get redis_${mode}_puts_per_s "$r")" "$seconds" \
			"$tmp/perf"
	done
	pids=""
	kill "$rpid"
	wait "$rpid" || { echo "bench-durable: redis-server failed:" >&2
		tail -n 20 "$tmp/redis.log" >&2; exit 1; }
	rpid=""
	rm -rf "$tmp/redis" "$tmp/redis.sock" "$tmp/redis.log"
}

if [ "$only" != recovery ]; then
	command -v redis-server >/dev/null ||
		{ echo "bench-durable: no redis-server (scripts/deps.sh bench)" >&2
		exit 1; }
	echo "bench-durable: redis-server $(redis-server --version | awk '{ print $3 }') $redis_conf"
	echo "bench-durable: tdbd --log-level warning${TDBD_ARGS:+ $TDBD_ARGS}; sync tables"
	[ $have_perf = 1 ] ||
		echo "bench-durable: no usable perf: LMDB's and Redis's writes per fsync not counted"
	order="lmdb tdb redis"
	while [ $r -lt "$runs" ]; do
		r=$((r + 1))
		echo
		echo "--- run $r of $runs: $order"
		run "$O"/bench/durable disk --dir "$tmp"
		for peer in $order; do
			echo
			$peer "$@"
		done
		# The next run starts with the one after this run's first.
		order="${order#* } ${order%% *}"
	done
	echo
fi

if [ "$only" != put ]; then
	r=0
	run "$O"/bench/durable recovery --tdbd "$O"/tdbd/tdbd \
		--dir "$tmp/restart" --records "$records" \
		--loaders "$loaders" --checkpoint-interval "$ckpt" \
		--timeout "$timeout" $cold -- "$@"
	rm -rf "$tmp/restart"
	echo
fi

if [ "$only" != recovery ]; then
	m() { median "$1"; }
	echo "workload 4: durable puts, $procs processes, every put a new key, 16-byte keys, 100-byte values, $seconds s each, median of $runs run(s); data on $fs ($dev) in $base; disk floor (4 KiB append + fdatasync) $(m fdatasync_ms) ms"
	echo "  tdb: sync tables (answered once fdatasync covers the put), tdbd defaults; LMDB: default flags, one write transaction per put; Redis $(redis-server --version | awk '{ print $3 }'): appendonly yes, appendfsync always, unix socket"
	awk -v procs="$procs" -v depth="$depth" \
	    -v tp="$(m tdb_plain_puts_per_s)" \
	    -v tpw="$(m tdb_plain_writes_per_sync)" \
	    -v tb="$(m tdb_batch_puts_per_s)" \
	    -v tbw="$(m tdb_batch_writes_per_sync)" \
	    -v l="$(m lmdb_puts_per_s)" -v lw="$(m lmdb_puts_per_sync)" \
	    -v rp="$(m redis_plain_puts_per_s)" \
	    -v rpw="$(m redis_plain_puts_per_sync)" \
	    -v rb="$(m redis_pipelined_puts_per_s)" \
	    -v rbw="$(m redis_pipelined_puts_per_sync)" '
	function w(x) { return x == "" ? "n/a" : sprintf("%.1f", x) }
	function row(what, rate, ps) {
		printf "  %-44s %10.0f %12s\n", what, rate, w(ps)
	}
	function ratio(what, a, b, target) {
		if (a == "" || b + 0 <= 0) {
			printf "  %-44s %10s\n", what, "n/a"
			return
		}
		printf "  %-44s %9.1fx  %s\n", what, a / b,
		       target == "" ? "" : (a / b >= target ? \
		       "target " target "x: met" : "target " target "x: MISSED")
	}
	BEGIN {
		printf "  %-44s %10s %12s\n", "", "puts/s", "puts/fsync"
		row("tdb plain (tdb_put, 1 in flight each)", tp, tpw)
		row(sprintf("tdb pipelined (batch, %d in flight each)", depth), tb, tbw)
		row("LMDB (1 in flight each)", l, lw)
		row("Redis plain (SET, 1 in flight each)", rp, rpw)
		row(sprintf("Redis pipelined (%d in flight each)", depth), rb, rbw)
		ratio("tdb plain / LMDB", tp, l, 10)
		ratio("tdb pipelined / LMDB", tb, l, 10)
		ratio("tdb plain / Redis plain", tp, rp, "")
		ratio("tdb pipelined / Redis pipelined", tb, rb, "")
	}'
	echo "  (puts/fsync: tdb from its STATS (writes per log fdatasync); LMDB and Redis from perf's count of their fdatasync+fsync calls; an LMDB commit also writes its meta page through an O_DSYNC descriptor, which perf does not count)"
	echo "  every run (fdatasync ms; puts/s: tdb plain, tdb pipelined, LMDB, Redis plain, Redis pipelined):"
	i=1
	while [ $i -le "$runs" ]; do
		echo "    run $i: $(get fdatasync_ms $i) ms; $(get tdb_plain_puts_per_s $i), $(get tdb_batch_puts_per_s $i), $(get lmdb_puts_per_s $i), $(get redis_plain_puts_per_s $i), $(get redis_pipelined_puts_per_s $i)"
		i=$((i + 1))
	done
fi
if [ "$only" != put ]; then
	awk -v n="$records" \
	    -v ac="$(get recovery_a_connect_s 0)" -v af="$(get recovery_a_full_s 0)" \
	    -v am="$(get recovery_a_replay_mib 0)" \
	    -v bc="$(get recovery_b_connect_s 0)" -v bf="$(get recovery_b_full_s 0)" \
	    -v bm="$(get recovery_b_replay_mib 0)" \
	    -v lr="$(get load_records_per_s 0)" 'BEGIN {
		print "recovery after SIGKILL"
		printf "  load                       %10.0f  records/s\n", lr
		printf "  recovery from the log      %10.3f  s to %d records  %s  (socket after %.3f s; %.1f MiB to replay)\n", af, n, (af < 3 ? "ok" : "OVER 3 s"), ac, am
		printf "  recovery from checkpoint   %10.3f  s to %d records  %s  (socket after %.3f s; %.1f MiB past it)\n", bf, n, (bf < 3 ? "ok" : "OVER 3 s"), bc, bm
	}'
fi

# For scripts/bench.sh.
if [ "$only" != recovery ]; then
	for k in "w4_tdb_plain_puts_per_s tdb_plain_puts_per_s" \
		 "w4_tdb_pipelined_puts_per_s tdb_batch_puts_per_s" \
		 "w4_lmdb_puts_per_s lmdb_puts_per_s" \
		 "w4_redis_plain_puts_per_s redis_plain_puts_per_s" \
		 "w4_redis_pipelined_puts_per_s redis_pipelined_puts_per_s" \
		 "w4_tdb_plain_writes_per_sync tdb_plain_writes_per_sync" \
		 "w4_tdb_pipelined_writes_per_sync tdb_batch_writes_per_sync" \
		 "w4_lmdb_puts_per_sync lmdb_puts_per_sync" \
		 "w4_redis_plain_puts_per_sync redis_plain_puts_per_sync" \
		 "w4_redis_pipelined_puts_per_sync redis_pipelined_puts_per_sync" \
		 "fdatasync_ms fdatasync_ms"; do
		v=$(median "${k#* }")
		[ -z "$v" ] || echo "result ${k%% *} $v"
	done
fi
if [ "$only" != put ]; then
	for k in load_records_per_s recovery_a_connect_s recovery_a_full_s \
		 recovery_a_replay_mib recovery_b_connect_s recovery_b_full_s \
		 recovery_b_replay_mib; do
		echo "result $k $(get $k 0)"
	done
fi
