"""kraftd's frame header in Python, for the tests that speak to nodes on their own
(the management flood, the hostile-packet injector): include/kraft/wire.h. The format
version is read from that header, so the two cannot disagree."""
import os
import re
import socket
import struct
import sys

HDR = 48


def _wire_version():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include",
                        "kraft", "wire.h")
    with open(path) as f:
        m = re.search(r"^#define KR_WIRE_VERSION (\d+)", f.read(), re.M)
    if m is None:
        sys.exit("kraftwire: no KR_WIRE_VERSION in " + path)
    return int(m.group(1))


VERSION = _wire_version()
API = {"VOTE": 1, "BEGIN_EPOCH": 3, "END_EPOCH": 5, "FETCH": 7, "APPEND": 9, "READ": 11,
       "DESCRIBE_QUORUM": 13, "DESCRIBE_NODES": 15, "PING": 17, "PING_RESP": 18,
       "FRAGMENT": 25}


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def frame(api, body=b"", corr=1, sender=-1, cluster=bytes(16), voter_set=0, version=VERSION,
          api_version=0, flags=0, length=None):
    """A frame; length overrides the stated body length (to build broken ones)."""
    h = (b"KRFT" + bytes([version, api, api_version, flags]) + cluster +
         struct.pack("<QiII", voter_set, sender, corr, len(body) if length is None else length))
    return h + struct.pack("<I", crc32c(h + body)) + body


def fragment_body(msg_id, msg_len, offset, frag_bytes, data, epoch=0):
    """A FRAGMENT's body: bytes [offset, offset + len(data)) of message msg_id."""
    return struct.pack("<IIIIII", msg_id, msg_len, offset, frag_bytes, epoch, len(data)) + data


def header(buf):
    """(api, cluster id, voter-set hash, sender, correlation) of a received frame."""
    if len(buf) < HDR or buf[:4] != b"KRFT":
        return None
    voter_set, sender, corr, _ = struct.unpack_from("<QiII", buf, 24)
    return buf[5], bytes(buf[8:24]), voter_set, sender, corr


def learn(sock, targets, seal=None, who="kraftwire"):
    """cluster id, voter-set hash and node id of every target, from its PING replies;
    with seal, PINGs carry the authentication flag and seal(frame) completes them."""
    seen = {}
    for _ in range(50):
        for t in targets:
            if t not in seen:
                f = frame(API["PING"], corr=7, flags=1 if seal else 0)
                sock.sendto(seal(f) if seal else f, t)
        sock.settimeout(0.2)
        try:
            while len(seen) < len(targets):
                buf, addr = sock.recvfrom(2048)
                h = header(buf)
                if h and h[0] == API["PING_RESP"]:
                    seen[addr] = h
        except socket.timeout:
            pass
        if len(seen) == len(targets):
            return seen
    sys.exit("%s: no PING reply from %s" % (who, [t for t in targets if t not in seen]))
