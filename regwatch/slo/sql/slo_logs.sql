-- Good and bad events of a log-based SLO in each window (name, lo) of $window_names / $window_starts,
-- every window ending at $at: an event counts in a window when lo < ts <= $at. The events are
-- rw_slo_log_events (classify.sql): requests of $kind ('pull' or 'push') that are good or bad, first
-- attempts only when $first_only (by the retry set $retries), matching the SLO's filters.
WITH windows AS (
    SELECT unnest($window_names::VARCHAR[]) AS name, unnest($window_starts::TIMESTAMP[]) AS lo
),
events AS (
    SELECT ts, good
    FROM rw_slo_log_events(
        $retries, $lo, $at, $kind::VARCHAR, $first_only::BOOLEAN,
        $registry::VARCHAR, $region::VARCHAR, $repository::VARCHAR
    )
)
SELECT
    w.name,
    count(e.ts) FILTER (WHERE e.good) AS good,
    count(e.ts) FILTER (WHERE NOT e.good) AS bad
FROM windows AS w
LEFT JOIN events AS e ON e.ts > w.lo
GROUP BY w.name;
