// The client against the real services of `make test`, started by tests/tests/typescript_client.rs:
// a nats-server with the shipped users (this connects as `api`) and a migrated database that
// this reaches as `lol_api` (API_DATABASE_URL) and inspects as its owner (OWNER_DATABASE_URL).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connect } from "nats";
import pg from "pg";

import { enqueueCleanup, enqueueExtract, InvalidJobError, publishCleanup, publishExtract } from "../dist/index.js";

const job = { attachmentId: "6f9619ff-8b86-4d01-b42d-00c04fc964ff", matchId: "0b3f2c1e-2a4d-4e6f-8a1b-9c0d1e2f3a4b" };
const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
let nc, api, owner;

before(async () => {
  nc = await connect({
    servers: process.env.NATS_URL,
    user: process.env.NATS_USER,
    pass: process.env.NATS_PASSWORD,
    inboxPrefix: `_INBOX_${process.env.NATS_USER}`,
  });
  api = new pg.Client({ connectionString: process.env.API_DATABASE_URL });
  owner = new pg.Client({ connectionString: process.env.OWNER_DATABASE_URL });
  await Promise.all([api.connect(), owner.connect()]);
});

after(async () => {
  await Promise.all([nc.drain(), api.end(), owner.end()]);
});

const outbox = async () =>
  (await owner.query("SELECT subject, payload, message_id, traceparent FROM jobs.outbox ORDER BY id")).rows;

test("an enqueue rolled back with its transaction leaves no job; a committed one leaves exactly one", async () => {
  await api.query("BEGIN");
  await enqueueExtract(api, job, { messageId: "rolled-back" });
  await api.query("ROLLBACK");
  assert.deepEqual(await outbox(), []);

  await api.query("BEGIN");
  const id = await enqueueExtract(api, job, { messageId: `extract:${job.attachmentId}`, traceparent });
  await api.query("COMMIT");
  assert.equal(typeof id, "bigint");
  assert.deepEqual(await outbox(), [
    { subject: "extract", payload: job, message_id: `extract:${job.attachmentId}`, traceparent },
  ]);
});

test("an invalid job is refused before anything is written or sent", async () => {
  const before = (await outbox()).length;
  await assert.rejects(enqueueCleanup(api, { s3Keys: [] }), InvalidJobError);
  await assert.rejects(enqueueExtract(api, { ...job, matchId: "not-a-uuid" }), /matchId/);
  await assert.rejects(publishExtract(nc.jetstream(), { attachmentId: job.attachmentId }), InvalidJobError);
  assert.equal((await outbox()).length, before);
});

test("the database's refusal reaches the caller", async () => {
  const keys = Array.from({ length: 2000 }, (_, n) => `attachments/${"k".repeat(600)}-${n}.png`);
  await assert.rejects(enqueueCleanup(api, { s3Keys: keys }), /over the subject's limit/);
});

test("a direct publish is stored once per message id, in the caller's trace", async () => {
  const js = nc.jetstream();
  const first = await publishExtract(js, job, { messageId: "direct-1", traceparent });
  assert.equal(first.stream, "JOBS_EXTRACT");
  assert.equal(first.duplicate, false);
  const again = await publishExtract(js, job, { messageId: "direct-1", traceparent });
  assert.equal(again.duplicate, true);
  assert.equal(again.seq, first.seq);
  const cleanup = await publishCleanup(js, { s3Keys: ["attachments/a.png"] }, { messageId: "direct-2" });
  assert.equal(cleanup.stream, "JOBS_CLEANUP");
});
