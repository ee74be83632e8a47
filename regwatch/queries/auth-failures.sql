-- name: auth-failures
-- description: Requests refused with 401 or 403, by user and client: who is failing to authenticate, where and since when.
-- param: registry (text, optional): only this registry
-- param: region (text, optional): only this region
-- param: user (text, optional): only this user
-- param: limit (int, default 50): rows to return
--
-- A 401 answering an anonymous first request is how a client learns the auth challenge; a user that
-- keeps failing after it (many 401/403 for a named user) is the signal.
SELECT "user",
       client_ip,
       mode(user_agent) AS user_agent,
       count(*) AS failures,
       count(*) FILTER (WHERE status = 401) AS "401",
       count(*) FILTER (WHERE status = 403) AS "403",
       count(DISTINCT repository) AS repositories,
       string_agg(DISTINCT route, ', ' ORDER BY route) AS routes,
       min(ts) AS first_seen,
       max(ts) AS last_seen
FROM requests
WHERE ts >= $since AND ts < $until
  AND rw_auth_failure(status)
  AND ($registry IS NULL OR registry = $registry)
  AND ($region IS NULL OR region = $region)
  AND ($user IS NULL OR "user" = $user)
GROUP BY "user", client_ip
ORDER BY failures DESC, "user" NULLS LAST, client_ip
LIMIT $limit
