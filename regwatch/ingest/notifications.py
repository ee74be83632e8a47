"""Store distribution notification envelopes posted to ``serve`` (``POST /v1/notifications``)."""

from __future__ import annotations

import json

from regwatch.errors import IngestError
from regwatch.ingest.formats import notifications as fmt
from regwatch.ingest.formats import sql_statements
from regwatch.store import Store, transaction

MAX_ENVELOPE = 16 * 1024 * 1024


def store_envelope(
    store: Store, body: bytes, *, registry: str | None = None, region: str | None = None,
    source: str = "notifications",
) -> int:  # fmt: skip
    """Store one envelope's events in ``audit_events`` (an event id already stored is skipped).

    Returns the number of events stored. Raises IngestError when the body is not an envelope.
    """
    if len(body) > MAX_ENVELOPE:
        raise IngestError(f"{source}: envelope of {len(body)} bytes is larger than {MAX_ENVELOPE}")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IngestError(f"{source}: not a JSON notification envelope: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
        raise IngestError(f'{source}: not a notification envelope (no "events" list)')
    for i, ev in enumerate(doc["events"]):
        if not isinstance(ev, dict) or not all(
            isinstance(ev.get(k), str) for k in ("id", "timestamp", "action")
        ):
            raise IngestError(f"{source}: events[{i}]: needs string id, timestamp and action")
    conn = store.conn
    for stmt in sql_statements("macros"):
        conn.execute(stmt)
    with transaction(
        conn,
        temp_tables=("rw_envelope", "rw_n", "rw_ev", "rw_rows", "rw_rejects", "rw_consumed"),
        temp_views=("rw_raw",),
    ):
        conn.execute("CREATE OR REPLACE TEMP TABLE rw_envelope (line BIGINT, raw VARCHAR)")
        conn.execute("INSERT INTO rw_envelope VALUES (1, ?)", [json.dumps(doc)])
        conn.execute("CREATE OR REPLACE TEMP VIEW rw_raw AS SELECT line, raw FROM rw_envelope")
        fmt.run(conn, registry=registry, region=region, source=source, carry=None, options={})
        bad = conn.execute("SELECT count(*) FROM rw_rows WHERE ts IS NULL").fetchone()
        if bad and bad[0]:
            raise IngestError(f"{source}: an event has an unparsable timestamp")
        conn.execute("INSERT INTO audit_events SELECT * FROM rw_rows")
        row = conn.execute("SELECT count(*) FROM rw_rows").fetchone()
    return int(row[0]) if row else 0
