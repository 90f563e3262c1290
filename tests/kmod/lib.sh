# Shared by the guest's test scripts (tests/kmod/*.sh, sourced).
#
# Every step prints one line "TDB-KMOD: step NAME pass" or "... fail
# (WHY)": the host (scripts/kmod-test.sh) counts those.  The programs under
# test sit in /tdb/build as in the build directory.
build=/tdb/build
kclient=$build/tests/kmod/kclient
kgenl=$build/tests/kmod/kgenl
PATH=$build/cli:$PATH
export PATH
# libtdb must pick /dev/tdb: nothing may point it at a socket.
unset TDB_SOCKET

# The kernel log lines that fail the run (the host greps the same).
kernel_bad='BUG:|WARNING:|Oops|general protection|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|KASAN|UBSAN|Kernel panic|kernel panic|INFO: task .* blocked|kernel BUG at|invalid opcode|Call Trace:|detected stall|soft lockup|hard LOCKUP|list_(add|del) corruption'

pass() {
	echo "TDB-KMOD: step $1 pass"
}

fail() {
	step=$1
	shift
	echo "TDB-KMOD: step $step fail ($*)"
}

# say LINE: progress that stands out in the serial log.
say() {
	echo "TDB-KMOD: $*"
}

# Waits up to $2 seconds (default 5) for device node $1 to appear.
wait_dev() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt $((${2:-5} * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}

# Waits up to $2 seconds for a line matching $1 in file $3.
wait_line() {
	i=0
	while ! grep -q "$1" "$3" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "$1" "$3" 2>/dev/null
}

# The module's last "loaded" or "unloaded" line in the kernel log (the
# log is never cleared: the end of the run checks all of it).
last_tdb_event() {
	dmesg | grep -Eo "tdb: (loaded|unloaded)" | tail -n 1
}

# Loads tdb.ko on data directory $1: 0 when it loaded and logged so.
# The integration suite holds 256 connections of one uid (max_conns), 540
# MiB of rings: more than the default conn_mem_mib of a 2 GiB guest.
load_tdb() {
	if ! insmod /tdb/tdb.ko data_dir="$1" conn_mem_mib=1024; then
		say "insmod tdb.ko data_dir=$1 failed"
		return 1
	fi
	if [ "$(last_tdb_event)" != "tdb: loaded" ]; then
		say "tdb.ko loaded but did not log 'tdb: loaded'"
		return 1
	fi
	return 0
}

# Unloads tdb.ko: 0 when it went and logged so.
unload_tdb() {
	if ! rmmod tdb; then
		say "rmmod tdb failed"
		return 1
	fi
	if [ "$(last_tdb_event)" != "tdb: unloaded" ]; then
		say "tdb.ko went without logging 'tdb: unloaded'"
		return 1
	fi
	return 0
}

# The device: it must appear, world-readable and writable (access
# control is per table).
check_dev() {
	if ! wait_dev /dev/tdb 5 || [ ! -c /dev/tdb ]; then
		say "/dev/tdb did not appear: the module registers no device"
		return 1
	fi
	mode=$(stat -c %a /dev/tdb)
	if [ "$mode" != 666 ]; then
		say "/dev/tdb has mode $mode, not 666"
		return 1
	fi
	return 0
}

# The kernel log so far, checked: prints the bad lines and fails on any.
check_kernel_log() {
	if dmesg | grep -Eq "$kernel_bad"; then
		say "the kernel log shows a problem:"
		dmesg | grep -E -B 2 -A 20 "$kernel_bad" | head -n 80
		return 1
	fi
	return 0
}
