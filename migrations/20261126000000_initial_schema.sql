-- The game-night tracker's tables that the workers read and write. Table names are singular,
-- as in the app's original plan. Enum-like columns are text with CHECK constraints so the API
-- (TypeScript) and the workers (Rust) share plain strings.

CREATE TABLE friend (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A friend's current Riot IDs (`gameName#tagLine`), the primary identities for OCR matching.
-- A Riot ID belongs to one friend at most.
CREATE TABLE friend_riot_id (
    friend_id   uuid NOT NULL REFERENCES friend (id) ON DELETE CASCADE,
    game_name   text NOT NULL CHECK (length(game_name) BETWEEN 1 AND 16 AND position('#' IN game_name) = 0),
    tag_line    text NOT NULL CHECK (length(tag_line) BETWEEN 2 AND 5 AND position('#' IN tag_line) = 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (game_name, tag_line)
);
CREATE INDEX friend_riot_id_friend_id_idx ON friend_riot_id (friend_id);

-- Older or alternative game names a friend is still known by (the OCR's secondary names).
CREATE TABLE friend_alias (
    friend_id   uuid NOT NULL REFERENCES friend (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (friend_id, name)
);

CREATE TABLE session (
    id          uuid PRIMARY KEY,
    status      text NOT NULL DEFAULT 'SCHEDULED' CHECK (status IN ('SCHEDULED', 'CONFIRMED', 'DONE')),
    starts_at   timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Serves the daily auto-done UPDATE (`status = 'CONFIRMED' AND starts_at < now() - 3 days`).
-- An index predicate cannot call now(), so the partial index holds every CONFIRMED session by
-- starts_at and the range condition is an index scan over it.
CREATE INDEX session_confirmed_starts_at_idx ON session (starts_at) WHERE status = 'CONFIRMED';

CREATE TABLE match (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES session (id) ON DELETE CASCADE,
    seq_no      integer NOT NULL CHECK (seq_no >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (session_id, seq_no),
    -- Target of attachment's composite key: an attachment's match is in the attachment's session.
    UNIQUE (id, session_id)
);

CREATE TABLE match_team_member (
    match_id    uuid NOT NULL REFERENCES match (id) ON DELETE CASCADE,
    -- A friend who played cannot be deleted out from under a recorded match.
    friend_id   uuid NOT NULL REFERENCES friend (id) ON DELETE RESTRICT,
    team        text NOT NULL CHECK (team IN ('A', 'B')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (match_id, friend_id)
);
CREATE INDEX match_team_member_friend_id_idx ON match_team_member (friend_id);

CREATE TABLE attachment (
    id            uuid PRIMARY KEY,
    session_id    uuid NOT NULL REFERENCES session (id) ON DELETE CASCADE,
    match_id      uuid,
    kind          text NOT NULL CHECK (kind IN ('LOL_RESULT_SCREEN', 'PHOTO', 'OTHER')),
    s3_key        text NOT NULL UNIQUE CHECK (length(s3_key) BETWEEN 1 AND 1024),
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL CHECK (size_bytes >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Deleting a match keeps its uploads in the session and only forgets the match.
    FOREIGN KEY (match_id, session_id) REFERENCES match (id, session_id) ON DELETE SET NULL (match_id)
);
CREATE INDEX attachment_match_id_idx ON attachment (match_id);
CREATE INDEX attachment_session_id_idx ON attachment (session_id);

CREATE TABLE extraction_result (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    attachment_id  uuid NOT NULL UNIQUE REFERENCES attachment (id) ON DELETE CASCADE,
    status         text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'FAILED')),
    model          text,
    result         jsonb,
    error          text,
    attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,
    CHECK (status <> 'DONE' OR (result IS NOT NULL AND model IS NOT NULL AND completed_at IS NOT NULL)),
    CHECK (status <> 'FAILED' OR (error IS NOT NULL AND completed_at IS NOT NULL))
);
