//! The names of every command the shell registers, shared by the build script (which generates a permission for
//! each) and the app (which registers the handlers). The capability decides which of them the webview may call.

/// Every registered command. `broker_stop` is registered but granted to no webview: the desktop app never stops
/// the broker from the page, and the security test proves the webview cannot reach it.
pub const ALL: &[&str] = &[
    "broker_status",
    "broker_restart",
    "broker_stop",
    "access",
    "unlock",
    "lock",
    "sources",
    "source_add_files",
    "source_add_database",
    "source_test",
    "source_set_enabled",
    "source_remove",
    "schema",
    "sessions",
    "session_create",
    "session_messages",
    "ask",
    "draft",
    "run",
    "deny",
    "cancel",
    "result_page",
    "render_time",
    "diag",
    "run_trace",
    "audit",
    "settings",
    "set_llm",
    "llm_test",
    "set_limits",
    "set_lock",
    "export_file",
];
