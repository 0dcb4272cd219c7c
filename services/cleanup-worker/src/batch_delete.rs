//! `DeleteObjects` in batches, retrying only what failed.
//!
//! S3 deletes at most 1,000 keys per request and reports failures per key in a 200 response, so
//! a request can half-succeed. Each pass sends the keys still to delete; a key S3 reports as
//! already gone (`NoSuchKey`) counts as deleted; a request that fails as a whole (S3 unreachable,
//! timeout) fails all of its keys. Passes are separated by the task's backoff.

use std::time::Duration;

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use tracing::Instrument;
use worker_runtime::retry_policy::RetryPolicy;

use crate::key_guard::AllowedKey;

/// S3's limit of keys per `DeleteObjects` request.
pub const MAX_KEYS_PER_REQUEST: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedKey {
    pub key: AllowedKey,
    pub error: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeleteReport {
    /// `DeleteObjects` requests sent, over all passes.
    pub requests: usize,
    /// Passes made (1 when everything went at once).
    pub passes: u32,
    pub deleted: usize,
    /// Keys that still failed after the last pass, with the last error.
    pub failed: Vec<FailedKey>,
}

/// Delete `keys`, making up to `passes` passes over the keys that failed, `retry` apart.
pub async fn delete_keys(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    keys: &[AllowedKey],
    passes: u32,
    retry: RetryPolicy,
) -> DeleteReport {
    let mut report = DeleteReport::default();
    let mut pending: Vec<AllowedKey> = keys.to_vec();
    for pass in 1..=passes.max(1) {
        if pass > 1 {
            tokio::time::sleep(retry.delay(pass - 1)).await;
        }
        report.passes = pass;
        let outcome = delete_once(client, bucket, &pending).await;
        report.requests += outcome.requests;
        report.deleted += outcome.deleted;
        report.failed = outcome.failed;
        if report.failed.is_empty() {
            break;
        }
        tracing::warn!(pass, failed = report.failed.len(), first_error = %report.failed[0].error, "some keys were not deleted");
        pending = report.failed.iter().map(|f| f.key.clone()).collect();
    }
    report
}

/// One pass: one request per 1,000 keys. Only keys that passed the
/// [`KeyGuard`](crate::key_guard::KeyGuard) can be deleted: every path to `DeleteObjects` runs
/// through it.
pub async fn delete_once(client: &aws_sdk_s3::Client, bucket: &str, keys: &[AllowedKey]) -> DeleteReport {
    let mut report = DeleteReport { passes: 1, ..DeleteReport::default() };
    for batch in keys.chunks(MAX_KEYS_PER_REQUEST) {
        report.requests += 1;
        let span = tracing::info_span!(
            "s3 DeleteObjects",
            otel.kind = "client",
            rpc.system = "aws-api",
            rpc.service = "S3",
            rpc.method = "DeleteObjects",
            aws.s3.bucket = bucket,
            keys = batch.len()
        );
        match delete_batch(client, bucket, batch).instrument(span).await {
            Ok(failed) => {
                report.deleted += batch.len() - failed.len();
                report.failed.extend(failed);
            }
            Err(error) => {
                report.failed.extend(batch.iter().map(|key| FailedKey { key: key.clone(), error: error.clone() }))
            }
        }
    }
    report
}

/// The keys S3 reported as not deleted, or the whole request's error.
async fn delete_batch(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    batch: &[AllowedKey],
) -> Result<Vec<FailedKey>, String> {
    let objects = batch
        .iter()
        .map(|key| ObjectIdentifier::builder().key(key.as_str()).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("building the request: {e}"))?;
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .map_err(|e| format!("building the request: {e}"))?;
    let output = client
        .delete_objects()
        .bucket(bucket)
        .delete(delete)
        .send()
        .await
        .map_err(|e| format!("DeleteObjects failed: {}", aws_sdk_s3::error::DisplayErrorContext(&e)))?;
    // S3 names the failed keys; they are the batch's own (already allowed), found by name.
    Ok(output
        .errors()
        .iter()
        .filter(|error| error.code() != Some("NoSuchKey"))
        .filter_map(|error| {
            let key = batch.iter().find(|key| Some(key.as_str()) == error.key())?;
            let error = format!("{}: {}", error.code().unwrap_or("Unknown"), error.message().unwrap_or_default());
            Some(FailedKey { key: key.clone(), error })
        })
        .collect())
}

/// How long the passes of [`delete_keys`] can wait in total (for the handler's timeout budget).
pub fn worst_case_backoff(passes: u32, retry: RetryPolicy) -> Duration {
    (1..passes).map(|pass| retry.ceiling(pass)).sum()
}
