#!/bin/sh
# docker-compose's Postgres runs this once, when it initialises an empty data directory: one login
# role per service, with the password from the container's environment. The migrations
# (migrations/*_service_roles.sql) grant each role its privileges; until then they can do nothing.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v extract="$LOL_EXTRACT_WORKER_PASSWORD" -v cleanup="$LOL_CLEANUP_WORKER_PASSWORD" -v scheduler="$LOL_SCHEDULER_PASSWORD" \
    -v relay="$LOL_OUTBOX_RELAY_PASSWORD" -v api="$LOL_API_PASSWORD" <<'SQL'
CREATE ROLE lol_extract_worker LOGIN PASSWORD :'extract';
CREATE ROLE lol_cleanup_worker LOGIN PASSWORD :'cleanup';
CREATE ROLE lol_scheduler LOGIN PASSWORD :'scheduler';
CREATE ROLE lol_outbox_relay LOGIN PASSWORD :'relay';
CREATE ROLE lol_api LOGIN PASSWORD :'api';
SQL
