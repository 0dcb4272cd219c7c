//! The screenshot from S3, under a size limit: the bytes never exceed [`MAX_BYTES`]
//! in memory, whatever the object's size or its declared length.

use aws_sdk_s3::error::SdkError;
use proto::OcrErrorCode;

use ocr::decode::MAX_BYTES;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("s3://{bucket}/{key} does not exist")]
    NotFound { bucket: String, key: String },
    #[error("s3://{bucket}/{key} is over the limit of {MAX_BYTES} bytes")]
    TooLarge { bucket: String, key: String },
    #[error("downloading s3://{bucket}/{key}: {reason}")]
    Failed { bucket: String, key: String, reason: String },
}

impl DownloadError {
    /// The contract's error code.
    pub fn code(&self) -> OcrErrorCode {
        match self {
            DownloadError::NotFound { .. } => OcrErrorCode::ImageNotFound,
            DownloadError::TooLarge { .. } => OcrErrorCode::ImageTooLarge,
            DownloadError::Failed { .. } => OcrErrorCode::DownloadFailed,
        }
    }
}

/// Only a failed transfer (network, S3 unavailable, timeout) can succeed on a later try.
impl worker_runtime::Classify for DownloadError {
    fn failure(&self) -> worker_runtime::Failure {
        match self {
            DownloadError::Failed { .. } => worker_runtime::Failure::Retryable,
            DownloadError::NotFound { .. } | DownloadError::TooLarge { .. } => worker_runtime::Failure::Permanent,
        }
    }
}

pub async fn download(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, DownloadError> {
    let failed = |reason: String| DownloadError::Failed { bucket: bucket.to_owned(), key: key.to_owned(), reason };
    let too_large = || DownloadError::TooLarge { bucket: bucket.to_owned(), key: key.to_owned() };
    let object = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(object) => object,
        Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => {
            return Err(DownloadError::NotFound { bucket: bucket.to_owned(), key: key.to_owned() });
        }
        // `{:#}`-style detail: the SDK's Display says only "service error".
        Err(e) => return Err(failed(aws_sdk_s3::error::DisplayErrorContext(e).to_string())),
    };
    let declared = object.content_length().unwrap_or(0).max(0) as usize;
    if declared > MAX_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(declared);
    let mut body = object.body;
    while let Some(chunk) = body.try_next().await.map_err(|e| failed(e.to_string()))? {
        // The declared length can lie; the limit holds on what actually arrives.
        if bytes.len() + chunk.len() > MAX_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
