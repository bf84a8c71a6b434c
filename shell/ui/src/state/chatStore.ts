//! The chat's page state: drafts shown in this window, their runs and results, and the chosen session. It lives
//! outside the components so a run keeps streaming (and its result stays) while the user visits another screen.
//! Locking the profile clears it: results never outlive the lock.
import { useSyncExternalStore } from 'react';
import * as client from '../api/client';
import { TypedError } from '../api/client';
import type { DraftId, DraftPreview, RunEvent, RunId, RunView, SessionId } from '../api/types';
import * as timing from '../lib/timing';

export type RunStatus = 'running' | 'finished' | 'cancelled' | 'failed';

export interface RunState {
  status: RunStatus;
  runId: RunId | null;
  pid: number | null;
  queuePosition: number | null;
  rows: number;
  elapsedMs: number;
  cancelRequested: boolean;
  view: RunView | null;
  error: TypedError | null;
}

export interface DraftEntry {
  preview: DraftPreview;
  /** The draft this one edits, if the user edited a query. */
  parent: DraftId | null;
  denied: boolean;
  run: RunState | null;
  /** Why the last deny or cancel failed. */
  actionError: TypedError | null;
}

/** Something this window asked in a session: a question with the draft it produced, or the error it met. */
export interface LocalAsk {
  id: number;
  session: SessionId | null;
  source: string;
  question: string;
  draft: DraftId | null;
  error: TypedError | null;
}

export interface ChatState {
  drafts: Record<DraftId, DraftEntry>;
  asks: LocalAsk[];
  selectedSession: SessionId | null;
  selectedSource: string | null;
}

const initial: ChatState = { drafts: {}, asks: [], selectedSession: null, selectedSource: null };
let state: ChatState = initial;
let nextAskId = 1;
const listeners = new Set<() => void>();

function set(update: (current: ChatState) => ChatState): void {
  state = update(state);
  for (const listener of listeners) listener();
}

function updateDraft(id: DraftId, update: (entry: DraftEntry) => DraftEntry): void {
  set((s) => (s.drafts[id] ? { ...s, drafts: { ...s.drafts, [id]: update(s.drafts[id]) } } : s));
}

function updateRun(id: DraftId, update: (run: RunState) => RunState): void {
  updateDraft(id, (entry) => (entry.run ? { ...entry, run: update(entry.run) } : entry));
}

export function getChatState(): ChatState {
  return state;
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useChat<T>(selector: (s: ChatState) => T): T {
  return useSyncExternalStore(subscribe, () => selector(state), () => selector(state));
}

export function resetChat(): void {
  set(() => initial);
}

export function selectSession(session: SessionId | null): void {
  set((s) => ({ ...s, selectedSession: session }));
}

export function selectSource(source: string | null): void {
  set((s) => ({ ...s, selectedSource: source }));
}

export function addDraft(preview: DraftPreview, parent: DraftId | null = null): void {
  set((s) => ({
    ...s,
    drafts: { ...s.drafts, [preview.draft]: { preview, parent, denied: false, run: null, actionError: null } },
  }));
}

/** Records a question asked from this window and drafts it; answers the draft, or the error it met. */
export async function askQuestion(
  source: string,
  question: string,
  session: SessionId | null,
): Promise<DraftPreview | TypedError> {
  const id = nextAskId++;
  set((s) => ({ ...s, asks: [...s.asks, { id, session, source, question, draft: null, error: null }] }));
  try {
    const preview = await client.ask(source, question, session);
    addDraft(preview);
    set((s) => ({ ...s, asks: s.asks.map((a) => (a.id === id ? { ...a, draft: preview.draft } : a)) }));
    return preview;
  } catch (raw) {
    const error = TypedError.from(raw);
    set((s) => ({ ...s, asks: s.asks.map((a) => (a.id === id ? { ...a, error } : a)) }));
    return error;
  }
}

/** Re-drafts an edited query: the broker validates it again and issues a new token. */
export async function editDraft(parent: DraftId, source: string, query: string): Promise<DraftPreview> {
  const preview = await client.draft(source, query);
  addDraft(preview, parent);
  return preview;
}

export async function denyDraft(id: DraftId): Promise<void> {
  try {
    await client.deny(id);
    updateDraft(id, (entry) => ({ ...entry, denied: true, actionError: null }));
  } catch (raw) {
    updateDraft(id, (entry) => ({ ...entry, actionError: TypedError.from(raw) }));
  }
}

function applyEvent(id: DraftId, event: RunEvent): void {
  if ('Queued' in event) {
    const { run, position } = event.Queued;
    updateRun(id, (r) => ({ ...r, runId: run, queuePosition: position }));
  } else if ('Started' in event) {
    const { run, pid } = event.Started;
    updateRun(id, (r) => ({ ...r, runId: run, pid, queuePosition: null }));
  } else if ('Progress' in event) {
    const { run, rows, elapsed_ms } = event.Progress;
    updateRun(id, (r) => ({ ...r, runId: run, rows, elapsedMs: elapsed_ms, queuePosition: null }));
  }
}

/** Approves a draft: runs it with its token, streaming progress into the draft's run state. */
export async function approveDraft(id: DraftId): Promise<void> {
  const entry = state.drafts[id];
  const token = entry?.preview.token;
  if (!entry || !token || entry.run?.status === 'running') return;
  const approvedAt = timing.approvePressed(id);
  const run: RunState = {
    status: 'running',
    runId: null,
    pid: null,
    queuePosition: null,
    rows: 0,
    elapsedMs: 0,
    cancelRequested: false,
    view: null,
    error: null,
  };
  updateDraft(id, (e) => ({ ...e, run, actionError: null }));
  try {
    const view = await client.run(token, (event) => applyEvent(id, event));
    timing.runAnswered(view.run, approvedAt);
    updateRun(id, (r) => ({
      ...r,
      status: 'finished',
      runId: view.run,
      rows: view.rows,
      elapsedMs: view.elapsed_ms,
      view,
    }));
  } catch (raw) {
    const error = TypedError.from(raw);
    updateRun(id, (r) => ({ ...r, status: error.code === 'cancelled' ? 'cancelled' : 'failed', error }));
  }
}

/** Asks the broker to cancel the draft's run; the run's own reply then says `cancelled`. */
export async function cancelRun(id: DraftId): Promise<void> {
  const runId = state.drafts[id]?.run?.runId;
  if (runId === null || runId === undefined) return;
  updateRun(id, (r) => ({ ...r, cancelRequested: true }));
  try {
    await client.cancel(runId);
  } catch (raw) {
    const error = TypedError.from(raw);
    updateRun(id, (r) => ({ ...r, cancelRequested: false }));
    updateDraft(id, (entry) => ({ ...entry, actionError: error }));
  }
}
