//! The profile lock and the roles: the gate every request passes before it is served.
//!
//! An owner passphrase (and optionally a viewer PIN) is stored as an Argon2id hash in the app state. While a
//! lock is set the broker starts locked and refuses everything but unlocking. Unlocking with the passphrase
//! acts as the owner, with the PIN as a viewer. Wrong attempts pause further attempts, doubling each time.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use polystoreiq_protocol::broker::Request;
use polystoreiq_protocol::secret::UserSecret;
use polystoreiq_protocol::types::{AccessState, Role};
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::store::Store;

const OWNER_KEY: &str = "lock.owner";
const VIEWER_KEY: &str = "lock.viewer";
/// Wrong attempts allowed before attempts are paused.
const FREE_ATTEMPTS: u32 = 3;
/// The longest pause between attempts.
const MAX_PAUSE: Duration = Duration::from_secs(300);

/// Whether `role` may make `request`. The one role matrix of the product.
pub fn permitted(role: Role, request: &Request) -> bool {
    match role {
        Role::Owner => true,
        Role::Viewer => !matches!(
            request,
            Request::SourceAdd { .. }
                | Request::SourceSetEnabled { .. }
                | Request::SourceRemove { .. }
                | Request::SetLock { .. }
                | Request::SetLlm { .. }
                | Request::SetLimits(_)
                | Request::RunTrace { .. }
                | Request::Diag
                | Request::Audit { .. }
                | Request::Fault { .. }
        ),
    }
}

/// Requests served while the profile is locked.
fn allowed_while_locked(request: &Request) -> bool {
    matches!(request, Request::Unlock { .. } | Request::Access | Request::Shutdown)
}

struct Inner {
    locked: bool,
    role: Role,
    owner_hash: Option<String>,
    viewer_hash: Option<String>,
    failures: u32,
    paused_until: Option<Instant>,
}

pub struct AccessControl {
    inner: Mutex<Inner>,
    store: Store,
}

impl AccessControl {
    /// Reads the lock from the app state; a profile with an owner passphrase starts locked.
    pub async fn load(store: Store) -> Result<AccessControl, TypedError> {
        let (owner_hash, viewer_hash) = store.call(|db| Ok((db.setting(OWNER_KEY)?, db.setting(VIEWER_KEY)?))).await?;
        let inner = Inner {
            locked: owner_hash.is_some(),
            role: Role::Owner,
            owner_hash,
            viewer_hash,
            failures: 0,
            paused_until: None,
        };
        Ok(AccessControl { inner: Mutex::new(inner), store })
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn state(&self) -> AccessState {
        snapshot(&self.lock_inner())
    }

    /// The role acting now.
    pub fn role(&self) -> Role {
        self.lock_inner().role
    }

    /// The gate: refuses requests while locked, and requests the current role may not make.
    pub fn check(&self, request: &Request) -> Result<Role, TypedError> {
        let inner = self.lock_inner();
        if inner.locked && !allowed_while_locked(request) {
            return Err(TypedError::new(ErrorCode::Locked, "the profile is locked; unlock it with `psiq unlock`"));
        }
        if !permitted(inner.role, request) {
            return Err(TypedError::new(
                ErrorCode::Forbidden,
                "a viewer may ask, approve and run queries, but not change sources, settings or the lock, \
                 nor open diagnostics or the audit log; unlock as the owner for that",
            ));
        }
        Ok(inner.role)
    }

    /// Tries a passphrase or PIN.
    pub async fn unlock(&self, secret: &UserSecret) -> Result<AccessState, TypedError> {
        let (owner, viewer) = {
            let inner = self.lock_inner();
            if let Some(until) = inner.paused_until {
                let now = Instant::now();
                if until > now {
                    let mut err = TypedError::new(
                        ErrorCode::UnlockFailed,
                        format!("too many wrong attempts; try again in {} s", (until - now).as_secs() + 1),
                    );
                    err.retry_after_ms = Some((until - now).as_millis() as u64 + 1);
                    return Err(err);
                }
            }
            if inner.owner_hash.is_none() {
                return Ok(snapshot(&inner));
            }
            (inner.owner_hash.clone(), inner.viewer_hash.clone())
        };
        let candidate = secret.clone();
        let role = tokio::task::spawn_blocking(move || {
            if owner.as_deref().is_some_and(|hash| verify(&candidate, hash)) {
                Some(Role::Owner)
            } else if viewer.as_deref().is_some_and(|hash| verify(&candidate, hash)) {
                Some(Role::Viewer)
            } else {
                None
            }
        })
        .await
        .unwrap_or(None);
        let mut inner = self.lock_inner();
        match role {
            Some(role) => {
                inner.locked = false;
                inner.role = role;
                inner.failures = 0;
                inner.paused_until = None;
                drop(inner);
                Ok(self.state())
            }
            None => {
                inner.failures += 1;
                let mut err = TypedError::new(ErrorCode::UnlockFailed, "wrong passphrase or PIN");
                if inner.failures >= FREE_ATTEMPTS {
                    let pause = Duration::from_secs(1 << (inner.failures - FREE_ATTEMPTS).min(16)).min(MAX_PAUSE);
                    inner.paused_until = Some(Instant::now() + pause);
                    err.message =
                        format!("wrong passphrase or PIN; the next attempt is possible in {} s", pause.as_secs());
                    err.retry_after_ms = Some(pause.as_millis() as u64);
                }
                Err(err)
            }
        }
    }

    /// Locks the profile now, if it has a lock.
    pub fn lock(&self) -> Result<AccessState, TypedError> {
        {
            let mut inner = self.lock_inner();
            if inner.owner_hash.is_none() {
                return Err(TypedError::new(
                    ErrorCode::BadRequest,
                    "this profile has no lock; set one with `psiq lock set --role owner`",
                ));
            }
            inner.locked = true;
            inner.role = Role::Owner;
        }
        Ok(self.state())
    }

    /// Sets or removes the owner passphrase or the viewer PIN.
    pub async fn set_lock(&self, role: Role, secret: Option<UserSecret>) -> Result<AccessState, TypedError> {
        if let Some(secret) = &secret {
            let min = match role {
                Role::Owner => 6,
                Role::Viewer => 4,
            };
            if secret.expose().chars().count() < min {
                return Err(TypedError::new(
                    ErrorCode::BadRequest,
                    format!("the {} secret must have at least {min} characters", role.as_str()),
                ));
            }
        }
        {
            let inner = self.lock_inner();
            if role == Role::Viewer && secret.is_some() && inner.owner_hash.is_none() {
                return Err(TypedError::new(
                    ErrorCode::BadRequest,
                    "set the owner's passphrase first: a viewer PIN means nothing on an unlocked profile",
                ));
            }
        }
        let hash = match secret {
            Some(secret) => Some(
                tokio::task::spawn_blocking(move || hash(&secret))
                    .await
                    .map_err(|err| TypedError::new(ErrorCode::Internal, err.to_string()))??,
            ),
            None => None,
        };
        let key = match role {
            Role::Owner => OWNER_KEY,
            Role::Viewer => VIEWER_KEY,
        };
        let stored = hash.clone();
        self.store
            .call(move |db| match &stored {
                Some(hash) => db.set_setting(key, hash),
                // Removing the owner's lock removes the viewer's too: it would guard nothing.
                None if key == OWNER_KEY => db.delete_setting(OWNER_KEY).and_then(|()| db.delete_setting(VIEWER_KEY)),
                None => db.delete_setting(key),
            })
            .await?;
        let mut inner = self.lock_inner();
        match role {
            Role::Owner => {
                if hash.is_none() {
                    inner.viewer_hash = None;
                }
                inner.owner_hash = hash;
            }
            Role::Viewer => inner.viewer_hash = hash,
        }
        drop(inner);
        Ok(self.state())
    }
}

fn snapshot(inner: &Inner) -> AccessState {
    AccessState {
        locked: inner.locked,
        role: inner.role,
        owner_lock: inner.owner_hash.is_some(),
        viewer_lock: inner.viewer_hash.is_some(),
    }
}

/// An Argon2id PHC string for `secret`, with a fresh salt.
fn hash(secret: &UserSecret) -> Result<String, TypedError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| TypedError::new(ErrorCode::Internal, format!("cannot hash the secret: {err}")))
}

fn verify(secret: &UserSecret, phc: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|hash| Argon2::default().verify_password(secret.expose().as_bytes(), &hash).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_matrix_lets_viewers_query_but_not_administer() {
        let viewer_may = |request: Request| permitted(Role::Viewer, &request);
        assert!(viewer_may(Request::SourceList));
        assert!(viewer_may(Request::Ask { source: "s".into(), question: "q".into(), session: None }));
        assert!(viewer_may(Request::Run { token: "t".into() }));
        assert!(viewer_may(Request::Schema { name: "s".into(), refresh: false }));
        assert!(!viewer_may(Request::SourceRemove { name: "s".into() }));
        assert!(!viewer_may(Request::SourceSetEnabled { name: "s".into(), enabled: false }));
        assert!(!viewer_may(Request::SetLock { role: Role::Viewer, secret: None }));
        assert!(!viewer_may(Request::Diag));
        assert!(permitted(Role::Owner, &Request::Diag));
        // Viewers see the model provider settings but may not change them.
        assert!(viewer_may(Request::Settings));
        let set_llm = Request::SetLlm {
            provider: polystoreiq_protocol::types::LlmProvider::Offline,
            model: None,
            endpoint: None,
            api_key: None,
            clear_api_key: false,
        };
        assert!(!viewer_may(set_llm.clone()));
        assert!(permitted(Role::Owner, &set_llm));
        assert!(!viewer_may(Request::SetLimits(Default::default())));
    }

    #[test]
    fn hashes_are_argon2id_and_verify_only_the_right_secret() {
        let phc = hash(&UserSecret::new("correct horse")).unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify(&UserSecret::new("correct horse"), &phc));
        assert!(!verify(&UserSecret::new("correct horsE"), &phc));
    }
}
