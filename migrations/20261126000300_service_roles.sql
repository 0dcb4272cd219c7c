-- One database role per service, with only the privileges its queries use. The migration role
-- (whoever runs `jobctl migrate`: the owner of the schema) stays separate and is the only one
-- that can change the schema.
--
-- The roles are created NOLOGIN when they do not exist. To let a service log in, create the role
-- beforehand with LOGIN and a password (docker-compose and scripts/stack.sh do), or create a
-- login role `IN ROLE` it; this migration never alters an existing role. Roles are cluster-wide,
-- so databases on one cluster share them: creating one is tolerant of a concurrent creator.
DO $$
DECLARE
    service_role text;
BEGIN
    FOREACH service_role IN ARRAY ARRAY['lol_extract_worker', 'lol_cleanup_worker', 'lol_scheduler'] LOOP
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

-- Every service checks at start that the schema is current (DATABASE_MIGRATE=false).
GRANT SELECT ON _sqlx_migrations TO lol_extract_worker, lol_cleanup_worker, lol_scheduler;

-- extract: read the attachment, the match, its teams and the friend dictionary; write results.
GRANT SELECT ON attachment, match, match_team_member, friend, friend_riot_id, friend_alias TO lol_extract_worker;
GRANT SELECT, INSERT, UPDATE ON extraction_result TO lol_extract_worker;

-- cleanup: record orphaned objects; `sweep-orphans` reads and removes them.
GRANT SELECT, INSERT, UPDATE, DELETE ON orphaned_s3_object TO lol_cleanup_worker;

-- scheduler: close due sessions (status and updated_at only) and record ticks.
GRANT SELECT (id, status, starts_at), UPDATE (status, updated_at) ON session TO lol_scheduler;
GRANT SELECT, INSERT, UPDATE ON auto_done_tick TO lol_scheduler;
