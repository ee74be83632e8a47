"""Render docs/metrics.md from the metric catalogue (one source for every name)."""

from __future__ import annotations

from regwatch.catalog import CATALOG, OTHER_LABEL, PROBE_REASONS

HEADER = """\
# Metrics reference

Generated from `regwatch/catalog.py` by `make regen`; do not edit by hand. Counters end in `_total`,
durations are in seconds, sizes in bytes, ratios in `[0, 1]` (`promtool check metrics` clean).
Label values that come from logs are capped per metric (`serve.max_series_per_metric`); the rest
fold into `{other}`.

| metric | type | labels | help |
| --- | --- | --- | --- |
"""


def render() -> str:
    """Return the Markdown text of docs/metrics.md."""
    rows = []
    for m in CATALOG:
        labels = ", ".join(f"`{label}`" for label in m.labels) or "-"
        extra = ""
        if m.buckets:
            extra = " Buckets: " + ", ".join(f"{b:g}" for b in m.buckets) + "."
        rows.append(f"| `{m.name}` | {m.type} | {labels} | {m.help}{extra} |")
    reasons = ", ".join(f"`{r}`" for r in PROBE_REASONS)
    return (
        HEADER.format(other=OTHER_LABEL)
        + "\n".join(rows)
        + f"\n\nProbe failure `reason` values (a closed vocabulary): {reasons}.\n"
    )
