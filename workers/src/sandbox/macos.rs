//! macOS enforcement: the worker applies its kind's seatbelt profile (`sandbox-profiles/common.sb` plus
//! `duckdb.sb` or `network.sb`) to itself with `sandbox_init_with_parameters`, after the broker's handshake and
//! before it opens any data or connection. Once applied, a profile holds for the life of the process and cannot
//! be lifted or widened.
//!
//! The profile text and the checks on parameter values live in `seatbelt.rs`, which compiles and is tested on
//! every platform; this file is only the FFI. `sandbox_init_with_parameters` is deprecated in the SDK without a
//! replacement for this use, and Chromium applies its profiles the same way (`sandbox/mac/seatbelt.cc`).

use std::ffi::{CStr, CString, c_char, c_int};
use std::ptr;

pub use super::seatbelt::Profile;
use super::seatbelt::{prepare, profile_text};

// Declared here because the SDK's <sandbox.h> declares only `sandbox_init`; all three live in libSystem
// (libsystem_sandbox), which every macOS binary links.
unsafe extern "C" {
    /// Applies `profile` (SBPL source, since `flags` is 0) to this process. `parameters` is a NULL-terminated
    /// array of key, value, key, value strings that the profile reads with `(param "KEY")`. Returns 0, or -1
    /// with a message in `*errorbuf` that the caller frees with `sandbox_free_error`.
    fn sandbox_init_with_parameters(
        profile: *const c_char,
        flags: u64,
        parameters: *const *const c_char,
        errorbuf: *mut *mut c_char,
    ) -> c_int;

    fn sandbox_free_error(errorbuf: *mut c_char);

    /// With a null operation and filter type 0 (`SANDBOX_FILTER_NONE`): 1 when process `pid` is sandboxed.
    fn sandbox_check(pid: c_int, operation: *const c_char, filter_type: c_int, ...) -> c_int;
}

/// Puts this process under the `profile` seatbelt profile with `params` (every parameter the profile reads, as
/// built by `seatbelt::for_policy`). Paths are resolved to their real
/// location first, since seatbelt matches real paths. Fails closed: an error means the job must not run.
pub fn enforce(profile: Profile, params: &[(&str, String)]) -> Result<(), String> {
    let params = prepare(profile, params)?;
    let text = CString::new(profile_text(profile))
        .map_err(|_| format!("the {profile} sandbox profile contains a NUL byte; the worker build is broken"))?;
    let mut strings = Vec::with_capacity(params.len() * 2);
    for (name, value) in &params {
        for s in [*name, value.as_str()] {
            // `prepare` has refused values with a NUL byte; the names are constants.
            strings.push(CString::new(s).map_err(|_| format!("the sandbox parameter {name} contains a NUL byte"))?);
        }
    }
    let mut parameters: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    parameters.push(ptr::null());

    let mut error: *mut c_char = ptr::null_mut();
    // SAFETY: `text` and every string `parameters` points to are NUL-terminated and live until after the call;
    // `parameters` ends with the NULL the function looks for; `error` is a valid place for an error pointer.
    let status = unsafe { sandbox_init_with_parameters(text.as_ptr(), 0, parameters.as_ptr(), &mut error) };
    if status != 0 {
        let reason = if error.is_null() {
            "no reason given".to_owned()
        } else {
            // SAFETY: on failure `error` points to a NUL-terminated message the library allocated.
            let reason = unsafe { CStr::from_ptr(error) }.to_string_lossy().into_owned();
            // SAFETY: `error` came from `sandbox_init_with_parameters` and is freed exactly once, after its last read.
            unsafe { sandbox_free_error(error) };
            reason
        };
        return Err(format!("macOS refused the worker's {profile} sandbox profile: {reason}"));
    }

    let pid = c_int::try_from(std::process::id()).map_err(|_| "the process id does not fit a pid_t".to_owned())?;
    // SAFETY: integer arguments and a null operation, which the function accepts for "is it sandboxed at all".
    if unsafe { sandbox_check(pid, ptr::null(), 0) } != 1 {
        return Err(format!("the {profile} sandbox profile was accepted but this process does not run under it"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Seatbelt's own compiler on the real profiles, without applying them (the test process stays free):
    //! `sandbox_compile_string` is the private function Chromium uses to precompile its profiles. It checks what
    //! the Linux tests in `seatbelt.rs` cannot: that macOS knows every operation and filter, and that the
    //! parameters make the profile whole.

    use std::ffi::{CString, c_char, c_int};
    use std::ptr;

    use super::super::seatbelt::{self, Profile, profile_text};

    #[repr(C)]
    struct SandboxParams {
        _opaque: [u8; 0],
    }

    #[repr(C)]
    struct CompiledProfile {
        _builtin: *mut c_char,
        _data: *const u8,
        size: usize,
    }

    unsafe extern "C" {
        fn sandbox_create_params() -> *mut SandboxParams;
        fn sandbox_set_param(params: *mut SandboxParams, key: *const c_char, value: *const c_char) -> c_int;
        fn sandbox_free_params(params: *mut SandboxParams);
        fn sandbox_compile_string(
            profile: *const c_char,
            params: *mut SandboxParams,
            error: *mut *mut c_char,
        ) -> *mut CompiledProfile;
        fn sandbox_free_profile(profile: *mut CompiledProfile);
        fn sandbox_free_error(errorbuf: *mut c_char);
    }

    /// Compiles `text` with `params`; the compiled size, or the compiler's message.
    fn compile(text: &str, params: &[(&'static str, String)]) -> Result<usize, String> {
        let text = CString::new(text).unwrap();
        // The library keeps pointers to these strings, not copies: they must outlive the compilation.
        let strings: Vec<(CString, CString)> =
            params.iter().map(|(k, v)| (CString::new(*k).unwrap(), CString::new(v.as_str()).unwrap())).collect();
        // SAFETY: no arguments; the result is checked for null and freed below.
        let handle = unsafe { sandbox_create_params() };
        assert!(!handle.is_null());
        for (key, value) in &strings {
            // SAFETY: `handle` is live; both strings are NUL-terminated and outlive `handle`.
            assert_eq!(unsafe { sandbox_set_param(handle, key.as_ptr(), value.as_ptr()) }, 0);
        }
        let mut error: *mut c_char = ptr::null_mut();
        // SAFETY: `text` is NUL-terminated, `handle` live, `error` a valid place for an error pointer.
        let compiled = unsafe { sandbox_compile_string(text.as_ptr(), handle, &mut error) };
        let result = if compiled.is_null() {
            let reason = if error.is_null() {
                "no reason given".to_owned()
            } else {
                // SAFETY: the library's NUL-terminated message, read once and then freed once.
                let reason = unsafe { std::ffi::CStr::from_ptr(error) }.to_string_lossy().into_owned();
                // SAFETY: allocated by `sandbox_compile_string`, freed exactly once.
                unsafe { sandbox_free_error(error) };
                reason
            };
            Err(reason)
        } else {
            // SAFETY: a non-null result is a live compiled profile until freed right after.
            let size = unsafe { (*compiled).size };
            // SAFETY: freed exactly once.
            unsafe { sandbox_free_profile(compiled) };
            Ok(size)
        };
        // SAFETY: `handle` is freed exactly once, after its last use.
        unsafe { sandbox_free_params(handle) };
        result
    }

    fn parameters(kind: Profile, dir: &std::path::Path) -> Vec<(&'static str, String)> {
        let binary = std::env::current_exe().unwrap();
        let binary = binary.to_str().unwrap();
        let scratch = dir.join("scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        let csv = dir.join("a.csv");
        std::fs::write(&csv, b"x\n1\n").unwrap();
        let database = dir.join("source.duckdb");
        let params = match kind {
            Profile::Duckdb => seatbelt::duckdb_parameters(
                binary,
                scratch.to_str().unwrap(),
                &[csv.to_str().unwrap()],
                database.to_str(),
                true,
            ),
            Profile::Network => seatbelt::network_parameters(binary, "db.example.com", 5432),
        }
        .unwrap();
        seatbelt::prepare(kind, &params).unwrap()
    }

    #[test]
    fn every_profile_compiles_with_the_launchers_parameters() {
        let dir = tempfile::tempdir().unwrap();
        for kind in Profile::ALL {
            let params = parameters(kind, dir.path());
            let size = compile(&profile_text(kind), &params).unwrap_or_else(|err| panic!("{kind}: {err}"));
            assert!(size > 0, "{kind} compiled to nothing");
        }
    }

    #[test]
    fn the_compiler_refuses_what_the_profiles_must_not_contain() {
        let dir = tempfile::tempdir().unwrap();
        let params = parameters(Profile::Network, dir.path());
        let unknown = format!("{}\n; Reason.\n(allow no-such-operation)\n", profile_text(Profile::Network));
        assert!(compile(&unknown, &params).is_err(), "an unknown operation compiles");
        // Without its parameters the profile reads #f where a string belongs, which must not compile either.
        assert!(compile(&profile_text(Profile::Network), &[]).is_err(), "a profile compiles without its parameters");
    }
}
