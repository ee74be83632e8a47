"""Render HTML in headless Debian Chromium: a screenshot, and layout measurements taken by a script."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

#: Printable width of an A4 page with the report's 12 mm side margins, in CSS pixels (186 mm at 96 dpi).
A4_PRINTABLE_WIDTH = 703

MEASURE = """
<script>
(function () {
  const root = document.documentElement;
  const width = root.clientWidth;
  const overflowing = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > width + 0.5 || r.left < -0.5)) {
      overflowing.push(el.tagName.toLowerCase() + " " + (el.getAttribute("class") || "") + " right=" + r.right);
    }
  }
  const charts = Array.from(document.querySelectorAll("svg.chart")).map(function (s) {
    const r = s.getBoundingClientRect();
    return {title: s.getAttribute("aria-label"), data: s.querySelectorAll(".datum").length,
            lines: s.querySelectorAll(".series").length, left: r.left, right: r.right, height: r.height};
  });
  const fetches = document.querySelectorAll("[src], link[href], object, iframe, embed").length;
  const out = {clientWidth: width, scrollWidth: root.scrollWidth, bodyScrollWidth: document.body.scrollWidth,
               overflowing: overflowing, charts: charts, fetches: fetches};
  const pre = document.createElement("pre");
  pre.id = "rw-measure";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def chromium_binary() -> str:
    """Path of Debian's chromium; a missing browser fails the test (apt-get install chromium)."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium)", pytrace=False)
    return path


def _run(args: list[str], tmp: Path) -> str:
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    cmd = [chromium_binary(), *FLAGS, f"--user-data-dir={profile}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise AssertionError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def measure(page: str, tmp: Path, width: int = A4_PRINTABLE_WIDTH) -> dict[str, Any]:
    """Load ``page`` at ``width`` CSS pixels and return the measurements of the MEASURE script."""
    path = tmp / "measure.html"
    path.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = _run([f"--window-size={width},1200", "--dump-dom", path.as_uri()], tmp)
    m = re.search(r'<pre id="rw-measure">(.*?)</pre>', dom, re.S)
    assert m, "the measuring script did not run"
    return json.loads(html.unescape(m.group(1)))


def screenshot(page: str, tmp: Path, width: int = A4_PRINTABLE_WIDTH, height: int = 3200) -> Path:
    """Save a screenshot of ``page`` at ``width`` x ``height`` and return the PNG's path."""
    path = tmp / "report.html"
    path.write_text(page, encoding="utf-8")
    png = tmp / "report.png"
    _run([f"--window-size={width},{height}", f"--screenshot={png}", path.as_uri()], tmp)
    return png
