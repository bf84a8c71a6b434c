//! History: the append-only audit log, narrowed by source, session, time range and action.
import { useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import * as client from '../api/client';
import { AUDIT_ACTIONS, type AuditAction, type AuditEvent, type AuditFilter } from '../api/types';
import { DataTable } from '../components/DataTable';
import { ErrorBox } from '../components/ErrorBox';
import { formatTime } from '../lib/format';

function toMs(local: string): number | null {
  if (!local) return null;
  const ms = new Date(local).getTime();
  return Number.isNaN(ms) ? null : ms;
}

interface Form {
  source: string;
  session: string;
  since: string;
  until: string;
  action: string;
  limit: string;
}

const EMPTY: Form = { source: '', session: '', since: '', until: '', action: '', limit: '200' };

export function formFilter(form: Form): AuditFilter {
  const session = form.session.trim() === '' ? null : Number(form.session);
  const limit = form.limit.trim() === '' ? null : Number(form.limit);
  return {
    source: form.source || null,
    session: session !== null && Number.isInteger(session) ? session : null,
    since_ms: toMs(form.since),
    until_ms: toMs(form.until),
    action: (AUDIT_ACTIONS as readonly string[]).includes(form.action) ? (form.action as AuditAction) : null,
    limit: limit !== null && Number.isInteger(limit) && limit > 0 ? limit : null,
  };
}

export function HistoryScreen() {
  const [form, setForm] = useState<Form>(EMPTY);
  const [filter, setFilter] = useState<AuditFilter>(formFilter(EMPTY));
  const sources = useQuery({ queryKey: ['sources'], queryFn: client.sources });
  const sessions = useQuery({ queryKey: ['sessions'], queryFn: client.sessions });
  const events = useQuery({ queryKey: ['audit', filter], queryFn: () => client.audit(filter) });
  const field = (key: keyof Form) => ({
    value: form[key],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value })),
  });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilter(formFilter(form));
  };

  return (
    <div className="screen">
      <header className="screen-head">
        <h1>History</h1>
      </header>
      <form className="card filters" onSubmit={apply}>
        <label>
          Source
          <select data-testid="audit-source" {...field('source')}>
            <option value="">any</option>
            {sources.data?.map((s) => (
              <option key={s.id} value={s.name}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Session
          <select data-testid="audit-session" {...field('session')}>
            <option value="">any</option>
            {sessions.data?.map((s) => (
              <option key={s.id} value={String(s.id)}>
                #{s.id} {s.title}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" data-testid="audit-since" {...field('since')} />
        </label>
        <label>
          To
          <input type="datetime-local" data-testid="audit-until" {...field('until')} />
        </label>
        <label>
          Action
          <select data-testid="audit-action" {...field('action')}>
            <option value="">any</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          Limit
          <input data-testid="audit-limit" inputMode="numeric" {...field('limit')} />
        </label>
        <div className="actions">
          <button type="submit" className="primary" data-testid="audit-apply">
            Apply
          </button>
          <button
            type="button"
            data-testid="audit-reset"
            onClick={() => {
              setForm(EMPTY);
              setFilter(formFilter(EMPTY));
            }}
          >
            Reset
          </button>
        </div>
      </form>
      <ErrorBox error={events.error} testId="audit-error" />
      <AuditTable events={events.data ?? []} testId="audit-list" />
      {events.data?.length === 0 && <p className="muted">No events match.</p>}
    </div>
  );
}

const AUDIT_COLUMNS = ['#', 'time', 'actor', 'action', 'source', 'session', 'draft', 'run', 'detail'] as const;

export function AuditTable({ events, testId }: { events: AuditEvent[]; testId: string }) {
  return (
    <DataTable
      testId={testId}
      columns={AUDIT_COLUMNS}
      items={events}
      row={(e) => (
        <tr key={e.id} data-testid={`audit-${e.id}`}>
          <td className="muted">{e.id}</td>
          <td className="nowrap">{formatTime(e.at_ms)}</td>
          <td>{e.actor}</td>
          <td>
            <code>{e.action}</code>
          </td>
          <td>{e.source ?? ''}</td>
          <td>{e.session ?? ''}</td>
          <td>{e.draft ?? ''}</td>
          <td>{e.run ?? ''}</td>
          <td className="detail">{e.detail}</td>
        </tr>
      )}
    />
  );
}
