-- name: slowest-manifests
-- description: The slowest manifest requests (GET and HEAD), slowest first.
-- param: registry (text, optional): only this registry
-- param: region (text, optional): only this region
-- param: repository (text, optional): only this repository
-- param: limit (int, default 20): rows to return
SELECT ts, registry, region, repository, reference, method, status, duration_s, bytes_sent,
       client_ip, user_agent, request_id
FROM requests
WHERE ts >= $since AND ts < $until
  AND route = 'manifest' AND method IN ('GET', 'HEAD')
  AND duration_s IS NOT NULL
  AND ($registry IS NULL OR registry = $registry)
  AND ($region IS NULL OR region = $region)
  AND ($repository IS NULL OR repository = $repository)
ORDER BY duration_s DESC, ts
LIMIT $limit
