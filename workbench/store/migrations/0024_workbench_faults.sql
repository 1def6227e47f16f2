-- A failure the workbench caused (the image arrived but could not be stored here, or a bug in
-- the workbench: error_kind 'storage' or 'internal') says nothing of the model, so the
-- Leaderboard counts it in no model's attempts or failures (store/performance.py). The embedded
-- database aggregates the log itself, which has error_kind, so nothing to do here; PostgreSQL's
-- summary table learns it in postgres/0024_workbench_faults.sql. The ledger stays the same on
-- both backends.
SELECT 1;
