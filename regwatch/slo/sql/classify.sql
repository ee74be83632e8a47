-- The single definition of how a logged request counts (docs/slis.md is its statement in words).
-- Installed as TEMP macros on the connection before any SLI, SLO or counter query runs, so the
-- `sli` and `slo` commands and the exporter's regwatch_log_* counters share one classification.

-- Outcome of a request by its status: good (2xx, 304), bad (5xx, 429, and requests the server did
-- not complete: nginx 499 and 444), excluded (401, 403, 404, any other status, no status).
CREATE OR REPLACE TEMP MACRO rw_outcome(status) AS
    CASE
        WHEN status BETWEEN 200 AND 299 OR status = 304 THEN 'good'
        WHEN status >= 500 OR status IN (429, 444, 499) THEN 'bad'
        ELSE 'excluded'
    END;

-- What a request is: a pull (GET of a manifest; HEAD is not a pull), a push (PUT of a manifest),
-- or other.
CREATE OR REPLACE TEMP MACRO rw_kind(method, route) AS
    CASE
        WHEN route = 'manifest' AND method = 'GET' THEN 'pull'
        WHEN route = 'manifest' AND method = 'PUT' THEN 'push'
        ELSE 'other'
    END;

-- Egress: response bytes of GET (not HEAD) blob and manifest requests answered 200 or 206.
CREATE OR REPLACE TEMP MACRO rw_egress_bytes(method, route, status, bytes_sent) AS
    CASE
        WHEN method = 'GET' AND route IN ('blob', 'manifest') AND status IN (200, 206)
            THEN coalesce(bytes_sent, 0)
        ELSE 0
    END;

-- Auth failure: 401 or 403, on any route.
CREATE OR REPLACE TEMP MACRO rw_auth_failure(status) AS coalesce(status IN (401, 403), false);

-- Cache result of a blob GET through an nginx pull-through cache: hit, miss (MISS, EXPIRED, STALE,
-- UPDATING, REVALIDATED), or NULL (not a blob GET, no cache status, BYPASS and anything else).
CREATE OR REPLACE TEMP MACRO rw_cache(method, route, cache_status) AS
    CASE
        WHEN NOT coalesce(method = 'GET' AND route = 'blob', false) THEN NULL
        WHEN upper(cache_status) = 'HIT' THEN 'hit'
        WHEN upper(cache_status) IN ('MISS', 'EXPIRED', 'STALE', 'UPDATING', 'REVALIDATED') THEN 'miss'
    END;

-- An SLO's filters (docs/slis.md): registry and region exact, repository a glob ('platform/*');
-- a NULL filter matches everything.
CREATE OR REPLACE TEMP MACRO rw_matches(registry, region, repository, f_registry, f_region, f_repository) AS
    (f_registry IS NULL OR registry = f_registry)
    AND (f_region IS NULL OR region = f_region)
    AND (f_repository IS NULL OR coalesce(repository GLOB f_repository, false));

-- Every request with ts in (lo, hi], classified: kind, outcome, egress_bytes, auth_failure, cache.
-- Queries that need no retry rule read this: one scan, no sort.
CREATE OR REPLACE TEMP MACRO rw_classified(lo, hi) AS TABLE
SELECT
    ts, registry, region, source, line, client_ip, repository, reference, route, status, duration_s,
    rw_kind(method, route) AS kind,
    rw_outcome(status) AS outcome,
    rw_egress_bytes(method, route, status, bytes_sent) AS egress_bytes,
    rw_auth_failure(status) AS auth_failure,
    rw_cache(method, route, cache_status) AS cache
FROM requests
WHERE ts > lo AND ts <= hi;

-- rw_classified plus `attempt` for pulls: 'retry' when the previous good-or-bad pull of the same
-- client ip, repository and reference was bad and at most retry_us microseconds earlier, else
-- 'first' (NULL for requests that are not pulls). `lookback` must be lo minus the retry window, so
-- a retry of a pull made just before lo is seen. The window function (a sort) only runs over the
-- pulls of keys that had a bad pull: every other pull is a first attempt by definition.
CREATE OR REPLACE TEMP MACRO rw_requests(lookback, lo, hi, retry_us) AS TABLE
WITH pulls AS (
    SELECT * FROM rw_classified(lookback, hi) WHERE kind = 'pull'
),
bad_keys AS (
    SELECT DISTINCT client_ip, repository, reference
    FROM pulls
    WHERE outcome = 'bad' AND client_ip IS NOT NULL AND repository IS NOT NULL AND reference IS NOT NULL
),
suspects AS (
    SELECT
        p.*,
        lag(CASE WHEN outcome <> 'excluded' THEN outcome END IGNORE NULLS) OVER w AS prev_outcome,
        lag(CASE WHEN outcome <> 'excluded' THEN ts END IGNORE NULLS) OVER w AS prev_ts
    FROM pulls AS p
    SEMI JOIN bad_keys AS b
        ON p.client_ip = b.client_ip AND p.repository = b.repository AND p.reference = b.reference
    WINDOW w AS (PARTITION BY p.client_ip, p.repository, p.reference ORDER BY p.ts, p.source, p.line)
)
SELECT
    * EXCLUDE (prev_outcome, prev_ts),
    CASE
        WHEN prev_outcome = 'bad'
            AND epoch_us(ts) - epoch_us(prev_ts) <= retry_us
            THEN 'retry'
        ELSE 'first'
    END AS attempt
FROM suspects
WHERE ts > lo
UNION ALL BY NAME
SELECT p.*, 'first' AS attempt
FROM pulls AS p
ANTI JOIN bad_keys AS b
    ON p.client_ip = b.client_ip AND p.repository = b.repository AND p.reference = b.reference
WHERE p.ts > lo
UNION ALL BY NAME
SELECT *, NULL AS attempt
FROM rw_classified(lo, hi)
WHERE kind <> 'pull';
