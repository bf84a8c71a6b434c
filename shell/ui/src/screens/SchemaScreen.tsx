//! The schema explorer: a source's tables, columns, types, keys and indexes, how fresh the snapshot is, and a
//! refresh that reads it from the source again.
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import * as client from '../api/client';
import type { SchemaSnapshot, TableInfo } from '../api/types';
import { DataTable } from '../components/DataTable';
import { ErrorBox } from '../components/ErrorBox';
import { formatMs, formatTime } from '../lib/format';

function CacheLine({ snapshot }: { snapshot: SchemaSnapshot }) {
  const cache = snapshot.cache;
  return (
    <p className="muted" data-testid="schema-cache">
      fetched {formatTime(snapshot.fetched_at_ms)}
      {cache && (
        <>
          {' · '}
          {cache.cached ? 'from cache' : 'read fresh'}, age {formatMs(cache.age_ms)}
          {cache.ttl_ms !== null ? `, refreshed after ${formatMs(cache.ttl_ms)}` : ', re-read when a file changes'}
        </>
      )}
    </p>
  );
}

function TableView({ table }: { table: TableInfo }) {
  const pk = new Set(table.primary_key ?? []);
  const fkColumns = new Map<string, string>();
  for (const fk of table.foreign_keys ?? []) {
    fk.columns.forEach((c, i) => fkColumns.set(c, `${fk.ref_table}.${fk.ref_columns[i] ?? '?'}`));
  }
  return (
    <details className="card schema-table" data-testid={`schema-table-${table.name}`} open>
      <summary>
        <strong>{table.name}</strong> <span className="badge">{table.kind}</span>{' '}
        <span className="muted small">
          {table.row_count !== null ? `${table.row_count.toLocaleString('en-US')} rows` : 'rows unknown'} ·{' '}
          {table.columns.length} columns
        </span>
        {table.comment && <span className="muted small"> · {table.comment}</span>}
      </summary>
      <DataTable
        columns={['column', 'type', 'logical', 'null', 'key', 'notes']}
        items={table.columns}
        row={(c) => (
          <tr key={c.name}>
            <td>
              <code>{c.name}</code>
            </td>
            <td>{c.db_type}</td>
            <td className="muted">{c.logical}</td>
            <td>{c.nullable ? 'yes' : 'no'}</td>
            <td>
              {pk.has(c.name) && <span className="badge ok">PK</span>}
              {fkColumns.has(c.name) && <span className="badge">→ {fkColumns.get(c.name)}</span>}
            </td>
            <td className="small">
              {c.comment}
              {c.sample && (
                <span className="muted">
                  {' '}
                  in {c.sample.present}/{c.sample.documents} sampled docs
                  {c.sample.types.length > 0 && ` (${c.sample.types.map((t) => `${t.type_name}×${t.count}`).join(', ')})`}
                </span>
              )}
            </td>
          </tr>
        )}
      />
      {(table.indexes?.length ?? 0) > 0 && (
        <p className="small">
          Indexes:{' '}
          {table.indexes!.map((ix) => (
            <span key={ix.name} className="badge">
              {ix.name} ({ix.columns.join(', ')}){ix.unique ? ' unique' : ''}
            </span>
          ))}
        </p>
      )}
    </details>
  );
}

export function SchemaScreen() {
  const queryClient = useQueryClient();
  const sources = useQuery({ queryKey: ['sources'], queryFn: client.sources });
  const [name, setName] = useState<string>('');
  useEffect(() => {
    if (!name && sources.data?.length) setName(sources.data[0].name);
  }, [name, sources.data]);
  const snapshot = useQuery({
    queryKey: ['schema', name],
    queryFn: () => client.schema(name, false),
    enabled: name !== '',
  });
  const refresh = useMutation({
    mutationFn: () => client.schema(name, true),
    onSuccess: (s) => queryClient.setQueryData(['schema', name], s),
  });
  const [filter, setFilter] = useState('');
  const tables = (snapshot.data?.tables ?? []).filter(
    (t) => !filter || t.name.toLowerCase().includes(filter.toLowerCase()),
  );

  return (
    <div className="screen">
      <header className="screen-head">
        <h1>Schema</h1>
        <select data-testid="schema-source" value={name} onChange={(e) => setName(e.target.value)}>
          {sources.data?.map((s) => (
            <option key={s.id} value={s.name}>
              {s.name} ({s.kind})
            </option>
          ))}
        </select>
        <input
          data-testid="schema-filter"
          placeholder="Filter tables"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        <button
          type="button"
          data-testid="schema-refresh"
          disabled={!name || refresh.isPending}
          onClick={() => refresh.mutate()}
        >
          {refresh.isPending ? 'Refreshing…' : 'Refresh'}
        </button>
      </header>
      {sources.data?.length === 0 && <p className="muted">No sources yet.</p>}
      <ErrorBox error={snapshot.error ?? refresh.error ?? sources.error} testId="schema-error" />
      {snapshot.isFetching && !snapshot.data && <p className="muted">Reading the schema…</p>}
      {snapshot.data && <CacheLine snapshot={snapshot.data} />}
      <div data-testid="schema-tables">
        {tables.map((t) => (
          <TableView key={t.name} table={t} />
        ))}
        {snapshot.data && snapshot.data.tables.length === 0 && <p className="muted">No tables.</p>}
      </div>
    </div>
  );
}
