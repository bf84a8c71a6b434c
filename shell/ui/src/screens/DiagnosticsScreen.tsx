//! Diagnostics, refreshed every 2 s: workers (pid, state, duration, peak memory, how they ended), the pool, the
//! sandbox each worker kind runs in, stage latencies, circuit breakers and model providers; plus a lookup that
//! narrows the workers and the audit log to one run.
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import * as client from '../api/client';
import type { ExitInfo, RunTrace, StageStats, WorkerHealth } from '../api/types';
import { DataTable } from '../components/DataTable';
import { ErrorBox } from '../components/ErrorBox';
import { formatKb, formatMicros, formatMs, formatTime } from '../lib/format';
import { AuditTable } from './HistoryScreen';

function exitText(exit: ExitInfo | null): string {
  if (!exit) return '';
  if (exit.signal !== null) return `signal ${exit.signal_name ?? exit.signal}`;
  if (exit.code !== null) return `exit ${exit.code}`;
  return '';
}

/** The design's latency budgets: a chart of up to 10k points renders in p95 1.5 s; the first response (drafting, the
 * dry run, the query and its normalisation) comes in p95 5 s. */
const STAGE_BUDGET_MS: Record<string, number> = { render: 1500 };
const FIRST_RESPONSE_BUDGET_MS = 5000;
const FIRST_RESPONSE_STAGES = ['generate', 'validate', 'execute', 'normalize'];

function Budget({ p95Us, budgetMs }: { p95Us: number; budgetMs: number | undefined }) {
  if (budgetMs === undefined) return <span className="muted small">part of the first response</span>;
  const within = p95Us <= budgetMs * 1000;
  return (
    <span className={`badge ${within ? 'ok' : 'bad'}`} data-within={within}>
      {within ? 'within' : 'over'} {formatMs(budgetMs)}
    </span>
  );
}

/** A sandbox report's features, one badge each: `ok` for those in force, `bad` for those missing. */
function FeatureBadges({ features, tone }: { features: string[]; tone: 'ok' | 'bad' }) {
  return features.map((f) => (
    <span key={f} className={`badge ${tone}`}>
      {f}
    </span>
  ));
}

/** The first response's p95, bounded above by the sum of its stages' p95s, against its 5 s budget. */
function FirstResponseRow({ stages }: { stages: StageStats[] }) {
  const parts = stages.filter((s) => FIRST_RESPONSE_STAGES.includes(s.stage));
  if (parts.length === 0) return null;
  const sum = parts.reduce((total, s) => total + s.p95_us, 0);
  return (
    <tr data-testid="diag-first-response">
      <td>first response (sum of p95s)</td>
      <td />
      <td />
      <td>{formatMicros(sum)}</td>
      <td>
        <Budget p95Us={sum} budgetMs={FIRST_RESPONSE_BUDGET_MS} />
      </td>
    </tr>
  );
}

/** Recent failures (failed or timed-out workers, newest first) per source, from the health registry. */
function FailuresBySource({ workers }: { workers: WorkerHealth[] }) {
  const failed = workers.filter((w) => w.state === 'failed' || w.state === 'timed_out');
  const bySource = new Map<string, WorkerHealth[]>();
  for (const w of [...failed].sort((a, b) => b.started_at_ms - a.started_at_ms)) {
    bySource.set(w.source, [...(bySource.get(w.source) ?? []), w]);
  }
  return (
    <DataTable
      testId="diag-failures"
      columns={['source', 'failures', 'latest', 'error']}
      items={[...bySource]}
      empty="No recent failures."
      row={([source, list]) => (
        <tr key={source} data-testid={`diag-failures-${source}`}>
          <td>{source}</td>
          <td>{list.length}</td>
          <td className="nowrap">{formatTime(list[0].started_at_ms)}</td>
          <td>{list[0].error ? <code>{list[0].error}</code> : exitText(list[0].exit)}</td>
        </tr>
      )}
    />
  );
}

function TraceTable({ trace }: { trace: RunTrace }) {
  return (
    <DataTable
      testId="diag-run-trace"
      columns={['stage', 'ended', 'duration']}
      items={trace.stages}
      empty="Nothing timed yet."
      row={(s, i) => (
        <tr key={`${s.stage}-${i}`} data-testid={`diag-trace-${s.stage}`}>
          <td>{s.stage}</td>
          <td className="nowrap">{formatTime(s.at_ms)}</td>
          <td>{formatMicros(s.duration_us)}</td>
        </tr>
      )}
    />
  );
}

const WORKER_COLUMNS = [
  'pid',
  'kind',
  'source',
  'run',
  'state',
  'started',
  'duration',
  'peak RSS',
  'exit / signal',
  'error',
] as const;

function WorkersTable({ workers }: { workers: WorkerHealth[] }) {
  return (
    <DataTable
      testId="diag-workers"
      columns={WORKER_COLUMNS}
      items={workers}
      empty="No workers."
      row={(w) => (
        <tr key={`${w.pid}-${w.started_at_ms}`} data-testid={`diag-worker-${w.pid}`} data-state={w.state}>
          <td>{w.pid}</td>
          <td>{w.kind}</td>
          <td>{w.source}</td>
          <td>{w.run ?? ''}</td>
          <td>
            <span className={`badge state-${w.state}`} data-testid={`diag-worker-state-${w.pid}`}>
              {w.state}
            </span>
          </td>
          <td className="nowrap">{formatTime(w.started_at_ms)}</td>
          <td>{formatMs(w.duration_ms)}</td>
          <td>{formatKb(w.peak_rss_kb)}</td>
          <td>{exitText(w.exit)}</td>
          <td>{w.error ? <code>{w.error}</code> : ''}</td>
        </tr>
      )}
    />
  );
}

export function DiagnosticsScreen() {
  const report = useQuery({ queryKey: ['diag'], queryFn: client.diag, refetchInterval: 2000 });
  const [lookup, setLookup] = useState('');
  const runId = lookup.trim() === '' ? null : Number(lookup.trim());
  const validRun = runId !== null && Number.isInteger(runId) && runId >= 0;
  const runAudit = useQuery({
    queryKey: ['audit', 'run', runId],
    queryFn: () =>
      client.audit({ source: null, session: null, since_ms: null, until_ms: null, action: null, limit: 5000 }),
    enabled: validRun,
    refetchInterval: 2000,
    select: (events) => events.filter((e) => e.run === runId),
  });
  const trace = useQuery({
    queryKey: ['trace', runId],
    queryFn: () => client.runTrace(runId as number),
    enabled: validRun,
    refetchInterval: 2000,
  });
  const d = report.data;
  const workers = (d?.workers ?? [])
    .filter((w) => !validRun || w.run === runId)
    .sort((a, b) => b.started_at_ms - a.started_at_ms);

  return (
    <div className="screen">
      <header className="screen-head">
        <h1>Diagnostics</h1>
        <label className="inline">
          Run
          <input
            data-testid="diag-run-lookup"
            placeholder="run id"
            inputMode="numeric"
            value={lookup}
            onChange={(e) => setLookup(e.target.value.replace(/[^0-9]/g, ''))}
          />
        </label>
        <span className="muted small" data-testid="diag-updated">
          {report.dataUpdatedAt ? `updated ${formatTime(report.dataUpdatedAt)}` : ''}
        </span>
      </header>
      <ErrorBox error={report.error} testId="diag-error" />
      {d && (
        <>
          <section>
            <h2>Workers {validRun && <span className="muted">of run {runId}</span>}</h2>
            <p className="muted small" data-testid="diag-pool">
              pool: {d.pool.running} running of {d.pool.max_workers}, {d.pool.queued} queued (bound{' '}
              {d.pool.queue_bound})
            </p>
            <WorkersTable workers={workers} />
          </section>
          {validRun && (
            <section>
              <h2>Trace of run {runId}</h2>
              {trace.data && (
                <p className="muted small" data-testid="diag-trace-id">
                  trace <code>{trace.data.trace_id}</code>
                </p>
              )}
              <ErrorBox error={trace.error} testId="diag-run-trace-error" />
              {trace.data && <TraceTable trace={trace.data} />}
            </section>
          )}
          <section>
            <h2>Recent failures by source</h2>
            <FailuresBySource workers={d.workers} />
          </section>
          {validRun && (
            <section>
              <h2>Audit of run {runId}</h2>
              <ErrorBox error={runAudit.error} testId="diag-run-audit-error" />
              <AuditTable events={runAudit.data ?? []} testId="diag-run-audit" />
            </section>
          )}
          <div className="grid-2">
            <section>
              <h2>Stages</h2>
              <p className="muted small">over the last {formatMs(d.window_ms)}</p>
              <DataTable
                testId="diag-stages"
                columns={['stage', 'count', 'p50', 'p95', 'p95 budget']}
                items={d.stages}
                row={(s) => (
                  <tr key={s.stage} data-testid={`diag-stage-${s.stage}`}>
                    <td>{s.stage}</td>
                    <td>{s.count}</td>
                    <td>{formatMicros(s.p50_us)}</td>
                    <td>{formatMicros(s.p95_us)}</td>
                    <td>
                      <Budget p95Us={s.p95_us} budgetMs={STAGE_BUDGET_MS[s.stage]} />
                    </td>
                  </tr>
                )}
              >
                <FirstResponseRow stages={d.stages} />
              </DataTable>
            </section>
            <section>
              <h2>Sandbox</h2>
              <DataTable
                testId="diag-sandbox"
                columns={['worker kind', 'features', 'missing', 'enforce']}
                items={d.sandbox}
                empty="No worker has reported yet."
                row={(s) => (
                  <tr key={s.kind} data-testid={`diag-sandbox-${s.kind}`}>
                    <td>{s.kind}</td>
                    <td>
                      <FeatureBadges features={s.report.features} tone="ok" />
                    </td>
                    <td>
                      <FeatureBadges features={s.report.missing} tone="bad" />
                    </td>
                    <td>{formatMicros(s.report.enforce_us)}</td>
                  </tr>
                )}
              />
            </section>
            <section>
              <h2>Circuit breakers</h2>
              <DataTable
                testId="diag-breakers"
                columns={['source', 'state', 'failures', 'retry at', 'last failure']}
                items={d.breakers}
                empty="Every breaker is closed."
                row={(b) => (
                  <tr key={b.source} data-testid={`diag-breaker-${b.source}`}>
                    <td>{b.source}</td>
                    <td>{b.breaker.state}</td>
                    <td>{b.breaker.consecutive_failures}</td>
                    <td>{formatTime(b.breaker.retry_at_ms)}</td>
                    <td className="detail">{b.breaker.last_failure ?? ''}</td>
                  </tr>
                )}
              />
            </section>
            <section>
              <h2>Model providers</h2>
              <DataTable
                testId="diag-generations"
                columns={['provider', 'model', 'drafts', 'fallbacks', 'tokens in/out', 'p50', 'p95']}
                items={d.generations}
                empty="No drafts in the window."
                row={(g) => (
                  <tr key={`${g.provider}/${g.model}`}>
                    <td>{g.provider}</td>
                    <td>{g.model}</td>
                    <td>{g.count}</td>
                    <td>{g.fallbacks}</td>
                    <td>
                      {g.tokens_in}/{g.tokens_out}
                    </td>
                    <td>{formatMicros(g.p50_us)}</td>
                    <td>{formatMicros(g.p95_us)}</td>
                  </tr>
                )}
              />
            </section>
          </div>
        </>
      )}
    </div>
  );
}
