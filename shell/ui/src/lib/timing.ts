//! User Timing entries (`performance.measure`) for the moments a person waits on: Approve to the first rows painted,
//! the run's answer to that paint (the front end's `render` stage), and each chart render. `polystoreiq-bench` reads
//! them through WebDriver; a profiler shows them too. Each name keeps at most `KEEP` entries, and timing never
//! throws: a webview without User Timing just records nothing.
import type { RunId } from '../api/types';

/** The mark of the latest Approve press (only the latest is kept). */
export const APPROVE = 'psiq:approve';
/** Approve pressed to the frame that shows the result's first rows (run, first page, table and chart included). */
export const FIRST_ROWS = 'psiq:approve-to-first-rows';
/** The run's answer arrived to the frame that shows its first rows. */
export const RESULT_RENDER = 'psiq:result-render';
/** A chart's `setOption` to the frame painted after ECharts says it `finished` (progressive rendering included). */
export const CHART_RENDER = 'psiq:chart-render';

const KEEP = 200;

/** Where a result's render time goes (the broker's `render` stage); set by the app, never by component tests. */
let reportRender: ((run: RunId, micros: number) => void) | null = null;

export function onRenderTime(report: ((run: RunId, micros: number) => void) | null): void {
  reportRender = report;
}

/** Runs answered but not painted yet: when Approve was pressed and when the answer came. */
const pending = new Map<RunId, { approvedAt: number; answeredAt: number }>();

export function now(): number {
  return typeof performance === 'undefined' ? 0 : performance.now();
}

/** Calls `then` once the frame that shows the current DOM has been painted. */
export function afterPaint(then: () => void): void {
  if (typeof requestAnimationFrame === 'undefined') return;
  requestAnimationFrame(() => setTimeout(then, 0));
}

/** Records a measure `name` from `start` to now, dropping this name's older entries past `KEEP`. */
export function measure(name: string, start: number, detail: Record<string, unknown>): void {
  try {
    if (typeof performance?.measure !== 'function') return;
    if (performance.getEntriesByName(name, 'measure').length >= KEEP) performance.clearMeasures(name);
    performance.measure(name, { start, end: performance.now(), detail });
  } catch {
    // Timing is an observation; it never changes what the page does.
  }
}

/** Approve was pressed on `draft`: marks the moment and answers it, for `runAnswered`. */
export function approvePressed(draft: number): number {
  const at = now();
  try {
    if (typeof performance?.mark !== 'function') return at;
    performance.clearMarks(APPROVE);
    performance.mark(APPROVE, { startTime: at, detail: { draft } });
  } catch {
    // As in `measure`.
  }
  return at;
}

/** A run approved at `approvedAt` has answered: its first paint is measured when its result shows. */
export function runAnswered(run: RunId, approvedAt: number): void {
  if (pending.size >= KEEP) pending.clear();
  pending.set(run, { approvedAt, answeredAt: now() });
}

/** The result of `run` is in the DOM (committed); measures its first paint, once per run. */
export function resultShown(run: RunId, rows: number): void {
  const times = pending.get(run);
  if (!times) return;
  pending.delete(run);
  afterPaint(() => {
    measure(FIRST_ROWS, times.approvedAt, { run, rows });
    measure(RESULT_RENDER, times.answeredAt, { run, rows });
    reportRender?.(run, (now() - times.answeredAt) * 1000);
  });
}
