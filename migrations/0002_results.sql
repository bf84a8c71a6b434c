-- 0002: keep each finished run's rows (bounded by the row limit), so results survive a broker restart.

CREATE TABLE run_results (
    run_id INTEGER PRIMARY KEY REFERENCES runs (id),
    -- The run's result page in the protocol's encoding.
    page   BLOB NOT NULL
) STRICT;
