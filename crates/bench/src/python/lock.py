"""multiprocessing.Lock: uncontended acquire+release, and two processes
contending for it (each incrementing a shared counter under the lock),

and two processes taking strict turns under it (handoffs).

usage: lock.py (uncontended|contended|handoff) COUNT REPEATS BUDGET

After the warm-up, repeats stop once BUDGET seconds have passed since it
began (at least one is measured), as the harness's own lock cases do.
"""

import multiprocessing as mp
import sys
import time

from common import children_die_with_parent, emit, fork_start_method


def runs_within(repeats, budget, once):
    """once() to warm up, then up to `repeats` more while less than
    `budget` seconds have passed since the warm-up began (at least one);
    what each measured once() returned."""
    start = time.perf_counter()
    once()
    runs = []
    while len(runs) < repeats and (not runs or time.perf_counter() - start < budget):
        runs.append(once())
    return runs


def uncontended(count, repeats, budget):
    lock = mp.Lock()

    def once():
        acquire, release = lock.acquire, lock.release
        t0 = time.perf_counter()
        for _ in range(count):
            acquire()
            release()
        return time.perf_counter() - t0

    runs = runs_within(repeats, budget, once)
    return {"ns_per_op": [t * 1e9 / count for t in runs]}


def hammer(lock, counter, count, start, spans, me):
    start.wait()
    spans[2 * me] = time.perf_counter()
    for _ in range(count):
        with lock:
            counter.value += 1
    spans[2 * me + 1] = time.perf_counter()


def timed_pair(target, args):
    """Runs target(*args, start, spans, me) in two processes, which note
    when they began (past a barrier both wait at) and ended; seconds from
    the earlier start to the later end: starting and joining them is not
    timed."""
    start = mp.Barrier(2)
    spans = mp.Array("d", 4, lock=False)
    procs = [mp.Process(target=target, args=args + (start, spans, me)) for me in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return max(spans[1], spans[3]) - min(spans[0], spans[2])


def contended(count, repeats, budget):
    lock = mp.Lock()
    counter = mp.Value("q", 0, lock=False)

    def work():
        counter.value = 0
        took = timed_pair(hammer, (lock, counter, count))
        if counter.value != 2 * count:
            raise SystemExit("lost updates: %d != %d" % (counter.value, 2 * count))
        return took

    runs = runs_within(repeats, budget, work)
    return {"ns_per_op": [t * 1e9 / (2 * count) for t in runs]}


def take_turns(lock, turn, count, mine, start, spans, me):
    start.wait()
    spans[2 * me] = time.perf_counter()
    taken = 0
    while taken < mine:
        with lock:
            if turn.value == me:
                turn.value = 1 - me
                count.value += 1
                taken += 1
    spans[2 * me + 1] = time.perf_counter()


def handoff(handoffs, repeats, budget):
    lock = mp.Lock()
    turn = mp.Value("q", 0, lock=False)
    count = mp.Value("q", 0, lock=False)
    mine = handoffs // 2

    def work():
        turn.value = 0
        count.value = 0
        took = timed_pair(take_turns, (lock, turn, count, mine))
        if count.value != 2 * mine:
            raise SystemExit("lost turns: %d != %d" % (count.value, 2 * mine))
        return took

    runs = runs_within(repeats, budget, work)
    return {"ns_per_op": [t * 1e9 / (2 * mine) for t in runs]}


def main():
    fork_start_method()
    children_die_with_parent()
    mode, count, repeats, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    if mode == "uncontended":
        emit(uncontended(count, repeats, budget))
    elif mode == "contended":
        emit(contended(count, repeats, budget))
    else:
        emit(handoff(count, repeats, budget))


if __name__ == "__main__":
    main()
