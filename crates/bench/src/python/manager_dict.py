"""multiprocessing.Manager().dict(): insert, get and update throughput from
one process, and from two processes each working on half of the keys.

usage: manager_dict.py (one|two) KEYS REPEATS
Keys are 8-byte strings, values 8-byte bytes objects.
"""

import multiprocessing as mp
import sys
import time

from common import children_die_with_parent, emit, fork_start_method


def key(i):
    return "k%07d" % i


def phases(d, lo, hi):
    """Seconds spent in insert, get, update over keys lo..hi."""
    value = b"\x01" * 8
    newer = b"\x02" * 8
    t0 = time.perf_counter()
    for i in range(lo, hi):
        d[key(i)] = value
    t1 = time.perf_counter()
    for i in range(lo, hi):
        if d[key(i)] != value:
            raise SystemExit("wrong value")
    t2 = time.perf_counter()
    for i in range(lo, hi):
        d[key(i)] = newer
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def worker(d, lo, hi, barrier, out):
    barrier.wait()
    out.put(phases(d, lo, hi))


def run_two(d, keys):
    barrier = mp.Barrier(2)
    out = mp.Queue()
    half = keys // 2
    procs = [
        mp.Process(target=worker, args=(d, 0, half, barrier, out)),
        mp.Process(target=worker, args=(d, half, 2 * half, barrier, out)),
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    # Two processes work at once: a phase lasts as long as its slower side.
    return tuple(max(r[i] for r in results) for i in range(3)), 2 * half


def main():
    fork_start_method()
    children_die_with_parent()
    mode, keys, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out = {"insert": [], "get": [], "update": []}
    with mp.Manager() as manager:
        for r in range(repeats + 1):
            d = manager.dict()
            if mode == "one":
                times, n = phases(d, 0, keys), keys
            else:
                times, n = run_two(d, keys)
            if r == 0:
                continue  # warm-up
            for name, t in zip(("insert", "get", "update"), times):
                out[name].append(n / max(t, 1e-9))
    emit(out)


if __name__ == "__main__":
    main()
