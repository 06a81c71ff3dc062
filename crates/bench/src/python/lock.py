"""multiprocessing.Lock: uncontended acquire+release, and two processes
contending for it (each incrementing a shared counter under the lock),

and two processes taking strict turns under it (handoffs).

usage: lock.py (uncontended|contended|handoff) COUNT REPEATS
"""

import multiprocessing as mp
import sys
import time

from common import emit, timed_runs, fork_start_method


def uncontended(count, repeats):
    lock = mp.Lock()

    def work():
        acquire, release = lock.acquire, lock.release
        for _ in range(count):
            acquire()
            release()

    runs = timed_runs(repeats, work)
    return {"ns_per_op": [t * 1e9 / count for t in runs]}


def hammer(lock, counter, count, start, ends, me):
    start.wait()
    for _ in range(count):
        with lock:
            counter.value += 1
    ends[me] = time.perf_counter()


def timed_pair(target, args):
    """Runs target(*args, start, ends, me) in two processes; seconds from
    the moment both were ready (a barrier with the parent) to the end of
    the later one: starting and joining them is not timed."""
    start = mp.Barrier(3)
    ends = mp.Array("d", 2, lock=False)
    procs = [mp.Process(target=target, args=args + (start, ends, me)) for me in range(2)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    for p in procs:
        p.join()
    return max(ends) - t0


def contended(count, repeats):
    lock = mp.Lock()
    counter = mp.Value("q", 0, lock=False)

    def work():
        counter.value = 0
        took = timed_pair(hammer, (lock, counter, count))
        if counter.value != 2 * count:
            raise SystemExit("lost updates: %d != %d" % (counter.value, 2 * count))
        return took

    work()
    runs = [work() for _ in range(repeats)]
    return {"ns_per_op": [t * 1e9 / (2 * count) for t in runs]}


def take_turns(lock, turn, count, mine, start, ends, me):
    start.wait()
    taken = 0
    while taken < mine:
        with lock:
            if turn.value == me:
                turn.value = 1 - me
                count.value += 1
                taken += 1
    ends[me] = time.perf_counter()


def handoff(handoffs, repeats):
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

    work()
    runs = [work() for _ in range(repeats)]
    return {"ns_per_op": [t * 1e9 / (2 * mine) for t in runs]}


def main():
    fork_start_method()
    mode, count, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if mode == "uncontended":
        emit(uncontended(count, repeats))
    elif mode == "contended":
        emit(contended(count, repeats))
    else:
        emit(handoff(count, repeats))


if __name__ == "__main__":
    main()
