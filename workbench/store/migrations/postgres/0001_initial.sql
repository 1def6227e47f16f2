-- PostgreSQL form of the DuckDB file of the same name: DOUBLE PRECISION for DOUBLE, JSON kept
-- as TEXT (read back as text on both backends), DISTINCT ON for QUALIFY.
-- The generation log, image files, runs and star ratings.
CREATE TABLE runs (
    id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,              -- single | compare | matrix | suite
    name VARCHAR,
    spec TEXT,                          -- what was asked for (axes, models, budget)
    budget_usd DOUBLE PRECISION,
    status VARCHAR NOT NULL DEFAULT 'running',
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    finished_at TIMESTAMP
);

CREATE TABLE images (
    sha256 VARCHAR PRIMARY KEY,
    path VARCHAR NOT NULL,              -- relative to the data directory
    thumb_path VARCHAR NOT NULL,
    mime VARCHAR NOT NULL,
    bytes BIGINT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE generations (
    id VARCHAR PRIMARY KEY,
    run_id VARCHAR,
    cell VARCHAR,                       -- position in a run's grid, for resume
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,            -- pending | succeeded | failed | moderated | cancelled | interrupted
    model VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,
    provider_model_id VARCHAR,
    provider_request_id VARCHAR,
    template_id VARCHAR,
    slots TEXT,
    prompt_written VARCHAR,             -- as the user wrote it (with any --ar flag)
    prompt VARCHAR NOT NULL,            -- as sent
    params TEXT,                        -- as sent, without the prompt and without keys
    aspect_ratio VARCHAR,
    size VARCHAR,
    seed BIGINT,                        -- asked for
    seed_returned BIGINT,
    width INTEGER,
    height INTEGER,
    latency_ms DOUBLE PRECISION,
    queue_ms DOUBLE PRECISION,
    cost_usd DOUBLE PRECISION,
    cost_kind VARCHAR,                  -- known | estimated | unknown
    error_kind VARCHAR,
    error_message VARCHAR,
    image_sha256 VARCHAR,
    category VARCHAR
);

CREATE TABLE ratings (
    id BIGINT PRIMARY KEY,
    generation_id VARCHAR NOT NULL,
    criterion VARCHAR NOT NULL,
    stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    rater VARCHAR NOT NULL DEFAULT 'me',
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE SEQUENCE ratings_id_seq START 1;

-- Append-only ratings: the newest row per generation, criterion and rater counts.
CREATE VIEW latest_ratings AS
SELECT DISTINCT ON (generation_id, criterion, rater) * FROM ratings
ORDER BY generation_id, criterion, rater, created_at DESC, id DESC;
