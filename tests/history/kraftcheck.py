#!/usr/bin/env python3
"""kraftcheck: the verdict on a workload's history against a kraftd cluster.

A history is text, one event per line (blank lines and '#' comments are skipped):

    invoke  CLIENT VALUE T_US           a client starts appending VALUE
    ok      CLIENT VALUE OFFSET T_US    ... the leader acknowledged it at OFFSET
    fail    CLIENT VALUE T_US           ... it was refused: it must never appear
    unknown CLIENT VALUE T_US           ... the outcome is unknown: it may appear, once
    read    NODE OFFSET VALUE           the record at OFFSET as read from NODE
    state   NODE UPTO VALUE             NODE's state machine, built from every record
                                        below offset UPTO, holds VALUE (a kv entry: what
                                        a node whose log below UPTO is gone still shows)

Times are any monotonic microseconds shared by the clients. Values are unique per
invocation and contain no whitespace. Reads list what each node returned as committed
(offsets of control records are absent; a node's reads need not start at 0). A node's
state lines, if any, list every workload value its state holds (one UPTO per node).

Anomalies reported (each with the values and offsets involved):
  lost               acknowledged, but absent from a node whose reads go past its offset,
                     or from a node's state built past its offset, or from every node
  duplicated         one value at two offsets (on any node)
  inconsistent       acknowledged at one offset, found at another (or another value there)
  order              a was acknowledged before b was invoked, yet b sits before a
  failed-present     refused, yet present
  phantom            present, never invoked
  diverged           two nodes hold different values at the same committed offset, or
                     different states built up to the same offset

Exit status: 0 no anomaly, 1 anomalies (listed), 2 unreadable history.
    kraftcheck.py HISTORY [--json]
    kraftcheck.py --self-test      synthetic histories, one per anomaly: each must be found
"""
import json
import sys


class History:
    def __init__(self):
        self.invoked = {}  # value -> (client, t)
        self.ok = {}  # value -> (offset, t)
        self.failed = {}  # value -> t
        self.unknown = {}  # value -> t
        self.reads = {}  # node -> {offset: value}
        self.states = {}  # node -> (upto, set of values)


def parse(text):
    h = History()
    for n, line in enumerate(text.splitlines(), 1):
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        try:
            kind = f[0]
            if kind == "invoke" and len(f) == 4:
                if f[2] in h.invoked:
                    raise ValueError("value %s invoked twice" % f[2])
                h.invoked[f[2]] = (f[1], int(f[3]))
            elif kind == "ok" and len(f) == 5:
                h.ok[f[2]] = (int(f[3]), int(f[4]))
            elif kind == "fail" and len(f) == 4:
                h.failed[f[2]] = int(f[3])
            elif kind == "unknown" and len(f) == 4:
                h.unknown[f[2]] = int(f[3])
            elif kind == "read" and len(f) == 4:
                node = h.reads.setdefault(f[1], {})
                off = int(f[2])
                if off in node and node[off] != f[3]:
                    raise ValueError("node %s read two values at offset %d" % (f[1], off))
                node[off] = f[3]
            elif kind == "state" and len(f) == 4:
                upto, vals = h.states.setdefault(f[1], (int(f[2]), set()))
                if upto != int(f[2]):
                    raise ValueError("node %s has states up to %d and %s" % (f[1], upto, f[2]))
                vals.add(f[3])
            else:
                raise ValueError("expected invoke|ok|fail|unknown|read|state with its fields")
        except ValueError as e:
            raise ValueError("line %d: %s: %s" % (n, e, line.strip()))
    for v in list(h.ok) + list(h.failed) + list(h.unknown):
        if v not in h.invoked:
            raise ValueError("value %s completes but was never invoked" % v)
    return h


def check(h):
    """Returns (anomalies, counts): anomalies is a list of (kind, text)."""
    out = []
    # diverging committed prefixes: every offset held by two nodes holds one value
    merged = {}
    for node in sorted(h.reads):
        for off, val in h.reads[node].items():
            if off in merged and merged[off][1] != val:
                out.append(("diverged", "offset %d: node %s has %s, node %s has %s"
                            % (off, merged[off][0], merged[off][1], node, val)))
            else:
                merged.setdefault(off, (node, val))
    # where each value sits (on any node)
    where = {}
    for off, (_, val) in merged.items():
        where.setdefault(val, set()).add(off)
    for val, offs in where.items():
        if len(offs) > 1:
            out.append(("duplicated", "%s at offsets %s" % (val, sorted(offs))))
        if val not in h.invoked:
            out.append(("phantom", "%s at offset %d was never appended" % (val, min(offs))))
        if val in h.failed:
            out.append(("failed-present", "%s was refused but sits at offset %d"
                        % (val, min(offs))))
    # states: what they hold was appended, not refused; states built up to the same
    # offset are the same
    in_state = set()
    by_upto = {}
    for node in sorted(h.states):
        upto, vals = h.states[node]
        in_state |= vals
        for val in sorted(vals):
            if val not in h.invoked:
                out.append(("phantom", "%s in node %s's state was never appended" % (val, node)))
            if val in h.failed:
                out.append(("failed-present", "%s was refused but is in node %s's state"
                            % (val, node)))
        if upto in by_upto and h.states[by_upto[upto]][1] != vals:
            other = h.states[by_upto[upto]][1]
            out.append(("diverged", "states up to offset %d: node %s holds %d values node %s "
                        "does not (%s...), and lacks %d"
                        % (upto, node, len(vals - other), by_upto[upto],
                           sorted(vals - other)[:3], len(other - vals))))
        by_upto.setdefault(upto, node)
    # acknowledged appends (each node's read range computed once: histories are long)
    ranges = {node: (min(r), max(r)) for node, r in h.reads.items() if r}
    for val, (off, _) in h.ok.items():
        for node in sorted(h.states):
            upto, vals = h.states[node]
            if off < upto and val not in vals:
                out.append(("lost", "%s acknowledged at offset %d is not in node %s's state "
                            "(built up to offset %d)" % (val, off, node, upto)))
        if val not in where:
            if val not in in_state:
                out.append(("lost", "%s acknowledged at offset %d is on no node" % (val, off)))
            continue
        if off not in where[val]:
            out.append(("inconsistent", "%s acknowledged at offset %d sits at %s"
                        % (val, off, sorted(where[val]))))
        for node in sorted(ranges):
            r = h.reads[node]
            if ranges[node][1] > off and r.get(off) != val and ranges[node][0] <= off:
                out.append(("lost", "%s acknowledged at offset %d is missing on node %s "
                            "(which holds %s there)" % (val, off, node, r.get(off))))
    # real-time order: ok(a) before invoke(b) => offset(a) < offset(b)
    acked = sorted((t, val) for val, (_, t) in h.ok.items())
    invoked = sorted((t, val) for val, (_, t) in h.invoked.items() if val in where)
    i = 0
    latest = None  # the acknowledged value with the largest offset, completed so far
    for t_inv, b in invoked:
        while i < len(acked) and acked[i][0] < t_inv:
            a = acked[i][1]
            if a in where and (latest is None or min(where[a]) > min(where[latest])):
                latest = a
            i += 1
        if latest is not None and min(where[b]) < min(where[latest]):
            out.append(("order", "%s (offset %d) was acknowledged before %s was invoked, "
                        "yet %s sits earlier (offset %d)"
                        % (latest, min(where[latest]), b, b, min(where[b]))))
    counts = {
        "invoked": len(h.invoked), "ok": len(h.ok), "fail": len(h.failed),
        "unknown": len(h.unknown),
        "unknown_present": sum(1 for v in h.unknown if v in where or v in in_state),
        "nodes_read": len(h.reads),
        "records_read": sum(len(r) for r in h.reads.values()),
        "states_read": len(h.states),
        "state_values": sum(len(v) for _, v in h.states.values()),
    }
    for kind in ("lost", "duplicated", "inconsistent", "order", "failed-present", "phantom",
                 "diverged"):
        counts[kind] = sum(1 for k, _ in out if k == kind)
    return out, counts


def report(out, counts, as_json):
    if as_json:
        print(json.dumps({"valid": not out, "counts": counts,
                          "anomalies": [{"kind": k, "what": t} for k, t in out]}))
        return
    print("kraftcheck: %d appends invoked, %d acknowledged, %d failed, %d unknown "
          "(%d of them present); %d records read from %d nodes"
          % (counts["invoked"], counts["ok"], counts["fail"], counts["unknown"],
             counts["unknown_present"], counts["records_read"], counts["nodes_read"])
          + ("; %d values in the states of %d nodes"
             % (counts["state_values"], counts["states_read"]) if counts["states_read"] else ""))
    print("kraftcheck: lost %d, duplicated %d, inconsistent %d, order %d, failed-present %d, "
          "phantom %d, diverged %d"
          % tuple(counts[k] for k in ("lost", "duplicated", "inconsistent", "order",
                                      "failed-present", "phantom", "diverged")))
    for k, t in out[:50]:
        print("  %s: %s" % (k, t))
    if len(out) > 50:
        print("  ... and %d more" % (len(out) - 50))
    print("kraftcheck: %s" % ("VALID" if not out else "INVALID"))


# ---- self-test: one synthetic history per anomaly, and a valid one ----

GOOD = """
invoke c1 a 10
ok c1 a 1 20
invoke c2 b 15
invoke c1 c 30
unknown c2 b 40
ok c1 c 3 50
invoke c1 d 60
fail c1 d 70
read 1 1 a
read 1 2 b
read 1 3 c
read 2 1 a
read 2 2 b
read 2 3 c
read 3 1 a
"""

BAD = {
    "lost": GOOD.replace("read 1 3 c\n", "").replace("read 2 3 c\n", ""),
    "duplicated": GOOD + "read 1 4 c\nread 2 4 c\n",
    "inconsistent": GOOD.replace("ok c1 c 3 50", "ok c1 c 2 50")
                        .replace("unknown c2 b 40", "fail c2 b 40")
                        .replace("read 1 2 b", "read 1 2 x").replace("read 2 2 b", "read 2 2 x")
                    + "invoke c3 x 5\n",
    "order": "invoke c1 a 10\nok c1 a 2 20\ninvoke c2 b 30\nok c2 b 1 40\n"
             "read 1 1 b\nread 1 2 a\n",
    "failed-present": GOOD + "read 1 4 d\n",
    "phantom": GOOD + "read 2 4 zz\n",
    "diverged": GOOD.replace("read 2 2 b", "read 2 2 q") + "invoke c9 q 1\n",
}

# states: node 3 holds a, b and c up to offset 4, its log below there gone; nodes 1 and 2
# lost c's record from their reads (the log start moved past it), the state still has it
STATE = "state 3 4 a\nstate 3 4 b\nstate 3 4 c\n"
GOOD_STATES = GOOD.replace("read 1 3 c\n", "").replace("read 2 3 c\n", "") + STATE
BAD_STATES = [
    ("lost", GOOD + STATE.replace("state 3 4 c\n", "")),
    ("phantom", GOOD + STATE + "state 3 4 zz\n"),
    ("failed-present", GOOD + STATE + "state 3 4 d\n"),
    ("diverged", GOOD + STATE + STATE.replace("state 3", "state 2").replace(" b\n", " x\n")
     + "invoke c5 x 1\n"),
]


def self_test():
    failures = 0
    for good in (GOOD, GOOD_STATES):
        out, _ = check(parse(good))
        if out:
            print("self-test: a valid history was judged invalid: %s" % out)
            failures += 1
    for kind, text in list(BAD.items()) + BAD_STATES:
        out, counts = check(parse(text))
        if counts[kind] == 0:
            print("self-test: the %s history was not caught (found: %s)" % (kind, out))
            failures += 1
        else:
            print("self-test: %-15s caught: %s" % (kind, [t for k, t in out if k == kind][0]))
    for broken in ("ok c1 a 1 20\n", "invoke c1 a\n", "read 1 x a\n",
                   "invoke c1 a 1\ninvoke c2 a 2\n", "state 1 4 a\nstate 1 5 b\n"):
        try:
            parse(broken)
            print("self-test: malformed history accepted: %r" % broken)
            failures += 1
        except ValueError:
            pass
    print("self-test: %s" % ("PASS" if failures == 0 else "FAIL (%d)" % failures))
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    try:
        with open(argv[1]) as f:
            h = parse(f.read())
    except (OSError, ValueError) as e:
        print("kraftcheck: %s" % e, file=sys.stderr)
        return 2
    out, counts = check(h)
    report(out, counts, "--json" in argv[2:])
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
