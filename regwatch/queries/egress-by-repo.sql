-- name: egress-by-repo
-- description: Egress bytes by repository (GET blob and manifest responses with status 200 or 206), with bytes per pull.
-- param: registry (text, optional): only this registry
-- param: region (text, optional): only this region
-- param: limit (int, default 20): rows to return
--
-- Egress and pulls use the SLO engine's classify.sql macros (docs/slis.md): egress is rw_egress_bytes,
-- a pull a manifest GET with a good outcome (as egress_bytes_per_pull of regwatch sli).
SELECT repository,
       sum(rw_egress_bytes(method, route, status, bytes_sent)) AS egress_bytes,
       round(sum(rw_egress_bytes(method, route, status, bytes_sent)) / 1073741824, 6) AS egress_gib,
       count(*) FILTER (WHERE rw_kind(method, route) = 'pull' AND rw_outcome(status) = 'good') AS pulls,
       round(sum(rw_egress_bytes(method, route, status, bytes_sent))
             / nullif(count(*) FILTER (WHERE rw_kind(method, route) = 'pull' AND rw_outcome(status) = 'good'), 0), 1)
           AS egress_bytes_per_pull,
       count(DISTINCT client_ip) AS clients
FROM requests
WHERE ts >= $since AND ts < $until
  AND method = 'GET' AND route IN ('blob', 'manifest')
  AND repository IS NOT NULL
  AND ($registry IS NULL OR registry = $registry)
  AND ($region IS NULL OR region = $region)
GROUP BY repository
HAVING egress_bytes > 0
ORDER BY egress_bytes DESC, repository
LIMIT $limit
