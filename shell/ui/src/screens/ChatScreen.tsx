//! Chat: sessions on the left; the thread of questions, drafts, runs and results; and the composer that asks a
//! question of one source. Nothing runs until the user approves a draft.
import { useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import * as client from '../api/client';
import { TypedError } from '../api/client';
import type { ChatMessage, SessionId } from '../api/types';
import { DraftCard } from '../components/DraftCard';
import { ErrorBox } from '../components/ErrorBox';
import { formatTime } from '../lib/format';
import { askQuestion, selectSession, selectSource, useChat, type LocalAsk } from '../state/chatStore';

function SessionList() {
  const queryClient = useQueryClient();
  const selected = useChat((s) => s.selectedSession);
  const sessions = useQuery({ queryKey: ['sessions'], queryFn: client.sessions });
  const [title, setTitle] = useState('');
  const [error, setError] = useState<unknown>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const session = await client.sessionCreate(title.trim() || 'New session');
      setTitle('');
      selectSession(session.id);
      await queryClient.invalidateQueries({ queryKey: ['sessions'] });
    } catch (raw) {
      setError(raw);
    }
  };

  // The title box names a new session, or gives the selected one a new title.
  const rename = async () => {
    if (selected === null || !title.trim()) return;
    setError(null);
    try {
      await client.sessionRename(selected, title.trim());
      setTitle('');
      await queryClient.invalidateQueries({ queryKey: ['sessions'] });
    } catch (raw) {
      setError(raw);
    }
  };

  const list = [...(sessions.data ?? [])].sort((a, b) => b.created_at_ms - a.created_at_ms);
  return (
    <aside className="session-pane">
      <form className="new-session" onSubmit={create}>
        <input
          data-testid="session-new-title"
          placeholder="Session title"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
        />
        <button type="submit" data-testid="session-new">
          New
        </button>
        <button
          type="button"
          data-testid="session-rename"
          disabled={selected === null || !title.trim()}
          title="Give the selected session this title"
          onClick={() => void rename()}
        >
          Rename
        </button>
      </form>
      <ErrorBox error={error ?? sessions.error} testId="session-error" />
      <ul className="session-list" data-testid="session-list">
        {list.map((s) => (
          <li key={s.id}>
            <button
              type="button"
              data-testid={`session-${s.id}`}
              className={s.id === selected ? 'active' : undefined}
              onClick={() => selectSession(s.id)}
            >
              <span className="session-title">{s.title}</span>
              <span className="muted small">{formatTime(s.created_at_ms)}</span>
            </button>
          </li>
        ))}
        {sessions.data?.length === 0 && <li className="muted small">No sessions yet.</li>}
      </ul>
    </aside>
  );
}

function MessageBubble({ message, hasDraft }: { message: ChatMessage; hasDraft: boolean }) {
  // An assistant message whose draft this window holds is shown as the draft card itself.
  if (hasDraft && message.role !== 'user') return null;
  return (
    <div className={`bubble ${message.role === 'user' ? 'user' : 'assistant'}`} data-testid={`message-${message.role}`}>
      <p>{message.content}</p>
      {message.draft !== null && <p className="muted small">draft #{message.draft}</p>}
    </div>
  );
}

function AskItem({ ask }: { ask: LocalAsk }) {
  return (
    <>
      <div className="bubble user" data-testid="message-user">
        <p>{ask.question}</p>
      </div>
      {ask.draft === null && ask.error === null && (
        <p className="muted" data-testid="ask-pending">
          Drafting a query for {ask.source}…
        </p>
      )}
      {ask.error && <ErrorBox error={ask.error} testId="ask-error" />}
      {ask.draft !== null && <DraftCard draft={ask.draft} />}
    </>
  );
}

function Thread({ session }: { session: SessionId | null }) {
  const drafts = useChat((s) => s.drafts);
  const asks = useChat((s) => s.asks);
  const messages = useQuery({
    queryKey: ['messages', session],
    queryFn: () => client.sessionMessages(session as SessionId),
    enabled: session !== null,
  });
  const serverMessages = useMemo(() => [...(messages.data ?? [])].sort((a, b) => a.seq - b.seq), [messages.data]);
  const referenced = new Set(serverMessages.map((m) => m.draft).filter((d): d is number => d !== null));
  const local = asks.filter((a) => a.session === session && !(a.draft !== null && referenced.has(a.draft)));
  const shown = new Set<number>();
  const endRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    endRef.current?.scrollIntoView?.({ block: 'end' });
  }, [serverMessages.length, local.length]);

  return (
    <div className="thread" data-testid="chat-thread">
      {session === null && local.length === 0 && (
        <p className="muted">Ask a question about a source below; a session is started for it.</p>
      )}
      <ErrorBox error={messages.error} testId="messages-error" />
      {serverMessages.map((m) => {
        const hasDraft = m.draft !== null && drafts[m.draft] !== undefined && !shown.has(m.draft);
        if (hasDraft) shown.add(m.draft as number);
        return (
          <div key={`m${m.seq}`} className="thread-item">
            <MessageBubble message={m} hasDraft={hasDraft} />
            {hasDraft && <DraftCard draft={m.draft as number} />}
          </div>
        );
      })}
      {local.map((a) => (
        <div key={`a${a.id}`} className="thread-item">
          <AskItem ask={a} />
        </div>
      ))}
      <div ref={endRef} />
    </div>
  );
}

function Composer({ session }: { session: SessionId | null }) {
  const queryClient = useQueryClient();
  const sources = useQuery({ queryKey: ['sources'], queryFn: client.sources });
  const selectedSource = useChat((s) => s.selectedSource);
  const [question, setQuestion] = useState('');
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const usable = (sources.data ?? []).filter((s) => s.status !== 'DISABLED');
  const source = selectedSource && usable.some((s) => s.name === selectedSource) ? selectedSource : usable[0]?.name ?? '';

  const send = async () => {
    const text = question.trim();
    if (!text || !source || sending) return;
    setSending(true);
    setError(null);
    try {
      let target = session;
      if (target === null) {
        const created = await client.sessionCreate(text.length > 60 ? `${text.slice(0, 57)}…` : text);
        target = created.id;
        selectSession(target);
        void queryClient.invalidateQueries({ queryKey: ['sessions'] });
      }
      setQuestion('');
      const result = await askQuestion(source, text, target);
      void queryClient.invalidateQueries({ queryKey: ['messages', target] });
      if (result instanceof TypedError && result.code === 'locked') setQuestion(text);
    } catch (raw) {
      setError(raw);
    } finally {
      setSending(false);
    }
  };

  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void send();
    }
  };

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <select
        data-testid="composer-source"
        value={source}
        onChange={(e) => selectSource(e.target.value)}
        aria-label="Source"
      >
        {usable.length === 0 && <option value="">no enabled source</option>}
        {usable.map((s) => (
          <option key={s.id} value={s.name}>
            {s.name} ({s.kind})
          </option>
        ))}
      </select>
      <textarea
        data-testid="composer-question"
        rows={2}
        placeholder="Ask a question about your data (Ctrl+Enter to send)"
        value={question}
        onChange={(e) => setQuestion(e.target.value)}
        onKeyDown={onKey}
      />
      <button
        type="submit"
        className="primary"
        data-testid="composer-send"
        disabled={!question.trim() || !source || sending}
      >
        {sending ? 'Drafting…' : 'Ask'}
      </button>
      <ErrorBox error={error} testId="composer-error" />
    </form>
  );
}

export function ChatScreen() {
  const session = useChat((s) => s.selectedSession);
  return (
    <div className="chat-layout">
      <SessionList />
      <div className="chat-main">
        <Thread session={session} />
        <Composer session={session} />
      </div>
    </div>
  );
}
