# tests/cli/lib.sh - what the shell tests of tdbcli (run.sh, load.sh)
# share: a tdbd of their own in a temporary directory, tdbcli run against
# it, and the checks of what it printed.  A test sources it, then calls
#
#   setup_test NAME "$@"  NAME ("cli", "load") begins the messages; the
#                         one argument is BUILD_DIR.  Sets $TDBD and $CLI
#                         (the binaries, which must be built), $schemas
#                         (the repository's schema/), $tmp (a temporary
#                         directory, removed at exit, tdbd killed first)
#                         and $SOCK; exits 2 on any trouble.
#   start_tdbd            starts tdbd on $SOCK with its data in $tmp/data
#                         and its log in $tmp/tdbd.log; sets $tdbd_pid.
#   run ..., checks       each check counts a pass, or prints a FAIL line.
#   report                prints "NAME: N passed, M failed"; returns
#                         non-zero on any failure: the test's last command.
# shellcheck shell=sh

setup_test() {
	test_name=$1
	shift
	if [ $# -ne 1 ]; then
		echo "usage: $0 BUILD_DIR" >&2
		exit 2
	fi
	build=$(cd "$1" && pwd) || exit 2
	# shellcheck disable=SC2034 # for the tests
	schemas=$(cd "$(dirname "$0")/../../schema" && pwd) || exit 2
	TDBD=$build/tdbd/tdbd
	CLI=$build/cli/tdbcli
	for b in "$TDBD" "$CLI"; do
		if [ ! -x "$b" ]; then
			echo "$test_name: $b is missing; build it first" >&2
			exit 2
		fi
	done

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/tdb-$test_name-test.XXXXXX") || exit 2
	SOCK=$tmp/tdbd.sock
	tdbd_pid=
	trap cleanup EXIT
	trap 'exit 2' INT TERM HUP

	passed=0
	failed=0
}

cleanup() {
	if [ -n "$tdbd_pid" ]; then
		kill -KILL "$tdbd_pid" 2>/dev/null
		wait "$tdbd_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}

start_tdbd() {
	"$TDBD" --socket "$SOCK" --data-dir "$tmp/data" --workers 2 \
		>"$tmp/tdbd.log" 2>&1 &
	tdbd_pid=$!
	i=0
	while [ ! -S "$SOCK" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$tdbd_pid" 2>/dev/null; then
			echo "$test_name: tdbd did not start:" >&2
			cat "$tmp/tdbd.log" >&2
			exit 2
		fi
		sleep 0.05
	done
}

report() {
	echo "$test_name: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

pass() { passed=$((passed + 1)); }
fail() {
	failed=$((failed + 1))
	echo "FAIL: $*"
	if [ -s "$tmp/err" ]; then
		sed 's/^/  stderr: /' "$tmp/err" | head -5
	fi
}

# run ARGS...: runs tdbcli against our tdbd; $rc, $tmp/out, $tmp/err.
run() {
	"$CLI" --socket "$SOCK" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# run_in FILE ARGS...: run with standard input from FILE.
run_in() {
	f=$1
	shift
	"$CLI" --socket "$SOCK" "$@" <"$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# expect NAME RC OUT [ERR]: the last run exited RC, printed exactly OUT
# (plus a newline, unless OUT is empty) and, if ERR is given, printed
# exactly ERR on stderr (else nothing).
expect() {
	name=$1 want_rc=$2 want_out=$3
	if [ -n "$want_out" ]; then
		printf '%s\n' "$want_out" >"$tmp/want"
	else
		: >"$tmp/want"
	fi
	if [ "$rc" -ne "$want_rc" ]; then
		fail "$name: exit status $rc, want $want_rc"
		return
	fi
	if ! cmp -s "$tmp/out" "$tmp/want"; then
		fail "$name: stdout differs"
		diff "$tmp/want" "$tmp/out" | sed 's/^/  /' | head -10
		return
	fi
	if [ $# -ge 4 ]; then
		printf '%s\n' "$4" >"$tmp/want"
	else
		: >"$tmp/want"
	fi
	if ! cmp -s "$tmp/err" "$tmp/want"; then
		fail "$name: stderr is '$(cat "$tmp/err")', want '$(cat "$tmp/want")'"
		return
	fi
	pass
}

# expect_rc NAME RC [PATTERN]: exit status RC, nothing on stdout, one line
# on stderr containing PATTERN when RC is not 0.
expect_rc() {
	if [ "$rc" -ne "$2" ]; then
		fail "$1: exit status $rc, want $2"
	elif [ "$2" -ne 0 ] && [ -s "$tmp/out" ]; then
		fail "$1: want nothing on stdout, got '$(head -1 "$tmp/out")'"
	elif [ "$2" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
		fail "$1: want one line on stderr"
	elif [ $# -ge 3 ] && ! grep -qF -- "$3" "$tmp/err"; then
		fail "$1: stderr lacks '$3'"
	else
		pass
	fi
}

# has NAME TEXT: the last stdout contains the line TEXT.
has() {
	if grep -qxF -- "$2" "$tmp/out"; then
		pass
	else
		fail "$1: stdout lacks line '$2'"
		sed 's/^/  stdout: /' "$tmp/out" | head -20
	fi
}

# json NAME PYTHON-EXPR: the last stdout is one JSON document d for
# which EXPR is true.
json() {
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$tmp/out" "$2" 2>"$tmp/pyerr"; then
		pass
	else
		fail "$1: JSON check '$2' failed: $(tail -1 "$tmp/pyerr")"
		sed 's/^/  stdout: /' "$tmp/out" | head -20
	fi
}

# json_lines NAME PYTHON-EXPR: every stdout line is a JSON object, and
# EXPR holds for their list d.
json_lines() {
	if python3 -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$tmp/out" "$2" 2>"$tmp/pyerr"; then
		pass
	else
		fail "$1: JSON lines check '$2' failed: $(tail -1 "$tmp/pyerr")"
		sed 's/^/  stdout: /' "$tmp/out" | head -20
	fi
}
