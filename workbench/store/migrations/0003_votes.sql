-- Pairwise arena votes: append-only rows, never updated (concurrent UPDATEs conflict in DuckDB).
-- Model, provider, prompt and category are copied from the generations at vote time, so a vote
-- still counts, filters and exports after its generations are deleted.
CREATE TABLE votes (
    id BIGINT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    left_generation_id VARCHAR,         -- shown on the left; NULL for imported battles
    right_generation_id VARCHAR,
    left_model VARCHAR NOT NULL,
    right_model VARCHAR NOT NULL,
    left_provider VARCHAR,              -- NULL when an imported file did not say
    right_provider VARCHAR,
    criterion VARCHAR NOT NULL,
    category VARCHAR,
    template_id VARCHAR,
    prompt VARCHAR,
    winner VARCHAR NOT NULL CHECK (winner IN ('left', 'right', 'tie', 'both_bad')),
    swapped BOOLEAN NOT NULL DEFAULT false, -- the random draw put the pair's second image left
    rater VARCHAR NOT NULL DEFAULT 'me',
    is_repeat BOOLEAN NOT NULL DEFAULT false, -- a pair shown again to measure consistency
    repeat_of BIGINT,                   -- the first vote on the same pair, for repeats
    source VARCHAR NOT NULL DEFAULT 'arena', -- arena | import
    fingerprint VARCHAR NOT NULL        -- what the vote says, hashed: re-imports are skipped
);
CREATE SEQUENCE votes_id_seq START 1;
