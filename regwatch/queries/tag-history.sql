-- name: tag-history
-- description: Pushes and deletes of a repository's tags (notification events), and digest changes seen by the tag probe.
-- param: repository (text): exact repository name
-- param: tag (text, optional): only this tag
--
-- A delete by digest carries no tag: it is shown for a tag when that digest was pushed under the tag.
-- Probe rows: the tag resolving to another digest (changed), vanishing (missing) or coming back (present).
WITH events AS (
    SELECT * FROM audit_events
    WHERE ts >= $since AND ts < $until AND repository = $repository AND action IN ('push', 'delete')
),
tagged_digests AS (
    SELECT DISTINCT tag, digest FROM audit_events
    WHERE repository = $repository AND action = 'push' AND tag IS NOT NULL AND digest IS NOT NULL
      AND ($tag IS NULL OR tag = $tag)
),
event_rows AS (
    SELECT e.ts, 'events' AS source, e.action, e.registry, e.region, coalesce(e.tag, d.tag) AS tag,
           e.digest, CAST(NULL AS VARCHAR) AS previous_digest, e.actor, e.client_addr AS client,
           e.user_agent, e.request_id
    FROM events e
    LEFT JOIN tagged_digests d ON e.tag IS NULL AND e.action = 'delete' AND d.digest = e.digest
    WHERE ($tag IS NULL AND (e.tag IS NOT NULL OR d.tag IS NOT NULL OR e.action = 'delete'))
       OR coalesce(e.tag, d.tag) = $tag
),
observed AS (
    SELECT *, lag(present) OVER (PARTITION BY registry, region, repository, tag ORDER BY ts) AS prev_present
    FROM tag_observations
    WHERE repository = $repository AND ($tag IS NULL OR tag = $tag) AND ts < $until
),
probe_rows AS (
    SELECT ts, 'probe' AS source,
           CASE WHEN changed THEN 'changed'  -- first: a tag back at another digest has moved
                WHEN NOT present AND prev_present THEN 'missing'
                WHEN present AND NOT prev_present THEN 'present'
                ELSE 'changed' END AS action,
           registry, region, tag, digest, previous_digest, NULL AS actor, NULL AS client,
           NULL AS user_agent, NULL AS request_id
    FROM observed
    WHERE ts >= $since AND (changed OR present <> prev_present)
)
SELECT * FROM event_rows
UNION ALL
SELECT * FROM probe_rows
ORDER BY ts, source, action, region
