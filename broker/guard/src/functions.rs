//! Known-dangerous functions and relations, by what they would do: the words of a refusal, not its cause.
//!
//! A function is refused because it is not on its engine's allow-list (`allow.rs`); this table only names the
//! refusal of a known one (`file_access`, `sleep_or_lock`, ...) so the user learns why. A test checks that no
//! name here is also allowed.

use super::Code;

/// Exact function names (lower case, unqualified) and what calling them does.
const DENIED: &[(&str, Code)] = &[
    // Reading or writing the server's files.
    ("pg_read_file", Code::FileAccess),
    ("pg_read_binary_file", Code::FileAccess),
    ("pg_stat_file", Code::FileAccess),
    ("pg_current_logfile", Code::FileAccess),
    ("pg_file_write", Code::FileAccess),
    ("pg_file_rename", Code::FileAccess),
    ("pg_file_unlink", Code::FileAccess),
    ("pg_file_sync", Code::FileAccess),
    ("pg_logdir_ls", Code::FileAccess),
    ("lo_import", Code::FileAccess),
    ("lo_export", Code::FileAccess),
    ("load_file", Code::FileAccess),
    ("read_text", Code::FileAccess),
    ("read_blob", Code::FileAccess),
    ("glob", Code::FileAccess),
    ("sniff_csv", Code::FileAccess),
    ("parquet_scan", Code::FileAccess),
    ("st_read", Code::FileAccess),
    ("read_xlsx", Code::FileAccess),
    ("iceberg_scan", Code::FileAccess),
    ("iceberg_metadata", Code::FileAccess),
    ("delta_scan", Code::FileAccess),
    ("sqlite_scan", Code::FileAccess),
    ("sqlite_attach", Code::FileAccess),
    ("read_duckdb", Code::FileAccess),
    // Other servers.
    ("postgres_scan", Code::NetworkAccess),
    ("postgres_attach", Code::NetworkAccess),
    ("postgres_query", Code::NetworkAccess),
    ("mysql_scan", Code::NetworkAccess),
    ("mysql_query", Code::NetworkAccess),
    ("http_get", Code::NetworkAccess),
    ("http_post", Code::NetworkAccess),
    // Administration of the server or of other sessions.
    ("pg_terminate_backend", Code::AdminFunction),
    ("pg_cancel_backend", Code::AdminFunction),
    ("pg_reload_conf", Code::AdminFunction),
    ("pg_rotate_logfile", Code::AdminFunction),
    ("pg_promote", Code::AdminFunction),
    ("pg_switch_wal", Code::AdminFunction),
    ("pg_create_restore_point", Code::AdminFunction),
    ("pg_backup_start", Code::AdminFunction),
    ("pg_backup_stop", Code::AdminFunction),
    ("pg_start_backup", Code::AdminFunction),
    ("pg_stop_backup", Code::AdminFunction),
    ("pg_wal_replay_pause", Code::AdminFunction),
    ("pg_wal_replay_resume", Code::AdminFunction),
    ("pg_create_physical_replication_slot", Code::AdminFunction),
    ("pg_create_logical_replication_slot", Code::AdminFunction),
    ("pg_drop_replication_slot", Code::AdminFunction),
    ("pg_replication_slot_advance", Code::AdminFunction),
    ("pg_copy_physical_replication_slot", Code::AdminFunction),
    ("pg_copy_logical_replication_slot", Code::AdminFunction),
    ("pg_logical_emit_message", Code::AdminFunction),
    ("pg_logical_slot_get_changes", Code::AdminFunction),
    ("pg_logical_slot_peek_changes", Code::AdminFunction),
    ("pg_import_system_collations", Code::AdminFunction),
    ("pg_log_backend_memory_contexts", Code::AdminFunction),
    ("pg_export_snapshot", Code::AdminFunction),
    ("pg_current_xact_id", Code::AdminFunction),
    ("txid_current", Code::AdminFunction),
    ("pg_prewarm", Code::AdminFunction),
    ("pg_stat_statements_reset", Code::AdminFunction),
    ("pg_nextoid", Code::AdminFunction),
    ("pg_stop_making_pinned_objects", Code::AdminFunction),
    ("pg_rotate_logfile_old", Code::AdminFunction),
    ("loread", Code::AdminFunction),
    ("lowrite", Code::AdminFunction),
    ("brin_summarize_new_values", Code::AdminFunction),
    ("brin_summarize_range", Code::AdminFunction),
    ("brin_desummarize_range", Code::AdminFunction),
    ("gin_clean_pending_list", Code::AdminFunction),
    ("set_config", Code::AdminFunction),
    // DuckDB: checkpoints, logs and profiling of the database, and a scan of raw memory addresses.
    ("checkpoint", Code::AdminFunction),
    ("force_checkpoint", Code::AdminFunction),
    ("enable_logging", Code::AdminFunction),
    ("disable_logging", Code::AdminFunction),
    ("truncate_duckdb_logs", Code::AdminFunction),
    ("write_log", Code::AdminFunction),
    ("enable_profiling", Code::AdminFunction),
    ("disable_profiling", Code::AdminFunction),
    ("arrow_scan", Code::AdminFunction),
    ("arrow_scan_dumb", Code::AdminFunction),
    ("pg_notify", Code::ListenNotify),
    ("sys_exec", Code::AdminFunction),
    ("sys_eval", Code::AdminFunction),
    // Sleeping, locking, waiting.
    ("pg_sleep", Code::SleepOrLock),
    ("pg_sleep_for", Code::SleepOrLock),
    ("pg_sleep_until", Code::SleepOrLock),
    ("sleep", Code::SleepOrLock),
    ("sleep_ms", Code::SleepOrLock),
    ("benchmark", Code::SleepOrLock),
    ("get_lock", Code::SleepOrLock),
    ("release_lock", Code::SleepOrLock),
    ("release_all_locks", Code::SleepOrLock),
    ("is_free_lock", Code::SleepOrLock),
    ("is_used_lock", Code::SleepOrLock),
    ("master_pos_wait", Code::SleepOrLock),
    ("source_pos_wait", Code::SleepOrLock),
    ("master_gtid_wait", Code::SleepOrLock),
    ("wait_for_executed_gtid_set", Code::SleepOrLock),
    ("wait_until_sql_thread_after_gtids", Code::SleepOrLock),
    // Sequences: advancing one is a write.
    ("nextval", Code::Sequence),
    ("setval", Code::Sequence),
    // The process environment and the server's settings.
    ("getenv", Code::Environment),
    ("current_setting", Code::Environment),
    ("duckdb_settings", Code::Environment),
    // The functions behind credential and settings views.
    ("pg_hba_file_rules", Code::SensitiveCatalog),
    ("pg_ident_file_mappings", Code::SensitiveCatalog),
    ("pg_show_all_file_settings", Code::SensitiveCatalog),
    ("pg_show_all_settings", Code::SensitiveCatalog),
    // SQL text run by a function, out of the guardrail's sight.
    ("query", Code::DynamicSql),
    ("query_table", Code::DynamicSql),
    ("json_execute_serialized_sql", Code::DynamicSql),
    ("query_to_xml", Code::DynamicSql),
    ("query_to_xml_and_xmlschema", Code::DynamicSql),
    ("query_to_xmlschema", Code::DynamicSql),
    ("cursor_to_xml", Code::DynamicSql),
    ("cursor_to_xmlschema", Code::DynamicSql),
    ("table_to_xml", Code::DynamicSql),
    ("table_to_xml_and_xmlschema", Code::DynamicSql),
    ("table_to_xmlschema", Code::DynamicSql),
    ("schema_to_xml", Code::DynamicSql),
    ("schema_to_xml_and_xmlschema", Code::DynamicSql),
    ("database_to_xml", Code::DynamicSql),
    ("database_to_xml_and_xmlschema", Code::DynamicSql),
    ("ts_stat", Code::DynamicSql),
    ("ts_rewrite", Code::DynamicSql),
    // Stored credentials.
    ("duckdb_secrets", Code::Secret),
    ("which_secret", Code::Secret),
];

/// Name prefixes (lower case) of whole function families. Engine introspection (`duckdb_*`, `pragma_*`,
/// `pg_stat_*`) reads other sessions, settings or the profile's paths.
const DENIED_PREFIXES: &[(&str, Code)] = &[
    ("dblink", Code::NetworkAccess),
    ("pg_advisory", Code::SleepOrLock),
    ("pg_try_advisory", Code::SleepOrLock),
    ("pg_ls_", Code::FileAccess),
    ("pg_stat_reset", Code::AdminFunction),
    ("pg_read_", Code::FileAccess),
    ("pg_logical_", Code::AdminFunction),
    ("pg_replication_origin", Code::AdminFunction),
    ("binary_upgrade_", Code::AdminFunction),
    ("lo_", Code::AdminFunction),
    ("read_csv", Code::FileAccess),
    ("read_json", Code::FileAccess),
    ("read_ndjson", Code::FileAccess),
    ("read_parquet", Code::FileAccess),
    ("parquet_", Code::FileAccess),
    ("pg_stat_", Code::SensitiveCatalog),
    ("duckdb_", Code::SensitiveCatalog),
    ("pragma_", Code::SensitiveCatalog),
];

/// Table functions that read local files: allowed when every path they name is one of the source's own.
pub(super) const FILE_READERS: &[&str] =
    &["read_csv", "read_csv_auto", "read_json", "read_json_auto", "read_ndjson", "read_ndjson_auto", "read_parquet"];

/// Settings `current_setting` (and MySQL's `@@name`) may read: formatting and version facts, nothing with a path
/// or a secret.
pub(super) const HARMLESS_SETTINGS: &[&str] = &[
    "timezone",
    "datestyle",
    "intervalstyle",
    "server_version",
    "server_version_num",
    "lc_monetary",
    "lc_numeric",
    "lc_time",
    "default_text_search_config",
    "extra_float_digits",
    // MySQL and MariaDB system variables.
    "version",
    "version_comment",
    "time_zone",
    "system_time_zone",
    "lc_time_names",
    "default_week_format",
    "div_precision_increment",
];

/// Relations whose rows are credentials or server configuration.
const SENSITIVE_RELATIONS: &[&str] = &[
    "pg_authid",
    "pg_shadow",
    "pg_user_mapping",
    "pg_user_mappings",
    "pg_hba_file_rules",
    "pg_ident_file_mappings",
    "pg_file_settings",
    "pg_settings",
    "pg_largeobject",
    "pg_largeobject_metadata",
    "duckdb_secrets",
    // Other sessions' statements, which may quote credentials or private values.
    "pg_stat_activity",
    "pg_stat_statements",
    "processlist",
];

/// What calling `name` (lower case, unqualified) would do, if it is denied.
pub(super) fn denied(name: &str) -> Option<Code> {
    DENIED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, code)| *code)
        .or_else(|| DENIED_PREFIXES.iter().find(|(prefix, _)| name.starts_with(prefix)).map(|(_, code)| *code))
}

/// Whether a relation (its lower-case parts) holds credentials, server configuration or other sessions'
/// statements. Every table of MySQL's `mysql` and `performance_schema` schemas does.
pub(super) fn sensitive_relation(parts: &[String]) -> bool {
    match parts {
        [.., schema, _] if schema == "mysql" || schema == "performance_schema" => true,
        [.., last] => SENSITIVE_RELATIONS.contains(&last.as_str()),
        [] => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_case_and_families_cover_their_members() {
        for (name, _) in DENIED.iter().chain(DENIED_PREFIXES) {
            assert_eq!(*name, name.to_lowercase());
        }
        assert_eq!(denied("dblink_exec"), Some(Code::NetworkAccess));
        assert_eq!(denied("pg_try_advisory_xact_lock_shared"), Some(Code::SleepOrLock));
        assert_eq!(denied("read_csv_auto"), Some(Code::FileAccess));
        assert_eq!(denied("lower"), None);
        assert_eq!(denied("date_trunc"), None);
        assert!(sensitive_relation(&["mysql".into(), "user".into()]));
        assert!(sensitive_relation(&["pg_catalog".into(), "pg_authid".into()]));
        assert!(!sensitive_relation(&["public".into(), "orders".into()]));
    }
}
