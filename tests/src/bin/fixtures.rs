//! `polystoreiq-fixtures demo DIR` writes the demo dataset; `lineitem DIR ROWS` writes benchmark files.

use std::path::PathBuf;

use anyhow::{Context, bail};
use polystoreiq_tests::fixtures;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, dir] if cmd == "demo" => {
            fixtures::write_demo(&PathBuf::from(dir)).context("writing the demo dataset")?;
            eprintln!("demo dataset written to {dir}");
        }
        [cmd, dir, rows] if cmd == "lineitem" => {
            let rows: u64 = rows.parse().context("ROWS must be a whole number")?;
            fixtures::write_lineitem(&PathBuf::from(dir), rows, true, true, true).context("writing lineitem")?;
            eprintln!("lineitem ({rows} rows) written to {dir}");
        }
        _ => bail!("usage: polystoreiq-fixtures demo DIR | lineitem DIR ROWS"),
    }
    Ok(())
}
