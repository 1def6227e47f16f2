-- Indexes for team mode. PostgreSQL needs them to page, count, list filter choices
-- and find a run's cells at a million rows: see postgres/0014_team_indexes.sql. The embedded
-- DuckDB file does not: it scans columns fast enough, and an ART index on a column that is
-- updated (status) turns each update into a delete and an insert. Nothing to do here, so the
-- ledger stays the same on both backends.
SELECT 1;
