-- Good and bad events of one SLO in its own window and every burn window, all ending at $at: an event
-- counts in a window of length L when $at - L < ts <= $at (docs/slis.md "Time ranges and windows").
-- The events: rw_slo_log_events or rw_slo_probe_events (classify.sql) by $source, with the SLO's
-- selection ($kind, $first_only over the retry set $retries; $sli, $threshold; the filters).
-- One pass: events are counted per age bucket of $grain_us microseconds (age = $at - ts; $grain_us
-- divides every window length, so an event is in a window of n buckets exactly when its bucket < n),
-- then each window ($window_names, $window_buckets) adds up the buckets younger than it.
-- $lo is $at minus the longest window.
WITH events AS (
    SELECT ts, good
    FROM rw_slo_log_events(
        $retries, $lo, $at, $kind::VARCHAR, $first_only::BOOLEAN,
        $registry::VARCHAR, $region::VARCHAR, $repository::VARCHAR
    )
    WHERE $source::VARCHAR = 'logs'
    UNION ALL
    SELECT ts, good
    FROM rw_slo_probe_events(
        $lo, $at, $sli::VARCHAR, $threshold::DOUBLE,
        $registry::VARCHAR, $region::VARCHAR, $repository::VARCHAR
    )
    WHERE $source::VARCHAR = 'probes'
),
buckets AS (
    SELECT
        (epoch_us($at::TIMESTAMP) - epoch_us(ts)) // $grain_us::BIGINT AS bucket,
        count(*) FILTER (WHERE good) AS good,
        count(*) FILTER (WHERE NOT good) AS bad
    FROM events
    GROUP BY bucket
),
windows AS (
    SELECT unnest($window_names::VARCHAR[]) AS name, unnest($window_buckets::BIGINT[]) AS buckets
)
SELECT w.name, coalesce(sum(b.good), 0) AS good, coalesce(sum(b.bad), 0) AS bad
FROM windows AS w
LEFT JOIN buckets AS b ON b.bucket < w.buckets
GROUP BY w.name;
