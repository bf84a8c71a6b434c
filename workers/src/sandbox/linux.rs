//! Linux enforcement: rlimits, then `no_new_privs`, then landlock, then seccomp. Each step only narrows what
//! the process may do; the order makes every later step possible without privileges. No worker gets local IPC:
//! `socket(AF_UNIX, …)` and `socketpair` fail for all of them. The policy names what the job needs; this file adds
//! what every worker needs to run at all on Linux ([`SYSTEM_READ`], [`SYSTEM_WRITE`]).

use std::collections::BTreeMap;
use std::path::Path;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, LandlockStatus, NetPort, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};
use nix::sys::resource::{Resource, setrlimit};
use polystoreiq_protocol::worker::{DatabaseFile, SandboxPolicy, WorkerError};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

/// What every worker reads to run at all: its libraries, the dynamic loader's cache, certificates and name
/// resolution files (database connectors), time zones, and facts about itself and the machine (DuckDB sizes its
/// memory and threads from them). Nothing under a home directory, nothing of another process.
const SYSTEM_READ: &[&str] = &[
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/lib",
    "/lib64",
    "/etc/ld.so.cache",
    "/etc/ssl/certs",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/localtime",
    "/usr/share/zoneinfo",
    "/proc/self",
    "/proc/meminfo",
    "/proc/cpuinfo",
    "/proc/stat",
    "/sys/devices/system/cpu",
    "/sys/fs/cgroup",
    "/dev/urandom",
];

/// What every worker writes: `/dev/null`, which libraries open as a sink for output they must not keep.
const SYSTEM_WRITE: &[&str] = &["/dev/null"];

/// The landlock ABI the rules are written for: 6 adds signal and abstract-socket scoping to 4's TCP ports.
const ABI_WANTED: ABI = ABI::V6;

/// Returns the features in force and the rules this kernel could not enforce.
pub(super) fn enforce(policy: &SandboxPolicy) -> Result<(Vec<String>, Vec<String>), WorkerError> {
    let mut features = Vec::new();
    let mut missing = Vec::new();
    limits(policy)?;
    features.push("rlimits".to_owned());
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(refused("cannot set no_new_privs", std::io::Error::last_os_error()));
    }
    features.push("no_new_privs".to_owned());
    landlock(policy, &mut features, &mut missing)?;
    let sockets = Sockets::of(policy);
    seccomp(sockets)?;
    features.push("seccomp".to_owned());
    features.push(sockets.feature().to_owned());
    Ok((features, missing))
}

fn refused(what: &str, err: impl std::fmt::Display) -> WorkerError {
    WorkerError::Refused(format!("sandbox: {what}: {err}"))
}

fn limits(policy: &SandboxPolicy) -> Result<(), WorkerError> {
    let limits = &policy.limits;
    let set = |resource, value: u64| {
        if value > 0 {
            setrlimit(resource, value, value).map_err(|err| refused(&format!("cannot set {resource:?}"), err))?;
        }
        Ok::<(), WorkerError>(())
    };
    set(Resource::RLIMIT_CPU, limits.cpu_seconds)?;
    set(Resource::RLIMIT_NOFILE, limits.open_files)?;
    set(Resource::RLIMIT_FSIZE, limits.file_size_bytes)?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(|err| refused("cannot disable core dumps", err))
}

fn landlock(policy: &SandboxPolicy, features: &mut Vec<String>, missing: &mut Vec<String>) -> Result<(), WorkerError> {
    let abi = ABI_WANTED;
    let fail = |err: landlock::RulesetError| refused("landlock", err);
    let read_dir = AccessFs::from_read(abi);
    let read_file = AccessFs::from_read(abi) & AccessFs::from_file(abi);
    // Everything but running programs.
    let write_dir = AccessFs::from_all(abi) & !AccessFs::Execute;
    let write_file = write_dir & AccessFs::from_file(abi);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))
        .map_err(fail)?
        .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
        .map_err(fail)?
        .scope(Scope::AbstractUnixSocket | Scope::Signal)
        .map_err(fail)?
        .create()
        .map_err(fail)?;
    for (path, writable) in path_rules(policy) {
        // A path that does not exist here (no /lib64 on some systems) grants nothing.
        let Ok(meta) = std::fs::metadata(Path::new(path)) else { continue };
        let access = match (writable, meta.is_dir()) {
            (false, true) => read_dir,
            (false, false) => read_file,
            (true, true) => write_dir,
            (true, false) => write_file,
        };
        let fd = PathFd::new(path).map_err(|err| refused(&format!("cannot open {path}"), err))?;
        ruleset = ruleset.add_rule(PathBeneath::new(fd, access)).map_err(fail)?;
    }
    if let Some(network) = &policy.network {
        ruleset = ruleset.add_rule(NetPort::new(network.port, AccessNet::ConnectTcp)).map_err(fail)?;
    }
    let status = ruleset.restrict_self().map_err(fail)?;
    let kernel_abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => effective_abi,
        _ => ABI::Unsupported,
    };
    let level = kernel_abi as i32;
    if level >= 1 {
        features.push(format!("landlock-v{level}-files"));
    } else {
        missing.push("landlock file rules (landlock is not enabled in this kernel)".to_owned());
    }
    // Without TCP port rules a network worker could reach any host; a worker without network is held by
    // seccomp's socket rule instead, so it needs none.
    if level >= 4 {
        features.push("landlock-tcp-ports".to_owned());
    } else if policy.network.is_some() {
        missing.push(format!("landlock TCP port rules (kernel ABI {level} < 4)"));
    }
    if level >= 6 {
        features.push("landlock-scopes".to_owned());
    } else {
        missing.push(format!("landlock signal and abstract-socket scoping (kernel ABI {level} < 6)"));
    }
    if status.ruleset == RulesetStatus::NotEnforced && level >= 1 {
        missing.push("landlock ruleset not enforced".to_owned());
    }
    Ok(())
}

/// The paths landlock grants, each with whether it is writable: the system's and the source's to read, the DuckDB
/// file a query reads; the scratch directory and `/dev/null` to write, and for an import the database's folder,
/// since the import writes the new file beside the old one under a temporary name and renames it into place (a
/// landlock rule cannot name a file that does not exist yet).
fn path_rules(policy: &SandboxPolicy) -> Vec<(&str, bool)> {
    let mut rules: Vec<(&str, bool)> = SYSTEM_READ.iter().map(|path| (*path, false)).collect();
    rules.extend(policy.source_paths.iter().map(|path| (path.as_str(), false)));
    if let Some(database) = policy.database.as_ref().filter(|database| !database.import) {
        rules.push((database.path.as_str(), false));
    }
    rules.push((policy.scratch.as_str(), true));
    rules.extend(SYSTEM_WRITE.iter().map(|path| (*path, true)));
    if let Some(dir) = policy.database.as_ref().and_then(DatabaseFile::import_dir) {
        rules.push((dir, true));
    }
    rules
}

/// The sockets a worker may open. No worker gets a Unix socket (the session bus, and through it the keyring,
/// the broker's own socket and a container engine's are all Unix sockets, and landlock cannot hold a pathname
/// connect to one path on this kernel), nor `socketpair`; a database worker gets IPv4/IPv6 stream sockets for
/// TCP (landlock then limits the port), and UDP only when it must resolve its server's name itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sockets {
    None,
    Tcp,
    TcpAndNameResolution,
}

impl Sockets {
    fn of(policy: &SandboxPolicy) -> Sockets {
        match &policy.network {
            None => Sockets::None,
            Some(network) if network.name_resolution => Sockets::TcpAndNameResolution,
            Some(_) => Sockets::Tcp,
        }
    }

    /// How diagnostics names it.
    fn feature(self) -> &'static str {
        match self {
            Sockets::None => "sockets-none",
            Sockets::Tcp => "sockets-tcp-only",
            Sockets::TcpAndNameResolution => "sockets-tcp-and-udp-for-dns",
        }
    }
}

/// `socket(2)`'s type argument carries `SOCK_NONBLOCK` and `SOCK_CLOEXEC` above the type itself.
const SOCK_TYPE_MASK: u64 = 0xf;

/// Two filters: new processes, exec, tracing, kernel-level calls and every socket `sockets` does not name fail
/// with `EPERM` (an error the worker reports, not a kill); `clone3`, whose flags a filter cannot read, fails with
/// `ENOSYS`, so the C library falls back to `clone`, whose flags it can.
fn seccomp(sockets: Sockets) -> Result<(), WorkerError> {
    let arch = target_arch()?;
    let fail = |err: seccompiler::BackendError| refused("seccomp", err);
    let mut denied: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for call in DENIED_CALLS {
        denied.insert(*call, Vec::new());
    }
    // clone without CLONE_THREAD makes a process; with it, a thread (which DuckDB and tokio need).
    let new_process =
        SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64), 0)
            .map_err(fail)?;
    denied.insert(libc::SYS_clone, vec![SeccompRule::new(vec![new_process]).map_err(fail)?]);
    // An unnamed pair reaches nothing outside, but no job needs one (tokio's signal pipe is made before the
    // filter, see `super::prepare`), so it is denied with the rest of local IPC.
    denied.insert(libc::SYS_socketpair, Vec::new());
    denied.insert(libc::SYS_socket, socket_rules(sockets).map_err(fail)?);
    let eperm = SeccompFilter::new(denied, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)
        .map_err(fail)?;
    let enosys = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(fail)?;
    for filter in [enosys, eperm] {
        let program: BpfProgram = filter.try_into().map_err(fail)?;
        seccompiler::apply_filter_all_threads(&program).map_err(|err| refused("seccomp", err))?;
    }
    Ok(())
}

/// The `socket(domain, type, protocol)` calls that fail. An empty list denies every call.
fn socket_rules(sockets: Sockets) -> Result<Vec<SeccompRule>, seccompiler::BackendError> {
    if sockets == Sockets::None {
        return Ok(Vec::new());
    }
    let udp = sockets == Sockets::TcpAndNameResolution;
    // Any family but IPv4 and IPv6: Unix, netlink, packet, vsock and the rest.
    let mut rules =
        vec![SeccompRule::new(vec![arg_is_not(0, libc::AF_INET as u64)?, arg_is_not(0, libc::AF_INET6 as u64)?])?];
    // Any type but a stream (and a datagram, for name resolution).
    for kind in 0..=SOCK_TYPE_MASK {
        if kind == libc::SOCK_STREAM as u64 || (udp && kind == libc::SOCK_DGRAM as u64) {
            continue;
        }
        rules.push(SeccompRule::new(vec![SeccompCondition::new(
            1,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::MaskedEq(SOCK_TYPE_MASK),
            kind,
        )?])?);
    }
    // Any protocol but the default, TCP (and UDP).
    let mut protocol = vec![arg_is_not(2, 0)?, arg_is_not(2, libc::IPPROTO_TCP as u64)?];
    if udp {
        protocol.push(arg_is_not(2, libc::IPPROTO_UDP as u64)?);
    }
    rules.push(SeccompRule::new(protocol)?);
    Ok(rules)
}

fn arg_is_not(arg: u8, value: u64) -> Result<SeccompCondition, seccompiler::BackendError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, value)
}

fn target_arch() -> Result<TargetArch, WorkerError> {
    if cfg!(target_arch = "x86_64") {
        Ok(TargetArch::x86_64)
    } else if cfg!(target_arch = "aarch64") {
        Ok(TargetArch::aarch64)
    } else {
        Err(WorkerError::Refused("sandbox: no seccomp filter for this CPU architecture".into()))
    }
}

/// System calls no worker makes: process creation and exec, tracing and cross-process memory access, mounts and
/// namespaces, keyrings, bpf, perf, kernel modules and kexec, reboot, swap, accounting, io_uring (which would
/// run file and network operations out of seccomp's sight), handle-based opens, clock and host settings.
const DENIED_CALLS: &[i64] = &[
    #[cfg(target_arch = "x86_64")]
    libc::SYS_fork,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_vfork,
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    libc::SYS_kcmp,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_open_tree,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_quotactl,
    libc::SYS_syslog,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_sethostname,
    libc::SYS_setdomainname,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
];

#[cfg(test)]
mod tests {
    use super::*;
    use polystoreiq_protocol::worker::{NetworkTarget, ResourceLimits};

    fn policy(database: Option<DatabaseFile>, network: Option<NetworkTarget>) -> SandboxPolicy {
        SandboxPolicy {
            scratch: "/s/run-1".into(),
            source_paths: vec!["/data/t.csv".into()],
            database,
            network,
            limits: ResourceLimits { cpu_seconds: 1, open_files: 1, file_size_bytes: 1 },
            allow_degraded: false,
        }
    }

    fn granted(policy: &SandboxPolicy, writable: bool) -> Vec<&str> {
        path_rules(policy)
            .into_iter()
            .filter(|(path, w)| *w == writable && !SYSTEM_READ.contains(path))
            .map(|(path, _)| path)
            .collect()
    }

    #[test]
    fn a_query_reads_its_database_and_an_import_writes_only_beside_it() {
        let database = |import| Some(DatabaseFile { path: "/h/datasets/s.duckdb".into(), import });
        let query = policy(database(false), None);
        assert_eq!(granted(&query, false), ["/data/t.csv", "/h/datasets/s.duckdb"]);
        assert_eq!(granted(&query, true), ["/s/run-1", "/dev/null"]);
        let import = policy(database(true), None);
        assert_eq!(granted(&import, false), ["/data/t.csv"]);
        assert_eq!(granted(&import, true), ["/s/run-1", "/dev/null", "/h/datasets"]);
        assert!(path_rules(&import).iter().take(SYSTEM_READ.len()).all(|(_, writable)| !writable));
    }

    #[test]
    fn only_a_network_target_opens_sockets_and_only_name_resolution_opens_udp() {
        let target = |name_resolution| Some(NetworkTarget { host: "db".into(), port: 5432, name_resolution });
        assert_eq!(Sockets::of(&policy(None, None)), Sockets::None);
        assert_eq!(Sockets::of(&policy(None, target(false))), Sockets::Tcp);
        assert_eq!(Sockets::of(&policy(None, target(true))), Sockets::TcpAndNameResolution);
    }
}
