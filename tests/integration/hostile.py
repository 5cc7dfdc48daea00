#!/usr/bin/env python3
"""Hostile packets at a running kraftd cluster (issue 8): malformed, truncated, bad-CRC,
foreign-cluster, wrong-voter-set, wrong-source-address and stale-epoch frames, and a Vote
with an epoch near the maximum from a node id that is no voter; and fragments (issue 23):
one off its boundary, a message whose first fragment comes twice and never the rest, a
fragment naming another length than its message's first, and a message put together
that is itself a fragment. Each kind goes COUNT times to every node's dataplane port
from this host's address (not a voter's).

It learns the cluster id and voter-set hash from the nodes' own PING replies, so the
frames that must pass the decoder do, and reach the checks behind it.
Then, with --flood S, S seconds of such Votes as fast as Python sends them (a control
plane under a flood must stay live and its log bounded).
Usage: hostile.py [--flood S] COUNT HOST:PORT [HOST:PORT...]   (prints what it sent, JSON)
"""
import json
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kraftwire as kw  # noqa: E402

NOT_A_VOTER = 77  # a node id no cluster here has


def vote(epoch, pre=False, voter_id=-1):
    return struct.pack("<IIQiB3x", epoch, 0, 0, voter_id, 1 if pre else 0) + bytes(32)


def main():
    args = sys.argv[1:]
    flood = 0.0
    if args[:1] == ["--flood"]:
        flood = float(args[1])
        args = args[2:]
    count = int(args[0])
    targets = [(h, int(p)) for h, p in (a.split(":") for a in args[1:])]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    nodes = kw.learn(s, targets, who="hostile")
    rng = random.Random(8)
    sent = {}

    def send(kind, t, f):
        s.sendto(f, t)
        sent[kind] = sent.get(kind, 0) + 1

    for t in targets:
        _, cluster, vset, node_id, _ = nodes[t]
        good = dict(cluster=cluster, voter_set=vset)
        for i in range(count):
            v = kw.frame(kw.API["VOTE"], vote(1), sender=NOT_A_VOTER, corr=i, **good)
            send("garbage", t, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120))))
            send("truncated", t, v[:rng.randrange(1, len(v))])
            # a stated body length above the largest message (1 MiB + 4 KiB)
            send("oversized_length", t, kw.frame(kw.API["VOTE"], vote(1), length=2 << 20, **good))
            send("trailing_bytes", t, v + b"\0\0")
            bad = bytearray(v)
            bad[kw.HDR + rng.randrange(40)] ^= 0x5A
            send("bad_crc", t, bytes(bad))
            send("bad_version", t, kw.frame(kw.API["VOTE"], vote(1), version=9, **good))
            send("unknown_api", t, kw.frame(99, b"", **good))
            send("unknown_flags", t, kw.frame(kw.API["VOTE"], vote(1), flags=0x80, **good))
            send("foreign_cluster", t, kw.frame(kw.API["VOTE"], vote(1), sender=NOT_A_VOTER,
                                                cluster=os.urandom(16), voter_set=vset))
            send("wrong_voter_set", t, kw.frame(kw.API["VOTE"], vote(1), sender=NOT_A_VOTER,
                                                cluster=cluster, voter_set=vset ^ 0xFFFF))
            send("bad_body_length", t, kw.frame(kw.API["VOTE"], vote(1)[:55],
                                                sender=NOT_A_VOTER, **good))
            # a voter's id from an address that is not that voter's
            send("wrong_source_address", t, kw.frame(kw.API["VOTE"], vote(1 << 30),
                                                     sender=node_id, **good))
            # a peer API from a client
            send("peer_api_from_client", t, kw.frame(kw.API["VOTE"], vote(1 << 30), sender=-1,
                                                     **good))
            # well-formed, from an id that is no voter, in a stale epoch
            send("stale_epoch", t, kw.frame(kw.API["BEGIN_EPOCH"],
                                            struct.pack("<Ii", 0, NOT_A_VOTER) + bytes(16),
                                            sender=NOT_A_VOTER, **good))
            send("stale_epoch", t, kw.frame(kw.API["END_EPOCH"],
                                            struct.pack("<IiB3x", 0, NOT_A_VOTER, 0),
                                            sender=NOT_A_VOTER, **good))
            send("stale_epoch", t, kw.frame(kw.API["FETCH"], struct.pack(
                "<IIQQII16sQQI4x", 0, 0, 0, 0, 0, 1024, bytes(16), 1, 0, 0),
                sender=NOT_A_VOTER, **good))
            # fragments: one off its fragment boundary (refused by the decoder); a message
            # whose first fragment comes twice (a duplicate) and never the rest (given up
            # or replaced); a fragment of that message naming another length (a
            # conflict); a whole message that is itself a FRAGMENT (refused once whole)
            a, w = 1000 + 2 * i, 1001 + 2 * i
            send("frag_off_boundary", t, kw.frame(kw.API["FRAGMENT"], kw.fragment_body(
                a + 500, 1024, 100, 256, bytes(256)), **good))
            first = kw.frame(kw.API["FRAGMENT"], kw.fragment_body(a, 1024, 0, 256, bytes(256)),
                             **good)
            send("frag_never_whole", t, first)
            send("frag_duplicate", t, first)
            send("frag_conflict", t, kw.frame(kw.API["FRAGMENT"], kw.fragment_body(
                a, 2048, 256, 256, bytes(256)), **good))
            inner = kw.frame(kw.API["FRAGMENT"], bytes(600), **good)
            for off in range(0, len(inner), 256):
                send("frag_whole_fragment", t, kw.frame(kw.API["FRAGMENT"], kw.fragment_body(
                    w, len(inner), off, 256, inner[off:off + 256]), **good))
            # a (pre-)vote near the maximum epoch from an id that is no voter
            send("huge_epoch_vote_from_non_voter", t, kw.frame(
                kw.API["VOTE"], vote(0xFFFFFFF0, voter_id=-1), sender=NOT_A_VOTER, **good))
            send("huge_epoch_vote_from_non_voter", t, kw.frame(
                kw.API["VOTE"], vote(0xFFFFFFF0, pre=True, voter_id=-1), sender=NOT_A_VOTER,
                **good))
    if flood > 0:
        votes = [(t, kw.frame(kw.API["VOTE"], vote(5 + e, pre=bool(e & 1)), sender=NOT_A_VOTER,
                              corr=e, cluster=nodes[t][1], voter_set=nodes[t][2]))
                 for t in targets for e in range(64)]
        s.setblocking(False)
        end = time.monotonic() + flood
        n = 0
        while time.monotonic() < end:
            for t, f in votes:
                try:
                    s.sendto(f, t)
                    n += 1
                except BlockingIOError:
                    pass
        sent["vote_flood"] = n
    print(json.dumps({"sent": sent, "per_node": count, "nodes": len(targets)}))


if __name__ == "__main__":
    main()
