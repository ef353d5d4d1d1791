"""Fetch on threads, write on one: the page pipeline of the customers and groups stages.

A *chain* is a generator of pages that must be applied in order (one cursor sequence). Chains run
on a small thread pool and hand their pages to the calling thread through a bounded queue, so
WeCom's latency overlaps with our database writes while memory stays flat (at most `depth`
pages wait) and only the calling thread touches the database session. `run_lanes` does the same
for several sets of chains at once (the customers and groups stages of a full sync).
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_DONE = object()


class Stopped(Exception):
    """The pipeline is shutting down (the caller failed or was killed)."""


class Pipeline:
    def __init__(self, threads: int, *, depth: int | None = None, poll_seconds: float = 2.0) -> None:
        self.threads = max(1, threads)
        self.depth = depth or 2 * self.threads
        self.poll_seconds = poll_seconds
        self.stop = threading.Event()

    def wait(self, seconds: float) -> None:
        """Sleep for the chains' threads: returns early (raising Stopped) when shutting down."""
        if self.stop.wait(seconds):
            raise Stopped()

    def run(self, chains: dict[str, Iterator[Any]], apply: Callable[[str, Any], None], *,
            on_error: Callable[[str, BaseException], None], on_done: Callable[[str], None],
            on_idle: Callable[[], None], on_wait: Callable[[], None]) -> None:
        """Apply every page of every chain, in the calling thread, in each chain's order.

        on_error(key, exc): the chain raised (it is over); re-raise to abort everything.
        on_done(key): the chain ended normally. on_idle(): no page for a while (a heartbeat).
        on_wait(): no page is ready: the calling thread is about to wait for one.
        """
        self.run_lanes([(chains, self.threads)], apply, on_error=on_error, on_done=on_done, on_idle=on_idle,
                       on_wait=on_wait)

    def run_lanes(self, lanes: list[tuple[dict[Any, Iterator[Any]], int]], apply: Callable[[Any, Any], None], *,
                  on_error: Callable[[Any, BaseException], None], on_done: Callable[[Any], None],
                  on_idle: Callable[[], None], on_wait: Callable[[], None]) -> None:
        """`run` for several sets of chains ("lanes", e.g. two stages at once), each with its own
        threads and at most 2 × threads pages waiting; their pages are applied in the calling
        thread as they come (each chain's in order). Keys must differ across lanes."""
        lanes = [(chains, max(1, threads)) for chains, threads in lanes if chains]
        if not lanes:
            return
        pages: queue.Queue = queue.Queue()
        room = [threading.Semaphore(2 * threads if len(lanes) > 1 else self.depth) for _, threads in lanes]

        def put(lane: int, item: tuple) -> None:
            while not self.stop.is_set():
                if room[lane].acquire(timeout=0.5):
                    pages.put((lane, *item))
                    return
            raise Stopped()

        def drive(lane: int, key: Any, chain: Iterator[Any]) -> None:
            try:
                for page in chain:
                    put(lane, (key, page))
                    if self.stop.is_set():
                        return
                put(lane, (key, _DONE))
            except Stopped:
                return
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, who decides
                try:
                    put(lane, (key, exc))
                except Stopped:
                    return

        executors = [ThreadPoolExecutor(max_workers=min(threads, len(chains)), thread_name_prefix="sync")
                     for chains, threads in lanes]
        try:
            running = 0
            for lane, ((chains, _), executor) in enumerate(zip(lanes, executors, strict=True)):
                for key, chain in chains.items():
                    executor.submit(drive, lane, key, chain)
                    running += 1
            while running:
                try:
                    lane, key, item = pages.get_nowait()
                except queue.Empty:
                    on_wait()
                    try:
                        lane, key, item = pages.get(timeout=self.poll_seconds)
                    except queue.Empty:
                        on_idle()
                        continue
                room[lane].release()
                if item is _DONE:
                    running -= 1
                    on_done(key)
                elif isinstance(item, BaseException):
                    running -= 1
                    on_error(key, item)
                else:
                    apply(key, item)
        finally:
            self.stop.set()
            for executor in executors:
                executor.shutdown(wait=True, cancel_futures=True)
