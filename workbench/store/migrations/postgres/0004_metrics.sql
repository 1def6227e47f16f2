-- PostgreSQL form of the DuckDB file of the same name: DOUBLE PRECISION for DOUBLE, JSON kept
-- as TEXT (read back as text on both backends), DISTINCT ON for QUALIFY.
-- Automatic image measurements. Append-only: recomputing adds rows, and the newest row per
-- generation, metric and version counts (`latest_metrics`), like `latest_ratings`. A failed
-- measurement is a row too (status 'error' or 'skipped', value NULL, the reason in `error`).
CREATE TABLE metrics (
    id BIGINT PRIMARY KEY,
    generation_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,            -- warmth, detail, phash, text_accuracy, ...
    version INTEGER NOT NULL,           -- the method's version; numbers of two versions never mix
    status VARCHAR NOT NULL CHECK (status IN ('ok', 'error', 'skipped')),
    value DOUBLE PRECISION,
    detail TEXT,                        -- e.g. the hash, OCR text read and expected, kelvin
    error VARCHAR,
    computed_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE SEQUENCE metrics_id_seq START 1;

CREATE VIEW latest_metrics AS
SELECT DISTINCT ON (generation_id, metric, version) * FROM metrics
ORDER BY generation_id, metric, version, computed_at DESC, id DESC;
