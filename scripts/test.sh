#!/usr/bin/env bash
# `make test`: install what is missing, start a private test stack (its own ports and state
# directory, so it runs beside a developer's `make demo` stack), run the whole suite, stop the
# stack. Extra arguments go to cargo-nextest (e.g. `make test ARGS='-E test(dead_letter)'`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

export STACK_DIR="${TEST_STACK_DIR:-$REPO_ROOT/.stack-test}"
export NATS_PORT=24222 NATS_MONITOR_PORT=28222 PG_PORT=25432 S3_PORT=29000 PROMETHEUS_PORT=29090

"$REPO_ROOT/scripts/install-deps.sh"
# Every run starts from nothing: no databases, streams or objects left by an earlier run.
"$REPO_ROOT/scripts/stack.sh" down >/dev/null 2>&1 || true
rm -rf "$STACK_DIR"
trap '"$REPO_ROOT/scripts/stack.sh" down' EXIT
# Assigned first: a failed `up` then stops the script (inside `eval "$(…)"` it would not).
stack_env="$("$REPO_ROOT/scripts/stack.sh" up)"
eval "$stack_env"
# Tests start their own nats-servers and pass each service its own user; the stack's operator
# credentials must not leak into them.
unset NATS_USER NATS_PASSWORD

# The OTLP collector of the trace tests ships inside the `rotel` wheel.
ROTEL_AGENT_BIN="$(python3 -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')"
export ROTEL_AGENT_BIN
# Tesseract runs single-threaded per call (2-4x faster on this class of machine).
export OMP_THREAD_LIMIT=1
cd "$REPO_ROOT"
# A fresh clone gains nothing from incremental state; it only costs disk (over 1 GB).
if [[ -n "${CI:-}" ]]; then export CARGO_INCREMENTAL=0; fi
cargo nextest run --workspace --no-fail-fast "$@"
