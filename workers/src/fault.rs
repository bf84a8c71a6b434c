//! Deliberate failures, so the supervisor is tested against real crashes rather than imitations.
//!
//! Compiled into debug builds only; a release worker refuses every fault.

use std::io::Write;

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
            Ok(JobDone { rows: 0, truncated: false, elapsed_us: 0 })
        }
        Fault::Exit(code) => std::process::exit(code),
        Fault::Sleep { ms } => {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(JobDone { rows: 0, truncated: false, elapsed_us: ms * 1000 })
        }
    }
}
