/** State handles: how a checkpoint refers to the bytes of one piece of state (Flink's StreamStateHandle family). */
import type { KeyGroupRange } from '../core/key-groups.js';

/**
 * Who owns a state file, which decides where it lives and who may delete it (Flink's
 * CheckpointedStateScope plus its task-owned directory):
 * - `exclusive`: belongs to one checkpoint, lives in its `chk-<n>/` directory and is deleted with it;
 * - `shared`: may be referenced by several checkpoints (incremental state), lives in `shared/`,
 *   deleted by the shared-state registry once no retained checkpoint needs it;
 * - `task-owned`: lives in `taskowned/`; the JobManager never deletes it while the job runs.
 */
export type StateScope = 'exclusive' | 'shared' | 'task-owned';

/** Every scope, for validation. */
export const STATE_SCOPES: readonly StateScope[] = ['exclusive', 'shared', 'task-owned'];

/** State small enough to travel inside `_metadata` itself (Flink's ByteStreamStateHandle). */
export interface InlineStateHandle {
  readonly kind: 'inline';
  readonly data: Uint8Array;
}

/**
 * State in a file of checkpoint storage. `path` is RELATIVE, always with `/` separators:
 * - `exclusive`: relative to the checkpoint's own directory (`chk-<n>/`), e.g. `3f2a…-uuid`, so a
 *   checkpoint or savepoint directory can be moved or copied and still be restored (Flink's
 *   RelativeFileStateHandle);
 * - `shared` and `task-owned`: relative to the job directory, e.g. `shared/3f2a…` or
 *   `taskowned/3f2a…`. Flink records shared files by absolute path; relative to the job directory
 *   means a whole job directory stays relocatable, while a lone `chk-<n>` moved elsewhere cannot
 *   find its shared files (as in Flink, incremental checkpoints are not self-contained).
 * `size` and `checksum` (CRC32C of the whole file) are verified on every read.
 */
export interface FileStateHandle {
  readonly kind: 'file';
  readonly path: string;
  readonly size: number;
  readonly checksum: number;
  readonly scope: StateScope;
}

/** The bytes of one piece of state: inline in the metadata, or in a file. */
export type StreamStateHandle = InlineStateHandle | FileStateHandle;

/**
 * Keyed state of one subtask for a contiguous key-group range: a blob in which the state of key
 * group `keyGroupRange.start + i` starts at byte `offsets[i]` (Flink's KeyGroupsStateHandle).
 * Offsets are non-decreasing and at most the blob's size; a key group ends where the next begins
 * (the last one at the end of the blob). This is what lets a rescaled subtask read only its key
 * groups out of another subtask's snapshot.
 */
export interface KeyedStateHandle {
  readonly keyGroupRange: KeyGroupRange;
  readonly offsets: readonly number[];
  readonly handle: StreamStateHandle;
  /**
   * Incremental checkpoints only: the changes since `handle` (the base, a full snapshot written
   * by an earlier checkpoint), oldest first, to be applied in order on restore (Flink's
   * IncrementalRemoteKeyedStateHandle lists its shared files the same way). The last one is the
   * one this checkpoint wrote (or the base, when there are none); the others belong to earlier
   * checkpoints and are shared with them. Absent on full snapshots and in format-1 metadata.
   */
  readonly deltas?: readonly KeyedStateDelta[];
}

/**
 * What changed in one subtask's keyed state between two checkpoints, per key group: a blob of
 * sections at `offsets`, over the same key-group range as the base it applies to.
 */
export interface KeyedStateDelta {
  readonly offsets: readonly number[];
  readonly handle: StreamStateHandle;
}

/**
 * How operator (non-keyed) state is redistributed on restore: `SPLIT_DISTRIBUTE` splits the list
 * among the new subtasks, `UNION` gives every subtask the whole union, `BROADCAST` gives every
 * subtask one copy (all copies are equal).
 */
export type OperatorStateMode = 'SPLIT_DISTRIBUTE' | 'UNION' | 'BROADCAST';

/** Every operator state mode, for validation. */
export const OPERATOR_STATE_MODES: readonly OperatorStateMode[] = ['SPLIT_DISTRIBUTE', 'UNION', 'BROADCAST'];

/**
 * One named operator state of one subtask. The payload's format belongs to the state layer; the
 * storage only keeps the bytes and the redistribution mode.
 */
export interface OperatorStateHandle {
  readonly name: string;
  readonly mode: OperatorStateMode;
  readonly handle: StreamStateHandle;
}

/** Number of key groups in a range (0 when empty). */
export function keyGroupRangeSize(range: KeyGroupRange): number {
  return Math.max(0, range.end - range.start + 1);
}

/** Bytes of state a handle refers to (inline bytes, file size, or the blob behind a keyed/operator handle). */
export function stateSize(handle: StreamStateHandle | KeyedStateHandle | OperatorStateHandle): number {
  if ('kind' in handle) return handle.kind === 'inline' ? handle.data.length : handle.size;
  return stateSize(handle.handle);
}

/** Bytes a keyed handle restores from: its base plus every delta of its chain. */
export function keyedStateSize(handle: KeyedStateHandle): number {
  let size = stateSize(handle.handle);
  for (const delta of handle.deltas ?? []) size += stateSize(delta.handle);
  return size;
}

/**
 * The blobs of a keyed handle's chain, base first: what a restore reads and applies in order.
 * A full snapshot is a chain of one.
 */
export function keyedChain(handle: KeyedStateHandle): readonly KeyedStateDelta[] {
  const base = { offsets: handle.offsets, handle: handle.handle };
  return handle.deltas === undefined ? [base] : [base, ...handle.deltas];
}

/**
 * The `shared` files a keyed handle refers to (its chain's, inline blobs and exclusive files
 * left out): what the shared-state registry counts references to.
 */
export function sharedFilesOf(handle: KeyedStateHandle): FileStateHandle[] {
  const files: FileStateHandle[] = [];
  for (const { handle: h } of keyedChain(handle))
    if (h.kind === 'file' && h.scope === 'shared') files.push(h);
  return files;
}

/**
 * Byte range `[start, end)` of key group `keyGroup` inside a keyed handle's blob, or undefined
 * when the handle does not cover that key group.
 */
export function keyGroupBounds(
  handle: KeyedStateHandle,
  keyGroup: number,
): { readonly start: number; readonly end: number } | undefined {
  const index = keyGroup - handle.keyGroupRange.start;
  const start = handle.offsets[index];
  if (index < 0 || start === undefined || keyGroup > handle.keyGroupRange.end) return undefined;
  return { start, end: handle.offsets[index + 1] ?? stateSize(handle.handle) };
}

/**
 * Why `path` is not an acceptable relative state path (empty, absolute, a backslash, or a `.`/`..`
 * segment), or undefined when it is fine. Checked on write and on read, so a damaged or hostile
 * `_metadata` can never make Sluice read or delete outside its checkpoint directories.
 */
export function relativePathProblem(path: string): string | undefined {
  if (path === '') return 'is empty';
  if (path.startsWith('/') || /^[A-Za-z]:/u.test(path)) return 'is absolute; state paths are relative';
  if (path.includes('\\')) return "contains '\\'; state paths use '/'";
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..'))
    return "has an empty, '.' or '..' segment";
  return undefined;
}
