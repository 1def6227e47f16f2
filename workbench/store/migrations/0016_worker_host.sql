-- Team mode: processes on several machines share one log, and a process ID means
-- something only on its own machine. Attempts and runs record the machine working on them, so a
-- start on one machine never marks another machine's live work as interrupted.
-- Portable SQL (DuckDB and PostgreSQL).
ALTER TABLE generations ADD COLUMN worker_host VARCHAR;
ALTER TABLE runs ADD COLUMN worker_host VARCHAR;
