//! `lol-ocr extract`: read one post-game scoreboard for a job input, the way the extract worker
//! does, from a file or from S3. stdout carries only the output JSON; logs go to stderr; the exit
//! code is 0 when the status is `done` and 1 when it is `failed`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use ocr::pipeline::{self, Pipeline};
use ocr::{debug_image, job_input};
use ocr_service::download;
use proto::{OcrErrorCode, OcrJobInput, OcrJobOutput};

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The job input JSON (proto/schemas/ocr_job_input.schema.json).
    #[arg(long)]
    input: PathBuf,
    /// Read this file instead of downloading `s3.bucket`/`s3.key`.
    #[arg(long)]
    image: Option<PathBuf>,
    /// Also write the capture with the anchors, cells, readings and matches drawn on it (PNG).
    #[arg(long)]
    debug_image: Option<PathBuf>,
    /// S3 API endpoint (MinIO, a local S3 server); empty = AWS itself. Credentials come from the
    /// standard AWS variables; the region from the input's `s3.region`.
    #[arg(long, env = "S3_ENDPOINT", default_value = "http://127.0.0.1:19000")]
    s3_endpoint: String,
    /// Path-style URLs (`endpoint/bucket/key`), needed by MinIO and local servers.
    #[arg(long, env = "S3_FORCE_PATH_STYLE", default_value_t = true, action = clap::ArgAction::Set)]
    s3_force_path_style: bool,
    #[command(flatten)]
    ppocr: ocr_service::ModelArgs,
}

pub fn run(args: &ExtractArgs) -> ExitCode {
    let started = Instant::now();
    let (input, output, image, found) = match extract(args) {
        Ok(read) => read,
        Err(failure) => {
            let output = pipeline::early_failure(failure.job_id, failure.code, failure.message, started.elapsed());
            return finish(&output);
        }
    };
    if let Some(path) = &args.debug_image {
        match ocr::decode::decode(&image) {
            Ok(pixels) => match debug_image::render(&pixels, &input, &output, found.as_ref()).save(path) {
                Ok(()) => eprintln!("lol-ocr: debug image written to {}", path.display()),
                Err(e) => eprintln!("lol-ocr: writing the debug image {}: {e}", path.display()),
            },
            Err(e) => eprintln!("lol-ocr: no debug image: {e}"),
        }
    }
    finish(&output)
}

fn finish(output: &OcrJobOutput) -> ExitCode {
    println!("{}", serde_json::to_string_pretty(output).expect("the output serialises"));
    match output {
        OcrJobOutput::Done(_) => ExitCode::SUCCESS,
        OcrJobOutput::Failed(failure) => {
            eprintln!("lol-ocr: failed: {:?}: {}", failure.error.code, failure.error.message);
            ExitCode::FAILURE
        }
    }
}

/// What was read: the input, the pipeline's output, the image bytes and the layout found.
type Extracted = (OcrJobInput, OcrJobOutput, Vec<u8>, Option<ocr::layout::Layout>);

/// The capture of the job input, read — or why there was nothing to read.
fn extract(args: &ExtractArgs) -> Result<Extracted, job_input::InputRejected> {
    let document = std::fs::read(&args.input).map_err(|e| job_input::InputRejected {
        job_id: uuid::Uuid::nil(),
        code: OcrErrorCode::InvalidInput,
        message: format!("reading {}: {e}", args.input.display()),
    })?;
    let input = job_input::parse(&document)?;
    let rejected = |code, message| job_input::InputRejected { job_id: input.job_id, code, message };

    let downloading = Instant::now();
    let image = match &args.image {
        Some(path) => std::fs::read(path)
            .map_err(|e| rejected(OcrErrorCode::ImageNotFound, format!("reading {}: {e}", path.display())))?,
        None => fetch(args, &input).map_err(|e| rejected(e.code(), e.to_string()))?,
    };
    let download_time = downloading.elapsed();

    let engine_error = |e: ocr::engine::EngineError| rejected(OcrErrorCode::OcrEngineError, e.to_string());
    let models = args.ppocr.load().map_err(engine_error)?;
    let (mut output, found) = Pipeline::standard(models).map_err(engine_error)?.run_with_layout(&input, &image);
    if args.image.is_none() {
        pipeline::record_step(&mut output, "download", download_time);
    }
    Ok((input, output, image, found))
}

fn fetch(args: &ExtractArgs, input: &OcrJobInput) -> Result<Vec<u8>, download::DownloadError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a Tokio runtime");
    runtime.block_on(async {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(input.s3.region.clone()))
            .load()
            .await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared).force_path_style(args.s3_force_path_style);
        if !args.s3_endpoint.is_empty() {
            config = config.endpoint_url(&args.s3_endpoint);
        }
        let client = aws_sdk_s3::Client::from_conf(config.build());
        download::download(&client, &input.s3.bucket, &input.s3.key).await
    })
}
