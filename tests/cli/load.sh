#!/bin/sh
# Shell-level test of 'tdbcli load' and 'tdbcli lookup' against a real tdbd
# that it starts in a temporary directory: each input format, standard
# input, upsert and --replace, the summary line, the progress bar on a
# terminal, and every input error with its FILE:LINE message, after which
# the table must be as it was.
#
# Usage: tests/cli/load.sh BUILD_DIR   (binaries: BUILD_DIR/tdbd/tdbd and
#                                       BUILD_DIR/cli/tdbcli)
# Prints a line per failure and ends with "load: N passed, M failed";
# exits non-zero on any failure.
set -u

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
setup_test load "$@"

# summary NAME N TABLE [TAIL]: the last run succeeded, printed nothing on
# stderr and one line on stdout, "loaded N records into TABLE in S s
# (R records/s)" followed by TAIL (a fixed string) if given.
summary() {
	rec=records
	[ "$2" = 1 ] && rec=record
	if [ "$rc" -ne 0 ]; then
		fail "$1: exit status $rc"
	elif [ -s "$tmp/err" ]; then
		fail "$1: stderr not empty"
	elif [ "$(wc -l <"$tmp/out")" -ne 1 ] ||
		! grep -qE "^loaded $2 $rec into $3 in [0-9]+\.[0-9][0-9] s \([0-9]+ records/s\)" "$tmp/out"; then
		fail "$1: summary is '$(cat "$tmp/out")'"
	elif [ $# -ge 4 ] && [ "$(sed 's/^[^)]*)//' "$tmp/out")" != "$4" ]; then
		fail "$1: summary ends '$(sed 's/^[^)]*)//' "$tmp/out")', want '$4'"
	else
		pass
	fi
}

# records NAME TABLE N: the table holds N records.
records() {
	n=$("$CLI" --socket "$SOCK" info "$2" 2>/dev/null |
		sed -n 's/^records: *//p')
	if [ "$n" = "$3" ]; then pass; else fail "$1: $2 has '$n' records, want $3"; fi
}

# snapshot TABLE / unchanged NAME TABLE: the table's records, sorted,
# before and after a failed load.
snapshot() {
	"$CLI" --socket "$SOCK" dump "$1" 2>&1 | sort >"$tmp/before"
}
unchanged() {
	"$CLI" --socket "$SOCK" dump "$2" 2>&1 | sort >"$tmp/after"
	if cmp -s "$tmp/before" "$tmp/after"; then pass; else
		fail "$1: table $2 changed"
		diff "$tmp/before" "$tmp/after" | sed 's/^/  /' | head -10
	fi
}

# load_fails NAME TABLE FILE RC ERR [ARGS...]: loading FILE into TABLE
# exits RC with exactly ERR on stderr, and leaves TABLE as it was.
load_fails() {
	name=$1 table=$2 file=$3 want_rc=$4 want_err=$5
	shift 5
	snapshot "$table"
	run load "$table" "$file" "$@"
	expect "$name" "$want_rc" "" "$want_err"
	unchanged "$name" "$table"
}

# load_fails_like NAME TABLE FILE PATTERN [ARGS...]: as load_fails with
# exit status 2, for a reason from the codec: stderr holds PATTERN.
load_fails_like() {
	name=$1 table=$2 file=$3 pattern=$4
	shift 4
	snapshot "$table"
	run load "$table" "$file" "$@"
	expect_rc "$name" 2 "$pattern"
	unchanged "$name" "$table"
}

start_tdbd

# Help.
run --help
if grep -q '^  load TABLE FILE' "$tmp/out" && grep -q '^  lookup TABLE ADDRESS' "$tmp/out"
then pass; else fail "--help lacks load or lookup"; fi
run load --help
if [ $rc -eq 0 ] && grep -q -- '--replace' "$tmp/out" && grep -q -- '--format' "$tmp/out"
then pass; else fail "load --help"; fi
run lookup --help
expect_rc "lookup --help" 0

# Tables: rules by prefix (schemas fw4, fw6), an ipset-like set with
# timeout, comment and nomatch fields, sets without a schema, a small one.
cat >"$tmp/ips.json" <<'EOF'
{
	"name": "ips",
	"key": { "name": "entry", "type": "cidr4" },
	"fields": [
		{ "name": "timeout", "type": "u32", "default": 0 },
		{ "name": "comment", "type": "str", "max_len": 64, "optional": true },
		{ "name": "nomatch", "type": "bool", "default": false }
	]
}
EOF
run create fw --schema "$schemas/fw4.json"
expect "create fw" 0 ""
run create fw6 --schema "$schemas/fw6.json"
expect "create fw6" 0 ""
run create ips --schema "$tmp/ips.json"
expect "create ips" 0 ""
run create set4 --key-type cidr4
expect "create set4" 0 ""
run create kv --key-type u32
expect "create kv" 0 ""
run create q --quota 64K
expect "create q" 0 ""

# CSV: a header naming columns in any order, a quoted cell with a comma,
# a blank line, empty cells taking defaults.
cat >"$tmp/fw.csv" <<'EOF'
prefix,action,dport,comment
10.0.0.0/8,drop,22,ssh
10.1.0.0/16,accept,80,"web, mostly"

192.168.0.0/16,reject,,
EOF
run load fw "$tmp/fw.csv"
summary "load csv" 3 fw ""
records "load csv" fw 3
run lookup fw 10.1.2.3
expect "lookup" 0 '10.1.0.0/16 action=accept proto=any dport=80 priority=100 comment="web, mostly"'
run lookup fw 10.200.0.1
expect "lookup, shorter prefix" 0 '10.0.0.0/8 action=drop proto=any dport=22 priority=100 comment=ssh'
run --json lookup fw 192.168.7.7
json "lookup --json, defaults" "d['prefix'] == '192.168.0.0/16' and d['action'] == 'reject' and d['dport'] == '0-65535' and d['priority'] == 100 and 'comment' not in d"
run lookup fw 8.8.8.8
expect "lookup, no match" 1 "" "tdbcli: lookup: no prefix in table 'fw' contains 8.8.8.8"

# JSON Lines (.jsonl and .ndjson).
cat >"$tmp/fw6.jsonl" <<'EOF'
{"prefix": "2001:db8::/32", "action": "accept", "priority": 10}

{"prefix": "2001:db8:1::/48", "action": "reject", "proto": "tcp", "dport": "443"}
EOF
run load fw6 "$tmp/fw6.jsonl"
summary "load jsonl" 2 fw6 ""
run --json lookup fw6 2001:db8:1::5
json "lookup v6, longest" "d['prefix'] == '2001:db8:1::/48' and d['action'] == 'reject' and d['proto'] == 'tcp' and d['dport'] == '443'"
run --json lookup fw6 2001:db8:2::1
json "lookup v6, shorter" "d['prefix'] == '2001:db8::/32' and d['priority'] == 10"
printf '{"prefix": "2001:db8:ffff::/64"}\n' >"$tmp/more.ndjson"
run load fw6 "$tmp/more.ndjson"
summary "load ndjson" 1 fw6 ""
records "load ndjson" fw6 3

# ipset save output: create checked, comments and blank lines skipped,
# options to fields, nomatch as a flag; one prefix normalised.
cat >"$tmp/bl.save" <<'EOF'
create bl hash:net family inet hashsize 1024 maxelem 65536 timeout 0 comment
add bl 10.0.0.0/8 timeout 3600 comment "foo bar"
# a comment, "unbalanced

add bl 192.168.1.1
  add bl 10.1.2.3/16 nomatch
EOF
run load ips "$tmp/bl.save"
summary "load ipset" 3 ips "; 1 prefix normalised: 10.1.2.3/16 -> 10.1.0.0/16"
run --json lookup ips 10.0.0.1
json "ipset options" "d['entry'] == '10.0.0.0/8' and d['timeout'] == 3600 and d['comment'] == 'foo bar' and d['nomatch'] is False"
run --json lookup ips 10.1.200.1
json "ipset nomatch" "d['entry'] == '10.1.0.0/16' and d['nomatch'] is True"
run --json lookup ips 192.168.1.1
json "ipset address" "d['entry'] == '192.168.1.1/32' and d['timeout'] == 0"

# A set without a schema takes keys alone (.ipset, .restore).
printf 'create blk hash:net family inet\nadd blk 192.0.2.1\nadd blk 198.51.100.0/24\n' >"$tmp/blk.ipset"
run load set4 "$tmp/blk.ipset"
summary "load bare set" 2 set4 ""
run lookup set4 198.51.100.7
if [ $rc -eq 0 ] && grep -q '^198\.51\.100\.0/24' "$tmp/out"; then pass; else
	fail "lookup bare set: exit status $rc, '$(cat "$tmp/out")'"; fi
cp "$tmp/blk.ipset" "$tmp/blk.restore"
run load set4 "$tmp/blk.restore"
summary "load .restore" 2 set4 ""
records "upsert of the same keys" set4 2
load_fails "bare set, option" set4 "$tmp/bl.save" 2 \
	"tdbcli: load: $tmp/bl.save:2: option 'timeout': the table has no field of that name"

# Standard input, which needs --format.
printf 'prefix,action\n172.16.0.0/12,accept\n' >"$tmp/in.csv"
run_in "$tmp/in.csv" load fw - --format csv
summary "load stdin" 1 fw ""
records "load stdin" fw 4
run_in "$tmp/in.csv" load fw -
expect "stdin without --format" 2 "" "tdbcli: load: reading standard input needs --format (csv, jsonl or ipset)"

# Upsert: changes one record, adds one, keeps the rest.
printf 'prefix,action\n10.0.0.0/8,accept\n203.0.113.0/24,reject\n' >"$tmp/upd.csv"
run load fw "$tmp/upd.csv"
summary "upsert" 2 fw ""
records "upsert" fw 5
run --json lookup fw 10.99.0.1
json "upsert replaced" "d['prefix'] == '10.0.0.0/8' and d['action'] == 'accept' and 'comment' not in d"
run --json lookup fw 192.168.0.1
json "upsert kept" "d['prefix'] == '192.168.0.0/16'"

# --replace: the file's records alone remain.
printf '{"prefix": "10.0.0.0/8", "action": "drop"}\n{"prefix": "198.18.0.0/15"}\n' >"$tmp/rep.jsonl"
run load fw "$tmp/rep.jsonl" --replace
summary "replace" 2 fw ""
records "replace" fw 2
run lookup fw 192.168.0.1
expect_rc "replace dropped the rest" 1 "no prefix in table 'fw' contains 192.168.0.1"
run --json lookup fw 198.19.1.1
json "replace loaded" "d['prefix'] == '198.18.0.0/15' and d['action'] == 'drop'"

# Normalised prefixes: counted, one shown; and the summary as JSON.
printf 'prefix\n10.1.2.3/8\n\n192.168.1.77/24\n198.18.0.0/15\n' >"$tmp/norm.csv"
run load fw "$tmp/norm.csv"
summary "normalised" 3 fw "; 2 prefixes normalised, e.g. 10.1.2.3/8 -> 10.0.0.0/8"
run --json load fw "$tmp/norm.csv"
json "summary --json" "d['table'] == 'fw' and d['records'] == 3 and d['table_records'] == 3 and d['normalised'] == 2 and d['normalised_example'] == {'line': 2, 'from': '10.1.2.3/8', 'to': '10.0.0.0/8'} and isinstance(d['milliseconds'], int) and isinstance(d['records_per_second'], int)"
printf '{"prefix": "10.1.2.3/8"}\n' >"$tmp/norm.jsonl"
run load fw "$tmp/norm.jsonl"
summary "normalised jsonl" 1 fw "; 1 prefix normalised: 10.1.2.3/8 -> 10.0.0.0/8"

# CSV errors.
printf 'prefix,action\n10.0.0.0/8,drop\n\n10.2.0.0/16,drop,extra\n' >"$tmp/e1.csv"
load_fails "csv, too many columns" fw "$tmp/e1.csv" 2 \
	"tdbcli: load: $tmp/e1.csv:4: 3 columns, but the header has 2"
printf 'prefix,action\n10.2.0.0/16\n' >"$tmp/e2.csv"
load_fails "csv, too few columns" fw "$tmp/e2.csv" 2 \
	"tdbcli: load: $tmp/e2.csv:2: 1 column, but the header has 2"
printf 'prefix,colour\n10.2.0.0/16,red\n' >"$tmp/e3.csv"
load_fails "csv, unknown column" fw "$tmp/e3.csv" 2 \
	"tdbcli: load: $tmp/e3.csv:1: header: unknown column 'colour' (the table has: prefix, action, proto, dport, priority, comment)"
printf '\nprefix,action,prefix\n' >"$tmp/e4.csv"
load_fails "csv, column twice" fw "$tmp/e4.csv" 2 \
	"tdbcli: load: $tmp/e4.csv:2: header: column 'prefix' given twice"
printf 'action,dport\ndrop,22\n' >"$tmp/e5.csv"
load_fails "csv, no key column" fw "$tmp/e5.csv" 2 \
	"tdbcli: load: $tmp/e5.csv:1: header: no column 'prefix' (the key)"
printf 'prefix,dport\n10.2.0.0/16,22\n10.3.0.0/16,70000\n' >"$tmp/e6.csv"
load_fails_like "csv, bad field" fw "$tmp/e6.csv" "load: $tmp/e6.csv:3: dport: "
printf 'prefix,action\n10.2.0.0/16,dr"op\n' >"$tmp/e7.csv"
load_fails "csv, bad quoting" fw "$tmp/e7.csv" 2 \
	"tdbcli: load: $tmp/e7.csv:2: bad quoting: a quote inside an unquoted cell, or text after a closing quote"
printf 'prefix,comment\n10.2.0.0/16,"never\nclosed\n' >"$tmp/e8.csv"
load_fails "csv, quote not closed" fw "$tmp/e8.csv" 2 \
	"tdbcli: load: $tmp/e8.csv:2: quoted cell not closed at the end of the input"
printf 'prefix\n10.2.0.0/33\n' >"$tmp/e9.csv"
load_fails_like "csv, bad key" fw "$tmp/e9.csv" "load: $tmp/e9.csv:2: "

# JSON Lines errors.
printf '{"prefix": "10.2.0.0/16"}\n\n[1, 2]\n' >"$tmp/e1.jsonl"
load_fails "jsonl, not an object" fw "$tmp/e1.jsonl" 2 \
	"tdbcli: load: $tmp/e1.jsonl:3: not a JSON object (an array): each line holds one object {...}"
printf '{"prefix": "10.2.0.0/16"}\n"10.3.0.0/16"\n' >"$tmp/e2.jsonl"
load_fails "jsonl, a string" fw "$tmp/e2.jsonl" 2 \
	"tdbcli: load: $tmp/e2.jsonl:2: not a JSON object (a string): each line holds one object {...}"
printf '{"prefix": "10.2.0.0/16"}\n{"prefix": "10.3.0.0/16"\n' >"$tmp/e3.jsonl"
load_fails_like "jsonl, syntax" fw "$tmp/e3.jsonl" "load: $tmp/e3.jsonl:2: "
printf '{"prefix": "10.2.0.0/16", "colour": "red"}\n' >"$tmp/e4.jsonl"
load_fails_like "jsonl, unknown member" fw "$tmp/e4.jsonl" "load: $tmp/e4.jsonl:1: colour"
printf '{"prefix": "10.2.0.0/16", "action": "maybe"}\n' >"$tmp/e5.jsonl"
load_fails_like "jsonl, bad field" fw "$tmp/e5.jsonl" "load: $tmp/e5.jsonl:1: action: "

# ipset errors.
printf 'create bl hash:net\nadd bl 10.2.0.0/16\nadd other 10.3.0.0/16\n' >"$tmp/e1.ipset"
load_fails "ipset, another set" ips "$tmp/e1.ipset" 2 \
	"tdbcli: load: $tmp/e1.ipset:3: set 'other': this load takes set 'bl' alone (named on line 1)"
printf 'add bl 10.2.0.0/16\n\nadd bl 10.0.0.300\n' >"$tmp/e2.ipset"
load_fails_like "ipset, bad entry" ips "$tmp/e2.ipset" "load: $tmp/e2.ipset:3: "
printf 'add bl 10.2.0.0/16 packets 0 bytes 0\n' >"$tmp/e3.ipset"
load_fails "ipset, unknown option" ips "$tmp/e3.ipset" 2 \
	"tdbcli: load: $tmp/e3.ipset:1: option 'packets': the table has no field of that name"
printf 'add bl 10.2.0.0/16 timeout\n' >"$tmp/e4.ipset"
load_fails "ipset, option without value" ips "$tmp/e4.ipset" 2 \
	"tdbcli: load: $tmp/e4.ipset:1: option 'timeout' needs a value"
printf 'add bl 10.2.0.0/16 timeout 10\ndel bl 10.2.0.0/16\n' >"$tmp/e5.ipset"
load_fails "ipset, other line" ips "$tmp/e5.ipset" 2 \
	"tdbcli: load: $tmp/e5.ipset:2: a 'del' line: only 'create' and 'add' lines (ipset save output) are loaded"
printf 'create bl hash:net family inet6\nadd bl 2001:db8::/32\n' >"$tmp/e6.ipset"
load_fails_like "ipset, family" ips "$tmp/e6.ipset" \
	"load: $tmp/e6.ipset:1: set 'bl' is of family inet6, but the table has "
printf 'create bl hash:ip,port family inet\n' >"$tmp/e7.ipset"
load_fails_like "ipset, set type" ips "$tmp/e7.ipset" \
	"load: $tmp/e7.ipset:1: set type hash:ip,port cannot be loaded"
printf 'add bl 10.2.0.0/16 comment "never closed\n' >"$tmp/e8.ipset"
load_fails "ipset, quote not closed" ips "$tmp/e8.ipset" 2 \
	"tdbcli: load: $tmp/e8.ipset:1: quote not closed"
printf 'add bl\n' >"$tmp/e9.ipset"
load_fails "ipset, no entry" ips "$tmp/e9.ipset" 2 \
	"tdbcli: load: $tmp/e9.ipset:1: add line without an entry"
printf 'add bl 10.2.0.0/16 timeout 99999999999\n' >"$tmp/e10.ipset"
load_fails_like "ipset, bad option value" ips "$tmp/e10.ipset" "load: $tmp/e10.ipset:1: timeout: "

# Lines and rows are bounded, so that a load holds no more than one.
head -c 17000000 /dev/zero | tr '\0' x >"$tmp/long.jsonl"
load_fails "line over 16 MiB" fw "$tmp/long.jsonl" 2 \
	"tdbcli: load: $tmp/long.jsonl:1: line longer than 16 MiB"
{ printf 'prefix,comment\n\n10.0.0.0/8,"open\n'
  head -c 17000000 /dev/zero | tr '\0' x | fold -w 1000; } >"$tmp/open.csv"
load_fails "csv row over 16 MiB" fw "$tmp/open.csv" 2 \
	"tdbcli: load: $tmp/open.csv:3: row longer than 16 MiB (a quote not closed?)"
rm -f "$tmp/long.jsonl" "$tmp/open.csv"

# A record the owner refuses (over the quota), found by its index: line
# 7 after a blank line and a cell over two lines.  Upsert and replace.
python3 -c '
print("key,value")
print("a,1")
print()
print("b,\"two\nlines\"")
print("c,3")
print("big," + "x" * 100000)
print("d,4")' >"$tmp/quota.csv"
python3 -c 'print("key,value\nbig," + "x" * 100000)' >"$tmp/quota0.csv"
run put q k v
load_fails "owner refuses, upsert" q "$tmp/quota.csv" 2 \
	"tdbcli: load: $tmp/quota.csv:7: the owner refused the record: the table's quota is full, or the owner's disk is"
load_fails "owner refuses, replace" q "$tmp/quota.csv" 2 \
	"tdbcli: load: $tmp/quota.csv:7: the owner refused the record: the table's quota is full, or the owner's disk is" --replace
load_fails "owner refuses the first" q "$tmp/quota0.csv" 2 \
	"tdbcli: load: $tmp/quota0.csv:2: the owner refused the record: the table's quota is full, or the owner's disk is"
records "owner refused: unchanged" q 1

# Files, formats and tables.
load_fails "unknown suffix" fw "$tmp/fw.txt" 2 \
	"tdbcli: load: cannot tell the format of '$tmp/fw.txt' from its name (.csv, .jsonl, .ndjson, .ipset, .save, .restore): give --format"
load_fails "bad --format" fw "$tmp/fw.csv" 2 \
	"tdbcli: load: bad --format 'xml' (csv, jsonl or ipset)" --format xml
load_fails "missing file" fw "$tmp/none.csv" 2 \
	"tdbcli: load: cannot open '$tmp/none.csv': No such file or directory"
cp "$tmp/fw.csv" "$tmp/fw.txt"
run load fw "$tmp/fw.txt" --format csv
summary "--format over the name" 3 fw ""
run load fw "$tmp/fw.csv" --format jsonl
expect "--format jsonl on CSV" 2 "" \
	"tdbcli: load: $tmp/fw.csv:1: not a JSON object (not JSON): each line holds one object {...}"
run load nope "$tmp/fw.csv"
expect "missing table" 1 "" "tdbcli: load: table 'nope' does not exist"
: >"$tmp/empty.csv"
run load fw "$tmp/empty.csv"
summary "empty file" 0 fw ""
run load fw "$tmp/empty.csv" --replace
summary "empty file, replace" 0 fw ""
records "empty replace empties" fw 0

# lookup errors.
run lookup kv 10.0.0.1
expect "lookup, not a prefix table" 2 "" "tdbcli: lookup: table 'kv' has u32 keys: lookup needs a cidr4 or cidr6 table"
run lookup fw 10.0.0.300
expect_rc "lookup, bad address" 2 "'10.0.0.300' is not an IPv4 address"
run lookup fw6 10.0.0.1
expect_rc "lookup, IPv4 in a v6 table" 2 "'10.0.0.1' is not an IPv6 address"
run lookup nope 10.0.0.1
expect "lookup, missing table" 1 "" "tdbcli: lookup: table 'nope' does not exist"

# Many records, streamed: 100000 prefixes replacing a set.
python3 -c '
import sys
w = sys.stdout.write
w("key\n")
for i in range(100000):
    w("%d.%d.%d.0/24\n" % (10 + (i >> 16), (i >> 8) & 255, i & 255))' >"$tmp/many.csv"
run load set4 "$tmp/many.csv" --replace
summary "many" 100000 set4 ""
records "many" set4 100000
run lookup set4 10.1.2.3
if [ $rc -eq 0 ] && grep -q '^10\.1\.2\.0/24' "$tmp/out"; then pass; else
	fail "lookup many: exit status $rc, '$(cat "$tmp/out")'"; fi

# On a terminal: a progress bar on stderr, erased before the summary.
python3 - "$CLI" "$SOCK" "$tmp/many.csv" >"$tmp/out" 2>"$tmp/pyerr" <<'EOF'
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.Popen([sys.argv[1], "--socket", sys.argv[2], "load", "set4",
                      sys.argv[3]], stderr=s, stdout=subprocess.PIPE)
os.close(s)
err = b""
while True:
    try:
        d = os.read(m, 65536)
    except OSError:
        break
    if not d:
        break
    err += d
out = p.communicate()[0]
ok = (p.returncode == 0 and out.startswith(b"loaded 100000 records into set4")
      and b"records" in err and b"%" in err and b"committing" in err
      and err.startswith(b"\r") and err.endswith(b"\r\x1b[K"))
print("ok" if ok else "bad: rc %d, stdout %r, stderr %r" % (p.returncode, out, err[-200:]))
EOF
if [ "$(cat "$tmp/out")" = ok ]; then pass; else
	fail "progress bar: $(cat "$tmp/out") $(tail -1 "$tmp/pyerr")"; fi

report
