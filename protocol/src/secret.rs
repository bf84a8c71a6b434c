//! [`Secret`]: a credential that prints as `[redacted]` and has no `Serialize` of its own.
//!
//! Only the worker frame that hands a connection its credential may carry one; that frame implements the
//! serialization explicitly. Nothing else can put a `Secret` on the wire or in a log by accident.

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

/// A PIN or passphrase on its way from a front end to the broker's profile lock. It travels (it must reach the
/// broker) but never prints: `Debug` shows `[redacted]` and there is no `Display`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct LockSecret(String);

impl LockSecret {
    pub fn new(value: impl Into<String>) -> LockSecret {
        LockSecret(value.into())
    }

    /// The secret itself, for hashing and verifying in the broker's access module only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for LockSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}
