#!/bin/sh
# tdb's main job: start tdbd on its default socket and data directory
# (/run/tdb/tdbd.sock, /var/lib/tdb), or use the one already running there,
# and show a short tdbcli session against it.  tdbd keeps running after the
# demonstration; stop it with the kill command printed at the end.
set -eu
O=${1:-build}
tdbd=$O/tdbd/tdbd
cli=$O/cli/tdbcli
sock=${TDB_SOCKET:-/run/tdb/tdbd.sock}
log=${TDB_LOG:-/tmp/tdbd.log}

pid=

# Starts tdbd and waits until it answers.
start_tdbd() {
	"$tdbd" --socket "$sock" >>"$log" 2>&1 &
	pid=$!
	i=0
	until "$cli" --socket "$sock" stats >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 $pid 2>/dev/null; then
			echo "tdbd did not start; its log ($log):" >&2
			cat "$log" >&2
			exit 1
		fi
		sleep 0.05
	done
}

if "$cli" --socket "$sock" stats >/dev/null 2>&1; then
	echo "tdbd already serves $sock"
else
	: >"$log"
	start_tdbd
	echo "started tdbd (pid $pid) on $sock, logging to $log"
fi

run() {
	echo "\$ tdbcli $*"
	"$cli" --socket "$sock" "$@" || echo "(exit status $?)"
}

"$cli" --socket "$sock" drop demo >/dev/null 2>&1 || true
run create demo --mode 0644 --quota 64M
run put demo greeting "hello, world"
run put demo answer 42
run get demo greeting
run get demo missing
run dump demo
run info demo
run --json info demo
run tables
run stats
run del demo answer
run dump demo

# Durability: a sync table's writes are answered once on disk, so they
# survive tdbd being killed outright.
"$cli" --socket "$sock" drop ledger >/dev/null 2>&1 || true
run create ledger --durability sync
run put ledger invoice-1 "paid"
run put ledger invoice-2 "due"
if [ -n "$pid" ]; then
	echo "\$ kill -KILL $pid; tdbd --socket $sock &"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	start_tdbd
	grep 'recovered' "$log" | tail -n 1
fi
run dump ledger
run info ledger
echo
echo "tdbd keeps serving $sock; stop it with: kill \$(pgrep -x tdbd)"
