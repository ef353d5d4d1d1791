"""Fetch on threads, write on one: the page pipeline of the customers and groups stages.

A *chain* is a generator of pages that must be applied in order (one cursor sequence). Chains run
on a small thread pool and hand their pages to the calling thread through a bounded queue, so
WeCom's latency overlaps with our database writes while memory stays flat (at most `depth`
pages wait) and only the calling thread touches the database session.
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
        if not chains:
            return
        pages: queue.Queue = queue.Queue(maxsize=self.depth)

        def put(item: tuple) -> None:
            while not self.stop.is_set():
                try:
                    pages.put(item, timeout=0.5)
                    return
                except queue.Full:
                    continue
            raise Stopped()

        def drive(key: str, chain: Iterator[Any]) -> None:
            try:
                for page in chain:
                    put((key, page))
                    if self.stop.is_set():
                        return
                put((key, _DONE))
            except Stopped:
                return
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, who decides
                try:
                    put((key, exc))
                except Stopped:
                    return

        executor = ThreadPoolExecutor(max_workers=min(self.threads, len(chains)), thread_name_prefix="sync")
        try:
            for key, chain in chains.items():
                executor.submit(drive, key, chain)
            running = len(chains)
            while running:
                try:
                    key, item = pages.get_nowait()
                except queue.Empty:
                    on_wait()
                    try:
                        key, item = pages.get(timeout=self.poll_seconds)
                    except queue.Empty:
                        on_idle()
                        continue
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
            executor.shutdown(wait=True, cancel_futures=True)
