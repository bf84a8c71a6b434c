//! Building an ECharts option from loaded result rows: a pure function, so switching the chart kind re-plots the
//! data already in the page (no run, no fetch) and tests can check the option without a canvas.
import type { EChartsOption } from 'echarts';
import type { Cell, ChartKind, ChartRecommendation, ResultColumn } from '../api/types';
import { isNumericType } from './sort';

export interface ChartAxes {
  /** Index of the x (category) column, or -1 when there is none. */
  x: number;
  /** Indexes of the plotted value columns. */
  y: number[];
}

/** Above this many points, scatter and bar series draw in ECharts' large mode (one path, not an element a point). */
export const LARGE = 2000;
/** Large mode, and the whole series in one frame: progressive rendering draws a 10k-point scatter 400 points a frame,
 * which under software rendering took seconds (BENCHMARKS.md). */
const BULK = { large: true, largeThreshold: LARGE, progressive: 0 } as const;
/** A line over more than `LARGE` points: drawn in one frame, through the points that keep its shape (largest triangle
 * three buckets) rather than every one of them; 100k points otherwise took over a second and gigabytes to draw. */
const LONG_LINE = { sampling: 'lttb', progressive: 0 } as const;

/** Chooses the columns to plot: the recommendation's where they exist, else the first label and the numbers. */
export function chooseAxes(
  kind: ChartKind,
  columns: readonly ResultColumn[],
  recommendation?: Pick<ChartRecommendation, 'x' | 'y'> | null,
): ChartAxes {
  const byName = (name: string | null | undefined) => (name ? columns.findIndex((c) => c.name === name) : -1);
  const numeric = columns.map((c, i) => (isNumericType(c.logical) ? i : -1)).filter((i) => i >= 0);
  let x = byName(recommendation?.x);
  if (x < 0) {
    if (kind === 'scatter' && numeric.length >= 2) x = numeric[0];
    else x = columns.findIndex((c) => !isNumericType(c.logical));
    if (x < 0 && columns.length > 1) x = 0;
  }
  let y = (recommendation?.y ?? []).map(byName).filter((i) => i >= 0 && i !== x);
  if (y.length === 0) y = numeric.filter((i) => i !== x);
  if (kind === 'pie') y = y.slice(0, 1);
  return { x, y };
}

function toNumber(value: Cell): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function label(value: Cell): string {
  return value === null || value === undefined ? 'NULL' : String(value);
}

/**
 * The ECharts option for `kind` over `rows`; `null` for the table kind, or when there is nothing numeric to plot.
 */
export function buildChartOption(
  kind: ChartKind,
  columns: readonly ResultColumn[],
  rows: readonly (readonly Cell[])[],
  recommendation?: Pick<ChartRecommendation, 'x' | 'y'> | null,
): EChartsOption | null {
  if (kind === 'table') return null;
  const { x, y } = chooseAxes(kind, columns, recommendation);
  if (y.length === 0) return null;
  const xLabels = rows.map((row, i) => (x >= 0 ? label(row[x]) : String(i + 1)));
  const common: EChartsOption = {
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: 'system-ui, sans-serif' },
  };
  const xName = x >= 0 ? columns[x].name : 'row';

  if (kind === 'pie') {
    const column = y[0];
    return {
      ...common,
      tooltip: { trigger: 'item' },
      legend: { type: 'scroll', orient: 'vertical', left: 'left' },
      series: [
        {
          type: 'pie',
          name: columns[column].name,
          radius: '65%',
          center: ['60%', '50%'],
          data: rows.map((row, i) => ({ name: xLabels[i], value: toNumber(row[column]) ?? '-' })),
        },
      ],
    };
  }

  if (kind === 'scatter') {
    const numericX = x >= 0 && isNumericType(columns[x].logical);
    return {
      ...common,
      tooltip: { trigger: 'item' },
      legend: y.length > 1 ? { top: 0 } : undefined,
      grid: { left: 56, right: 24, top: 40, bottom: 48, containLabel: true },
      xAxis: numericX
        ? { type: 'value', name: xName, nameLocation: 'middle', nameGap: 28, scale: true }
        : { type: 'category', name: xName, nameLocation: 'middle', nameGap: 28, data: xLabels },
      yAxis: { type: 'value', scale: true },
      series: y.map((column) => ({
        type: 'scatter' as const,
        name: columns[column].name,
        symbolSize: rows.length > LARGE ? 4 : 7,
        data: rows.map((row, i) => [numericX ? toNumber(row[x]) : xLabels[i], toNumber(row[column])]),
        ...BULK,
      })),
    };
  }

  // line and bar
  return {
    ...common,
    tooltip: { trigger: 'axis' },
    legend: y.length > 1 ? { top: 0 } : undefined,
    grid: { left: 56, right: 24, top: 40, bottom: 48, containLabel: true },
    xAxis: { type: 'category', name: xName, nameLocation: 'middle', nameGap: 28, data: xLabels },
    yAxis: { type: 'value' },
    series: y.map((column) => ({
      type: kind,
      name: columns[column].name,
      data: rows.map((row) => toNumber(row[column])),
      ...(kind === 'line'
        ? { showSymbol: rows.length <= 200, connectNulls: false, ...(rows.length > LARGE ? LONG_LINE : {}) }
        : BULK),
    })),
  } as EChartsOption;
}
