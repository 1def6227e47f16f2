-- PostgreSQL form of the DuckDB file of the same name: DOUBLE PRECISION for DOUBLE, JSON kept
-- as TEXT (read back as text on both backends), DISTINCT ON for QUALIFY.
-- Runs at scale: who is working on an attempt, what a provider already accepted (so a resume
-- never pays twice), and images reused for identical requests.
ALTER TABLE generations ADD COLUMN worker_pid INTEGER;       -- process running the attempt
ALTER TABLE generations ADD COLUMN submitted_at TIMESTAMP;   -- sending began: it may be billed
ALTER TABLE generations ADD COLUMN request_hash VARCHAR;     -- provider, model, text, params, seed
ALTER TABLE generations ADD COLUMN cached_from VARCHAR;      -- the generation whose image was reused
ALTER TABLE runs ADD COLUMN worker_pid INTEGER;
ALTER TABLE runs ADD COLUMN spent_usd DOUBLE PRECISION;
