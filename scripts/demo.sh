#!/usr/bin/env bash
# `make demo`: the system on the local stack, end to end as far as it is built today.
#  1. bring up the stack, build, migrate;
#  2. publish an `extract` job through the runtime's publish helper (as the API would), twice
#     with the same Nats-Msg-Id, and show that JetStream stored it once (the extract worker does
#     not consume yet: see the README's status);
#  3. start cleanup-worker and scheduler; publish a `cleanup` for a scratch S3 object and watch
#     it disappear; seed a CONFIRMED and a SCHEDULED session played 4 days ago, run
#     `scheduler tick-now`, and watch only the CONFIRMED one become DONE;
#  4. stop the services with SIGTERM (they drain and exit 0) and the stack.
# KEEP_STACK=1 leaves the stack running afterwards (stop it with `make stack-down`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
started_at=$SECONDS

"$REPO_ROOT/scripts/install-deps.sh"
eval "$("$REPO_ROOT/scripts/stack.sh" up)"
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

attachment_id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
match_id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
log "publishing extract {attachmentId: $attachment_id, matchId: $match_id}, twice with one Nats-Msg-Id"
"$bin/jobctl" publish --message-id "demo-$attachment_id" extract --attachment-id "$attachment_id" --match-id "$match_id"
"$bin/jobctl" publish --message-id "demo-$attachment_id" extract --attachment-id "$attachment_id" --match-id "$match_id"
"$bin/jobctl" peek extract

log "starting cleanup-worker and scheduler (logs in $STACK_DIR/*.log)"
HEALTH_ADDR=127.0.0.1:9182 "$bin/cleanup-worker" >"$STACK_DIR/cleanup-worker.log" 2>&1 &
pids+=($!)
HEALTH_ADDR=127.0.0.1:9183 "$bin/scheduler" >"$STACK_DIR/scheduler.log" 2>&1 &
pids+=($!)
wait_for "cleanup-worker" 30 curl -fs http://127.0.0.1:9182/readyz
wait_for "scheduler" 30 curl -fs http://127.0.0.1:9183/readyz

key="attachments/demo/scratch-$attachment_id.png"
curl -fsS -X PUT --data-binary "not really a screenshot" "$S3_ENDPOINT/$S3_BUCKET/$key" >/dev/null
log "uploaded s3://$S3_BUCKET/$key; publishing cleanup"
"$bin/jobctl" publish cleanup "$key"
object_gone() { [ "$(curl -s -o /dev/null -w '%{http_code}' -I "$S3_ENDPOINT/$S3_BUCKET/$key")" = 404 ]; }
wait_for "the scratch object to be deleted" 30 object_gone
log "s3://$S3_BUCKET/$key is gone"

confirmed="$(python3 -c 'import uuid; print(uuid.uuid4())')"
scheduled="$(python3 -c 'import uuid; print(uuid.uuid4())')"
sql "INSERT INTO session (id, status, starts_at) VALUES ('$confirmed', 'CONFIRMED', now() - interval '4 days'), ('$scheduled', 'SCHEDULED', now() - interval '4 days')"
log "seeded a CONFIRMED and a SCHEDULED session from 4 days ago; ticking"
"$bin/scheduler" tick-now
session_done() { [ "$(sql "SELECT status FROM session WHERE id = '$confirmed'")" = DONE ]; }
wait_for "the auto-done tick" 30 session_done
printf '  CONFIRMED session -> %s, SCHEDULED session -> %s\n' \
    "$(sql "SELECT status FROM session WHERE id = '$confirmed'")" "$(sql "SELECT status FROM session WHERE id = '$scheduled'")"
printf '  last tick: %s\n' "$(sql "SELECT scheduled_at || ', ' || sessions_transitioned || ' session(s) transitioned' FROM auto_done_tick ORDER BY processed_at DESC LIMIT 1")"
printf '  metrics: %s\n' "$(curl -fs http://127.0.0.1:9182/metrics | grep '^worker_jobs_processed_total') / $(curl -fs http://127.0.0.1:9183/metrics | grep '^worker_jobs_processed_total')"

log "stopping the services (SIGTERM)"
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid"; done
pids=()
log "done in $((SECONDS - started_at)) s"
