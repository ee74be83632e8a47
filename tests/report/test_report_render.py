"""The rendered report: Markdown golden file, HTML in headless Chromium, and the CLI.

Regenerate the golden file after an intended change with
``REGWATCH_REGEN=1 .venv/bin/python -m pytest tests/report -k golden`` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from report.browser import A4_PRINTABLE_WIDTH, measure, screenshot
from report.fixture_data import WEEK

from regwatch.cli import cli
from regwatch.config import Config
from regwatch.report import render_report, week_period
from regwatch.store import connect

GOLDEN = Path(__file__).parents[1] / "fixtures" / "report" / "week-2026-W47.md"


@pytest.fixture(scope="module")
def pages(report_db: str, report_cfg: Config) -> dict[str, str]:
    with connect(report_db, read_only=True) as store:
        period = week_period(WEEK)
        return {fmt: render_report(store, report_cfg, period, fmt) for fmt in ("html", "md")}


def test_markdown_matches_the_golden_file(pages: dict[str, str]) -> None:
    if os.environ.get("REGWATCH_REGEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(pages["md"], encoding="utf-8")
    assert pages["md"] == GOLDEN.read_text(encoding="utf-8"), (
        "report Markdown changed: REGWATCH_REGEN=1 pytest tests/report -k golden"
    )


def test_html_is_self_contained(pages: dict[str, str]) -> None:
    page = pages["html"]
    # the only URL is the SVG namespace, which is never fetched
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(script|link|img|iframe|object)\b|@import|url\(", page)
    assert "@page { size: A4 portrait" in page and "@media print" in page
    assert page.count('<svg class="chart"') == 5  # 2 log charts, 2 probe charts, auth failures


def test_html_in_chromium_has_data_in_every_chart_and_fits_the_page(
    pages: dict[str, str], tmp_path: Path
) -> None:
    m = measure(pages["html"], tmp_path, width=A4_PRINTABLE_WIDTH)
    assert m["fetches"] == 0
    assert m["scrollWidth"] <= m["clientWidth"] and m["bodyScrollWidth"] <= m["clientWidth"], m
    assert m["overflowing"] == [], m["overflowing"]
    titles = [c["title"] for c in m["charts"]]
    assert titles == [
        "Pull success per day, registry logs (real clients)",
        "p95 manifest latency per day, registry logs (real clients)",
        "Pull success per day, probes (canary pulls)",
        "p95 manifest latency per day, probes (canary pulls)",
        "Auth failures (401 and 403) per day, registry logs",
    ]
    for c in m["charts"]:
        assert c["data"] == 14 and c["lines"] == 2, c  # 2 regions x 7 days, one line per region
        assert c["left"] >= 0 and c["right"] <= m["clientWidth"] and c["height"] > 100, c
    png = screenshot(pages["html"], tmp_path)
    assert png.stat().st_size > 20_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_fits_a_narrow_window_too(pages: dict[str, str], tmp_path: Path) -> None:
    m = measure(pages["html"], tmp_path, width=480)
    assert m["scrollWidth"] <= m["clientWidth"] and m["overflowing"] == [], m


def test_cli_writes_html_and_markdown(
    report_db: str, config_file: str, tmp_path: Path, pages: dict[str, str]
) -> None:
    runner = CliRunner()
    out = tmp_path / "week.md"
    result = runner.invoke(
        cli, ["--config", config_file, "--db", report_db, "report", "--week", WEEK, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == pages["md"]  # format taken from the extension
    result = runner.invoke(cli, ["--config", config_file, "--db", report_db, "report", "--week", WEEK])
    assert result.exit_code == 0 and result.stdout == pages["html"]
    result = runner.invoke(
        cli,
        ["--config", config_file, "--db", report_db, "report", "--from", "2026-11-16", "--to", "2026-11-23",
         "--format", "md"],
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout == pages["md"].replace(f"report: {WEEK}", "report: 2026-11-16 to 2026-11-23")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", WEEK, "--from", "2026-11-16"], "give --week or --from/--to, not both"),
        (["--from", "2026-11-16"], "--from and --to go together"),
        (["--week", "2026-W99"], "--week: no such ISO week: '2026-W99'"),
        (["--from", "2026-11-16", "--to", "2026-11-15"], "--from must be before --to"),
    ],
)
def test_cli_usage_errors_exit_2(report_db: str, config_file: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["--config", config_file, "--db", report_db, "report", *args])
    assert result.exit_code == 2
    assert result.stderr == f"regwatch: error: {message}\n"


def test_cli_opens_the_store_read_only(tmp_path: Path, config_file: str) -> None:
    missing = tmp_path / "none.duckdb"
    result = CliRunner().invoke(
        cli, ["--config", config_file, "--db", str(missing), "report", "--week", WEEK]
    )
    assert result.exit_code == 1 and "no store here yet" in result.stderr
    assert not missing.exists()  # a reader never creates the store
