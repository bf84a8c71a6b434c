//! Benchmarks of the worker path, printed as Markdown for BENCHMARKS.md. Run by `scripts/bench` on a release
//! build; every number it prints is measured here, on this machine, at that moment.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use polystoreiq_broker::launcher::WorkerLauncher;
use polystoreiq_broker::supervisor::{CancelToken, Execution, RunFailure, SupervisorEvent, WorkerSupervisor};
use polystoreiq_protocol::types::{FileKind, FileTable, TableStorage, WorkerKind};
use polystoreiq_protocol::worker::{DuckLimits, FileSource, FromWorker, ImportJob, Job, QueryJob, SessionLimits};
use polystoreiq_workers::duck;

use crate::fixtures;

/// Percentiles of a sample.
pub struct Stats {
    pub p50: Duration,
    pub p95: Duration,
    pub n: usize,
}

impl Stats {
    pub fn of(mut sample: Vec<Duration>) -> Stats {
        sample.sort();
        let at = |q: f64| sample[((sample.len() - 1) as f64 * q).round() as usize];
        Stats { p50: at(0.5), p95: at(0.95), n: sample.len() }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub struct Bench {
    dir: PathBuf,
    /// With a spare worker started ahead of time, as the broker runs by default.
    supervisor: Arc<WorkerSupervisor>,
    /// Without: every run pays the worker's start-up.
    cold: Arc<WorkerSupervisor>,
    limits: DuckLimits,
}

impl Bench {
    pub fn new(dir: &Path, worker_bin: PathBuf) -> Bench {
        let launcher = |warm| WorkerLauncher::new(worker_bin.clone(), dir.join("scratch"), 16 * 1024, warm);
        let threads = std::thread::available_parallelism().map_or(2, usize::from) as u32;
        Bench {
            dir: dir.to_path_buf(),
            supervisor: Arc::new(WorkerSupervisor::new(launcher(true), 4, 64)),
            cold: Arc::new(WorkerSupervisor::new(launcher(false), 4, 64)),
            limits: DuckLimits { memory_limit_mb: 4096, threads, max_file_bytes: 16 << 30 },
        }
    }

    /// `SELECT * FROM lineitem` over the 1M-row Parquet file, read in place.
    fn select_all_lineitem(&self) -> QueryJob {
        let parquet = self.dir.join("lineitem.parquet");
        let source = FileSource {
            tables: vec![file_table("lineitem", FileKind::Parquet, TableStorage::InPlace, &parquet)],
            database: None,
        };
        self.query_job(source, "SELECT * FROM lineitem")
    }

    fn query_job(&self, source: FileSource, sql: &str) -> QueryJob {
        QueryJob { source, sql: sql.to_owned(), row_limit: 10_000_000, batch_rows: 8192, limits: self.limits.clone() }
    }

    async fn through_worker(&self, job: Job) -> Result<(u64, Duration, Duration), RunFailure> {
        self.through(&self.supervisor, job).await
    }

    async fn through(&self, supervisor: &WorkerSupervisor, job: Job) -> Result<(u64, Duration, Duration), RunFailure> {
        let started = Instant::now();
        let mut rows = 0u64;
        let exec = execution(job, CancelToken::default());
        let outcome = supervisor
            .execute(exec, &mut |event| {
                if let SupervisorEvent::Output(FromWorker::Batch(batch)) = event {
                    rows += batch.row_count() as u64;
                }
            })
            .await?;
        Ok((rows, started.elapsed(), outcome.ready_after))
    }

    /// Spawn-to-ready (the worker's handshake) and spawn-to-done for a trivial query, with and without a spare.
    pub async fn spawn_latency(&self, n: usize) -> String {
        let mut out = String::new();
        for (label, supervisor) in [("a spare worker ready (default)", &self.supervisor), ("cold start", &self.cold)] {
            let empty = FileSource { tables: Vec::new(), database: None };
            let mut ready = Vec::with_capacity(n);
            let mut done = Vec::with_capacity(n);
            for _ in 0..n {
                let job = Job::Query(self.query_job(empty.clone(), "SELECT 1 AS one"));
                let (_, total, to_ready) = self.through(supervisor, job).await.expect("trivial query");
                ready.push(to_ready);
                done.push(total);
                // Give the spare its start-up time, as any gap between two user actions does.
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            let (ready, done) = (Stats::of(ready), Stats::of(done));
            let _ = write!(
                out,
                "| spawn to first frame (worker handshake), {label} | {} | {} | {} runs | p95 < 15 ms |\n\
                 | spawn to result of `SELECT 1` (DuckDB opened, locked down, queried), {label} | {} | {} | {} runs | |\n",
                ms(ready.p50),
                ms(ready.p95),
                ready.n,
                ms(done.p50),
                ms(done.p95),
                done.n
            );
        }
        out
    }

    /// What putting itself in the sandbox (rlimits, no_new_privs, landlock, seccomp) costs a worker, as the
    /// worker measures it; this time is part of spawn-to-result above.
    pub async fn sandbox_cost(&self, n: usize) -> String {
        let empty = FileSource { tables: Vec::new(), database: None };
        let mut sample = Vec::with_capacity(n);
        let mut features = String::new();
        for _ in 0..n {
            let job = Job::Query(self.query_job(empty.clone(), "SELECT 1 AS one"));
            let exec = execution(job, CancelToken::default());
            let mut report = None;
            self.supervisor
                .execute(exec, &mut |event| {
                    if let SupervisorEvent::Output(FromWorker::Sandboxed(r)) = event {
                        report = Some(r);
                    }
                })
                .await
                .expect("trivial query");
            let report = report.expect("every worker reports its sandbox");
            sample.push(Duration::from_micros(report.enforce_us));
            features = report.features.join(", ");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let stats = Stats::of(sample);
        format!(
            "| sandbox enforcement in the worker ({features}), part of spawn to result | {} | {} | {} runs | p95 < 2 ms |\n",
            ms(stats.p50),
            ms(stats.p95),
            stats.n
        )
    }

    /// 1M rows x 10 columns through a worker versus the same query and conversion in-process.
    pub async fn throughput(&self, reps: usize) -> String {
        let job = self.select_all_lineitem();
        let mut inproc = Vec::new();
        let mut worker = Vec::new();
        for _ in 0..reps {
            let started = Instant::now();
            let mut rows = 0u64;
            duck::stream_query(&job, &SessionLimits::DEFAULT, &mut |frame| {
                if let FromWorker::Batch(batch) = frame {
                    rows += batch.row_count() as u64;
                }
                Ok(())
            })
            .expect("in-process query");
            assert_eq!(rows, 1_000_000);
            inproc.push(started.elapsed());
            let (rows, elapsed, _) = self.through_worker(Job::Query(job.clone())).await.expect("worker query");
            assert_eq!(rows, 1_000_000);
            worker.push(elapsed);
        }
        let (inproc, worker) = (Stats::of(inproc), Stats::of(worker));
        let ratio = worker.p50.as_secs_f64() / inproc.p50.as_secs_f64();
        format!(
            "| `SELECT * FROM lineitem` (1M rows x 10 columns, Parquet) in-process: open, query, normalize | {} | {} | {} runs | |\n\
             | the same through a worker: spawn, query, normalize, encode, pipe, decode | {} | {} | {} runs | |\n\
             | isolation overhead (worker p50 / in-process p50) | {:.3}x | | {:.0} rows/s through the worker | < 1.15x |\n",
            ms(inproc.p50),
            ms(inproc.p95),
            inproc.n,
            ms(worker.p50),
            ms(worker.p95),
            worker.n,
            ratio,
            1_000_000.0 / worker.p50.as_secs_f64(),
        )
    }

    /// Where the isolation overhead goes: encoding and decoding the same batches, without DuckDB or a pipe.
    pub fn codec_cost(&self) -> String {
        let job = self.select_all_lineitem();
        let mut frames = Vec::new();
        duck::stream_query(&job, &SessionLimits::DEFAULT, &mut |frame| {
            frames.push(frame);
            Ok(())
        })
        .expect("query");
        let started = Instant::now();
        let mut bytes = 0;
        let encoded: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| {
                let mut buf = Vec::new();
                polystoreiq_protocol::frame::encode_frame(f, &mut buf).expect("encode");
                bytes += buf.len();
                buf
            })
            .collect();
        let encode = started.elapsed();
        let started = Instant::now();
        for buf in &encoded {
            let _: FromWorker = polystoreiq_protocol::codec::decode(&buf[4..]).expect("decode");
        }
        let decode = started.elapsed();
        format!(
            "| encode 1M x 10 result frames ({:.1} MB) | {} | | 1 run | |\n| decode them | {} | | 1 run | |\n",
            bytes as f64 / 1e6,
            ms(encode),
            ms(decode)
        )
    }

    /// From the cancel request to the worker reaped.
    pub async fn cancel_latency(&self, n: usize) -> String {
        let empty = FileSource { tables: Vec::new(), database: None };
        let mut latencies = Vec::with_capacity(n);
        for _ in 0..n {
            let job = Job::Query(self.query_job(empty.clone(), ENDLESS));
            let cancel = CancelToken::default();
            let exec = execution(job, cancel.clone());
            let supervisor = Arc::clone(&self.supervisor);
            let task = tokio::spawn(async move { supervisor.execute(exec, &mut |_| {}).await });
            tokio::time::sleep(Duration::from_millis(150)).await;
            cancel.cancel();
            match task.await.expect("task") {
                Err(RunFailure::Cancelled { latency }) => latencies.push(latency),
                other => panic!("expected a cancellation, got {other:?}"),
            }
        }
        let stats = Stats::of(latencies);
        format!(
            "| cancel request to worker reaped (DuckDB busy on all threads) | {} | {} | {} runs | p95 < 100 ms |\n",
            ms(stats.p50),
            ms(stats.p95),
            stats.n
        )
    }

    /// Import cost and query cost per file kind, in place versus ingested into the source's DuckDB file.
    pub async fn file_storage(&self, reps: usize) -> String {
        let mut out = String::new();
        let sql = "SELECT l_returnflag, count(*) AS n, sum(l_extendedprice) AS revenue FROM lineitem GROUP BY 1";
        for (kind, ext) in [(FileKind::Csv, "csv"), (FileKind::Json, "json"), (FileKind::Parquet, "parquet")] {
            let path = self.dir.join(format!("lineitem.{ext}"));
            let size_mb = std::fs::metadata(&path).map_or(0.0, |m| m.len() as f64 / 1e6);
            let in_place =
                FileSource { tables: vec![file_table("lineitem", kind, TableStorage::InPlace, &path)], database: None };
            let db = self.dir.join(format!("ingested-{ext}.duckdb"));
            let _ = std::fs::remove_file(&db);
            let ingested = FileSource {
                tables: vec![file_table("lineitem", kind, TableStorage::Ingested, &path)],
                database: Some(db.to_string_lossy().into_owned()),
            };
            let import = Job::Import(ImportJob { source: ingested.clone(), limits: self.limits.clone() });
            let (_, import_time, _) = self.through_worker(import).await.expect("import");
            let db_mb = std::fs::metadata(&db).map_or(0.0, |m| m.len() as f64 / 1e6);
            let time = |source: &FileSource| {
                let job = self.query_job(source.clone(), sql);
                let sample = (0..reps)
                    .map(|_| {
                        let started = Instant::now();
                        duck::stream_query(&job, &SessionLimits::DEFAULT, &mut |_| Ok(())).expect("aggregate");
                        started.elapsed()
                    })
                    .collect();
                Stats::of(sample).p50
            };
            let (place, stored) = (time(&in_place), time(&ingested));
            let _ = writeln!(
                out,
                "| {ext} ({size_mb:.0} MB) | {} | {} | {} ({db_mb:.0} MB) | {:.1}x |",
                ms(place),
                ms(stored),
                ms(import_time),
                place.as_secs_f64() / stored.as_secs_f64(),
            );
        }
        out
    }
}

/// A benchmark run of `job` in a DuckDB worker.
fn execution(job: Job, cancel: CancelToken) -> Execution {
    Execution {
        run: None,
        source: "bench".into(),
        kind: WorkerKind::Duckdb,
        job,
        deadline: Duration::from_secs(600),
        cancel,
    }
}

/// Runs until cancelled.
pub const ENDLESS: &str = "SELECT sum(a.range * b.range) AS s FROM range(100000000) a, range(100000000) b";

fn file_table(table: &str, kind: FileKind, storage: TableStorage, path: &Path) -> FileTable {
    let path = path.to_string_lossy().into_owned();
    FileTable { table: table.to_owned(), kind, storage, paths: vec![path.clone()], pattern: path }
}

/// Writes the benchmark's input files (1M-row lineitem in three formats) into `dir`.
pub fn prepare(dir: &Path) -> duckdb::Result<()> {
    if !dir.join("lineitem.json").exists() {
        fixtures::write_lineitem(dir, 1_000_000, true, true, true)?;
    }
    Ok(())
}
