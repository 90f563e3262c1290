#!/bin/sh
# Installs the Debian packages that a make target needs, and does nothing
# when they are already there.  Usage: scripts/deps.sh GROUP...
#   build  compiler, liburcu, libmnl, inih, libsystemd, scdoc (make install
#          builds the man pages)
#   test   CMocka and what the tests drive (man, bash-completion, debhelper
#          and dh-dkms for the Debian packages)
#   bench  the peers that the benchmarks compare against
#   kmod   the Debian kernel headers that tdb.ko builds against (6.1)
#   kmod-test  what make kmod-test boots: the kernel image matching those
#          headers, qemu, a static busybox and the tools that pack the
#          initramfs and make the power-cut disk image
set -eu

pkgs_build="gcc make pkg-config liburcu-dev libmnl-dev libjansson-dev libcsv-dev \
	libinih-dev libsystemd-dev scdoc"
pkgs_test="libcmocka-dev python3 util-linux man-db groff-base bash-completion \
	dpkg-dev debhelper dh-dkms"
pkgs_bench="liblmdb-dev redis-server libhiredis-dev ipset nftables util-linux \
	linux-perf"
pkgs_kmod="gcc make linux-headers-amd64"
pkgs_kmod_test="linux-headers-amd64 linux-image-amd64 qemu-system-x86 \
	busybox-static cpio gzip kmod e2fsprogs"

want=""
for group in "$@"; do
	case "$group" in
	build) want="$want $pkgs_build" ;;
	test) want="$want $pkgs_build $pkgs_test" ;;
	bench) want="$want $pkgs_build $pkgs_bench" ;;
	kmod) want="$want $pkgs_kmod" ;;
	kmod-test) want="$want $pkgs_build $pkgs_test $pkgs_kmod \
		$pkgs_kmod_test" ;;
	*) echo "deps.sh: unknown group '$group'" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
