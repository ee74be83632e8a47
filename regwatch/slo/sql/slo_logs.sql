-- Good and bad events of a log-based pull_success or push_success SLO in each window (name, lo) of
-- $window_names / $window_starts, every window ending at $at: an event counts in a window when
-- lo < ts <= $at. $kind is 'pull' or 'push'; excluded requests are no events (classify.sql).
-- It needs no retry rule, so it reads rw_classified (no sort); slo_logs_first_attempt.sql is the
-- same over rw_requests with first attempts only.
WITH windows AS (
    SELECT unnest($window_names::VARCHAR[]) AS name, unnest($window_starts::TIMESTAMP[]) AS lo
),
events AS (
    SELECT ts, outcome = 'good' AS good
    FROM rw_classified($lo, $at)
    WHERE kind = $kind
        AND outcome <> 'excluded'
        AND rw_matches(registry, region, repository, $registry::VARCHAR, $region::VARCHAR, $repository::VARCHAR)
)
SELECT
    w.name,
    count(e.ts) FILTER (WHERE e.good) AS good,
    count(e.ts) FILTER (WHERE NOT e.good) AS bad
FROM windows AS w
LEFT JOIN events AS e ON e.ts > w.lo
GROUP BY w.name;
