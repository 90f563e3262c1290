#!/bin/sh
# Runs each unit test binary given after the build directory, and prints one
# closing line "unit (DIR): N passed, N failed".  Exits 1 when any failed.
set -u
dir=$1
shift
pass=0
fail=0
failed=""
for t in "$@"; do
	echo "== $t"
	if "$t"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed="$failed $t"
	fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "unit ($dir): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
