//! Settings: who is acting and how the profile locks, the broker the app talks to, and the model provider note.
//! The shell has no settings command yet, so the provider is configured with `psiq settings`.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import * as client from '../api/client';
import { ErrorBox } from '../components/ErrorBox';
import { resetChat } from '../state/chatStore';

export function SettingsScreen() {
  const queryClient = useQueryClient();
  const access = useQuery({ queryKey: ['access'], queryFn: client.access });
  const broker = useQuery({ queryKey: ['broker-status'], queryFn: client.brokerStatus });
  const lock = useMutation({
    mutationFn: client.lock,
    onSuccess: (state) => {
      resetChat();
      queryClient.setQueryData(['access'], state);
    },
  });
  const restart = useMutation({
    mutationFn: client.brokerRestart,
    onSuccess: (s) => queryClient.setQueryData(['broker-status'], s),
  });
  const a = access.data;

  return (
    <div className="screen">
      <header className="screen-head">
        <h1>Settings</h1>
      </header>
      <section className="card">
        <h2>Access</h2>
        {a && (
          <p data-testid="settings-access">
            Acting as <strong>{a.role}</strong>. Owner passphrase {a.owner_lock ? 'set' : 'not set'}; viewer PIN{' '}
            {a.viewer_lock ? 'set' : 'not set'}.
          </p>
        )}
        {a && !a.owner_lock && (
          <p className="muted small">
            Without an owner passphrase the profile never locks. Set one with <code>psiq lock set-owner</code>.
          </p>
        )}
        <button
          type="button"
          data-testid="settings-lock"
          disabled={lock.isPending || !a?.owner_lock}
          onClick={() => lock.mutate()}
        >
          Lock now
        </button>
        <ErrorBox error={access.error ?? lock.error} testId="settings-access-error" />
      </section>
      <section className="card">
        <h2>Broker</h2>
        {broker.data && (
          <p data-testid="settings-broker">
            {broker.data.running ? 'Running' : 'Not running'} · profile home <code>{broker.data.home}</code>
            {broker.data.error && <span className="error-text"> · {broker.data.error}</span>}
          </p>
        )}
        <button type="button" data-testid="broker-restart" disabled={restart.isPending} onClick={() => restart.mutate()}>
          {restart.isPending ? 'Restarting…' : 'Restart the broker'}
        </button>
        <ErrorBox error={broker.error ?? restart.error} testId="settings-broker-error" />
      </section>
      <section className="card">
        <h2>Model provider</h2>
        <p data-testid="settings-llm-note">
          Queries are drafted by the provider configured for this profile (the built-in offline planner unless one is
          set). Each draft shows which provider wrote it. To see or change the provider, model and endpoint, use{' '}
          <code>psiq settings</code> and <code>psiq settings llm</code> in a terminal; API keys go to the OS keyring.
        </p>
      </section>
    </div>
  );
}
