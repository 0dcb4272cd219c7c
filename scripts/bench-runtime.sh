#!/usr/bin/env bash
# `make bench-runtime`: no-op jobs through this runtime (JetStream) and through Graphile Worker
# (Postgres) on this machine, one after the other, and a table of both. Graphile Worker runs
# against a fresh database on the bench stack's Postgres 15 (default settings: fsync and
# synchronous_commit on); the runtime against its own nats-server, once with JetStream's
# default sync interval and once with `sync_interval: always`; then jobs through the outbox
# (`jobs.enqueue` on the same Postgres, `outbox-relay`, the runtime on a default-sync server).
#
# Then the drains issue 15 compares (Graphile Worker batched, the runtime's default window on a
# default-sync server) run BENCH_ROUNDS more times (default 4), the two systems taking turns, so
# that both face the machine's swings (±20 % between runs minutes apart on a shared VM); the table
# gives those drains' median over every pass with their range, and the ratio pass by pass. Each
# repeated pass starts with an unreported warm-up drain on both sides, and every Graphile Worker
# drain with a vacuumed jobs table (see bench/graphile/bench.mjs).
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

rounds="${BENCH_ROUNDS:-4}"
for round in $(seq "$rounds"); do
    log "the compared drains again, round $round of $rounds"
    BENCH_DRAINS_ONLY=1 DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/bench_graphile" node bench/graphile/bench.mjs \
        | tee -a "$results"
    BENCH_DRAINS_ONLY=1 cargo bench --quiet -p worker-runtime --bench throughput | tee -a "$results"
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
name = lambda row: row["system"] + (f' ({row["mode"]})' if row["mode"] else "")
systems, metrics, samples, unit = [], [], {}, {}
for row in rows:
    if name(row) not in systems: systems.append(name(row))
    if row["metric"] not in metrics: metrics.append(row["metric"])
    samples.setdefault((name(row), row["metric"]), []).append(row["value"])
    unit[row["metric"]] = row["unit"]
def number(v, u):
    return f"{v:,.1f}" if u == "µs" else f"{v:,.0f}"
def cell(values, u):
    if isinstance(values[0], dict):
        return f'{values[0]["p50"]:.2f} / {values[0]["p99"]:.2f}'
    if len(values) == 1:
        return number(values[0], u)
    return f"{number(statistics.median(values), u)} ({number(min(values), u)}–{number(max(values), u)}, {len(values)} passes)"
print("\n| metric | " + " | ".join(systems) + " |")
print("|---|" + "---|" * len(systems))
for m in metrics:
    label = m + (" p50 / p99 (ms)" if unit[m] == "ms" else f" ({unit[m]})")
    print(f"| {label} | " + " | ".join(cell(samples[s, m], unit[m]) if (s, m) in samples else "—" for s in systems) + " |")
graphile, runtime = "graphile-worker 0.18.0 (batched)", "worker-runtime (JetStream, default sync)"
print("\nRuntime (default window) / Graphile Worker (batched), pass by pass:")
for c in (1, 8, 64):
    pairs = list(zip(samples.get((runtime, f"drain c={c}"), []), samples.get((graphile, f"drain c={c}"), [])))
    ratios = [r / g for r, g in pairs]
    if ratios:
        print(f"- concurrency {c}: " + ", ".join(f"{x:.2f}×" for x in ratios) + f"; median {statistics.median(ratios):.2f}×")
PY
