//! The PolyStoreIQ desktop app: a Tauri window over the profile's broker. The webview holds no secret and reaches
//! no connector, file or server: every command here is a thin, typed wrapper over the broker client the `psiq`
//! CLI uses, and the capability (capabilities/default.json) lists each command the page may call.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[cfg(test)]
mod bindings;
#[cfg(test)]
mod command_names;
mod commands;
mod view;

fn main() {
    let home = std::env::var_os("POLYSTOREIQ_HOME").map_or_else(polystoreiq_client::default_home, Into::into);
    let home = std::path::absolute(&home).unwrap_or(home);
    let shell = commands::Shell::new(home);
    // Start (or attach to) the broker before the window opens, so the first screen knows whether it runs.
    shell.warm_up();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(shell)
        .invoke_handler(tauri::generate_handler![
            commands::broker_status,
            commands::broker_restart,
            commands::broker_stop,
            commands::access,
            commands::unlock,
            commands::lock,
            commands::sources,
            commands::source_add_files,
            commands::source_add_database,
            commands::source_test,
            commands::source_set_enabled,
            commands::source_remove,
            commands::schema,
            commands::sessions,
            commands::session_create,
            commands::session_messages,
            commands::ask,
            commands::draft,
            commands::run,
            commands::deny,
            commands::cancel,
            commands::result_page,
            commands::render_time,
            commands::diag,
            commands::run_trace,
            commands::audit,
            commands::settings,
            commands::set_llm,
            commands::llm_test,
            commands::set_limits,
            commands::set_lock,
            commands::export_file,
        ])
        .run(tauri::generate_context!());
    if let Err(err) = result {
        eprintln!("polystoreiq: the window could not start: {err}");
        std::process::exit(1);
    }
}
