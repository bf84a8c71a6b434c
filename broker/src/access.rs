//! The profile lock and the roles: the gate every request passes before it is served.
//!
//! An owner passphrase (and optionally a viewer PIN) is stored as an Argon2id hash in the app state. While a
//! lock is set, a connection starts locked and is refused everything but unlocking and the lock's state.
//! Unlocking with the passphrase acts as the owner, with the PIN as a viewer, and the role belongs to the
//! connection that unlocked, not to the broker: another client's connection stays locked. So that separate `psiq`
//! invocations in one terminal keep working after `psiq unlock` (as `sudo` keeps its ticket per terminal), an
//! unlock also leaves a ticket for its peer's user and login session (the `getsid` of the peer process the kernel
//! names in `SO_PEERCRED`): a later connection from the same terminal or the same desktop app process starts
//! with that role. Where the session is not visible (its leader lives outside the peer's PID namespace, as in a
//! container, and `getsid` says 0), the ticket is kept for the peer's parent process instead (the shell or the
//! app that ran `psiq`), named by its PID and its start time so a reused PID is another scope, and never for
//! init, which adopts every orphan. `Lock` locks every connection and drops
//! every ticket. Wrong attempts are counted in the app state and pause further attempts, doubling each time,
//! across broker restarts.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use polystoreiq_protocol::broker::Request;
use polystoreiq_protocol::secret::UserSecret;
use polystoreiq_protocol::types::{AccessState, Role};
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::health::unix_ms;
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
        Role::Viewer => request.viewer_may(),
    }
}

/// Requests served to a locked connection. Not `Shutdown`: a restart must not be a way around the lock.
fn allowed_while_locked(request: &Request) -> bool {
    matches!(request, Request::Unlock { .. } | Request::Access)
}

/// The pause after `failures` wrong attempts in a row: none for the first few, then 1 s, doubling, at most
/// [`MAX_PAUSE`].
fn pause_after(failures: u32) -> Option<Duration> {
    (failures >= FREE_ATTEMPTS).then(|| Duration::from_secs(1 << (failures - FREE_ATTEMPTS).min(16)).min(MAX_PAUSE))
}

/// Who is on the other end of one connection, as the kernel reported it when the connection was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    pub uid: u32,
    /// Where an unlock from this peer also counts; `None` binds an unlock to the connection alone.
    pub scope: Option<Scope>,
}

/// The processes an unlock's ticket covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The peer process's login session (`getsid`).
    Session(i32),
    /// The peer process's parent, where its session is not visible from here: its PID and its start time (in
    /// clock ticks since boot), so a later process that reuses the PID is another scope.
    Parent { pid: i32, started: u64 },
}

impl Peer {
    /// The peer of a connection from the kernel's credentials: its user, and on Linux its process's session.
    pub fn new(uid: u32, pid: Option<libc::pid_t>) -> Peer {
        Peer { uid, scope: pid.filter(|pid| *pid > 0).and_then(scope_of) }
    }
}

#[cfg(target_os = "linux")]
fn scope_of(pid: libc::pid_t) -> Option<Scope> {
    // SAFETY: getsid with an integer argument; -1 is checked.
    let sid = unsafe { libc::getsid(pid) };
    if sid > 0 {
        return Some(Scope::Session(sid));
    }
    let stat = |pid: i32| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
    let parent = parent_in_stat(&stat(pid)?)?;
    let started = start_in_stat(&stat(parent)?)?;
    Some(Scope::Parent { pid: parent, started })
}

/// The fields of a `/proc/PID/stat` line after "PID (COMM)", from STATE on: COMM may hold spaces and
/// parentheses, so they are read after the last `)`.
fn stat_fields(stat: &str) -> impl Iterator<Item = &str> {
    stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace()
}

/// The parent's PID in a `/proc/PID/stat` line. None for no parent the scope may name: 0 (outside the PID
/// namespace) or 1 (init, or the namespace's init, which adopts every orphan: a process would only have to
/// outlive its parent to share its ticket).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parent_in_stat(stat: &str) -> Option<i32> {
    let ppid: i32 = stat_fields(stat).nth(1)?.parse().ok()?;
    (ppid > 1).then_some(ppid)
}

/// A process's start time (field 22, clock ticks after boot) in its `/proc/PID/stat` line.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn start_in_stat(stat: &str) -> Option<u64> {
    stat_fields(stat).nth(19)?.parse().ok()
}

#[cfg(not(target_os = "linux"))]
fn scope_of(_pid: libc::pid_t) -> Option<Scope> {
    None
}

/// One connection's standing: the role it unlocked, valid while the profile was not locked again since.
pub struct Connection {
    peer: Option<Peer>,
    unlocked: Mutex<Option<(Role, u64)>>,
}

impl Connection {
    pub fn new(peer: Option<Peer>) -> Arc<Connection> {
        Arc::new(Connection { peer, unlocked: Mutex::new(None) })
    }

    fn unlocked(&self) -> MutexGuard<'_, Option<(Role, u64)>> {
        self.unlocked.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

tokio::task_local! {
    static CONNECTION: Arc<Connection>;
}

/// Runs `serve` (one connection's requests) as `connection`: every access check and unlock inside it is that
/// connection's. Code outside any connection (in-process tests, background tasks) acts as one shared
/// connection of the broker's own.
pub async fn as_connection<F: Future>(connection: Arc<Connection>, serve: F) -> F::Output {
    CONNECTION.scope(connection, serve).await
}

struct Inner {
    owner_hash: Option<String>,
    viewer_hash: Option<String>,
    /// Bumped by every `Lock`: an unlock from an earlier epoch no longer counts.
    epoch: u64,
    /// Unlocks by user and login session (or parent process), for the next connections from there.
    tickets: HashMap<(u32, Scope), Role>,
}

pub struct AccessControl {
    inner: Mutex<Inner>,
    /// The standing of code that runs outside any connection.
    local: Arc<Connection>,
    /// One unlock attempt at a time, so parallel guesses cannot all pass the pause check.
    attempts: tokio::sync::Mutex<()>,
    store: Store,
}

impl AccessControl {
    /// Reads the lock from the app state; with an owner passphrase every connection starts locked.
    pub async fn load(store: Store) -> Result<AccessControl, TypedError> {
        let (owner_hash, viewer_hash) = store.call(|db| Ok((db.setting(OWNER_KEY)?, db.setting(VIEWER_KEY)?))).await?;
        let inner = Inner { owner_hash, viewer_hash, epoch: 0, tickets: HashMap::new() };
        Ok(AccessControl {
            inner: Mutex::new(inner),
            local: Connection::new(None),
            attempts: tokio::sync::Mutex::new(()),
            store,
        })
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The connection being served now.
    fn connection(&self) -> Arc<Connection> {
        CONNECTION.try_with(Arc::clone).unwrap_or_else(|_| Arc::clone(&self.local))
    }

    /// The role the current connection acts as; `None` while it is locked.
    fn current(&self, inner: &Inner) -> Option<Role> {
        if inner.owner_hash.is_none() {
            // A profile without a lock never locks: everyone of this user is its owner.
            return Some(Role::Owner);
        }
        let connection = self.connection();
        let mut unlocked = connection.unlocked();
        if let Some((role, epoch)) = *unlocked
            && epoch == inner.epoch
        {
            return Some(role);
        }
        let ticket = connection.peer.and_then(|peer| Some(*inner.tickets.get(&(peer.uid, peer.scope?))?));
        *unlocked = ticket.map(|role| (role, inner.epoch));
        ticket
    }

    /// Unlocks the current connection as `role`, and leaves a ticket for its user's login session.
    fn grant(&self, inner: &mut Inner, role: Role) {
        let connection = self.connection();
        *connection.unlocked() = Some((role, inner.epoch));
        if let Some(Peer { uid, scope: Some(scope) }) = connection.peer {
            inner.tickets.insert((uid, scope), role);
        }
    }

    pub fn state(&self) -> AccessState {
        let inner = self.lock_inner();
        snapshot(&inner, self.current(&inner))
    }

    /// The role acting now (the owner's while locked, as only unlocking is served then).
    pub fn role(&self) -> Role {
        let inner = self.lock_inner();
        self.current(&inner).unwrap_or(Role::Owner)
    }

    /// The gate: refuses requests while the connection is locked, and requests its role may not make.
    pub fn check(&self, request: &Request) -> Result<(), TypedError> {
        let inner = self.lock_inner();
        let role = match self.current(&inner) {
            Some(role) => role,
            None if allowed_while_locked(request) => return Ok(()),
            None => {
                return Err(TypedError::new(ErrorCode::Locked, "the profile is locked; unlock it with `psiq unlock`"));
            }
        };
        if !permitted(role, request) {
            return Err(TypedError::new(
                ErrorCode::Forbidden,
                "a viewer may ask, approve and run queries, but not change sources, settings or the lock, \
                 nor open diagnostics or the audit log, nor stop the broker; unlock as the owner for that",
            ));
        }
        Ok(())
    }

    /// Tries a passphrase or PIN for the current connection. Paused attempts are refused before the secret is
    /// checked, with `retry_after_ms` saying when the next one is tried.
    pub async fn unlock(&self, secret: &UserSecret) -> Result<AccessState, TypedError> {
        let _one_at_a_time = self.attempts.lock().await;
        let attempts = self.store.call(|db| db.unlock_attempts()).await?;
        if let Some(until) = attempts.paused_until_ms {
            let now = unix_ms();
            if until > now {
                // A clock set back cannot make the pause longer than the longest.
                let wait = (until - now).min(MAX_PAUSE.as_millis() as u64);
                let mut err = TypedError::new(
                    ErrorCode::UnlockFailed,
                    format!(
                        "too many wrong attempts ({}); the next attempt is possible in {} s",
                        attempts.failures,
                        wait.div_ceil(1000)
                    ),
                );
                err.retry_after_ms = Some(wait);
                return Err(err);
            }
        }
        let (owner, viewer) = {
            let inner = self.lock_inner();
            if inner.owner_hash.is_none() {
                return Ok(snapshot(&inner, Some(Role::Owner)));
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
        match role {
            Some(role) => {
                if attempts.failures > 0 {
                    self.store.call(|db| db.clear_unlock_failures()).await?;
                }
                let mut inner = self.lock_inner();
                self.grant(&mut inner, role);
                Ok(snapshot(&inner, Some(role)))
            }
            None => {
                let now = unix_ms();
                let recorded = self
                    .store
                    .call(move |db| {
                        db.record_unlock_failure(now, |failures| pause_after(failures).map(|p| p.as_millis() as u64))
                    })
                    .await?;
                let mut err = TypedError::new(ErrorCode::UnlockFailed, "wrong passphrase or PIN");
                if let Some(until) = recorded.paused_until_ms {
                    let wait = until.saturating_sub(now);
                    err.message = format!(
                        "wrong passphrase or PIN ({} wrong in a row); the next attempt is possible in {} s",
                        recorded.failures,
                        wait.div_ceil(1000)
                    );
                    err.retry_after_ms = Some(wait);
                }
                Err(err)
            }
        }
    }

    /// Locks the profile now, if it has a lock: every connection, and every ticket.
    pub fn lock(&self) -> Result<AccessState, TypedError> {
        let mut inner = self.lock_inner();
        if inner.owner_hash.is_none() {
            return Err(TypedError::new(
                ErrorCode::BadRequest,
                "this profile has no lock; set one with `psiq lock set --role owner`",
            ));
        }
        inner.epoch += 1;
        inner.tickets.clear();
        Ok(snapshot(&inner, None))
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
                    inner.tickets.clear();
                }
                let first = inner.owner_hash.is_none() && hash.is_some();
                inner.owner_hash = hash;
                // Whoever sets the first lock stays unlocked as its owner; every other connection is locked now.
                if first {
                    self.grant(&mut inner, Role::Owner);
                }
            }
            Role::Viewer => inner.viewer_hash = hash,
        }
        let current = self.current(&inner);
        Ok(snapshot(&inner, current))
    }
}

fn snapshot(inner: &Inner, role: Option<Role>) -> AccessState {
    AccessState {
        locked: role.is_none(),
        role: role.unwrap_or(Role::Owner),
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
    fn the_parent_is_read_after_the_command_name_whatever_it_holds() {
        assert_eq!(parent_in_stat("4242 (psiq) S 4100 4242 4100 34816"), Some(4100));
        assert_eq!(parent_in_stat("4242 (a) b (c) R 77 1 1 0"), Some(77));
        assert_eq!(parent_in_stat("1 (init) S 0 1 1 0"), None, "a parent outside the namespace");
        assert_eq!(parent_in_stat("77 (orphan) S 1 1 1 0"), None, "init adopts every orphan: no scope");
        assert_eq!(parent_in_stat("garbage"), None);
        let line = "4100 (ba) sh) S 4000 4100 4100 34816 4100 4194560 1 2 3 4 5 6 7 8 20 0 1 0 987654 1000 200";
        assert_eq!(start_in_stat(line), Some(987_654));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_peer_is_scoped_by_its_session_or_else_by_its_parent() {
        // SAFETY: getsid, getppid and getpid with no pointers.
        let (sid, ppid, pid) = unsafe { (libc::getsid(0), libc::getppid(), libc::getpid()) };
        let started = || start_in_stat(&std::fs::read_to_string(format!("/proc/{ppid}/stat")).unwrap()).unwrap();
        let expected = match (sid, ppid) {
            (1.., _) => Some(Scope::Session(sid)),
            (_, 2..) => Some(Scope::Parent { pid: ppid, started: started() }),
            _ => None,
        };
        assert_eq!(Peer::new(7, Some(pid)).scope, expected);
        assert_eq!(Peer::new(7, None).scope, None);
    }

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
        // Stopping the broker is the owner's, and a locked connection may not: a restart must not reset anything.
        assert!(!viewer_may(Request::Shutdown));
        assert!(permitted(Role::Owner, &Request::Shutdown));
        assert!(!allowed_while_locked(&Request::Shutdown));
        assert!(allowed_while_locked(&Request::Access));
    }

    #[test]
    fn the_pause_starts_at_the_third_wrong_attempt_and_doubles_up_to_five_minutes() {
        let pauses: Vec<Option<u64>> = (1..=13).map(|n| pause_after(n).map(|p| p.as_secs())).collect();
        assert_eq!(pauses[..6], [None, None, Some(1), Some(2), Some(4), Some(8)]);
        assert_eq!(pause_after(12), Some(Duration::from_secs(300)));
        assert_eq!(pause_after(u32::MAX), Some(MAX_PAUSE));
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
