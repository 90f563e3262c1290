# make kmod-test's first boot (tests/kmod/init runs it): tdb.ko on a
# tmpfs data directory.  Steps, each with its result line (lib.sh):
#
#   load         insmod; the module logs "tdb: loaded"
#   device       /dev/tdb appears, mode 0666; tdbcli works as root and as
#                an unprivileged user
#   genl         the generic netlink family answers STATS, and CHECKPOINT
#                for root only
#   hostile-dev  kdevbad as an unprivileged user: bad TDB_IOC_CONNECT
#                arguments (regions unaligned, short, read-only, shared or
#                file-backed; eventfds wrong or twice) fail with their
#                errno 300 times each and leave nothing behind
#   integration  the libtdb integration suite against /dev/tdb
#                (tests/integration/run.sh in its kmod mode)
#   rmmod        rmmod with a client connected: it unloads, the client's
#                next call fails; insmod again finds the data written
#                before, sync and async
#   limits       max_conns: an unprivileged uid holding its one allowed
#                connection is refused another (root is not);
#                conn_mem_mib: past it, connecting fails
#   pins         once the module is gone, every page it pinned was
#                unpinned (/proc/vmstat)
#   kernel-log   nothing in the kernel log of the whole boot matches
#                lib.sh's kernel_bad (the host checks the console too)
#
# A step that needs the module or the device fails at once, saying why,
# when an earlier one could not provide it.
. /tdb/tests/kmod/lib.sh

# Runs $2 as user $1: 0 when it fails with a message matching $3.
refused() {
	out=$(su -p -s /bin/sh "$1" -c "$2" 2>&1) && return 1
	echo "$out"
	echo "$out" | grep -q "$3"
}

data=/tmp/tdb-data
mkdir -p "$data"

loaded=0
if load_tdb "$data"; then
	loaded=1
	pass load
else
	fail load "the module did not load"
fi

dev=0
if [ $loaded = 0 ]; then
	fail device "no module"
elif ! check_dev; then
	fail device "no usable /dev/tdb"
elif ! tdbcli stats; then
	fail device "tdbcli stats as root failed"
elif ! su -p -s /bin/sh tdbuser -c \
	"tdbcli create kmod_user && tdbcli put kmod_user k v &&
	 tdbcli info kmod_user"; then
	fail device "tdbcli as an unprivileged user failed"
else
	dev=1
	pass device
fi

if [ $loaded = 0 ]; then
	fail genl "no module"
elif ! "$kgenl" stats; then
	fail genl "kgenl stats failed"
elif ! "$kgenl" checkpoint; then
	fail genl "kgenl checkpoint as root failed"
elif ! refused tdbuser "$kgenl checkpoint" "Operation not permitted"; then
	fail genl "an unprivileged user's checkpoint was not refused with EPERM"
else
	pass genl
fi

if [ $dev = 0 ]; then
	fail hostile-dev "no /dev/tdb"
elif su -p -s /bin/sh tdbuser -c "$build/tests/kmod/kdevbad"; then
	pass hostile-dev
else
	fail hostile-dev "see kdevbad's lines above"
fi

if [ $dev = 0 ]; then
	fail integration "no /dev/tdb"
else
	say "integration suite against /dev/tdb"
	# The binaries' own limit; make kmod-test's qemu has an overall one.
	# Fewer replace rounds of test_load: under TCG its 20 take 70 s,
	# and 5 show the same (the suite's full runs are against tdbd).
	if TDB_TEST_OWNER=kmod TDB_TEST_TIMEOUT=${TDB_TEST_TIMEOUT:-400} \
		TDB_LOAD_ROUNDS=5 /tdb/tests/integration/run.sh "$build" \
		"$build"/tests/integration/test_*; then
		pass integration
	else
		fail integration "see the suite's output above"
	fi
fi

# rmmod with a client connected, then the data after insmod.
rmmod_step() {
	tdbcli create kmod_sync --durability sync &&
		tdbcli put kmod_sync before-rmmod sync-value &&
		tdbcli create kmod_async &&
		tdbcli put kmod_async before-rmmod async-value ||
		{ fail rmmod "cannot write the tables"; return; }

	mkfifo /tmp/hold.in
	"$kclient" hold kmod_hold </tmp/hold.in >/tmp/hold.out 2>&1 &
	hold=$!
	exec 3>/tmp/hold.in
	if ! wait_line "TDB-HOLD ready" 30 /tmp/hold.out; then
		cat /tmp/hold.out
		exec 3>&-
		fail rmmod "the holding client did not connect"
		return
	fi
	say "rmmod with a client connected"
	if ! unload_tdb; then
		exec 3>&-
		wait $hold
		fail rmmod "rmmod failed with a client connected"
		return
	fi
	if [ -e /dev/tdb ]; then
		exec 3>&-
		fail rmmod "/dev/tdb is still there after rmmod"
		return
	fi
	echo go >&3
	exec 3>&-
	wait $hold
	st=$?
	cat /tmp/hold.out
	if [ $st -ne 0 ]; then
		fail rmmod "the connected client's next call did not fail cleanly (status $st; 142: it hung)"
		return
	fi

	say "insmod again on the same data directory"
	if ! load_tdb "$data" || ! check_dev; then
		fail rmmod "insmod after rmmod failed"
		return
	fi
	v1=$(tdbcli get kmod_sync before-rmmod)
	v2=$(tdbcli get kmod_async before-rmmod)
	v3=$(tdbcli get kmod_hold held)
	if [ "$v1" != sync-value ] || [ "$v2" != async-value ] ||
		[ "$v3" != yes ]; then
		fail rmmod "after insmod: '$v1' '$v2' '$v3', expected 'sync-value' 'async-value' 'yes'"
		return
	fi
	if ! unload_tdb; then
		fail rmmod "the second rmmod failed"
		return
	fi
	pass rmmod
}

if [ $dev = 0 ]; then
	# The module alone must still unload cleanly.
	if [ $loaded = 1 ] && ! unload_tdb; then
		fail rmmod "rmmod failed (no device, no client)"
	else
		fail rmmod "no /dev/tdb"
	fi
else
	rmmod_step
fi

# Starts "kclient hold $1" as user $2 (it creates table $1; it reads its
# go line from fd 3): 0 once it is connected, with its pid in $hold.
start_hold() {
	rm -f /tmp/hold.in /tmp/hold.out
	mkfifo /tmp/hold.in
	su -p -s /bin/sh "$2" -c "$kclient hold $1" </tmp/hold.in \
		>/tmp/hold.out 2>&1 &
	hold=$!
	exec 3>/tmp/hold.in
	wait_line "TDB-HOLD ready" 30 /tmp/hold.out && return 0
	cat /tmp/hold.out
	exec 3>&-
	return 1
}

# Unloads the module under the holding client and lets it go on: it must
# see its next call fail.
end_hold() {
	unload_tdb
	echo go >&3
	exec 3>&-
	wait $hold
}

# Loads the module with parameter $1 and has user $2 hold a connection
# (table $3): 0 when user $4's next connection is refused with a message
# matching $5 and command $6, if given, still succeeds as root.  Unloads
# the module either way.
refused_past() {
	insmod /tdb/tdb.ko data_dir=/tmp/tdb-limits "$1" ||
		{ say "insmod $1 failed"; return 1; }
	if ! start_hold "$3" "$2"; then
		say "the holding client did not connect"
		unload_tdb
		return 1
	fi
	refused "$4" "tdbcli stats" "$5"
	st=$?
	[ $st = 0 ] || say "$4's connection past $1 was not refused with '$5'"
	if [ $st = 0 ] && [ -n "${6:-}" ] && ! $6 >/dev/null; then
		say "root's '$6' failed past $1"
		st=1
	fi
	end_hold
	return $st
}

limits_step() {
	mkdir -p /tmp/tdb-limits
	# Root is not counted by max_conns: it still connects.
	refused_past max_conns=1 tdbuser kmod_limit_uid tdbuser \
		"as many connections" "tdbcli stats" ||
		{ fail limits "max_conns"; return; }
	# A connection pins about 2.1 MiB: 3 MiB hold one.
	refused_past conn_mem_mib=3 root kmod_limit_mem root \
		"out of memory" || { fail limits "conn_mem_mib"; return; }
	tdbcli stats >/dev/null 2>&1 &&
		{ fail limits "tdbcli still connects after rmmod"; return; }
	pass limits
}

if [ $dev = 0 ]; then
	fail limits "no /dev/tdb"
else
	limits_step
fi

# Every page a connection pinned was unpinned: the module is unloaded now,
# and nothing else in this guest pins pages.  The counters keep per-CPU
# deltas that /proc/vmstat does not show until they are folded in:
# stat_refresh folds them.
echo 1 >/proc/sys/vm/stat_refresh
pins=$(awk '$1 == "nr_foll_pin_acquired" { a = $2 }
	$1 == "nr_foll_pin_released" { r = $2 }
	END { print a + 0, r + 0 }' /proc/vmstat)
if lsmod | grep -q '^tdb '; then
	fail pins "tdb.ko is still loaded"
elif [ "${pins% *}" = "${pins#* }" ] && [ "${pins% *}" != 0 ]; then
	say "pages pinned and released: $pins"
	pass pins
else
	fail pins "pages pinned and released differ (or none were): $pins"
fi

if check_kernel_log; then
	pass kernel-log
else
	fail kernel-log "see the kernel lines above"
fi
