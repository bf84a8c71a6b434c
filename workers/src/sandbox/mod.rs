//! The worker's OS sandbox, put in place by the worker itself right after the broker's handshake and before it
//! opens any data or connection.
//!
//! The policy ([`SandboxPolicy`]) is an allow-list the broker builds per run, in the job's terms: the scratch
//! directory, the source's paths, its DuckDB file (rebuilt by an import), the one server to reach, resource limits.
//! The enforcers translate it, and only it, into this OS's rules; they never see the job. It fails closed: when
//! this machine cannot enforce a rule precisely, the worker refuses to run, unless the user allowed a degraded
//! sandbox in settings, and then it says what is missing ([`SandboxReport::missing`]), which diagnostics shows.
//!
//! Linux: rlimits, `no_new_privs`, landlock (files; TCP connect and bind by port; signal and abstract-socket
//! scoping), and a seccomp filter denying new processes, `execve`, `ptrace`, mount, namespace, keyring, bpf and
//! kernel-module calls, every Unix socket and `socketpair`, and every socket at all for a worker without network
//! (a database worker gets TCP streams, and UDP only to resolve a name). macOS: a seatbelt profile from
//! `sandbox-profiles/`.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
pub mod seatbelt;

use polystoreiq_protocol::worker::{SandboxPolicy, SandboxReport, WorkerError};

/// Puts this process in the sandbox `policy` describes. Call once, from the only thread, before opening data.
pub fn enforce(policy: &SandboxPolicy) -> Result<SandboxReport, WorkerError> {
    let started = std::time::Instant::now();
    #[cfg(target_os = "linux")]
    let (features, missing) = {
        prepare(policy)?;
        linux::enforce(policy)?
    };
    #[cfg(target_os = "macos")]
    let (features, missing) = {
        let exe = std::env::current_exe().map_err(|e| WorkerError::Refused(format!("sandbox: {e}")))?;
        let (profile, params) = seatbelt::for_policy(policy, &exe.to_string_lossy()).map_err(WorkerError::Refused)?;
        macos::enforce(profile, &params).map_err(WorkerError::Refused)?;
        (vec![format!("seatbelt-{}", profile.name())], Vec::<String>::new())
    };
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    let (features, missing): (Vec<String>, Vec<String>) =
        (Vec::new(), vec!["an OS sandbox on this platform (none is built)".to_owned()]);
    if !missing.is_empty() && !policy.allow_degraded {
        return Err(WorkerError::Refused(format!(
            "this machine cannot enforce the worker sandbox ({}); the query did not run. To run with a degraded \
             sandbox anyway, set POLYSTOREIQ_SANDBOX_DEGRADED=1 for the broker",
            missing.join("; ")
        )));
    }
    Ok(SandboxReport { features, missing, enforce_us: started.elapsed().as_micros() as u64 })
}

/// What a worker that reaches a server needs made before the sandbox denies making it: tokio's signal driver,
/// which every connector's runtime starts, creates its self-pipe as a Unix `socketpair` once per process, and the
/// filter denies that call. Made here, before the filter, it is reused by the job's runtime.
#[cfg(target_os = "linux")]
fn prepare(policy: &SandboxPolicy) -> Result<(), WorkerError> {
    if policy.network.is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(drop)
            .map_err(|err| WorkerError::Refused(format!("sandbox: cannot prepare the connector runtime: {err}")))?;
    }
    Ok(())
}
