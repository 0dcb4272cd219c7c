// The API's two ways to start a job (see README.md):
//
// - `enqueueExtract` / `enqueueCleanup`: call `jobs.enqueue` on the caller's Postgres client,
//   inside the transaction that writes the API's own rows. The job exists exactly when that
//   transaction commits; `outbox-relay` publishes it. This is the way that cannot lose a job.
// - `publishExtract` / `publishCleanup`: publish straight to JetStream and wait for the PubAck.
//   Fine where nothing is written in the same request; a job lost between a commit and the
//   publish is found later by the scheduler's sweep (extract only).
//
// Both validate the job against its JSON Schema first, so nothing a worker would refuse leaves.
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { headers, JSONCodec, type JetStreamClient, type PubAck } from "nats";

import type { CleanupJob } from "./generated/cleanup_job.js";
import type { ExtractJob } from "./generated/extract_job.js";
import { schemas } from "./generated/schemas.js";

export type { CleanupJob, ExtractJob };

/** How a job is recognised as a duplicate, and which trace it continues. */
export interface JobOptions {
  /** De-duplication key (`Nats-Msg-Id`): derive it from what the request means, e.g.
   * `extract:<attachmentId>`. Enqueued without one, the outbox uses `outbox:<row id>`. */
  messageId?: string;
  /** W3C `traceparent` of the API's active span, so the worker's spans join its trace. */
  traceparent?: string;
}

/** Anything with `pg`'s `query(text, values)`: a `Client`, a `PoolClient`, or a wrapper of one
 * (an ORM's transaction handle). Pass the client the transaction runs on. */
export interface Queryable {
  query(text: string, values: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** A job that does not match its contract; nothing was sent or written. */
export class InvalidJobError extends Error {
  constructor(
    readonly subject: string,
    readonly problems: string,
  ) {
    super(`not a valid ${subject} job: ${problems}`);
    this.name = "InvalidJobError";
  }
}

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: true, allErrors: true }));
const validators = {
  extract: ajv.compile<ExtractJob>(schemas.extract_job),
  cleanup: ajv.compile<CleanupJob>(schemas.cleanup_job),
};
type Subject = keyof typeof validators;

function checked(subject: Subject, job: unknown): string {
  const validate = validators[subject];
  if (!validate(job)) {
    throw new InvalidJobError(subject, ajv.errorsText(validate.errors));
  }
  return JSON.stringify(job);
}

async function enqueue(client: Queryable, subject: Subject, job: unknown, options: JobOptions): Promise<bigint> {
  const payload = checked(subject, job);
  const { rows } = await client.query("SELECT jobs.enqueue($1, $2::jsonb, $3, $4) AS id", [
    subject,
    payload,
    options.messageId ?? null,
    options.traceparent ?? null,
  ]);
  return BigInt(String(rows[0]?.id));
}

async function publish(js: JetStreamClient, subject: Subject, job: unknown, options: JobOptions): Promise<PubAck> {
  const payload = checked(subject, job);
  const h = headers();
  if (options.traceparent) h.set("traceparent", options.traceparent);
  return js.publish(subject, JSONCodec().encode(JSON.parse(payload)), {
    ...(options.messageId ? { msgID: options.messageId } : {}),
    headers: h,
  });
}

/** Enqueue `extract` in the caller's transaction; resolves to the outbox row's id. */
export function enqueueExtract(client: Queryable, job: ExtractJob, options: JobOptions = {}): Promise<bigint> {
  return enqueue(client, "extract", job, options);
}

/** Enqueue `cleanup` in the caller's transaction; resolves to the outbox row's id. */
export function enqueueCleanup(client: Queryable, job: CleanupJob, options: JobOptions = {}): Promise<bigint> {
  return enqueue(client, "cleanup", job, options);
}

/** Publish `extract` to JetStream; resolves once it is stored (`duplicate` if it already was). */
export function publishExtract(js: JetStreamClient, job: ExtractJob, options: JobOptions = {}): Promise<PubAck> {
  return publish(js, "extract", job, options);
}

/** Publish `cleanup` to JetStream; resolves once it is stored (`duplicate` if it already was). */
export function publishCleanup(js: JetStreamClient, job: CleanupJob, options: JobOptions = {}): Promise<PubAck> {
  return publish(js, "cleanup", job, options);
}
