-- Behaving like the real APIs: retries are reported on the attempt, and a job a provider
-- accepted can be found again after a crash (its status URL, exactly as given), so it is
-- fetched rather than paid for twice.
ALTER TABLE generations ADD COLUMN retries INTEGER;          -- calls sent again before the outcome
ALTER TABLE generations ADD COLUMN retry_wait_s DOUBLE PRECISION;-- total time waited before them
ALTER TABLE generations ADD COLUMN resume_url VARCHAR;       -- the provider's status/result URL
