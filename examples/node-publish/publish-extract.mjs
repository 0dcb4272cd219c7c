// Publish an `extract` job straight to JetStream, the way an API path that writes nothing in
// the same request may, with the job client (clients/typescript) over the official NATS client.
// Where the request also writes rows, enqueue in its transaction instead (`enqueueExtract`,
// see clients/typescript/README.md).
//
//   NATS_URL=nats://127.0.0.1:14222 NATS_USER=api NATS_PASSWORD=… node publish-extract.mjs <attachmentId> <matchId>
//
// - The API connects as its own NATS user, which may publish jobs and read its own replies
//   (`_INBOX_api.>`, hence the inbox prefix) and nothing else: deploy/nats/nats-server.conf.
// - The client checks the payload against proto/schemas/extract_job.schema.json before it
//   leaves: the workers refuse (and dead-letter) anything else.
// - `messageId` (`Nats-Msg-Id`) makes a retried publish store one job: JetStream drops a second
//   message with the same id within the stream's 2-minute window. Derive it from what the
//   request means — here, one extraction per attachment upload.
// - `traceparent` (W3C Trace Context) makes the worker's spans children of this publish. In
//   the API, OpenTelemetry's propagator writes it from the active span; this example builds
//   one so it runs without an SDK, and prints its trace id.
// - The publish resolves only once JetStream has stored the job (the PubAck).
import { randomBytes } from "node:crypto";
import { connect } from "nats";
import { InvalidJobError, publishExtract } from "@lol-naejeon/jobs";

const [attachmentId, matchId] = process.argv.slice(2);
const traceId = randomBytes(16).toString("hex");
const traceparent = `00-${traceId}-${randomBytes(8).toString("hex")}-01`;

const user = process.env.NATS_USER;
const nc = await connect({
  servers: process.env.NATS_URL ?? "nats://127.0.0.1:14222",
  name: "api-example",
  ...(user ? { user, pass: process.env.NATS_PASSWORD, inboxPrefix: `_INBOX_${user}` } : {}),
});
try {
  const ack = await publishExtract(nc.jetstream(), { attachmentId, matchId }, {
    messageId: `extract:${attachmentId}`,
    traceparent,
  });
  console.log(`stored in ${ack.stream} as #${ack.seq}${ack.duplicate ? " (duplicate)" : ""}, trace ${traceId}`);
} catch (error) {
  if (!(error instanceof InvalidJobError)) throw error;
  console.error(error.message);
  process.exitCode = 2;
} finally {
  await nc.drain();
}
