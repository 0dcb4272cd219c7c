//! Why a value breaks its contract. One enum for every rule the types check beyond the JSON
//! Schema, so a caller can tell the rules apart and a serde error still reads as a sentence
//! naming the value (serde wraps it with the field's path).

use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Invalid {
    #[error("{value} is outside {min}..={max}")]
    OutOfRange { value: f64, min: f64, max: f64 },
    #[error("must hold 1 to {max} keys, got {got}")]
    KeyCount { max: usize, got: usize },
    #[error("key {index} must be 1 to {max} characters, got {got}")]
    KeyLength { index: usize, max: usize, got: usize },
    #[error("key {index} ({key:?}) is listed twice")]
    KeyListedTwice { index: usize, key: String },
    #[error("a team has at most {max} players, got {got}")]
    TeamSize { max: usize, got: usize },
    #[error("friend {0} is listed twice")]
    FriendListedTwice(Uuid),
    #[error("{0:?} is not gameName#tagLine")]
    NotARiotId(String),
    #[error("{0:?} is not gameName#tagLine (name 1-16, tag 2-5 characters)")]
    RiotIdLength(String),
    #[error("{field} is required when status is {status}")]
    Required { field: &'static str, status: &'static str },
    #[error("{field} must be absent when status is {status}")]
    Forbidden { field: &'static str, status: &'static str },
}

#[cfg(test)]
mod tests {
    use super::Invalid;
    use crate::{RiotId, S3KeyList, Team, TopK, Unit};

    #[test]
    fn each_rule_says_which_it_is() {
        let friend = uuid::Uuid::new_v4();
        assert_eq!(Team::try_from(vec![friend, friend]), Err(Invalid::FriendListedTwice(friend)));
        assert_eq!(RiotId::try_from("Hide on bush".to_owned()), Err(Invalid::NotARiotId("Hide on bush".to_owned())));
        assert_eq!(RiotId::try_from("Faker#K".to_owned()), Err(Invalid::RiotIdLength("Faker#K".to_owned())));
        let twice = vec!["attachments/a.png".to_owned(), "attachments/a.png".to_owned()];
        assert_eq!(
            S3KeyList::try_from(twice),
            Err(Invalid::KeyListedTwice { index: 1, key: "attachments/a.png".into() })
        );
        assert_eq!(TopK::new(0), Err(Invalid::OutOfRange { value: 0.0, min: 1.0, max: 10.0 }));
        assert_eq!(Unit::new(1.5).unwrap_err().to_string(), "1.5 is outside 0..=1");
    }
}
