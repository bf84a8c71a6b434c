//! The JSON the Tauri shell's commands take and return. Every DTO is generated from its Rust type (protocol's
//! types, the shell's view.rs and command arguments) into ./generated.ts by shell/app/src/bindings.rs with ts-rs,
//! and re-exported here: never declare one by hand. After changing a Rust DTO, regenerate with
//!   UPDATE_BINDINGS=1 cargo test -p polystoreiq-app bindings
//! (a plain `cargo test` fails while generated.ts is stale). This module adds only what has no Rust type.
import type { ChartKind, SourceKind } from './generated';

export type * from './generated';
export { AUDIT_ACTIONS } from './generated';

/** A source kind that is a database server: any kind but `files`. */
export type DatabaseKind = Exclude<SourceKind, 'files'>;

/** Each chart kind once (the record makes the compiler check that against the generated union), in switcher order. */
const CHART_KIND_SET: Record<ChartKind, true> = { table: true, line: true, bar: true, pie: true, scatter: true };
export const CHART_KINDS: readonly ChartKind[] = Object.keys(CHART_KIND_SET) as ChartKind[];
