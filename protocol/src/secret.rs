//! [`Secret`]: a credential that prints as `[redacted]` and has no `Serialize` of its own.
//!
//! Only [`Credential`], the field of the worker job that opens a database connection, may carry one onto the
//! wire; it implements the serialization explicitly. Nothing else can put a `Secret` on the wire or in a log by
//! accident.

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

/// A secret a user typed (a lock passphrase or PIN, a database password), on its way from a front end to the
/// broker, which hashes it or puts it in the OS keyring. It travels (it must reach the broker) but never prints:
/// `Debug` shows `[redacted]` and there is no `Display`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct UserSecret(String);

impl UserSecret {
    pub fn new(value: impl Into<String>) -> UserSecret {
        UserSecret(value.into())
    }

    /// The secret itself, for the broker's access and secrets modules only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Moves the value into a [`Secret`], which cannot travel.
    pub fn into_secret(self) -> Secret {
        Secret(self.0)
    }
}

impl std::fmt::Debug for UserSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The one way a [`Secret`] crosses a process boundary: inside the job that hands a worker its connection.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct Credential(pub Secret);

impl serde::Serialize for Credential {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.expose())
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential([redacted])")
    }
}
