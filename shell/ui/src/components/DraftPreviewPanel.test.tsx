//! The preview panel shows everything the user decides on (verdict, dry run, repaired attempts) and allows
//! Approve only with a token.
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { DraftPreviewPanel } from './DraftPreviewPanel';
import { preview } from '../test/fixtures';
import { TypedError } from '../api/client';

const noop = () => {};

describe('DraftPreviewPanel', () => {
  it('shows the query, provider, explanation, verdict and dry run', () => {
    render(<DraftPreviewPanel preview={preview()} onApprove={noop} onDeny={noop} onEdit={async () => {}} />);
    expect(screen.getByTestId('draft-query')).toHaveTextContent('SELECT region, sum(amount) AS revenue FROM orders');
    expect(within(screen.getByTestId('draft-query')).getByText('SELECT')).toHaveClass('tok-keyword');
    expect(screen.getByTestId('draft-provider')).toHaveTextContent('offline');
    expect(screen.getByTestId('draft-explanation')).toHaveTextContent('Sums paid order amounts per region.');
    expect(screen.getByTestId('draft-verdict')).toHaveTextContent('allowed');
    expect(screen.getByTestId('draft-verdict-code')).toHaveTextContent('read_only');
    expect(screen.getByTestId('draft-verdict')).toHaveTextContent('a single SELECT');
    expect(screen.getByTestId('draft-check')).toHaveAttribute('data-outcome', 'passed');
    expect(screen.getByTestId('draft-check')).toHaveTextContent('prepared');
    expect(screen.queryByTestId('draft-attempts')).toBeNull();
  });

  it('lists the attempts that were set aside, with their errors', () => {
    const p = preview({
      provider: 'openai',
      attempts: [
        {
          query: 'SELECT regio FROM orders',
          provider: 'openai',
          error: { code: 'query_failed', message: 'unknown column regio', retry_after_ms: null },
        },
        {
          query: 'DELETE FROM orders',
          provider: 'openai',
          error: { code: 'query_rejected', message: 'not read-only', retry_after_ms: null },
        },
      ],
    });
    render(<DraftPreviewPanel preview={p} onApprove={noop} onDeny={noop} onEdit={async () => {}} />);
    const attempts = screen.getAllByTestId('draft-attempt');
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toHaveTextContent('query_failed');
    expect(attempts[0]).toHaveTextContent('unknown column regio');
    expect(within(attempts[1]).getByTestId('draft-attempt-query')).toHaveTextContent('DELETE FROM orders');
  });

  it('disables Approve without a token and shows a refused verdict with no dry run', () => {
    const onApprove = vi.fn();
    const p = preview({
      token: null,
      verdict: { allowed: false, code: 'write_statement', reason: 'DELETE changes data' },
      check: null,
    });
    render(<DraftPreviewPanel preview={p} onApprove={onApprove} onDeny={noop} onEdit={async () => {}} />);
    const approve = screen.getByTestId('draft-approve');
    expect(approve).toBeDisabled();
    fireEvent.click(approve);
    expect(onApprove).not.toHaveBeenCalled();
    expect(screen.getByTestId('draft-verdict')).toHaveTextContent('refused');
    expect(screen.getByTestId('draft-verdict-code')).toHaveTextContent('write_statement');
    expect(screen.getByTestId('draft-check')).toHaveAttribute('data-outcome', 'none');
    expect(screen.getByTestId('draft-no-token')).toBeInTheDocument();
    // Deny and Edit stay available
    expect(screen.getByTestId('draft-deny')).toBeEnabled();
    expect(screen.getByTestId('draft-edit')).toBeEnabled();
  });

  it('disables Approve when the dry run failed and no token came', () => {
    const p = preview({ token: null, check: { outcome: 'failed', elapsed_ms: 2, message: 'no such column' } });
    render(<DraftPreviewPanel preview={p} onApprove={noop} onDeny={noop} onEdit={async () => {}} />);
    expect(screen.getByTestId('draft-approve')).toBeDisabled();
    expect(screen.getByTestId('draft-check')).toHaveTextContent('failed');
    expect(screen.getByTestId('draft-check')).toHaveTextContent('no such column');
  });

  it('approves and denies through its callbacks', () => {
    const onApprove = vi.fn();
    const onDeny = vi.fn();
    render(<DraftPreviewPanel preview={preview()} onApprove={onApprove} onDeny={onDeny} onEdit={async () => {}} />);
    fireEvent.click(screen.getByTestId('draft-approve'));
    fireEvent.click(screen.getByTestId('draft-deny'));
    expect(onApprove).toHaveBeenCalledTimes(1);
    expect(onDeny).toHaveBeenCalledTimes(1);
  });

  it('disables the decision once made', () => {
    render(<DraftPreviewPanel preview={preview()} decided onApprove={noop} onDeny={noop} onEdit={async () => {}} />);
    expect(screen.getByTestId('draft-approve')).toBeDisabled();
    expect(screen.getByTestId('draft-deny')).toBeDisabled();
  });

  it('edits the query in a textarea and sends it to be drafted again', async () => {
    const onEdit = vi.fn(async () => {});
    render(<DraftPreviewPanel preview={preview()} onApprove={noop} onDeny={noop} onEdit={onEdit} />);
    fireEvent.click(screen.getByTestId('draft-edit'));
    const text = screen.getByTestId('draft-edit-text');
    expect(text).toHaveValue(preview().query);
    fireEvent.change(text, { target: { value: 'SELECT 1' } });
    fireEvent.click(screen.getByTestId('draft-edit-submit'));
    await waitFor(() => expect(screen.queryByTestId('draft-edit-text')).toBeNull());
    expect(onEdit).toHaveBeenCalledWith('SELECT 1');
  });

  it('keeps the editor open with the typed error when the edit is refused', async () => {
    const onEdit = vi.fn(async () => {
      throw new TypedError('bad_request', 'empty query');
    });
    render(<DraftPreviewPanel preview={preview()} onApprove={noop} onDeny={noop} onEdit={onEdit} />);
    fireEvent.click(screen.getByTestId('draft-edit'));
    fireEvent.click(screen.getByTestId('draft-edit-submit'));
    await waitFor(() => expect(screen.getByTestId('draft-edit-error')).toHaveTextContent('bad_request'));
    expect(screen.getByTestId('draft-edit-text')).toBeInTheDocument();
  });
});
