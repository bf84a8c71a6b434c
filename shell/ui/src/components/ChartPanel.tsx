//! The chart of a result: the broker's recommendation first, a switcher over every kind that re-plots the rows
//! already loaded (it never runs the query again), and PNG/SVG export of what is drawn.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { Cell, ChartKind, ChartRecommendation, ResultColumn } from '../api/types';
import { CHART_KINDS } from '../api/types';
import { buildChartOption } from '../lib/chartOptions';
import { initChart, renderSvg, type ChartHandle } from '../lib/echarts';
import { dataUrlBytes, utf8 } from '../lib/csv';

export interface ChartPanelProps {
  columns: ResultColumn[];
  rows: Cell[][];
  recommendation: ChartRecommendation;
  kind: ChartKind;
  onKindChange: (kind: ChartKind) => void;
  /** Writes an export; answers the path written. */
  onExport: (name: string, data: Uint8Array) => Promise<void>;
  /** The base of export file names, e.g. `run-12`. */
  exportBase: string;
}

const CHART_HEIGHT = 340;

export function ChartPanel({ columns, rows, recommendation, kind, onKindChange, onExport, exportBase }: ChartPanelProps) {
  const option = useMemo(
    () => buildChartOption(kind, columns, rows, recommendation),
    [kind, columns, rows, recommendation],
  );
  const containerRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<ChartHandle | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const element = containerRef.current;
    if (!option || !element) {
      chartRef.current?.dispose();
      chartRef.current = null;
      return;
    }
    if (!chartRef.current) chartRef.current = initChart(element);
    chartRef.current.setOption(option, true);
  }, [option]);

  useEffect(() => {
    const element = containerRef.current;
    if (!element || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => chartRef.current?.resize());
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useEffect(
    () => () => {
      chartRef.current?.dispose();
      chartRef.current = null;
    },
    [],
  );

  const exportPng = async () => {
    if (!chartRef.current) return;
    setBusy(true);
    try {
      const url = chartRef.current.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#ffffff' });
      await onExport(`${exportBase}-${kind}.png`, dataUrlBytes(url));
    } finally {
      setBusy(false);
    }
  };

  const exportSvg = async () => {
    if (!option) return;
    setBusy(true);
    try {
      const width = containerRef.current?.clientWidth || 960;
      await onExport(`${exportBase}-${kind}.svg`, utf8(renderSvg(option, width, CHART_HEIGHT)));
    } finally {
      setBusy(false);
    }
  };

  const suggested = new Set<ChartKind>([recommendation.kind, ...recommendation.alternatives]);

  return (
    <section className="chart-panel" data-testid="chart-panel">
      <div className="toolbar">
        <div className="segmented" role="group" aria-label="Chart kind">
          {CHART_KINDS.map((k) => (
            <button
              key={k}
              type="button"
              data-testid={`chart-kind-${k}`}
              aria-pressed={k === kind}
              className={[k === kind ? 'active' : '', suggested.has(k) ? 'suggested' : ''].join(' ').trim()}
              title={k === recommendation.kind ? `Recommended: ${recommendation.reason}` : undefined}
              onClick={() => onKindChange(k)}
            >
              {k}
              {k === recommendation.kind ? ' ★' : ''}
            </button>
          ))}
        </div>
        <span className="muted">
          showing <strong data-testid="chart-current-kind">{kind}</strong>
        </span>
        <span className="spacer" />
        <button type="button" data-testid="export-png" disabled={!option || busy} onClick={exportPng}>
          Export PNG
        </button>
        <button type="button" data-testid="export-svg" disabled={!option || busy} onClick={exportSvg}>
          Export SVG
        </button>
      </div>
      <p className="muted small" data-testid="chart-reason">
        Recommended {recommendation.kind}: {recommendation.reason}
      </p>
      <div
        className="chart"
        data-testid="chart"
        data-kind={kind}
        ref={containerRef}
        style={{ height: option ? CHART_HEIGHT : 0 }}
      />
      {!option && (
        <p className="muted chart-note" data-testid="chart-note">
          {kind === 'table' ? 'Table view: pick a chart kind to plot these rows.' : `Nothing numeric to plot as ${kind}.`}
        </p>
      )}
    </section>
  );
}
