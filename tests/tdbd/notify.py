#!/usr/bin/env python3
# tests/tdbd/notify.py - what systemd's end of sd_notify(3) sees, for
# tests/tdbd/run.sh: listens on a datagram socket (NOTIFY_SOCKET) and
# writes each message to a file, one variable a line, a "--" line after
# each message.  When the first READY=1 arrives it checks at once that
# tdbd serves: that tdbd's log already has the line tdbd writes once its
# workers run (before it says READY=1), that its socket takes a
# connection, and what a tdbcli command prints; it writes "check: ..."
# lines with the results before anything tdbd sends later.
#
# Usage: notify.py NOTIFY_SOCKET OUT TDBD_SOCKET TDBD_LOG TDBCLI ARG...
# Creates OUT.listening once it listens; runs until killed.
import os
import socket
import subprocess
import sys

path, out_path, tdbd_sock, tdbd_log, cli = sys.argv[1:6]
cli_args = sys.argv[6:]

s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
out = open(out_path, "a", buffering=1)
open(out_path + ".listening", "w").close()

checked = False
while True:
    msg = s.recv(65536).decode("utf-8", "replace")
    out.write(msg.rstrip("\n") + "\n--\n")
    if checked or "READY=1" not in msg.split("\n"):
        continue
    checked = True
    with open(tdbd_log) as f:
        listening = [l for l in f if "info: listening on " in l]
    out.write("check: log %s\n"
              % ("says listening" if listening else "lacks listening"))
    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        c.connect(tdbd_sock)
        out.write("check: connect ok\n")
    except OSError as e:
        out.write("check: connect failed: %s\n" % e)
    finally:
        c.close()
    r = subprocess.run([cli, "--socket", tdbd_sock] + cli_args,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=10)
    out.write("check: tdbcli exit %d: %s\n"
              % (r.returncode, r.stdout.decode().strip()))
