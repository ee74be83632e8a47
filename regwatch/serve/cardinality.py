"""Series caps: bound the label sets a metric exports when label values come from untrusted input.

Label values read from logs (repository names, status codes, file names) are chosen by whoever sends
requests to the registry. A metric keeps at most ``max_series`` label sets; the rest have their
untrusted labels replaced by ``catalog.OTHER_LABEL`` and their values merged (summed for counters,
the maximum for gauges). Trusted labels (``registry``, ``region``: they come from the config) are
kept, so ``__other__`` rows stay per registry and region whenever the cap allows it.

Label sets admitted once stay admitted while they exist (stickiness), so a series never flaps
between its own name and ``__other__`` when values change between refreshes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from regwatch import catalog
from regwatch.catalog import OTHER_LABEL, Metric

#: Labels whose values come from logs or other untrusted input, per metric. Metrics not listed
#: have no untrusted label; if one still exceeds its cap, every label is folded.
UNTRUSTED_LABELS: dict[str, tuple[str, ...]] = {
    catalog.LOG_REQUESTS.name: ("route", "code"),
    catalog.LOG_REPO_FAILURES.name: ("repository",),
    catalog.INGEST_LINES.name: ("source",),
    catalog.INGEST_LAG.name: ("source",),
}

#: A label value longer than this is never exported as itself.
MAX_LABEL_VALUE_LENGTH = 256

Labels = tuple[str, ...]


@dataclass(frozen=True)
class Capped:
    """The rows of one metric after capping: label values in the metric's label order."""

    rows: tuple[tuple[Labels, float], ...]
    folded: int  # label sets folded into __other__ this time


def _clean(value: object) -> str:
    text = "" if value is None else str(value)
    return OTHER_LABEL if len(text) > MAX_LABEL_VALUE_LENGTH else text


class SeriesCap:
    """Cap the label sets of metrics at ``max_series`` each, remembering what was admitted before."""

    def __init__(self, max_series: int) -> None:
        if max_series < 1:
            raise ValueError("max_series must be at least 1")
        self.max_series = max_series
        self._admitted: dict[str, set[Labels]] = {}
        self._folded: dict[str, set[Labels]] = {}
        self._lock = threading.Lock()

    def apply(self, metric: Metric, rows: Iterable[tuple[Sequence[object], float]]) -> Capped:
        """Return ``rows`` (label values in ``metric.labels`` order, value) capped and merged.

        Duplicate label sets are merged too. The result is sorted by label values, so two
        refreshes of the same data give the same output.
        """
        merge = max if metric.type == "gauge" else _add
        merged: dict[Labels, float] = {}
        for labels, value in rows:
            key = tuple(_clean(v) for v in labels)
            if len(key) != len(metric.labels):
                raise ValueError(f"{metric.name}: expected labels {metric.labels}, got {len(key)} values")
            merged[key] = merge(merged[key], float(value)) if key in merged else float(value)
        untrusted = UNTRUSTED_LABELS.get(metric.name) or metric.labels
        fold_at = [i for i, name in enumerate(metric.labels) if name in untrusted]

        def fold(key: Labels) -> Labels:
            return tuple(OTHER_LABEL if i in fold_at else v for i, v in enumerate(key))

        with self._lock:
            before = self._admitted.get(metric.name, set())
            # Sticky first, then the biggest values, then by name: deterministic.
            order = sorted(merged, key=lambda k: (k not in before, -merged[k], k))
            keep = _how_many(order, fold, self.max_series)
            if keep is None:  # even the folded keys alone exceed the cap: fold every label
                kept: list[Labels] = []
                overflow = order
                fold_at = list(range(len(metric.labels)))
            else:
                kept, overflow = order[:keep], order[keep:]
            out: dict[Labels, float] = {k: merged[k] for k in kept}
            for k in overflow:
                f = fold(k)
                out[f] = merge(out[f], merged[k]) if f in out else merged[k]
            folded_now = {k for k in overflow if fold(k) != k}
            newly = folded_now - self._folded.get(metric.name, set())
            self._admitted[metric.name] = set(kept)
            self._folded[metric.name] = folded_now
        return Capped(rows=tuple(sorted(out.items())), folded=len(newly))


def _add(a: float, b: float) -> float:
    return a + b


def _how_many(order: list[Labels], fold: Callable[[Labels], Labels], max_series: int) -> int | None:
    """The largest k such that the first k label sets plus the folded rest fit in ``max_series``.

    ``k + distinct(fold(rest))`` never decreases as k grows (admitting one label set removes at
    most one folded key), so a scan from the top finds the largest k that fits.
    """
    n = len(order)
    suffix = [0] * (n + 1)
    seen: set[Labels] = set()
    for i in range(n - 1, -1, -1):
        seen.add(fold(order[i]))
        suffix[i] = len(seen)
    for k in range(n, -1, -1):
        if k + suffix[k] <= max_series:
            return k
    return None
