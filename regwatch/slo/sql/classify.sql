-- The single definition of how a logged request counts (docs/slis.md is its statement in words).
-- Installed as TEMP macros on the connection (once per connection, regwatch.slo._sql) before any SLI,
-- SLO, counter, report or postmortem query runs, so the `sli` and `slo` commands, the exporter's
-- regwatch_log_* counters, the weekly report and `regwatch query` share one classification, one retry
-- rule and one selection of each SLO's events.

-- Outcome of a request by its status: good (2xx, 304), bad (5xx, 429, and requests the server did
-- not complete: nginx 499 and 444), excluded (401, 403, 404, any other status, no status).
-- A ratio that is NULL, never a division error or a made-up 100%, when its denominator is 0.
CREATE OR REPLACE TEMP MACRO rw_ratio(n, d) AS CASE WHEN d > 0 THEN n / d END;

CREATE OR REPLACE TEMP MACRO rw_outcome(status) AS
    CASE
        WHEN status BETWEEN 200 AND 299 OR status = 304 THEN 'good'
        WHEN status >= 500 OR status IN (429, 444, 499) THEN 'bad'
        ELSE 'excluded'
    END;

-- Whether a request is a pull: a GET of a manifest (HEAD is not a pull); NULL (not a pull) without a
-- method. A plain predicate, so a query selecting pulls has it pushed down into the table scan.
CREATE OR REPLACE TEMP MACRO rw_is_pull(method, route) AS route = 'manifest' AND method = 'GET';

-- What a request is: a pull (rw_is_pull), a push (PUT of a manifest), or other.
CREATE OR REPLACE TEMP MACRO rw_kind(method, route) AS
    CASE
        WHEN rw_is_pull(method, route) THEN 'pull'
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
        -- nginx writes it upper-case: match that as is first, and pay for upper() only otherwise
        WHEN cache_status = 'HIT' THEN 'hit'
        WHEN cache_status IN ('MISS', 'EXPIRED', 'STALE', 'UPDATING', 'REVALIDATED') THEN 'miss'
        WHEN upper(cache_status) = 'HIT' THEN 'hit'
        WHEN upper(cache_status) IN ('MISS', 'EXPIRED', 'STALE', 'UPDATING', 'REVALIDATED') THEN 'miss'
    END;

-- An SLO's filters (docs/slis.md): registry and region exact, repository a glob ('platform/*');
-- a NULL filter matches everything.
CREATE OR REPLACE TEMP MACRO rw_matches(registry, region, repository, f_registry, f_region, f_repository) AS
    (f_registry IS NULL OR registry = f_registry)
    AND (f_region IS NULL OR region = f_region)
    AND (f_repository IS NULL OR coalesce(repository GLOB f_repository, false));

-- Every request with ts in (lo, hi], classified, plus `rid` (the request's rowid, to attach the retry
-- rule's verdict to it). Read rw_classified or rw_requests instead; this one is their common base.
CREATE OR REPLACE TEMP MACRO rw_classified_rid(lo, hi) AS TABLE
SELECT
    rowid AS rid,
    ts, registry, region, source, line, client_ip, user_agent, repository, reference, route, status,
    duration_s,
    rw_kind(method, route) AS kind,
    rw_outcome(status) AS outcome,
    rw_egress_bytes(method, route, status, bytes_sent) AS egress_bytes,
    rw_auth_failure(status) AS auth_failure,
    rw_cache(method, route, cache_status) AS cache
FROM requests
WHERE ts > lo AND ts <= hi;

-- Every request with ts in (lo, hi], classified: kind, outcome, egress_bytes, auth_failure, cache.
-- Queries that need no retry rule read this: one scan, no join.
CREATE OR REPLACE TEMP MACRO rw_classified(lo, hi) AS TABLE
SELECT * EXCLUDE (rid) FROM rw_classified_rid(lo, hi);

-- The retry rule (docs/slis.md): the rowids (`rid`) of the pulls with ts in (lo, hi] that are retries.
-- A pull is a retry when its previous good-or-bad pull of the same client ip, repository and
-- reference (in the order ts, source, line; then rowid) was bad and at most retry_us microseconds
-- earlier. `lookback` must be lo minus the retry window, so a retry of a pull made just before lo is
-- seen. Equivalently, and without sorting every pull: a pull P is a retry when some bad pull B of its
-- key comes before it, at most retry_us earlier, and no good-or-bad pull lies strictly between them.
-- So each bad pull is joined to the pulls of its key in [B.ts, B.ts + window] that follow it
-- (`followers`); the first good-or-bad follower ends B's chain, and B's followers up to and including
-- that one are retries. Only bad pulls (a few percent) drive the work; no pull is sorted.
CREATE OR REPLACE TEMP MACRO rw_retries(lookback, lo, hi, retry_us) AS TABLE
WITH pulls AS (
    SELECT
        rowid AS rid, ts, client_ip, repository, reference, rw_outcome(status) AS outcome,
        -- the position of a pull in its key's order; a line-less pull sorts last, as NULLS LAST would
        (ts, source, coalesce(line, 9223372036854775807), rowid) AS pos
    FROM requests
    WHERE ts > lookback AND ts <= hi
        AND rw_is_pull(method, route)
        AND client_ip IS NOT NULL AND repository IS NOT NULL AND reference IS NOT NULL
),
followers AS (
    SELECT b.rid AS bad_rid, p.rid, p.ts, p.pos, p.outcome
    FROM pulls AS b
    JOIN pulls AS p
        ON p.client_ip = b.client_ip AND p.repository = b.repository AND p.reference = b.reference
        AND p.ts >= b.ts AND p.ts <= b.ts + to_microseconds(retry_us::BIGINT)
    WHERE b.outcome = 'bad' AND p.pos > b.pos
),
chain_ends AS (
    SELECT bad_rid, min(pos) FILTER (WHERE outcome <> 'excluded') AS end_pos
    FROM followers
    GROUP BY bad_rid
)
SELECT DISTINCT f.rid
FROM followers AS f
JOIN chain_ends AS e USING (bad_rid)
WHERE f.ts > lo AND (e.end_pos IS NULL OR f.pos <= e.end_pos);

-- A request's attempt: for a pull 'retry' or 'first' (is_retry: its rid is in a retry set), NULL for
-- anything that is not a pull.
CREATE OR REPLACE TEMP MACRO rw_attempt(kind, is_retry) AS
    CASE WHEN kind = 'pull' THEN CASE WHEN is_retry THEN 'retry' ELSE 'first' END END;

-- rw_classified plus `attempt` (rw_attempt), the retry rule computed on the fly (rw_retries).
-- Self-contained: for postmortem queries and ad-hoc SQL. The SLI/SLO engine computes the retry set of
-- a range once (regwatch.slo.classified) and reads rw_requests_with instead.
CREATE OR REPLACE TEMP MACRO rw_requests(lookback, lo, hi, retry_us) AS TABLE
SELECT c.* EXCLUDE (rid), rw_attempt(c.kind, r.rid IS NOT NULL) AS attempt
FROM rw_classified_rid(lo, hi) AS c
LEFT JOIN rw_retries(lookback, lo, hi, retry_us) AS r ON c.rid = r.rid;

-- rw_classified plus `attempt`, the retry set read from the table named `retries` (one column `rid`,
-- made from rw_retries over a range holding (lo, hi] by regwatch.slo.classified).
CREATE OR REPLACE TEMP MACRO rw_requests_with(retries, lo, hi) AS TABLE
SELECT c.* EXCLUDE (rid), rw_attempt(c.kind, r.rid IS NOT NULL) AS attempt
FROM rw_classified_rid(lo, hi) AS c
LEFT JOIN query_table(retries) AS r ON c.rid = r.rid;

-- An empty retry set: for queries that do not look at attempts.
CREATE TEMP TABLE IF NOT EXISTS rw_no_retries (rid BIGINT);

-- The events of a log-based SLO (docs/slis.md "SLOs"): requests of `slo_kind` ('pull' or 'push') in
-- (lo, hi] that are good or bad, first attempts only when `first_only`, matching the SLO's filters.
-- `code` is the HTTP status, for reports of what went wrong.
CREATE OR REPLACE TEMP MACRO rw_slo_log_events(
    retries, lo, hi, slo_kind, first_only, f_registry, f_region, f_repository
) AS TABLE
SELECT ts, outcome = 'good' AS good, CAST(status AS VARCHAR) AS code
FROM rw_requests_with(retries, lo, hi)
WHERE kind = slo_kind
    AND outcome <> 'excluded'
    AND (NOT first_only OR attempt = 'first')
    AND rw_matches(registry, region, repository, f_registry, f_region, f_repository);

-- The events of a probe-based SLO: every pull probe in (lo, hi] matching the filters. pull_success
-- and first_attempt_success: good = result 'success'. pull_latency: good = success AND duration_s
-- <= threshold (a failed pull never met the threshold). `code` says why an event was bad: the
-- failure reason, or 'slow'.
CREATE OR REPLACE TEMP MACRO rw_slo_probe_events(
    lo, hi, sli, threshold, f_registry, f_region, f_repository
) AS TABLE
SELECT
    ts,
    CASE
        WHEN sli = 'pull_latency' THEN result = 'success' AND duration_s <= threshold
        ELSE result = 'success'
    END AS good,
    CASE
        WHEN result <> 'success' THEN coalesce(reason, 'failure')
        WHEN sli = 'pull_latency' AND duration_s > threshold THEN 'slow'
    END AS code
FROM probe_results
WHERE kind = 'pull'
    AND ts > lo AND ts <= hi
    AND rw_matches(registry, region, repository, f_registry, f_region, f_repository);
