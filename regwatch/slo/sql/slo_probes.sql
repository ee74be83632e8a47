-- Good and bad pull probes of a probe-based SLO in each window (name, lo) of $window_names /
-- $window_starts, every window ending at $at (lo < ts <= $at). pull_success and first_attempt_success:
-- good = result 'success'. pull_latency: good = success AND duration_s <= $threshold (a failed
-- pull never met the threshold); every pull probe is an event. Filters: rw_matches (classify.sql).
WITH windows AS (
    SELECT unnest($window_names::VARCHAR[]) AS name, unnest($window_starts::TIMESTAMP[]) AS lo
),
events AS (
    SELECT
        ts,
        CASE
            WHEN $sli::VARCHAR = 'pull_latency' THEN result = 'success' AND duration_s <= $threshold::DOUBLE
            ELSE result = 'success'
        END AS good
    FROM probe_results
    WHERE kind = 'pull'
        AND ts > $lo AND ts <= $at
        AND rw_matches(registry, region, repository, $registry::VARCHAR, $region::VARCHAR, $repository::VARCHAR)
)
SELECT
    w.name,
    count(e.ts) FILTER (WHERE e.good) AS good,
    count(e.ts) FILTER (WHERE NOT e.good) AS bad
FROM windows AS w
LEFT JOIN events AS e ON e.ts > w.lo
GROUP BY w.name;
