// Publish an `extract` job the way the app's API does, with the official NATS client.
//
//   NATS_URL=nats://127.0.0.1:14222 NATS_USER=api NATS_PASSWORD=… node publish-extract.mjs <attachmentId> <matchId>
//
// - The API connects as its own NATS user, which may publish jobs and read its own replies
//   (`_INBOX_api.>`, hence the inbox prefix) and nothing else: deploy/nats/nats-server.conf.
// - The payload is checked against proto/schemas/extract_job.schema.json before it leaves:
//   the workers refuse (and dead-letter) anything else.
// - `Nats-Msg-Id` (the `msgID` option) makes a retried publish store one job: JetStream drops
//   a second message with the same id within the stream's 2-minute window. Derive it from what
//   the request means — here, one extraction per attachment upload.
// - `traceparent` (W3C Trace Context) makes the worker's spans children of this publish. In
//   the API, OpenTelemetry's propagator writes it from the active span; this example builds
//   one so it runs without an SDK, and prints its trace id.
// - The publish resolves only once JetStream has stored the job (the PubAck).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect, headers, JSONCodec } from "nats";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const [attachmentId, matchId] = process.argv.slice(2);
const job = { attachmentId, matchId };

const schema = JSON.parse(
  readFileSync(new URL("../../proto/schemas/extract_job.schema.json", import.meta.url), "utf8"),
);
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);
if (!validate(job)) {
  console.error("not a valid extract job:", ajv.errorsText(validate.errors));
  process.exit(2);
}

const traceId = randomBytes(16).toString("hex");
const spanId = randomBytes(8).toString("hex");
const h = headers();
h.set("traceparent", `00-${traceId}-${spanId}-01`);

const user = process.env.NATS_USER;
const nc = await connect({
  servers: process.env.NATS_URL ?? "nats://127.0.0.1:14222",
  name: "api-example",
  ...(user ? { user, pass: process.env.NATS_PASSWORD, inboxPrefix: `_INBOX_${user}` } : {}),
});
try {
  const ack = await nc.jetstream().publish("extract", JSONCodec().encode(job), {
    msgID: `extract:${attachmentId}`,
    headers: h,
  });
  console.log(`stored in ${ack.stream} as #${ack.seq}${ack.duplicate ? " (duplicate)" : ""}, trace ${traceId}`);
} finally {
  await nc.drain();
}
