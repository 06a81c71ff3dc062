"""multiprocessing.Pool: per-task overhead of map over trivial tasks, and
start + teardown of a pool.

usage: pool.py map WORKERS TASKS REPEATS
       pool.py start WORKERS STARTS REPEATS
"""

import multiprocessing as mp
import sys

from common import children_die_with_parent, emit, fork_start_method, timed_runs


def identity(x):
    return x


def per_task(workers, tasks, repeats):
    with mp.Pool(workers) as pool:
        items = list(range(tasks))

        def check(got):
            # Outside the timed region, as mproc's side checks its results.
            if got != items:
                raise SystemExit("wrong results")

        runs = timed_runs(repeats, lambda: pool.map(identity, items), check)
    return {"ns_per_task": [t * 1e9 / tasks for t in runs]}


def start_teardown(workers, starts, repeats):
    def work():
        for _ in range(starts):
            pool = mp.Pool(workers)
            pool.close()
            pool.join()

    runs = timed_runs(repeats, work)
    return {"ns_per_pool": [t * 1e9 / starts for t in runs]}


def main():
    fork_start_method()
    children_die_with_parent()
    mode, workers, n, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    emit(per_task(workers, n, repeats) if mode == "map" else start_teardown(workers, n, repeats))


if __name__ == "__main__":
    main()
