//! The ECharts build this page uses (only the charts and components it needs, both renderers), behind a small
//! seam the component tests replace: jsdom has no canvas. Each canvas render is timed (`CHART_RENDER`).
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers';
import type { EChartsOption } from 'echarts';
import { afterPaint, CHART_RENDER, measure, now } from './timing';

echarts.use([
  BarChart,
  LineChart,
  PieChart,
  ScatterChart,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  TitleComponent,
  CanvasRenderer,
  SVGRenderer,
]);

export interface ChartHandle {
  setOption(option: EChartsOption, notMerge?: boolean): void;
  resize(): void;
  dispose(): void;
  getDataURL(opts: { type: 'png'; pixelRatio?: number; backgroundColor?: string }): string;
}

/** A canvas chart in `element`; each `setOption` is measured until the frame that shows it is painted. */
export function initChart(element: HTMLElement): ChartHandle {
  const chart = echarts.init(element, undefined, { renderer: 'canvas' });
  let started: { at: number; detail: Record<string, unknown> } | null = null;
  // `finished`: everything drawn, progressive chunks included (often still inside `setOption`).
  chart.on('finished', () => {
    if (!started) return;
    const { at, detail } = started;
    started = null;
    afterPaint(() => measure(CHART_RENDER, at, detail));
  });
  return {
    setOption(option, notMerge) {
      started = { at: now(), detail: describe(option) };
      chart.setOption(option, notMerge);
    },
    resize: () => chart.resize(),
    dispose: () => chart.dispose(),
    getDataURL: (opts) => chart.getDataURL(opts),
  };
}

/** The kind and number of points an option draws, for its timing entry. */
function describe(option: EChartsOption): Record<string, unknown> {
  const series = (Array.isArray(option.series) ? option.series : option.series ? [option.series] : []) as {
    type?: string;
    data?: unknown[];
  }[];
  return { kind: series[0]?.type ?? null, points: series.reduce((n, s) => n + (s.data?.length ?? 0), 0) };
}

/** The SVG text of `option` drawn at `width` x `height`, rendered off-screen (server-side mode). */
export function renderSvg(option: EChartsOption, width: number, height: number): string {
  const chart = echarts.init(null, undefined, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption(option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}
