//! RFC 4180 CSV of a result as displayed: a header of column names, then one record per row, CRLF line breaks,
//! fields quoted only when they hold a comma, a double quote or a line break (quotes doubled). NULL is an empty
//! field.
import type { Cell } from '../api/types';

export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const lines = [columns.map(csvField).join(',')];
  for (const row of rows) lines.push(row.map(csvField).join(','));
  return lines.join('\r\n') + '\r\n';
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** The bytes of a `data:...;base64,` URL (what ECharts' getDataURL answers). */
export function dataUrlBytes(url: string): Uint8Array {
  const comma = url.indexOf(',');
  const header = url.slice(0, comma);
  const body = url.slice(comma + 1);
  if (!header.endsWith(';base64')) return utf8(decodeURIComponent(body));
  const binary = atob(body);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
