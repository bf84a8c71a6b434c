//! The app's plain data table (`table.data`): a header row named by a column list, one row per item, and, when there
//! are no items, one muted row across every column. Each caller renders its own rows, keys and test ids included.
import type { ReactNode } from 'react';

export interface DataTableProps<T> {
  /** The header cells, in order; their count is also the empty row's span. */
  columns: readonly string[];
  items: readonly T[];
  /** One `<tr>` with its `key`. */
  row: (item: T, index: number) => ReactNode;
  /** What the empty row says; without it, an empty table shows only its header. */
  empty?: ReactNode;
  testId?: string;
  /** Rows after the items' (a total, say). */
  children?: ReactNode;
}

export function DataTable<T>({ columns, items, row, empty, testId, children }: DataTableProps<T>) {
  return (
    <table className="data" data-testid={testId}>
      <thead>
        <tr>
          {columns.map((name) => (
            <th key={name}>{name}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {items.map(row)}
        {children}
        {items.length === 0 && empty !== undefined && <EmptyRow columns={columns.length}>{empty}</EmptyRow>}
      </tbody>
    </table>
  );
}

/** The row a table shows when it has none: one muted cell across every column. */
function EmptyRow({ columns, children }: { columns: number; children: ReactNode }) {
  return (
    <tr>
      <td colSpan={columns} className="muted">
        {children}
      </td>
    </tr>
  );
}
