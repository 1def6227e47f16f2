-- Lineage: the generation a refinement started from (a draft carried to another model, with
-- or without its image as a reference). NULL for a generation made from scratch.
ALTER TABLE generations ADD COLUMN parent_id VARCHAR;
