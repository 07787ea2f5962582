#!/usr/bin/env python3
"""notify_listen.py — a stand-in for systemd's notification socket (test_install.sh).

Usage: notify_listen.py DIR NAME...

Binds one unix datagram socket DIR/NAME.sock per NAME (what a service gets as
$NOTIFY_SOCKET) and appends each datagram it receives to DIR/NAME.notify, one
assignment (READY=1, STATUS=…, STOPPING=1) per line.  Writes DIR/listening once every
socket is bound; runs until killed.
"""
import os
import selectors
import socket
import sys


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    d = sys.argv[1]
    sel = selectors.DefaultSelector()
    for name in sys.argv[2:]:
        path = os.path.join(d, name + ".sock")
        if os.path.exists(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        sel.register(s, selectors.EVENT_READ, os.path.join(d, name + ".notify"))
    open(os.path.join(d, "listening"), "w").close()
    while True:
        for key, _ in sel.select():
            data = key.fileobj.recv(65536)
            with open(key.data, "a", encoding="utf-8", errors="replace") as out:
                for line in data.decode("utf-8", "replace").split("\n"):
                    if line:
                        out.write(line + "\n")


if __name__ == "__main__":
    sys.exit(main())
