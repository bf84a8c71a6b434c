//! The one declaration of the app's commands. From it come the build script's permissions (one `allow-<command>`
//! each), the handler list the app registers, the `Command` name type in the generated TypeScript, and the check
//! that the capability (capabilities/default.json) grants exactly the granted ones.
//!
//! Adding a command: write it in `commands.rs`, name it here, grant it in the capability, and regenerate the
//! TypeScript with `UPDATE_BINDINGS=1 cargo test -p polystoreiq-app bindings`.

/// Calls `$callback! { granted: [...], withheld: [...] }` with every command. The granted ones the webview may
/// call; a withheld one is registered but granted to no webview (`broker_stop`: the desktop app never stops the
/// broker from the page, and the security test proves the webview cannot reach it).
macro_rules! app_commands {
    ($callback:ident) => {
        $callback! {
            granted: [
                broker_status,
                broker_restart,
                access,
                unlock,
                lock,
                sources,
                source_add_files,
                source_add_database,
                source_test,
                source_set_enabled,
                source_remove,
                schema,
                sessions,
                session_create,
                session_messages,
                session_rename,
                ask,
                draft,
                run,
                deny,
                cancel,
                result_page,
                render_time,
                diag,
                run_trace,
                audit,
                settings,
                set_llm,
                llm_test,
                set_limits,
                set_lock,
                export_file,
            ],
            withheld: [broker_stop],
        }
    };
}

macro_rules! command_name_lists {
    (granted: [$($granted:ident),* $(,)?], withheld: [$($withheld:ident),* $(,)?] $(,)?) => {
        /// Every registered command.
        #[allow(dead_code, reason = "the build script's list; the app registers its handlers from the macro")]
        pub const ALL: &[&str] = &[$(stringify!($granted),)* $(stringify!($withheld),)*];
        /// The commands the main window's page may call.
        #[allow(dead_code)]
        pub const GRANTED: &[&str] = &[$(stringify!($granted),)*];
    };
}

app_commands!(command_name_lists);
