//! [`Secret`]: a credential that prints as `[redacted]` and has no `Serialize` of its own.
//!
//! The only way onto the wire is [`crate::worker::Credential`], the field of the one worker frame that needs it.

use serde::{Deserialize, Deserializer};

/// A password or API key. `Debug` prints `[redacted]`; there is no `Display` and no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself. Call sites are few and reviewed: the keyring module, and a worker opening a connection.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}
