"""SQL of the report that the SLO engine does not already answer (incidents, probe coverage, presence).

Everything else in the report (SLO table, per-region and per-day SLIs, egress and cost) comes from
``regwatch.slo``, and what the queries here count is the engine's too: requests through the
classification macros of ``regwatch/slo/sql/classify.sql`` (``rw_classified``), an SLO's events
through ``rw_slo_log_events`` / ``rw_slo_probe_events``. All times are naive UTC and every range is
half-open on the left, ``(lo, hi]``, like the SLO engine's windows.
"""

from __future__ import annotations

# -- Rows in the store for the period: says whether the period has any data at all.
# -- Params: $lo, $hi.
PRESENCE = """
SELECT
    (SELECT count(*) FROM requests WHERE ts > $lo AND ts <= $hi) AS requests,
    (SELECT count(*) FROM probe_results WHERE ts > $lo AND ts <= $hi) AS probes,
    (SELECT count(*) FROM audit_events WHERE ts > $lo AND ts <= $hi) AS events
"""

# -- Per repository and region: egress and good/bad pulls, from the SLO engine's classification
# -- (rw_classified: kind, outcome and egress_bytes as sli_logs.sql counts them; no retry rule needed);
# -- the report adds up the regions and prices them with the config. Params: $lo, $hi.
REPOSITORIES = """
SELECT
    registry,
    repository,
    region,
    coalesce(sum(egress_bytes), 0) AS egress_bytes,
    count(*) FILTER (WHERE kind = 'pull' AND outcome = 'good') AS pulls_good,
    count(*) FILTER (WHERE kind = 'pull' AND outcome = 'bad') AS pulls_bad
FROM rw_classified($lo, $hi)
WHERE repository IS NOT NULL
GROUP BY ALL
"""

# -- Registries with data in the period (a single one is left out of region labels).
# -- Params: $lo, $hi.
REGISTRIES = """
SELECT DISTINCT registry FROM requests WHERE ts > $lo AND ts <= $hi
UNION
SELECT DISTINCT registry FROM probe_results WHERE ts > $lo AND ts <= $hi
ORDER BY registry
"""

# -- Probe coverage: pull probes per (registry, region, auth path) with their success ratio.
# -- A probe is good when its result is 'success' (as sli_probes.sql: every failure is bad).
# -- Params: $lo, $hi.
PROBE_COVERAGE = """
SELECT
    registry,
    region,
    auth_path,
    count(*) AS probes,
    count(*) FILTER (WHERE result = 'success') AS good,
    count(*) FILTER (WHERE result = 'success') / count(*) AS success_ratio,
    mode(reason) FILTER (WHERE result <> 'success') AS top_reason
FROM probe_results
WHERE kind = 'pull' AND ts > $lo AND ts <= $hi
GROUP BY ALL
ORDER BY registry, region, auth_path
"""

# -- The events of one SLO, as (ts, good, code): the SLO engine's own selection (classify.sql), the
# -- same macros evaluate_slos counts. Params: logs $retries (the retry set, or rw_no_retries),
# -- $kind, $first_only; probes $sli, $threshold; both $lo, $hi, $registry, $region, $repository.
_LOG_EVENTS = """
WITH events AS (
    SELECT ts, good, code
    FROM rw_slo_log_events(
        $retries, $lo, $hi, $kind::VARCHAR, $first_only::BOOLEAN,
        $registry::VARCHAR, $region::VARCHAR, $repository::VARCHAR
    )
),
"""

_PROBE_EVENTS = """
WITH events AS (
    SELECT ts, good, code
    FROM rw_slo_probe_events(
        $lo, $hi, $sli::VARCHAR, $threshold::DOUBLE, $registry::VARCHAR, $region::VARCHAR, $repository::VARCHAR
    )
),
"""

# -- Page-level burn over time: the events are counted per minute (bucket t holds (t - 1m, t]), and
# -- at every minute t of the period each page condition (long, short, factor) of
# -- catalog.BURN_POLICY is evaluated over the windows (t - long, t] and (t - short, t], exactly as
# -- regwatch slo (regwatch.slo.burn.condition_holds) and the generated alerts would at t: burn =
# -- bad / events / $budget above the factor in both windows, the long one holding at least
# -- $min_events events. Consecutive paging minutes form an incident (start, end] with its good and
# -- bad events and the three most frequent codes of its bad events (counted per minute too: an
# -- incident is whole minutes, so one pass over the events serves both).
# -- Params: $lo (grid start, minute-aligned, at least the longest window before $first_t),
# -- $hi (last minute), $first_t (first evaluation minute), $long_minutes, $short_minutes,
# -- $factors, $budget, $min_events.
_BURN_TAIL = """
by_code AS (
    SELECT date_trunc('minute', ts - INTERVAL 1 MICROSECOND) + INTERVAL 1 MINUTE AS t,
           code,
           count(*) FILTER (WHERE good) AS g,
           count(*) FILTER (WHERE NOT good) AS b
    FROM events
    GROUP BY ALL
),
buckets AS (
    SELECT t, sum(g) AS g, sum(b) AS b FROM by_code GROUP BY t
),
grid AS (
    SELECT unnest(generate_series($lo::TIMESTAMP + INTERVAL 1 MINUTE, $hi::TIMESTAMP, INTERVAL 1 MINUTE)) AS t
),
cum AS (
    SELECT grid.t,
           sum(coalesce(buckets.g, 0)) OVER (ORDER BY grid.t) AS cg,
           sum(coalesce(buckets.b, 0)) OVER (ORDER BY grid.t) AS cb
    FROM grid LEFT JOIN buckets USING (t)
),
conds AS (
    SELECT unnest($long_minutes::INTEGER[]) AS long_m,
           unnest($short_minutes::INTEGER[]) AS short_m,
           unnest($factors::DOUBLE[]) AS factor
),
evals AS (
    SELECT c.t, k.factor,
           c.cg - coalesce(l.cg, 0) AS g_long, c.cb - coalesce(l.cb, 0) AS b_long,
           c.cg - coalesce(s.cg, 0) AS g_short, c.cb - coalesce(s.cb, 0) AS b_short
    FROM cum AS c
    CROSS JOIN conds AS k
    LEFT JOIN cum AS l ON l.t = c.t - to_minutes(k.long_m)
    LEFT JOIN cum AS s ON s.t = c.t - to_minutes(k.short_m)
    WHERE c.t >= $first_t::TIMESTAMP
),
paging AS (
    SELECT DISTINCT t
    FROM evals
    WHERE g_long + b_long >= $min_events::BIGINT
        AND g_long + b_long > 0
        AND g_short + b_short > 0
        AND b_long / (g_long + b_long) / $budget::DOUBLE > factor
        AND b_short / (g_short + b_short) / $budget::DOUBLE > factor
),
islands AS (
    SELECT t, t - to_minutes(row_number() OVER (ORDER BY t)) AS grp FROM paging
),
incidents AS (
    SELECT min(t) - INTERVAL 1 MINUTE AS start, max(t) AS "end", count(*) AS minutes
    FROM islands
    GROUP BY grp
),
tallies AS (
    SELECT i.start, c.code, sum(c.g) AS g, sum(c.b) AS b
    FROM incidents AS i
    JOIN by_code AS c ON c.t > i.start AND c.t <= i."end"
    GROUP BY ALL
)
SELECT
    i.start,
    i."end",
    i.minutes,
    coalesce(sum(t.g), 0)::BIGINT AS good,
    coalesce(sum(t.b), 0)::BIGINT AS bad,
    list({'code': t.code, 'count': t.b::BIGINT} ORDER BY t.b DESC, t.code)
        FILTER (WHERE t.b > 0 AND t.code IS NOT NULL)[1:3] AS top_codes
FROM incidents AS i
LEFT JOIN tallies AS t USING (start)
GROUP BY i.start, i."end", i.minutes
ORDER BY i.start
"""

INCIDENTS_LOGS = _LOG_EVENTS + _BURN_TAIL
INCIDENTS_PROBES = _PROBE_EVENTS + _BURN_TAIL
