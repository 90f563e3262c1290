# make kmod-test's optional bench boot (scripts/kmod-test.sh with
# TDB_KMOD_ONLY=bench): bench/ring's gets/s against tdb.ko, then against
# tdbd, in the same guest.  TCG makes the figures meaningless on their
# own: the ratio between the two owners is what they show.  $1 is ring's
# arguments, comma-separated (default: --seconds,3).
. /tdb/tests/kmod/lib.sh

ring=$build/bench/ring
args=$(echo "${1:---seconds,3}" | tr ',' ' ')
if [ ! -x "$ring" ]; then
	fail bench "no $ring in the initramfs (make O=... $ring first)"
	exit 1
fi
mkdir -p /tmp/kdata /tmp/ddata
if load_tdb /tmp/kdata && check_dev; then
	say "bench/ring against tdb.ko"
	# shellcheck disable=SC2086
	"$ring" $args || fail bench "bench/ring against tdb.ko failed"
	unload_tdb
else
	fail bench "tdb.ko did not load"
fi
"$build/tdbd/tdbd" --socket /run/tdbd.sock --data-dir /tmp/ddata \
	--log-level warning &
tdbd=$!
if wait_dev /run/tdbd.sock 20; then
	say "bench/ring against tdbd"
	# shellcheck disable=SC2086
	TDB_SOCKET=/run/tdbd.sock "$ring" $args ||
		fail bench "bench/ring against tdbd failed"
else
	fail bench "tdbd did not start"
fi
kill $tdbd
wait $tdbd
pass bench
