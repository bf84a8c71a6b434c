//! What the user decides on before anything runs: the drafted query, who drafted it and why, the guardrail's
//! verdict, the dry run, the repaired attempts, and Approve / Deny / Edit. Approve needs the draft's token.
import { useState } from 'react';
import type { DraftPreview } from '../api/types';
import { tryAction } from '../lib/action';
import { formatMs } from '../lib/format';
import { ErrorBox } from './ErrorBox';
import { QueryText } from './QueryText';

export interface DraftPreviewPanelProps {
  preview: DraftPreview;
  /** True once a run started or the draft was denied: the decision is made. */
  decided?: boolean;
  onApprove: () => void;
  onDeny: () => void;
  /** Re-drafts an edited query (the broker validates it again); rejects with a typed error. */
  onEdit: (query: string) => Promise<unknown>;
}

export function DraftPreviewPanel({ preview, decided = false, onApprove, onDeny, onEdit }: DraftPreviewPanelProps) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(preview.query);
  const [editError, setEditError] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);
  const { verdict, check, attempts } = preview;

  const submitEdit = () =>
    tryAction(
      async () => {
        await onEdit(text);
        setEditing(false);
      },
      setEditError,
      setSubmitting,
    );

  return (
    <div className="draft-preview" data-testid="draft-preview" data-draft={preview.draft}>
      <div className="meta-line">
        <span className="badge">draft #{preview.draft}</span>
        <span className="badge">{preview.source}</span>
        <span className="badge">{preview.engine}</span>
        <span className="muted">
          drafted by <strong data-testid="draft-provider">{preview.provider}</strong>
        </span>
      </div>
      <QueryText query={preview.query} />
      {preview.explanation && (
        <p className="explanation" data-testid="draft-explanation">
          {preview.explanation}
        </p>
      )}
      <dl className="facts">
        <dt>Guardrail</dt>
        <dd data-testid="draft-verdict" data-allowed={verdict.allowed}>
          <span className={`badge ${verdict.allowed ? 'ok' : 'bad'}`}>{verdict.allowed ? 'allowed' : 'refused'}</span>{' '}
          <code data-testid="draft-verdict-code">{verdict.code}</code> {verdict.reason}
        </dd>
        <dt>Dry run</dt>
        <dd data-testid="draft-check" data-outcome={check?.outcome ?? 'none'}>
          {check ? (
            <>
              <span
                className={`badge ${check.outcome === 'passed' ? 'ok' : check.outcome === 'failed' ? 'bad' : 'warn'}`}
              >
                {check.outcome}
              </span>{' '}
              <span className="muted">{formatMs(check.elapsed_ms)}</span> {check.message}
            </>
          ) : (
            <span className="muted">not tried (the guardrail refused the query)</span>
          )}
        </dd>
        {attempts.length > 0 && (
          <>
            <dt>Repairs</dt>
            <dd>
              <ol className="attempts" data-testid="draft-attempts">
                {attempts.map((attempt, i) => (
                  <li key={i} data-testid="draft-attempt">
                    <span className="muted">
                      attempt {i + 1} by {attempt.provider}, set aside:
                    </span>{' '}
                    <code>{attempt.error.code}</code> {attempt.error.message}
                    <QueryText query={attempt.query} testId="draft-attempt-query" />
                  </li>
                ))}
              </ol>
            </dd>
          </>
        )}
      </dl>
      {!preview.token && (
        <p className="muted small" data-testid="draft-no-token">
          No run token: this draft cannot be approved as it stands. Edit it, or ask again.
        </p>
      )}
      {preview.token && !decided && (
        <p className="muted small">Approval is valid for {formatMs(preview.token_expires_in_ms)}.</p>
      )}
      <div className="actions">
        <button
          type="button"
          className="primary"
          data-testid="draft-approve"
          disabled={!preview.token || decided}
          onClick={onApprove}
        >
          Approve &amp; run
        </button>
        <button type="button" data-testid="draft-deny" disabled={decided} onClick={onDeny}>
          Deny
        </button>
        <button
          type="button"
          data-testid="draft-edit"
          disabled={editing}
          onClick={() => {
            setText(preview.query);
            setEditing(true);
          }}
        >
          Edit
        </button>
      </div>
      {editing && (
        <div className="edit-box">
          <textarea
            data-testid="draft-edit-text"
            value={text}
            rows={Math.min(16, Math.max(4, text.split('\n').length + 1))}
            spellCheck={false}
            onChange={(e) => setText(e.target.value)}
          />
          <div className="actions">
            <button
              type="button"
              className="primary"
              data-testid="draft-edit-submit"
              disabled={submitting || !text.trim()}
              onClick={submitEdit}
            >
              {submitting ? 'Checking…' : 'Check edited query'}
            </button>
            <button type="button" data-testid="draft-edit-cancel" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
          <ErrorBox error={editError} testId="draft-edit-error" />
        </div>
      )}
    </div>
  );
}
