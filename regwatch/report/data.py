"""Gather the figures of the weekly report from the store.

SLO figures, per-region and per-day SLIs, egress and cost come from the SLO engine (``regwatch.slo``),
so every definition is the one of docs/slis.md. Incidents, top repositories and probe coverage are
SQL of their own (``regwatch.report.sql``) over the engine's classification macros and SLO events.
The retry rule, the one costly part of classifying requests, is computed once for the whole range the
report reads (``regwatch.slo.classified``) and every figure reads it.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import duckdb

from regwatch.catalog import BURN_POLICY
from regwatch.config import Config
from regwatch.errors import StoreError, UsageError
from regwatch.report import sql
from regwatch.slo import ClassifiedRequests, classified, compute_slis, evaluate_slos
from regwatch.slo._sql import install_macros
from regwatch.slo.burn import budget_fraction
from regwatch.slo.classified import NO_RETRIES, retry_set
from regwatch.slo.evaluate import event_params, min_events, needs_retries, slo_range
from regwatch.slo.windows import naive_utc
from regwatch.store import Store
from regwatch.timeutil import iso_week_range, parse_duration

#: Rows in the "top repositories" tables.
TOP_N = 10
#: Longest period drawn day by day (longer ones are refused: the charts would be unreadable).
MAX_DAYS = 93
MINUTE = timedelta(minutes=1)
GIB = 1 << 30
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """The reported range ``(start, end]`` (naive UTC), its label and the period before it."""

    start: datetime
    end: datetime
    label: str

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one."""
        length = self.end - self.start
        return Period(self.start - length, self.start, "previous period")

    def days(self) -> list[tuple[datetime, datetime]]:
        """The UTC days overlapping the period, each clipped to it, as ``(lo, hi]`` pairs."""
        out = []
        day = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < self.end:
            out.append((max(day, self.start), min(day + DAY, self.end)))
            day += DAY
        return out


def week_period(week: str) -> Period:
    """The period of an ISO week like ``2026-W47`` (UTC Monday 00:00 to the next Monday)."""
    try:
        start, end = iso_week_range(week)
    except ValueError as exc:
        raise UsageError(f"--week: {exc}") from None
    return Period(naive_utc(start), naive_utc(end), week.strip())


def range_period(start: datetime, end: datetime) -> Period:
    """The period between two times; refuses empty or overlong ranges."""
    lo, hi = naive_utc(start), naive_utc(end)
    if lo >= hi:
        raise UsageError("--from must be before --to")
    if hi - lo > timedelta(days=MAX_DAYS):
        raise UsageError(f"the period is longer than {MAX_DAYS} days; report a shorter one")
    label = f"{_fmt_time(lo)} to {_fmt_time(hi)}"
    return Period(lo, hi, label)


def _fmt_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%d") if t.time() == datetime.min.time() else t.strftime("%Y-%m-%d %H:%MZ")


def _fetch(store: Store, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return store.fetch_dicts(query, params)
    except duckdb.Error as exc:
        raise StoreError(f"{store.path}: report query failed: {exc}") from None


def _change(now: float | None, before: float | None) -> float | None:
    """Relative change ``now / before - 1``; None when there is nothing to compare with."""
    if now is None or before is None or before == 0:
        return None
    return now / before - 1


def slo_table(
    store: Store, cfg: Config, period: Period, data: ClassifiedRequests | None = None
) -> list[dict[str, Any]]:
    """Every SLO at the end of the period, with its change since the end of the previous one."""
    now = evaluate_slos(store, cfg, at=period.end, data=data)
    before = {s.slo: s for s in evaluate_slos(store, cfg, at=period.start, data=data)}
    rows = []
    for status in now:
        prev = before[status.slo]
        d = status.to_dict()
        d["previous_sli_value"] = prev.sli_value
        d["previous_budget_remaining_ratio"] = prev.error_budget_remaining_ratio
        d["budget_change"] = (
            None
            if status.error_budget_remaining_ratio is None or prev.error_budget_remaining_ratio is None
            else status.error_budget_remaining_ratio - prev.error_budget_remaining_ratio
        )
        rows.append(d)
    return rows


def daily(
    store: Store,
    cfg: Config,
    period: Period,
    source: Literal["logs", "probes"],
    data: ClassifiedRequests | None = None,
) -> dict[str, Any]:
    """Per-day, per-region SLIs: ``{"days": [...], "regions": [...], "cells": {(region, day): row}}``."""
    days = period.days()
    index = {_midnight(lo): i for i, (lo, _) in enumerate(days)}
    cells: dict[tuple[str, int], dict[str, Any]] = {}
    regions: list[str] = []
    rows = compute_slis(
        store, cfg, start=period.start, end=period.end, by="region", source=source, per_day=True, data=data
    )
    for row in rows:
        i = index[row.pop("day")]
        name = region_name(row)
        if name not in regions:
            regions.append(name)
        cells[(name, i)] = row
    return {"days": [lo for lo, _ in days], "regions": ordered_regions(cfg, regions), "cells": cells}


def _midnight(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def region_name(row: dict[str, Any]) -> str:
    """The key of a region in the report: ``registry/region`` (shortened for display when one registry)."""
    return f"{row['registry']}/{row['region']}"


def ordered_regions(cfg: Config, names: list[str]) -> list[str]:
    """``names`` in config order (registry, then region), the ones not in the config after them, sorted."""
    configured = [f"{reg.name}/{g.name}" for reg in cfg.registries for g in reg.regions]
    return [n for n in configured if n in names] + sorted(n for n in names if n not in configured)


def egress(
    store: Store,
    cfg: Config,
    period: Period,
    days: dict[str, Any] | None = None,
    data: ClassifiedRequests | None = None,
) -> dict[str, Any]:
    """Egress, egress per pull and cost per region and in total, with the change from the previous period.

    ``days`` (the ``daily(..., "logs")`` block of the same period) saves a pass: the period's counts,
    bytes and costs are the sums of its days'.
    """
    prev = period.previous
    before = {
        region_name(r): r
        for r in compute_slis(store, cfg, start=prev.start, end=prev.end, by="region", data=data)
    }
    if days is None:
        rows_now = compute_slis(store, cfg, start=period.start, end=period.end, by="region", data=data)
        now = {region_name(r): r for r in rows_now}
    else:
        now = {
            name: _sum_regions([c for (n, _), c in days["cells"].items() if n == name])
            for name in days["regions"]
        }
    rows = [_egress_row(name, now[name], before.get(name, {})) for name in ordered_regions(cfg, list(now))]
    total = _sum_regions(list(now.values()))
    total_prev = _sum_regions(list(before.values())) if before else {}
    return {"regions": rows, "total": _egress_row("total", total, total_prev)}


def _sum_regions(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Add up counts, bytes and costs of SLI rows (per pull is egress over good pulls, as in sli_logs.sql)."""
    pulls = sum(r["pulls_good"] for r in rows)
    egress_bytes = sum(r["egress_bytes"] for r in rows)
    return {
        "pulls_good": pulls,
        "egress_bytes": egress_bytes,
        "egress_bytes_per_pull": egress_bytes / pulls if pulls else None,
        "egress_cost_usd": sum(r["egress_cost_usd"] for r in rows),
    }


def _egress_row(name: str, r: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    return {
        "region": name,
        "pulls": r["pulls_good"],
        "egress_bytes": r["egress_bytes"],
        "egress_bytes_per_pull": r["egress_bytes_per_pull"],
        "egress_cost_usd": r["egress_cost_usd"],
        "previous_egress_bytes": p.get("egress_bytes"),
        "previous_egress_cost_usd": p.get("egress_cost_usd"),
        "egress_change": _change(r["egress_bytes"], p.get("egress_bytes")),
        "egress_per_pull_change": _change(r["egress_bytes_per_pull"], p.get("egress_bytes_per_pull")),
        "cost_change": _change(r["egress_cost_usd"], p.get("egress_cost_usd")),
    }


def top_repositories(store: Store, cfg: Config, period: Period) -> dict[str, list[dict[str, Any]]]:
    """The repositories with the most egress and with the most bad pulls in the period."""
    install_macros(store)
    repos: dict[tuple[str, str], dict[str, Any]] = {}
    for r in _fetch(store, sql.REPOSITORIES, {"lo": period.start, "hi": period.end}):
        row = repos.setdefault(
            (r["registry"], r["repository"]),
            {"registry": r["registry"], "repository": r["repository"], "egress_bytes": 0, "pulls_good": 0,
             "pulls_bad": 0, "egress_cost_usd": 0.0},
        )  # fmt: skip
        row["egress_bytes"] += r["egress_bytes"]
        row["pulls_good"] += r["pulls_good"]
        row["pulls_bad"] += r["pulls_bad"]
        row["egress_cost_usd"] += r["egress_bytes"] * cfg.egress.price(r["region"]) / GIB
    rows = list(repos.values())
    for row in rows:
        good, bad = row["pulls_good"], row["pulls_bad"]
        row["egress_bytes_per_pull"] = row["egress_bytes"] / good if good else None
        row["pull_success_ratio"] = good / (good + bad) if good + bad else None
    by_egress = sorted(
        (r for r in rows if r["egress_bytes"]),
        key=lambda r: (-r["egress_bytes"], r["registry"], r["repository"]),
    )
    by_failures = sorted(
        (r for r in rows if r["pulls_bad"]), key=lambda r: (-r["pulls_bad"], r["registry"], r["repository"])
    )
    return {"egress": by_egress[:TOP_N], "failures": by_failures[:TOP_N]}


def probe_coverage(store: Store, cfg: Config, period: Period) -> dict[str, Any]:
    """Pull probes per region x auth path: configured cells without a probe show as gaps."""
    found = _fetch(store, sql.PROBE_COVERAGE, {"lo": period.start, "hi": period.end})
    cells = {(f"{r['registry']}/{r['region']}", r["auth_path"]): r for r in found}
    configured_regions = [f"{reg.name}/{g.name}" for reg in cfg.registries for g in reg.regions]
    regions = ordered_regions(cfg, list(dict.fromkeys(configured_regions + [region for region, _ in cells])))
    auth_paths = [a.name for reg in cfg.registries for a in reg.auth_paths]
    auth_paths = list(dict.fromkeys(auth_paths + sorted({auth for _, auth in cells} - set(auth_paths))))
    configured = {
        (f"{reg.name}/{g.name}", a.name)
        for reg in cfg.registries
        for g in reg.regions
        for a in reg.auth_paths
    }
    return {"regions": regions, "auth_paths": auth_paths, "cells": cells, "configured": configured}


def _policy_minutes() -> tuple[list[int], list[int], list[float]]:
    conds = BURN_POLICY["page"]
    return (
        [round(parse_duration(c.long) / 60) for c in conds],
        [round(parse_duration(c.short) / 60) for c in conds],
        [c.factor for c in conds],
    )


def incidents(
    store: Store, cfg: Config, period: Period, data: ClassifiedRequests | None = None
) -> list[dict[str, Any]]:
    """Time ranges where an SLO's page-level burn (catalog.BURN_POLICY["page"]) was exceeded."""
    longs, shorts, factors = _policy_minutes()
    first_t = _floor_minute(period.start) + MINUTE
    hi = _floor_minute(period.end)
    if first_t > hi:
        return []
    lo = first_t - MINUTE * max(longs)
    install_macros(store)
    out = []
    for slo in cfg.slos:
        params = {
            **event_params(slo),
            "lo": lo,
            "hi": hi,
            "first_t": first_t,
            "long_minutes": longs,
            "short_minutes": shorts,
            "factors": factors,
            "budget": budget_fraction(slo.objective),
            "min_events": min_events(cfg, slo),
        }
        if slo.source == "logs":
            retries = retry_set(store, cfg, lo, hi, data) if needs_retries(slo) else nullcontext(NO_RETRIES)
            with retries as name:
                rows = _fetch(
                    store, sql.INCIDENTS_LOGS, _only(sql.INCIDENTS_LOGS, {**params, "retries": name})
                )
        else:
            rows = _fetch(store, sql.INCIDENTS_PROBES, _only(sql.INCIDENTS_PROBES, params))
        for r in rows:
            out.append(
                {
                    "slo": slo.name,
                    "sli": slo.sli,
                    "source": slo.source,
                    **r,
                    "top_codes": r["top_codes"] or [],
                }
            )
    out.sort(key=lambda r: (r["start"], r["slo"]))
    return out


def _only(query: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``query`` uses (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if f"${k}" in query}


def _floor_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def read_range(cfg: Config, period: Period) -> tuple[datetime, datetime]:
    """The range whose retry rule the report needs: both periods, and for first-attempt SLOs from logs
    their windows at both ends of the period and the incidents' burn lookback."""
    longest_burn = timedelta(minutes=max(_policy_minutes()[0]))
    starts = [period.previous.start]
    for slo in cfg.slos:
        if needs_retries(slo):
            starts += [slo_range(slo, period.start)[0], _floor_minute(period.start) + MINUTE - longest_burn]
    return min(starts), period.end


def gather(store: Store, cfg: Config, period: Period) -> dict[str, Any]:
    """Collect every figure of the report for ``period`` into one dict (the templates' context)."""
    presence = _fetch(store, sql.PRESENCE, {"lo": period.start, "hi": period.end})[0]
    registries = {r.name for r in cfg.registries} | {
        r["registry"] for r in _fetch(store, sql.REGISTRIES, {"lo": period.start, "hi": period.end})
    }
    report: dict[str, Any] = {
        "registries": sorted(registries),
        "period": period,
        "previous": period.previous,
        "presence": presence,
        "has_data": bool(presence["requests"] or presence["probes"]),
        "has_logs": bool(presence["requests"]),
        "has_probes": bool(presence["probes"]),
    }
    if not report["has_data"]:
        return report
    # the retry rule of every request the report reads, computed once (only logs have retries)
    once = classified(store, cfg, *read_range(cfg, period)) if report["has_logs"] else nullcontext(None)
    with once as data:
        report["slos"] = slo_table(store, cfg, period, data)
        report["incidents"] = incidents(store, cfg, period, data)
        sources: tuple[tuple[Literal["logs", "probes"], bool], ...] = (
            ("logs", report["has_logs"]),
            ("probes", report["has_probes"]),
        )
        report["daily"] = {
            source: daily(store, cfg, period, source, data) for source, present in sources if present
        }
        report["egress"] = (
            egress(store, cfg, period, report["daily"]["logs"], data) if report["has_logs"] else None
        )
    report["top_repositories"] = top_repositories(store, cfg, period) if report["has_logs"] else None
    report["probe_coverage"] = probe_coverage(store, cfg, period) if report["has_probes"] else None
    return report
