//! The ECharts build this page uses (only the charts and components it needs, both renderers), behind a small
//! seam the component tests replace: jsdom has no canvas.
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers';
import type { EChartsOption } from 'echarts';

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

/** A canvas chart in `element`. */
export function initChart(element: HTMLElement): ChartHandle {
  return echarts.init(element, undefined, { renderer: 'canvas' }) as unknown as ChartHandle;
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
