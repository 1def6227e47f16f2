-- Team mode: what PostgreSQL needs at a million generations.
-- History pages in the default order, and each sort's tie-break, read an index instead of
-- sorting the table.
CREATE INDEX generations_newest ON generations (created_at DESC, id DESC);
-- A model (the usual History and Leaderboard filter) over a date range.
CREATE INDEX generations_model_time ON generations (model, created_at);
-- The filter choices are read by skipping through these (one probe per distinct value), and
-- status also finds the attempts left pending or queued.
CREATE INDEX generations_provider ON generations (provider);
CREATE INDEX generations_template ON generations (template_id);
CREATE INDEX generations_status ON generations (status);
CREATE INDEX generations_category ON generations (category);
-- A run's cells, an identical earlier request (reuse), a lineage's children, a library
-- version's images.
CREATE INDEX generations_run ON generations (run_id);
CREATE INDEX generations_request ON generations (request_hash);
CREATE INDEX generations_parent ON generations (parent_id);
CREATE INDEX generations_library ON generations (library_version_id);
-- The newest rating per generation, criterion and rater; the newest measurement per
-- generation, metric and version (the latest_* views' DISTINCT ON order).
CREATE INDEX ratings_latest ON ratings (generation_id, criterion, rater, created_at DESC, id DESC);
CREATE INDEX metrics_latest ON metrics (generation_id, metric, version, computed_at DESC, id DESC);
-- Repeat votes point at their first vote.
CREATE INDEX votes_repeat_of ON votes (repeat_of);
-- Prompt text search (ILIKE '%words%', History's text filter) through trigrams, where the
-- pg_trgm extension may be created (it ships with PostgreSQL and is trusted: a database owner
-- may create it). Without it the text filter still works, by scanning.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX generations_prompt_trgm ON generations USING gin (prompt gin_trgm_ops);
EXCEPTION WHEN insufficient_privilege OR undefined_file OR undefined_object THEN
    RAISE NOTICE 'pg_trgm is not available here: the text filter scans the log';
END
$$;
