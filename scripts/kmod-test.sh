#!/bin/sh
# make kmod-test: tdb.ko in a real kernel.  The development machines run a
# kernel that loads no modules, so this boots Debian's kernel (the one
# whose headers tdb.ko was built against) in qemu with TCG and an
# initramfs of busybox, the module and the programs under test
# (scripts/kmod-initramfs.sh).  The guest's /init is tests/kmod/init.
#
#   scripts/kmod-test.sh BUILD_DIR
#
# Boots:
#   main      tests/kmod/main.sh: load, /dev/tdb, generic netlink, the
#             integration suite against /dev/tdb, rmmod with a client
#             connected and insmod again; its serial output is printed as
#             it comes
#   power cut tests/kmod/powercut.sh, on an ext4 disk image: each round's
#             boot checks the earlier rounds' acknowledged keys, writes a
#             sync table and is SIGKILLed mid-write after a random delay;
#             a last boot checks the last round
#
# Fails (exit 1) when a guest step fails or is missing, when a boot does
# not reach its "TDB-KMOD: done" line, or when the serial log shows a
# kernel problem (kernel_bad below); prints the lines concerned.  Logs stay
# in BUILD_DIR/kmod-test/.
#
# Environment: TDB_KMOD_ROUNDS (power-cut rounds, default 5),
# TDB_KMOD_MAIN_LIMIT (seconds for the main boot, default 420),
# TDB_KMOD_ONLY=main|powercut (one phase alone) or bench (bench/ring
# against tdb.ko and tdbd in one guest, with ring's arguments in
# TDB_KMOD_BENCH, comma-separated; build BUILD_DIR/bench/ring first),
# TDB_KMOD_POWERCUT_OWNER=tdbd (the power cuts against tdbd in the guest:
# a check of the test itself).
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
out=$build/kmod-test
rounds=${TDB_KMOD_ROUNDS:-5}
main_limit=${TDB_KMOD_MAIN_LIMIT:-420}
only=${TDB_KMOD_ONLY:-}
# A power-cut boot reaches its writer in well under a minute.
pc_limit=180
pc_owner=""
[ "${TDB_KMOD_POWERCUT_OWNER:-}" = tdbd ] && pc_owner=" tdbowner=tdbd"

# Kernel lines (they carry a printk timestamp) that fail the run.  Debian's
# kernel has no lockdep, KASAN, UBSAN or might-sleep checks, so those
# patterns fire only on a debug kernel (tdb.ko built with KDIR= its headers);
# BUG_ON, WARN, oopses, list corruption (DEBUG_LIST is on), stalls,
# lockups and hung tasks are caught with any.
kernel_bad='BUG:|WARNING:|Oops|general protection|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|KASAN|UBSAN|[Kk]ernel panic|INFO: task .* blocked|kernel BUG at|invalid opcode|Call Trace:|detected stall|soft lockup|hard LOCKUP|list_(add|del) corruption'
stamp='\[ *[0-9]+\.[0-9]+\]'

failures=0
t_start=$(date +%s)

die() {
	echo "kmod-test: $*" >&2
	exit 1
}

failed() {
	echo "kmod-test: FAILED: $*"
	failures=$((failures + 1))
}

# ---- the kernel: the one tdb.ko was built for, and its modules
ko=$src/kmod/tdb.ko
[ -f "$ko" ] || die "no $ko: run make kmod"
kver=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
kernel=/boot/vmlinuz-$kver
if [ ! -f "$kernel" ] || [ ! -d "/lib/modules/$kver" ]; then
	die "tdb.ko was built against the headers of $kver, but" \
		"$kernel or /lib/modules/$kver is missing: install" \
		"linux-image-$kver (linux-image-amd64 and linux-headers-amd64" \
		"must be the same version; scripts/deps.sh kmod-test)"
fi

mkdir -p "$out"
rm -f "$out"/*.log
initrd=$out/initramfs.gz
"$src/scripts/kmod-initramfs.sh" "$build" "$kver" "$initrd" ||
	die "cannot build the initramfs"

# quiet: the guest raises the console log level once booted (so that the
# boot is short and the test's kernel messages all reach the console).
# mitigations=off: TCG emulates no speculation, the mitigations only cost.
append="console=ttyS0 panic=-1 quiet mitigations=off"
# qemu LIMIT ARGS...: one boot, killed after LIMIT seconds whatever it does.
qemu() {
	limit=$1
	shift
	timeout -s KILL "$limit" qemu-system-x86_64 -accel tcg -m 2G -smp 2 \
		-nographic -no-reboot -net none -kernel "$kernel" \
		-initrd "$initrd" "$@" </dev/null
}

# Serial logs have CRLF line ends, and the firmware's terminal resets
# (ESC c, ESC [...) glue themselves to the next line.
clean() {
	tr -d '\r' <"$1" | sed 's/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g'
}

# Checks boot log $1 whose steps $2 (space-separated) must all pass:
# prints what is wrong and counts it.  $3 "killed": the host killed the
# guest, so there is no done line to expect.
check_boot() {
	log=$1
	ok=1
	if clean "$log" | grep -Eq "$stamp.*($kernel_bad)"; then
		failed "the kernel log of $(basename "$log") shows a problem:"
		clean "$log" | grep -E -A 25 "$stamp.*($kernel_bad)" | head -n 120
		ok=0
	fi
	n=$(clean "$log" | grep -Ec "TDB-KMOD: step [^ ]+ fail")
	if [ "$n" -ne 0 ]; then
		clean "$log" | grep -Eo "TDB-KMOD: step [^ ]+ fail.*" |
			sed 's/^/kmod-test: FAILED: /'
		failures=$((failures + n))
		ok=0
	fi
	for s in $2; do
		if ! clean "$log" | grep -q "TDB-KMOD: step $s pass"; then
			clean "$log" | grep -q "TDB-KMOD: step $s fail" ||
				failed "step $s did not report ($(basename "$log"))"
			ok=0
		fi
	done
	if [ "${3:-}" != killed ] && ! clean "$log" | grep -q "TDB-KMOD: done"; then
		failed "no done line in $(basename "$log"): the guest hung," \
			"died or ran out of time"
		ok=0
	fi
	[ $ok = 1 ]
}

# ---- main boot
run_main() {
	log=$out/main.log
	echo "kmod-test: booting $kernel (main steps, at most $main_limit s)"
	t0=$(date +%s)
	# tee: the serial output shows as it comes, and stays in the log.
	qemu "$main_limit" -append "$append tdbtest=main" 2>&1 | tee "$log"
	echo "kmod-test: main boot took $(($(date +%s) - t0)) s"
	check_boot "$log" "load device genl hostile-dev integration rmmod limits pins kernel-log"
}

# ---- power cuts
# The highest acknowledged key in log $1, or nothing.  A line cut by the
# kill reads as a smaller number than the one before it: the maximum
# ignores it.
last_ack() {
	clean "$1" | sed -n 's/^TDB-ACK \([0-9][0-9]*\)$/\1/p' | sort -n |
		tail -n 1
}

# Boots with tdbarg $1 and log $2; when $3 is "kill", SIGKILLs qemu a
# random 0.5 to 4 s after the first acknowledged write.
#
# cache=unsafe: qemu's writes reach the image file (the host's page cache)
# before the guest sees them complete, and only qemu dies, so a flush
# changes nothing that the kill could lose; skipping the host's fsync
# keeps the rounds fast.  What the kill loses is the guest's own state:
# its page cache and whatever tdb.ko had not written and synced.
pc_boot() {
	rm -f "$out/qemu.pid"
	qemu "$pc_limit" -pidfile "$out/qemu.pid" \
		-append "$append tdbtest=powercut tdbarg=$1$pc_owner" \
		-drive "file=$img,format=raw,if=virtio,cache=unsafe" \
		>"$2" 2>&1 &
	tpid=$!
	if [ "$3" = kill ]; then
		while kill -0 "$tpid" 2>/dev/null &&
			! grep -q "^TDB-ACK" "$2"; do
			sleep 0.2
		done
		if kill -0 "$tpid" 2>/dev/null; then
			sleep "$(awk "BEGIN { srand($(date +%N) % 100000);
				printf \"%.2f\", 0.5 + 3.5 * rand() }")"
			kill -KILL "$(cat "$out/qemu.pid")"
		fi
	fi
	wait "$tpid" 2>/dev/null
	[ $? -eq 137 ] && [ "$3" != kill ] &&
		echo "kmod-test: the boot ran out of its $pc_limit s"
}

# The end of a power-cut boot's log, without its thousands of acks.
pc_tail() {
	clean "$1" | grep -v "^TDB-ACK" | tail -n 40
}

run_powercut() {
	img=$out/powercut.img
	rm -f "$img"
	truncate -s 256M "$img" && mkfs.ext4 -q -F "$img" ||
		die "cannot make the ext4 image $img"
	checks=""
	steps=""
	r=1
	while [ $r -le $((rounds + 1)) ]; do
		log=$out/powercut-$r.log
		t0=$(date +%s)
		if [ $r -le "$rounds" ]; then
			pc_boot "${checks}write:pc$r" "$log" kill
			check_boot "$log" "$steps" killed ||
				{ pc_tail "$log"; return; }
			n=$(last_ack "$log")
			if [ -z "$n" ]; then
				failed "power-cut round $r: no write was" \
					"acknowledged"
				pc_tail "$log"
				return
			fi
			echo "kmod-test: power-cut round $r: killed after" \
				"$((n + 1)) acknowledged writes" \
				"($(($(date +%s) - t0)) s)"
		else
			pc_boot "${checks%,}" "$log" wait
			rm_step=powercut-rmmod
			[ -n "$pc_owner" ] && rm_step=""
			check_boot "$log" "$steps $rm_step" ||
				{ pc_tail "$log"; return; }
			echo "kmod-test: power-cut final check boot" \
				"($(($(date +%s) - t0)) s)"
		fi
		# The check of the round just before (the final boot: all).
		if [ $r -le "$rounds" ]; then
			clean "$log" | grep "^kclient: " | tail -n 1
		else
			clean "$log" | grep "^kclient: "
		fi | sed 's/^/kmod-test:   /'
		# The next boot checks this round too.
		checks="${checks}check:pc$r:${n:-},"
		steps="$steps powercut-pc$r"
		r=$((r + 1))
	done
}

# ---- bench/ring against tdb.ko and tdbd in one guest (on demand only)
run_bench() {
	log=$out/bench.log
	qemu 600 -append "$append tdbtest=bench tdbarg=${TDB_KMOD_BENCH:-}" \
		2>&1 | tee "$log"
	check_boot "$log" bench
}

case "$only" in
main) run_main ;;
powercut) run_powercut ;;
bench) run_bench ;;
*)
	run_main
	run_powercut
	;;
esac

secs=$(($(date +%s) - t_start))
if [ $failures -ne 0 ]; then
	echo "kmod-test: $failures failure(s), ${secs} s (logs in $out)"
	exit 1
fi
echo "kmod-test: passed, ${secs} s (logs in $out)"
