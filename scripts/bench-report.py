#!/usr/bin/env python3
"""bench-report: scripts/bench.sh's results.jsonl as the Markdown tables of
docs/BENCHMARKS.md. Every ratio is between figures of the same run."""
import json
import sys


def f(x, nd=1):
    return "-" if x is None else f"{x:.{nd}f}"


def g(o, *path):
    for p in path:
        if not isinstance(o, dict) or p not in o:
            return None
        o = o[p]
    return o


def ratio(a, b):
    return None if a is None or not b else a / b


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    kr = [r for r in rows if r.get("transport", "").split()[0] != "etcd"]
    lat = {(r["transport"], r["durability"], r["voters"]): r for r in kr if r["run"] == "latency"}
    lead = {(r["transport"], r["durability"], r["voters"]): r for r in kr if r["run"] == "leader"}
    tput = [r for r in kr if r["run"] == "throughput"]
    work = {(r["transport"], r["durability"], r["voters"]): r for r in kr if r["run"] == "work"}

    print("### Commit latency beside the floor (one append in flight, 64-byte records)\n")
    print("Client-observed commit and PING round trips in microseconds, from the same run; "
          "ratios are commit / ping to the leader. The leader-side p50 is the leader's own "
          "histogram (append in to acknowledgement out, DPDK telemetry), set beside the "
          "client's ping to a follower (the replication leg's floor).\n")
    print("| transport | durability | voters | commit p50 | p99 | p99.9 | ping leader p50 | p99 "
          "| ratio p50 | ratio p99 | ping follower p50 | leader-side p50 | leader-side / ping "
          "follower | fdatasync p50 | commit / (fdatasync + ping) |")
    print("|" + "---|" * 15)
    for k, r in lat.items():
        c50, c99, c999 = g(r, "commit_us", "p50"), g(r, "commit_us", "p99"), g(r, "commit_us", "p99_9")
        p50, p99 = g(r, "ping_leader_us", "p50"), g(r, "ping_leader_us", "p99")
        pf = g(r, "ping_follower_us", "p50")
        ls = g(lead.get(k, {}), "leader_commit_ns", "p50")
        ls = ls / 1e3 if ls else None
        fs = r.get("fsync_p50_us")
        print(f"| {k[0]} | {k[1]} | {k[2]} | {f(c50)} | {f(c99)} | {f(c999)} | {f(p50)} | "
              f"{f(p99)} | {f(ratio(c50, p50), 2)} | {f(ratio(c99, p99), 2)} | {f(pf)} | "
              f"{f(ls)} | {f(ratio(ls, pf), 2)} | {f(fs)} | "
              f"{f(ratio(c50, (fs or 0) + (p50 or 0)) if fs else None, 2)} |")

    print("\n### Throughput (closed loop, 32 appends in flight of 16 x 64-byte records, 2 s)\n")
    print("Work per record: the dataplanes' time in loop passes that did work (telemetry "
          "work_ns, all nodes together and the busiest one, the leader) over the records the "
          "leader appended meanwhile, in ns and in TSC cycles (this VM counts no hardware "
          "cycles for perf stat).\n")
    print("| transport | durability | voters | appends/s | records/s | commit p50 us | p99 us "
          "| work ns / record, all | leader | TSC cycles / record, all | leader |")
    print("|" + "---|" * 11)
    for r in tput:
        w = work.get((r["transport"], r["durability"], r["voters"]), {})
        print(f"| {r['transport']} | {r['durability']} | {r['voters']} | {r['commits_per_s']} | "
              f"{r['records_per_s']} | {f(g(r, 'commit_us', 'p50'))} | "
              f"{f(g(r, 'commit_us', 'p99'))} | {f(w.get('work_ns_per_record_all'))} | "
              f"{f(w.get('work_ns_per_record_busiest'))} | "
              f"{f(w.get('cycles_per_record_all'), 0)} | "
              f"{f(w.get('cycles_per_record_busiest'), 0)} |")

    fl = [r for r in kr if r["run"] == "floor"]
    if fl:
        print("\n### The raw floor (kraftfloor: a bare echo and a bare client, 1-voter node)\n")
        print("Round trips one at a time; phases against the bare echo (raw, no kraftd code) "
              "and against the node's PING (kraftd's ports and dataplane, no replication) "
              "alternate, 5 pairs; ratios are kraftd / raw of each pair: median (spread).\n")
        print("The last columns set the 1-voter memory commit of the latency table (kraftbench, "
              "same bench run, its own cluster) beside the raw p50.\n")
        print("| transport | raw p50 us | kraftd PING p50 us | ratio p50 | ratio p99 | lost | "
              "1-voter commit p50 us | commit p50 / raw p50 |")
        print("|---|---|---|---|---|---|---|---|")
        for r in fl:
            a, b = r.get("ratioP50", {}), r.get("ratioP99", {})
            raw = r.get("rawP50Ns", 0) / 1e3
            c50 = g(lat.get((r["transport"], "memory", 1), {}), "commit_us", "p50")
            print(f"| {r['transport']} | {f(raw, 2)} | "
                  f"{f(r.get('kraftdP50Ns', 0) / 1e3, 2)} | {f(a.get('median'), 2)} "
                  f"({f(a.get('min'), 2)}-{f(a.get('max'), 2)}) | {f(b.get('median'), 2)} "
                  f"({f(b.get('min'), 2)}-{f(b.get('max'), 2)}) | {r.get('lost')} | "
                  f"{f(c50, 2)} | {f(ratio(c50, raw), 2)} |")

    st = [r for r in kr if r["run"] == "stages" and r.get("stages_ns")]
    if st:
        print("\n### Where the leader's time goes (telemetry /kraft/stages over the latency run)\n")
        print("Per stage, ns: rx (a port's rx call that returned datagrams), core "
              "(kr_repl_on_packet: decode, checks, log append, HW), actions (encode, seal, tx "
              "buffers, events), ping_echo (a PING answered by the shell), tx (the ports' "
              "flush), pass (a loop pass that did work), sleep (the idle mode's yield or "
              "sleep).\n")
        print("| transport | durability | voters | stage | count | p50 | p99 | p99.9 | max |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in st:
            for name, h in r["stages_ns"].items():
                if isinstance(h, dict) and h.get("count"):
                    print(f"| {r['transport']} | {r['durability']} | {r['voters']} | {name} | "
                          f"{h['count']} | {h['p50']} | {h['p99']} | {h['p99_9']} | {h['max']} |")

    sc = [r for r in kr if r["run"] == "stage-cost"]
    if sc:
        print("\n### The stage timing's own cost (memif, 1 voter, memory; off and on alternating)\n")
        print("| pair | commit p50 off us | on | p99 off | on | ping p50 off | on |")
        print("|---|---|---|---|---|---|---|")
        pairs = {}
        for r in sc:
            pairs.setdefault(r["pair"], {})[r["stages"]] = r
        r50, r99 = [], []
        for k in sorted(pairs):
            off, on = pairs[k].get("off", {}), pairs[k].get("on", {})
            c = [g(off, "commit_us", "p50"), g(on, "commit_us", "p50"),
                 g(off, "commit_us", "p99"), g(on, "commit_us", "p99"),
                 g(off, "ping_leader_us", "p50"), g(on, "ping_leader_us", "p50")]
            if c[0] and c[1]:
                r50.append(c[1] / c[0])
            if c[2] and c[3]:
                r99.append(c[3] / c[2])
            print(f"| {k} | " + " | ".join(f(x, 2) for x in c) + " |")
        if r50:
            r50.sort()
            r99.sort()
            print(f"\nCommit on / off: p50 median {r50[len(r50) // 2]:.3f}x "
                  f"(spread {r50[0]:.3f}-{r50[-1]:.3f}), p99 median "
                  f"{r99[len(r99) // 2]:.3f}x (spread {r99[0]:.3f}-{r99[-1]:.3f}).")

    fo = [r for r in kr if r["run"] == "failover"]
    if fo:
        print("\n### Failover (memif, 3 voters, memory; kill -9 of the leader under load, one "
              "append in flight)\n")
        print("Gap: the last commit acknowledged by the old leader to the first by the new. "
              "Found: the old leader's last commit to the moment a new leader "
              "answered kraftbench (asked every millisecond once a commit is 1 ms late). Epoch before the kill: 1 means no election before the one measured.\n")
        print("| fetch timeout ms | gap ms | gap / fetch timeout | last old commit to new leader "
              "found ms | epoch before the kill |")
        print("|---|---|---|---|---|")
        for r in fo:
            x = r.get("failover", {})
            print(f"| {r['fetch_timeout_ms']} | {f(x.get('gap_ms'))} | "
                  f"{f(x.get('gap_over_fetch_timeout'), 2)} | {f(x.get('last_old_commit_to_new_leader_ms'))} | "
                  f"{r.get('epoch_before') if r.get('epoch_before') is not None else '-'} |")

    et = [r for r in rows if r.get("system") == "etcd"]
    if et:
        print("\n### etcd, the peer (3 members in the AF_XDP cluster's namespaces, client in "
              "kraftbench's namespace)\n")
        print("| data | clients | put p50 us | p99 us | p99.9 us | GET /version p50 us | "
              "puts/s | put p50 / kraftd commit p50 |")
        print("|---|---|---|---|---|---|---|---|")
        for r in et:
            # the same namespaces: kraftd over AF_XDP, 3 voters, the matching durability
            kd = "memory" if r["durability"] == "tmpfs" else "disk"
            k = lat.get(("af_xdp", kd, 3))
            kc = g(k, "commit_us", "p50") if k else None
            p = g(r, "commit_us", "p50")
            print(f"| {r['durability']} | {r['concurrency']} | {f(p)} | "
                  f"{f(g(r, 'commit_us', 'p99'))} | {f(g(r, 'commit_us', 'p99_9'))} | "
                  f"{f(g(r, 'ping_leader_us', 'p50'))} | {r['commits_per_s']} | "
                  f"{f(ratio(p, kc), 1) if r['concurrency'] == 1 else '-'} |")


if __name__ == "__main__":
    main()
