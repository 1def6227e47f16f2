-- The prompt a provider reports it generated from, when it differs from the prompt sent: FLUX.2
-- prompt upsampling rewrites the prompt when the user allows it (or where it cannot be turned
-- off), and BFL and fal return the prompt used. History shows it beside the prompt written.
-- Portable SQL (DuckDB and PostgreSQL).
ALTER TABLE generations ADD COLUMN prompt_used VARCHAR;
