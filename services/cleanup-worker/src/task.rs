//! The `cleanup` job handler.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use proto::CleanupJob;
use sqlx::PgPool;
use worker_runtime::retry_policy::RetryPolicy;
use worker_runtime::{Attempt, Task, TaskError, TaskPolicy};

use crate::batch_delete::{self, DeleteReport};
use crate::key_guard::KeyGuard;
use crate::orphans;

pub struct CleanupTask {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub pool: PgPool,
    pub guard: KeyGuard,
    /// Passes over failing keys within one job before they become orphans.
    pub delete_passes: u32,
    pub retry: RetryPolicy,
    /// Keys recorded in `orphaned_s3_object` (`worker_cleanup_orphaned_keys_total`).
    pub orphaned_keys: Counter,
}

impl CleanupTask {
    /// Delete the job's keys; record what would not go. Returns what happened, for the log and
    /// for tests.
    pub async fn run(&self, job: &CleanupJob) -> Result<DeleteReport, TaskError> {
        // One key outside the prefixes refuses the whole job: permanent, nothing deleted.
        let keys = self.guard.check_all(job.s3_keys.keys())?;
        let report = batch_delete::delete_keys(&self.s3, &self.bucket, &keys, self.delete_passes, self.retry).await;
        if !report.failed.is_empty() {
            // If this fails (database down) the job is retried; deleting again is harmless.
            orphans::record(&self.pool, &self.bucket, &report.failed, report.passes).await?;
            self.orphaned_keys.inc_by(report.failed.len() as u64);
            let sample: Vec<&str> = report.failed.iter().take(5).map(|f| f.key.as_str()).collect();
            tracing::warn!(orphans = report.failed.len(), ?sample, last_error = %report.failed[0].error, "keys recorded as orphans for sweep-orphans");
        }
        tracing::info!(
            keys = keys.len(),
            deleted = report.deleted,
            requests = report.requests,
            passes = report.passes,
            "cleanup done"
        );
        Ok(report)
    }
}

impl Task for CleanupTask {
    type Job = CleanupJob;
    const CONSUMER: &'static str = "cleanup";

    fn policy(&self) -> TaskPolicy {
        TaskPolicy {
            max_attempts: 3,
            // 5 requests of 1,000 keys per pass, plus the backoff between passes.
            timeout: Duration::from_secs(120) + batch_delete::worst_case_backoff(self.delete_passes, self.retry),
            retry: self.retry,
        }
    }

    fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            "cleanup_orphaned_keys",
            "Keys recorded as orphans for sweep-orphans",
            self.orphaned_keys.clone(),
        );
    }

    async fn handle(&self, job: CleanupJob, _attempt: Attempt) -> Result<(), TaskError> {
        self.run(&job).await.map(|_| ())
    }
}
