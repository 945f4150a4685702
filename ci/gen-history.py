#!/usr/bin/env python3
"""Writes a linearizable Rift JSONL history for ci/bench-check.

usage: ci/gen-history.py OUT [--ops N] [--keys K] [--processes P] [--seed S]

Each process runs one operation at a time (70% reads, 30% writes) on a random key. A write
takes effect at its invocation and writes the key's next integer, so values grow per key in
write order; a read takes effect at a random point of its interval and returns what the key
held then. The history is therefore linearizable, with ordinary staleness-free reads.
"""
import argparse
import bisect
import heapq
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--ops", type=int, default=1_000_000)
    ap.add_argument("--keys", type=int, default=1_000)
    ap.add_argument("--processes", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)

    free = [(rng.randrange(1000), p) for p in range(a.processes)]
    heapq.heapify(free)
    counters = [0] * a.keys
    write_times = [[] for _ in range(a.keys)]
    write_values = [[] for _ in range(a.keys)]
    ops = []  # (process, key, is_write, value_or_point, invoke, complete, node)
    for _ in range(a.ops):
        t, p = heapq.heappop(free)
        k = rng.randrange(a.keys)
        d = 1_000 + rng.randrange(50_000)
        node = "n%d" % rng.randrange(3)
        if rng.random() < 0.3:
            counters[k] += 1
            write_times[k].append(t)
            write_values[k].append(counters[k])
            ops.append((p, k, True, counters[k], t, t + d, node))
        else:
            ops.append((p, k, False, t + rng.randrange(d + 1), t, t + d, node))
        heapq.heappush(free, (t + d + 1 + rng.randrange(5_000), p))

    events = []
    for (p, k, is_write, x, inv, comp, node) in ops:
        if is_write:
            events.append((inv, 0, '{"type":"invoke","process":%d,"f":"write","key":"k%d","value":%d,"time":%d}' % (p, k, x, inv)))
            events.append((comp, 1, '{"type":"ok","process":%d,"f":"write","key":"k%d","value":%d,"time":%d,"node":"%s"}' % (p, k, x, comp, node)))
        else:
            i = bisect.bisect_right(write_times[k], x)
            v = write_values[k][i - 1] if i > 0 else None
            events.append((inv, 0, '{"type":"invoke","process":%d,"f":"read","key":"k%d","value":null,"time":%d}' % (p, k, inv)))
            events.append((comp, 1, '{"type":"ok","process":%d,"f":"read","key":"k%d","value":%s,"time":%d,"node":"%s"}'
                           % (p, k, "null" if v is None else v, comp, node)))
    # Completions before invocations at the same instant keep each process's order.
    events.sort(key=lambda e: (e[0], -e[1]))
    with open(a.out, "w") as f:
        f.write('{"rift_history":1,"seed":%d,"generator":"ci/gen-history.py","ops":%d,"keys":%d,"processes":%d}\n'
                % (a.seed, a.ops, a.keys, a.processes))
        f.write("\n".join(e[2] for e in events))
        f.write("\n")


if __name__ == "__main__":
    main()
