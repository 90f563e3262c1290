#!/bin/sh
# Shell-level test of every tdbcli command against a real tdbd that it
# starts in a temporary directory: output, exit status and the messages for
# a missing table, a missing key and a bad option.
#
# Usage: tests/cli/run.sh BUILD_DIR   (binaries: BUILD_DIR/tdbd/tdbd and
#                                      BUILD_DIR/cli/tdbcli)
# Prints a line per failure and ends with "cli: N passed, M failed"; exits
# non-zero on any failure.
set -u

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
setup_test cli "$@"

start_tdbd

uid=$(id -u)
gid=$(id -g)

# Help and usage errors: no daemon needed, but it is there anyway.
"$CLI" --help >"$tmp/out" 2>"$tmp/err"; rc=$?
expect_rc "--help" 0
for c in tables create drop info put get del dump stats; do
	if grep -q "^  $c" "$tmp/out"; then pass; else fail "--help lacks $c"; fi
	"$CLI" "$c" --help >"$tmp/out2" 2>"$tmp/err"; rc=$?
	if [ $rc -eq 0 ] && grep -q "^Usage: tdbcli .*$c" "$tmp/out2"; then
		pass
	else
		fail "$c --help: exit status $rc"
	fi
done
"$CLI" create --help >"$tmp/out" 2>"$tmp/err"; rc=$?
for o in --schema --key-type --durability --mode --quota --socket --json; do
	if grep -q -- "$o" "$tmp/out"; then pass; else fail "create --help lacks $o"; fi
done

run --frob
expect "bad global option" 2 "" "tdbcli: unknown option '--frob' (see 'tdbcli --help')"
run create t1 --frob
expect "bad create option" 2 "" "tdbcli: create: unknown option '--frob' (see 'tdbcli create --help')"
run get --frob t k
expect "bad get option" 2 "" "tdbcli: get: unknown option '--frob' (see 'tdbcli get --help')"
run frobnicate
expect "unknown command" 2 "" "tdbcli: unknown command 'frobnicate' (see 'tdbcli --help')"
run
expect "no command" 2 "" "tdbcli: no command given (see 'tdbcli --help')"
run get t
expect "missing argument" 2 "" "tdbcli: get: missing arguments (usage: tdbcli get TABLE KEY)"
run get t k extra
expect_rc "extra argument" 2 "unexpected argument 'extra'"
run --socket
expect_rc "--socket without value" 2 "needs a value"

# Connection failures.
run --socket "$tmp/nothing.sock" stats
expect_rc "no daemon" 2 "cannot connect to tdbd at '$tmp/nothing.sock'"

# tables, empty.
run tables
expect "tables, none" 0 ""
run --json tables
json "tables --json, none" 'd == []'

# create.
run create t
expect "create t" 0 ""
run create n --key-type u32 --durability memory --mode 0640 --quota 1M
expect "create n with options" 0 ""
run create w --key-type=u64 --durability=sync --quota=4096
expect "create w with --opt=value" 0 ""
run create t
expect "create existing" 2 "" "tdbcli: create: table 't' already exists"
run create x --key-type int
expect_rc "bad key type" 2 "bad --key-type 'int'"
run create x --durability never
expect_rc "bad durability" 2 "bad --durability 'never'"
run create x --mode 0999
expect_rc "bad mode" 2 "bad --mode '0999'"
run create x --mode 01777
expect_rc "mode out of range" 2 "bad --mode '01777'"
run create x --quota 12X
expect_rc "bad quota" 2 "bad --quota '12X'"
run create x --quota 99999999999999999999
expect_rc "quota overflow" 2 "bad --quota"
run create 'bad/name'
expect_rc "bad table name" 2 "invalid table name 'bad/name'"

# info.
run info n
expect_rc "info n" 0
has "info records" "records:     0"
has "info quota" "quota:       1048576 bytes (1.0 MiB)"
has "info durability" "durability:  memory"
has "info key type" "key type:    u32"
has "info mode" "mode:        0640"
if grep -q "^owner: *uid $uid\b.*gid $gid\b" "$tmp/out"; then pass; else
	fail "info owner: $(grep owner "$tmp/out")"; fi
has "info memory log" "log:         none: never written to disk, gone after a restart"
if grep -q "^memory: *[0-9][0-9]* bytes" "$tmp/out"; then pass; else
	fail "info memory: $(grep memory "$tmp/out")"; fi
run info t
has "info default quota" "quota:       none"
has "info default durability" "durability:  async"
has "info default key type" "key type:    bytes"
has "info default mode" "mode:        0600"
run --json info n
json "info --json" "d['name'] == 'n' and d['records'] == 0 and d['quota'] == 1048576 and d['durability'] == 'memory' and d['key_type'] == 'u32' and d['mode'] == '0640' and d['uid'] == $uid and d['gid'] == $gid and isinstance(d['mem_bytes'], int)"
run info n --json
json "info with --json after the command" "d['name'] == 'n'"
run info w
has "info u64 quota" "quota:       4096 bytes (4.0 KiB)"
has "info sync" "durability:  sync"

# put, get.
run put t k v
expect "put" 0 ""
run get t k
expect "get" 0 "v"
run put t k 'hello world'
expect "put replaces" 0 ""
run get t k
expect "get replaced" 0 "hello world"
run put t empty ''
expect "put empty value" 0 ""
run get t empty
printf '\n' >"$tmp/want"
if [ $rc -eq 0 ] && cmp -s "$tmp/out" "$tmp/want"; then pass; else
	fail "get empty value: exit status $rc, stdout '$(cat "$tmp/out")'"; fi
run --json get t k
json "get --json" "d == {'table': 't', 'key': 'k', 'value': 'hello world'}"
run put t -- -dash -value
expect "key and value after --" 0 ""
run get t -- -dash
expect "get key after --" 0 "-value"
big=$(head -c 100000 /dev/zero | tr '\0' 'x')
run put t big "$big"
expect "put 100000 bytes" 0 ""
run get t big
expect "get 100000 bytes" 0 "$big"
run put t '' v
expect "empty key" 2 "" "tdbcli: put: key: empty (keys are 1 to 1024 bytes) (table 't' has bytes keys)"
run put t k v extra
expect "value and more without a schema" 2 "" "tdbcli: put: unexpected argument 'extra': table 't' has no schema, so put takes KEY [VALUE]"

# Missing key, missing table.
run get t nokey
expect "get missing key" 1 "" "tdbcli: get: key 'nokey' not found in table 't'"
run del t nokey
expect "del missing key" 1 "" "tdbcli: del: key 'nokey' not found in table 't'"
run get nope k
expect "get missing table" 1 "" "tdbcli: get: table 'nope' does not exist"
run put nope k v
expect "put missing table" 1 "" "tdbcli: put: table 'nope' does not exist"
run del nope k
expect "del missing table" 1 "" "tdbcli: del: table 'nope' does not exist"
run info nope
expect "info missing table" 1 "" "tdbcli: info: table 'nope' does not exist"
run dump nope
expect "dump missing table" 1 "" "tdbcli: dump: table 'nope' does not exist"
run drop nope
expect "drop missing table" 1 "" "tdbcli: drop: table 'nope' does not exist"
run --json get nope k
expect "get --json missing table" 1 "" "tdbcli: get: table 'nope' does not exist"

# Numeric keys.
run put n 42 forty-two
expect "put u32" 0 ""
run put n 7 seven
expect "put u32 again" 0 ""
run put n 4294967295 max
expect "put u32 max" 0 ""
run get n 42
expect "get u32" 0 "forty-two"
run get n 042
expect "get u32 with a leading zero" 0 "forty-two"
run put n 4294967296 x
expect "u32 overflow" 2 "" "tdbcli: put: key: 4294967296 is out of range 0..4294967295 (table 'n' has u32 keys)"
run put n 12a x
expect "u32 junk" 2 "" "tdbcli: put: key: 12a is not a number (table 'n' has u32 keys)"
run get n -- -1
expect_rc "u32 negative" 2 "key: -1 is out of range 0..4294967295"
run get n ' 1'
expect_rc "u32 with a space" 2 "key: \" 1\" is not a number"
run get n 8
expect "get u32 missing" 1 "" "tdbcli: get: key '8' not found in table 'n'"
run put w 18446744073709551615 top
expect "put u64 max" 0 ""
run get w 18446744073709551615
expect "get u64 max" 0 "top"
run put w 18446744073709551616 x
expect_rc "u64 overflow" 2 "key: 18446744073709551616 is out of range 0..18446744073709551615"

# dump.
run dump n
sort "$tmp/out" >"$tmp/sorted"
printf '42\tforty-two\n4294967295\tmax\n7\tseven\n' >"$tmp/want"
if [ $rc -eq 0 ] && cmp -s "$tmp/sorted" "$tmp/want"; then pass; else
	fail "dump n"; sed 's/^/  /' "$tmp/out"; fi
run put t esc "$(printf 'a\tb\\c\001')"
run dump t
has "dump escapes" "$(printf 'esc\ta\\x09b\\\\c\\x01')"
has "dump empty value: the key alone" "empty"
run --json dump n
json_lines "dump --json" "sorted((r['key'], r['value']) for r in d) == [(7, 'seven'), (42, 'forty-two'), (4294967295, 'max')]"
run put t bin "$(printf '\377\376')"
run --json dump t
json_lines "dump --json, not UTF-8" "{'key': 'bin', 'value_hex': 'fffe'} in d and len(d) == 6"
run dump w
expect "dump u64" 0 "$(printf '18446744073709551615\ttop')"

# del.
run del n 42
expect "del" 0 ""
run get n 42
expect "get deleted" 1 "" "tdbcli: get: key '42' not found in table 'n'"
run info n
has "info counts records" "records:     2"

# tables and stats.
run tables
expect_rc "tables" 0
if [ "$(wc -l <"$tmp/out")" -eq 4 ] && grep -q '^NAME' "$tmp/out" &&
	grep -q '^n  *2 ' "$tmp/out" && grep -q '^t  *6 ' "$tmp/out" &&
	grep -q '^w  *1 ' "$tmp/out"; then pass; else
	fail "tables output"; sed 's/^/  /' "$tmp/out"; fi
run --json tables
json "tables --json" "sorted(t['name'] for t in d) == ['n', 't', 'w'] and [t['records'] for t in d if t['name'] == 't'] == [6]"
run stats
expect_rc "stats" 0
has "stats tables" "tables:       3"
if grep -q '^requests: *[1-9][0-9]*$' "$tmp/out" &&
	grep -q '^connections: *[1-9][0-9]*$' "$tmp/out" &&
	grep -q '^memory: *[0-9][0-9]* bytes' "$tmp/out"; then pass; else
	fail "stats output"; sed 's/^/  /' "$tmp/out"; fi
run --json stats
json "stats --json" "d['tables'] == 3 and d['connections'] >= 1 and d['requests'] > 0 and d['mem_bytes'] > 0"
# w is a sync table holding one record: its put was logged and synced.
run info w
has "info sync durability" "durability:  sync"
if grep -q '^log: *LSN [1-9][0-9]* (its last write ends there or before)$' "$tmp/out" &&
	grep -q '^checkpoint: *none yet$' "$tmp/out"; then pass; else
	fail "info log and checkpoint"; sed 's/^/  /' "$tmp/out"; fi
run --json info w
json "info --json log" "d['log_lsn'] > 0 and d['checkpoint_time'] == 0"
run stats
if grep -q '^log: *[1-9][0-9]* bytes.* on disk, durable up to LSN [1-9]' "$tmp/out" &&
	grep -q '^log syncs: *[0-9]*/s, .* writes per sync (last second); [1-9][0-9]* syncs of [1-9][0-9]* writes since start$' "$tmp/out" &&
	! grep -q '^log error' "$tmp/out"; then pass; else
	fail "stats log"; sed 's/^/  /' "$tmp/out"; fi
run --json stats
json "stats --json log" "d['log_syncs'] >= 1 and d['log_writes'] >= d['log_syncs'] and d['log_bytes'] > 0 and d['log_error'] == 0"

# TDB_SOCKET, and --socket over it.
TDB_SOCKET=$SOCK "$CLI" get t k >"$tmp/out" 2>"$tmp/err"; rc=$?
expect "TDB_SOCKET" 0 "hello world"
TDB_SOCKET=$tmp/nothing.sock "$CLI" --socket "$SOCK" get t k >"$tmp/out" 2>"$tmp/err"; rc=$?
expect "--socket overrides TDB_SOCKET" 0 "hello world"

# drop.
run drop t
expect "drop" 0 ""
run info t
expect "info dropped" 1 "" "tdbcli: info: table 't' does not exist"
run --json tables
json "tables after drop" "sorted(t['name'] for t in d) == ['n', 'w']"

# Schemas (schema/README.md): create --schema, typed put, get and dump,
# and the errors, each naming the field.
run create fw --schema "$schemas/fw4.json"
expect "create --schema" 0 ""
run info fw
has "info: schema" "schema:      fw4 (key prefix; fields action, proto, dport, priority, comment)"
has "info: key type from the schema" "key type:    cidr4"
run --json info fw
json "info --json: schema" "d['schema'] == 'fw4' and d['key_type'] == 'cidr4'"
run info n
has "info: no schema" "schema:      none"
run --json info n
json "info --json: no schema" "d['schema'] is None"
run put fw 10.0.0.0/8 action=drop proto=tcp dport=22
expect "typed put" 0 ""
run get fw 10.0.0.0/8
expect "typed get" 0 "10.0.0.0/8 action=drop proto=tcp dport=22 priority=100"
run --json get fw 10.0.0.0/8
json "typed get --json" "d == {'prefix': '10.0.0.0/8', 'action': 'drop', 'proto': 'tcp', 'dport': '22', 'priority': 100}"
run put fw 10.1.2.3/16 action=accept dport=1024-65535 priority=5 'comment=lan "hosts"'
expect "put: a prefix normalised, with a note" 0 "" \
	"tdbcli: put: note: key 10.1.2.3/16 taken as 10.1.0.0/16 (bits past the prefix length cleared)"
run get fw 10.1.0.0/16
expect "get: a quoted string field" 0 '10.1.0.0/16 action=accept proto=any dport=1024-65535 priority=5 comment="lan \"hosts\""'
run dump fw
sort "$tmp/out" >"$tmp/sorted"
printf '%s\n' '10.0.0.0/8 action=drop proto=tcp dport=22 priority=100' \
	'10.1.0.0/16 action=accept proto=any dport=1024-65535 priority=5 comment="lan \"hosts\""' >"$tmp/want"
if [ $rc -eq 0 ] && cmp -s "$tmp/sorted" "$tmp/want"; then pass; else
	fail "typed dump"; sed 's/^/  /' "$tmp/out"; fi
run --json dump fw
json_lines "typed dump --json" "sorted(r['prefix'] for r in d) == ['10.0.0.0/8', '10.1.0.0/16'] and [r['comment'] for r in d if 'comment' in r] == ['lan \"hosts\"'] and all(isinstance(r['priority'], int) for r in d)"
run del fw 10.1.2.3/16
expect "del: a prefix normalised" 0 "" \
	"tdbcli: del: note: key 10.1.2.3/16 taken as 10.1.0.0/16 (bits past the prefix length cleared)"
run get fw 10.1.0.0/16
expect "get deleted typed record" 1 "" "tdbcli: get: key '10.1.0.0/16' not found in table 'fw'"

run put fw 10.0.0.0/8 frob=1
expect "unknown field" 2 "" "tdbcli: put: frob: no such field (fields: action, proto, dport, priority, comment)"
run put fw 10.0.0.0/8 dport=70000
expect "port out of range" 2 "" "tdbcli: put: dport: 70000 is out of range 0..65535"
run put fw 10.0.0.0/8 priority=-1
expect "number out of range" 2 "" "tdbcli: put: priority: -1 is out of range 0..65535"
run put fw 10.0.0.0/8 dport=30-20
expect "reversed port range" 2 "" "tdbcli: put: dport: 30-20: the low port is above the high one"
run put fw 10.0.0/8 action=drop
expect "malformed prefix" 2 "" "tdbcli: put: prefix: 10.0.0/8: not an IPv4 address (four decimal octets, a.b.c.d)"
run put fw 10.0.0.0/33
expect "prefix length over 32" 2 "" "tdbcli: put: prefix: 10.0.0.0/33: prefix length over 32"
run put fw 10.0.0.256/8
expect "bad octet" 2 "" "tdbcli: put: prefix: 10.0.0.256/8: octet 256 is over 255"
run put fw 10.0.0.0/8 "comment=$(printf '%065d' 0)"
expect "string too long" 2 "" "tdbcli: put: comment: too long: 65 bytes, the maximum is 64"
run put fw 10.0.0.0/8 action=allow
expect "enum value" 2 "" "tdbcli: put: action: allow is not one of accept, drop, reject"
run put fw 10.0.0.0/8 action=drop action=accept
expect "field given twice" 2 "" "tdbcli: put: action: given twice"
run put fw 10.0.0.0/8 action
expect "not FIELD=VALUE" 2 "" "tdbcli: put: 'action' is not FIELD=VALUE (table 'fw' has a schema)"
run get fw 10.0.0.0/8
expect "failed puts changed nothing" 0 "10.0.0.0/8 action=drop proto=tcp dport=22 priority=100"
run get fw 10.0.0.0/40
expect "get: bad prefix" 2 "" "tdbcli: get: prefix: 10.0.0.0/40: prefix length over 32"

run create fw6 --schema "$schemas/fw6.json"
expect "create fw6" 0 ""
run put fw6 2001:DB8::/32 proto=icmpv6 action=reject
expect "put IPv6 rule" 0 ""
run get fw6 2001:db8::/32
expect "get IPv6 rule" 0 "2001:db8::/32 action=reject proto=icmpv6 dport=0-65535 priority=100"
run put fw6 2001:db8::1/129
expect "IPv6 prefix length over 128" 2 "" "tdbcli: put: prefix: 2001:db8::1/129: prefix length over 128"
run put fw6 ::/0 action=accept
expect "put ::/0" 0 ""
run dump fw6
sort "$tmp/out" >"$tmp/sorted"
printf '%s\n' '2001:db8::/32 action=reject proto=icmpv6 dport=0-65535 priority=100' \
	'::/0 action=accept proto=any dport=0-65535 priority=100' >"$tmp/want"
if [ $rc -eq 0 ] && cmp -s "$tmp/sorted" "$tmp/want"; then pass; else
	fail "dump fw6"; sed 's/^/  /' "$tmp/out"; fi

run create sessions --schema "$schemas/sessions.json"
expect "create sessions" 0 ""
run info sessions
has "sessions: a bytes key" "key type:    bytes"
flow=tcp,10.0.0.1,40000,2001:db8::2,443
run put sessions $flow state=established created=2026-03-01T12:00:00Z \
	last_seen=2026-03-01T12:00:05+00:00 packets=10 nat=true
expect "put session" 0 ""
run get sessions $flow
expect "get session" 0 "$flow state=established created=2026-03-01T12:00:00Z last_seen=2026-03-01T12:00:05Z packets=10 bytes=0 nat=true"
run --json get sessions tcp,::ffff:10.0.0.1,40000,2001:db8:0::2,443
json "get session --json, another spelling" "d['flow'] == '$flow' and d['nat'] is True and d['packets'] == 10 and 'mark' not in d"
run put sessions udp,::1,53,::1
expect "composite key, a part short" 2 "" "tdbcli: put: flow: udp,::1,53,::1: needs 5 parts separated by commas (proto,src,sport,dst,dport)"
run put sessions udp,::1,53,::1,65536
expect "composite key, a part out of range" 2 "" "tdbcli: put: flow.dport: 65536 is out of range 0..65535"
run put sessions udp,::1,53,::1,9 last_seen=yesterday
expect "bad timestamp" 2 "" "tdbcli: put: last_seen: yesterday: not a time (YYYY-MM-DDTHH:MM:SSZ, seconds since 1970, now, or +N with a unit s, m, h, d or w)"

run create blocklist --schema "$schemas/blocklist.json"
expect "create blocklist" 0 ""
run put blocklist 192.0.2.0/24 expires=2030-01-01T00:00:00Z added=1767225600 reason=scanner
expect "put blocklist entry" 0 ""
run get blocklist 192.0.2.0/24
expect "get blocklist entry" 0 "192.0.2.0/24 expires=2030-01-01T00:00:00Z added=2026-01-01T00:00:00Z source=manual hits=0 reason=scanner"
run put blocklist 192.0.2.7 source=ids
expect "put blocklist, default expiry" 0 ""
run --json get blocklist 192.0.2.7/32
json "default expiry in an hour" "d['source'] == 'ids' and d['expires'] > d['added'] and 'reason' not in d"
run put blocklist 192.0.2.8 expires=2030-02-30T00:00:00Z
expect "no such date" 2 "" "tdbcli: put: expires: 2030-02-30T00:00:00Z: no such date"

# Sets: tables of bare keys with empty values, no schema.
run create set4 --key-type cidr4
expect "create cidr4 set" 0 ""
run put set4 10.1.2.3/8
expect "set: normalised" 0 "" "tdbcli: put: note: key 10.1.2.3/8 taken as 10.0.0.0/8 (bits past the prefix length cleared)"
run put set4 192.0.2.1
expect "set: an address is a /32" 0 ""
run put set4 0.0.0.0/0
expect "set: 0.0.0.0/0" 0 ""
run dump set4
sort "$tmp/out" >"$tmp/sorted"
printf '0.0.0.0/0\n10.0.0.0/8\n192.0.2.1/32\n' >"$tmp/want"
if [ $rc -eq 0 ] && cmp -s "$tmp/sorted" "$tmp/want"; then pass; else
	fail "dump set4"; sed 's/^/  /' "$tmp/out"; fi
run --json dump set4
json_lines "dump set4 --json" "sorted(r['key'] for r in d) == ['0.0.0.0/0', '10.0.0.0/8', '192.0.2.1/32'] and all(r['value'] == '' for r in d)"
run get set4 192.0.2.1/32
printf '\n' >"$tmp/want"
if [ $rc -eq 0 ] && cmp -s "$tmp/out" "$tmp/want"; then pass; else
	fail "get a set member: exit status $rc, stdout '$(cat "$tmp/out")'"; fi
run del set4 10.0.0.0/8
expect "del a set member" 0 ""
run put set4 300.0.0.0/8
expect "set: bad octet" 2 "" "tdbcli: put: key: 300.0.0.0/8: octet 300 is over 255 (table 'set4' has cidr4 keys)"
run put set4 10.0.0.0/8 value extra
expect_rc "set: too many arguments" 2 "unexpected argument 'extra'"
run info set4
has "set info: key type" "key type:    cidr4"
has "set info: no schema" "schema:      none"
run create set6 --key-type cidr6
run put set6 2001:db8:ffff::/33
expect "cidr6 set: normalised" 0 "" "tdbcli: put: note: key 2001:db8:ffff::/33 taken as 2001:db8:8000::/33 (bits past the prefix length cleared)"
run put set6 ::ffff:1.2.3.4
run dump set6
sort "$tmp/out" >"$tmp/sorted"
printf '2001:db8:8000::/33\n::ffff:1.2.3.4/128\n' >"$tmp/want"
if [ $rc -eq 0 ] && cmp -s "$tmp/sorted" "$tmp/want"; then pass; else
	fail "dump set6"; sed 's/^/  /' "$tmp/out"; fi
run create macs --key-type mac
run put macs 00-11-22-AA-BB-CC
expect "mac set" 0 ""
run dump macs
expect "dump mac set" 0 "00:11:22:aa:bb:cc"
run put macs 00:11:22
expect "bad mac" 2 "" "tdbcli: put: key: 00:11:22: not a MAC address (aa:bb:cc:dd:ee:ff) (table 'macs' has mac keys)"
run create hosts --key-type ipv4
run put hosts 010.0.0.1
expect "ipv4: leading zero" 2 "" "tdbcli: put: key: 010.0.0.1: octet 010 has a leading zero (table 'hosts' has ipv4 keys)"
run put hosts 10.0.0.1 web
run get hosts 10.0.0.1
expect "ipv4 table with a value" 0 "web"
run dump hosts
expect "dump ipv4 table" 0 "$(printf '10.0.0.1\tweb')"
run create hosts6 --key-type ipv6
run put hosts6 2001:DB8:0:0::1
run dump hosts6
expect "dump ipv6 set" 0 "2001:db8::1"

run create x --schema "$tmp/nothing.json"
expect "create: no schema file" 2 "" "tdbcli: create: cannot open schema '$tmp/nothing.json': No such file or directory"
printf '{"name": "x", "key": {"type": "u32"},\n "fields": [{"name": "a", "type": "u17"}]}\n' >"$tmp/bad.json"
run create x --schema "$tmp/bad.json"
expect "create: bad schema" 2 "" "tdbcli: create: $tmp/bad.json: fields[0].type: unknown type \"u17\""
printf '{"name": "x",\n "key": {"type": "u32"}' >"$tmp/bad.json"
run create x --schema "$tmp/bad.json"
expect "create: schema not JSON" 2 "" "tdbcli: create: $tmp/bad.json: line 2, column 23: '}' expected near end of file"
run create x --schema "$schemas/fw4.json" --key-type u32
expect "create: --schema and --key-type" 2 "" "tdbcli: create: --key-type and --schema exclude each other: the schema names the key type"
run create x --key-type cidr5
expect "create: bad key type" 2 "" "tdbcli: create: bad --key-type 'cidr5': use bytes, str, u32, u64, ipv4, ipv6, cidr4, cidr6 or mac"
run info x
expect "no table after failed creates" 1 "" "tdbcli: info: table 'x' does not exist"
"$CLI" --socket "$SOCK" create fwin --schema - <"$schemas/fw4.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
expect "create --schema - (standard input)" 0 ""
run info fwin
has "schema from standard input" "schema:      fw4 (key prefix; fields action, proto, dport, priority, comment)"

# Stop tdbd: SIGTERM, exit 0.
kill -TERM "$tdbd_pid"
wait "$tdbd_pid"
rc=$?
tdbd_pid=
if [ $rc -eq 0 ]; then pass; else
	fail "tdbd exit status $rc after SIGTERM"; tail -5 "$tmp/tdbd.log"; fi

report
