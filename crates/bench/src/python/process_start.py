"""multiprocessing.Process: start + join of a no-op child, fork or spawn.

usage: process_start.py (fork|spawn) STARTS REPEATS
"""

import multiprocessing as mp
import sys

from common import emit, timed_runs


def noop():
    pass


def main():
    method, starts, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ctx = mp.get_context(method)

    def work():
        for _ in range(starts):
            p = ctx.Process(target=noop)
            p.start()
            p.join()
            if p.exitcode != 0:
                raise SystemExit("child exit code %r" % p.exitcode)

    runs = timed_runs(repeats, work)
    emit({"ns_per_start": [t * 1e9 / starts for t in runs]})


if __name__ == "__main__":
    main()
