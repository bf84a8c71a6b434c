//! How `psiq` prints replies: readable text by default, JSON with `--json`.

use std::io::Write;

use polystoreiq_client::{BrokerClient, render};
use polystoreiq_protocol::TypedError;
use polystoreiq_protocol::broker::Reply;
use polystoreiq_protocol::types::{
    BreakerState, BreakerStatus, ChartRecommendation, DraftPreview, LlmProvider, ResultPage, RunId, SchemaSnapshot,
    SourceInfo,
};
use serde_json::json;

use crate::Format;

/// Rows fetched per request when printing a whole result.
const PAGE: u64 = 5000;

pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn message(&self, text: &str) {
        if self.json {
            self.print_json(&json!({ "message": text }));
        } else {
            println!("{text}");
        }
    }

    pub fn error(&self, err: &TypedError) {
        if self.json {
            self.print_json(&json!({ "error": err }));
        } else {
            eprintln!("error[{}]: {}", err.code, err.message);
            if let Some(ms) = err.retry_after_ms {
                eprintln!("retry after {ms} ms");
            }
        }
    }

    fn print_json(&self, value: &serde_json::Value) {
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut stdout, value);
        let _ = writeln!(stdout);
    }

    pub fn reply(&self, reply: Reply) -> Result<(), TypedError> {
        if self.json {
            self.print_json(&reply_json(&reply));
            return Ok(());
        }
        match reply {
            Reply::Source(info) => print_sources(&[info]),
            Reply::Sources(infos) if infos.is_empty() => {
                println!("no sources yet; add one with `psiq source add NAME --kind files --path FILE`")
            }
            Reply::Sources(infos) => print_sources(&infos),
            Reply::SourceTest(report) => {
                let verdict = if report.ok { "ok" } else { "FAILED" };
                println!(
                    "{}: {verdict} ({:?}, {} ms): {}",
                    report.source, report.status, report.elapsed_ms, report.message
                );
            }
            Reply::Removed { name } => println!("removed source {name}"),
            Reply::Schema(schema) => print_schema(&schema),
            Reply::Draft(preview) => print_draft(&preview),
            Reply::Denied { draft } => println!("denied draft {draft}; its token no longer works"),
            Reply::RunDone(summary) => {
                print!("{}", render::text_table(&summary.first_page.columns, &summary.first_page.rows));
                let shown = summary.first_page.rows.row_count() as u64;
                println!(
                    "run {}: {} rows in {} ms{}",
                    summary.run,
                    summary.rows,
                    summary.elapsed_ms,
                    if summary.truncated { " (row limit reached; more rows exist)" } else { "" }
                );
                if shown < summary.rows {
                    println!("showing {shown}; all rows: psiq result {} --format csv", summary.run);
                }
                println!("{}", chart_line(&summary.chart));
            }
            Reply::CancelRequested { run } => println!("cancelling run {run}"),
            Reply::Page(page) => print!("{}", render::text_table(&page.columns, &page.rows)),
            Reply::Diag(diag) => {
                println!(
                    "workers: {} running, {} queued (max {}, queue bound {})",
                    diag.pool.running, diag.pool.queued, diag.pool.max_workers, diag.pool.queue_bound
                );
                if !diag.stages.is_empty() {
                    println!("{:<10} {:>8} {:>12} {:>12}", "stage", "count", "p50 ms", "p95 ms");
                    for stage in &diag.stages {
                        let ms = |us: u64| format!("{:.2}", us as f64 / 1000.0);
                        println!(
                            "{:<10} {:>8} {:>12} {:>12}",
                            stage.stage,
                            stage.count,
                            ms(stage.p50_us),
                            ms(stage.p95_us)
                        );
                    }
                }
                if !diag.generations.is_empty() {
                    println!(
                        "{:<10} {:<24} {:>6} {:>9} {:>9} {:>10} {:>11} {:>10} {:>10}",
                        "provider",
                        "model",
                        "count",
                        "fallback",
                        "attempts",
                        "tokens in",
                        "tokens out",
                        "p50 ms",
                        "p95 ms"
                    );
                    for g in &diag.generations {
                        let ms = |us: u64| format!("{:.1}", us as f64 / 1000.0);
                        println!(
                            "{:<10} {:<24} {:>6} {:>9} {:>9} {:>10} {:>11} {:>10} {:>10}",
                            g.provider,
                            if g.model.is_empty() { "-" } else { &g.model },
                            g.count,
                            g.fallbacks,
                            g.attempts,
                            g.tokens_in,
                            g.tokens_out,
                            ms(g.p50_us),
                            ms(g.p95_us)
                        );
                    }
                }
                for state in &diag.sandbox {
                    let missing = if state.report.missing.is_empty() {
                        String::new()
                    } else {
                        format!("; DEGRADED, missing: {}", state.report.missing.join(", "))
                    };
                    println!("sandbox {:?}: {}{missing}", state.kind, state.report.features.join(", "));
                }
                for source in &diag.breakers {
                    if let Some(text) = breaker_text(&source.breaker) {
                        println!("source {}: {text}", source.source);
                    }
                }
                println!(
                    "{:>8}  {:<8} {:<16} {:>6} {:<10} {:>9} {:>10}  exit",
                    "pid", "kind", "source", "run", "state", "ms", "peak KiB"
                );
                for w in &diag.workers {
                    let exit = match &w.exit {
                        Some(e) => e.signal_name.clone().unwrap_or_else(|| format!("code {}", e.code.unwrap_or(-1))),
                        None => "-".into(),
                    };
                    let run = w.run.map_or("-".into(), |r| r.to_string());
                    println!(
                        "{:>8}  {:<8} {:<16} {:>6} {:<10} {:>9} {:>10}  {exit}{}",
                        w.pid,
                        format!("{:?}", w.kind).to_lowercase(),
                        w.source,
                        run,
                        format!("{:?}", w.state).to_lowercase(),
                        w.duration_ms,
                        w.peak_rss_kb,
                        w.error.map_or(String::new(), |c| format!(" [{c}]")),
                    );
                }
            }
            Reply::ShuttingDown => println!("broker stopping"),
            Reply::Recorded => println!("recorded"),
            Reply::Settings(settings) => {
                let llm = &settings.llm;
                if llm.provider == LlmProvider::Offline {
                    println!("llm provider: offline (the built-in planner; no model, no network)");
                } else {
                    println!("llm provider: {}", llm.provider.as_str());
                    println!("model:        {}", llm.model);
                    println!("endpoint:     {}", llm.endpoint);
                    println!("api key:      {}", if llm.api_key_set { "set (in the OS keyring)" } else { "not set" });
                }
                let limits = &settings.limits;
                let fixed = |field: &str| {
                    if settings.env_fixed.iter().any(|f| f == field) { " (set by the environment)" } else { "" }
                };
                println!("row limit:    {} rows{}", limits.row_limit, fixed("row_limit"));
                println!("run timeout:  {} s{}", limits.run_timeout_ms / 1000, fixed("run_timeout_ms"));
                println!("dry run:      {} ms{}", limits.check_timeout_ms, fixed("check_timeout_ms"));
                println!("workers:      {}{}", limits.max_workers, fixed("max_workers"));
                println!("audit kept:   {} days{}", limits.audit_retention_days, fixed("audit_retention_days"));
                println!("temp space:   {} MiB per query{}", limits.temp_space_mb, fixed("temp_space_mb"));
                println!("work memory:  {} MiB per sort or hash{}", limits.work_mem_mb, fixed("work_mem_mb"));
            }
            Reply::SourceFunctions { source, functions } if functions.is_empty() => {
                println!("{source}: no user-defined functions allowed (the default)");
            }
            Reply::SourceFunctions { source, functions } => {
                println!("{source}: queries may call these user-defined functions: {}", functions.join(", "));
            }
            Reply::Trace(trace) => {
                println!("run {} (trace {})", trace.run, trace.trace_id);
                for stage in &trace.stages {
                    let at = render::format_timestamp(stage.at_ms as i64 * 1000);
                    println!("  {at}  {:<10} {:>10.1} ms", stage.stage, stage.duration_us as f64 / 1000.0);
                }
            }
            Reply::LlmTest(report) => println!(
                "{} ({}) at {}: {} ({} ms)",
                report.provider.as_str(),
                report.model,
                report.endpoint,
                report.message,
                report.elapsed_ms
            ),
            Reply::Verdict(v) => {
                println!("{} [{}]: {}", if v.allowed { "allowed" } else { "refused" }, v.code, v.reason)
            }
            Reply::FaultSurvived => println!("the fault worker finished without crashing"),
            Reply::Audit(events) => {
                for e in &events {
                    println!(
                        "{} #{:<6} {:<8} {:<22} {}{}{}{} {}",
                        render::format_timestamp(e.at_ms as i64 * 1000),
                        e.id,
                        e.actor,
                        e.action.as_str(),
                        e.source.as_ref().map_or(String::new(), |s| format!("source={s} ")),
                        e.session.map_or(String::new(), |s| format!("session={s} ")),
                        e.draft.map_or(String::new(), |d| format!("draft={d} ")),
                        e.run.map_or(String::new(), |r| format!("run={r} ")),
                        e.detail
                    );
                }
                if events.is_empty() {
                    println!("no audit events match");
                }
            }
            Reply::Access(state) => {
                let lock = match (state.owner_lock, state.viewer_lock) {
                    (false, _) => "no lock set",
                    (true, false) => "owner passphrase set",
                    (true, true) => "owner passphrase and viewer PIN set",
                };
                if state.locked {
                    println!("locked ({lock}); unlock with `psiq unlock`");
                } else {
                    println!("unlocked as {} ({lock})", state.role.as_str());
                }
            }
            Reply::Session(session) => println!("session {}: {}", session.id, session.title),
            Reply::Sessions(sessions) => {
                for s in &sessions {
                    println!("{:>6}  {}  {}", s.id, render::format_timestamp(s.created_at_ms as i64 * 1000), s.title);
                }
            }
            Reply::Messages(messages) => {
                for m in &messages {
                    println!("[{}] {}: {}", m.seq, m.role.as_str(), m.content);
                }
            }
        }
        Ok(())
    }
}

/// The recommended chart in one line: `chart: bar (x = channel; y = revenue): one category and one measure`.
fn chart_line(chart: &ChartRecommendation) -> String {
    let mut line = format!("chart: {}", chart.kind.as_str());
    if let Some(x) = &chart.x {
        line.push_str(&format!(" (x = {x}; y = {})", chart.y.join(", ")));
    }
    line.push_str(&format!(": {}", chart.reason));
    if !chart.alternatives.is_empty() {
        let others: Vec<&str> = chart.alternatives.iter().map(|kind| kind.as_str()).collect();
        line.push_str(&format!(" (also fits: {})", others.join(", ")));
    }
    line
}

/// JSON of a reply: the reply's own object (no enum wrapper); result pages get rows as objects.
fn reply_json(reply: &Reply) -> serde_json::Value {
    match reply {
        Reply::RunDone(summary) => {
            let mut value = serde_json::to_value(summary).unwrap_or_default();
            value["first_page"] = page_json(&summary.first_page);
            value
        }
        Reply::Page(page) => page_json(page),
        other => match serde_json::to_value(other).unwrap_or_default() {
            serde_json::Value::Object(mut wrapper) if wrapper.len() == 1 => {
                let (_, inner) = wrapper.iter_mut().next().expect("one entry");
                std::mem::take(inner)
            }
            serde_json::Value::String(unit) => json!({ "message": unit }),
            value => value,
        },
    }
}

fn page_json(page: &ResultPage) -> serde_json::Value {
    json!({
        "run": page.run,
        "columns": page.columns,
        "offset": page.offset,
        "total_rows": page.total_rows,
        "truncated": page.truncated,
        "rows": render::json_rows(&page.columns, &page.rows),
    })
}

fn print_sources(infos: &[SourceInfo]) {
    for info in infos {
        let what = match &info.target {
            Some(t) => format!("{}@{}:{}/{}", t.user, t.host, t.port, t.database),
            None => format!("tables: {}", info.files.iter().map(|f| f.table.as_str()).collect::<Vec<_>>().join(", ")),
        };
        println!(
            "{:<16} {:<8} {:<10} {what}{}{}{}",
            info.name,
            format!("{:?}", info.kind).to_lowercase(),
            format!("{:?}", info.status).to_uppercase(),
            if info.can_write == Some(true) { "  (this role can write: a read-only role is recommended)" } else { "" },
            info.last_error.as_ref().map_or(String::new(), |e| format!("  last error: {e}")),
            breaker_text(&info.breaker).map_or(String::new(), |b| format!("  [{b}]")),
        );
    }
}

fn print_schema(schema: &SchemaSnapshot) {
    if let Some(cache) = &schema.cache {
        let age = if cache.age_ms < 1000 { "just now".to_owned() } else { format!("{} ago", duration(cache.age_ms)) };
        match (cache.cached, cache.ttl_ms) {
            (true, Some(ttl)) if cache.age_ms >= ttl => {
                println!("schema: cached, read {age}, older than its TTL of {} (the source is disabled)", duration(ttl))
            }
            (true, Some(ttl)) => println!("schema: cached, read {age}, TTL {}; --refresh reads it now", duration(ttl)),
            (true, None) => println!("schema: cached, read {age}; read again when a file changes"),
            (false, _) => println!("schema: read from the source just now"),
        }
    }
    for table in &schema.tables {
        let rows = table.row_count.map_or("?".into(), |n| n.to_string());
        let comment = table.comment.as_ref().map_or(String::new(), |c| format!(": {c}"));
        println!("{} ({:?}, {rows} rows){comment}", table.name, table.kind);
        for column in &table.columns {
            let key = if table.primary_key.contains(&column.name) { " PK" } else { "" };
            let comment = column.comment.as_ref().map_or(String::new(), |c| format!("  -- {c}"));
            let sample = column.sample.as_ref().map_or(String::new(), |s| {
                let types: Vec<String> = s.types.iter().map(|t| format!("{} {}", t.type_name, t.count)).collect();
                format!("  in {:.0}% of {} sampled ({})", s.presence() * 100.0, s.documents, types.join(", "))
            });
            println!(
                "  {:<24} {:<20} {:?}{}{key}{sample}{comment}",
                column.name,
                column.db_type,
                column.logical,
                if column.nullable { "" } else { " NOT NULL" }
            );
        }
        if !table.primary_key.is_empty() {
            println!("  primary key ({})", table.primary_key.join(", "));
        }
        for fk in &table.foreign_keys {
            println!(
                "  foreign key {}({}) -> {} ({})",
                fk.name.as_ref().map_or(String::new(), |n| format!("{n} ")),
                fk.columns.join(", "),
                fk.ref_table,
                fk.ref_columns.join(", ")
            );
        }
        for index in &table.indexes {
            let unique = if index.unique { "unique " } else { "" };
            println!("  {unique}index {} ({})", index.name, index.columns.join(", "));
        }
    }
}

/// A duration for people: `45 s`, `3 min`, `2 h`, `4 d`.
fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=89 => format!("{s} s"),
        90..=5399 => format!("{} min", (s + 30) / 60),
        5400..=172_799 => format!("{} h", (s + 1800) / 3600),
        _ => format!("{} d", (s + 43_200) / 86_400),
    }
}

/// A source's circuit breaker in a few words, or nothing while it is closed with no failures counted.
fn breaker_text(breaker: &BreakerStatus) -> Option<String> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let failures = breaker.consecutive_failures;
    let last = breaker.last_failure.as_ref().map_or(String::new(), |e| format!("; last: {e}"));
    match breaker.state {
        BreakerState::Closed if failures == 0 => None,
        BreakerState::Closed => Some(format!("breaker closed, {failures} connection failure(s) in a row{last}")),
        BreakerState::Open => {
            let wait = breaker.retry_at_ms.map_or(0, |at| at.saturating_sub(now));
            Some(format!(
                "breaker OPEN after {failures} connection failures: runs refused for {}{last}",
                duration(wait.max(1000))
            ))
        }
        BreakerState::HalfOpen => {
            Some(format!("breaker HALF-OPEN: the next run is a trial after {failures} failures{last}"))
        }
    }
}

fn print_draft(preview: &DraftPreview) {
    println!(
        "draft {} for source {} ({:?}), drafted by {}",
        preview.draft, preview.source, preview.engine, preview.provider
    );
    if let Some(question) = &preview.question {
        println!("question:    {question}");
    }
    println!("query:       {}", preview.query);
    println!("explanation: {}", preview.explanation);
    let verdict = if preview.verdict.allowed { "allowed" } else { "REJECTED" };
    println!("guard:       {verdict} [{}] {}", preview.verdict.code, preview.verdict.reason);
    if let Some(check) = &preview.check {
        let outcome = check.outcome.as_str();
        println!("dry run:     {outcome} in {} ms: {}", check.elapsed_ms, check.message);
    }
    for (i, attempt) in preview.attempts.iter().enumerate() {
        println!("attempt {}:   by {}: {}", i + 1, attempt.provider, attempt.query);
        println!("             set aside: {} [{}]", attempt.error.message, attempt.error.code);
    }
    match &preview.token {
        Some(token) => {
            println!("approve:     psiq run {token}   (valid {} s)", preview.token_expires_in_ms / 1000);
            println!("deny:        psiq deny {}", preview.draft);
        }
        None if preview.verdict.allowed => {
            println!("this draft cannot run: its dry run failed; fix the query and check it with `psiq query`")
        }
        None => println!("this draft cannot run"),
    }
}

/// Prints every row of a run, fetching it in pages.
pub fn result(client: &mut BrokerClient, run: RunId, format: Format, out: &Output) -> Result<(), TypedError> {
    let format = if out.json { Format::Json } else { format };
    let mut offset = 0;
    let mut stdout = std::io::stdout().lock();
    let mut rows_json = Vec::new();
    let mut first: Option<ResultPage> = None;
    loop {
        let page = client.result(run, offset, PAGE)?;
        let n = page.rows.row_count() as u64;
        match format {
            Format::Csv => {
                let mut text = if offset == 0 { render::csv_header(&page.columns) } else { String::new() };
                render::csv_rows(&page.rows, &mut text);
                let _ = stdout.write_all(text.as_bytes());
            }
            Format::Json => rows_json.extend(render::json_rows(&page.columns, &page.rows)),
            Format::Table => {
                let _ = stdout.write_all(render::text_table(&page.columns, &page.rows).as_bytes());
            }
        }
        offset += n;
        let done = n == 0 || offset >= page.total_rows;
        if first.is_none() {
            first = Some(page);
        }
        if done {
            break;
        }
    }
    if format == Format::Json {
        let page = first.expect("at least one page was fetched");
        let value = json!({
            "run": run,
            "columns": page.columns,
            "total_rows": page.total_rows,
            "truncated": page.truncated,
            "rows": rows_json,
        });
        let _ = serde_json::to_writer(&mut stdout, &value);
        let _ = writeln!(stdout);
    }
    Ok(())
}
