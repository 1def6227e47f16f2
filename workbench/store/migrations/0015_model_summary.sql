-- A per-model summary of the log for the Leaderboard's performance table in team mode: see
-- postgres/0015_model_summary.sql. The embedded DuckDB file aggregates the log itself fast
-- enough (leaderboard_ms <= 50 at a million rows), so nothing to do here; the ledger stays the
-- same on both backends.
SELECT 1;
