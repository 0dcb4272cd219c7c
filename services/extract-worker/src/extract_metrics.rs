//! What the extract task adds to `/metrics`: readings by outcome, warnings by code, and the time
//! of each OCR step — the numbers behind the dashboard's extraction panels and the slow-OCR alert.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::{counter::Counter, family::Family, histogram::Histogram};
use prometheus_client::registry::Registry;
use proto::OcrReading;

use crate::result_store::FailureRecorded;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    /// `done`; `failed`; `failed_beside_reading` (a re-read failed, the earlier reading kept);
    /// `refused` (the job named another match or no scoreboard: nothing written).
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WarningCode {
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Step {
    step: String,
}

#[derive(Debug, Clone)]
pub struct ExtractMetrics {
    results: Family<Outcome, Counter>,
    warnings: Family<WarningCode, Counter>,
    ocr_steps: Family<Step, Histogram>,
}

impl Default for ExtractMetrics {
    fn default() -> Self {
        let results = Family::<Outcome, Counter>::default();
        // Exported at 0 from the start, so the first failure is an increase.
        for outcome in ["done", "failed", "failed_beside_reading", "refused"] {
            drop(results.get_or_create(&Outcome { outcome }));
        }
        ExtractMetrics {
            results,
            warnings: Family::default(),
            ocr_steps: Family::new_with_constructor(|| {
                Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
            }),
        }
    }
}

impl ExtractMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register("extract_results", "Extractions by outcome", self.results.clone());
        registry.register("extract_warnings", "Warnings of DONE readings, by code", self.warnings.clone());
        registry.register(
            "ocr_step_seconds",
            "Time of each OCR step (download, detect, names, ...)",
            self.ocr_steps.clone(),
        );
    }

    /// A reading was stored.
    pub fn done(&self, reading: &OcrReading) {
        self.results.get_or_create(&Outcome { outcome: "done" }).inc();
        for warning in &reading.warnings {
            let code = serde_json::to_value(warning.code).ok().and_then(|v| v.as_str().map(str::to_owned));
            self.warnings.get_or_create(&WarningCode { code: code.unwrap_or_default() }).inc();
        }
        for (step, ms) in &reading.timings {
            self.ocr_steps.get_or_create(&Step { step: step.clone() }).observe(ms / 1000.0);
        }
    }

    /// A job was given up on.
    pub fn given_up(&self, recorded: FailureRecorded) {
        let outcome = match recorded {
            FailureRecorded::Failed => "failed",
            FailureRecorded::BesideEarlierReading => "failed_beside_reading",
            FailureRecorded::Refused => "refused",
        };
        self.results.get_or_create(&Outcome { outcome }).inc();
    }
}
