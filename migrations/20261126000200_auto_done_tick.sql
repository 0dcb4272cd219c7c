-- One row per processed auto-done tick. The tick consumer inserts it in the same transaction as
-- the UPDATE of the sessions, so a duplicated or replayed tick finds its row and changes nothing,
-- and the scheduler's backfill can tell whether a scheduled time was already handled.
CREATE TABLE auto_done_tick (
    scheduled_at           timestamptz PRIMARY KEY,
    sessions_transitioned  integer NOT NULL CHECK (sessions_transitioned >= 0),
    processed_at           timestamptz NOT NULL DEFAULT now()
);
