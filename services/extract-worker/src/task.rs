//! The `extract` job handler: Postgres → S3 → OCR → `extraction_result`.

use std::time::{Duration, Instant};

use ocr::pipeline;
use ocr_service::download;
use proto::{ExtractJob, OcrError, OcrJobOutput, OcrReading};
use sqlx::PgPool;
use tracing::Instrument as _;
use worker_runtime::retry_policy::RetryPolicy;
use worker_runtime::{Attempt, Classify, Failure, GiveUp, Task, TaskError, TaskPolicy};

use crate::extract_metrics::ExtractMetrics;
use crate::ocr_input;
use crate::reader::OcrReader;
use crate::result_store;

pub struct ExtractTask {
    pub pool: PgPool,
    pub s3: aws_sdk_s3::Client,
    /// Bucket and region of the attachments, as the OCR input names them.
    pub bucket: String,
    pub region: String,
    pub ocr: OcrReader,
    pub retry: RetryPolicy,
    pub metrics: ExtractMetrics,
}

/// Longest one attempt may take, download and OCR included (the plan's figure).
pub const TIMEOUT: Duration = Duration::from_secs(60);

impl ExtractTask {
    /// Read the job's screenshot and store the result. Returns the stored reading.
    pub async fn run(&self, job: &ExtractJob, attempt: Attempt) -> Result<OcrReading, TaskError> {
        let attachment_id = job.attachment_id;
        tracing::info!(%attachment_id, match_id = %job.match_id, %attempt, "lol_endscreen_extract: started");
        let loading = Instant::now();
        let input = ocr_input::build(&self.pool, job, &self.bucket, &self.region)
            .instrument(tracing::info_span!("db load ocr input", db.system = "postgresql"))
            .await?;
        result_store::attempt_started(&self.pool, attachment_id, attempt.number).await?;
        let load_time = loading.elapsed();

        let downloading = Instant::now();
        let image = download::download(&self.s3, &input.s3.bucket, &input.s3.key)
            .instrument(tracing::info_span!(
                "s3 GetObject",
                aws.s3.bucket = %input.s3.bucket,
                aws.s3.key = %input.s3.key
            ))
            .await?;
        let download_time = downloading.elapsed();

        let image_bytes = image.len();
        let reading_started = Instant::now();
        let mut output = self
            .ocr
            .read(input, image)
            .instrument(tracing::info_span!("ocr read scoreboard", image.bytes = image_bytes))
            .await?;
        let ocr_time = reading_started.elapsed();
        pipeline::record_step(&mut output, "download", download_time);
        let reading = match output {
            OcrJobOutput::Done(reading) => reading,
            OcrJobOutput::Failed(failure) => return Err(ReadingFailed(failure.error).into()),
        };

        let writing = Instant::now();
        let result = serde_json::to_value(OcrJobOutput::Done(reading.clone())).map_err(TaskError::permanent)?;
        result_store::done(&self.pool, attachment_id, &model_name(&reading), &result, attempt.number)
            .instrument(tracing::info_span!("db upsert extraction_result", db.system = "postgresql"))
            .await?;
        self.metrics.done(&reading);
        tracing::info!(
            %attachment_id,
            status = "DONE",
            winner_side = ?reading.winner_side,
            team_a_side = ?reading.team_a_side,
            confidence_winner = reading.confidence.winner.get(),
            confidence_team_a_side = reading.confidence.team_a_side.get(),
            download_ms = download_time.as_millis() as u64,
            ocr_ms = ocr_time.as_millis() as u64,
            db_ms = (load_time + writing.elapsed()).as_millis() as u64,
            "lol_endscreen_extract: completed"
        );
        Ok(reading)
    }
}

impl Task for ExtractTask {
    type Job = ExtractJob;
    const CONSUMER: &'static str = "extract";

    fn policy(&self) -> TaskPolicy {
        TaskPolicy { max_attempts: 3, timeout: TIMEOUT, retry: self.retry }
    }

    fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.metrics.register(registry);
    }

    async fn handle(&self, job: ExtractJob, attempt: Attempt) -> Result<(), TaskError> {
        self.run(&job, attempt).await.map(|_| ())
    }

    async fn on_exhausted(&self, job: &ExtractJob, why: GiveUp<'_>, attempt: Attempt) -> anyhow::Result<()> {
        let error = why.to_string();
        let recorded = result_store::failed(&self.pool, job, &error, attempt.number).await?;
        self.metrics.given_up(recorded);
        tracing::warn!(
            attachment_id = %job.attachment_id,
            %attempt,
            error,
            reason = %why.reason(),
            recorded = ?recorded,
            "lol_endscreen_extract: failed"
        );
        Ok(())
    }
}

/// e.g. `tesseract 5.3.0 kor+eng; lol-ocr 0.1.0; LOL_ENDSCREEN_V1`.
fn model_name(reading: &OcrReading) -> String {
    let versions: Vec<String> = reading
        .model
        .versions
        .iter()
        .map(|(name, version)| if name == "engine" { version.clone() } else { format!("{name} {version}") })
        .collect();
    format!("{}; {}", versions.join("; "), reading.model.profile)
}

/// The reader answered with the contract's failure: its code says whether a new attempt can
/// read the capture (an engine error) or never will (not a scoreboard, an image too large).
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", .0.code, .0.message)]
pub struct ReadingFailed(pub OcrError);

impl Classify for ReadingFailed {
    fn failure(&self) -> Failure {
        if self.0.code.is_permanent() { Failure::Permanent } else { Failure::Retryable }
    }
}
