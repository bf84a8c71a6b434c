//! The limits the owner changes from a front end: rows kept per run, the run and dry-run time limits, workers at
//! once, how long the audit log keeps events, and the temporary space and sort memory a query may use (which the
//! workers pin in the database session or DuckDB connection).
//!
//! Each is stored in the app state's settings table under `limits.<field>`. A `POLYSTOREIQ_*` variable set when the
//! broker started wins over the stored value (an administrator's or a test's override), and the settings say so.
//! A change applies at once: the next run gets the new row limit and timeouts, and the worker pool resizes (see
//! [`crate::supervisor::WorkerSupervisor::resize`]).

use std::ops::RangeInclusive;
use std::sync::RwLock;
use std::time::Duration;

use polystoreiq_protocol::types::{Limits, LimitsChange};
use polystoreiq_protocol::worker::SessionLimits;
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::config::BrokerConfig;
use crate::store::{Store, StoreError};

/// One limit: its field name (as in [`Limits`]), its environment variable, the values it accepts, and how to read
/// it from a change and write it into the limits.
struct Knob {
    field: &'static str,
    env: &'static str,
    range: RangeInclusive<u64>,
    unit: &'static str,
    changed: fn(&LimitsChange) -> Option<u64>,
    set: fn(&mut Limits, u64),
}

/// A [`Knob`] for the field of [`Limits`] and [`LimitsChange`] named `$field`, so that its name and accessors agree;
/// `as u32` for a narrow field.
macro_rules! knob {
    ($field:ident, $env:literal, $range:expr, $unit:literal) => {
        Knob {
            field: stringify!($field),
            env: $env,
            range: $range,
            unit: $unit,
            changed: |c| c.$field,
            set: |l, v| l.$field = v,
        }
    };
    ($field:ident as u32, $env:literal, $range:expr, $unit:literal) => {
        Knob {
            field: stringify!($field),
            env: $env,
            range: $range,
            unit: $unit,
            changed: |c| c.$field.map(u64::from),
            set: |l, v| l.$field = v as u32,
        }
    };
}

const ROW_LIMIT: Knob = knob!(row_limit, "POLYSTOREIQ_ROW_LIMIT", 1..=1_000_000, "rows");
const RUN_TIMEOUT: Knob = knob!(run_timeout_ms, "POLYSTOREIQ_RUN_DEADLINE_MS", 1_000..=86_400_000, "ms");
const CHECK_TIMEOUT: Knob = knob!(check_timeout_ms, "POLYSTOREIQ_CHECK_DEADLINE_MS", 100..=120_000, "ms");
// The narrow fields' ranges fit in a u32, so their `as u32` never truncates.
const MAX_WORKERS: Knob = knob!(max_workers as u32, "POLYSTOREIQ_MAX_WORKERS", 1..=64, "workers");
const RETENTION: Knob = knob!(audit_retention_days as u32, "POLYSTOREIQ_AUDIT_RETENTION_DAYS", 1..=36_500, "days");
// Up to 1 TiB of temporary files; at least 1 MiB, as DuckDB and PostgreSQL need some room to spill at all.
const TEMP_SPACE: Knob = knob!(temp_space_mb, "POLYSTOREIQ_TEMP_SPACE_MB", 1..=1_048_576, "MiB");
// PostgreSQL's own work_mem is at least 64 kB; a whole MiB is the step here, 64 GiB a generous top.
const WORK_MEM: Knob = knob!(work_mem_mb, "POLYSTOREIQ_WORK_MEM_MB", 1..=65_536, "MiB");

const KNOBS: [&Knob; 7] = [&ROW_LIMIT, &RUN_TIMEOUT, &CHECK_TIMEOUT, &MAX_WORKERS, &RETENTION, &TEMP_SPACE, &WORK_MEM];

impl Knob {
    fn key(&self) -> String {
        format!("limits.{}", self.field)
    }

    /// Whether the variable set this limit: present and a whole number, as `BrokerConfig::from_env` reads it (it
    /// ignores any other value, and so does this).
    fn fixed_by_env(&self) -> bool {
        std::env::var(self.env).is_ok_and(|value| value.trim().parse::<u64>().is_ok())
    }

    fn check(&self, value: u64) -> Result<u64, TypedError> {
        if self.range.contains(&value) {
            return Ok(value);
        }
        Err(TypedError::new(
            ErrorCode::BadRequest,
            format!(
                "{} must be between {} and {} {}; got {value}",
                self.field,
                self.range.start(),
                self.range.end(),
                self.unit
            ),
        ))
    }
}

/// The limits as the configuration gives them.
fn from_config(config: &BrokerConfig) -> Limits {
    Limits {
        row_limit: config.row_limit,
        run_timeout_ms: config.run_deadline.as_millis() as u64,
        check_timeout_ms: config.check_deadline.as_millis() as u64,
        max_workers: config.max_workers as u32,
        audit_retention_days: (config.audit_retention.as_secs() / 86_400) as u32,
        temp_space_mb: config.temp_space_mb,
        work_mem_mb: config.work_mem_mb,
    }
}

/// Overlays the stored limits on `config`, except those a `POLYSTOREIQ_*` variable set. Called once at start,
/// before the worker pool is sized. A stored value out of range (edited by hand) is ignored with a warning.
pub async fn apply_stored(store: &Store, config: &mut BrokerConfig) -> Result<(), StoreError> {
    let stored = read_stored(store).await?;
    let mut limits = from_config(config);
    for knob in KNOBS {
        let Some(value) = stored_value(&stored, knob) else { continue };
        if !knob.fixed_by_env() {
            (knob.set)(&mut limits, value);
        }
    }
    config.row_limit = limits.row_limit;
    config.run_deadline = Duration::from_millis(limits.run_timeout_ms);
    config.check_deadline = Duration::from_millis(limits.check_timeout_ms);
    config.max_workers = limits.max_workers as usize;
    config.audit_retention = Duration::from_secs(u64::from(limits.audit_retention_days) * 86_400);
    config.temp_space_mb = limits.temp_space_mb;
    config.work_mem_mb = limits.work_mem_mb;
    Ok(())
}

async fn read_stored(store: &Store) -> Result<Vec<(&'static str, Option<String>)>, StoreError> {
    store
        .call(|db| KNOBS.iter().map(|knob| Ok((knob.field, db.setting(&knob.key())?))).collect::<Result<Vec<_>, _>>())
        .await
}

fn stored_value(stored: &[(&'static str, Option<String>)], knob: &Knob) -> Option<u64> {
    let text = stored.iter().find(|(field, _)| *field == knob.field)?.1.as_deref()?;
    match text.parse().ok().and_then(|value| knob.check(value).ok()) {
        Some(value) => Some(value),
        None => {
            tracing::warn!("ignoring the stored {}={text:?}: not in {:?}", knob.field, knob.range);
            None
        }
    }
}

/// The limits in force, shared by every request.
#[derive(Debug)]
pub struct LiveLimits {
    current: RwLock<Limits>,
}

impl LiveLimits {
    pub fn new(config: &BrokerConfig) -> LiveLimits {
        LiveLimits { current: RwLock::new(from_config(config)) }
    }

    pub fn get(&self) -> Limits {
        *self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn row_limit(&self) -> u64 {
        self.get().row_limit
    }

    pub fn run_deadline(&self) -> Duration {
        Duration::from_millis(self.get().run_timeout_ms)
    }

    pub fn check_deadline(&self) -> Duration {
        Duration::from_millis(self.get().check_timeout_ms)
    }

    pub fn audit_retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.get().audit_retention_days) * 86_400)
    }

    /// What the next worker pins in its session or DuckDB connection.
    pub fn session(&self) -> SessionLimits {
        let limits = self.get();
        SessionLimits { temp_space_mb: limits.temp_space_mb, work_mem_mb: limits.work_mem_mb }
    }

    /// The names of the limits a `POLYSTOREIQ_*` variable fixed.
    pub fn env_fixed(&self) -> Vec<String> {
        KNOBS.iter().filter(|knob| knob.fixed_by_env()).map(|knob| knob.field.to_owned()).collect()
    }

    /// Checks every value of `change`, stores it, and applies it. A value a variable fixes is stored but not
    /// applied. Returns a description for the audit log.
    pub async fn change(&self, store: &Store, change: LimitsChange) -> Result<String, TypedError> {
        let mut updates = Vec::new();
        for knob in KNOBS {
            if let Some(value) = (knob.changed)(&change) {
                updates.push((knob, knob.check(value)?));
            }
        }
        if updates.is_empty() {
            return Err(TypedError::new(ErrorCode::BadRequest, "the change sets no limit"));
        }
        let rows: Vec<(String, String)> = updates.iter().map(|(knob, value)| (knob.key(), value.to_string())).collect();
        store.call(move |db| rows.iter().try_for_each(|(key, value)| db.set_setting(key, value))).await?;
        let mut current = self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut detail = Vec::new();
        for (knob, value) in updates {
            if knob.fixed_by_env() {
                detail.push(format!("{}={value} (stored; {} wins)", knob.field, knob.env));
            } else {
                (knob.set)(&mut current, value);
                detail.push(format!("{}={value}", knob.field));
            }
        }
        Ok(detail.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_reads_and_writes_its_own_field() {
        let mut limits = Limits {
            row_limit: 0,
            run_timeout_ms: 0,
            check_timeout_ms: 0,
            max_workers: 0,
            audit_retention_days: 0,
            temp_space_mb: 0,
            work_mem_mb: 0,
        };
        let change = LimitsChange {
            row_limit: Some(1),
            run_timeout_ms: Some(2),
            check_timeout_ms: Some(3),
            max_workers: Some(4),
            audit_retention_days: Some(5),
            temp_space_mb: Some(6),
            work_mem_mb: Some(7),
        };
        for (i, knob) in KNOBS.iter().enumerate() {
            assert_eq!((knob.changed)(&change), Some(i as u64 + 1), "{}", knob.field);
            assert!(*knob.range.end() <= u64::from(u32::MAX), "{}", knob.field);
            (knob.set)(&mut limits, i as u64 + 1);
        }
        // Each field holds the value its own knob wrote, and no field is left out.
        let expected: serde_json::Map<String, serde_json::Value> =
            KNOBS.iter().enumerate().map(|(i, knob)| (knob.field.to_owned(), (i as u64 + 1).into())).collect();
        assert_eq!(serde_json::to_value(limits).unwrap(), serde_json::Value::Object(expected));
    }

    #[test]
    fn out_of_range_values_are_refused_with_the_range() {
        let err = ROW_LIMIT.check(0).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
        assert!(err.message.contains("between 1 and 1000000 rows"), "{}", err.message);
        assert!(MAX_WORKERS.check(65).is_err());
        assert_eq!(RUN_TIMEOUT.check(1_000).unwrap(), 1_000);
    }
}
