// The Graphile Worker side of scripts/bench-runtime.sh: no-op jobs through graphile-worker on
// the given Postgres (its default durability: fsync per commit). Prints one JSON object per
// measurement on stdout.
//
//   DATABASE_URL=postgres://… BENCH_JOBS=20000 node bench.mjs
//
// With BENCH_DRAINS_ONLY=1, only the batched drains (the ones issue 15 compares the runtime
// with), after an unreported warm-up drain: the script runs them again between the runtime's,
// so both face the same machine.
import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import { makeWorkerUtils, run } from "graphile-worker";

const connectionString = process.env.DATABASE_URL;
const JOBS = Number(process.env.BENCH_JOBS ?? 20000);
const ENQUEUE_JOBS = Number(process.env.BENCH_ENQUEUE_JOBS ?? 5000);
const LATENCY_JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 1000);
const WARM_UP_JOBS = 2000;
const CONCURRENCIES = [1, 8, 64];
const MODES = {
  default: {},
  batched: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
};
const silent = { scope: () => silent, debug() {}, info() {}, warn() {}, error: console.error };
const report = (mode, metric, value, unit) =>
  console.log(JSON.stringify({ system: "graphile-worker 0.18.0", mode, metric, value, unit }));

const utils = await makeWorkerUtils({ connectionString, logger: silent });
await utils.migrate();

if (process.env.BENCH_DRAINS_ONLY === "1") {
  // A fresh process's first drain is slower than the full run's, which follows other work in
  // the same process (V8 compiling the hot paths): Graphile Worker's concurrency-1 drain, the
  // first, went from 34k to 40k jobs/s (median of six alternated runs) after one unreported
  // drain. The runtime's side warms up the same way.
  await queue(WARM_UP_JOBS);
  await drain("batched", 8, WARM_UP_JOBS, MODES.batched);
  await drains("batched");
  await utils.release();
  process.exit(0);
}

// Enqueue: one addJob at a time, each awaited (as an API request handler would).
let started = performance.now();
for (let i = 0; i < ENQUEUE_JOBS; i++) await utils.addJob("noop", { i });
report("default", "enqueue", ENQUEUE_JOBS / ((performance.now() - started) / 1000), "jobs/s");
await drain("default", 1, ENQUEUE_JOBS); // leave the queue empty

for (const mode of Object.keys(MODES)) {
  await drains(mode);
  report(mode, "add→start", await latency(MODES[mode]), "ms");
}
await utils.release();

async function drains(mode) {
  for (const concurrency of CONCURRENCIES) {
    await queue(JOBS);
    const seconds = await drain(mode, concurrency, JOBS, MODES[mode]);
    report(mode, `drain c=${concurrency}`, JOBS / seconds, "jobs/s");
  }
}

// `count` jobs in a freshly kept table. Every drain leaves 20,000 dead rows in the jobs table;
// unvacuumed, they slowed each later drain (39k → 26k jobs/s over five passes of three drains,
// until autovacuum came by), so the passes the script repeats would have met a worse-kept
// Postgres each time. So every drain starts from a vacuumed table whose statistics count the
// jobs it holds, as autovacuum and autoanalyze keep it in a steady state (a vacuum of the
// emptied table alone leaves the planner counting no rows while it holds 20,000).
async function queue(count) {
  await utils.withPgClient((client) => client.query("VACUUM"));
  await fill(count);
  await utils.withPgClient((client) => client.query("ANALYZE"));
}

async function fill(count) {
  for (let i = 0; i < count; i += 1000) {
    const specs = Array.from({ length: Math.min(1000, count - i) }, (_, n) => ({ identifier: "noop", payload: { n: i + n } }));
    await utils.addJobs(specs);
  }
}

async function drain(mode, concurrency, count, preset = {}) {
  const events = new EventEmitter();
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  events.on("job:complete", () => {
    if (++done === count) finish();
  });
  const begin = performance.now();
  const runner = await run({
    connectionString,
    concurrency,
    maxPoolSize: Math.max(10, concurrency + 2),
    noHandleSignals: true,
    pollInterval: 1000,
    logger: silent,
    events,
    preset,
    taskList: { noop: async () => {} },
  });
  await finished;
  const seconds = (performance.now() - begin) / 1000;
  await runner.stop();
  return seconds;
}

async function latency(preset) {
  let onStart;
  const runner = await run({
    connectionString,
    concurrency: 1,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: silent,
    preset,
    taskList: { lat: async () => onStart(performance.now()) },
  });
  const samples = [];
  for (let i = 0; i < LATENCY_JOBS; i++) {
    const startedAt = new Promise((resolve) => (onStart = resolve));
    const t0 = performance.now();
    await utils.addJob("lat", { i });
    samples.push((await startedAt) - t0);
  }
  await runner.stop();
  samples.sort((a, b) => a - b);
  const pick = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { p50: pick(0.5), p99: pick(0.99) };
}
