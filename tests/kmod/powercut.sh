# make kmod-test's power-cut boots (tests/kmod/init runs them): tdb.ko's
# data directory is on the ext4 file system of the virtio disk /dev/vda,
# which the host kills qemu over.  $1 is what to do, comma-separated:
#
#   check:TABLE:N   every acknowledged key 0..N of TABLE is there, with its
#                   value (step "powercut-TABLE")
#   write:TABLE     kclient writes TABLE (sync) until the host kills qemu,
#                   printing "TDB-ACK N" as each put returns
#
# The host passes every earlier round's table to check, so each round's
# keys must also survive the recoveries after it.  A boot that only checks
# (the last) then unloads the module (step "powercut-rmmod").
. /tdb/tests/kmod/lib.sh

if ! wait_dev /dev/vda 10; then
	fail powercut-boot "no disk /dev/vda"
	exit 1
fi
if ! mount -t ext4 /dev/vda /data; then
	dmesg | tail -n 15
	fail powercut-boot "cannot mount the disk /dev/vda"
	exit 1
fi
if [ "$TDB_KMOD_OWNER" = tdbd ]; then
	# The same rounds against tdbd (scripts/kmod-test.sh's
	# TDB_KMOD_POWERCUT_OWNER=tdbd): a check of the test itself.
	export TDB_SOCKET=/run/tdbd.sock
	"$build/tdbd/tdbd" --socket "$TDB_SOCKET" --data-dir /data/tdbd &
	if ! wait_dev "$TDB_SOCKET" 20; then
		fail powercut-boot "tdbd did not start"
		exit 1
	fi
else
	mkdir -p /data/tdb
	if ! load_tdb /data/tdb || ! check_dev; then
		fail powercut-boot "the module did not load or has no device"
		exit 1
	fi
fi

for job in $(echo "$1" | tr ',' ' '); do
	what=${job%%:*}
	rest=${job#*:}
	case "$what" in
	check)
		table=${rest%%:*}
		last=${rest#*:}
		if "$kclient" check "$table" "$last"; then
			pass "powercut-$table"
		else
			fail "powercut-$table" "acknowledged keys lost after the power cut"
		fi
		;;
	write)
		say "writing $rest until the power goes"
		"$kclient" write "$rest"
		# Only the host's kill may end the writer.
		fail powercut-write "the writer stopped (status $?)"
		;;
	esac
done
# The last boot only checks: the recovered module must unload cleanly.
case "$1" in
*write:*) ;;
*)
	if [ "$TDB_KMOD_OWNER" != tdbd ]; then
		if unload_tdb; then
			pass powercut-rmmod
		else
			fail powercut-rmmod "rmmod after recovery failed"
		fi
	fi
	;;
esac
check_kernel_log || fail kernel-log "see the kernel lines above"
