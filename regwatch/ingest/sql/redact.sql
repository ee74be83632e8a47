-- Mask credentials in text regwatch stores verbatim (the raw column of ingest_rejects).
-- A rejected line can be anything the server printed. distribution prints its notification
-- endpoints at start-up with their headers in clear ("headers=map[Authorization:[Bearer ...]]");
-- a truncated copy of such a line is a reject. Masked, in order:
--   1. Go header maps:            headers=map[...]                      -> headers=map[<redacted>]
--   2. credential headers/fields: Authorization: Bearer x, "cookie":"x"  -> Authorization: Bearer <redacted>
--   3. URL user info:             https://user:pass@host                 -> https://<redacted>@host
--   4. secret-looking keys:       password=x, "secret":"x", token=x, access_token=x, client_secret=x
-- Each pattern needs no closing delimiter, so a value cut off by truncation is masked too.
CREATE OR REPLACE TEMP MACRO rw_redact(s) AS regexp_replace(regexp_replace(regexp_replace(regexp_replace(
    s,
    'headers=map\[[^"]*', 'headers=map[<redacted>]', 'g'),
    '(?i)((?:proxy-)?authorization|cookie|set-cookie|x-registry-auth|x-api-key)(\\?"?\s*[:=\[]+\s*\\?"?\[?)((?:basic|bearer|token|negotiate)\s+)?[^\s"\\,\]]+',
    '\1\2\3<redacted>', 'g'),
    '://[^/\s:@"]+:[^/\s@"]+@', '://<redacted>@', 'g'),
    '(?i)((?:access_|refresh_|id_)?token|password|passwd|client_secret|secret)(\\?"?\s*[:=]\s*\\?"?)[^\s"\\&,}]+',
    '\1\2<redacted>', 'g');
