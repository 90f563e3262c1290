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

# Firewall rules: a table of prefixes with a schema, longest-prefix
# lookups, and a bulk load that replaces the whole set in one step.
rules=$(mktemp /tmp/tdb-rules.XXXXXX)
trap 'rm -f "$rules" "$rules.csv"' EXIT
cat >"$rules.csv" <<'CSV'
prefix,action,proto,dport,comment
10.0.0.0/8,drop,tcp,22,no ssh from the lab
10.1.0.0/16,accept,,,office
192.168.0.0/16,reject,udp,53,"dns, elsewhere"
0.0.0.0/0,accept,,,default
CSV
"$cli" --socket "$sock" drop fw >/dev/null 2>&1 || true
run create fw --schema schema/fw4.json --durability sync
run put fw 172.16.9.9/12 action=drop
run load fw "$rules.csv" --replace
run lookup fw 10.1.2.3
run lookup fw 10.200.0.1
run lookup fw 8.8.8.8
run dump fw

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
run lookup fw 10.1.2.3
echo
echo "tdbd keeps serving $sock; stop it with: kill \$(pgrep -x tdbd)"
