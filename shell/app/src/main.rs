//! The PolyStoreIQ desktop app: a Tauri window over the profile's broker. The webview holds no secret and reaches
//! no connector, file or server: every command here is a thin, typed wrapper over the broker client the `psiq`
//! CLI uses, and the capability (capabilities/default.json) lists each command the page may call.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[cfg(test)]
mod bindings;
#[macro_use]
mod command_names;
mod commands;
mod view;

/// The handler of every command [`command_names`] declares, registered under its name.
macro_rules! handlers {
    (granted: [$($granted:ident),* $(,)?], withheld: [$($withheld:ident),* $(,)?] $(,)?) => {
        tauri::generate_handler![$(commands::$granted,)* $(commands::$withheld,)*]
    };
}

fn main() {
    let home = std::env::var_os("POLYSTOREIQ_HOME").map_or_else(polystoreiq_client::default_home, Into::into);
    let home = std::path::absolute(&home).unwrap_or(home);
    let shell = commands::Shell::new(home);
    // Start (or attach to) the broker before the window opens, so the first screen knows whether it runs.
    shell.warm_up();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(shell)
        .invoke_handler(app_commands!(handlers))
        .run(tauri::generate_context!());
    if let Err(err) = result {
        eprintln!("polystoreiq: the window could not start: {err}");
        std::process::exit(1);
    }
}
