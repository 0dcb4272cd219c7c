-- Jobs enqueued inside the API's own transaction (the transactional outbox). The API calls
-- `jobs.enqueue(...)` in the transaction that writes its rows; the row commits or rolls back with
-- them, and `outbox-relay` publishes committed rows to JetStream and marks them published.
-- Everything lives in the schema `jobs`, which the API's role can reach only through
-- `jobs.enqueue` (SECURITY DEFINER): it can neither read nor change the queue itself.

CREATE SCHEMA jobs;

-- The subjects the outbox may carry, and the byte limit of each one's stream (the contract's
-- `Job::MAX_PAYLOAD_BYTES`; a test keeps the two in step). The scheduler's own `auto_done` tick is
-- not enqueued by the API, so it is not here.
CREATE TABLE jobs.subject (
    name               text PRIMARY KEY,
    max_payload_bytes  integer NOT NULL CHECK (max_payload_bytes > 0)
);
INSERT INTO jobs.subject (name, max_payload_bytes) VALUES ('extract', 1024), ('cleanup', 1048576);

CREATE TABLE jobs.outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject          text NOT NULL REFERENCES jobs.subject (name),
    payload          jsonb NOT NULL,
    -- The caller's de-duplication key; NULL means `outbox:<id>`.
    message_id       text,
    -- The caller's W3C trace context, so the job continues the API request's trace.
    traceparent      text,
    -- PENDING until JetStream acknowledged it (PUBLISHED); REJECTED when the relay found the
    -- payload outside the contract, which retrying cannot fix.
    status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'PUBLISHED', 'REJECTED')),
    -- Failed publish attempts so far, and when the next one is due (backoff).
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    published_at     timestamptz,
    stream_sequence  bigint,
    CHECK (status <> 'PUBLISHED' OR (published_at IS NOT NULL AND stream_sequence IS NOT NULL)),
    CHECK (status <> 'REJECTED' OR last_error IS NOT NULL)
);
-- The relay's claim: pending rows in order of enqueueing. Published rows leave the index.
CREATE INDEX outbox_pending_idx ON jobs.outbox (id) WHERE status = 'PENDING';
-- The relay's pruning of published rows past their retention.
CREATE INDEX outbox_published_at_idx ON jobs.outbox (published_at) WHERE status = 'PUBLISHED';

CREATE FUNCTION jobs.enqueue(subject text, payload jsonb, message_id text DEFAULT NULL, traceparent text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    byte_limit  integer;
    byte_size   integer;
    enqueued    bigint;
BEGIN
    SELECT s.max_payload_bytes INTO byte_limit FROM jobs.subject s WHERE s.name = enqueue.subject;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'jobs.enqueue: unknown subject %', coalesce(quote_literal(enqueue.subject), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'known subjects: ' || (SELECT string_agg(s.name, ', ' ORDER BY s.name) FROM jobs.subject s);
    END IF;
    IF enqueue.payload IS NULL OR jsonb_typeof(enqueue.payload) <> 'object' THEN
        RAISE EXCEPTION 'jobs.enqueue: the % payload must be a JSON object, not %',
                enqueue.subject, coalesce(jsonb_typeof(enqueue.payload), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- jsonb's text form is never shorter than the compact JSON the relay publishes.
    byte_size := octet_length(enqueue.payload::text);
    IF byte_size > byte_limit THEN
        RAISE EXCEPTION 'jobs.enqueue: the % payload is % bytes, over the subject''s limit of % bytes',
                enqueue.subject, byte_size, byte_limit
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    IF enqueue.message_id IS NOT NULL AND (enqueue.message_id !~ '^[[:graph:]]+$' OR length(enqueue.message_id) > 256) THEN
        RAISE EXCEPTION 'jobs.enqueue: message_id must be 1 to 256 visible characters without spaces'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF enqueue.traceparent IS NOT NULL AND enqueue.traceparent !~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' THEN
        RAISE EXCEPTION 'jobs.enqueue: traceparent % is not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)',
                quote_literal(enqueue.traceparent)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO jobs.outbox (subject, payload, message_id, traceparent)
    VALUES (enqueue.subject, enqueue.payload, enqueue.message_id, enqueue.traceparent)
    RETURNING id INTO enqueued;
    -- Delivered at commit, and only then; a rolled-back transaction notifies nobody.
    PERFORM pg_notify('jobs_outbox', enqueue.subject);
    RETURN enqueued;
END
$$;

-- Uploads whose extract job fell through: a scoreboard attached to a match, older than
-- `older_than`, with no extraction row (the worker writes one when an attempt starts). Each is
-- enqueued at most once ever (`jobs.swept_attachment`), so a job that is slow to run is not
-- enqueued again at every sweep. Safe with several schedulers sweeping at once: the insert into
-- `swept_attachment` decides who enqueues. Returns how many were enqueued.
CREATE TABLE jobs.swept_attachment (
    attachment_id  uuid PRIMARY KEY REFERENCES public.attachment (id) ON DELETE CASCADE,
    swept_at       timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION jobs.sweep_unextracted(older_than interval, max_rows integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    due       record;
    enqueued  integer := 0;
BEGIN
    FOR due IN
        SELECT a.id, a.match_id
        FROM public.attachment a
        WHERE a.kind = 'LOL_RESULT_SCREEN'
          AND a.match_id IS NOT NULL
          AND a.created_at < now() - older_than
          AND NOT EXISTS (SELECT 1 FROM public.extraction_result r WHERE r.attachment_id = a.id)
          AND NOT EXISTS (SELECT 1 FROM jobs.swept_attachment s WHERE s.attachment_id = a.id)
        ORDER BY a.created_at
        LIMIT max_rows
    LOOP
        INSERT INTO jobs.swept_attachment (attachment_id) VALUES (due.id) ON CONFLICT (attachment_id) DO NOTHING;
        IF FOUND THEN
            PERFORM jobs.enqueue('extract', jsonb_build_object('attachmentId', due.id, 'matchId', due.match_id),
                                 'sweep:extract:' || due.id);
            enqueued := enqueued + 1;
        END IF;
    END LOOP;
    RETURN enqueued;
END
$$;

-- Functions are executable by PUBLIC by default; here only the named roles may.
REVOKE ALL ON FUNCTION jobs.enqueue(text, jsonb, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION jobs.sweep_unextracted(interval, integer) FROM PUBLIC;

DO $$
DECLARE
    service_role text;
BEGIN
    FOREACH service_role IN ARRAY ARRAY['lol_api', 'lol_outbox_relay'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = service_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', service_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- created meanwhile by a migration of another database on this cluster
            END;
        END IF;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA jobs TO lol_api, lol_outbox_relay, lol_scheduler;

-- The API: enqueue, nothing else of the job machinery.
GRANT EXECUTE ON FUNCTION jobs.enqueue(text, jsonb, text, text) TO lol_api;

-- The relay: claim, mark and prune outbox rows; check the schema at start.
GRANT SELECT, UPDATE, DELETE ON jobs.outbox TO lol_outbox_relay;
GRANT SELECT ON _sqlx_migrations TO lol_outbox_relay;

-- The scheduler: the periodic sweep for uploads whose job fell through.
GRANT EXECUTE ON FUNCTION jobs.sweep_unextracted(interval, integer) TO lol_scheduler;
