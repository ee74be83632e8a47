"""The one thread through which ``serve`` touches the store.

DuckDB lets one process hold a file read-write, and then no other process may even read it. So
``serve`` never keeps the store open: every batch of work opens it, runs, and closes it again,
which lets ``regwatch query``, ``report`` and ``slo`` open it read-only between batches. All of
serve's database work runs on this one thread, so two jobs never race for the file inside the
process either.

Notifications are queued in memory and written together: a POST answers as soon as its body is
queued, and one open/close writes everything that arrived within ``batch_delay`` seconds.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from regwatch.store import Store, connect

log = logging.getLogger("regwatch.serve")


@dataclass
class _Call:
    fn: Callable[[Store], Any]
    future: Future[Any]
    name: str
    essential: bool  # run even when stopping (a write of data already collected)


@dataclass
class _Note:
    body: bytes
    registry: str | None
    region: str | None


@dataclass
class _Stop:
    done: threading.Event = field(default_factory=threading.Event)


class WriterStopped(RuntimeError):
    """Work was submitted after the writer stopped, or was dropped because it was stopping."""


class StoreWriter:
    """Run store work on one thread, opening the store for each batch and closing it after."""

    def __init__(
        self,
        path: str,
        *,
        wait_seconds: float,
        store_notes: Callable[[Store, list[tuple[bytes, str | None, str | None]]], None] | None = None,
        batch_delay: float = 0.2,
        connector: Callable[..., Store] = connect,
        on_dropped: Callable[[int, Exception], None] | None = None,
    ) -> None:
        self.path = path
        self.wait_seconds = wait_seconds
        self.batch_delay = batch_delay
        self._store_notes = store_notes
        self._connect = connector
        self._on_dropped = on_dropped
        self._queue: queue.Queue[_Call | _Note | _Stop] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="regwatch-store-writer", daemon=True)
        self._stopping = threading.Event()
        self.batches = 0  # open/close cycles so far (tests and the benchmark read it)

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def submit(self, name: str, fn: Callable[[Store], Any], *, essential: bool = False) -> Future[Any]:
        """Queue ``fn(store)`` and return a future of its result.

        ``essential`` work still runs when stopping (store results already collected); other
        work queued at stop time is cancelled.
        """
        fut: Future[Any] = Future()
        if self._stopping.is_set():
            fut.set_exception(WriterStopped(f"{name}: the store writer has stopped"))
            return fut
        self._queue.put(_Call(fn, fut, name, essential))
        return fut

    def call(self, name: str, fn: Callable[[Store], Any], *, essential: bool = False) -> Any:
        """Run ``fn(store)`` on the writer thread and wait for its result (or its exception)."""
        return self.submit(name, fn, essential=essential).result()

    def enqueue_notification(self, body: bytes, registry: str | None, region: str | None) -> None:
        """Queue one notification envelope for the next batch."""
        if self._stopping.is_set():
            raise WriterStopped("the store writer has stopped")
        self._queue.put(_Note(body, registry, region))

    def pending(self) -> int:
        """Items waiting in the queue."""
        return self._queue.qsize()

    def stop(self, timeout: float | None = None) -> bool:
        """Finish the batch in progress and queued writes, then stop; False if ``timeout`` ran out."""
        self._stopping.set()
        if not self._thread.is_alive():
            return True
        stop = _Stop()
        self._queue.put(stop)
        return stop.done.wait(timeout)

    # -- the thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batch: list[_Call | _Note | _Stop] = [first]
            if isinstance(first, _Note) and not self._stopping.is_set():
                # Coalesce: whatever else arrives shortly goes into the same open/close.
                deadline = time.monotonic() + self.batch_delay
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        item = self._queue.get(timeout=left)
                    except queue.Empty:
                        break
                    batch.append(item)
                    if not isinstance(item, _Note):
                        break
            while True:  # and whatever is already waiting
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = next((b for b in batch if isinstance(b, _Stop)), None)
            self._process([b for b in batch if not isinstance(b, _Stop)], stopping=stop is not None)
            if stop is not None:
                self._drain_after_stop()
                stop.done.set()
                return

    def _drain_after_stop(self) -> None:
        rest: list[_Call | _Note | _Stop] = []
        while True:
            try:
                rest.append(self._queue.get_nowait())
            except queue.Empty:
                break
        self._process([b for b in rest if not isinstance(b, _Stop)], stopping=True)

    def _process(self, items: list[_Call | _Note], *, stopping: bool) -> None:
        calls = [i for i in items if isinstance(i, _Call)]
        notes = [i for i in items if isinstance(i, _Note)]
        if stopping:
            for c in calls:
                if not c.essential:
                    c.future.set_exception(WriterStopped(f"{c.name}: cancelled, serve is stopping"))
            calls = [c for c in calls if c.essential]
        calls = [c for c in calls if c.future.set_running_or_notify_cancel()]
        if not calls and not notes:
            return
        try:
            store = self._connect(self.path, wait_seconds=self.wait_seconds)
        except Exception as exc:  # noqa: BLE001 - reported through every future of the batch
            for c in calls:
                c.future.set_exception(exc)
            if notes:
                log.error("store: dropping %d notification envelope(s): %s", len(notes), exc)
                if self._on_dropped is not None:
                    self._on_dropped(len(notes), exc)
            return
        self.batches += 1
        try:
            if notes and self._store_notes is not None:
                try:
                    self._store_notes(store, [(n.body, n.registry, n.region) for n in notes])
                except Exception as exc:  # noqa: BLE001 - never lose the rest of the batch
                    log.error("store: writing %d notification envelope(s) failed: %s", len(notes), exc)
            for c in calls:
                try:
                    c.future.set_result(c.fn(store))
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting job
                    c.future.set_exception(exc)
        finally:
            store.close()
