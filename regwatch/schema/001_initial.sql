-- regwatch store schema, version 1.
-- Every timestamp is a TIMESTAMP holding UTC (naive on purpose: no session time zone can shift it);
-- durations are DOUBLE seconds; sizes are BIGINT bytes. Columns are documented in docs/schema.md.

-- One row per probe: a first-attempt pull, a replication check of one target region, or a tag check.
CREATE TABLE probe_results (
    ts              TIMESTAMP NOT NULL,   -- start of the probe
    kind            VARCHAR   NOT NULL,   -- pull | replication | tag
    round_id        VARCHAR,              -- probes of one round share it
    registry        VARCHAR   NOT NULL,
    region          VARCHAR   NOT NULL,   -- for replication: the target region
    auth_path       VARCHAR   NOT NULL,
    canary          VARCHAR   NOT NULL,   -- repo:tag or repo@digest (the metrics' canary label)
    repository      VARCHAR   NOT NULL,
    reference       VARCHAR   NOT NULL,
    result          VARCHAR   NOT NULL,   -- success | failure
    reason          VARCHAR,              -- closed vocabulary (catalog.PROBE_REASONS); NULL on success
    status          INTEGER,              -- HTTP status of the failing step (or the last step)
    bytes           BIGINT    NOT NULL DEFAULT 0,
    duration_s      DOUBLE    NOT NULL,   -- whole probe
    connect_s       DOUBLE,
    auth_s          DOUBLE,
    manifest_s      DOUBLE,
    config_s        DOUBLE,
    layers_s        DOUBLE,
    manifest_digest VARCHAR,              -- digest the reference resolved to (platform manifest)
    retry_after_s   DOUBLE,               -- Retry-After of a 429
    error           VARCHAR,              -- one-line detail for people; never holds a secret
    from_region     VARCHAR,              -- replication: region the canary was pushed to
    lag_s           DOUBLE                -- replication: seconds until the region served the digest
);

-- Protected-tag observations: what each tag resolved to, each round.
CREATE TABLE tag_observations (
    ts              TIMESTAMP NOT NULL,
    registry        VARCHAR   NOT NULL,
    region          VARCHAR   NOT NULL,
    repository      VARCHAR   NOT NULL,
    tag             VARCHAR   NOT NULL,
    digest          VARCHAR,              -- NULL when the tag is absent
    present         BOOLEAN   NOT NULL,
    changed         BOOLEAN   NOT NULL,   -- a move: present, at a digest other than the last digest seen
    previous_digest VARCHAR,              -- the last digest seen before this observation (NULL: none yet)
    status          INTEGER
);

-- One row per HTTP request seen in a registry's (or its proxy's) logs.
CREATE TABLE requests (
    ts           TIMESTAMP NOT NULL,      -- UTC, microseconds
    registry     VARCHAR   NOT NULL,
    region       VARCHAR   NOT NULL,
    source       VARCHAR   NOT NULL,      -- the file it came from (or "-" for stdin)
    line         BIGINT,                  -- line number in the source of the request's completion record
    client_ip    VARCHAR,                 -- without port
    "user"       VARCHAR,
    method       VARCHAR,
    route        VARCHAR   NOT NULL,      -- ping manifest blob blob_upload tags catalog referrers token other
    repository   VARCHAR,
    reference    VARCHAR,                 -- tag or digest as requested
    digest       VARCHAR,                 -- content digest when known (from the reference or the response)
    status       SMALLINT,
    bytes_sent   BIGINT,
    duration_s   DOUBLE,                  -- NULL when the source has none
    user_agent   VARCHAR,
    request_id   VARCHAR,
    cache_status VARCHAR                  -- nginx $upstream_cache_status; NULL when unknown
);

-- Distribution notification events (from log files or the serve endpoint).
CREATE TABLE audit_events (
    event_id        VARCHAR PRIMARY KEY,
    ts              TIMESTAMP NOT NULL,
    action          VARCHAR   NOT NULL,   -- push pull delete mount
    registry        VARCHAR,
    region          VARCHAR,
    repository      VARCHAR,
    tag             VARCHAR,
    digest          VARCHAR,
    media_type      VARCHAR,
    size            BIGINT,
    actor           VARCHAR,
    client_addr     VARCHAR,
    user_agent      VARCHAR,
    request_id      VARCHAR,
    source_instance VARCHAR,
    source_addr     VARCHAR,
    source          VARCHAR               -- file, "-" or "notifications"
);

-- Lines that could not be parsed: nothing is lost silently.
CREATE TABLE ingest_rejects (
    ingested_at TIMESTAMP NOT NULL,
    source      VARCHAR   NOT NULL,
    line        BIGINT,
    reason      VARCHAR   NOT NULL,
    raw         VARCHAR                   -- cut at 4 KiB
);

-- Per-file ingest state: how far each file has been read, and the fingerprint of its head.
CREATE TABLE ingest_files (
    source      VARCHAR PRIMARY KEY,
    fingerprint VARCHAR   NOT NULL,       -- hash of the file's first bytes: a change means rotated/truncated
    "offset"    BIGINT    NOT NULL,       -- bytes consumed (always at a line boundary)
    lines       BIGINT    NOT NULL,       -- lines consumed
    format      VARCHAR,
    registry    VARCHAR,
    region      VARCHAR,
    accepted    BIGINT    NOT NULL DEFAULT 0,
    ignored     BIGINT    NOT NULL DEFAULT 0,
    rejected    BIGINT    NOT NULL DEFAULT 0,
    last_ts     TIMESTAMP,                -- newest request timestamp read from it
    updated_at  TIMESTAMP NOT NULL,
    carry       VARCHAR                   -- distribution: completion lines of the last batch still waiting for their access line (JSON)
);
