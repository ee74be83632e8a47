"""``regwatch serve``: the long-running exporter Prometheus scrapes.

Scheduled probe rounds, incremental log ingest and SLO recomputation (``jobs``); the HTTP server with
/metrics, /healthz, /readyz and the registry notification endpoint (``app``); store-backed metrics
(``collectors``) with series caps (``cardinality``); basic auth and TLS (``webconfig``); one thread for
every store access (``writer``). See docs/serve.md.
"""

from regwatch.serve.service import STOP_TIMEOUT, Service, run, serve_for

__all__ = ["STOP_TIMEOUT", "Service", "run", "serve_for"]
