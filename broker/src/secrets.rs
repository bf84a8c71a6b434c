//! The OS keyring: the only place a source's password or an API key is kept. The app state holds only a
//! reference (`SecretRef`), and only this module touches the keyring.
//!
//! Linux: the desktop's Secret Service when a session bus offers one (GNOME Keyring, KWallet), else the kernel's
//! keyutils store (the user keyring, readable only by this user's processes, kept until reboot). macOS: the
//! Keychain. The backend in use is named by [`Keyring::backend_name`].

use polystoreiq_protocol::secret::Secret;
use polystoreiq_protocol::{ErrorCode, TypedError};

/// Where a secret lives in the keyring; what the app state stores instead of the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRef(String);

impl SecretRef {
    /// A fresh, unguessable reference under `profile`.
    pub fn new(profile: &str, purpose: &str) -> SecretRef {
        let tag: [u8; 12] = rand::random();
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        SecretRef(format!("polystoreiq:{profile}:{purpose}:{tag}"))
    }

    pub fn from_stored(text: String) -> SecretRef {
        SecretRef(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the keyring has no secret {0}; enter the password again")]
    Missing(String),
    #[error("the OS keyring refused: {0}")]
    Backend(String),
}

impl SecretError {
    pub fn to_typed(&self) -> TypedError {
        TypedError::new(ErrorCode::Internal, self.to_string())
    }
}

/// The keyring of this machine.
pub struct Keyring {
    backend: Backend,
}

enum Backend {
    /// The platform store behind the `keyring` crate: the Secret Service on Linux, the Keychain on macOS.
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    Platform,
    #[cfg(target_os = "linux")]
    Keyutils(linux_keyutils::KeyRing),
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    Unavailable,
}

/// The service name entries are filed under in the platform store.
const SERVICE: &str = "PolyStoreIQ";

#[cfg(any(target_os = "linux", target_os = "macos"))]
fn platform_error(err: keyring::Error) -> SecretError {
    SecretError::Backend(err.to_string())
}

impl Keyring {
    /// Opens the platform's keyring.
    pub fn open() -> Result<Keyring, SecretError> {
        #[cfg(target_os = "linux")]
        {
            if secret_service_answers() {
                return Ok(Keyring { backend: Backend::Platform });
            }
            use linux_keyutils::{KeyRing, KeyRingIdentifier};
            let ring = KeyRing::from_special_id(KeyRingIdentifier::User, true)
                .map_err(|err| SecretError::Backend(format!("no user keyring: {err:?}")))?;
            Ok(Keyring { backend: Backend::Keyutils(ring) })
        }
        #[cfg(target_os = "macos")]
        {
            Ok(Keyring { backend: Backend::Platform })
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        {
            Ok(Keyring { backend: Backend::Unavailable })
        }
    }

    /// The backend's name, for diagnostics.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            #[cfg(target_os = "linux")]
            Backend::Platform => "secret-service",
            #[cfg(target_os = "macos")]
            Backend::Platform => "macos-keychain",
            #[cfg(target_os = "linux")]
            Backend::Keyutils(_) => "linux-keyutils (user keyring)",
            #[cfg(not(any(target_os = "linux", target_os = "macos")))]
            Backend::Unavailable => "unavailable",
        }
    }

    /// Stores `secret` under `reference`, replacing any previous value.
    pub fn store(&self, reference: &SecretRef, secret: &Secret) -> Result<(), SecretError> {
        match &self.backend {
            #[cfg(any(target_os = "linux", target_os = "macos"))]
            Backend::Platform => keyring::Entry::new(SERVICE, reference.as_str())
                .and_then(|entry| entry.set_password(secret.expose()))
                .map_err(platform_error),
            #[cfg(target_os = "linux")]
            Backend::Keyutils(ring) => {
                use linux_keyutils::{KeyPermissionsBuilder, Permission};
                let key = ring
                    .add_key(reference.as_str(), secret.expose().as_bytes())
                    .map_err(|err| SecretError::Backend(format!("{err:?}")))?;
                // This user's processes may use it; nobody else may even see it.
                let perms = KeyPermissionsBuilder::builder().posessor(Permission::ALL).user(Permission::ALL).build();
                key.set_perms(perms).map_err(|err| SecretError::Backend(format!("{err:?}")))
            }
            #[cfg(not(any(target_os = "linux", target_os = "macos")))]
            Backend::Unavailable => Err(SecretError::Backend("no keyring backend on this platform yet".into())),
        }
    }

    /// The secret stored under `reference`.
    pub fn load(&self, reference: &SecretRef) -> Result<Secret, SecretError> {
        match &self.backend {
            #[cfg(any(target_os = "linux", target_os = "macos"))]
            Backend::Platform => {
                match keyring::Entry::new(SERVICE, reference.as_str()).and_then(|e| e.get_password()) {
                    Ok(password) => Ok(Secret::new(password)),
                    Err(keyring::Error::NoEntry) => Err(SecretError::Missing(reference.as_str().to_owned())),
                    Err(err) => Err(platform_error(err)),
                }
            }
            #[cfg(target_os = "linux")]
            Backend::Keyutils(ring) => {
                let key =
                    ring.search(reference.as_str()).map_err(|_| SecretError::Missing(reference.as_str().to_owned()))?;
                let mut buf = vec![0u8; 4096];
                let n = key.read(&mut buf).map_err(|err| SecretError::Backend(format!("{err:?}")))?;
                buf.truncate(n);
                String::from_utf8(buf)
                    .map(Secret::new)
                    .map_err(|_| SecretError::Backend("the stored secret is not UTF-8".into()))
            }
            #[cfg(not(any(target_os = "linux", target_os = "macos")))]
            Backend::Unavailable => Err(SecretError::Backend("no keyring backend on this platform yet".into())),
        }
    }

    /// Deletes the secret under `reference`; deleting a missing one is not an error.
    pub fn delete(&self, reference: &SecretRef) -> Result<(), SecretError> {
        match &self.backend {
            #[cfg(any(target_os = "linux", target_os = "macos"))]
            Backend::Platform => {
                match keyring::Entry::new(SERVICE, reference.as_str()).and_then(|e| e.delete_credential()) {
                    Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                    Err(err) => Err(platform_error(err)),
                }
            }
            #[cfg(target_os = "linux")]
            Backend::Keyutils(ring) => match ring.search(reference.as_str()) {
                Ok(key) => key.invalidate().map_err(|err| SecretError::Backend(format!("{err:?}"))),
                Err(_) => Ok(()),
            },
            #[cfg(not(any(target_os = "linux", target_os = "macos")))]
            Backend::Unavailable => Ok(()),
        }
    }
}

/// Whether a session bus is configured and a Secret Service on it answers.
#[cfg(target_os = "linux")]
fn secret_service_answers() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|a| a.is_empty()) {
        return false;
    }
    match keyring::Entry::new(SERVICE, "polystoreiq:probe").and_then(|e| e.get_password()) {
        Ok(_) | Err(keyring::Error::NoEntry) => true,
        Err(err) => {
            tracing::info!("no usable Secret Service on the session bus ({err}); using the kernel keyring");
            false
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_real_keyring_stores_loads_and_deletes() {
        let keyring = Keyring::open().unwrap();
        lifecycle(&keyring);
    }

    /// Store, load, replace, delete, delete again, against whichever backend `keyring` uses.
    pub(crate) fn lifecycle(keyring: &Keyring) {
        let reference = SecretRef::new("test", "lifecycle");
        assert!(matches!(keyring.load(&reference), Err(SecretError::Missing(_))));
        keyring.store(&reference, &Secret::new("hunter2-sentinel")).unwrap();
        assert_eq!(keyring.load(&reference).unwrap().expose(), "hunter2-sentinel");
        keyring.store(&reference, &Secret::new("rotated")).unwrap();
        assert_eq!(keyring.load(&reference).unwrap().expose(), "rotated");
        keyring.delete(&reference).unwrap();
        assert!(matches!(keyring.load(&reference), Err(SecretError::Missing(_))));
        keyring.delete(&reference).unwrap();
    }
}
