//! Per-stage telemetry under a trace id, and the model's generations.

use std::time::Duration;

use polystoreiq_protocol::types::{GenerationStats, RunId, StageStats, TraceStage};
use rusqlite::{OptionalExtension, params};

use crate::health::unix_ms;

use super::{Db, StoreError};

impl Db {
    pub fn record_stage(
        &mut self,
        trace_id: &str,
        run: Option<RunId>,
        stage: &str,
        duration: Duration,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO telemetry (trace_id, run_id, stage, at_ms, duration_us) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![trace_id, run.map(|r| r.0 as i64), stage, unix_ms() as i64, duration.as_micros() as i64],
        )?;
        Ok(())
    }

    /// The trace id of a run.
    pub fn run_trace(&mut self, run: RunId) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT trace_id FROM runs WHERE id = ?1", [run.0 as i64], |row| row.get(0))
            .optional()?)
    }

    /// The stages timed under `trace`, oldest first.
    pub fn trace_stages(&mut self, trace: &str) -> Result<Vec<TraceStage>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT stage, at_ms, duration_us FROM telemetry WHERE trace_id = ?1 ORDER BY at_ms, id")?;
        let stages = statement.query_map([trace], |row| {
            Ok(TraceStage {
                stage: row.get(0)?,
                at_ms: row.get::<_, i64>(1)? as u64,
                duration_us: row.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(stages.collect::<Result<_, _>>()?)
    }

    /// p50 and p95 per stage over the events since `since_ms`.
    pub fn stage_stats(&mut self, since_ms: u64) -> Result<Vec<StageStats>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT stage, duration_us FROM telemetry WHERE at_ms >= ?1 ORDER BY stage, duration_us")?;
        let rows = stmt.query_map([since_ms as i64], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?;
        let mut stats: Vec<StageStats> = Vec::new();
        let mut current: Vec<u64> = Vec::new();
        let mut stage = String::new();
        let flush = |stage: &str, values: &mut Vec<u64>, stats: &mut Vec<StageStats>| {
            if values.is_empty() {
                return;
            }
            let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
            stats.push(StageStats {
                stage: stage.to_owned(),
                count: values.len() as u64,
                p50_us: at(0.5),
                p95_us: at(0.95),
            });
            values.clear();
        };
        for row in rows {
            let (name, us) = row?;
            if name != stage {
                flush(&stage, &mut current, &mut stats);
                stage = name;
            }
            current.push(us as u64);
        }
        flush(&stage, &mut current, &mut stats);
        Ok(stats)
    }

    /// Records a draft's `generate` stage with what it cost its model provider (`detail`: the JSON of
    /// `llm::router::Generation`).
    pub fn record_generation(&mut self, trace_id: &str, duration: Duration, detail: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO telemetry (trace_id, run_id, stage, at_ms, duration_us, detail) \
             VALUES (?1, NULL, 'generate', ?2, ?3, ?4)",
            params![trace_id, unix_ms() as i64, duration.as_micros() as i64, detail],
        )?;
        Ok(())
    }

    /// Per provider and model, the generations since `since_ms`: counts, fallbacks, tokens, attempts and the
    /// provider's latency percentiles.
    pub fn generation_stats(&mut self, since_ms: u64) -> Result<Vec<GenerationStats>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT detail FROM telemetry WHERE stage = 'generate' AND detail IS NOT NULL AND at_ms >= ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([since_ms as i64], |row| row.get::<_, String>(0))?;
        let mut groups: std::collections::BTreeMap<(String, String), (GenerationStats, Vec<u64>)> =
            std::collections::BTreeMap::new();
        for detail in rows {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&detail?) else { continue };
            let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
            let number = |key: &str| value[key].as_u64().unwrap_or(0);
            let (provider, model) = (text("provider"), text("model"));
            let (stats, latencies) = groups.entry((provider.clone(), model.clone())).or_insert_with(|| {
                let stats = GenerationStats {
                    provider,
                    model,
                    count: 0,
                    fallbacks: 0,
                    tokens_in: 0,
                    tokens_out: 0,
                    attempts: 0,
                    p50_us: 0,
                    p95_us: 0,
                };
                (stats, Vec::new())
            });
            stats.count += 1;
            stats.fallbacks += u64::from(value["ok"] == false);
            stats.tokens_in += number("tokens_in");
            stats.tokens_out += number("tokens_out");
            stats.attempts += number("attempts");
            latencies.push(number("latency_us"));
        }
        Ok(groups
            .into_values()
            .map(|(mut stats, mut latencies)| {
                latencies.sort_unstable();
                let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
                stats.p50_us = at(0.5);
                stats.p95_us = at(0.95);
                stats
            })
            .collect())
    }
}
