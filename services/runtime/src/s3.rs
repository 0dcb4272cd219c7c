//! The S3 client of the workers that touch the attachments bucket (extract, cleanup).
//!
//! Credentials come from the standard AWS chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
//! profiles, instance roles). `S3_ENDPOINT` points the client at MinIO or a local S3 API server;
//! unset, it talks to AWS. Timeouts are short and explicit so a dead S3 turns into a retryable
//! error within seconds instead of a stuck job.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Region, retry::RetryConfig, timeout::TimeoutConfig};
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct S3Config {
    /// S3 API endpoint (MinIO, a local S3 server); empty = AWS itself.
    #[arg(long, env = "S3_ENDPOINT", default_value = "http://127.0.0.1:19000")]
    pub s3_endpoint: String,

    /// Bucket holding the attachments.
    #[arg(long, env = "S3_BUCKET", default_value = "attachments")]
    pub s3_bucket: String,

    /// Region of the bucket.
    #[arg(long, env = "AWS_REGION", default_value = "ap-northeast-2")]
    pub aws_region: String,

    /// Path-style URLs (`endpoint/bucket/key`), needed by MinIO and local servers.
    #[arg(long, env = "S3_FORCE_PATH_STYLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub s3_force_path_style: bool,

    /// Longest one S3 request attempt may take, in milliseconds.
    #[arg(long, env = "S3_TIMEOUT_MS", default_value_t = 10_000)]
    pub s3_timeout_ms: u64,
}

/// Build the client. The SDK retries a failed request once more itself (2 attempts); retries
/// beyond that are the job's business, with the job's backoff.
pub async fn client(config: &S3Config) -> aws_sdk_s3::Client {
    let shared =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new(config.aws_region.clone())).load().await;
    let timeout = Duration::from_millis(config.s3_timeout_ms);
    let mut builder = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(config.s3_force_path_style)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout.min(Duration::from_secs(3)))
                .operation_attempt_timeout(timeout)
                .build(),
        );
    if !config.s3_endpoint.is_empty() {
        builder = builder.endpoint_url(&config.s3_endpoint);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}
