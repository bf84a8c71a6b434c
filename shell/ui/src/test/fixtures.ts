//! Sample DTOs for the component tests, shaped as the shell serializes them.
import type { DraftPreview, ResultColumn, RunView } from '../api/types';

export const columns: ResultColumn[] = [
  { name: 'region', db_type: 'VARCHAR', logical: 'text' },
  { name: 'revenue', db_type: 'DECIMAL(10,2)', logical: 'decimal' },
  { name: 'orders', db_type: 'BIGINT', logical: 'int' },
];

export function runView(overrides: Partial<RunView> = {}): RunView {
  return {
    run: 7,
    draft: 3,
    source: 'sales',
    rows: 3,
    truncated: false,
    elapsed_ms: 42,
    first_page: {
      run: 7,
      offset: 0,
      columns,
      rows: [
        ['north', '120.50', 4],
        ['south', null, 9],
        ['east', '99.00', null],
      ],
      total_rows: 3,
      truncated: false,
    },
    chart: { kind: 'bar', x: 'region', y: ['revenue'], reason: 'one label and one measure', alternatives: ['pie', 'table'] },
    ...overrides,
  };
}

export function preview(overrides: Partial<DraftPreview> = {}): DraftPreview {
  return {
    draft: 3,
    source: 'sales',
    engine: 'duckdb',
    question: 'revenue by region',
    query: "SELECT region, sum(amount) AS revenue FROM orders WHERE status = 'paid' GROUP BY region",
    provider: 'offline',
    explanation: 'Sums paid order amounts per region.',
    verdict: { allowed: true, code: 'read_only', reason: 'a single SELECT' },
    token: 'tok-abc',
    token_expires_in_ms: 300000,
    attempts: [],
    check: { outcome: 'passed', elapsed_ms: 3, message: 'prepared' },
    ...overrides,
  };
}
