-- Shared daily spending caps. Before a request leaves, its estimated cost is reserved here in
-- the same transaction that checks the caps, so processes and people sharing one database
-- cannot overshoot them together; when the attempt ends its row holds what it really cost.
-- Portable SQL (DuckDB and PostgreSQL).
CREATE TABLE spend_reservations (
    generation_id VARCHAR PRIMARY KEY,
    day DATE NOT NULL,                  -- UTC day the request was sent
    person VARCHAR NOT NULL,            -- who sent it (WORKBENCH_USER, else the OS user)
    amount_usd DOUBLE PRECISION NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX spend_reservations_day ON spend_reservations (day, person);
