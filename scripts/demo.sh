#!/usr/bin/env bash
# `make demo`: bring up the local stack, apply migrations, publish a sample `extract` job through
# the runtime's publish helper (as the API would) and show it stored in JetStream.
# KEEP_STACK=1 leaves the stack running afterwards (stop it with `make stack-down`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

"$REPO_ROOT/scripts/install-deps.sh"
eval "$("$REPO_ROOT/scripts/stack.sh" up)"
[ "${KEEP_STACK:-0}" = 1 ] || trap '"$REPO_ROOT/scripts/stack.sh" down' EXIT

log "building the binaries"
cargo build --quiet --bins
jobctl="$REPO_ROOT/target/debug/jobctl"

"$jobctl" migrate
attachment_id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
match_id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
log "publishing extract {attachmentId: $attachment_id, matchId: $match_id}"
"$jobctl" publish --message-id "demo-$attachment_id" extract --attachment-id "$attachment_id" --match-id "$match_id"
log "publishing it again with the same Nats-Msg-Id: JetStream keeps one"
"$jobctl" publish --message-id "demo-$attachment_id" extract --attachment-id "$attachment_id" --match-id "$match_id"
"$jobctl" peek extract
