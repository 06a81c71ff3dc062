"""Helpers shared by the Python peer scripts (standard library only)."""

import json
import os
import sys
import time

PERCENTILES = (("p50", 0.50), ("p99", 0.99), ("p99.9", 0.999))


def quantile(sorted_ns, q):
    """The value at quantile q of an ascending list (nearest rank)."""
    if not sorted_ns:
        return 0.0
    i = min(len(sorted_ns) - 1, max(0, int(q * len(sorted_ns) + 0.5) - 1))
    return float(sorted_ns[i])


def latency_runs(rounds, repeats, round_trip):
    """Warm-up then per-repeat percentiles of round_trip() in nanoseconds."""
    for _ in range(rounds):
        round_trip()
    out = {k: [] for k, _ in PERCENTILES}
    now = time.perf_counter_ns
    for _ in range(repeats):
        samples = []
        append = samples.append
        for _ in range(rounds):
            t0 = now()
            round_trip()
            append(now() - t0)
        samples.sort()
        for k, q in PERCENTILES:
            out[k].append(quantile(samples, q))
    return out


def timed_runs(repeats, work, check=None):
    """Warm-up then per-repeat elapsed seconds of work(); check(result), if
    given, runs on what work() returned after the clock stopped (and the
    result is freed after it too)."""

    def once():
        t0 = time.perf_counter()
        result = work()
        took = time.perf_counter() - t0
        if check is not None:
            check(result)
        return took

    once()
    return [once() for _ in range(repeats)]


def fork_start_method():
    """Starts children by fork, as mproc's figures do: Python's default
    differs by version and platform (forkserver from 3.14 on Linux)."""
    import multiprocessing

    multiprocessing.set_start_method("fork", force=True)


class _AfterFork:
    """The object multiprocessing's after-fork registry keys the hook on."""


_AFTER_FORK = _AfterFork()


def children_die_with_parent():
    """Makes every multiprocessing child this script starts ask Linux for
    SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG), as mproc's
    daemon children do: a script killed by the harness, or with it, leaves
    no child behind."""
    import ctypes
    import multiprocessing.util
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return  # not Linux: nothing to ask for

    def hook(_):
        import multiprocessing

        prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
        parent = multiprocessing.parent_process()
        if parent is not None and os.getppid() != parent.pid:
            os._exit(1)  # the parent died before the request

    multiprocessing.util.register_after_fork(_AFTER_FORK, hook)


def emit(obj):
    """Prints the result object as one JSON line."""
    json.dump(obj, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _pin_plan():
    """(harness side CPU, other side CPU) when the harness pins, else None."""
    plan = os.environ.get("MPROC_BENCH_PIN", "")
    if not plan:
        return None
    a, b = plan.split(",")
    return int(a), int(b)


def pin_main():
    """Keeps the script's main process on the harness side's CPU."""
    plan = _pin_plan()
    if plan:
        os.sched_setaffinity(0, {plan[0]})


def pin_other():
    """Moves a child process to the other side's CPU."""
    plan = _pin_plan()
    if plan:
        os.sched_setaffinity(0, {plan[1]})
