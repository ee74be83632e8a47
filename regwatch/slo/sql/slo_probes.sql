-- Good and bad pull probes of a probe-based SLO in each window (name, lo) of $window_names /
-- $window_starts, every window ending at $at (lo < ts <= $at). The events are rw_slo_probe_events
-- (classify.sql): every pull probe matching the SLO's filters; good by $sli (and $threshold).
WITH windows AS (
    SELECT unnest($window_names::VARCHAR[]) AS name, unnest($window_starts::TIMESTAMP[]) AS lo
),
events AS (
    SELECT ts, good
    FROM rw_slo_probe_events(
        $lo, $at, $sli::VARCHAR, $threshold::DOUBLE, $registry::VARCHAR, $region::VARCHAR, $repository::VARCHAR
    )
)
SELECT
    w.name,
    count(e.ts) FILTER (WHERE e.good) AS good,
    count(e.ts) FILTER (WHERE NOT e.good) AS bad
FROM windows AS w
LEFT JOIN events AS e ON e.ts > w.lo
GROUP BY w.name;
