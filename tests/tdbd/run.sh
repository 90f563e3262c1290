#!/bin/sh
# Shell-level test of tdbd as a system service, against real tdbd processes
# in a temporary directory: its configuration file (settings used, flags
# over them, each kind of bad line reported with the file and line number
# and exit status 2, the example dist/tdb.conf), SIGHUP reloads (a new log
# level and max-conns take effect, a bad file keeps tdbd serving as it
# was, settings that need a restart are named), readiness for systemd
# (READY=1 through NOTIFY_SOCKET once tdbd serves, RELOADING=1,
# STOPPING=1), the "<N>" priorities when stderr is the journal, --syslog
# (when a private /dev/log can be mounted), and dist/tdbd.service
# (systemd-analyze verify, when systemd-analyze is there).
#
# Usage: tests/tdbd/run.sh BUILD_DIR   (binaries: BUILD_DIR/tdbd/tdbd and
#                                       BUILD_DIR/cli/tdbcli)
# Needs python3; uses setpriv and unshare (util-linux) when there.
# Prints a line per failure and ends with "tdbd: N passed, M failed";
# exits non-zero on any failure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
dist=$here/../../dist
# shellcheck source-path=SCRIPTDIR source=../cli/lib.sh
. "$here/../cli/lib.sh"
setup_test tdbd "$@"

# Our listeners (python3) go with tdbd and $tmp.
helper_pids=
stop_helpers() {
	for h in $helper_pids; do
		kill "$h" 2>/dev/null
	done
	cleanup
}
trap stop_helpers EXIT

# start_d NAME ARGS...: starts tdbd ARGS with its stderr in $tmp/NAME.log,
# waits until $sock (the socket it should listen on) exists; $tdbd_pid.
start_d() {
	log=$tmp/$1.log
	shift
	"$TDBD" "$@" >"$log" 2>&1 &
	tdbd_pid=$!
	i=0
	while [ ! -S "$sock" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$tdbd_pid" 2>/dev/null; then
			fail "tdbd $* did not listen on $sock"
			sed 's/^/  log: /' "$log" | head -5
			kill -KILL "$tdbd_pid" 2>/dev/null
			wait "$tdbd_pid" 2>/dev/null
			tdbd_pid=
			return 1
		fi
		sleep 0.05
	done
}

# stop_d NAME: SIGTERM, and exit status 0.
stop_d() {
	kill -TERM "$tdbd_pid"
	wait "$tdbd_pid"
	rc=$?
	tdbd_pid=
	if [ $rc -eq 0 ]; then pass; else fail "$1: exit status $rc after SIGTERM"; fi
}

# wait_log NAME PATTERN: the log gets a line matching PATTERN (grep -E)
# within 5 s.
wait_log() {
	i=0
	while ! grep -qE -- "$2" "$log"; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			fail "$1: no log line matching '$2'"
			sed 's/^/  log: /' "$log" | tail -8
			return 1
		fi
		sleep 0.05
	done
	pass
}

# log_has NAME PATTERN / log_lacks NAME PATTERN: right now.
log_has() {
	if grep -qE -- "$2" "$log"; then pass; else
		fail "$1: no log line matching '$2'"
		sed 's/^/  log: /' "$log" | tail -8
	fi
}
log_lacks() {
	if grep -qE -- "$2" "$log"; then
		fail "$1: log has '$(grep -E -- "$2" "$log" | head -1)'"
	else
		pass
	fi
}

# cli ARGS...: tdbcli against $sock; $rc, $tmp/out, $tmp/err.
cli() {
	"$CLI" --socket "$sock" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# --- The file's settings are used; flags override them. ---
sock=$tmp/conf.sock
cat >"$tmp/good.conf" <<EOF
# tdbd's test configuration
[tdbd]
socket = $sock
data-dir = "$tmp/data"
workers = 1
log-level = debug   ; everything
checkpoint-interval = 7
EOF
if start_d conf --config "$tmp/good.conf"; then
	log_has "config: socket, data-dir, workers from the file" \
		"info: listening on $sock, data directory $tmp/data, 1 worker, .*checkpoint every 7 s"
	cli create t --durability sync
	expect "create through the file's socket" 0 ""
	cli put t k v1
	expect "put" 0 ""
	wait_log "config: log-level debug from the file" "debug: conn [0-9]+ .*connected"
	stop_d "config"
fi

# Flags win whatever their place on the command line; the file's other
# settings (the data directory) stay.
sock=$tmp/flag.sock
if start_d flags --socket "$sock" --log-level warning \
	--config "$tmp/good.conf" --workers 2; then
	if [ -e "$tmp/conf.sock" ]; then
		fail "flags: the file's socket exists although --socket was given"
	else
		pass
	fi
	cli get t k
	expect "flags: the file's data-dir is used" 0 "v1"
	log_lacks "flags: --log-level warning over the file's debug" "info:|debug:"
	stop_d "flags"
fi
sock=$tmp/flag.sock
if start_d flags2 --log-level=info --workers=2 --config "$tmp/good.conf" \
	--socket "$sock"; then
	log_has "flags before --config win too" "listening on $sock, .* 2 workers"
	stop_d "flags2"
fi

# --- Bad files: FILE:LINE: reason on stderr, exit status 2, no socket. ---
sock=$tmp/bad.sock
# bad NAME WANT FILE-CONTENT: tdbd --config on that content prints exactly
# one line, "tdbd: error: FILE:WANT", and exits 2 without listening.
bad() {
	printf '%b' "$3" >"$tmp/bad.conf"
	timeout 10 "$TDBD" --config "$tmp/bad.conf" --socket "$sock" \
		--data-dir "$tmp/baddata" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 2 ]; then
		fail "bad $1: exit status $rc, want 2"
		sed 's/^/  stderr: /' "$tmp/err" | head -3
	elif [ "$(cat "$tmp/err")" != "tdbd: error: $tmp/bad.conf:$2" ]; then
		fail "bad $1: stderr is '$(cat "$tmp/err")', want 'tdbd: error: $tmp/bad.conf:$2'"
	elif [ -e "$sock" ] || [ -s "$tmp/out" ]; then
		fail "bad $1: a socket or stdout output"
	else
		pass
	fi
}
bad "unknown key" "3: frob: unknown key (known: socket, data-dir, workers, max-conns, flush-interval, checkpoint-interval, checkpoint-log, segment-size, accept-loss, log-level, syslog)" \
	'[tdbd]\nworkers = 1\nfrob = 1\n'
bad "bad number" "4: workers: not auto or a number from 1 to 1024" \
	'# c\n\n[tdbd]\nworkers = 0x10\n'
bad "number out of range" "2: flush-interval: not a number of milliseconds from 1 to 10000" \
	'[tdbd]\nflush-interval = 0\n'
bad "bad size" "2: segment-size: not a size from 64K to 4G (bytes, or with K, M or G)" \
	'[tdbd]\nsegment-size = 12Q\n'
bad "bad level" "1: log-level: not error, warning, info or debug" \
	'log-level = loud\n'
bad "bad boolean" "3: syslog: not yes or no" \
	'[tdbd]\n; c\nsyslog = maybe\n'
bad "empty path" "2: socket: empty value" \
	'[tdbd]\nsocket =\n'
bad "malformed line" "5: expected 'key = value' or '[tdbd]'" \
	'[tdbd]\nworkers = 1\n\n# the next line has no =\nworkers 2\n'
bad "unknown section" "3: unknown section [tbdd] (tdbd's keys go in [tdbd])" \
	'workers = 1\n\n[tbdd]\nworkers = 2\n'
bad "empty unknown section at the end" "4: unknown section [other] (tdbd's keys go in [tdbd])" \
	'[tdbd]\nworkers = 1\n\n[other]\n'
bad "unclosed section" "2: section header without ']'" \
	'# c\n[tdbd\nworkers = 1\n'
bad "key given twice" "4: workers: already set on line 1" \
	'workers = 1\n[tdbd]\nlog-level = info\nworkers = 2\n'
long=$(printf '%05000d' 0)
bad "line too long" "2: line longer than 4350 characters" \
	"[tdbd]\nsocket = /$long\n"
bad "unclosed quotes" "3: data-dir: the value's quotes do not close (a ';' after a blank starts a comment)" \
	'[tdbd]\nworkers = 1\ndata-dir = "/srv/a ;b"\n'
# A byte order mark before the first line is no error: the next line is.
bad "after a byte order mark" "2: frob: unknown key (known: socket, data-dir, workers, max-conns, flush-interval, checkpoint-interval, checkpoint-log, segment-size, accept-loss, log-level, syslog)" \
	'\0357\0273\0277[tdbd]\nfrob = 1\n'

printf '[tdbd]\nworkers = 1\n' >"$tmp/ok.conf"
timeout 10 "$TDBD" --config "$tmp/ok.conf" --workers 0 --socket "$sock" \
	--data-dir "$tmp/baddata" >"$tmp/out" 2>"$tmp/err"
rc=$?
expect "bad flag over a good file" 2 "" \
	"tdbd: error: --workers '0': not auto or a number from 1 to 1024"
timeout 10 "$TDBD" --config "$tmp/missing.conf" --socket "$sock" \
	--data-dir "$tmp/baddata" >"$tmp/out" 2>"$tmp/err"
rc=$?
expect "missing config file" 2 "" \
	"tdbd: error: $tmp/missing.conf: No such file or directory"

# The example configuration: all comments, and with every key uncommented
# it is valid and holds the defaults.
sock=$tmp/ex.sock
if start_d example --config "$dist/tdb.conf" --socket "$sock" \
	--data-dir "$tmp/exdata"; then
	log_has "dist/tdb.conf as shipped" \
		"listening on $sock, .*async flush every 10 ms, checkpoint every 60 s"
	stop_d "example"
fi
sed 's/^#\([a-z-]* = \)/\1/' "$dist/tdb.conf" >"$tmp/ex.conf"
n=$(grep -cE '^[a-z-]+ = ' "$tmp/ex.conf")
if [ "$n" -eq 11 ]; then pass; else
	fail "dist/tdb.conf: $n keys, want all 11"
fi
# Its socket and data directory are the system's: the flags move them.
if start_d example2 --config "$tmp/ex.conf" --socket "$sock" \
	--data-dir "$tmp/exdata"; then
	log_has "dist/tdb.conf uncommented: the defaults" \
		"listening on $sock, .*async flush every 10 ms, checkpoint every 60 s"
	stop_d "example2"
fi

# --- SIGHUP ---
sock=$tmp/hup.sock
printf '[tdbd]\nsocket = %s\ndata-dir = %s\nlog-level = warning\n' \
	"$sock" "$tmp/data" >"$tmp/hup.conf"
if start_d hup --config "$tmp/hup.conf"; then
	cli get t k
	expect "hup: serving" 0 "v1"
	log_lacks "hup: warning level at first" "debug:|info:"

	printf '[tdbd]\nsocket = %s\ndata-dir = %s\nlog-level = debug\nworkers = 3\nmax-conns = 5\n' \
		"$sock" "$tmp/data" >"$tmp/hup.conf"
	kill -HUP "$tdbd_pid"
	wait_log "hup: reloaded" "info: reloaded $tmp/hup.conf"
	log_has "hup: the new level is said" "info: reload: log-level debug, was warning"
	log_has "hup: workers need a restart" \
		"warning: reload: workers changed from [0-9]+ to 3, which needs a restart"
	log_has "hup: max-conns applied" "info: reload: max-conns 5, was 256"
	log_lacks "hup: no checkpoint before the reload" "checkpoint ckpt-"

	# The checkpoint interval changes live: a checkpoint within seconds.
	printf '[tdbd]\nsocket = %s\ndata-dir = %s\nlog-level = debug\nworkers = 3\nmax-conns = 5\ncheckpoint-interval = 1\nflush-interval = 20\n' \
		"$sock" "$tmp/data" >"$tmp/hup.conf"
	kill -HUP "$tdbd_pid"
	wait_log "hup: intervals applied" \
		"info: reload: flush-interval 20 ms, checkpoint-interval 1 s, checkpoint-log [0-9]+ bytes \\(were 10, 60, [0-9]+\\)"
	cli put t k2 v2
	wait_log "hup: a checkpoint by the new interval" "info: checkpoint ckpt-"
	cli get t k
	expect "hup: serving after the reload" 0 "v1"
	wait_log "hup: debug lines after the reload" "debug: conn [0-9]+ .*connected"

	# A bad file: reported with its line, nothing changes, tdbd serves.
	printf '[tdbd]\nsocket = %s\nlog-level = warning\nfrob = 1\n' \
		"$sock" >"$tmp/hup.conf"
	kill -HUP "$tdbd_pid"
	wait_log "hup: bad file reported" \
		"error: reload: $tmp/hup.conf:4: frob: unknown key .*; keeping the running configuration"
	n=$(grep -c "debug: conn .*: connected" "$log")
	cli get t k
	expect "hup: serving after a bad reload" 0 "v1"
	i=0
	while [ "$(grep -c "debug: conn .*: connected" "$log")" -le "$n" ] &&
	      [ $i -lt 100 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	if [ $i -lt 100 ]; then pass; else
		fail "hup: no debug line for a connection after a bad reload"
	fi
	if kill -0 "$tdbd_pid" 2>/dev/null; then pass; else
		fail "hup: tdbd died after a bad reload"
	fi

	# A new socket waits for a restart; the old one goes on.
	printf '[tdbd]\nsocket = %s\ndata-dir = %s\nlog-level = info\n' \
		"$tmp/other.sock" "$tmp/data" >"$tmp/hup.conf"
	kill -HUP "$tdbd_pid"
	wait_log "hup: socket needs a restart" \
		"warning: reload: socket changed from $sock to $tmp/other.sock, which needs a restart; still $sock"
	cli get t k
	expect "hup: the old socket serves" 0 "v1"
	if [ -e "$tmp/other.sock" ]; then
		fail "hup: the new socket was created"
	else
		pass
	fi
	stop_d "hup"
fi

# --- max-conns changes at a reload: a second connection of one uid is
# refused with max-conns = 1, and accepted once the file says 2. ---
if command -v setpriv >/dev/null && command -v mkfifo >/dev/null; then
	sock=$tmp/conns.sock
	chmod o+x "$tmp"	# for uid nobody
	printf '[tdbd]\nsocket = %s\ndata-dir = %s\nmax-conns = 1\nlog-level = debug\n' \
		"$sock" "$tmp/cdata" >"$tmp/conns.conf"
	# as_nobody ARGS...: tdbcli as uid and gid 65534.
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$CLI" --socket "$sock" "$@" >"$tmp/out" 2>"$tmp/err"
		rc=$?
	}
	if start_d conns --config "$tmp/conns.conf"; then
		cli create open --mode 0666
		expect "conns: create a table for nobody" 0 ""
		# A load waiting for its input holds nobody's one connection.
		mkfifo "$tmp/fifo"
		exec 3<>"$tmp/fifo"
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$CLI" --socket "$sock" load open - --format jsonl \
			<"$tmp/fifo" >"$tmp/load.out" 2>&1 3>&- &
		load_pid=$!
		helper_pids="$helper_pids $load_pid"
		wait_log "conns: nobody holds a connection" \
			"debug: conn [0-9]+ \\(pid [0-9]+ uid 65534\\): connected"
		as_nobody tables
		expect_rc "conns: a second one over max-conns 1" 2 "this user holds as many connections as the owner allows"
		printf '[tdbd]\nsocket = %s\ndata-dir = %s\nmax-conns = 2\nlog-level = debug\n' \
			"$sock" "$tmp/cdata" >"$tmp/conns.conf"
		kill -HUP "$tdbd_pid"
		wait_log "conns: reloaded" "info: reload: max-conns 2, was 1"
		as_nobody tables
		if [ $rc -eq 0 ] && grep -q "^open " "$tmp/out"; then pass; else
			fail "conns: a second connection refused after max-conns 2 (exit status $rc)"
		fi
		printf '{"key": "k", "value": "v"}\n' >&3
		exec 3>&-
		wait "$load_pid"
		rc=$?
		if [ $rc -eq 0 ]; then pass; else
			fail "conns: the held load: exit status $rc: $(cat "$tmp/load.out")"
		fi
		stop_d "conns"
	fi
else
	echo "tdbd: max-conns at a reload not tested: no setpriv or mkfifo"
fi

# --- sd_notify ---
sock=$tmp/notify.sock
nsock=$tmp/systemd.notify
python3 "$here/notify.py" "$nsock" "$tmp/notify.out" "$sock" \
	"$tmp/notify.log" "$CLI" get t k &
helper_pids="$helper_pids $!"
notify_pid=$!
i=0
while [ ! -e "$tmp/notify.out.listening" ] && [ $i -lt 200 ]; do
	i=$((i + 1))
	sleep 0.05
done
printf '[tdbd]\nsocket = %s\ndata-dir = %s\n' "$sock" "$tmp/data" \
	>"$tmp/notify.conf"
# wait_notify NAME PATTERN: a notify.out line matching PATTERN within 5 s.
wait_notify() {
	i=0
	while ! grep -qE -- "$2" "$tmp/notify.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			fail "$1: no notification matching '$2'"
			sed 's/^/  notify: /' "$tmp/notify.out" 2>/dev/null | tail -8
			return 1
		fi
		sleep 0.05
	done
	pass
}
export NOTIFY_SOCKET="$nsock"
start_d notify --config "$tmp/notify.conf"
started=$?
unset NOTIFY_SOCKET
if [ $started -eq 0 ]; then
	wait_notify "notify: READY=1" "^READY=1$"
	wait_notify "notify: checked at READY=1" "^check: tdbcli"
	if grep -qx "check: log says listening" "$tmp/notify.out" &&
	   grep -qx "check: connect ok" "$tmp/notify.out" &&
	   grep -qx "check: tdbcli exit 0: v1" "$tmp/notify.out"; then
		pass
	else
		fail "notify: at READY=1 tdbd did not serve the recovered table"
		sed 's/^/  notify: /' "$tmp/notify.out" | head -12
	fi
	# STATUS= says what it does: recovering first, then serving.
	if awk '/^STATUS=recovering/ { r = NR } /^READY=1$/ && !y { y = NR }
		END { exit !(r && y && r < y) }' "$tmp/notify.out"; then
		pass
	else
		fail "notify: no STATUS=recovering before READY=1"
	fi
	grep -q "^STATUS=serving on $sock" "$tmp/notify.out"
	rc=$?
	if [ $rc -eq 0 ]; then pass; else fail "notify: no STATUS=serving on $sock"; fi

	kill -HUP "$tdbd_pid"
	wait_notify "notify: READY=1 after the reload" \
		"^STATUS=serving on $sock.*configuration reloaded"
	if awk '/^RELOADING=1$/ { r = NR } /^READY=1$/ { y = NR }
		END { exit !(r && y > r) }' "$tmp/notify.out"; then
		pass
	else
		fail "notify: RELOADING=1 then READY=1 around the reload"
	fi
	if grep -q "^MONOTONIC_USEC=[0-9]" "$tmp/notify.out"; then pass; else
		fail "notify: RELOADING=1 without MONOTONIC_USEC="
	fi
	stop_d "notify"
	wait_notify "notify: STOPPING=1" "^STOPPING=1$"
fi
kill "$notify_pid" 2>/dev/null

# --- stderr is the journal: "<N>" priorities ---
sock=$tmp/journal.sock
: >"$tmp/journal.log"
stream=$(stat -c '%d:%i' "$tmp/journal.log")
export JOURNAL_STREAM="$stream"
start_d journal --socket "$sock" --data-dir "$tmp/jdata"
started=$?
if [ $started -eq 0 ]; then
	log_has "journal: <6> on info lines" "^<6>info: listening on $sock"
	log_lacks "journal: no 'tdbd: ' prefix" "^tdbd: "
	stop_d "journal"
fi
sock=$tmp/journal2.sock
JOURNAL_STREAM=1:1
start_d journal2 --socket "$sock" --data-dir "$tmp/jdata"
started=$?
unset JOURNAL_STREAM
if [ $started -eq 0 ]; then
	log_has "journal: another stream, plain lines" "^tdbd: info: listening on $sock"
	stop_d "journal2"
fi

# --- --syslog, to a private /dev/log in a mount namespace ---
sock=$tmp/syslog.sock
mkdir "$tmp/dev"
: >"$tmp/syslog.out"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "ab", buffering=0)
open(sys.argv[1] + ".listening", "w").close()
while True:
	out.write(s.recv(65536) + b"\n")' "$tmp/dev/log" "$tmp/syslog.out" &
helper_pids="$helper_pids $!"
syslog_pid=$!
i=0
while [ ! -e "$tmp/dev/log.listening" ] && [ $i -lt 200 ]; do
	i=$((i + 1))
	sleep 0.05
done
# The namespace's /dev is $tmp/dev: its log is our listener.
if unshare -m true 2>/dev/null; then
	# shellcheck disable=SC2016 # the inner shell expands them
	unshare -m sh -c 'mount --bind "$1/dev" /dev && shift && exec "$@"' \
		sh "$tmp" "$TDBD" --syslog --socket "$sock" \
		--data-dir "$tmp/sdata" >"$tmp/syslog.log" 2>&1 &
	tdbd_pid=$!
	log=$tmp/syslog.log
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 200 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	cli tables
	expect "syslog: tdbd serves" 0 ""
	stop_d "syslog"
	if grep -qE "^<30>.*tdbd\[[0-9]+\]: info: listening on $sock" \
		"$tmp/syslog.out"; then
		pass
	else
		fail "syslog: no daemon.info 'listening' line with tdbd[PID]"
		sed 's/^/  syslog: /' "$tmp/syslog.out" | head -5
	fi
	log_lacks "syslog: nothing on stderr" "."
else
	echo "tdbd: --syslog not tested: unshare -m is not permitted here"
fi
kill "$syslog_pid" 2>/dev/null

# --- dist/tdbd.service ---
if command -v systemd-analyze >/dev/null; then
	mkdir "$tmp/unit"
	sed "s|^ExecStart=/usr/sbin/tdbd |ExecStart=$TDBD |" \
		"$dist/tdbd.service" >"$tmp/unit/tdbd.service"
	if grep -q "^ExecStart=$TDBD --config /etc/tdb/tdb.conf$" \
		"$tmp/unit/tdbd.service"; then
		pass
	else
		fail "tdbd.service: ExecStart is not /usr/sbin/tdbd --config /etc/tdb/tdb.conf"
	fi
	if systemd-analyze verify --man=no "$tmp/unit/tdbd.service" \
		>"$tmp/out" 2>&1; then
		pass
	else
		fail "tdbd.service: systemd-analyze verify: $(head -3 "$tmp/out")"
	fi
else
	echo "tdbd: tdbd.service not verified: no systemd-analyze"
fi

report
