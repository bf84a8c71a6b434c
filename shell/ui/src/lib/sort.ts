//! Sorting result rows by columns, shared by the table and the CSV export so both show the same order. NULL sorts
//! last in either direction; numbers (and decimals carried as strings) compare as numbers.
import type { Cell, LogicalType, ResultColumn } from '../api/types';

export interface SortKey {
  id: string;
  desc: boolean;
}

const NUMERIC: ReadonlySet<LogicalType> = new Set(['int', 'float', 'decimal']);
const collator = new Intl.Collator(undefined, { sensitivity: 'variant' });

export function isNumericType(logical: LogicalType): boolean {
  return NUMERIC.has(logical);
}

function compareValues(a: Cell, b: Cell, numeric: boolean): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (numeric) {
    const x = Number(a);
    const y = Number(b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  }
  return collator.compare(String(a), String(b));
}

/** A sorted copy of `rows` (stable); `sorting` names columns by their index as a string. */
export function sortRows(rows: readonly Cell[][], columns: readonly ResultColumn[], sorting: readonly SortKey[]): Cell[][] {
  const keys = sorting
    .map((key) => ({ index: Number(key.id), desc: key.desc }))
    .filter((key) => Number.isInteger(key.index) && key.index >= 0 && key.index < columns.length);
  if (keys.length === 0) return rows.slice();
  const numeric = columns.map((column) => isNumericType(column.logical));
  const order = rows.map((_, i) => i);
  order.sort((i, j) => {
    for (const key of keys) {
      const a = rows[i][key.index];
      const b = rows[j][key.index];
      const aNull = a === null || a === undefined;
      const bNull = b === null || b === undefined;
      if (aNull || bNull) {
        if (aNull && bNull) continue;
        return aNull ? 1 : -1;
      }
      const c = compareValues(a, b, numeric[key.index]);
      if (c !== 0) return key.desc ? -c : c;
    }
    return i - j;
  });
  return order.map((i) => rows[i]);
}
