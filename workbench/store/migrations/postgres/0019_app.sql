-- PostgreSQL form of the DuckDB file of the same name: DISTINCT ON for QUALIFY.
DROP VIEW latest_ratings;
ALTER TABLE ratings ALTER COLUMN stars DROP NOT NULL;
CREATE VIEW latest_ratings AS
SELECT * FROM (
    SELECT DISTINCT ON (generation_id, criterion, rater) * FROM ratings
    ORDER BY generation_id, criterion, rater, created_at DESC, id DESC
) latest WHERE stars IS NOT NULL;

CREATE TABLE vote_undos (
    fingerprint VARCHAR PRIMARY KEY,
    rater VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE annotations (
    generation_id VARCHAR PRIMARY KEY,
    tags VARCHAR NOT NULL DEFAULT '',
    note VARCHAR NOT NULL DEFAULT '',
    archived_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    updated_by VARCHAR
);
