//! Which keys a cleanup job may delete.

use std::fmt;

/// The allowed key prefixes, from `CLEANUP_ALLOWED_PREFIXES`. Each must be a non-empty "folder"
/// (ending in `/`), so no configuration can allow the whole bucket.
#[derive(Debug, Clone)]
pub struct KeyGuard {
    prefixes: Vec<String>,
}

/// A key that passed the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedKey(String);

impl AllowedKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AllowedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum KeyRejected {
    #[error("allowed prefix {0:?} must be non-empty, end with '/', and contain no '..'")]
    BadPrefix(String),
    #[error("key {key:?} is outside the allowed prefixes {prefixes:?}")]
    OutsidePrefixes { key: String, prefixes: Vec<String> },
    #[error("key {0:?} contains '..'")]
    DotDot(String),
    #[error("key {0:?} starts with '/'")]
    LeadingSlash(String),
    #[error("key {0:?} contains a control character")]
    ControlCharacter(String),
}

/// A key the job names outside what may be deleted stays outside: the job is refused for good.
impl worker_runtime::Classify for KeyRejected {
    fn failure(&self) -> worker_runtime::Failure {
        worker_runtime::Failure::Permanent
    }
}

impl KeyGuard {
    pub fn new(prefixes: &[String]) -> Result<KeyGuard, KeyRejected> {
        if prefixes.is_empty() {
            return Err(KeyRejected::BadPrefix(String::new()));
        }
        for prefix in prefixes {
            if prefix.is_empty() || !prefix.ends_with('/') || prefix.contains("..") || prefix.starts_with('/') {
                return Err(KeyRejected::BadPrefix(prefix.clone()));
            }
        }
        Ok(KeyGuard { prefixes: prefixes.to_vec() })
    }

    pub fn check(&self, key: &str) -> Result<AllowedKey, KeyRejected> {
        if key.starts_with('/') {
            return Err(KeyRejected::LeadingSlash(key.to_owned()));
        }
        if key.contains("..") {
            return Err(KeyRejected::DotDot(key.to_owned()));
        }
        if key.chars().any(char::is_control) {
            return Err(KeyRejected::ControlCharacter(key.to_owned()));
        }
        if !self.prefixes.iter().any(|prefix| key.starts_with(prefix.as_str()) && key.len() > prefix.len()) {
            return Err(KeyRejected::OutsidePrefixes { key: key.to_owned(), prefixes: self.prefixes.clone() });
        }
        Ok(AllowedKey(key.to_owned()))
    }

    /// All keys, or the first rejection: a job is deleted whole or not at all.
    pub fn check_all(&self, keys: &[String]) -> Result<Vec<AllowedKey>, KeyRejected> {
        keys.iter().map(|key| self.check(key)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> KeyGuard {
        KeyGuard::new(&["attachments/".to_owned()]).expect("valid prefix")
    }

    #[test]
    fn keys_under_the_prefix_pass() {
        assert_eq!(guard().check("attachments/2026/11/a.png").unwrap().as_str(), "attachments/2026/11/a.png");
    }

    #[test]
    fn hostile_keys_are_rejected() {
        let guard = guard();
        assert!(matches!(guard.check("other/a.png"), Err(KeyRejected::OutsidePrefixes { .. })));
        assert!(matches!(guard.check("attachments"), Err(KeyRejected::OutsidePrefixes { .. })));
        assert!(matches!(guard.check("attachments/"), Err(KeyRejected::OutsidePrefixes { .. })), "the folder itself");
        assert!(matches!(guard.check("attachmentsX/a"), Err(KeyRejected::OutsidePrefixes { .. })));
        assert!(matches!(guard.check("attachments/../secrets/x"), Err(KeyRejected::DotDot(_))));
        assert!(matches!(guard.check("/attachments/a.png"), Err(KeyRejected::LeadingSlash(_))));
        assert!(matches!(guard.check("attachments/a\n.png"), Err(KeyRejected::ControlCharacter(_))));
    }

    #[test]
    fn one_bad_key_rejects_the_job() {
        let keys = vec!["attachments/a.png".to_owned(), "backups/db.dump".to_owned()];
        assert!(guard().check_all(&keys).is_err());
    }

    #[test]
    fn a_prefix_that_would_allow_everything_is_refused() {
        for prefix in ["", "/", "attachments", "../", "/attachments/"] {
            assert!(KeyGuard::new(&[prefix.to_owned()]).is_err(), "{prefix:?} accepted");
        }
        assert!(KeyGuard::new(&[]).is_err());
    }
}
