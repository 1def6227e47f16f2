-- Team mode: the Leaderboard's speed, cost and failure table at a million generations.
-- Aggregating the log itself takes seconds on PostgreSQL (a full scan and a sort per model), so
-- a trigger keeps counts per (model, provider, status, category, template, cost kind) and, for
-- succeeded attempts, a histogram of latency in buckets 2% wide. Counts and costs read from it
-- are exact; latency percentiles are the centre of the bucket holding that rank (within 1%).
-- store/performance.py reads it when the filter uses only these columns, and the log otherwise.
CREATE TABLE generation_summary (
    model VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    category VARCHAR,
    template_id VARCHAR,
    cost_kind VARCHAR,
    latency_bucket INTEGER,             -- succeeded with a latency: floor(ln(ms) / ln(1.02)); -1 below 1 ms
    n BIGINT NOT NULL,
    cost_sum NUMERIC NOT NULL,          -- exact sums: rows leave the summary as they entered it
    cost_n BIGINT NOT NULL,
    UNIQUE NULLS NOT DISTINCT (model, provider, status, category, template_id, cost_kind,
                               latency_bucket)
);

CREATE FUNCTION generation_latency_bucket(status VARCHAR, ms DOUBLE PRECISION) RETURNS INTEGER
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN status <> 'succeeded' OR ms IS NULL THEN NULL
                WHEN ms < 1 THEN -1
                ELSE floor(ln(ms) / ln(1.02))::INTEGER END
$$;

CREATE FUNCTION generation_summary_add(g generations, sign INTEGER) RETURNS VOID
LANGUAGE sql AS $$
    INSERT INTO generation_summary AS s (model, provider, status, category, template_id,
        cost_kind, latency_bucket, n, cost_sum, cost_n)
    VALUES (g.model, g.provider, g.status, g.category, g.template_id, g.cost_kind,
        generation_latency_bucket(g.status, g.latency_ms), sign,
        sign * coalesce(g.cost_usd, 0)::NUMERIC, sign * (g.cost_usd IS NOT NULL)::INTEGER)
    ON CONFLICT (model, provider, status, category, template_id, cost_kind, latency_bucket)
    DO UPDATE SET n = s.n + excluded.n, cost_sum = s.cost_sum + excluded.cost_sum,
        cost_n = s.cost_n + excluded.cost_n
$$;

CREATE FUNCTION generation_summary_trigger() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM generation_summary_add(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM generation_summary_add(NEW, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER generation_summary_insert_delete AFTER INSERT OR DELETE ON generations
FOR EACH ROW EXECUTE FUNCTION generation_summary_trigger();
-- Only updates that move a row to another key or change its cost (not every write of a run).
CREATE TRIGGER generation_summary_update AFTER UPDATE ON generations
FOR EACH ROW WHEN ((OLD.model, OLD.provider, OLD.status, OLD.category, OLD.template_id,
                    OLD.cost_kind, OLD.latency_ms, OLD.cost_usd)
                   IS DISTINCT FROM
                   (NEW.model, NEW.provider, NEW.status, NEW.category, NEW.template_id,
                    NEW.cost_kind, NEW.latency_ms, NEW.cost_usd))
EXECUTE FUNCTION generation_summary_trigger();

-- Rebuilt from the log (here, and after a bulk load that bypassed the triggers).
CREATE FUNCTION generation_summary_rebuild() RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM generation_summary;
    INSERT INTO generation_summary (model, provider, status, category, template_id, cost_kind,
        latency_bucket, n, cost_sum, cost_n)
    SELECT model, provider, status, category, template_id, cost_kind,
        generation_latency_bucket(status, latency_ms), count(*),
        coalesce(sum(cost_usd::NUMERIC), 0), count(cost_usd)
    FROM generations
    GROUP BY 1, 2, 3, 4, 5, 6, 7
$$;
SELECT generation_summary_rebuild();
