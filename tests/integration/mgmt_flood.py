#!/usr/bin/env python3
"""Flood management listeners with DESCRIBE_QUORUM requests (relayed by the control thread
to the dataplane and answered back through the rings) for a while, as fast as Python
sends, without reading the answers. Used by cluster_smoke.sh: the node must stay live
(a full request ring and a full answer ring once made the two threads wait on each
other forever). Usage: mgmt_flood.py SECONDS HOST:PORT [HOST:PORT...]
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kraftwire  # noqa: E402


def describe_quorum(corr):
    # a null cluster id and voter-set hash are allowed on client APIs
    return kraftwire.frame(kraftwire.API["DESCRIBE_QUORUM"], corr=corr)


def main():
    secs = float(sys.argv[1])
    targets = [(h, int(p)) for h, p in (a.split(":") for a in sys.argv[2:])]
    frames = [describe_quorum(c) for c in range(1, 65)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    sent = 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        for t in targets:
            for f in frames:
                try:
                    s.sendto(f, t)
                    sent += 1
                except BlockingIOError:
                    pass
    print(sent)


if __name__ == "__main__":
    main()
