"""Where the chunks run: NumPy here (this process, or worker processes) or a Dask cluster.

Both backends evaluate the same pure function on the same (start, stop)
ranges, so they return identical numbers; only the scheduling differs.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Literal

from cyclodose.errors import CaseError
from cyclodose.population.pta import ChunkSummary

Backend = Literal["numpy", "dask"]
Evaluate = Callable[[Any, int, int], ChunkSummary]
Progress = Callable[[int], None]  # called with the number of individuals just finished
Sink = Callable[[ChunkSummary], None]  # takes each finished chunk (then not kept in the list)
CONNECT_TIMEOUT_S = 20.0  # how long to wait for a remote scheduler before giving up


def default_workers() -> int:
    """Worker processes for the NumPy backend: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _keep_freed_memory() -> None:
    """Worker initialiser (glibc only): let freed NumPy temporaries of up to 256 MB go
    back to the heap for reuse instead of to the kernel. Otherwise every temporary is a
    fresh mmap whose pages the kernel zeroes again: ~10 % of the run as system time.
    Only where memory is kept changes, never a number."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 256 * 2**20)
        libc.mallopt(_M_TRIM_THRESHOLD, 512 * 2**20)
    except (OSError, AttributeError):  # not glibc: keep the defaults
        pass


_M_TRIM_THRESHOLD = -1  # glibc malloc.h
_M_MMAP_THRESHOLD = -3


def _pool(workers: int) -> Executor:
    # The chunk kernel is many NumPy calls on arrays of thousands of elements: threads
    # serialise on the GIL between them, so real parallelism needs processes. fork starts
    # them instantly (the job and the code are inherited); elsewhere fall back to threads.
    if "fork" in multiprocessing.get_all_start_methods():
        return ProcessPoolExecutor(max_workers=workers,
                                   mp_context=multiprocessing.get_context("fork"),
                                   initializer=_keep_freed_memory)
    return ThreadPoolExecutor(max_workers=workers)


def _collector(out: list[ChunkSummary], sink: Sink | None,
               progress: Progress | None) -> Callable[[ChunkSummary], None]:
    def take(chunk: ChunkSummary) -> None:
        if sink is None:
            out.append(chunk)
        else:
            sink(chunk)
        if progress:
            progress(chunk.n)
    return take


def run_numpy(evaluate: Evaluate, job: Any, ranges: list[tuple[int, int]],
              progress: Progress | None = None, workers: int = 1,
              sink: Sink | None = None) -> list[ChunkSummary]:
    """Chunks in this process (workers <= 1) or in `workers` worker processes; the
    same pure function on the same ranges either way, so the numbers are identical.
    With `sink` each finished chunk goes there (while the workers compute the next
    ones) instead of into the returned list."""
    out: list[ChunkSummary] = []
    take = _collector(out, sink, progress)
    if workers <= 1 or len(ranges) <= 1:
        for start, stop in ranges:
            take(evaluate(job, start, stop))
        return out
    with _pool(min(workers, len(ranges))) as pool:
        # A bounded window of chunks in flight keeps memory bounded.
        pending = []
        for start, stop in ranges:
            pending.append(pool.submit(evaluate, job, start, stop))
            if len(pending) >= 2 * workers:
                take(pending.pop(0).result())
        for fut in pending:
            take(fut.result())
    return out


def run_dask(evaluate: Evaluate, job: Any, ranges: list[tuple[int, int]],
             progress: Progress | None = None, scheduler: str | None = None,
             sink: Sink | None = None) -> list[ChunkSummary]:
    """Chunks as tasks on a Dask cluster: `scheduler` (e.g. tcp://host:8786) or a local one."""
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except OSError as exc:
        raise CaseError.single("scheduler", f"cannot reach the Dask scheduler: {exc}") from None
    try:
        job_ref = client.scatter(job, broadcast=True)
        futures = [client.submit(evaluate, job_ref, start, stop, pure=False)
                   for start, stop in ranges]
        out: list[ChunkSummary] = []
        take = _collector(out, sink, progress)
        for fut in as_completed(futures):
            take(fut.result())
            fut.release()
        return out
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
