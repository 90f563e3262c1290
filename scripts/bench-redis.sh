#!/bin/sh
# Workloads 2 and 3 of issue 7, tdb against Redis: starts a tdbd and a
# redis-server of their own in a temporary directory, both on unix sockets
# there, runs bench/redis against them with the arguments given after the
# build directory, and stops both.  Usage:
#   scripts/bench-redis.sh BUILD_DIR [ARGS...]
#
# Settings, from the environment (ARGS given override them):
#   BENCH_RECORDS    records in each peer (1000000)
#   BENCH_SECONDS    seconds per measurement (5)
#   BENCH_RUNS       runs of each measurement, the median reported (3)
#   TDBD_ARGS        more tdbd arguments
#   REDIS_ARGS       more redis-server arguments
# Quick version:
#   BENCH_RECORDS=100000 BENCH_SECONDS=1 BENCH_RUNS=1 make bench-redis
set -eu
O=$1
shift
records=${BENCH_RECORDS:-1000000}
seconds=${BENCH_SECONDS:-5}
runs=${BENCH_RUNS:-3}

tmp=$(mktemp -d)
tpid=""
rpid=""
trap '[ -z "$tpid$rpid" ] || { kill $tpid $rpid 2>/dev/null; wait; }
	rm -rf "$tmp"' EXIT

# Waits until socket $1 exists; else prints log $2 and fails.
wait_socket() {
	i=0
	until [ -S "$1" ]; do
		i=$((i + 1))
		[ $i -le 200 ] || { echo "bench-redis: no socket $1" >&2
			cat "$2" >&2; exit 1; }
		sleep 0.05
	done
}

# shellcheck disable=SC2086
"$O"/tdbd/tdbd --socket "$tmp/tdbd.sock" --data-dir "$tmp/data" \
	--log-level warning ${TDBD_ARGS:-} 2>"$tmp/tdbd.log" &
tpid=$!

# Redis as an in-memory server, as its documentation describes one: no
# TCP port, no RDB snapshots (save ''), no append-only file; everything
# else is redis-server's default.
redis_conf="--port 0 --unixsocket $tmp/redis.sock --unixsocketperm 700 --save '' --appendonly no"
# shellcheck disable=SC2086
redis-server --port 0 --unixsocket "$tmp/redis.sock" --unixsocketperm 700 \
	--save '' --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" \
	${REDIS_ARGS:-} &
rpid=$!

wait_socket "$tmp/tdbd.sock" "$tmp/tdbd.log"
wait_socket "$tmp/redis.sock" "$tmp/redis.log"
echo "bench-redis: redis-server $redis_conf${REDIS_ARGS:+ $REDIS_ARGS}"
echo "bench-redis: tdbd --log-level warning${TDBD_ARGS:+ $TDBD_ARGS}; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
TDB_SOCKET=$tmp/tdbd.sock "$O"/bench/redis --redis "$tmp/redis.sock" \
	--records "$records" --seconds "$seconds" --runs "$runs" "$@" || {
	echo "bench-redis: failed; tdbd's log:" >&2
	cat "$tmp/tdbd.log" >&2
	echo "bench-redis: redis-server's log:" >&2
	tail -n 20 "$tmp/redis.log" >&2
	exit 1
}
