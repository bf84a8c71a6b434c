//! The seed's files: the demo as its generator writes it, Chinook as one Parquet file per table (written by
//! DuckDB, typed as the servers' columns are).

use std::path::Path;

use anyhow::Context;

use super::dataset::duck_type;
use super::{CHINOOK_DB, DEMO_DB, Dataset, Seeder};
use crate::fixtures;
impl Seeder<'_> {
    /// The files: the demo written by its generator, Chinook as one Parquet file per table.
    pub(super) fn files(&mut self) -> anyhow::Result<()> {
        for (name, dir) in [(DEMO_DB, self.options.demo_dir()), (CHINOOK_DB, self.options.chinook_dir())] {
            let marker_path = self.options.dir.join(format!("{name}.seed"));
            let marker = std::fs::read_to_string(&marker_path).ok();
            let target = format!("{name} files in {}", dir.display());
            if !self.stale(marker.as_deref()) && dir.is_dir() {
                self.note(target, None);
                continue;
            }
            let _ = std::fs::remove_file(&marker_path);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
            }
            let rows = if name == DEMO_DB {
                fixtures::write_demo(&dir).context("writing the demo files")?;
                self.demo = None; // Read again from the files just written.
                self.datasets()?[0].rows()
            } else {
                let chinook = self.datasets()?[1];
                write_parquet(chinook, &dir).context("writing Chinook's Parquet files")?;
                chinook.rows()
            };
            std::fs::write(&marker_path, self.marker()).context("writing the files' seed marker")?;
            self.note(target, Some(rows));
        }
        Ok(())
    }
}

/// One Parquet file per table, typed as the servers' columns are.
fn write_parquet(dataset: &Dataset, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let conn = duckdb::Connection::open_in_memory()?;
    for table in &dataset.tables {
        let staging: Vec<String> = table.spec.columns.iter().map(|c| format!("{} VARCHAR", c.name)).collect();
        conn.execute_batch(&format!("CREATE TABLE staging ({})", staging.join(", ")))?;
        {
            let mut appender = conn.appender("staging")?;
            for row in &table.rows {
                appender.append_row(duckdb::appender_params_from_iter(row.iter()))?;
            }
        }
        let select: Vec<String> =
            table.spec.columns.iter().map(|c| format!("CAST({0} AS {1}) AS {0}", c.name, duck_type(c.kind))).collect();
        let path = dir.join(format!("{}.parquet", table.spec.name));
        conn.execute_batch(&format!(
            "COPY (SELECT {} FROM staging) TO '{}' (FORMAT parquet); DROP TABLE staging;",
            select.join(", "),
            path.to_string_lossy().replace('\'', "''")
        ))?;
    }
    Ok(())
}
