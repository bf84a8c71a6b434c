//! The result grid: TanStack Table for columns and sort state, TanStack Virtual so only the visible rows are in the
//! DOM. A header click cycles ascending, descending, unsorted; NULL is shown as a styled "NULL", never as "".
import { useMemo, useRef, useState } from 'react';
import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
  type SortingState,
  type Updater,
} from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { Cell, ResultColumn } from '../api/types';
import { isNumericType, sortRows } from '../lib/sort';

const ROW_HEIGHT = 30;
const INDEX_WIDTH = 56;

function columnWidth(column: ResultColumn): number {
  const text = Math.max(column.name.length, column.db_type.length + 2);
  return Math.min(320, Math.max(110, text * 8 + 40));
}

export function CellValue({ value }: { value: Cell }) {
  if (value === null || value === undefined) {
    return (
      <span className="null" data-testid="cell-null">
        NULL
      </span>
    );
  }
  if (typeof value === 'boolean') return <span className="bool">{value ? 'true' : 'false'}</span>;
  return <>{String(value)}</>;
}

export interface ResultsTableProps {
  columns: ResultColumn[];
  rows: Cell[][];
  /** Controlled sort state (column ids are column indexes); uncontrolled when left out. */
  sorting?: SortingState;
  onSortingChange?: (sorting: SortingState) => void;
  height?: number;
}

export function ResultsTable({ columns, rows, sorting: controlled, onSortingChange, height = 380 }: ResultsTableProps) {
  const [own, setOwn] = useState<SortingState>([]);
  const sorting = controlled ?? own;
  const setSorting = (updater: Updater<SortingState>) => {
    const next = typeof updater === 'function' ? updater(sorting) : updater;
    if (onSortingChange) onSortingChange(next);
    if (controlled === undefined) setOwn(next);
  };

  const defs = useMemo<ColumnDef<Cell[]>[]>(
    () =>
      columns.map((column, i) => ({
        id: String(i),
        accessorFn: (row: Cell[]) => row[i],
        header: column.name,
        size: columnWidth(column),
        cell: (info) => <CellValue value={info.getValue() as Cell} />,
      })),
    [columns],
  );
  const sorted = useMemo(() => sortRows(rows, columns, sorting), [rows, columns, sorting]);
  const table = useReactTable({
    data: sorted,
    columns: defs,
    state: { sorting },
    onSortingChange: setSorting,
    manualSorting: true,
    sortDescFirst: false,
    enableMultiSort: false,
    getCoreRowModel: getCoreRowModel(),
  });

  const scrollRef = useRef<HTMLDivElement>(null);
  const tableRows = table.getRowModel().rows;
  const virtualizer = useVirtualizer({
    count: tableRows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const totalWidth = INDEX_WIDTH + table.getTotalSize();

  return (
    <div className="result-table" data-testid="result-table" ref={scrollRef} style={{ maxHeight: height }}>
      <table style={{ display: 'grid', width: totalWidth }}>
        <thead className="result-head">
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id} style={{ display: 'flex', width: totalWidth }}>
              <th className="row-index" style={{ width: INDEX_WIDTH }}>
                #
              </th>
              {group.headers.map((header) => {
                const column = columns[Number(header.column.id)];
                const dir = header.column.getIsSorted();
                return (
                  <th
                    key={header.id}
                    style={{ width: header.getSize() }}
                    className={isNumericType(column.logical) ? 'numeric sortable' : 'sortable'}
                    aria-sort={dir === 'asc' ? 'ascending' : dir === 'desc' ? 'descending' : 'none'}
                    data-testid={`result-header-${header.column.id}`}
                    data-column={column.name}
                    onClick={header.column.getToggleSortingHandler()}
                    title={`${column.name}: ${column.db_type} (${column.logical}). Click to sort.`}
                  >
                    <span className="col-name">
                      {flexRender(header.column.columnDef.header, header.getContext())}
                      <span className="sort-mark" data-testid={`result-sort-${header.column.id}`}>
                        {dir === 'asc' ? ' ▲' : dir === 'desc' ? ' ▼' : ''}
                      </span>
                    </span>
                    <span className="col-type" data-testid={`result-type-${header.column.id}`}>
                      {column.db_type || column.logical}
                    </span>
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        {rows.length === 0 ? (
          <tbody style={{ display: 'grid' }}>
            <tr style={{ display: 'flex' }}>
              <td className="empty" data-testid="result-empty" style={{ width: totalWidth }}>
                No rows
              </td>
            </tr>
          </tbody>
        ) : (
          <tbody style={{ display: 'grid', height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((item) => {
              const row = tableRows[item.index];
              return (
                <tr
                  key={row.id}
                  data-testid="result-row"
                  data-index={item.index}
                  className={item.index % 2 ? 'odd' : undefined}
                  style={{
                    display: 'flex',
                    position: 'absolute',
                    transform: `translateY(${item.start}px)`,
                    height: ROW_HEIGHT,
                    width: totalWidth,
                  }}
                >
                  <td className="row-index" style={{ width: INDEX_WIDTH }}>
                    {item.index + 1}
                  </td>
                  {row.getVisibleCells().map((cell) => (
                    <td
                      key={cell.id}
                      data-testid="result-cell"
                      style={{ width: cell.column.getSize() }}
                      className={isNumericType(columns[Number(cell.column.id)].logical) ? 'numeric' : undefined}
                    >
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        )}
      </table>
    </div>
  );
}
