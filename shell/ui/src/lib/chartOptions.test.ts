//! The chart option builder: the right series type per kind, the recommended axes, numbers from decimal strings,
//! and no chart for the table kind.
import { buildChartOption, chooseAxes } from './chartOptions';
import { columns } from '../test/fixtures';
import type { Cell } from '../api/types';

const rows: Cell[][] = [
  ['north', '120.50', 4],
  ['south', null, 9],
];

type Series = { type: string; name: string; data: unknown[] };
const series = (kind: Parameters<typeof buildChartOption>[0]) =>
  buildChartOption(kind, columns, rows, { x: 'region', y: ['revenue'] })!.series as Series[];

describe('buildChartOption', () => {
  it('builds the series type of each kind', () => {
    expect(series('bar').map((s) => s.type)).toEqual(['bar']);
    expect(series('line').map((s) => s.type)).toEqual(['line']);
    expect(series('pie').map((s) => s.type)).toEqual(['pie']);
    expect(series('scatter').map((s) => s.type)).toEqual(['scatter']);
  });

  it('draws scatter and bar in large mode, in one frame; a long line is sampled', () => {
    type Bulk = { large?: boolean; largeThreshold?: number; progressive?: number; sampling?: string };
    const many: Cell[][] = Array.from({ length: 10_000 }, (_, i) => [`r${i}`, String(i), i]);
    for (const kind of ['scatter', 'bar'] as const) {
      const [s] = buildChartOption(kind, columns, many, { x: 'region', y: ['revenue'] })!.series as Bulk[];
      expect(s).toMatchObject({ large: true, largeThreshold: 2000, progressive: 0 });
    }
    const [line] = buildChartOption('line', columns, many, { x: 'region', y: ['revenue'] })!.series as Bulk[];
    expect(line.large).toBeUndefined();
    expect(line).toMatchObject({ sampling: 'lttb', progressive: 0 });
    const [short] = buildChartOption('line', columns, many.slice(0, 2000), { x: 'region', y: ['revenue'] })!
      .series as Bulk[];
    expect(short.sampling).toBeUndefined();
  });

  it('has no chart for the table kind', () => {
    expect(buildChartOption('table', columns, rows, null)).toBeNull();
  });

  it('plots the recommended columns, decimals as numbers and NULL as a gap', () => {
    const option = buildChartOption('bar', columns, rows, { x: 'region', y: ['revenue'] })!;
    expect((option.xAxis as { data: string[] }).data).toEqual(['north', 'south']);
    const [s] = option.series as Series[];
    expect(s.name).toBe('revenue');
    expect(s.data).toEqual([120.5, null]);
  });

  it('names pie slices after the label column', () => {
    const [s] = series('pie');
    expect(s.data).toEqual([
      { name: 'north', value: 120.5 },
      { name: 'south', value: '-' },
    ]);
  });

  it('falls back to the first label column and every numeric column', () => {
    expect(chooseAxes('line', columns, null)).toEqual({ x: 0, y: [1, 2] });
    expect(chooseAxes('pie', columns, null)).toEqual({ x: 0, y: [1] });
    expect(chooseAxes('scatter', columns, null)).toEqual({ x: 1, y: [2] });
  });

  it('has nothing to plot without a numeric column', () => {
    const text = [{ name: 'a', db_type: 'TEXT', logical: 'text' as const }];
    expect(buildChartOption('bar', text, [['x']], null)).toBeNull();
  });
});
