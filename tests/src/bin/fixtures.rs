//! `polystoreiq-fixtures demo DIR` writes the demo dataset; `lineitem DIR ROWS` writes benchmark files; `seed`
//! loads the demo and Chinook into the test servers and files (see `polystoreiq_tests::seed`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use polystoreiq_tests::{fixtures, seed};

const USAGE: &str =
    "usage: polystoreiq-fixtures demo DIR | lineitem DIR ROWS | seed [--dir DIR] [--chinook FILE] [--force]";

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
        [cmd, flags @ ..] if cmd == "seed" => {
            let mut options = seed::Options::default();
            let mut flags = flags.iter();
            while let Some(flag) = flags.next() {
                match flag.as_str() {
                    "--dir" => options.dir = flags.next().context(USAGE)?.into(),
                    "--chinook" => options.chinook_json = flags.next().context(USAGE)?.into(),
                    "--force" => options.force = true,
                    _ => bail!("{USAGE}"),
                }
            }
            let outcomes = seed::seed(&options)?;
            eprint!("{}", seed::summary(&outcomes));
        }
        _ => bail!("{USAGE}"),
    }
    Ok(())
}
