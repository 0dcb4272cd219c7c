//! Property tests standing in for a fuzzer on payload decoding: random bytes, random JSON and
//! byte-level mutations of the valid examples go through `proto::decode` for every job contract.
//! It must never panic, must refuse with a message, and whatever it accepts must survive an
//! encode/decode round trip unchanged. `make test` runs the default case count; raise
//! `PROPTEST_CASES` for a longer session.

use proptest::prelude::*;
use proto::{AutoDoneTick, CleanupJob, Contract, ExtractJob};

const CASES: u32 = 512;

fn valid_examples() -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut examples = Vec::new();
    for contract in ["extract_job", "cleanup_job", "auto_done_tick"] {
        let dir = root.join(contract).join("valid");
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            examples.push(std::fs::read(entry.expect("directory entry").path()).expect("read example"));
        }
    }
    assert!(!examples.is_empty(), "no valid examples found");
    examples
}

/// Decode as `T`: either a value that round-trips, or an error that says something.
fn check<T: Contract + PartialEq>(payload: &[u8]) {
    match proto::decode::<T>(payload) {
        Ok(message) => {
            let again: T = proto::decode(&proto::encode(&message)).expect("an accepted message re-encodes validly");
            assert_eq!(again, message, "round trip changed the message");
        }
        Err(error) => assert!(!error.to_string().is_empty(), "an empty error for {payload:?}"),
    }
}

fn check_every_contract(payload: &[u8]) {
    check::<ExtractJob>(payload);
    check::<CleanupJob>(payload);
    check::<AutoDoneTick>(payload);
}

/// Any JSON document, nested a few levels, with keys that sometimes are the contracts' own.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![
        Just("attachmentId".to_owned()),
        Just("matchId".to_owned()),
        Just("s3Keys".to_owned()),
        Just("scheduledAt".to_owned()),
        "[a-zA-Z]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("7d3f0c1e-2a4b-4c5d-8e6f-9a0b1c2d3e4f")),
        Just(serde_json::Value::from("2026-11-26T19:00:00Z")),
        Just(serde_json::Value::from("attachments/a.png")),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn random_bytes_are_refused_cleanly(payload in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_every_contract(&payload);
    }

    #[test]
    fn random_json_is_refused_or_round_trips(value in json_value()) {
        check_every_contract(&serde_json::to_vec(&value).expect("a JSON value serialises"));
    }

    #[test]
    fn mutated_valid_examples_are_refused_or_round_trip(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let examples = valid_examples();
        let mut payload = which.get(&examples).clone();
        for (at, byte) in edits {
            let index = at.index(payload.len());
            payload[index] = byte;
        }
        if let Some(cut) = cut {
            payload.truncate(cut.index(payload.len() + 1));
        }
        check_every_contract(&payload);
    }
}
