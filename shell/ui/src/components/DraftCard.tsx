//! One draft in the chat thread with its decision, its run (live rows and elapsed, Cancel) and the outcome: the
//! result, or the typed error ("cancelled" shown as such). Edited drafts follow their original.
import { useMemo } from 'react';
import type { DraftId } from '../api/types';
import { formatMs, plural } from '../lib/format';
import { approveDraft, cancelRun, denyDraft, editDraft, useChat, type DraftEntry } from '../state/chatStore';
import { DraftPreviewPanel } from './DraftPreviewPanel';
import { ErrorBox } from './ErrorBox';
import { ResultsPanel } from './ResultsPanel';

function RunSection({ entry }: { entry: DraftEntry }) {
  const run = entry.run;
  if (!run) return null;
  const id = entry.preview.draft;
  return (
    <div className={`run run-${run.status}`} data-testid="run" data-run={run.runId ?? ''}>
      <div className="toolbar">
        <span className={`badge status-${run.status}`} data-testid="run-status">
          {run.status}
        </span>
        {run.runId !== null && <span className="muted">run #{run.runId}</span>}
        {run.status === 'running' && (
          <>
            {run.queuePosition !== null ? (
              <span data-testid="run-queued">queued, position {run.queuePosition}</span>
            ) : (
              <span data-testid="run-progress">
                {plural(run.rows, 'row')} · {formatMs(run.elapsedMs)}
              </span>
            )}
            <span className="spinner" aria-hidden />
            <button
              type="button"
              className="danger"
              data-testid="run-cancel"
              disabled={run.runId === null || run.cancelRequested}
              onClick={() => cancelRun(id)}
            >
              {run.cancelRequested ? 'Cancelling…' : 'Cancel'}
            </button>
          </>
        )}
      </div>
      {run.status === 'cancelled' && (
        <p className="cancelled" data-testid="run-cancelled">
          Cancelled{run.rows > 0 ? ` after ${plural(run.rows, 'row')}` : ''}: the worker was stopped.
        </p>
      )}
      {run.status === 'failed' && <ErrorBox error={run.error} testId="run-error" />}
      {run.status === 'finished' && run.view && <ResultsPanel view={run.view} />}
    </div>
  );
}

export function DraftCard({ draft }: { draft: DraftId }) {
  const entry = useChat((s) => s.drafts[draft]);
  const drafts = useChat((s) => s.drafts);
  const edits = useMemo(
    () =>
      Object.values(drafts)
        .filter((d) => d.parent === draft)
        .map((d) => d.preview.draft)
        .sort((a, b) => a - b),
    [drafts, draft],
  );
  if (!entry) return null;
  const { preview } = entry;
  return (
    <article className="draft-card" data-testid="draft-card" data-draft={draft}>
      {entry.parent !== null && <p className="muted small">Edited from draft #{entry.parent}</p>}
      <DraftPreviewPanel
        preview={preview}
        decided={entry.denied || entry.run !== null}
        onApprove={() => approveDraft(draft)}
        onDeny={() => denyDraft(draft)}
        onEdit={(query) => editDraft(draft, preview.source, query)}
      />
      {entry.denied && (
        <p className="muted" data-testid="draft-denied">
          Denied: nothing ran.
        </p>
      )}
      <ErrorBox error={entry.actionError} testId="draft-action-error" />
      <RunSection entry={entry} />
      {edits.map((id) => (
        <DraftCard key={id} draft={id} />
      ))}
    </article>
  );
}
