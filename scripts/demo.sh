#!/usr/bin/env bash
# `make demo`: the main job end to end on the local stack, as the app would drive it.
#  1. bring up the stack, build, migrate;
#  2. seed friends, a session and a match with teams A and B (from a committed fixture's job
#     input), and upload the screenshot to S3;
#  3. start extract-worker, cleanup-worker, scheduler and outbox-relay, each as its own NATS user
#     and database role; as the API would, insert the scoreboard's attachment and enqueue its
#     `extract` job (`jobs.enqueue`) in one transaction; the relay publishes it; wait for
#     extraction_result and print it;
#  4. publish a `cleanup` for a scratch object and watch it go; seed a CONFIRMED and a SCHEDULED
#     session played 4 days ago, tick auto-done, and watch only the CONFIRMED one become DONE;
#  5. stop the services with SIGTERM (they drain and exit 0) and the stack.
# KEEP_STACK=1 leaves the stack running afterwards (stop it with `make stack-down`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
started_at=$SECONDS

"$REPO_ROOT/scripts/install-deps.sh"
# Assigned first: a failed `up` then stops the script (inside `eval "$(…)"` it would not).
stack_env="$("$REPO_ROOT/scripts/stack.sh" up)"
eval "$stack_env"
STACK_DIR="${STACK_DIR:-$REPO_ROOT/.stack}"
pids=()
cleanup_demo() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ "${KEEP_STACK:-0}" = 1 ] || "$REPO_ROOT/scripts/stack.sh" down
}
trap cleanup_demo EXIT

log "building the binaries"
cargo build --quiet --bins
bin="$REPO_ROOT/target/debug"
sql() { psql "$DATABASE_URL" -qtAX -c "$1"; }

"$bin/jobctl" migrate

fixture="$REPO_ROOT/ocr/tests/fixtures/es1-0002"
screenshot_key="attachments/demo/$(python3 -c 'import uuid; print(uuid.uuid4())').jpg"
curl -fsS -T "$fixture.jpg" "$S3_ENDPOINT/$S3_BUCKET/$screenshot_key" >/dev/null
read -r session_id match_id < <("$bin/seed-endscreen" --fixture "$fixture.json" --match-only)
log "seeded match $match_id (teams A and B, 25 friends in the dictionary); screenshot at s3://$S3_BUCKET/$screenshot_key"

# Each service runs as its own NATS user and its own database role (deploy/nats/nats-server.conf,
# migrations/*_service_roles.sql); only `jobctl migrate` uses the migration role.
# `exec`, so a service started in the background is the process that gets the demo's SIGTERM;
# run it in a subshell (`&` or parentheses).
as_service() { # NATS user, its password, database role, command...
    local user="$1" password="$2" role="$3"; shift 3
    NATS_USER="$user" NATS_PASSWORD="$password" DATABASE_URL="${DATABASE_URL/postgres@/$role@}" DATABASE_MIGRATE=false exec "$@"
}
as_api() { NATS_USER=api NATS_PASSWORD="$NATS_API_PASSWORD" "$@"; }

log "starting extract-worker, cleanup-worker, scheduler and outbox-relay (logs in $STACK_DIR/*.log)"
HEALTH_ADDR=127.0.0.1:9181 OMP_THREAD_LIMIT=1 as_service extract-worker "$NATS_EXTRACT_WORKER_PASSWORD" lol_extract_worker \
    "$bin/extract-worker" >"$STACK_DIR/extract-worker.log" 2>&1 &
pids+=($!)
HEALTH_ADDR=127.0.0.1:9182 as_service cleanup-worker "$NATS_CLEANUP_WORKER_PASSWORD" lol_cleanup_worker \
    "$bin/cleanup-worker" >"$STACK_DIR/cleanup-worker.log" 2>&1 &
pids+=($!)
HEALTH_ADDR=127.0.0.1:9183 as_service scheduler "$NATS_SCHEDULER_PASSWORD" lol_scheduler \
    "$bin/scheduler" >"$STACK_DIR/scheduler.log" 2>&1 &
pids+=($!)
HEALTH_ADDR=127.0.0.1:9184 as_service outbox-relay "$NATS_OUTBOX_RELAY_PASSWORD" lol_outbox_relay \
    "$bin/outbox-relay" >"$STACK_DIR/outbox-relay.log" 2>&1 &
pids+=($!)
wait_for "extract-worker" 30 curl -fs http://127.0.0.1:9181/readyz
wait_for "cleanup-worker" 30 curl -fs http://127.0.0.1:9182/readyz
wait_for "scheduler" 30 curl -fs http://127.0.0.1:9183/readyz
wait_for "outbox-relay" 30 curl -fs http://127.0.0.1:9184/readyz

# The API's upload-completed request: its row and its job commit together, or neither does.
attachment_id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
trace_id="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
traceparent="00-$trace_id-$(python3 -c 'import secrets; print(secrets.token_hex(8))')-01"
log "one transaction: INSERT attachment $attachment_id + SELECT jobs.enqueue('extract', …), trace $trace_id"
psql "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 <<SQL
BEGIN;
INSERT INTO attachment (id, session_id, match_id, kind, s3_key, content_type, size_bytes)
VALUES ('$attachment_id', '$session_id', '$match_id', 'LOL_RESULT_SCREEN', '$screenshot_key', 'image/jpeg',
        $(stat -c %s "$fixture.jpg"));
SELECT jobs.enqueue('extract', jsonb_build_object('attachmentId', '$attachment_id', 'matchId', '$match_id'),
                    'extract:$attachment_id', '$traceparent');
COMMIT;
SQL
extract_done() { [ -n "$(sql "SELECT 1 FROM extraction_result WHERE attachment_id = '$attachment_id' AND status IN ('DONE', 'FAILED')")" ]; }
wait_for "the extraction result" 60 extract_done
printf '  outbox row: %s\n' "$(sql "SELECT status || ' as stream sequence ' || stream_sequence || ', message id ' || message_id FROM jobs.outbox WHERE message_id = 'extract:$attachment_id'")"
sql "SELECT row_to_json(r) FROM (SELECT status, attempts, model, error, result,
        extract(epoch FROM completed_at - created_at) AS seconds FROM extraction_result WHERE attachment_id = '$attachment_id') r" \
    >"$STACK_DIR/result.json"
sql "SELECT json_object_agg(friend_id, game_name || '#' || tag_line) FROM friend_riot_id" >"$STACK_DIR/friends.json"
python3 "$REPO_ROOT/scripts/show-result.py" "$STACK_DIR/result.json" "$STACK_DIR/friends.json" \
    "$trace_id"

key="attachments/demo/scratch-$attachment_id.png"
curl -fsS -X PUT --data-binary "not really a screenshot" "$S3_ENDPOINT/$S3_BUCKET/$key" >/dev/null
log "uploaded s3://$S3_BUCKET/$key; publishing cleanup"
as_api "$bin/jobctl" publish cleanup "$key"
object_gone() { [ "$(curl -s -o /dev/null -w '%{http_code}' -I "$S3_ENDPOINT/$S3_BUCKET/$key")" = 404 ]; }
wait_for "the scratch object to be deleted" 30 object_gone
log "s3://$S3_BUCKET/$key is gone"

confirmed="$(python3 -c 'import uuid; print(uuid.uuid4())')"
scheduled="$(python3 -c 'import uuid; print(uuid.uuid4())')"
sql "INSERT INTO session (id, status, starts_at) VALUES ('$confirmed', 'CONFIRMED', now() - interval '4 days'), ('$scheduled', 'SCHEDULED', now() - interval '4 days')"
log "seeded a CONFIRMED and a SCHEDULED session from 4 days ago; ticking"
(as_service scheduler "$NATS_SCHEDULER_PASSWORD" lol_scheduler "$bin/scheduler" tick-now)
session_done() { [ "$(sql "SELECT status FROM session WHERE id = '$confirmed'")" = DONE ]; }
wait_for "the auto-done tick" 30 session_done
printf '  CONFIRMED session -> %s, SCHEDULED session -> %s\n' \
    "$(sql "SELECT status FROM session WHERE id = '$confirmed'")" "$(sql "SELECT status FROM session WHERE id = '$scheduled'")"
printf '  last tick: %s\n' "$(sql "SELECT scheduled_at || ', ' || sessions_transitioned || ' session(s) transitioned' FROM auto_done_tick ORDER BY processed_at DESC LIMIT 1")"
printf '  metrics: %s\n' "$(curl -fs http://127.0.0.1:9181/metrics | grep '^worker_jobs_processed_total') / $(curl -fs http://127.0.0.1:9182/metrics | grep '^worker_jobs_processed_total') / $(curl -fs http://127.0.0.1:9183/metrics | grep '^worker_jobs_processed_total')"

log "stopping the services (SIGTERM)"
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid"; done
pids=()
log "done in $((SECONDS - started_at)) s"
