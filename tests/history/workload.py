#!/usr/bin/env python3
"""A workload for kraftcheck: concurrent clients append unique values through kraftctl
and record every invocation and its outcome; drain reads every record a node holds as
committed; state lists the workload's entries in a node's kv snapshot. All three write
kraftcheck's history format (see kraftcheck.py).

    workload.py run --kraftctl PATH --servers H:P,H:P,... --clients N --seconds S \\
                    --out HISTORY [--timeout-ms MS] [--prefix P] [--kv]
    (S seconds at most: SIGTERM ends the run sooner, each client finishing its call first;
    --kv: each value's first 8 bytes are a key of its own, for kraftd.state.machine=kv;
    the keys repeat from run to run, so one such run per cluster)
    workload.py drain --kraftctl PATH --server H:P --node ID [--from N] --out HISTORY
    workload.py state --kraftd PATH --snapshot FILE --node ID --out HISTORY
    (the snapshot's entries that --kv values set: what the node's state holds below the
    snapshot's end, its log below there perhaps gone)
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time


def now_us():
    return time.monotonic_ns() // 1000


class Recorder:
    def __init__(self, path):
        self.f = open(path, "a")
        self.lock = threading.Lock()

    def line(self, text):
        with self.lock:
            self.f.write(text + "\n")
            self.f.flush()


def client(cid, args, rec, stop, stats):
    seq = 0
    while not stop.is_set():
        if args.kv:
            # c<client>-<5 digits>: 8 bytes, a key no other value has
            if cid > 9 or seq > 99999:
                break
            value = "c%d-%05d=%s" % (cid, seq, args.prefix or "v")
        else:
            value = "%sc%d-%d" % (args.prefix, cid, seq)
        seq += 1
        rec.line("invoke c%d %s %d" % (cid, value, now_us()))
        p = subprocess.run([args.kraftctl, "--bootstrap-server", args.servers, "--timeout-ms",
                            str(args.timeout_ms), "--json", "append", value],
                           capture_output=True, text=True)
        t = now_us()
        if p.returncode == 0:
            off = json.loads(p.stdout)["baseOffset"]
            rec.line("ok c%d %s %d %d" % (cid, value, off, t))
            stats["ok"] += 1
        elif p.returncode == 3:
            rec.line("unknown c%d %s %d" % (cid, value, t))
            stats["unknown"] += 1
        else:
            rec.line("fail c%d %s %d" % (cid, value, t))
            stats["fail"] += 1
            time.sleep(0.05)


def run(args):
    rec = Recorder(args.out)
    stop = threading.Event()
    stats = {"ok": 0, "unknown": 0, "fail": 0}
    threads = [threading.Thread(target=client, args=(i, args, rec, stop, stats))
               for i in range(args.clients)]
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for t in threads:
        t.start()
    deadline = time.monotonic() + args.seconds
    while not stop.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    print("workload: %d ok, %d unknown, %d failed" % (stats["ok"], stats["unknown"],
                                                     stats["fail"]))
    return 0


def drain(args):
    rec = Recorder(args.out)
    p = subprocess.run([args.kraftctl, "--bootstrap-server", args.server, "--timeout-ms",
                        "10000", "--json", "read", "--from", str(args.from_offset)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("drain: node %s: %s" % (args.node, p.stderr.strip()), file=sys.stderr)
        return 1
    n = 0
    for line in p.stdout.splitlines():
        r = json.loads(line)
        rec.line("read %s %d %s" % (args.node, r["offset"], r["value"]))
        n += 1
    print("drain: node %s: %d records" % (args.node, n))
    return 0


KV_VALUE = re.compile(r"^c[0-9]-[0-9]{5}=\S+$")


def state(args):
    """kraftd dump --records of a kv snapshot prints each entry as
    | key: "KEY" length: N value: "VALUE"  (text; hex when not printable)"""
    p = subprocess.run([args.kraftd, "dump", "--records", args.snapshot],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("state: %s: %s" % (args.snapshot, (p.stdout + p.stderr).strip()[-300:]),
              file=sys.stderr)
        return 1
    m = re.match(r"^(\d+)-\d+\.snapshot$", os.path.basename(args.snapshot))
    if not m:
        print("state: %s is not named as a snapshot" % args.snapshot, file=sys.stderr)
        return 1
    upto = int(m.group(1))
    rec = Recorder(args.out)
    n = 0
    for line in p.stdout.splitlines():
        e = re.match(r'^\| key: "(.*)" length: \d+ value: "(.*)"$', line)
        if e and KV_VALUE.match(e.group(1) + e.group(2)):
            rec.line("state %s %d %s" % (args.node, upto, e.group(1) + e.group(2)))
            n += 1
    print("state: node %s: %d workload entries below offset %d" % (args.node, n, upto))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--kraftctl", required=True)
    r.add_argument("--servers", required=True)
    r.add_argument("--clients", type=int, default=3)
    r.add_argument("--seconds", type=float, default=10)
    r.add_argument("--timeout-ms", type=int, default=3000)
    r.add_argument("--out", required=True)
    r.add_argument("--prefix", default="", help="before every value (unique per run)")
    r.add_argument("--kv", action="store_true", help="values with keys of their own")
    d = sub.add_parser("drain")
    d.add_argument("--kraftctl", required=True)
    d.add_argument("--server", required=True)
    d.add_argument("--node", required=True)
    d.add_argument("--from", dest="from_offset", type=int, default=0)
    d.add_argument("--out", required=True)
    s = sub.add_parser("state")
    s.add_argument("--kraftd", required=True)
    s.add_argument("--snapshot", required=True)
    s.add_argument("--node", required=True)
    s.add_argument("--out", required=True)
    args = ap.parse_args()
    return {"run": run, "drain": drain, "state": state}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
