-- Two flags kept on the rows every board and History read filters, each a copy of its record.
-- Whether a generation is archived, kept on the log itself beside `annotations.archived_at`
-- (the record), set in the same transaction as the annotation. Every History, board and Arena
-- read hides the archived by default: a test of one boolean column is a scan of a constant
-- block, where `id NOT IN (archived ids)` reads every row's id text (the dearest column) and
-- probes a hash table with it. Portable SQL (DuckDB and PostgreSQL).
ALTER TABLE generations ADD COLUMN archived BOOLEAN NOT NULL DEFAULT false;
UPDATE generations SET archived = true
WHERE id IN (SELECT generation_id FROM annotations WHERE archived_at IS NOT NULL);

-- Whether a vote is undone, kept on the vote beside `vote_undos` (the record, by fingerprint):
-- set with the undo row, and on a vote added whose fingerprint was undone already. Every vote
-- read leaves the undone out; a flag is a scan of a constant block, where an anti-join on the
-- fingerprint reads 64 characters of every vote.
ALTER TABLE votes ADD COLUMN undone BOOLEAN NOT NULL DEFAULT false;
UPDATE votes SET undone = true WHERE fingerprint IN (SELECT fingerprint FROM vote_undos);
