-- The prompt library: named prompts whose every save is a new, never-changed
-- version; tags, a note and a favourite star as append-only marks (the newest per name wins);
-- a per-name summary for the page; and the version a generation was made from, so each
-- version knows what it produced.
-- Portable SQL (DuckDB and PostgreSQL).
CREATE TABLE library_versions (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,           -- 1, 2, 3... per name
    created_at TIMESTAMP NOT NULL,
    model VARCHAR NOT NULL,
    provider VARCHAR,
    template_id VARCHAR,
    slots VARCHAR,                      -- JSON text: slot id -> value
    params VARCHAR,                     -- JSON text: aspect_ratio, size, seed
    prompt VARCHAR NOT NULL,            -- as written in the builder (free text or assembled)
    UNIQUE (name, version)
);
CREATE INDEX library_versions_name ON library_versions (name);

CREATE TABLE library_marks (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    tags VARCHAR NOT NULL,              -- JSON text: a sorted list of tags
    note VARCHAR NOT NULL,
    favourite BOOLEAN NOT NULL
);
CREATE INDEX library_marks_name ON library_marks (name);

-- One row per name: its newest version and marks, kept in step by every save and mark in the
-- same transaction, so the library page reads one small table however many versions there are.
CREATE TABLE library_heads (
    name VARCHAR PRIMARY KEY,
    version_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    versions INTEGER NOT NULL,
    saved_at TIMESTAMP NOT NULL,        -- when the newest version was saved
    model VARCHAR NOT NULL,
    prompt VARCHAR NOT NULL,
    tags VARCHAR NOT NULL,              -- as the newest mark says ('[]' before any)
    note VARCHAR NOT NULL,
    favourite BOOLEAN NOT NULL
);

ALTER TABLE generations ADD COLUMN library_version_id VARCHAR;
