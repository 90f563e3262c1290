#!/bin/sh
# Packs the initramfs that make kmod-test boots (scripts/kmod-test.sh).
#
#   scripts/kmod-initramfs.sh BUILD_DIR KVER OUT
#
# Holds: the static busybox and its applet links; tdb.ko and the Debian
# modules it and the tests need, from /lib/modules/KVER, in load order
# (/lib/modules/order); the programs under test laid out as in BUILD_DIR
# (/tdb/build/...; bench/ring and bench/durable when they were built) with the shared libraries
# they need and the dynamic loader; tests/kmod's guest scripts and tests/integration/run.sh under
# /tdb/tests; an /etc/passwd with an unprivileged user.  /init is
# tests/kmod/init.  Written as a gzip'ed newc cpio, as the kernel wants it.
set -eu

if [ $# -ne 3 ]; then
	echo "usage: $0 BUILD_DIR KVER OUT" >&2
	exit 2
fi
build=$1
kver=$2
out=$3
src=$(cd "$(dirname "$0")/.." && pwd)
mods=/lib/modules/$kver

# The modules the guest loads besides tdb.ko's own dependencies: the
# power-cut test's virtio disk holds an ext4 file system.  crc32c_generic
# gives libcrc32c and ext4 their "crc32c" (libcrc32c's softdep, which
# insmod does not follow; the guest has no modprobe).
extra_mods="crc32c_generic virtio_pci virtio_blk ext4"

root=$(mktemp -d "${TMPDIR:-/tmp}/tdb-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
# mktemp's 0700 would become the guest's / and lock tdbuser out.
chmod 0755 "$root"
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
	"$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" \
	"$root/run" "$root/data" "$root/lib/modules" "$root/tdb/tests"

# ---- busybox
cp /bin/busybox "$root/bin/busybox"
for app in $(/bin/busybox --list-full); do
	[ -e "$root/$app" ] || ln -s /bin/busybox "$root/$app"
done

# ---- kernel modules, dependencies first
order=""
mod_file() {
	modinfo -k "$kver" -n "$1" 2>/dev/null
}

# Copies module $1 (a name, or the path of tdb.ko) after what it needs.
# Recursive: "local" (dash and bash have it) keeps each call's names.
add_mod() {
	local file name deps d dst
	case " $order " in *" $1 "*) return 0 ;; esac
	if [ -f "$1" ]; then
		file=$1
		name=$(basename "$1" .ko)
	else
		file=$(mod_file "$1") || {
			echo "kmod-initramfs: no module $1 in $mods" >&2
			exit 1
		}
		name=$1
	fi
	# Hard dependencies only: a softdep names an alias that several
	# modules may provide (crc32c), so extra_mods picks those.
	deps=$(modinfo -k "$kver" -F depends "$file" | tr ',' ' ')
	for d in $deps; do
		add_mod "$d"
	done
	case " $order " in *" $name "*) return 0 ;; esac
	# busybox insmod reads plain ELF only: unpack compressed modules.
	dst=$root/lib/modules/$name.ko
	case "$file" in
	*.ko.xz) xz -dc "$file" >"$dst" ;;
	*.ko.zst) zstd -qdc "$file" >"$dst" ;;
	*.ko.gz) gzip -dc "$file" >"$dst" ;;
	*) cp "$file" "$dst" ;;
	esac
	order="$order $name"
}

for m in $extra_mods; do
	add_mod "$m"
done
# tdb.ko is loaded by the tests, not at boot: its dependencies are.
for d in $(modinfo -k "$kver" -F depends "$src/kmod/tdb.ko" | tr ',' ' '); do
	add_mod "$d"
done
echo "$order" | tr ' ' '\n' | sed '/^$/d' >"$root/lib/modules/order"
cp "$src/kmod/tdb.ko" "$root/tdb/tdb.ko"

# ---- programs, their libraries and the loader
progs=""
for p in "$build/cli/tdbcli" "$build/tdbd/tdbd" "$build"/tests/kmod/* \
	"$build"/tests/integration/test_* "$build/bench/ring" \
	"$build/bench/durable"; do
	case "$p" in *.o | *.d) continue ;; esac
	[ -f "$p" ] && [ -x "$p" ] || continue
	rel=${p#"$build"/}
	mkdir -p "$root/tdb/build/$(dirname "$rel")"
	# Debug info would only slow the guest's unpacking down.
	strip --strip-debug -o "$root/tdb/build/$rel" "$p"
	progs="$progs $p"
done
# ldd prints "name => /path (addr)" and the loader as "/path (addr)".
# shellcheck disable=SC2086
for lib in $(ldd $progs 2>/dev/null |
	sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p' |
	sort -u); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done

# ---- scripts and users
cp "$src/tests/kmod/init" "$root/init"
mkdir -p "$root/tdb/tests/kmod" "$root/tdb/tests/integration"
cp "$src"/tests/kmod/*.sh "$root/tdb/tests/kmod/"
cp "$src/tests/integration/run.sh" "$root/tdb/tests/integration/"
chmod 0755 "$root/init" "$root"/tdb/tests/kmod/*.sh
cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/tmp:/bin/sh
tdbuser:x:1000:1000:unprivileged tdb client:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
tdbuser:x:1000:
nogroup:x:65534:
EOF

(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$out"
echo "kmod-initramfs: $out ($(du -k "$out" | cut -f1) KiB; modules:$order)"
