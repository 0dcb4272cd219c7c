#!/usr/bin/env bash
# `make bench-runtime`: no-op jobs through this runtime (JetStream) and through Graphile Worker
# (Postgres) on this machine, one after the other, and a table of both. Graphile Worker runs
# against a fresh database on the bench stack's Postgres 15 (default settings: fsync and
# synchronous_commit on); the runtime against its own nats-server, once with JetStream's
# default sync interval and once with `sync_interval: always`; then jobs through the outbox
# (`jobs.enqueue` on the same Postgres, `outbox-relay`, the runtime on a default-sync server).
#
# Sizes: BENCH_JOBS (drain, default 20000), BENCH_ENQUEUE_JOBS (5000), BENCH_LATENCY_JOBS (1000).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

# Below the kernel's ephemeral range (32768–60999), where an outgoing connection can hold a port,
# and apart from the default stack's and the test stack's (`scripts/test.sh`) ports.
export STACK_DIR="$REPO_ROOT/.stack-bench" NATS_PORT=26222 NATS_MONITOR_PORT=26822 PG_PORT=26432 S3_PORT=26900 \
    PROMETHEUS_PORT=26090
"$REPO_ROOT/scripts/install-deps.sh"
trap '"$REPO_ROOT/scripts/stack.sh" down' EXIT
# Assigned first: a failed `up` then stops the script (inside `eval "$(…)"` it would not).
stack_env="$("$REPO_ROOT/scripts/stack.sh" up)"
eval "$stack_env"
results="$(mktemp)"

log "Graphile Worker"
(cd bench/graphile && npm ci --no-audit --no-fund --silent)
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "DROP DATABASE IF EXISTS bench_graphile" -c "CREATE DATABASE bench_graphile"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/bench_graphile" node bench/graphile/bench.mjs | tee -a "$results"

log "worker-runtime"
cargo bench --quiet -p worker-runtime --bench throughput | tee -a "$results"

log "the outbox (jobs.enqueue → outbox-relay → runtime)"
cargo bench --quiet -p outbox-relay --bench outbox | tee -a "$results"

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
def cell(row):
    v = row["value"]
    if isinstance(v, dict):
        return f'{v["p50"]:.2f} / {v["p99"]:.2f}'
    return f"{v:,.1f}" if row["unit"] == "µs" else f"{v:,.0f}"
systems = []
for row in rows:
    name = row["system"] + (f' ({row["mode"]})' if row["mode"] else "")
    if name not in systems: systems.append(name)
metrics = []
for row in rows:
    if row["metric"] not in metrics: metrics.append(row["metric"])
table = {(r["system"] + (f' ({r["mode"]})' if r["mode"] else ""), r["metric"]): cell(r) for r in rows}
unit = {r["metric"]: r["unit"] for r in rows}
print("\n| metric | " + " | ".join(systems) + " |")
print("|---|" + "---|" * len(systems))
for m in metrics:
    label = m + (" p50 / p99 (ms)" if unit[m] == "ms" else f" ({unit[m]})")
    print(f"| {label} | " + " | ".join(table.get((s, m), "—") for s in systems) + " |")
PY
