#!/usr/bin/env python3
"""Write a kv-state snapshot file from the format in include/kraft/snapshot.h alone (an
independent writer: kraftd dump must read what the documented format says).
Usage: snapfile.py DIR END_OFFSET EPOCH KEY=VALUE...   prints the file's path."""
import os
import struct
import sys

from kraftwire import crc32c


def chunk(kind, payload):
    head = struct.pack("<II", kind, len(payload))
    return head + struct.pack("<I", crc32c(payload, crc32c(head))) + payload


def main():
    d, end, epoch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    hdr = b"KRFTSNP1" + struct.pack("<II", 1, 0) + bytes(range(1, 17))
    hdr += struct.pack("<QII", end, epoch, 0) + struct.pack("<q", 1_700_000_000_000_000)
    hdr += b"kv".ljust(16, b"\0")
    hdr += struct.pack("<I", crc32c(hdr))
    state = b""
    for kv in sys.argv[4:]:
        k, v = kv.split("=", 1)
        state += struct.pack("<QI", int(k), len(v)) + v.encode()
    chunks = [chunk(1, b"voters"), chunk(2, b""), chunk(3, state)]
    whole = crc32c(hdr[72:76])
    for c in chunks:
        whole = crc32c(c[8:12], whole)
    body = hdr + b"".join(chunks)
    body += chunk(0xFFFF, struct.pack("<QQI", len(chunks), len(body), whole))
    path = os.path.join(d, "%020d-%010d.snapshot" % (end, epoch))
    with open(path, "wb") as f:
        f.write(body)
    print(path)


main()
