"""The engine's hook for reading one range of classified requests several times.

Classifying a request (kind, outcome, egress, cache: classify.sql) is a function of its own row, cheap
enough to redo in every scan. The retry rule is not: it compares a pull with the pulls of the same key
before it. ``classified(store, cfg, start, end)`` computes the retry set of ``(start, end]`` once, into
a TEMP table of rowids, and every SLI, SLO and report query given the handle reads its requests
through ``rw_requests_with`` (classify.sql) over that set::

    with classified(store, cfg, start, end) as data:
        rows = compute_slis(store, cfg, start=start, end=end, by="region", per_day=True, data=data)
        statuses = evaluate_slos(store, cfg, at=end, data=data)

A query whose range is not inside ``(start, end]`` computes a retry set of its own: the figures are the
same either way, only the work differs. The handle is valid while the store's requests are unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import duckdb

from regwatch.config import Config
from regwatch.errors import StoreError
from regwatch.slo._sql import install_macros
from regwatch.slo.windows import lookback, microseconds, naive_utc
from regwatch.store import Store

#: The TEMP table holding no retries (classify.sql): for queries that never look at attempts.
NO_RETRIES = "rw_no_retries"

# -- The retry set of (lo, hi]: rowids of the pulls there that are retries (rw_retries, classify.sql).
# -- The table name is an identifier made by this module (rw_retry_set_<n>), never user input.
_CREATE = "CREATE TEMP TABLE {table} AS SELECT rid FROM rw_retries($lookback, $lo, $hi, $retry_us)"
_DROP = "DROP TABLE IF EXISTS {table}"

_serial = itertools.count(1)


@dataclass(frozen=True)
class ClassifiedRequests:
    """The requests of ``(start, end]`` with their retry set computed once (see ``classified``)."""

    store: Store
    start: datetime  # naive UTC
    end: datetime  # naive UTC
    retry_window_seconds: float
    retries: str  # name of the TEMP table of retry rowids (rw_requests_with's first argument)

    def covers(self, store: Store, lo: datetime, hi: datetime, retry_window_seconds: float) -> bool:
        """Whether requests of ``(lo, hi]`` on ``store`` can be read through this handle."""
        return (
            store.conn is self.store.conn
            and self.start <= naive_utc(lo)
            and naive_utc(hi) <= self.end
            and retry_window_seconds == self.retry_window_seconds
        )


def _execute(store: Store, query: str, params: dict[str, object] | None = None) -> None:
    try:
        store.execute(query, params)
    except duckdb.Error as exc:
        raise StoreError(f"{store.path}: classifying requests failed: {exc}") from None


@contextmanager
def classified(store: Store, cfg: Config, start: datetime, end: datetime) -> Iterator[ClassifiedRequests]:
    """Compute the retry set of the requests with ``start < ts <= end`` once; drop it on exit."""
    install_macros(store)
    lo, hi = naive_utc(start), naive_utc(end)
    retry = cfg.sli.retry_window_seconds
    table = f"rw_retry_set_{next(_serial)}"
    params = {"lookback": lookback(lo, retry), "lo": lo, "hi": hi, "retry_us": microseconds(retry)}
    _execute(store, _CREATE.format(table=table), params)
    try:
        yield ClassifiedRequests(store, lo, hi, retry, table)
    finally:
        _execute(store, _DROP.format(table=table))


@contextmanager
def retry_set(
    store: Store, cfg: Config, lo: datetime, hi: datetime, data: ClassifiedRequests | None
) -> Iterator[str]:
    """The name of a retry-set table covering ``(lo, hi]``: ``data``'s when it covers it, else a fresh one."""
    if data is not None and data.covers(store, lo, hi, cfg.sli.retry_window_seconds):
        yield data.retries
        return
    with classified(store, cfg, lo, hi) as own:
        yield own.retries
