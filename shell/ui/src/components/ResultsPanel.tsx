//! A finished run's result: row count, the virtualized table, the chart, more pages on demand, and exports (CSV of
//! the rows as displayed, PNG/SVG of the chart) written by the shell into the export directory.
import { useEffect, useState } from 'react';
import type { SortingState } from '@tanstack/react-table';
import * as client from '../api/client';
import type { Cell, ChartKind, RunView } from '../api/types';
import { tryAction } from '../lib/action';
import { toCsv, utf8 } from '../lib/csv';
import { formatMs, plural } from '../lib/format';
import { sortRows } from '../lib/sort';
import { resultShown } from '../lib/timing';
import { ChartPanel } from './ChartPanel';
import { ErrorBox } from './ErrorBox';
import { ResultsTable } from './ResultsTable';

const PAGE = 5000;

export function ResultsPanel({ view }: { view: RunView }) {
  const columns = view.first_page.columns;
  const [rows, setRows] = useState<Cell[][]>(view.first_page.rows);
  const [total, setTotal] = useState(view.first_page.total_rows);
  const [sorting, setSorting] = useState<SortingState>([]);
  const [kind, setKind] = useState<ChartKind>(view.chart.kind);
  const [exportPath, setExportPath] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const base = `run-${view.run}`;

  // The first rows are committed (table and chart): measure until they are painted.
  useEffect(() => resultShown(view.run, view.first_page.rows.length), [view]);

  const save = (name: string, data: Uint8Array) =>
    tryAction(async () => setExportPath(await client.exportFile(name, data)), setError);

  const exportCsv = () =>
    save(
      `${base}.csv`,
      utf8(
        toCsv(
          columns.map((c) => c.name),
          sortRows(rows, columns, sorting),
        ),
      ),
    );

  const loadMore = () =>
    tryAction(
      async () => {
        const page = await client.resultPage(view.run, rows.length, PAGE);
        setRows((current) => current.concat(page.rows));
        setTotal(page.total_rows);
      },
      setError,
      setLoading,
    );

  return (
    <div className="results" data-testid="results" data-run={view.run}>
      <div className="toolbar">
        <span data-testid="result-row-count" data-rows={total}>
          {plural(total, 'row')}
        </span>
        {rows.length < total && (
          <span className="muted" data-testid="result-loaded">
            ({rows.length.toLocaleString('en-US')} loaded)
          </span>
        )}
        {view.truncated && (
          <span className="badge warn" data-testid="result-truncated" title="The run hit its row limit">
            truncated
          </span>
        )}
        <span className="muted">in {formatMs(view.elapsed_ms)}</span>
        <span className="spacer" />
        {rows.length < total && (
          <button type="button" data-testid="result-load-more" disabled={loading} onClick={loadMore}>
            {loading ? 'Loading…' : `Load ${Math.min(PAGE, total - rows.length).toLocaleString('en-US')} more`}
          </button>
        )}
        <button type="button" data-testid="export-csv" onClick={exportCsv}>
          Export CSV
        </button>
      </div>
      <ResultsTable columns={columns} rows={rows} sorting={sorting} onSortingChange={setSorting} />
      <ChartPanel
        columns={columns}
        rows={rows}
        recommendation={view.chart}
        kind={kind}
        onKindChange={setKind}
        onExport={save}
        exportBase={base}
      />
      {exportPath && (
        <p className="export-note">
          Saved to <code data-testid="export-path">{exportPath}</code>
        </p>
      )}
      <ErrorBox error={error} testId="export-error" />
    </div>
  );
}
