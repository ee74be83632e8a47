-- regwatch_log_egress_bytes_total{registry,region}: egress bytes (classify.sql), all time.
-- Every (registry, region) with requests gets a row, 0 when nothing was egress.
SELECT registry, region, sum(rw_egress_bytes(method, route, status, bytes_sent))::BIGINT AS value
FROM requests
GROUP BY ALL
ORDER BY ALL;
