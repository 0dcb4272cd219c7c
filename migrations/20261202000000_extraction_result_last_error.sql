-- A re-read of an attachment that fails keeps the earlier DONE reading (the app already used it);
-- why the latest attempt failed, and when, is kept beside it.
ALTER TABLE extraction_result
    ADD COLUMN last_error    text,
    ADD COLUMN last_error_at timestamptz,
    ADD CHECK ((last_error IS NULL) = (last_error_at IS NULL));
