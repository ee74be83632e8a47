"""examples/alertmanager.yml: amtool accepts it, routes by severity, and a page inhibits its SLO's ticket."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rig.net import free_port, wait_until
from rules_helpers import ROOT, binary, get_json

CONFIG = ROOT / "examples" / "alertmanager.yml"


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("amtool"), *args], capture_output=True, text=True, check=False)  # noqa: S603


def test_amtool_check_config_accepts_the_example() -> None:
    res = _amtool("check-config", str(CONFIG))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout
    assert " - 3 inhibit rules" in res.stdout


def test_routes_by_severity() -> None:
    for labels, receiver in (
        (["severity=page", "alertname=RegwatchSloBurnPage"], "pager"),
        (["severity=ticket", "alertname=RegwatchSloBurnTicket"], "tickets"),
        (["alertname=SomethingElse"], "tickets"),
    ):
        res = _amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == receiver


def test_a_page_inhibits_the_ticket_of_the_same_slo_only(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "am.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603
        [
            binary("prometheus-alertmanager"), f"--config.file={CONFIG}",
            f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/v2"
    try:

        def up() -> bool:
            try:
                get_json(f"{url}/status")
                return True
            except OSError:
                return False

        wait_until(up, timeout=30, what="alertmanager up")
        now = datetime.now(UTC)

        def alert(name: str, tier: str, slo: str, window: str) -> dict[str, object]:
            return {
                "labels": {"alertname": name, "severity": tier, "tier": tier, "slo": slo, "window": window},
                "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat(),
            }  # fmt: skip

        body = json.dumps([
            alert("RegwatchSloBurnPage", "page", "pull-availability", "1h"),
            alert("RegwatchSloBurnTicket", "ticket", "pull-availability", "1d"),
            alert("RegwatchSloBurnTicket", "ticket", "pull-latency", "1d"),
        ]).encode()  # fmt: skip
        req = urllib.request.Request(f"{url}/alerts", body, {"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).close()  # noqa: S310 - loopback

        def states() -> dict[tuple[str, str], str]:
            return {
                (a["labels"]["alertname"], a["labels"]["slo"]): a["status"]["state"]
                for a in get_json(f"{url}/alerts")
            }

        want = {
            ("RegwatchSloBurnPage", "pull-availability"): "active",
            ("RegwatchSloBurnTicket", "pull-availability"): "suppressed",
            ("RegwatchSloBurnTicket", "pull-latency"): "active",
        }
        wait_until(lambda: states() == want, timeout=30, what=f"alert states {want}")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
