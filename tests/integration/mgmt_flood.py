#!/usr/bin/env python3
"""Flood management listeners with DESCRIBE_QUORUM requests (relayed by the control thread
to the dataplane and answered back through the rings) for a while, as fast as Python
sends, without reading the answers. Used by cluster_smoke.sh: the node must stay live
(a full request ring and a full answer ring once made the two threads wait on each
other forever). Usage: mgmt_flood.py SECONDS HOST:PORT [HOST:PORT...]
"""
import socket
import struct
import sys
import time


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def describe_quorum(corr):
    # header: magic, version 1, API 13 (DESCRIBE_QUORUM), API version 0, flags 0, null
    # cluster id and voter-set hash (allowed on client APIs), sender -1, correlation, L=0
    h = b"KRFT" + bytes([1, 13, 0, 0]) + bytes(16) + bytes(8) + struct.pack("<iII", -1, corr, 0)
    return h + struct.pack("<I", crc32c(h))


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
