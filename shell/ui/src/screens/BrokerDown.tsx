//! Shown when the shell cannot reach the profile's broker: what it said, and a restart button.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import * as client from '../api/client';
import { ErrorBox } from '../components/ErrorBox';

export function BrokerDown({ error }: { error: unknown }) {
  const queryClient = useQueryClient();
  const status = useQuery({ queryKey: ['broker-status'], queryFn: client.brokerStatus, retry: false });
  const restart = useMutation({
    mutationFn: client.brokerRestart,
    onSuccess: (s) => {
      queryClient.setQueryData(['broker-status'], s);
      void queryClient.invalidateQueries();
    },
  });
  return (
    <div className="lock-screen" data-testid="broker-down">
      <div className="card lock-card">
        <h1>The broker is not answering</h1>
        <ErrorBox error={error} testId="broker-error" />
        {status.data && (
          <p className="muted" data-testid="broker-status">
            {status.data.running ? 'running' : 'not running'} · home <code>{status.data.home}</code>
            {status.data.error ? ` · ${status.data.error}` : ''}
          </p>
        )}
        <button
          type="button"
          className="primary"
          data-testid="broker-restart"
          disabled={restart.isPending}
          onClick={() => restart.mutate()}
        >
          {restart.isPending ? 'Restarting…' : 'Restart the broker'}
        </button>
        <ErrorBox error={restart.error} testId="broker-restart-error" />
      </div>
    </div>
  );
}
