-- Team mode: the Leaderboard's summary (0015) keeps apart the failures the workbench caused
-- (error_kind 'storage': the image arrived, and was billed, but could not be stored here;
-- 'internal': a bug in the workbench), which count in no model's attempts or failures but
-- whose cost still counts in what was spent (store/performance.py). The table is rebuilt from
-- the log with the new key column; the trigger on updates also fires when error_kind changes.
DROP TABLE generation_summary;
CREATE TABLE generation_summary (
    model VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    category VARCHAR,
    template_id VARCHAR,
    cost_kind VARCHAR,
    latency_bucket INTEGER,             -- succeeded with a latency: floor(ln(ms) / ln(1.02)); -1 below 1 ms
    workbench_fault BOOLEAN NOT NULL,   -- failed because of the workbench, not the model
    n BIGINT NOT NULL,
    cost_sum NUMERIC NOT NULL,          -- exact sums: rows leave the summary as they entered it
    cost_n BIGINT NOT NULL,
    UNIQUE NULLS NOT DISTINCT (model, provider, status, category, template_id, cost_kind,
                               latency_bucket, workbench_fault)
);

CREATE FUNCTION generation_workbench_fault(status VARCHAR, error_kind VARCHAR) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE AS $$
    SELECT status = 'failed' AND coalesce(error_kind, '') IN ('storage', 'internal')
$$;

CREATE OR REPLACE FUNCTION generation_summary_add(g generations, sign INTEGER) RETURNS VOID
LANGUAGE sql AS $$
    INSERT INTO generation_summary AS s (model, provider, status, category, template_id,
        cost_kind, latency_bucket, workbench_fault, n, cost_sum, cost_n)
    VALUES (g.model, g.provider, g.status, g.category, g.template_id, g.cost_kind,
        generation_latency_bucket(g.status, g.latency_ms),
        generation_workbench_fault(g.status, g.error_kind), sign,
        sign * coalesce(g.cost_usd, 0)::NUMERIC, sign * (g.cost_usd IS NOT NULL)::INTEGER)
    ON CONFLICT (model, provider, status, category, template_id, cost_kind, latency_bucket,
                 workbench_fault)
    DO UPDATE SET n = s.n + excluded.n, cost_sum = s.cost_sum + excluded.cost_sum,
        cost_n = s.cost_n + excluded.cost_n
$$;

DROP TRIGGER generation_summary_update ON generations;
CREATE TRIGGER generation_summary_update AFTER UPDATE ON generations
FOR EACH ROW WHEN ((OLD.model, OLD.provider, OLD.status, OLD.category, OLD.template_id,
                    OLD.cost_kind, OLD.latency_ms, OLD.cost_usd, OLD.error_kind)
                   IS DISTINCT FROM
                   (NEW.model, NEW.provider, NEW.status, NEW.category, NEW.template_id,
                    NEW.cost_kind, NEW.latency_ms, NEW.cost_usd, NEW.error_kind))
EXECUTE FUNCTION generation_summary_trigger();

CREATE OR REPLACE FUNCTION generation_summary_rebuild() RETURNS VOID LANGUAGE sql AS $$
    DELETE FROM generation_summary;
    INSERT INTO generation_summary (model, provider, status, category, template_id, cost_kind,
        latency_bucket, workbench_fault, n, cost_sum, cost_n)
    SELECT model, provider, status, category, template_id, cost_kind,
        generation_latency_bucket(status, latency_ms),
        generation_workbench_fault(status, error_kind), count(*),
        coalesce(sum(cost_usd::NUMERIC), 0), count(cost_usd)
    FROM generations
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
$$;
SELECT generation_summary_rebuild();
