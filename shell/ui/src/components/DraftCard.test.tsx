//! A draft's run in the thread: progress while running, Cancel asks the broker to cancel by run id, and the
//! outcome is shown as finished (with the result), cancelled, or failed with its typed error.
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import type { RunEvent, RunView } from '../api/types';
import { preview, runView } from '../test/fixtures';

const mocks = vi.hoisted(() => ({
  run: vi.fn(),
  cancel: vi.fn(async () => null),
  draft: vi.fn(),
  deny: vi.fn(async () => null),
}));
vi.mock('../api/client', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../api/client')>();
  return { ...actual, run: mocks.run, cancel: mocks.cancel, draft: mocks.draft, deny: mocks.deny };
});
vi.mock('../lib/echarts', () => ({
  initChart: () => ({ setOption() {}, resize() {}, dispose() {}, getDataURL: () => 'data:image/png;base64,' }),
  renderSvg: () => '<svg/>',
}));

import { TypedError } from '../api/client';
import { addDraft, resetChat } from '../state/chatStore';
import { DraftCard } from './DraftCard';

interface Pending {
  emit: (event: RunEvent) => void;
  resolve: (view: RunView) => void;
  reject: (error: unknown) => void;
}

function pendingRun(): Pending {
  const pending = {} as Pending;
  mocks.run.mockImplementationOnce(
    (_token: string, onEvent: (event: RunEvent) => void) =>
      new Promise<RunView>((resolve, reject) => {
        pending.emit = onEvent;
        pending.resolve = resolve;
        pending.reject = reject;
      }),
  );
  return pending;
}

beforeEach(() => {
  vi.clearAllMocks();
  resetChat();
});

describe('DraftCard run', () => {
  it('streams progress, then shows the result', async () => {
    addDraft(preview());
    const pending = pendingRun();
    render(<DraftCard draft={3} />);
    fireEvent.click(screen.getByTestId('draft-approve'));
    expect(mocks.run).toHaveBeenCalledWith('tok-abc', expect.any(Function));
    expect(screen.getByTestId('run-status')).toHaveTextContent('running');
    expect(screen.getByTestId('run-cancel')).toBeDisabled(); // no run id yet
    act(() => pending.emit({ Started: { run: 7, pid: 4242 } }));
    act(() => pending.emit({ Progress: { run: 7, rows: 8192, elapsed_ms: 120 } }));
    expect(screen.getByTestId('run-progress')).toHaveTextContent('8,192 rows');
    expect(screen.getByTestId('run-progress')).toHaveTextContent('120 ms');
    expect(screen.getByTestId('run-cancel')).toBeEnabled();
    expect(screen.getByTestId('draft-approve')).toBeDisabled();
    await act(async () => pending.resolve(runView()));
    expect(screen.getByTestId('run-status')).toHaveTextContent('finished');
    expect(screen.getByTestId('result-row-count')).toHaveTextContent('3 rows');
    expect(screen.getAllByTestId('result-row')).toHaveLength(3);
  });

  it('cancels by run id and shows the run as cancelled', async () => {
    addDraft(preview());
    const pending = pendingRun();
    render(<DraftCard draft={3} />);
    fireEvent.click(screen.getByTestId('draft-approve'));
    act(() => pending.emit({ Queued: { run: 9, position: 2 } }));
    expect(screen.getByTestId('run-queued')).toHaveTextContent('position 2');
    fireEvent.click(screen.getByTestId('run-cancel'));
    await waitFor(() => expect(mocks.cancel).toHaveBeenCalledWith(9));
    await act(async () => pending.reject({ code: 'cancelled', message: 'the run was cancelled', retry_after_ms: null }));
    expect(screen.getByTestId('run-status')).toHaveTextContent('cancelled');
    expect(screen.getByTestId('run-cancelled')).toHaveTextContent('Cancelled');
    expect(screen.queryByTestId('run-error')).toBeNull();
  });

  it('shows a failed run with its typed error', async () => {
    addDraft(preview());
    const pending = pendingRun();
    render(<DraftCard draft={3} />);
    fireEvent.click(screen.getByTestId('draft-approve'));
    await act(async () => pending.reject(new TypedError('worker_crashed', 'the worker died (SIGSEGV)')));
    expect(screen.getByTestId('run-status')).toHaveTextContent('failed');
    expect(screen.getByTestId('run-error')).toHaveAttribute('data-code', 'worker_crashed');
    expect(screen.getByTestId('run-error')).toHaveTextContent('the worker died (SIGSEGV)');
  });

  it('denies a draft', async () => {
    addDraft(preview());
    render(<DraftCard draft={3} />);
    fireEvent.click(screen.getByTestId('draft-deny'));
    await waitFor(() => expect(screen.getByTestId('draft-denied')).toBeInTheDocument());
    expect(mocks.deny).toHaveBeenCalledWith(3);
    expect(screen.getByTestId('draft-approve')).toBeDisabled();
    expect(mocks.run).not.toHaveBeenCalled();
  });

  it('shows an edited draft below its original', async () => {
    addDraft(preview());
    mocks.draft.mockResolvedValueOnce(preview({ draft: 4, query: 'SELECT 1', provider: 'user' }));
    render(<DraftCard draft={3} />);
    fireEvent.click(screen.getByTestId('draft-edit'));
    fireEvent.change(screen.getByTestId('draft-edit-text'), { target: { value: 'SELECT 1' } });
    fireEvent.click(screen.getByTestId('draft-edit-submit'));
    await waitFor(() => expect(screen.getAllByTestId('draft-card')).toHaveLength(2));
    expect(mocks.draft).toHaveBeenCalledWith('sales', 'SELECT 1');
    expect(screen.getAllByTestId('draft-query')[1]).toHaveTextContent('SELECT 1');
  });
});
