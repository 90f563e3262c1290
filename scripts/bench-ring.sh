#!/bin/sh
# Starts a tdbd in a temporary directory, runs bench/ring against it with
# the arguments given after the build directory, and stops it.
set -eu
O=$1
shift
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
"$O"/tdbd/tdbd --socket "$tmp/tdbd.sock" --data-dir "$tmp/data" \
	--log-level warning 2>"$tmp/tdbd.log" &
pid=$!
i=0
until [ -S "$tmp/tdbd.sock" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || { cat "$tmp/tdbd.log" >&2; exit 1; }
	sleep 0.05
done
TDB_SOCKET=$tmp/tdbd.sock "$O"/bench/ring "$@"
