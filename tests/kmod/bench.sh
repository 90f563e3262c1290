# make kmod-bench (scripts/kmod-test.sh with TDB_KMOD_ONLY=bench): gets/s
# (bench/ring) and puts/s to sync tables (bench/durable put, 4 writers) against
# tdb.ko, then against tdbd, in the same guest, both with their data
# directory on tmpfs, so that the puts measure the owners, not a disk.
# TCG makes the figures meaningless on their own: the ratio between the
# two owners is what they show.  $1 is ring's arguments, comma-separated
# (default: --seconds,3); durable runs as long.
. /tdb/tests/kmod/lib.sh

ring=$build/bench/ring
durable=$build/bench/durable
args=$(echo "${1:---seconds,3}" | tr ',' ' ')
secs=$(echo "$args" | sed -n 's/.*--seconds \([0-9.]*\).*/\1/p')
for b in "$ring" "$durable"; do
	if [ ! -x "$b" ]; then
		fail bench "no $b in the initramfs (make kmod-bench builds it)"
		exit 1
	fi
done
mkdir -p /tmp/kdata /tmp/ddata
if load_tdb /tmp/kdata && check_dev; then
	say "bench/ring against tdb.ko"
	# shellcheck disable=SC2086
	"$ring" $args || fail bench "bench/ring against tdb.ko failed"
	"$durable" put --procs 4 --seconds "${secs:-3}" ||
		fail bench "bench/durable against tdb.ko failed"
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
	TDB_SOCKET=/run/tdbd.sock "$durable" put --procs 4 \
		--seconds "${secs:-3}" ||
		fail bench "bench/durable against tdbd failed"
else
	fail bench "tdbd did not start"
fi
kill $tdbd
wait $tdbd
pass bench
