//! The lock screen: while the profile is locked it is all the app shows. The owner's passphrase or the viewer's
//! PIN unlocks it.
import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import * as client from '../api/client';
import { ErrorBox } from '../components/ErrorBox';

export function LockScreen() {
  const queryClient = useQueryClient();
  const [secret, setSecret] = useState('');
  const unlock = useMutation({
    mutationFn: (value: string) => client.unlock(value),
    onSuccess: (state) => {
      setSecret('');
      queryClient.setQueryData(['access'], state);
      void queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'access' });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (secret) unlock.mutate(secret);
  };
  return (
    <div className="lock-screen" data-testid="lock-screen">
      <form className="card lock-card" onSubmit={submit}>
        <h1>PolyStoreIQ</h1>
        <p className="muted">This profile is locked. Enter the owner passphrase or the viewer PIN.</p>
        <input
          type="password"
          autoFocus
          autoComplete="current-password"
          placeholder="Passphrase or PIN"
          data-testid="unlock-secret"
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
        />
        <button type="submit" className="primary" data-testid="unlock-submit" disabled={!secret || unlock.isPending}>
          {unlock.isPending ? 'Unlocking…' : 'Unlock'}
        </button>
        <ErrorBox error={unlock.error} testId="unlock-error" />
      </form>
    </div>
  );
}
