"""multiprocessing.Pipe and Queue: ping-pong round trips and one-way throughput.

usage: pipe_queue.py pingpong (pipe|queue) ROUNDS REPEATS
       pipe_queue.py throughput (pipe|queue) SIZE COUNT REPEATS CAPACITY
       pipe_queue.py mpmc SIZE COUNT REPEATS CAPACITY
"""

import multiprocessing as mp
import sys

from common import children_die_with_parent, emit, fork_start_method, latency_runs, pin_main, pin_other, timed_runs


def pong_pipe(conn):
    pin_other()
    while True:
        msg = conn.recv_bytes()
        if not msg:
            return
        conn.send_bytes(msg)


def pong_queue(inq, outq):
    pin_other()
    while True:
        msg = inq.get()
        if not msg:
            return
        outq.put(msg)


def pingpong(kind, rounds, repeats):
    msg = b"\x01" * 8
    if kind == "pipe":
        mine, theirs = mp.Pipe()
        child = mp.Process(target=pong_pipe, args=(theirs,))
        child.start()

        def round_trip():
            mine.send_bytes(msg)
            mine.recv_bytes()

        out = latency_runs(rounds, repeats, round_trip)
        mine.send_bytes(b"")
    else:
        inq, outq = mp.Queue(), mp.Queue()
        child = mp.Process(target=pong_queue, args=(inq, outq))
        child.start()

        def round_trip():
            inq.put(msg)
            outq.get()

        out = latency_runs(rounds, repeats, round_trip)
        inq.put(b"")
    child.join()
    return out


def sink_pipe(conn, done, count, rounds):
    pin_other()
    for _ in range(rounds):
        for _ in range(count):
            conn.recv_bytes()
        done.send_bytes(b"k")


def sink_queue(q, done, count, rounds):
    pin_other()
    for _ in range(rounds):
        for _ in range(count):
            q.get()
        done.send_bytes(b"k")


def throughput(kind, size, count, repeats, capacity):
    msg = b"\x01" * size
    done_r, done_w = mp.Pipe(duplex=False)
    if kind == "pipe":
        recv_end, send_end = mp.Pipe(duplex=False)
        child = mp.Process(target=sink_pipe, args=(recv_end, done_w, count, repeats + 1))
        child.start()
        send = send_end.send_bytes
    else:
        q = mp.Queue(maxsize=capacity)
        child = mp.Process(target=sink_queue, args=(q, done_w, count, repeats + 1))
        child.start()
        send = q.put

    def work():
        for _ in range(count):
            send(msg)
        done_r.recv_bytes()

    runs = timed_runs(repeats, work)
    child.join()
    return {"per_second": [count / max(t, 1e-9) for t in runs]}


def mpmc_producer(q, msg, count, barrier):
    barrier.wait()
    for _ in range(count):
        q.put(msg)
    q.put(b"")


def mpmc_consumer(q, barrier, done):
    barrier.wait()
    while q.get():
        pass
    done.put(1)


def mpmc(size, count, repeats, capacity):
    """2 producer and 2 consumer processes share one Queue; count in all."""
    msg = b"\x01" * size
    import time

    def once():
        q, done = mp.Queue(maxsize=capacity), mp.Queue()
        barrier = mp.Barrier(5)
        procs = [mp.Process(target=mpmc_producer, args=(q, msg, count // 2, barrier)) for _ in range(2)]
        procs += [mp.Process(target=mpmc_consumer, args=(q, barrier, done)) for _ in range(2)]
        for p in procs:
            p.start()
        barrier.wait()
        t0 = time.perf_counter()
        done.get()
        done.get()
        took = time.perf_counter() - t0
        for p in procs:
            p.join()
        return took

    once()
    runs = [once() for _ in range(repeats)]
    return {"per_second": [(count // 2 * 2) / max(t, 1e-9) for t in runs]}


def main():
    fork_start_method()
    children_die_with_parent()
    pin_main()
    mode, kind = sys.argv[1], sys.argv[2]
    if mode == "mpmc":
        size, count, repeats, capacity = (int(x) for x in sys.argv[2:6])
        emit(mpmc(size, count, repeats, capacity))
        return
    if mode == "pingpong":
        emit(pingpong(kind, int(sys.argv[3]), int(sys.argv[4])))
    else:
        size, count, repeats, capacity = (int(x) for x in sys.argv[3:7])
        emit(throughput(kind, size, count, repeats, capacity))


if __name__ == "__main__":
    main()
