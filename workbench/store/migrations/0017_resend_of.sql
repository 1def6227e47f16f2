-- An attempt sent again on purpose (it may or may not have reached the provider the first time)
-- names the attempt it repeats, so History shows both and neither is counted twice.
-- Portable SQL (DuckDB and PostgreSQL).
ALTER TABLE generations ADD COLUMN resend_of VARCHAR;
