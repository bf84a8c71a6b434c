//! Deliberate failures, so the supervisor is tested against real crashes rather than imitations.
//!
//! Compiled into debug builds only; a release worker refuses every fault.

use std::io::Write;

#[cfg(debug_assertions)]
use polystoreiq_protocol::worker::Probe;
use polystoreiq_protocol::worker::{Fault, JobDone, WorkerError};

use crate::serve::FrameSink;

#[cfg(not(debug_assertions))]
pub(crate) fn inject<W: Write>(_fault: Fault, _out: &mut FrameSink<W>) -> Result<JobDone, WorkerError> {
    Err(WorkerError::Refused("fault injection exists only in debug builds of the worker".into()))
}

#[cfg(debug_assertions)]
pub(crate) fn inject<W: Write>(fault: Fault, out: &mut FrameSink<W>) -> Result<JobDone, WorkerError> {
    match fault {
        Fault::Panic => panic!("injected panic"),
        Fault::Abort => std::process::abort(),
        Fault::Segfault => {
            // SAFETY: none; this is the point. Writing through a null pointer raises SIGSEGV.
            unsafe { std::ptr::null_mut::<u8>().write_volatile(1) };
            unreachable!("a null write returned")
        }
        Fault::ExhaustMemory => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                // Touch every page so the memory is really committed, then keep it.
                hoard.push(vec![0x5a; 64 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        Fault::GarbageOnStdout => {
            let raw = out.raw();
            let _ = raw.write_all(&[0xff, 0xff, 0xff, 0x7f, b'g', b'a', b'r', b'b', b'a', b'g', b'e']);
            let _ = raw.flush();
            std::thread::sleep(std::time::Duration::from_secs(30));
            Ok(JobDone { rows: 0, truncated: false, elapsed_us: 0, peak_rss_kb: None })
        }
        Fault::Exit(code) => std::process::exit(code),
        Fault::Sleep { ms } => {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(JobDone { rows: 0, truncated: false, elapsed_us: ms * 1000, peak_rss_kb: None })
        }
        Fault::Probe(probe) => {
            self::probe(probe).map(|()| JobDone { rows: 1, truncated: false, elapsed_us: 0, peak_rss_kb: None })
        }
    }
}

#[cfg(all(debug_assertions, not(target_os = "linux")))]
fn probe(_probe: Probe) -> Result<(), WorkerError> {
    Err(WorkerError::Refused("sandbox probes run on Linux only".into()))
}

/// Tries one thing against the sandbox. `Ok` when it worked; `Refused` with the OS's answer when it did not.
#[cfg(all(debug_assertions, target_os = "linux"))]
fn probe(probe: Probe) -> Result<(), WorkerError> {
    use std::io::Read;
    let stopped = |what: String, err: std::io::Error| WorkerError::Refused(format!("{what}: {err}"));
    match probe {
        Probe::ReadFile { path } => {
            let mut byte = [0u8; 1];
            std::fs::File::open(&path)
                .and_then(|mut f| f.read(&mut byte))
                .map(|_| ())
                .map_err(|e| stopped(format!("read {path}"), e))
        }
        Probe::DuckDbReadCsv { path } => {
            // DuckDB as it comes (external access on): only the OS sandbox stands between it and the file.
            let conn = duckdb::Connection::open_in_memory().map_err(|e| WorkerError::Internal(e.to_string()))?;
            let sql = format!(
                "SELECT count(*) FROM read_csv('{}', header = false, all_varchar = true)",
                path.replace('\'', "''")
            );
            conn.query_row(&sql, [], |row| row.get::<_, i64>(0))
                .map(|_| ())
                .map_err(|e| WorkerError::Refused(format!("read_csv {path}: {e}")))
        }
        Probe::WriteFile { path } => {
            std::fs::write(&path, b"written from inside the sandbox\n").map_err(|e| stopped(format!("write {path}"), e))
        }
        Probe::Connect { host, port } => {
            let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                .map_err(|e| stopped(format!("resolve {host}"), e))?
                .next()
                .ok_or_else(|| WorkerError::Refused(format!("{host} has no address")))?;
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))
                .map(drop)
                .map_err(|e| stopped(format!("connect {host}:{port}"), e))
        }
        Probe::UdpSend { host, port } => std::net::UdpSocket::bind("0.0.0.0:0")
            .and_then(|socket| socket.send_to(b"psiq", (host.as_str(), port)))
            .map(drop)
            .map_err(|e| stopped(format!("udp send to {host}:{port}"), e)),
        Probe::Spawn => {
            #[allow(clippy::disallowed_methods)] // Trying to start a process is the probe.
            let spawned = std::process::Command::new("/bin/true").status();
            spawned.map(drop).map_err(|e| stopped("spawn /bin/true".into(), e))
        }
        Probe::ForkBomb => {
            for round in 0..64 {
                // SAFETY: the child only calls _exit, which is async-signal-safe.
                match unsafe { libc::fork() } {
                    -1 => return Err(stopped(format!("fork #{round}"), std::io::Error::last_os_error())),
                    0 => unsafe { libc::_exit(0) },
                    _ => {}
                }
            }
            Ok(())
        }
        Probe::Allocate { mb } => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            for _ in 0..mb {
                hoard.push(vec![0x5a; 1 << 20]);
            }
            std::hint::black_box(&hoard);
            Ok(())
        }
        Probe::Environment => {
            let names: Vec<String> = std::env::vars_os().map(|(k, _)| k.to_string_lossy().into_owned()).collect();
            if names.is_empty() {
                Ok(())
            } else {
                Err(WorkerError::Refused(format!("the environment holds {}", names.join(", "))))
            }
        }
        Probe::Ptrace { pid } => {
            // SAFETY: PTRACE_ATTACH with integer arguments; the result is checked.
            let rc = unsafe { libc::ptrace(libc::PTRACE_ATTACH, pid as libc::pid_t, 0, 0) };
            if rc == 0 {
                // SAFETY: detach what was attached.
                unsafe { libc::ptrace(libc::PTRACE_DETACH, pid as libc::pid_t, 0, 0) };
                Ok(())
            } else {
                Err(stopped(format!("ptrace {pid}"), std::io::Error::last_os_error()))
            }
        }
        Probe::Signal { pid } => {
            // SAFETY: signal 0 only checks whether a signal could be sent.
            if unsafe { libc::kill(pid as libc::pid_t, 0) } == 0 {
                Ok(())
            } else {
                Err(stopped(format!("signal {pid}"), std::io::Error::last_os_error()))
            }
        }
        Probe::ConnectUnix { path } => std::os::unix::net::UnixStream::connect(&path)
            .map(drop)
            .map_err(|e| stopped(format!("connect to the Unix socket {path}"), e)),
        Probe::Spin { seconds } => {
            let until = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
            let mut x = 0u64;
            while std::time::Instant::now() < until {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            Ok(())
        }
    }
}
