-- Automatic image measurements. Append-only: recomputing adds rows, and the newest row per
-- generation, metric and version counts (`latest_metrics`), like `latest_ratings`. A failed
-- measurement is a row too (status 'error' or 'skipped', value NULL, the reason in `error`).
CREATE TABLE metrics (
    id BIGINT PRIMARY KEY,
    generation_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,            -- warmth, detail, phash, text_accuracy, ...
    version INTEGER NOT NULL,           -- the method's version; numbers of two versions never mix
    status VARCHAR NOT NULL CHECK (status IN ('ok', 'error', 'skipped')),
    value DOUBLE,
    detail JSON,                        -- e.g. the hash, OCR text read and expected, kelvin
    error VARCHAR,
    computed_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE SEQUENCE metrics_id_seq START 1;

CREATE VIEW latest_metrics AS
SELECT * FROM metrics
QUALIFY row_number() OVER (
    PARTITION BY generation_id, metric, version ORDER BY computed_at DESC, id DESC) = 1;
