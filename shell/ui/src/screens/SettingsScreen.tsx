//! Settings: the model provider (with a connection test), the limits (row limit, timeouts, concurrency, audit
//! retention), the lock (owner passphrase, viewer PIN, lock now) and the broker the app talks to. Changes are
//! owner-only; the broker checks every value and each form shows its typed error.
import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import * as client from '../api/client';
import type { AccessState, Limits, LimitsChange, LlmProvider, Role, Settings } from '../api/types';
import { ErrorBox } from '../components/ErrorBox';
import { resetChat } from '../state/chatStore';

const PROVIDERS: { value: LlmProvider; label: string }[] = [
  { value: 'offline', label: 'Built-in offline planner (no model, no network)' },
  { value: 'openai', label: 'OpenAI-compatible API (OpenAI, llama.cpp, vLLM, LM Studio)' },
  { value: 'anthropic', label: 'Anthropic' },
  { value: 'ollama', label: 'Ollama (local)' },
];

export function SettingsScreen() {
  const queryClient = useQueryClient();
  const access = useQuery({ queryKey: ['access'], queryFn: client.access });
  const settings = useQuery({ queryKey: ['settings'], queryFn: client.settings });
  const owner = access.data?.role === 'owner';
  const onSettings = (s: Settings) => queryClient.setQueryData(['settings'], s);
  const onAccess = (a: AccessState) => queryClient.setQueryData(['access'], a);

  return (
    <div className="screen">
      <header className="screen-head">
        <h1>Settings</h1>
      </header>
      {access.data && !owner && (
        <p className="muted" data-testid="settings-viewer">
          You are signed in as a viewer: settings are shown, and only the owner can change them.
        </p>
      )}
      <ErrorBox error={settings.error} testId="settings-error" />
      {settings.data && <ProviderCard settings={settings.data} owner={owner} onSaved={onSettings} />}
      {settings.data && <LimitsCard settings={settings.data} owner={owner} onSaved={onSettings} />}
      {access.data && <AccessCard access={access.data} owner={owner} onChanged={onAccess} />}
      <BrokerCard />
    </div>
  );
}

function ProviderCard({ settings, owner, onSaved }: { settings: Settings; owner: boolean; onSaved: (s: Settings) => void }) {
  const llm = settings.llm;
  const [provider, setProvider] = useState<LlmProvider>(llm.provider);
  const [model, setModel] = useState(llm.model);
  const [endpoint, setEndpoint] = useState(llm.endpoint);
  const [apiKey, setApiKey] = useState('');
  const [clearApiKey, setClearApiKey] = useState(false);
  useEffect(() => {
    setProvider(llm.provider);
    setModel(llm.model);
    setEndpoint(llm.endpoint);
  }, [llm.provider, llm.model, llm.endpoint]);
  const save = useMutation({
    mutationFn: () =>
      client.setLlm({
        provider,
        // A provider switch starts from that provider's own last (else default) model and endpoint.
        model: provider === llm.provider ? model.trim() : '',
        endpoint: provider === llm.provider ? endpoint.trim() : '',
        apiKey,
        clearApiKey,
      }),
    onSuccess: (s) => {
      setApiKey('');
      setClearApiKey(false);
      onSaved(s);
    },
  });
  const test = useMutation({ mutationFn: client.llmTest });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    test.reset();
    save.mutate();
  };
  const online = provider !== 'offline';
  const switching = provider !== llm.provider;

  return (
    <form className="card form" onSubmit={submit} data-testid="settings-llm">
      <h2>Model provider</h2>
      <p className="muted small" data-testid="settings-llm-current">
        Drafting with <strong>{llm.provider}</strong>
        {llm.provider !== 'offline' && (
          <>
            {' '}
            · {llm.model} at <code>{llm.endpoint}</code> · API key {llm.api_key_set ? 'set (in the OS keyring)' : 'not set'}
          </>
        )}
        . When the provider fails, the offline planner drafts instead and the draft says so.
      </p>
      <label>
        Provider
        <select
          data-testid="llm-provider"
          value={provider}
          disabled={!owner}
          onChange={(e) => setProvider(e.target.value as LlmProvider)}
        >
          {PROVIDERS.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
        </select>
      </label>
      {online && (
        <>
          <ProviderField what="model" value={model} switching={switching} owner={owner} onChange={setModel} />
          <ProviderField what="endpoint" value={endpoint} switching={switching} owner={owner} onChange={setEndpoint} />
          {switching && <p className="muted small">Save to switch; then adjust the model and endpoint.</p>}
          <label>
            API key
            <input
              type="password"
              autoComplete="off"
              data-testid="llm-api-key"
              value={apiKey}
              placeholder={llm.api_key_set && !switching ? 'unchanged (a key is set)' : 'none'}
              disabled={!owner || clearApiKey}
              onChange={(e) => setApiKey(e.target.value)}
            />
          </label>
          <label className="inline">
            <input
              type="checkbox"
              data-testid="llm-clear-key"
              checked={clearApiKey}
              disabled={!owner || apiKey !== ''}
              onChange={(e) => setClearApiKey(e.target.checked)}
            />
            Remove the stored API key
          </label>
        </>
      )}
      <div className="actions">
        <button type="submit" data-testid="llm-save" disabled={!owner || save.isPending}>
          {save.isPending ? 'Saving…' : 'Save'}
        </button>
        <button
          type="button"
          data-testid="llm-test"
          disabled={test.isPending || llm.provider === 'offline'}
          onClick={() => test.mutate()}
        >
          {test.isPending ? 'Testing…' : 'Test the saved provider'}
        </button>
      </div>
      {test.data && (
        <p className="ok-text" data-testid="llm-test-result">
          {test.data.provider} ({test.data.model}) answered in {test.data.elapsed_ms} ms: {test.data.message}
        </p>
      )}
      <ErrorBox error={save.error ?? test.error} testId="llm-error" />
    </form>
  );
}

/** The model or endpoint of the saved provider; empty while switching, when the new provider's own applies. */
function ProviderField(props: {
  what: 'model' | 'endpoint';
  value: string;
  switching: boolean;
  owner: boolean;
  onChange: (value: string) => void;
}) {
  const { what, value, switching, owner, onChange } = props;
  return (
    <label>
      {what === 'model' ? 'Model' : 'Endpoint'}
      <input
        data-testid={`llm-${what}`}
        value={switching ? '' : value}
        placeholder={switching ? `the provider's last or default ${what}` : ''}
        disabled={!owner || switching}
        onChange={(e) => onChange(e.target.value)}
      />
    </label>
  );
}

interface LimitField {
  key: keyof Limits;
  label: string;
  unit: string;
  /** How the field shows a stored value, and back. */
  scale: number;
  help: string;
}

const LIMIT_FIELDS: LimitField[] = [
  { key: 'row_limit', label: 'Row limit', unit: 'rows', scale: 1, help: 'Rows kept per run; a larger result is cut and marked truncated.' },
  { key: 'run_timeout_ms', label: 'Query timeout', unit: 's', scale: 1000, help: "A run's worker is killed after this long." },
  { key: 'check_timeout_ms', label: 'Dry-run timeout', unit: 'ms', scale: 1, help: "A draft's check gives up after this long and says so." },
  { key: 'max_workers', label: 'Workers at once', unit: 'workers', scale: 1, help: 'Queries running at the same time; more wait in line.' },
  { key: 'audit_retention_days', label: 'Audit retention', unit: 'days', scale: 1, help: 'Older audit events are deleted.' },
  { key: 'temp_space_mb', label: 'Temporary space', unit: 'MiB', scale: 1, help: 'Temporary files one query may fill (PostgreSQL temp_file_limit where the role may set it, DuckDB).' },
  { key: 'work_mem_mb', label: 'Sort memory', unit: 'MiB', scale: 1, help: 'Memory one sort or hash may use before it spills (PostgreSQL work_mem).' },
];

type LimitForm = Record<keyof Limits, string>;

function limitForm(limits: Limits): LimitForm {
  const form = {} as LimitForm;
  for (const f of LIMIT_FIELDS) form[f.key] = String(Math.round(limits[f.key] / f.scale));
  return form;
}

/** The fields the user changed, as a LimitsChange; a field that is not a whole number is an error. */
export function limitsChange(form: LimitForm, current: Limits): LimitsChange | string {
  const change: LimitsChange = {
    row_limit: null,
    run_timeout_ms: null,
    check_timeout_ms: null,
    max_workers: null,
    audit_retention_days: null,
    temp_space_mb: null,
    work_mem_mb: null,
  };
  let any = false;
  for (const f of LIMIT_FIELDS) {
    const text = form[f.key].trim();
    if (!/^\d+$/.test(text)) return `${f.label} must be a whole number of ${f.unit}`;
    const value = Number(text) * f.scale;
    if (value !== current[f.key]) {
      change[f.key] = value;
      any = true;
    }
  }
  return any ? change : 'nothing changed';
}

function LimitsCard({ settings, owner, onSaved }: { settings: Settings; owner: boolean; onSaved: (s: Settings) => void }) {
  const [form, setForm] = useState<LimitForm>(() => limitForm(settings.limits));
  const [invalid, setInvalid] = useState<string | null>(null);
  useEffect(() => setForm(limitForm(settings.limits)), [settings.limits]);
  const save = useMutation({ mutationFn: client.setLimits, onSuccess: onSaved });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const change = limitsChange(form, settings.limits);
    if (typeof change === 'string') {
      setInvalid(change);
      return;
    }
    setInvalid(null);
    save.mutate(change);
  };

  return (
    <form className="card form" onSubmit={submit} data-testid="settings-limits">
      <h2>Limits</h2>
      <p className="muted small">Changes apply to the next query; a smaller pool takes effect as running queries finish.</p>
      {LIMIT_FIELDS.map((f) => (
        <label key={f.key} title={f.help}>
          {f.label} ({f.unit})
          <input
            inputMode="numeric"
            data-testid={`limit-${f.key}`}
            value={form[f.key]}
            disabled={!owner}
            onChange={(e) => setForm((old) => ({ ...old, [f.key]: e.target.value }))}
          />
          {settings.env_fixed.includes(f.key) && (
            <span className="muted small" data-testid={`limit-${f.key}-fixed`}>
              {' '}
              set by an environment variable when the broker started; a saved value applies once it is unset
            </span>
          )}
        </label>
      ))}
      <div className="actions">
        <button type="submit" data-testid="limits-save" disabled={!owner || save.isPending}>
          {save.isPending ? 'Saving…' : 'Save limits'}
        </button>
      </div>
      {save.isSuccess && !invalid && <p className="ok-text" data-testid="limits-saved">Saved.</p>}
      {invalid && (
        <p className="error-text" data-testid="limits-invalid">
          {invalid}
        </p>
      )}
      <ErrorBox error={save.error} testId="limits-error" />
    </form>
  );
}

function AccessCard({ access, owner, onChanged }: { access: AccessState; owner: boolean; onChanged: (a: AccessState) => void }) {
  const lock = useMutation({
    mutationFn: client.lock,
    onSuccess: (state) => {
      resetChat();
      onChanged(state);
    },
  });

  return (
    <section className="card">
      <h2>Lock</h2>
      <p data-testid="settings-access">
        Acting as <strong>{access.role}</strong>. Owner passphrase {access.owner_lock ? 'set' : 'not set'}; viewer PIN{' '}
        {access.viewer_lock ? 'set' : 'not set'}.
      </p>
      {!access.owner_lock && (
        <p className="muted small">Without an owner passphrase the profile never locks and anyone at this computer is the owner.</p>
      )}
      {owner && <SecretForm role="owner" isSet={access.owner_lock} onChanged={onChanged} />}
      {owner && access.owner_lock && <SecretForm role="viewer" isSet={access.viewer_lock} onChanged={onChanged} />}
      <button
        type="button"
        data-testid="settings-lock"
        disabled={lock.isPending || !access.owner_lock}
        onClick={() => lock.mutate()}
      >
        Lock now
      </button>
      <ErrorBox error={lock.error} testId="settings-access-error" />
    </section>
  );
}

function SecretForm({ role, isSet, onChanged }: { role: Role; isSet: boolean; onChanged: (a: AccessState) => void }) {
  const [secret, setSecret] = useState('');
  const [again, setAgain] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const change = useMutation({
    mutationFn: (value: string | null) => client.setLock(role, value),
    onSuccess: (state) => {
      setSecret('');
      setAgain('');
      onChanged(state);
    },
  });
  const what = role === 'owner' ? 'owner passphrase' : 'viewer PIN';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setMismatch(secret !== again);
    if (secret !== again || secret === '') return;
    change.mutate(secret);
  };

  return (
    <form className="form inline-form" onSubmit={submit} data-testid={`set-${role}-lock`}>
      <label>
        {isSet ? `New ${what}` : `Set a ${what}`}
        <input type="password" autoComplete="new-password" data-testid={`${role}-secret`} value={secret} onChange={(e) => setSecret(e.target.value)} />
      </label>
      <label>
        Again
        <input type="password" autoComplete="new-password" data-testid={`${role}-secret-again`} value={again} onChange={(e) => setAgain(e.target.value)} />
      </label>
      <button type="submit" data-testid={`${role}-secret-save`} disabled={change.isPending || secret === ''}>
        {isSet ? 'Change' : 'Set'}
      </button>
      {isSet && (
        <button type="button" data-testid={`${role}-secret-remove`} disabled={change.isPending} onClick={() => change.mutate(null)}>
          Remove
        </button>
      )}
      {mismatch && <p className="error-text">The two entries differ.</p>}
      <ErrorBox error={change.error} testId={`${role}-secret-error`} />
    </form>
  );
}

function BrokerCard() {
  const queryClient = useQueryClient();
  const broker = useQuery({ queryKey: ['broker-status'], queryFn: client.brokerStatus });
  const restart = useMutation({
    mutationFn: client.brokerRestart,
    onSuccess: (s) => queryClient.setQueryData(['broker-status'], s),
  });

  return (
    <section className="card">
      <h2>Broker</h2>
      {broker.data && (
        <p data-testid="settings-broker">
          {broker.data.running ? 'Running' : 'Not running'} · profile home <code>{broker.data.home}</code>
          {broker.data.error && <span className="error-text"> · {broker.data.error}</span>}
        </p>
      )}
      <button type="button" data-testid="broker-restart" disabled={restart.isPending} onClick={() => restart.mutate()}>
        {restart.isPending ? 'Starting…' : 'Start the broker if it stopped'}
      </button>
      <ErrorBox error={broker.error ?? restart.error} testId="settings-broker-error" />
    </section>
  );
}
