//! Sources: each with its status, capabilities, breaker and (for a database) whether its role can write; test,
//! enable/disable and remove; and the form that adds files or a database server.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { open } from '@tauri-apps/plugin-dialog';
import * as client from '../api/client';
import type { DatabaseKind, SourceInfo, SourceKind, SourceTestReport, TlsMode } from '../api/types';
import { ErrorBox } from '../components/ErrorBox';
import { formatMs, formatTime } from '../lib/format';

const DEFAULT_PORT: Record<DatabaseKind, number> = { postgres: 5432, mysql: 3306, mongodb: 27017 };
const FILE_EXTENSIONS = ['csv', 'tsv', 'json', 'jsonl', 'ndjson', 'parquet', 'pq'];

function StatusBadge({ source }: { source: SourceInfo }) {
  const cls = source.status === 'CONNECTED' ? 'ok' : source.status === 'FAILED' ? 'bad' : 'muted-badge';
  return (
    <span className={`badge ${cls}`} data-testid={`source-status-${source.name}`}>
      {source.status}
    </span>
  );
}

function SourceCard({ source }: { source: SourceInfo }) {
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [report, setReport] = useState<SourceTestReport | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['sources'] });
  const test = useMutation({
    mutationFn: () => client.sourceTest(source.name),
    onSuccess: (r) => {
      setReport(r);
      void refresh();
    },
  });
  const toggle = useMutation({
    mutationFn: () => client.sourceSetEnabled(source.name, source.status === 'DISABLED'),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: () => client.sourceRemove(source.name), onSuccess: refresh });
  const caps = source.capabilities;
  const disabled = source.status === 'DISABLED';

  return (
    <article className="card source-card" data-testid={`source-${source.name}`} data-kind={source.kind}>
      <header className="card-head">
        <h3>{source.name}</h3>
        <span className="badge">{source.kind}</span>
        <StatusBadge source={source} />
        {source.breaker.state !== 'closed' && (
          <span className="badge warn" data-testid={`source-breaker-${source.name}`}>
            breaker {source.breaker.state.replace('_', '-')}
          </span>
        )}
      </header>
      <div className="badges" data-testid={`source-caps-${source.name}`}>
        <span className={`badge ${caps.sql ? 'cap-on' : 'cap-off'}`}>{caps.sql ? 'SQL' : 'no SQL'}</span>
        <span className={`badge ${caps.server_side_cancel ? 'cap-on' : 'cap-off'}`}>
          {caps.server_side_cancel ? 'server-side cancel' : 'no server-side cancel'}
        </span>
        <span className={`badge ${caps.schema_refresh ? 'cap-on' : 'cap-off'}`}>
          {caps.schema_refresh ? 'schema refresh' : 'no schema refresh'}
        </span>
      </div>
      {source.can_write === true && (
        <p className="warning" data-testid={`source-can-write-${source.name}`}>
          ⚠ This source's role can write. A read-only role is recommended.
        </p>
      )}
      {source.target && (
        <p className="muted small">
          {source.target.user}@{source.target.host}:{source.target.port}/{source.target.database} · TLS{' '}
          {source.target.tls}
        </p>
      )}
      {source.files.length > 0 && (
        <ul className="file-list">
          {source.files.map((f) => (
            <li key={f.table}>
              <code>{f.table}</code> <span className="muted small">{f.kind}, {f.storage.replace('_', ' ')} ·</span>{' '}
              <span className="small">{f.pattern}</span>
            </li>
          ))}
        </ul>
      )}
      {source.last_error && (
        <p className="error-text small" data-testid={`source-last-error-${source.name}`}>
          {source.last_error}
        </p>
      )}
      {source.breaker.last_failure && <p className="muted small">Last connection failure: {source.breaker.last_failure}</p>}
      <p className="muted small">added {formatTime(source.created_at_ms)}</p>
      <div className="actions">
        <button type="button" data-testid={`source-test-${source.name}`} disabled={test.isPending} onClick={() => test.mutate()}>
          {test.isPending ? 'Testing…' : 'Test'}
        </button>
        <button
          type="button"
          data-testid={`source-toggle-${source.name}`}
          disabled={toggle.isPending}
          onClick={() => toggle.mutate()}
        >
          {disabled ? 'Enable' : 'Disable'}
        </button>
        {!confirming ? (
          <button type="button" className="danger" data-testid={`source-remove-${source.name}`} onClick={() => setConfirming(true)}>
            Remove
          </button>
        ) : (
          <>
            <button
              type="button"
              className="danger"
              data-testid={`source-remove-confirm-${source.name}`}
              disabled={remove.isPending}
              onClick={() => remove.mutate()}
            >
              Remove {source.name} for good
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        )}
      </div>
      {report && (
        <p className={report.ok ? 'ok-text small' : 'error-text small'} data-testid={`source-test-result-${source.name}`}>
          {report.ok ? 'OK' : 'Failed'} ({report.status}, {formatMs(report.elapsed_ms)}): {report.message}
        </p>
      )}
      <ErrorBox error={test.error ?? toggle.error ?? remove.error} testId={`source-error-${source.name}`} />
    </article>
  );
}

function AddSourceForm() {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<SourceKind>('files');
  const [paths, setPaths] = useState('');
  const [host, setHost] = useState('127.0.0.1');
  const [port, setPort] = useState(String(DEFAULT_PORT.postgres));
  const [database, setDatabase] = useState('');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [tls, setTls] = useState<TlsMode>('prefer');
  const [pickError, setPickError] = useState<unknown>(null);

  const add = useMutation({
    mutationFn: (): Promise<SourceInfo> => {
      if (kind === 'files') {
        const list = paths
          .split(/\r?\n/)
          .map((p) => p.trim())
          .filter(Boolean);
        return client.sourceAddFiles(name.trim(), list);
      }
      return client.sourceAddDatabase({
        name: name.trim(),
        kind,
        host: host.trim(),
        port: Number(port),
        database: database.trim(),
        user: user.trim(),
        password: password === '' ? null : password,
        tls,
      });
    },
    onSuccess: () => {
      setName('');
      setPaths('');
      setPassword('');
      void queryClient.invalidateQueries({ queryKey: ['sources'] });
    },
  });

  const pick = async () => {
    setPickError(null);
    try {
      const chosen = await open({
        multiple: true,
        directory: false,
        title: 'Choose data files',
        filters: [{ name: 'Data files', extensions: FILE_EXTENSIONS }],
      });
      if (!chosen) return;
      const list = Array.isArray(chosen) ? chosen : [chosen];
      setPaths((current) => [...current.split(/\r?\n/).filter((l) => l.trim()), ...list].join('\n'));
    } catch (raw) {
      setPickError(raw);
    }
  };

  const changeKind = (next: SourceKind) => {
    setKind(next);
    if (next !== 'files') setPort(String(DEFAULT_PORT[next]));
  };

  const ready =
    name.trim() !== '' &&
    (kind === 'files'
      ? paths.trim() !== ''
      : host.trim() !== '' && Number.isInteger(Number(port)) && Number(port) > 0 && Number(port) < 65536);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (ready) add.mutate();
  };

  return (
    <form className="card add-source" onSubmit={submit} data-testid="source-add-form">
      <h2>Add a source</h2>
      <div className="form-grid">
        <label>
          Name
          <input data-testid="source-add-name" value={name} placeholder="sales" onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Kind
          <select data-testid="source-add-kind" value={kind} onChange={(e) => changeKind(e.target.value as SourceKind)}>
            <option value="files">Files (CSV, JSON, Parquet)</option>
            <option value="postgres">PostgreSQL</option>
            <option value="mysql">MySQL / MariaDB</option>
            <option value="mongodb">MongoDB</option>
          </select>
        </label>
      </div>
      {kind === 'files' ? (
        <div className="files-input">
          <div className="actions">
            <button type="button" data-testid="source-add-pick" onClick={pick}>
              Choose files…
            </button>
            <span className="muted small">or type paths or globs, one per line</span>
          </div>
          <textarea
            data-testid="source-add-paths"
            rows={4}
            spellCheck={false}
            placeholder={'/data/orders.csv\n/data/events/*.parquet'}
            value={paths}
            onChange={(e) => setPaths(e.target.value)}
          />
          <ErrorBox error={pickError} testId="source-add-pick-error" />
        </div>
      ) : (
        <div className="form-grid">
          <label>
            Host
            <input data-testid="source-add-host" value={host} onChange={(e) => setHost(e.target.value)} />
          </label>
          <label>
            Port
            <input
              data-testid="source-add-port"
              inputMode="numeric"
              value={port}
              onChange={(e) => setPort(e.target.value.replace(/[^0-9]/g, ''))}
            />
          </label>
          <label>
            Database
            <input data-testid="source-add-database" value={database} onChange={(e) => setDatabase(e.target.value)} />
          </label>
          <label>
            User
            <input data-testid="source-add-user" value={user} autoComplete="off" onChange={(e) => setUser(e.target.value)} />
          </label>
          <label>
            Password
            <input
              type="password"
              data-testid="source-add-password"
              value={password}
              autoComplete="new-password"
              placeholder="(none)"
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          <label>
            TLS
            <select data-testid="source-add-tls" value={tls} onChange={(e) => setTls(e.target.value as TlsMode)}>
              <option value="disable">disable</option>
              <option value="prefer">prefer</option>
              <option value="require">require</option>
              <option value="verify_full">verify-full</option>
            </select>
          </label>
        </div>
      )}
      <p className="muted small">
        {kind === 'files'
          ? 'Each file becomes a table named after it.'
          : 'The password goes to the OS keyring, never to the app. A read-only role is recommended.'}
      </p>
      <div className="actions">
        <button type="submit" className="primary" data-testid="source-add-submit" disabled={!ready || add.isPending}>
          {add.isPending ? 'Adding…' : 'Add source'}
        </button>
      </div>
      {add.data && !add.isPending && (
        <p className="ok-text small" data-testid="source-add-result">
          Added {add.data.name} ({add.data.status}).
        </p>
      )}
      <ErrorBox error={add.error} testId="source-add-error" />
    </form>
  );
}

export function SourcesScreen() {
  const list = useQuery({ queryKey: ['sources'], queryFn: client.sources });
  return (
    <div className="screen">
      <header className="screen-head">
        <h1>Sources</h1>
        <button type="button" data-testid="sources-refresh" onClick={() => list.refetch()}>
          Refresh
        </button>
      </header>
      <ErrorBox error={list.error} testId="sources-error" />
      <div className="source-list" data-testid="source-list">
        {list.data?.length === 0 && <p className="muted">No sources yet: add files or a database below.</p>}
        {list.data?.map((source) => <SourceCard key={source.id} source={source} />)}
      </div>
      <AddSourceForm />
    </div>
  );
}
