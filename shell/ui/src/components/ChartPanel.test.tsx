//! The chart switcher re-plots rows already loaded: switching kind calls no command (no run, no page fetch), and
//! exports go through export_file with the chart's bytes.
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import type { EChartsOption } from 'echarts';
import { runView } from '../test/fixtures';

const mocks = vi.hoisted(() => {
  const handle = {
    setOption: vi.fn(),
    resize: vi.fn(),
    dispose: vi.fn(),
    getDataURL: vi.fn(() => 'data:image/png;base64,iVBORw0KGgo='),
  };
  return {
    handle,
    initChart: vi.fn(() => handle),
    renderSvg: vi.fn(() => '<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
    run: vi.fn(),
    resultPage: vi.fn(),
    ask: vi.fn(),
    draft: vi.fn(),
    exportFile: vi.fn(async (name: string) => `/home/me/PolyStoreIQ/exports/${name}`),
  };
});

vi.mock('../lib/echarts', () => ({ initChart: mocks.initChart, renderSvg: mocks.renderSvg }));
vi.mock('../api/client', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../api/client')>();
  return {
    ...actual,
    run: mocks.run,
    resultPage: mocks.resultPage,
    ask: mocks.ask,
    draft: mocks.draft,
    exportFile: mocks.exportFile,
  };
});

import { ResultsPanel } from './ResultsPanel';

function lastOption(): EChartsOption {
  const calls = mocks.handle.setOption.mock.calls;
  return calls[calls.length - 1][0] as EChartsOption;
}

function seriesTypes(option: EChartsOption): string[] {
  const series = option.series;
  return (Array.isArray(series) ? series : [series]).map((s) => (s as { type: string }).type);
}

beforeEach(() => {
  vi.clearAllMocks();
});

describe('chart switcher', () => {
  it('starts on the recommended kind', () => {
    render(<ResultsPanel view={runView()} />);
    expect(screen.getByTestId('chart-current-kind')).toHaveTextContent('bar');
    expect(screen.getByTestId('chart-kind-bar')).toHaveAttribute('aria-pressed', 'true');
    expect(mocks.initChart).toHaveBeenCalledTimes(1);
    expect(seriesTypes(lastOption())).toEqual(['bar']);
  });

  it('re-plots the loaded rows for each kind without calling run or fetching a page', () => {
    render(<ResultsPanel view={runView()} />);
    for (const kind of ['line', 'pie', 'scatter', 'bar'] as const) {
      fireEvent.click(screen.getByTestId(`chart-kind-${kind}`));
      expect(screen.getByTestId('chart-current-kind')).toHaveTextContent(kind);
      expect(seriesTypes(lastOption())).toEqual([kind]);
    }
    fireEvent.click(screen.getByTestId('chart-kind-table'));
    expect(screen.getByTestId('chart-current-kind')).toHaveTextContent('table');
    expect(screen.getByTestId('chart-note')).toHaveTextContent('Table view');
    expect(mocks.handle.dispose).toHaveBeenCalled();
    // the table is still there, with the same rows
    expect(screen.getAllByTestId('result-row')).toHaveLength(3);
    expect(mocks.run).not.toHaveBeenCalled();
    expect(mocks.resultPage).not.toHaveBeenCalled();
    expect(mocks.ask).not.toHaveBeenCalled();
    expect(mocks.draft).not.toHaveBeenCalled();
  });

  it('exports the chart as PNG and SVG through export_file and shows the path', async () => {
    render(<ResultsPanel view={runView()} />);
    fireEvent.click(screen.getByTestId('export-png'));
    await waitFor(() => expect(screen.getByTestId('export-path')).toHaveTextContent('run-7-bar.png'));
    const [name, bytes] = mocks.exportFile.mock.calls[0] as unknown as [string, Uint8Array];
    expect(name).toBe('run-7-bar.png');
    expect(Array.from(bytes.slice(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(mocks.handle.getDataURL).toHaveBeenCalledWith(expect.objectContaining({ type: 'png' }));

    fireEvent.click(screen.getByTestId('export-svg'));
    await waitFor(() => expect(screen.getByTestId('export-path')).toHaveTextContent('run-7-bar.svg'));
    expect(mocks.renderSvg).toHaveBeenCalledTimes(1);
    expect(mocks.run).not.toHaveBeenCalled();
  });

  it('exports the displayed rows as CSV, in the displayed order', async () => {
    render(<ResultsPanel view={runView()} />);
    fireEvent.click(screen.getByTestId('result-header-2')); // orders ascending
    fireEvent.click(screen.getByTestId('export-csv'));
    await waitFor(() => expect(screen.getByTestId('export-path')).toHaveTextContent('run-7.csv'));
    const [name, bytes] = mocks.exportFile.mock.calls[0] as unknown as [string, Uint8Array];
    expect(name).toBe('run-7.csv');
    expect(new TextDecoder().decode(bytes)).toBe(
      'region,revenue,orders\r\nnorth,120.50,4\r\nsouth,,9\r\neast,99.00,\r\n',
    );
  });

  it('shows the row count and an empty state', () => {
    const view = runView();
    view.first_page = { ...view.first_page, rows: [], total_rows: 0 };
    view.rows = 0;
    render(<ResultsPanel view={view} />);
    expect(screen.getByTestId('result-row-count')).toHaveTextContent('0 rows');
    expect(screen.getByTestId('result-empty')).toHaveTextContent('No rows');
  });
});
