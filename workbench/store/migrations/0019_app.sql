-- Undo without rewriting history. Ratings and votes stay append-only (concurrent UPDATEs of one
-- row conflict in DuckDB, and the record of what was said is kept):
-- * a rating can be cleared: a ratings row without stars, newest wins like any other row, and
--   `latest_ratings` then holds nothing for that generation, criterion and rater;
-- * a vote can be undone: a vote_undos row names it by its fingerprint (what the vote says,
--   the same in every database a history is copied to), and every vote read leaves it out.
-- Annotations: a generation's tags and note, and whether it is archived (hidden from History,
-- the boards and the Arena until restored); one row per generation, changed in place.
DROP VIEW latest_ratings;
ALTER TABLE ratings ALTER COLUMN stars DROP NOT NULL;
CREATE VIEW latest_ratings AS
SELECT * FROM (
    SELECT * FROM ratings
    QUALIFY row_number() OVER (
        PARTITION BY generation_id, criterion, rater ORDER BY created_at DESC, id DESC) = 1
) latest WHERE stars IS NOT NULL;

CREATE TABLE vote_undos (
    fingerprint VARCHAR PRIMARY KEY,    -- votes.fingerprint of the vote undone
    rater VARCHAR NOT NULL,             -- who undid it
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE annotations (
    generation_id VARCHAR PRIMARY KEY,
    tags VARCHAR NOT NULL DEFAULT '',   -- ",tag one,tag two," (lower case): a tag matches ",tag,"
    note VARCHAR NOT NULL DEFAULT '',
    archived_at TIMESTAMP,              -- NULL: shown; else hidden until restored
    updated_at TIMESTAMP NOT NULL,
    updated_by VARCHAR
);
