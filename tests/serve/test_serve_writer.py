"""The store writer: one open/close per batch, coalesced notifications, orderly stop."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from regwatch.errors import StoreError
from regwatch.serve.writer import StoreWriter, WriterStopped
from regwatch.store import Store, connect


def test_notifications_arriving_together_share_one_batch(tmp_path: Path) -> None:
    stored: list[list[tuple[bytes, str | None, str | None]]] = []
    w = StoreWriter(str(tmp_path / "s.duckdb"), wait_seconds=5, batch_delay=0.3,
                    store_notes=lambda store, notes: stored.append(notes))  # fmt: skip
    w.start()
    for i in range(5):
        w.enqueue_notification(b"%d" % i, "prod", None)
    assert w.stop(10) is True
    assert stored == [[(b"0", "prod", None), (b"1", "prod", None), (b"2", "prod", None),
                       (b"3", "prod", None), (b"4", "prod", None)]]  # fmt: skip
    assert w.batches == 1


def test_calls_return_results_and_exceptions(tmp_path: Path) -> None:
    w = StoreWriter(str(tmp_path / "s.duckdb"), wait_seconds=5)
    w.start()
    assert w.call("version", lambda store: store.schema_version()) == 1
    with pytest.raises(ZeroDivisionError):
        w.call("boom", lambda store: 1 / 0)
    assert w.call("again", lambda store: store.fetchall("SELECT 42")) == [(42,)]
    assert w.stop(10) is True
    with pytest.raises(WriterStopped):
        w.call("late", lambda store: None)


def test_stop_runs_essential_writes_and_cancels_the_rest(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    w = StoreWriter(db, wait_seconds=5)
    w.start()
    entered, release = threading.Event(), threading.Event()

    def slow(store: Store) -> None:
        entered.set()
        release.wait(10)

    busy = w.submit("busy", slow)
    assert entered.wait(10)
    write = w.submit("write", lambda s: s.execute("CREATE TABLE kept AS SELECT 1 AS x"), essential=True)
    refresh = w.submit("refresh", lambda s: s.fetchall("SELECT 1"))
    stopper = threading.Thread(target=w.stop, args=(10,))
    stopper.start()
    release.set()
    stopper.join(10)
    assert busy.result(5) is None
    write.result(5)
    with pytest.raises(WriterStopped, match="refresh: cancelled, serve is stopping"):
        refresh.result(5)
    with connect(db, read_only=True) as store:
        assert store.fetchall("SELECT x FROM kept") == [(1,)]


def test_an_unopenable_store_fails_the_batch_and_reports_dropped_notifications(tmp_path: Path) -> None:
    dropped: list[int] = []

    def locked(path: str, **kw: Any) -> Store:
        raise StoreError(f"{path}: store is locked by another regwatch process (waited 0s)")

    w = StoreWriter(str(tmp_path / "s.duckdb"), wait_seconds=0, connector=locked, batch_delay=0.01,
                    on_dropped=lambda n, exc: dropped.append(n))  # fmt: skip
    w.start()
    w.enqueue_notification(b"{}", None, None)
    with pytest.raises(StoreError, match="store is locked"):
        w.call("probe", lambda store: None, essential=True)
    assert w.stop(10) is True
    assert sum(dropped) == 1
