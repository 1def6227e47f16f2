-- The adherence judge: question sets per prompt text and judge model (an edit is a new version),
-- every judge call as a write-ahead ledger row (so a call that reached Google is never lost and
-- never sent twice), answers and scores per image, question set and judge model, and the judge's
-- pairwise verdicts as votes of a rater named after the judge model, kept apart from people's.
-- Portable SQL (DuckDB and PostgreSQL).
CREATE TABLE judge_question_sets (
    id VARCHAR PRIMARY KEY,
    prompt_hash VARCHAR NOT NULL,       -- sha256 of the prompt text as sent
    prompt VARCHAR NOT NULL,
    judge_model VARCHAR NOT NULL,
    version INTEGER NOT NULL,           -- 1 as generated; each edit adds the next
    source VARCHAR NOT NULL,            -- generated | edited
    questions VARCHAR NOT NULL,         -- JSON text: [{id, question, category, parents}]
    call_id VARCHAR,                    -- the call that generated it (NULL for an edit)
    created_at TIMESTAMP NOT NULL,
    created_by VARCHAR,
    UNIQUE (prompt_hash, judge_model, version)
);

CREATE TABLE judge_calls (
    id VARCHAR PRIMARY KEY,             -- also the key of its spending reservation
    kind VARCHAR NOT NULL,              -- questions | answers | pair
    cache_key VARCHAR NOT NULL,         -- what the call is about; a done one is never re-sent
    judge_model VARCHAR NOT NULL,
    status VARCHAR NOT NULL,            -- pending | done | failed
    reserved_usd DOUBLE PRECISION NOT NULL,
    cost_usd DOUBLE PRECISION,          -- from the billed tokens; NULL while unknown
    input_tokens INTEGER,
    output_tokens INTEGER,
    thinking_tokens INTEGER,
    finish_reason VARCHAR,
    error_kind VARCHAR,
    error_message VARCHAR,
    provider_ms DOUBLE PRECISION,
    result VARCHAR,                     -- JSON text: the parsed answer of a done call
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    created_by VARCHAR
);
CREATE INDEX judge_calls_key ON judge_calls (cache_key);

CREATE TABLE judge_scores (
    image_sha256 VARCHAR NOT NULL,
    question_set_id VARCHAR NOT NULL,
    judge_model VARCHAR NOT NULL,
    score DOUBLE PRECISION NOT NULL,    -- DSG: share of questions counted yes
    answers VARCHAR NOT NULL,           -- JSON text: [{id, answer, counted, reason}]
    call_id VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (image_sha256, question_set_id, judge_model)
);

CREATE TABLE judge_votes (
    id VARCHAR PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    left_generation_id VARCHAR NOT NULL, -- the pair in a fixed order (smaller image hash left)
    right_generation_id VARCHAR NOT NULL,
    left_sha256 VARCHAR NOT NULL,
    right_sha256 VARCHAR NOT NULL,
    left_model VARCHAR NOT NULL,
    right_model VARCHAR NOT NULL,
    left_provider VARCHAR,
    right_provider VARCHAR,
    criterion VARCHAR NOT NULL,
    category VARCHAR,
    prompt VARCHAR NOT NULL,
    prompt_hash VARCHAR NOT NULL,
    winner VARCHAR NOT NULL CHECK (winner IN ('left', 'right', 'tie')),
    first_order VARCHAR NOT NULL,       -- left shown first: left | right | tie
    second_order VARCHAR NOT NULL,      -- right shown first, mapped back: left | right | tie
    rater VARCHAR NOT NULL,             -- judge:<model id>
    call_ids VARCHAR NOT NULL,          -- JSON text: the two calls
    UNIQUE (left_sha256, right_sha256, prompt_hash, rater)
);
