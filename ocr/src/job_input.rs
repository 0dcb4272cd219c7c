//! Reading a job input document (`lol-ocr extract --input`), with the contract's error codes, so
//! even a rejected input gets an answer in the output format.

use proto::{OcrErrorCode, OcrJobInput, RoiProfile};
use uuid::Uuid;

/// Why an input document was refused, and the `jobId` to answer with: the document's own when
/// it has a readable one, else the nil UUID (the output contract requires one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputRejected {
    pub job_id: Uuid,
    pub code: OcrErrorCode,
    pub message: String,
}

pub fn parse(document: &[u8]) -> Result<OcrJobInput, InputRejected> {
    let value: serde_json::Value = serde_json::from_slice(document).map_err(|e| InputRejected {
        job_id: Uuid::nil(),
        code: OcrErrorCode::InvalidInput,
        message: format!("the input is not JSON: {e}"),
    })?;
    let job_id = value.get("jobId").and_then(|id| id.as_str()).and_then(|id| id.parse().ok()).unwrap_or(Uuid::nil());
    // Checked before the schema, which would report an unknown profile as just another
    // schema violation (and maybe not the first one).
    if let Some(profile) = value.get("roiProfile").and_then(|p| p.as_str())
        && profile != RoiProfile::LolEndscreenV1.to_string()
    {
        return Err(InputRejected {
            job_id,
            code: OcrErrorCode::UnknownRoiProfile,
            message: format!("unknown roiProfile {profile:?}; this build reads {}", RoiProfile::LolEndscreenV1),
        });
    }
    proto::decode::<OcrJobInput>(document).map_err(|e| InputRejected {
        job_id,
        code: OcrErrorCode::InvalidInput,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_json_is_invalid_input_with_the_nil_job_id() {
        let rejected = parse(b"{not json").unwrap_err();
        assert_eq!((rejected.code, rejected.job_id), (OcrErrorCode::InvalidInput, Uuid::nil()));
    }

    #[test]
    fn an_unknown_profile_is_named_and_keeps_the_job_id() {
        let document = br#"{"jobId": "9e6ad231-e1e2-449f-968e-b81f6952cf75", "roiProfile": "DOTA_V2"}"#;
        let rejected = parse(document).unwrap_err();
        assert_eq!(rejected.code, OcrErrorCode::UnknownRoiProfile);
        assert_eq!(rejected.job_id.to_string(), "9e6ad231-e1e2-449f-968e-b81f6952cf75");
        assert!(rejected.message.contains("DOTA_V2"), "{}", rejected.message);
    }

    #[test]
    fn a_schema_violation_names_the_field() {
        let document = br#"{"jobId": "9e6ad231-e1e2-449f-968e-b81f6952cf75", "roiProfile": "LOL_ENDSCREEN_V1"}"#;
        let rejected = parse(document).unwrap_err();
        assert_eq!(rejected.code, OcrErrorCode::InvalidInput);
        assert!(rejected.message.contains("schema violation"), "{}", rejected.message);
    }
}
