//! What every message contract shares: its schema, strict decoding and encoding.

use std::fmt;

use serde::{Serialize, de::DeserializeOwned};

/// A message type with a JSON Schema in `proto/schemas/`.
pub trait Contract: Serialize + DeserializeOwned + fmt::Debug {
    /// File stem of the schema, e.g. `extract_job`.
    const NAME: &'static str;
    /// The schema document, compiled into the binary so a worker validates exactly what the
    /// repository documents.
    const SCHEMA: &'static str;

    /// The compiled schema, built once per process.
    fn validator() -> &'static jsonschema::Validator;
}

/// A contract published on a JetStream subject.
pub trait Job: Contract {
    /// The subject (and stream) the job travels on.
    const SUBJECT: &'static str;
    /// Largest payload accepted, in bytes, checked before any parsing: the job stream refuses
    /// bigger publishes and a worker dead-letters a bigger delivery unread. Generous for any
    /// valid message of the contract.
    const MAX_PAYLOAD_BYTES: usize;
}

/// Why a payload is not a valid message. Always names the field (a JSON pointer such as
/// `/s3Keys/3`, or `/` for the document itself), so the publisher can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("payload is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("{contract} schema violation at {field}: {message}")]
    Schema { contract: &'static str, field: String, message: String },
    #[error("{contract} field {field}: {message}")]
    Type { contract: &'static str, field: String, message: String },
}

impl ContractError {
    /// The JSON pointer of the offending field (`/` for the whole document).
    pub fn field(&self) -> &str {
        match self {
            ContractError::NotJson(_) => "/",
            ContractError::Schema { field, .. } | ContractError::Type { field, .. } => field,
        }
    }
}

/// Parse, validate against the schema, then convert into the Rust type.
///
/// The schema check comes first because its errors are the ones the API developers can look
/// up in the contract; the type conversion then catches nothing the schema let through unless
/// the two drift apart, which `proto`'s tests guard against.
pub fn decode<T: Contract>(payload: &[u8]) -> Result<T, ContractError> {
    let value: serde_json::Value = serde_json::from_slice(payload).map_err(ContractError::NotJson)?;
    // Valid payloads take the fast paths (a yes/no schema check, a plain conversion); the
    // error-reporting ones, which collect where a payload went wrong, run only for bad ones.
    let validator = T::validator();
    if !validator.is_valid(&value)
        && let Some(error) = validator.iter_errors(&value).next()
    {
        return Err(ContractError::Schema {
            contract: T::NAME,
            field: pointer_or_root(error.instance_path().to_string()),
            message: error.to_string(),
        });
    }
    match T::deserialize(&value) {
        Ok(message) => Ok(message),
        Err(_) => from_value_unchecked::<T>(value),
    }
}

/// Convert a JSON value into the Rust type alone, without the schema check. [`decode`] is what
/// consumers call; this exists so the contract tests can hold the type to the schema.
pub fn from_value_unchecked<T: Contract>(value: serde_json::Value) -> Result<T, ContractError> {
    serde_path_to_error::deserialize(value).map_err(|error| ContractError::Type {
        contract: T::NAME,
        field: json_pointer(error.path()),
        message: error.into_inner().to_string(),
    })
}

/// Serialise a message. Infallible for our types (no maps with non-string keys).
pub fn encode<T: Contract>(message: &T) -> Vec<u8> {
    serde_json::to_vec(message).expect("contract types always serialise to JSON")
}

pub(crate) fn compile_schema(name: &str, schema: &str) -> jsonschema::Validator {
    let document: serde_json::Value =
        serde_json::from_str(schema).unwrap_or_else(|e| panic!("proto/schemas/{name}.schema.json is not JSON: {e}"));
    jsonschema::options()
        .should_validate_formats(true)
        .build(&document)
        .unwrap_or_else(|e| panic!("proto/schemas/{name}.schema.json is not a valid schema: {e}"))
}

fn pointer_or_root(pointer: String) -> String {
    if pointer.is_empty() { "/".to_owned() } else { pointer }
}

/// serde_path_to_error writes `a.b[3]`; report it as the JSON pointer `/a/b/3` like the schema.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    struct Pointer<'a>(&'a serde_path_to_error::Path);
    impl fmt::Display for Pointer<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for segment in self.0.iter() {
                match segment {
                    serde_path_to_error::Segment::Seq { index } => write!(f, "/{index}")?,
                    serde_path_to_error::Segment::Map { key } => write!(f, "/{key}")?,
                    serde_path_to_error::Segment::Enum { variant } => write!(f, "/{variant}")?,
                    serde_path_to_error::Segment::Unknown => write!(f, "/?")?,
                }
            }
            Ok(())
        }
    }
    pointer_or_root(Pointer(path).to_string())
}

/// Implements [`Contract`] for a type with its schema file, compiling the schema once.
macro_rules! contract {
    ($type:ty, $name:literal) => {
        impl $crate::contract::Contract for $type {
            const NAME: &'static str = $name;
            const SCHEMA: &'static str = include_str!(concat!("../schemas/", $name, ".schema.json"));

            fn validator() -> &'static jsonschema::Validator {
                static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
                VALIDATOR.get_or_init(|| $crate::contract::compile_schema($name, Self::SCHEMA))
            }
        }
    };
}
pub(crate) use contract;
