-- PostgreSQL form of the DuckDB file of the same name: DOUBLE PRECISION for DOUBLE, JSON kept
-- as TEXT (read back as text on both backends), DISTINCT ON for QUALIFY.
-- A rating carries its generation's model and provider (facts that never change), so the
-- leaderboard's star table needs no join with the whole log when it is not filtered further.
DROP VIEW latest_ratings;
ALTER TABLE ratings ADD COLUMN model VARCHAR;
ALTER TABLE ratings ADD COLUMN provider VARCHAR;
UPDATE ratings SET model = g.model, provider = g.provider
FROM generations g WHERE g.id = ratings.generation_id;
CREATE VIEW latest_ratings AS
SELECT DISTINCT ON (generation_id, criterion, rater) * FROM ratings
ORDER BY generation_id, criterion, rater, created_at DESC, id DESC;
