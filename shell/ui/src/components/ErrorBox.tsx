//! A typed error as the user sees it: its stable code, its message, and when to retry if the broker said.
import { TypedError } from '../api/client';
import { formatMs } from '../lib/format';

export function ErrorBox({ error, testId = 'error' }: { error: unknown; testId?: string }) {
  if (!error) return null;
  const typed = TypedError.from(error);
  return (
    <div className={`error-box code-${typed.code}`} role="alert" data-testid={testId} data-code={typed.code}>
      <span className="error-code">{typed.code}</span>
      <span className="error-message">{typed.message}</span>
      {typed.retryAfterMs !== null && (
        <span className="error-retry">retry in {formatMs(typed.retryAfterMs)}</span>
      )}
    </div>
  );
}
