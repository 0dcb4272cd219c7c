//! Holds the Rust types and the JSON Schemas to each other through the examples beside the
//! schemas: `examples/<contract>/valid/*.json` must pass both, and
//! `examples/<contract>/invalid/<field>--<why>.json` must be rejected by both, each time with a
//! message that names `<field>`.

use std::path::{Path, PathBuf};

use proto::{AutoDoneTick, CleanupJob, Contract, ExtractJob, OcrJobInput, OcrJobOutput};

fn examples(contract: &str, kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(contract).join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no {kind} examples in {}", dir.display());
    files
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn schema_errors<T: Contract>(value: &serde_json::Value) -> Vec<String> {
    T::validator().iter_errors(value).map(|error| format!("{} ({error})", error.instance_path())).collect()
}

fn valid_examples_pass_schema_and_type<T: Contract + PartialEq>() {
    for path in examples(T::NAME, "valid") {
        let value = read_json(&path);
        let errors = schema_errors::<T>(&value);
        assert!(errors.is_empty(), "{}: schema rejects it: {errors:?}", path.display());
        let typed: T = proto::from_value_unchecked(value.clone())
            .unwrap_or_else(|e| panic!("{}: type rejects it: {e}", path.display()));
        // What Rust writes must be valid too, and read back as the same value.
        let reencoded = serde_json::to_value(&typed).expect("serialisable");
        assert_eq!(schema_errors::<T>(&reencoded), Vec::<String>::new(), "{}", path.display());
        let reread: T = proto::from_value_unchecked(reencoded).expect("own output decodes");
        assert_eq!(reread, typed, "{}: round trip changed the message", path.display());
        let bytes = serde_json::to_vec(&value).expect("serialisable");
        proto::decode::<T>(&bytes).unwrap_or_else(|e| panic!("{}: decode failed: {e}", path.display()));
    }
}

fn invalid_examples_fail_schema_and_type_naming_the_field<T: Contract>() {
    for path in examples(T::NAME, "invalid") {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("utf-8 file name");
        let (field, _why) = stem.split_once("--").unwrap_or_else(|| panic!("{stem}: name it <field>--<why>"));
        let value = read_json(&path);

        let errors = schema_errors::<T>(&value);
        assert!(!errors.is_empty(), "{}: schema accepts it", path.display());
        assert!(
            errors.iter().any(|e| e.contains(field)),
            "{}: no schema error names {field}: {errors:?}",
            path.display()
        );

        let type_error = proto::from_value_unchecked::<T>(value.clone())
            .err()
            .unwrap_or_else(|| panic!("{}: the Rust type accepts it", path.display()));
        assert!(type_error.to_string().contains(field), "{}: {type_error} does not name {field}", path.display());

        let bytes = serde_json::to_vec(&value).expect("serialisable");
        let decode_error = proto::decode::<T>(&bytes).expect_err("decode must reject it");
        assert!(decode_error.to_string().contains(field), "{}: {decode_error}", path.display());
    }
}

#[test]
fn extract_job_examples() {
    valid_examples_pass_schema_and_type::<ExtractJob>();
    invalid_examples_fail_schema_and_type_naming_the_field::<ExtractJob>();
}

#[test]
fn cleanup_job_examples() {
    valid_examples_pass_schema_and_type::<CleanupJob>();
    invalid_examples_fail_schema_and_type_naming_the_field::<CleanupJob>();
}

#[test]
fn auto_done_tick_examples() {
    valid_examples_pass_schema_and_type::<AutoDoneTick>();
    invalid_examples_fail_schema_and_type_naming_the_field::<AutoDoneTick>();
}

#[test]
fn ocr_job_input_examples() {
    valid_examples_pass_schema_and_type::<OcrJobInput>();
    invalid_examples_fail_schema_and_type_naming_the_field::<OcrJobInput>();
}

#[test]
fn ocr_job_output_examples() {
    valid_examples_pass_schema_and_type::<OcrJobOutput>();
    invalid_examples_fail_schema_and_type_naming_the_field::<OcrJobOutput>();
}

#[test]
fn every_schema_file_has_examples_and_a_type() {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let mut names: Vec<String> = std::fs::read_dir(schemas)
        .expect("schemas dir")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().replace(".schema.json", ""))
        .collect();
    names.sort();
    let typed = [AutoDoneTick::NAME, CleanupJob::NAME, ExtractJob::NAME, OcrJobInput::NAME, OcrJobOutput::NAME];
    assert_eq!(names, typed);
}

#[test]
fn auto_done_ticks_for_the_same_instant_share_a_message_id() {
    let utc: AutoDoneTick = proto::decode(br#"{"scheduledAt":"2026-11-26T19:00:00Z"}"#).expect("valid");
    let kst: AutoDoneTick = proto::decode(br#"{"scheduledAt":"2026-11-27T04:00:00+09:00"}"#).expect("valid");
    assert_eq!(utc.message_id(), "auto_done:2026-11-26T19:00:00Z");
    assert_eq!(kst.message_id(), utc.message_id());
}

#[test]
fn non_json_payload_is_reported_as_such() {
    let error = proto::decode::<ExtractJob>(b"attachment please").expect_err("not JSON");
    assert!(matches!(error, proto::ContractError::NotJson(_)), "{error}");
}
