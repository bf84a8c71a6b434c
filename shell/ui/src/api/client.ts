//! One typed function per Tauri command of the shell (see the UI contract). Every rejection becomes a TypedError
//! with the broker's stable code; the page branches on the code, never on the message.
import { Channel, invoke, type InvokeArgs, type InvokeOptions } from '@tauri-apps/api/core';
import type {
  AccessState,
  AuditEvent,
  AuditFilter,
  BrokerStatus,
  ChatMessage,
  ChatSession,
  Command,
  DatabaseSourceArgs,
  DiagReport,
  DraftId,
  DraftPreview,
  LimitsChange,
  LlmProvider,
  LlmTestReport,
  PageView,
  Role,
  RunEvent,
  RunId,
  RunTrace,
  RunView,
  SchemaSnapshot,
  SessionId,
  Settings,
  SourceInfo,
  SourceTestReport,
  TypedErrorData,
} from './types';

/** An error a command rejected with: `code` is stable (snake_case), `message` says what to do. */
export class TypedError extends Error {
  readonly code: string;
  readonly retryAfterMs: number | null;

  constructor(code: string, message: string, retryAfterMs: number | null = null) {
    super(message);
    this.name = 'TypedError';
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  /** Any rejection as a TypedError: the shell's `{code, message, retry_after_ms}`, or a bare IPC failure. */
  static from(raw: unknown): TypedError {
    if (raw instanceof TypedError) return raw;
    if (raw && typeof raw === 'object' && 'code' in raw && typeof (raw as TypedErrorData).code === 'string') {
      const data = raw as Partial<TypedErrorData>;
      return new TypedError(data.code as string, String(data.message ?? ''), data.retry_after_ms ?? null);
    }
    if (typeof raw === 'string') return new TypedError('internal', raw);
    if (raw instanceof Error) return new TypedError('internal', raw.message);
    return new TypedError('internal', String(raw));
  }
}

type LockedListener = () => void;
let lockedListener: LockedListener | null = null;

/** Called whenever a command rejects with `locked`, so the app can show the lock screen again. */
export function onLocked(listener: LockedListener | null): void {
  lockedListener = listener;
}

async function call<T>(command: Command, args?: InvokeArgs, options?: InvokeOptions): Promise<T> {
  try {
    return await invoke<T>(command, args, options);
  } catch (raw) {
    const error = TypedError.from(raw);
    if (error.code === 'locked' && command !== 'unlock' && lockedListener) lockedListener();
    throw error;
  }
}

export const brokerStatus = () => call<BrokerStatus>('broker_status');
export const brokerRestart = () => call<BrokerStatus>('broker_restart');

export const access = () => call<AccessState>('access');
export const unlock = (secret: string) => call<AccessState>('unlock', { secret });
export const lock = () => call<AccessState>('lock');

export const sources = () => call<SourceInfo[]>('sources');
export const sourceAddFiles = (name: string, paths: string[]) =>
  call<SourceInfo>('source_add_files', { name, paths });
export const sourceAddDatabase = (args: DatabaseSourceArgs) =>
  call<SourceInfo>('source_add_database', { ...args });
export const sourceTest = (name: string) => call<SourceTestReport>('source_test', { name });
export const sourceSetEnabled = (name: string, enabled: boolean) =>
  call<SourceInfo>('source_set_enabled', { name, enabled });
export const sourceRemove = (name: string) => call<null>('source_remove', { name });

export const schema = (name: string, refresh: boolean) => call<SchemaSnapshot>('schema', { name, refresh });

export const sessions = () => call<ChatSession[]>('sessions');
export const sessionCreate = (title: string) => call<ChatSession>('session_create', { title });
export const sessionMessages = (session: SessionId) => call<ChatMessage[]>('session_messages', { session });
export const sessionRename = (session: SessionId, title: string) =>
  call<ChatSession>('session_rename', { session, title });

export const ask = (source: string, question: string, session: SessionId | null) =>
  call<DraftPreview>('ask', { source, question, session });
export const draft = (source: string, query: string) => call<DraftPreview>('draft', { source, query });

/** Runs an approved draft (consuming its token); `onEvent` receives Queued/Started/Progress until it ends. */
export function run(token: string, onEvent: (event: RunEvent) => void): Promise<RunView> {
  const channel = new Channel<RunEvent>();
  channel.onmessage = onEvent;
  return call<RunView>('run', { token, onEvent: channel });
}

export const deny = (draftId: DraftId) => call<null>('deny', { draft: draftId });
export const cancel = (runId: RunId) => call<null>('cancel', { run: runId });
export const resultPage = (runId: RunId, offset: number, limit: number) =>
  call<PageView>('result_page', { run: runId, offset, limit: Math.min(limit, 5000) });

export const settings = () => call<Settings>('settings');
export interface LlmChoice {
  provider: LlmProvider;
  /** Empty keeps the provider's last (else default) model. */
  model: string;
  endpoint: string;
  /** Empty keeps the stored key. */
  apiKey: string;
  clearApiKey: boolean;
}
export const setLlm = (choice: LlmChoice) =>
  call<Settings>('set_llm', {
    provider: choice.provider,
    model: choice.model || null,
    endpoint: choice.endpoint || null,
    apiKey: choice.apiKey || null,
    clearApiKey: choice.clearApiKey,
  });
export const llmTest = () => call<LlmTestReport>('llm_test');
export const setLimits = (change: LimitsChange) => call<Settings>('set_limits', { change });
/** Sets the owner's passphrase or the viewer's PIN; `null` removes it. */
export const setLock = (role: Role, secret: string | null) => call<AccessState>('set_lock', { role, secret });

/** Reports how long a run's result took to show, for the diagnostics' `render` stage. */
export const renderTime = (runId: RunId, micros: number) =>
  call<null>('render_time', { run: runId, micros: Math.max(0, Math.round(micros)) });

export const diag = () => call<DiagReport>('diag');
export const runTrace = (runId: RunId) => call<RunTrace>('run_trace', { run: runId });
export const audit = (filter: AuditFilter) => call<AuditEvent[]>('audit', { filter });

/** Writes bytes into the user's export directory; answers the absolute path written. The bytes travel as the
 * request's raw body, the file name in a header. */
export const exportFile = (name: string, data: Uint8Array) =>
  call<string>('export_file', data, { headers: { 'x-export-name': name } });
