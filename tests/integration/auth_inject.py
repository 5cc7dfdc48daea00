#!/usr/bin/env python3
"""Frames that must fail peer authentication (issue 9), at a running kraftd cluster whose
nodes hold a cluster key.

  auth_inject.py capture SECONDS OUT IFACE...
      record the UDP payloads nodes send each other (dataplane port) on bridge ports, for
      replaying: one line per frame, "dst_ip dst_port hex".
  auth_inject.py inject --key F --wrong-key F [--captured OUT] COUNT HOST:PORT...
      to every node, COUNT of each kind: a Vote with an epoch near the maximum claiming to
      come from another voter, without a MAC (MISSING), sealed with another key
      (UNKNOWN_KEY), with the cluster's key id and a made-up MAC (BAD_MAC), sealed right
      and then altered (BAD_MAC), sealed right but sent ten minutes ago (STALE); a sealed
      PING sent twice (the second REPLAYED); and every captured frame sent again (REPLAYED,
      or TOO_OLD once its sender moved 1024 frames on). Prints what it sent, JSON.

The MAC is keyed BLAKE2b-128 (hashlib.blake2b with key=, as libsodium's
crypto_generichash), over header, body and trailer bytes [0, 16); include/kraft/auth.h.
"""
import hashlib
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kraftwire as kw  # noqa: E402

F_AUTH = 0x01
AUTH_BYTES = 32


def read_key(path):
    k = bytes.fromhex("".join(open(path).read().split()))
    assert len(k) == 32, path
    return k, hashlib.blake2b(k, digest_size=16).digest()[0]


def seal(frame, key, key_id, seq, send_time):
    """frame: a whole frame built with F_AUTH, without its trailer."""
    t = bytes([key_id, 0, 0, 0]) + struct.pack("<IQ", send_time, seq)
    mac = hashlib.blake2b(frame + t, digest_size=16, key=key).digest()
    return frame + t + mac


def vote(epoch):
    return struct.pack("<IIQiB3x", epoch, 0, 0, -1, 0) + bytes(32)


def capture(seconds, out, ifaces):
    socks = []
    for i in ifaces:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        s.bind((i, 0))
        s.setblocking(False)
        socks.append(s)
    frames = set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for s in socks:
            try:
                while True:
                    pkt = s.recv(65536)
                    if len(pkt) < 14 + 20 + 8 or pkt[12:14] != b"\x08\x00" or pkt[23] != 17:
                        continue
                    ihl = (pkt[14] & 0x0F) * 4
                    src, dst = pkt[26:30], pkt[30:34]
                    sport, dport = struct.unpack_from("!HH", pkt, 14 + ihl)
                    payload = pkt[14 + ihl + 8:]
                    h = kw.header(payload)
                    # node to node: both ends on the dataplane port, a node's own id
                    if h and sport == dport and h[3] >= 0:
                        frames.add((socket.inet_ntoa(dst), dport, payload))
            except BlockingIOError:
                pass
        time.sleep(0.001)
    with open(out, "w") as f:
        for d, p, b in sorted(frames):
            f.write("%s %d %s\n" % (d, p, b.hex()))
    print(json.dumps({"captured": len(frames)}))


def inject(args):
    key, key_id = read_key(args[args.index("--key") + 1])
    wrong, wrong_id = read_key(args[args.index("--wrong-key") + 1])
    captured = args[args.index("--captured") + 1] if "--captured" in args else None
    rest = [a for i, a in enumerate(args)
            if not a.startswith("--") and (i == 0 or not args[i - 1].startswith("--"))]
    count = int(rest[0])
    targets = [(h, int(p)) for h, p in (a.split(":") for a in rest[1:])]
    assert wrong_id != key_id, "the wrong key must have another key id"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    seq = [int(time.time() * 1e6) << 10]

    def sealed(f):
        seq[0] += 1
        return seal(f, key, key_id, seq[0], int(time.time()))

    nodes = kw.learn(s, targets, seal=sealed, who="auth_inject")
    sent = {}

    def send(kind, t, f):
        s.sendto(f, t)
        sent[kind] = sent.get(kind, 0) + 1

    now = int(time.time())
    for t in targets:
        _, cluster, vset, node_id, _ = nodes[t]
        other = node_id % len(targets) + 1  # another voter's id
        good = dict(cluster=cluster, voter_set=vset, sender=other)
        for i in range(count):
            seq[0] += 1
            v = kw.frame(kw.API["VOTE"], vote(0xFFFFFFF0), corr=i, **good)
            va = kw.frame(kw.API["VOTE"], vote(0xFFFFFFF0), corr=i, flags=F_AUTH, **good)
            send("no_mac", t, v)
            send("wrong_key", t, seal(va, wrong, wrong_id, seq[0], now))
            send("made_up_mac", t, va + bytes([key_id, 0, 0, 0]) + struct.pack(
                "<IQ", now, seq[0]) + os.urandom(16))
            # sealed with the right key, then one body byte changed (CRC made right again)
            body = bytearray(vote(0xFFFFFFF0))
            body[20] ^= 0x01  # the pre-vote flag
            altered = kw.frame(kw.API["VOTE"], bytes(body), corr=i, flags=F_AUTH, **good)
            send("altered", t, altered + seal(va, key, key_id, seq[0], now)[len(va):])
            seq[0] += 1
            send("stale", t, seal(va, key, key_id, seq[0], now - 600))
            # a client's sealed PING, then the very same bytes again
            seq[0] += 1
            p = seal(kw.frame(kw.API["PING"], corr=1000 + i, flags=F_AUTH, cluster=cluster,
                              voter_set=vset), key, key_id, seq[0], now)
            send("ping_once", t, p)
            time.sleep(0.002)
            send("ping_replayed", t, p)
    if captured:
        by = {}
        for line in open(captured):
            d, p, h = line.split()
            by.setdefault((d, int(p)), []).append(bytes.fromhex(h))
        for t, frames in by.items():
            if t in targets:
                for f in frames:
                    send("captured_replayed", t, f)
        sent["captured_replayed_per_node"] = {"%s:%d" % t: len(f) for t, f in by.items()}
    print(json.dumps({"sent": sent, "per_node": count, "nodes": len(targets)}))


def main():
    a = sys.argv[1:]
    if a[:1] == ["capture"]:
        capture(float(a[1]), a[2], a[3:])
    elif a[:1] == ["inject"]:
        inject(a[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
