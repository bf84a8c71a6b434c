//! Generates the app's command permissions (`allow-<command>`), so a webview may call only the commands its
//! capability lists (capabilities/default.json); a command left out of both stays unreachable from the webview.

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(polystoreiq_commands::ALL);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)).expect("tauri build step");
}

#[path = "src/command_names.rs"]
mod polystoreiq_commands;
