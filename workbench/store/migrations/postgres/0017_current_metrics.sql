-- PostgreSQL form of the DuckDB file of the same name: DOUBLE PRECISION for DOUBLE, and an
-- index for the filter and the sort by one measurement.
-- The current measurement per generation, metric and method version, kept beside the
-- append-only `metrics` rows by `MetricLog.record` (the newest recorded wins, as in
-- `latest_metrics`). History's measurement filter and sort read this plain table instead of
-- ranking every measurement row through the `latest_metrics` window on each page.
CREATE TABLE current_metrics (
    generation_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    value DOUBLE PRECISION,
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (generation_id, metric, version)
);
INSERT INTO current_metrics (generation_id, metric, version, status, value, computed_at)
SELECT generation_id, metric, version, status, value, computed_at FROM latest_metrics;
CREATE INDEX current_metrics_value ON current_metrics (metric, version, status, value);
