#!/usr/bin/env python3
"""etcd-bench: kraftbench's measurement for etcd, the peer scripts/bench.sh compares with.

Puts through etcd's JSON gateway (POST /v3/kv/put) to the leader over one keep-alive HTTP
connection per client, each acknowledged once committed by etcd's Raft. Sequential
(--concurrency 1) puts alternate with GET /version on the same connection, which etcd
answers without consensus: the floor of the same client, transport and server, like
kraftbench's ping. With --concurrency K, K clients put at once (threads; the GIL is
released while they wait on their sockets). One JSON object on stdout.
"""
import argparse
import base64
import http.client
import json
import sys
import threading
import time


def post(conn, path, body):
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError(f"{path}: HTTP {r.status}: {data[:200]!r}")
    return json.loads(data)


def find_leader(endpoints):
    """The endpoint whose member is the leader (POST /v3/maintenance/status)."""
    for _ in range(100):
        for ep in endpoints:
            host, port = ep.split(":")
            try:
                c = http.client.HTTPConnection(host, int(port), timeout=2)
                st = post(c, "/v3/maintenance/status", {})
                c.close()
                if st.get("leader") and st["leader"] == st["header"]["member_id"]:
                    return host, int(port)
            except (OSError, RuntimeError, KeyError, ValueError):
                pass
        time.sleep(0.1)
    sys.exit("etcd-bench: no leader among " + ",".join(endpoints))


def quantiles(xs):
    xs = sorted(xs)
    if not xs:
        return {}
    q = lambda p: xs[min(len(xs) - 1, int(p * (len(xs) - 1)))] * 1e6
    return {"p50": round(q(0.5), 1), "p90": round(q(0.9), 1), "p99": round(q(0.99), 1),
            "p99_9": round(q(0.999), 1), "max": round(xs[-1] * 1e6, 1), "n": len(xs)}


def client(host, port, n, size, tag, floor, out, warmup):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    value = base64.b64encode(b"v" * size).decode()
    lat, ping = [], []
    for i in range(n + warmup):
        key = base64.b64encode(f"kb-{tag}-{i}".encode()).decode()
        t = time.perf_counter()
        post(conn, "/v3/kv/put", {"key": key, "value": value})
        d = time.perf_counter() - t
        if i >= warmup:
            lat.append(d)
        if floor:
            t = time.perf_counter()
            conn.request("GET", "/version")
            conn.getresponse().read()
            if i >= warmup:
                ping.append(time.perf_counter() - t)
    conn.close()
    out.append((lat, ping))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoints", required=True, help="host:port,... (client URLs)")
    ap.add_argument("--records", type=int, default=2000, help="puts in all")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=50, help="puts per client left out")
    a = ap.parse_args()
    host, port = find_leader(a.endpoints.split(","))
    out, threads = [], []
    per = max(1, a.records // a.concurrency)
    start = time.perf_counter()
    for k in range(a.concurrency):
        t = threading.Thread(target=client,
                             args=(host, port, per, a.size, f"{start}-{k}", a.concurrency == 1,
                                   out, a.warmup))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    secs = time.perf_counter() - start
    lat = [x for l, _ in out for x in l]
    ping = [x for _, p in out for x in p]
    if len(out) != a.concurrency:
        sys.exit("etcd-bench: a client failed")
    res = {"system": "etcd", "leader": f"{host}:{port}", "concurrency": a.concurrency,
           "size": a.size, "commits": len(lat), "seconds": round(secs, 3),
           "commits_per_s": round((len(lat) + a.warmup * a.concurrency) / secs),
           "commit_us": quantiles(lat)}
    if ping:
        res["ping_leader_us"] = quantiles(ping)
        res["ratio_p50"] = round(res["commit_us"]["p50"] / res["ping_leader_us"]["p50"], 2)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
