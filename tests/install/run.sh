#!/bin/bash
# tests/install/run.sh - make install and uninstall, the man pages, the
# bash completion and the Debian packages, each checked from the outside:
#
#  1. make install DESTDIR=$tmp/root PREFIX=/usr/local puts exactly the
#     expected files there; pkg-config, pointed at that tree, gives flags
#     into it; hello.c built with them (shared, and static with libtdb.a
#     through pkg-config --static) puts and gets against the installed
#     tdbd; libtdb(3)'s example builds and runs; the installed headers
#     compile alone as C99 and C++; bash completion offers commands,
#     options and table names.
#  2. every installed man page renders with man -l without a warning
#     (groff -ww: all of them), and whatis can read its NAME.
#  3. make uninstall leaves no file behind.
#  4. dpkg-buildpackage -us -uc -b, in a copy of the tree in $tmp, makes
#     the five packages; dpkg -c shows each holds exactly its files; the
#     packaged tdbd, library and pkg-config file work together.
#
# Usage: tests/install/run.sh BUILD_DIR   (make install-test; BUILD_DIR
# is the make O= the tree is installed from.)  Prints a FAIL line per
# failure and "install: N passed, M failed"; exits non-zero on any
# failure, 2 when it cannot run at all.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
top=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
here=$top/tests/install
build=$1
version=$(sed -n 's/^TDB_VERSION := *//p' "$top/Makefile")
if [ -z "$version" ]; then
	echo "install: no TDB_VERSION in $top/Makefile" >&2
	exit 2
fi
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH) || exit 2
arch=$(dpkg-architecture -qDEB_HOST_ARCH) || exit 2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tdb-install-test.XXXXXX") || exit 2
root=$tmp/root
usr=$root/usr/local
sock=$tmp/tdbd.sock
tdbd_pid=

cleanup() {
	if [ -n "$tdbd_pid" ]; then
		kill -KILL "$tdbd_pid" 2>/dev/null
		wait "$tdbd_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
	failed=$((failed + 1))
	echo "FAIL: $*"
}
# check WHAT COMMAND...: passes when COMMAND succeeds, else fails with
# WHAT and what COMMAND printed.
check() {
	local what=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		pass
	else
		fail "$what (exit status $?):"
		sed 's/^/    /' "$tmp/out" | head -20
	fi
}
# same WHAT EXPECTED_FILE ACTUAL_FILE: the two sorted lists are equal.
same() {
	if diff -u "$2" "$3" >"$tmp/diff"; then
		pass
	else
		fail "$1 (- expected, + found):"
		sed -n '3,$p' "$tmp/diff" | grep '^[-+]' | sed 's/^/    /'
	fi
}
# make runs with none of the caller's make variables: its own O and
# PREFIX only.
submake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make --no-print-directory -C "$top" O="$build" "$@"
}
# The files and links under a directory, sorted, a link as "PATH -> TARGET".
list_tree() {
	(cd "$1" && find . ! -type d \( -type l -printf '%P -> %l\n' -o \
		-printf '%P\n' \) | LC_ALL=C sort)
}

start_tdbd() {
	"$1" --socket "$sock" --data-dir "$tmp/data" --workers 1 \
		>"$tmp/tdbd.log" 2>&1 &
	tdbd_pid=$!
	local i=0
	while [ ! -S "$sock" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$tdbd_pid" 2>/dev/null; then
			echo "install: $1 did not start:" >&2
			cat "$tmp/tdbd.log" >&2
			exit 2
		fi
		sleep 0.05
	done
}

stop_tdbd() {
	kill -TERM "$tdbd_pid" 2>/dev/null
	wait "$tdbd_pid" 2>/dev/null
	tdbd_pid=
	rm -rf "$tmp/data" "$sock"
}

# --- 1. make install --------------------------------------------------------

echo "install: make install DESTDIR=$root PREFIX=/usr/local"
if ! submake install DESTDIR="$root" PREFIX=/usr/local >"$tmp/make.log" 2>&1
then
	echo "install: make install failed:" >&2
	tail -30 "$tmp/make.log" >&2
	exit 2
fi

cat >"$tmp/expected" <<EOF
usr/local/bin/tdbcli
usr/local/etc/tdb/tdb.conf
usr/local/include/tdb/proto.h
usr/local/include/tdb/schema.h
usr/local/include/tdb/tdb.h
usr/local/lib/libtdb.a
usr/local/lib/libtdb.so -> libtdb.so.1
usr/local/lib/libtdb.so.1 -> libtdb.so.1.0.0
usr/local/lib/libtdb.so.1.0.0
usr/local/lib/pkgconfig/libtdb.pc
usr/local/lib/systemd/system/tdbd.service
usr/local/sbin/tdbd
usr/local/share/bash-completion/completions/tdbcli
usr/local/share/doc/tdb/tdb.conf
usr/local/share/doc/tdb/tdb.conf.installed
usr/local/share/man/man1/tdbcli.1
usr/local/share/man/man3/libtdb.3
usr/local/share/man/man5/tdb.conf.5
usr/local/share/man/man8/tdbd.8
usr/local/share/tdb/schema/README.md
usr/local/share/tdb/schema/blocklist.json
usr/local/share/tdb/schema/fw4.json
usr/local/share/tdb/schema/fw6.json
usr/local/share/tdb/schema/sessions.json
EOF
LC_ALL=C sort -o "$tmp/expected" "$tmp/expected"
list_tree "$root" | LC_ALL=C sort >"$tmp/found"
same "make install: the files installed" "$tmp/expected" "$tmp/found"

soname=$(objdump -p "$usr/lib/libtdb.so.1.0.0" 2>/dev/null |
	awk '$1 == "SONAME" { print $2 }')
if [ "$soname" = libtdb.so.1 ]; then
	pass
else
	fail "libtdb.so.1.0.0 has soname '$soname', not libtdb.so.1"
fi
# The unit runs the installed tdbd with the installed configuration.
unit=$usr/lib/systemd/system/tdbd.service
if [ -f "$unit" ]; then
	if grep -q '^ExecStart=/usr/local/sbin/tdbd' "$unit" &&
	   ! grep '^Exec' "$unit" | grep -q ' /etc/\|=/usr/sbin/' &&
	   { ! grep -q -- '--config' "$unit" ||
	     grep -q -- '--config /usr/local/etc/tdb/tdb.conf' "$unit"; }; then
		pass
	else
		fail "the installed tdbd.service does not run /usr/local/sbin/tdbd with /usr/local/etc/tdb/tdb.conf:"
		grep '^Exec' "$unit" | sed 's/^/    /'
	fi
fi

# pkg-config, pointed at the installed tree: every -I and -L in it.
pc() {
	PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$usr/lib/pkgconfig \
		pkg-config "$@"
}
if [ "$(pc --modversion libtdb 2>&1)" = "$version" ]; then
	pass
else
	fail "pkg-config --modversion libtdb: '$(pc --modversion libtdb 2>&1)', not $version"
fi
cflags=$(pc --cflags libtdb) || fail "pkg-config --cflags libtdb failed"
libs=$(pc --libs libtdb) || fail "pkg-config --libs libtdb failed"
slibs=$(pc --static --libs libtdb) ||
	fail "pkg-config --static --libs libtdb failed"
bad=
for f in $cflags $libs $slibs; do
	case $f in
	-I"$root"/* | -L"$root"/* | -l*) ;;
	*) bad="$bad $f" ;;
	esac
done
if [ -z "$bad" ]; then pass; else fail "pkg-config flags outside $root:$bad"; fi
case " $cflags " in
*" -I$usr/include "*) pass ;;
*) fail "pkg-config --cflags libtdb: '$cflags' lacks -I$usr/include" ;;
esac
for want in "-L$usr/lib" -ltdb; do
	case " $libs " in
	*" $want "*) pass ;;
	*) fail "pkg-config --libs libtdb: '$libs' lacks $want" ;;
	esac
done
for want in -ltdb -lmnl -ljansson; do
	case " $slibs " in
	*" $want "*) pass ;;
	*) fail "pkg-config --static --libs libtdb: '$slibs' lacks $want" ;;
	esac
done

# The headers alone, as C99 (pedantic) and as C++.
printf '#include <tdb/tdb.h>\n#include <tdb/schema.h>\nint main(void) { return 0; }\n' \
	>"$tmp/headers.c"
# shellcheck disable=SC2086 # flags are words
check "the installed headers compile as C99" \
	cc -std=c99 -pedantic -Wall -Wextra -Werror $cflags \
	-o "$tmp/headers" "$tmp/headers.c"
if command -v c++ >/dev/null; then
	# shellcheck disable=SC2086
	check "the installed headers compile as C++" \
		c++ -x c++ -std=c++11 -Wall -Wextra -Werror $cflags \
		-o "$tmp/headers" "$tmp/headers.c"
fi

# hello.c, with the shared library and with libtdb.a ("-l:libtdb.a" for
# "-ltdb": the linker would take the .so beside it).  Without the
# --static flags, libtdb.a must not link: libmnl and libjansson come from
# Requires.private alone.
# shellcheck disable=SC2086
check "hello.c builds with pkg-config --cflags --libs libtdb" \
	cc -std=c11 -Wall -Wextra -Werror -o "$tmp/hello" \
	"$here/hello.c" $cflags $libs
# shellcheck disable=SC2086
check "hello.c builds with libtdb.a and pkg-config --static --libs libtdb" \
	cc -std=c11 -Wall -Wextra -Werror -o "$tmp/hello-static" \
	"$here/hello.c" $cflags ${slibs/-ltdb/-l:libtdb.a}
# shellcheck disable=SC2086
if cc -o "$tmp/hello-bad" "$here/hello.c" $cflags ${libs/-ltdb/-l:libtdb.a} \
	>"$tmp/out" 2>&1; then
	fail "libtdb.a linked without the libraries of pkg-config --static: the check of --static proves nothing"
elif grep -q "undefined reference to .\(mnl_\|json_\)" "$tmp/out"; then
	pass
else
	fail "libtdb.a without --static failed to link for another reason:"
	sed 's/^/    /' "$tmp/out" | head -10
fi
if readelf -d "$tmp/hello-static" 2>/dev/null | grep -q 'libtdb\.so'; then
	fail "hello-static needs libtdb.so: it did not link libtdb.a"
else
	pass
fi
# libtdb(3)'s example, as the page prints it (scdoc's \\ is a \).
# shellcheck disable=SC2016 # the fences are literal
sed -n '/^# EXAMPLE/,/^# /p' "$top/man/libtdb.3.scd" |
	sed -n '/^```$/,/^```$/p' | sed '1d;$d; s/\\\\/\\/g' >"$tmp/example.c"
# shellcheck disable=SC2086
check "the example of libtdb(3) builds" \
	cc -std=c11 -Wall -Wextra -Werror -o "$tmp/example" "$tmp/example.c" \
	$cflags $libs

# Every function libtdb exports is named in libtdb(3).
missing=
for sym in $(nm -D --defined-only "$usr/lib/libtdb.so.1.0.0" |
	     awk '$2 == "T" { print $3 }'); do
	# \fBtdb_get\fR: no word boundary before the name in roff.
	grep -q "$sym\\>" "$usr/share/man/man3/libtdb.3" ||
		missing="$missing $sym"
done
if [ -z "$missing" ]; then pass; else fail "libtdb(3) does not name:$missing"; fi

start_tdbd "$usr/sbin/tdbd"
cli=$usr/bin/tdbcli
run_hello() {
	local name=$1 value=$2
	shift 2
	if env TDB_SOCKET="$sock" "$@" >"$tmp/out" 2>&1 &&
	   [ "$(cat "$tmp/out")" = "greetings/en = $value" ]; then
		pass
	else
		fail "$name against the installed tdbd printed:"
		sed 's/^/    /' "$tmp/out"
	fi
	if [ "$("$cli" --socket "$sock" get greetings en 2>&1)" = "$value" ]; then
		pass
	else
		fail "after $name, the installed tdbcli gets '$("$cli" --socket "$sock" get greetings en 2>&1)', not '$value'"
	fi
}
if [ -x "$tmp/hello" ]; then
	if LD_LIBRARY_PATH=$usr/lib ldd "$tmp/hello" |
	   grep -q "libtdb.so.1 => $usr/lib/libtdb.so.1 "; then
		pass
	else
		fail "hello does not load the installed libtdb.so.1:"
		LD_LIBRARY_PATH=$usr/lib ldd "$tmp/hello" | grep libtdb
	fi
	run_hello hello "hello, shared world" \
		LD_LIBRARY_PATH="$usr/lib" "$tmp/hello" greetings en \
		"hello, shared world"
fi
[ -x "$tmp/hello-static" ] &&
	run_hello hello-static "hello, static world" "$tmp/hello-static" \
		greetings en "hello, static world"
if [ -x "$tmp/example" ]; then
	out=$(TDB_SOCKET=$sock LD_LIBRARY_PATH=$usr/lib "$tmp/example" 2>&1)
	if [ "$out" = "en: hello (5 bytes)" ]; then
		pass
	else
		fail "the example of libtdb(3) printed '$out'"
	fi
fi

# Bash completion, as bash-completion loads it, with the installed tdbcli
# for table names.
if [ -f /usr/share/bash-completion/bash_completion ]; then
	"$cli" --socket "$sock" create fw \
		--schema "$usr/share/tdb/schema/fw4.json" >/dev/null 2>&1 ||
		fail "tdbcli create fw --schema (installed schema) failed"
	comp() {
		local want=$1
		shift
		local got
		got=$("$here/complete.sh" \
			"$usr/share/bash-completion/completions/tdbcli" \
			"$cli" "$@" 2>&1 | tr '\n' ' ')
		if [ "$got" = "$want" ]; then
			pass
		else
			fail "completion of 'tdbcli $*': '$got', not '$want'"
		fi
	}
	comp "create del drop dump get info load lookup put stats tables " ''
	comp "--help --json --socket " --
	comp "fw greetings " --socket "$sock" get ''
	comp "fw " --socket="$sock" dump f
	comp "fw greetings " drop --socket "$sock" ''
	comp "" --socket "$tmp/nothing.sock" get ''
	comp "action= comment= dport= priority= proto= " \
		--socket "$sock" put fw 10.0.0.0/8 ''
	comp "--durability " create t --dur
	comp "async memory sync " create t --durability ''
	comp "cidr4 cidr6 " create t --key-type=ci
	comp "csv ipset jsonl " load t f --format ''
	comp "--replace " load t f --rep
else
	fail "no /usr/share/bash-completion/bash_completion: install bash-completion (scripts/deps.sh test)"
fi
stop_tdbd

# --- 2. man pages -----------------------------------------------------------

for page in "$usr"/share/man/man*/*; do
	name=${page#"$usr"/share/man/}
	# groff's "w" is every warning; its "all" leaves out "mac", the
	# undefined macros.
	if LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "$page" \
		>"$tmp/page.txt" 2>"$tmp/page.err" && [ ! -s "$tmp/page.err" ]; then
		pass
	else
		fail "man -l $name warns:"
		sed 's/^/    /' "$tmp/page.err" | head -10
	fi
	if grep -q '^NAME' "$tmp/page.txt" && lexgrog "$page" >/dev/null 2>&1
	then
		pass
	else
		fail "$name has no NAME section that whatis can read"
	fi
done

# --- 3. make uninstall ------------------------------------------------------

# An edited configuration survives a reinstall and the uninstall; the
# example as installed does not.
conf=$usr/etc/tdb/tdb.conf
if [ -f "$conf" ]; then
	echo "# edited by the administrator" >>"$conf"
	cp "$conf" "$tmp/conf.edited"
	submake install DESTDIR="$root" PREFIX=/usr/local >"$tmp/make.log" 2>&1 ||
		fail "make install over an installed tree failed"
	if cmp -s "$conf" "$tmp/conf.edited"; then
		pass
	else
		fail "a second make install overwrote the edited $conf"
	fi
fi
if submake uninstall DESTDIR="$root" PREFIX=/usr/local >"$tmp/make.log" 2>&1
then
	pass
else
	fail "make uninstall failed:"
	tail -10 "$tmp/make.log"
fi
left=$(list_tree "$root")
if [ -f "$tmp/conf.edited" ]; then
	if [ "$left" = usr/local/etc/tdb/tdb.conf ] &&
	   grep -q "keeping .*tdb.conf: it differs" "$tmp/make.log"; then
		pass
	else
		fail "make uninstall did not keep (and say it kept) the edited $conf alone"
	fi
	rm -f "$conf"
	rmdir "$usr/etc/tdb"
	# Unedited, it goes.
	if ! submake install DESTDIR="$root" PREFIX=/usr/local \
		>"$tmp/make.log" 2>&1 ||
	   ! submake uninstall DESTDIR="$root" PREFIX=/usr/local \
		>"$tmp/make.log" 2>&1; then
		fail "make install and uninstall again failed"
	fi
	left=$(list_tree "$root")
fi
if [ -z "$left" ]; then
	pass
else
	fail "make uninstall left:" "$left"
fi
# A configuration install did not put there stays, even when it equals
# the example (a package's conffile, say).
mkdir -p "$usr/etc/tdb"
cp "$top/dist/tdb.conf" "$conf"
if ! submake install DESTDIR="$root" PREFIX=/usr/local >"$tmp/make.log" 2>&1 ||
   ! submake uninstall DESTDIR="$root" PREFIX=/usr/local \
	>"$tmp/make.log" 2>&1; then
	fail "make install and uninstall over a configuration failed"
fi
left=$(list_tree "$root")
if [ "$left" = usr/local/etc/tdb/tdb.conf ]; then
	pass
else
	fail "make uninstall removed a configuration it had not installed:" \
		"$left"
fi
rm -f "$conf"
rmdir "$usr/etc/tdb"
for d in include/tdb share/tdb share/doc/tdb etc/tdb; do
	if [ -e "$usr/$d" ]; then fail "make uninstall left $d/"; else pass; fi
done

# --- 4. Debian packages -----------------------------------------------------

deb_version=$(cd "$top" && dpkg-parsechangelog -S Version)
if [ "$deb_version" = "$version" ]; then
	pass
else
	fail "debian/changelog is at $deb_version, the Makefile's TDB_VERSION at $version"
fi

# A copy of the tree without build output or .git: what git knows plus
# files not yet added, or everything but build*/ outside a checkout.
src=$tmp/deb/tdb-$version
mkdir -p "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z -c -o --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$f" ] && printf '%s\0' "$f"
		done | tar -c --null -T - -f -) | tar -x -C "$src"
else
	tar -c -C "$top" --exclude='./build*' --exclude=./.git \
		--exclude='*.o' --exclude='*.ko' . | tar -x -C "$src"
fi

echo "install: dpkg-buildpackage -us -uc -b in $src"
if (cd "$src" &&
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) >"$tmp/deb/build.log" 2>&1; then
	pass
else
	fail "dpkg-buildpackage -us -uc -b failed; the end of its log:"
	tail -30 "$tmp/deb/build.log" | sed 's/^/    /'
fi

lib=usr/lib/$multiarch
doc() { printf 'usr/share/doc/%s/changelog.gz\nusr/share/doc/%s/copyright\n' "$1" "$1"; }
expect_tdbd() {
	doc tdbd
	cat <<EOF
etc/tdb/tdb.conf
lib/systemd/system/tdbd.service
usr/sbin/tdbd
usr/share/man/man5/tdb.conf.5.gz
usr/share/man/man8/tdbd.8.gz
EOF
}
expect_tdbcli() {
	doc tdbcli
	cat <<EOF
usr/bin/tdbcli
usr/share/bash-completion/completions/tdbcli
usr/share/man/man1/tdbcli.1.gz
usr/share/tdb/schema/README.md
usr/share/tdb/schema/blocklist.json
usr/share/tdb/schema/fw4.json
usr/share/tdb/schema/fw6.json
usr/share/tdb/schema/sessions.json
EOF
}
expect_libtdb1() {
	doc libtdb1
	cat <<EOF
$lib/libtdb.so.1 -> libtdb.so.1.0.0
$lib/libtdb.so.1.0.0
EOF
}
expect_libtdb_dev() {
	doc libtdb-dev
	cat <<EOF
$lib/libtdb.a
$lib/libtdb.so -> libtdb.so.1
$lib/pkgconfig/libtdb.pc
usr/include/tdb/proto.h
usr/include/tdb/schema.h
usr/include/tdb/tdb.h
usr/share/man/man3/libtdb.3.gz
EOF
}
# The module's sources: dkms.conf, and what Kbuild reads, from the tree
# (less what a "make kmod" there generated: kmod/tdb.mod.c).
expect_tdb_dkms() {
	doc tdb-dkms
	echo "usr/src/tdb-$version/dkms.conf"
	(cd "$top" && ls kmod/Kbuild kmod/Makefile kmod/*.[ch] core/*.[ch] \
		include/tdb/*.h) | grep -v '\.mod\.c$' |
		sed "s|^|usr/src/tdb-$version/|"
}
# The entries of a package, files and links, as list_tree writes them.
deb_list() {
	dpkg-deb -c "$1" | grep -v '^d' |
		sed -E 's/^([^ ]+ +){5}//; s|^\./||' | LC_ALL=C sort
}

for pkg in tdbd tdbcli libtdb1 libtdb-dev tdb-dkms; do
	a=$arch
	[ "$pkg" = tdb-dkms ] && a=all
	deb=$tmp/deb/${pkg}_${version}_$a.deb
	if [ ! -f "$deb" ]; then
		fail "no package $(basename "$deb")"
		continue
	fi
	"expect_${pkg//-/_}" | LC_ALL=C sort >"$tmp/expected"
	deb_list "$deb" >"$tmp/found"
	same "dpkg -c $(basename "$deb")" "$tmp/expected" "$tmp/found"
done

deb() { echo "$tmp/deb/${1}_${version}_${2:-$arch}.deb"; }
if [ -f "$(deb tdbd)" ]; then
	# The unit's StateDirectory= and RuntimeDirectory= make these.
	if dpkg-deb -c "$(deb tdbd)" | grep -q ' \./\(var\|run\)/'; then
		fail "tdbd ships directories its unit creates:"
		dpkg-deb -c "$(deb tdbd)" | grep ' \./\(var\|run\)/'
	else
		pass
	fi
	if [ "$(dpkg-deb -I "$(deb tdbd)" conffiles 2>&1)" = /etc/tdb/tdb.conf ]
	then
		pass
	else
		fail "tdbd's conffiles are not /etc/tdb/tdb.conf: $(dpkg-deb -I "$(deb tdbd)" conffiles 2>&1)"
	fi
	if dpkg-deb -I "$(deb tdbd)" postinst 2>/dev/null |
	   grep -q "deb-systemd-helper enable 'tdbd.service'"; then
		pass
	else
		fail "tdbd's postinst does not enable tdbd.service (dh_installsystemd)"
	fi
fi
if [ -f "$(deb tdb-dkms all)" ]; then
	post=$(dpkg-deb -I "$(deb tdb-dkms all)" postinst 2>/dev/null)
	if grep -q '^DKMS_NAME=tdb$' <<<"$post" &&
	   grep -q "^DKMS_VERSION=$version\$" <<<"$post" &&
	   dpkg-deb -f "$(deb tdb-dkms all)" Depends | grep -q dkms; then
		pass
	else
		fail "tdb-dkms's postinst does not register tdb $version with dkms, or it does not depend on dkms"
	fi
	for pkg in tdbd tdbcli libtdb1 libtdb-dev; do
		[ -f "$(deb $pkg)" ] || continue
		if dpkg-deb -I "$(deb $pkg)" postinst 2>/dev/null | grep -q dkms
		then
			fail "$pkg's postinst runs dkms: dh_dkms is for tdb-dkms alone"
		else
			pass
		fi
	done
fi
if [ -f "$(deb libtdb-dev)" ]; then
	if dpkg-deb -f "$(deb libtdb-dev)" Depends |
	   grep -q "libtdb1 (= $version)"; then
		pass
	else
		fail "libtdb-dev does not depend on libtdb1 (= $version): $(dpkg-deb -f "$(deb libtdb-dev)" Depends)"
	fi
fi
if [ -f "$(deb libtdb1)" ]; then
	if dpkg-deb -I "$(deb libtdb1)" symbols 2>/dev/null |
	   grep -q '^libtdb.so.1 libtdb1 '; then
		pass
	else
		fail "libtdb1 has no symbols file for libtdb.so.1"
	fi
fi

# The packaged tdbd, libtdb1 and libtdb-dev together, unpacked (not
# installed) into one tree: hello.c against them through the packaged
# pkg-config file.
if [ -f "$(deb tdbd)" ] && [ -f "$(deb libtdb1)" ] &&
   [ -f "$(deb libtdb-dev)" ]; then
	pkgroot=$tmp/pkgroot
	for pkg in tdbd libtdb1 libtdb-dev; do
		dpkg-deb -x "$(deb $pkg)" "$pkgroot"
	done
	pcdir=$pkgroot/$lib/pkgconfig
	if grep -qx 'prefix=/usr' "$pcdir/libtdb.pc" &&
	   grep -qx "libdir=\${prefix}/lib/$multiarch" "$pcdir/libtdb.pc"; then
		pass
	else
		fail "the packaged libtdb.pc does not point at /usr/lib/$multiarch:"
		grep -E '^(prefix|libdir)=' "$pcdir/libtdb.pc"
	fi
	# shellcheck disable=SC2046
	check "hello.c builds against the packages" \
		cc -o "$tmp/hello-deb" "$here/hello.c" \
		$(PKG_CONFIG_SYSROOT_DIR=$pkgroot PKG_CONFIG_PATH=$pcdir \
			pkg-config --cflags --libs libtdb)
	if [ -x "$tmp/hello-deb" ]; then
		start_tdbd "$pkgroot/usr/sbin/tdbd"
		out=$(TDB_SOCKET=$sock LD_LIBRARY_PATH=$pkgroot/$lib \
			"$tmp/hello-deb" greetings en "hello, packaged world" 2>&1)
		if [ "$out" = "greetings/en = hello, packaged world" ]; then
			pass
		else
			fail "hello against the packaged tdbd and libtdb1 printed '$out'"
		fi
		stop_tdbd
	fi
fi

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
