#!/bin/sh
# Runs the libtdb integration tests against a real tdbd.
#
#   tests/integration/run.sh BUILD_DIR TEST_BIN...
#
# Starts BUILD_DIR/tdbd/tdbd in a fresh temporary directory (socket and data
# directory inside it, the directory world-searchable so that test_access's
# unprivileged children can reach the socket), waits until it listens,
# exports TDB_SOCKET and runs each test binary with a time limit.  Then stops
# tdbd with SIGTERM and requires exit status 0 and a log free of sanitizer
# reports.  tdbd's stderr goes to a log file that is printed on failure.
# Prints one closing line "integration (BUILD_DIR): N passed, M failed" and
# exits 1 when anything failed.
#
# Environment: TDB_TEST_TIMEOUT (seconds per test binary, default 300),
# TDB_KEEP=1 keeps the temporary directory.
#
# TDB_TEST_OWNER=kmod runs the suite against tdb.ko, already loaded (make
# kmod-test does so in its guest): no tdbd is started, TDB_SOCKET is unset
# so that libtdb picks /dev/tdb, and the test cases that run tdbd owners
# of their own skip themselves (owner.h).  The module must still be there
# after each binary; the kernel log is the caller's to check.
set -u

if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR TEST_BIN..." >&2
	exit 2
fi
dir=$1
shift
tdbd=$dir/tdbd/tdbd
tdbcli=$dir/cli/tdbcli
limit=${TDB_TEST_TIMEOUT:-300}
san_re='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: ThreadSanitizer'

pass=0
fail=0
failed=""
pid=""
tmp=""

note_fail() {
	fail=$((fail + 1))
	failed="$failed $1"
}

print_log() {
	[ -s "$tmp/tdbd.log" ] || { echo "(tdbd log is empty)"; return; }
	if grep -Eq "$san_re" "$tmp/tdbd.log"; then
		echo "---- tdbd log from the first sanitizer report:"
		grep -En "$san_re" "$tmp/tdbd.log" | head -5
		sed -n "/$(grep -Eo "$san_re" "$tmp/tdbd.log" | head -1)/,\$p" \
			"$tmp/tdbd.log" | head -300
	else
		echo "---- tdbd log (last 150 lines):"
		tail -n 150 "$tmp/tdbd.log"
	fi
	echo "---- end of tdbd log"
}

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	if [ -n "$tmp" ] && [ -d "$tmp" ]; then
		if [ "${TDB_KEEP:-0}" = 1 ]; then
			echo "kept $tmp"
		else
			rm -rf "$tmp"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs each test binary with the time limit; $1 names the owner and $2
# is a command that tells whether it is still there.
run_tests() {
	who=$1
	alive=$2
	shift 2
	for t in "$@"; do
		echo "== $t"
		start=$(date +%s)
		timeout -k 10 "$limit" "$t"
		rc=$?
		secs=$(($(date +%s) - start))
		if [ $rc -eq 0 ]; then
			pass=$((pass + 1))
			echo "== $t: passed (${secs} s)"
		else
			[ $rc -eq 124 ] && echo "== $t: timed out after $limit s"
			echo "== $t: FAILED (status $rc, ${secs} s)"
			note_fail "$t"
		fi
		if ! $alive; then
			echo "integration: $who died during $t"
			note_fail "$who-died-in-$(basename "$t")"
			break
		fi
	done
}

if [ "${TDB_TEST_OWNER:-}" = kmod ]; then
	unset TDB_SOCKET
	export TDB_TEST_OWNER
	TDB_TDBCLI=$(cd "$(dirname "$tdbcli")" 2>/dev/null && pwd)/tdbcli
	export TDB_TDBCLI
	dev_alive() { [ -c /dev/tdb ]; }
	if ! dev_alive; then
		echo "integration: TDB_TEST_OWNER=kmod but there is no /dev/tdb"
		echo "integration ($dir, tdb.ko): 0 passed, 1 failed"
		exit 1
	fi
	echo "integration: tdb.ko on /dev/tdb"
	run_tests tdb.ko dev_alive "$@"
	[ -n "$failed" ] && echo "failed:$failed"
	echo "integration ($dir, tdb.ko): $pass passed, $fail failed"
	[ "$fail" -eq 0 ] && exit 0
	exit 1
fi

if [ ! -x "$tdbd" ]; then
	echo "integration: $tdbd is missing" >&2
	echo "integration ($dir): 0 passed, 1 failed"
	exit 1
fi

# The binaries under test, absolute: test_durable starts owners of its own.
TDB_TDBD=$(cd "$(dirname "$tdbd")" && pwd)/tdbd
TDB_TDBCLI=$(cd "$(dirname "$tdbcli")" 2>/dev/null && pwd)/tdbcli
export TDB_TDBD TDB_TDBCLI

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tdb-integ.XXXXXX") || exit 1
chmod 0755 "$tmp"
mkdir -p "$tmp/data"
sock=$tmp/tdbd.sock

# tdbd's own ASan/UBSan settings: report to stderr (the log), and leak
# checking at exit where the platform has it.
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

"$tdbd" --socket "$sock" --data-dir "$tmp/data" >"$tmp/tdbd.log" 2>&1 &
pid=$!

# Wait (at most 20 s: ASan builds start slowly) for the socket to listen.
up=0
i=0
while [ $i -lt 200 ]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		break
	fi
	if [ -S "$sock" ]; then
		if [ -x "$tdbcli" ]; then
			if "$tdbcli" --socket "$sock" stats >/dev/null 2>&1; then
				up=1
				break
			fi
		else
			up=1
			break
		fi
	fi
	sleep 0.1
	i=$((i + 1))
done
if [ $up -ne 1 ]; then
	echo "integration: tdbd did not start listening on $sock"
	print_log
	echo "integration ($dir): 0 passed, 1 failed"
	exit 1
fi
export TDB_SOCKET="$sock"
echo "integration: tdbd (pid $pid) on $sock"

tdbd_alive() { kill -0 "$pid" 2>/dev/null; }
run_tests tdbd tdbd_alive "$@"

# Stop tdbd: SIGTERM, then at most 30 s (a watchdog) for it to exit.
status=0
if kill -0 "$pid" 2>/dev/null; then
	kill -TERM "$pid"
	(
		i=0
		while [ $i -lt 300 ] && [ ! -e "$tmp/stopped" ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if [ ! -e "$tmp/stopped" ]; then
			echo "integration: tdbd ignored SIGTERM for 30 s, killed"
			kill -KILL "$pid" 2>/dev/null
		fi
	) &
	wd=$!
	wait "$pid"
	status=$?
	touch "$tmp/stopped"
	wait "$wd"
else
	wait "$pid"
	status=$?
fi
pid=""
if [ "$status" -ne 0 ]; then
	echo "integration: tdbd exited with status $status after SIGTERM"
	note_fail "tdbd-exit-status"
fi
if grep -Eq "$san_re" "$tmp/tdbd.log"; then
	echo "integration: sanitizer report in tdbd's log"
	note_fail "tdbd-sanitizer"
fi
[ $fail -ne 0 ] && print_log

[ -n "$failed" ] && echo "failed:$failed"
echo "integration ($dir): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
