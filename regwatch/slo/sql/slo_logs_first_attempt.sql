-- Good and bad first-attempt pulls of a log-based first_attempt_success SLO in each window (name, lo)
-- of $window_names / $window_starts, every window ending at $at (lo < ts <= $at). Retries and
-- excluded pulls are no events (classify.sql).
WITH windows AS (
    SELECT unnest($window_names::VARCHAR[]) AS name, unnest($window_starts::TIMESTAMP[]) AS lo
),
events AS (
    SELECT ts, outcome = 'good' AS good
    FROM rw_requests($lookback, $lo, $at, $retry_us)
    WHERE kind = 'pull'
        AND outcome <> 'excluded'
        AND attempt = 'first'
        AND rw_matches(registry, region, repository, $registry::VARCHAR, $region::VARCHAR, $repository::VARCHAR)
)
SELECT
    w.name,
    count(e.ts) FILTER (WHERE e.good) AS good,
    count(e.ts) FILTER (WHERE NOT e.good) AS bad
FROM windows AS w
LEFT JOIN events AS e ON e.ts > w.lo
GROUP BY w.name;
