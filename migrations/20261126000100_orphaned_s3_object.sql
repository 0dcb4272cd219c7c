-- S3 objects the cleanup worker could not delete after its retries. `cleanup-worker
-- sweep-orphans` tries them again and removes the rows of the ones it deletes.
CREATE TABLE orphaned_s3_object (
    bucket         text NOT NULL,
    key            text NOT NULL,
    last_error     text NOT NULL,
    attempts       integer NOT NULL CHECK (attempts >= 1),
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, key)
);
