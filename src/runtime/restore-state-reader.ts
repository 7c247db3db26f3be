/**
 * A task reads its own restore state: the handles the JobManager sent are read from checkpoint
 * storage (in parallel, each file's size and CRC32C verified) or from a matching task-local copy,
 * and operator state is cut to this subtask's share. A handle that cannot be read fails with
 * SLUICE_RESTORE_STATE_UNREADABLE naming the checkpoint and the file, which the JobManager takes
 * as "this checkpoint is unusable".
 */
import { SluiceError } from '../core/errors.js';
import type { OperatorId } from '../core/ids.js';
import type { KeyedStateSnapshot } from '../state/keyed-state-snapshot.js';
import { redistributeOperatorState } from '../state/operator-state-redistribution.js';
import type { OperatorStateSnapshot } from '../state/operator-state-snapshot.js';
import { decodeChannelState } from '../storage/channel-state.js';
import { readFileState } from '../storage/filesystem/file-system-checkpoint-storage.js';
import { keyedChain, type StreamStateHandle } from '../storage/state-handle.js';
import type { OperatorRestoredState, OperatorRestoreState, TaskRestoreState } from './checkpoint-gateway.js';
import type { TaskLocalStateStore } from './task-local-state-store.js';

/** Reads the bytes of a handle whose relative path resolves against `pointer`, verified. */
export type StateHandleReader = (handle: StreamStateHandle, pointer: string) => Promise<Uint8Array>;

/**
 * Reads any handle: inline bytes as they are, files from the directory `pointer` names whatever
 * storage the job writes to (a savepoint given with `-s` is on disk even for jobmanager storage).
 */
export const readStateHandle: StateHandleReader = readFileState;

/** How many of a restore's state files came from task-local copies, and how many from checkpoint storage. */
export interface RestoreFileSources {
  local: number;
  remote: number;
}

/**
 * Local recovery's reader: a file handle's task-local copy of checkpoint `checkpointId` when it
 * matches the handle (the store verifies size and CRC32C), else `remote`; counts into `sources`.
 * A missing or damaged copy is no failure: only `remote` can fail the restore. Without a store,
 * every file is read with `remote` (and counted).
 */
export function localFirstReader(
  store: TaskLocalStateStore | undefined,
  checkpointId: number,
  remote: StateHandleReader,
  sources: RestoreFileSources,
): StateHandleReader {
  return async (handle, pointer) => {
    if (handle.kind !== 'file') return remote(handle, pointer);
    const local = await store?.retrieveLocalState(checkpointId, handle);
    if (local !== undefined) {
      sources.local++;
      return local;
    }
    const bytes = await remote(handle, pointer);
    sources.remote++;
    return bytes;
  };
}

/** Where the subtask that restores sits: its index and its operator's parallelism now. */
export interface RestoringSubtask {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** For error messages, e.g. `counts (2/4)`. */
  readonly taskName: string;
}

/** Whether every handle of `restore` is inline, so it can be restored without waiting for I/O. */
export function isInlineOnly(restore: TaskRestoreState): boolean {
  for (const op of restore.operators.values()) {
    for (const k of op.keyed)
      for (const blob of keyedChain(k)) if (blob.handle.kind !== 'inline') return false;
    for (const old of op.operator ?? []) for (const o of old) if (o.handle.kind !== 'inline') return false;
    if (op.channelState !== undefined && op.channelState.kind !== 'inline') return false;
  }
  return true;
}

/**
 * The restore state of a task whose handles are all inline (see `isInlineOnly`), without I/O.
 */
export function restoredInline(
  restore: TaskRestoreState,
  subtask: RestoringSubtask,
): Map<OperatorId, OperatorRestoredState> {
  const inline = (handle: StreamStateHandle): Uint8Array => {
    if (handle.kind !== 'inline') throw new Error('restoredInline() is given inline handles only');
    return handle.data;
  };
  return assemble(restore, subtask, inline);
}

/**
 * Reads every handle of `restore` (all files of the task at once) and assembles what the
 * operators' backends restore. Rejects with SLUICE_RESTORE_STATE_UNREADABLE naming the
 * checkpoint and the file when one cannot be read or fails verification.
 */
export async function readRestoreState(
  restore: TaskRestoreState,
  subtask: RestoringSubtask,
  read: StateHandleReader = readStateHandle,
): Promise<Map<OperatorId, OperatorRestoredState>> {
  const handles = new Set<StreamStateHandle>();
  for (const op of restore.operators.values()) {
    // An incremental chain: its base and every delta.
    for (const k of op.keyed) for (const blob of keyedChain(k)) handles.add(blob.handle);
    for (const old of op.operator ?? []) for (const o of old) handles.add(o.handle);
    if (op.channelState !== undefined) handles.add(op.channelState);
  }
  const bytes = new Map<StreamStateHandle, Uint8Array>();
  await Promise.all(
    [...handles].map(async (handle) => {
      try {
        bytes.set(handle, await read(handle, restore.pointer));
      } catch (e) {
        throw stateUnreadable(restore, subtask, handle, e);
      }
    }),
  );
  return assemble(restore, subtask, (handle) => bytes.get(handle)!);
}

/** The error of a handle that cannot be read: which checkpoint, which file, which task, why. */
function stateUnreadable(
  restore: TaskRestoreState,
  subtask: RestoringSubtask,
  handle: StreamStateHandle,
  cause: unknown,
): SluiceError {
  const file = handle.kind === 'file' ? `state file ${handle.path}` : 'inline state';
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new SluiceError(
    'SLUICE_RESTORE_STATE_UNREADABLE',
    `task ${subtask.taskName} cannot restore from checkpoint ${restore.checkpointId} (${restore.pointer}): ` +
      `${file} cannot be read: ${reason}. Recovery falls back to an older retained checkpoint, if any.`,
    { cause },
  );
}

function assemble(
  restore: TaskRestoreState,
  subtask: RestoringSubtask,
  bytesOf: (handle: StreamStateHandle) => Uint8Array,
): Map<OperatorId, OperatorRestoredState> {
  const out = new Map<OperatorId, OperatorRestoredState>();
  for (const [operatorId, op] of restore.operators)
    out.set(operatorId, {
      keyed: op.keyed.map((k): KeyedStateSnapshot => ({
        keyGroupRange: k.keyGroupRange,
        offsets: k.offsets,
        data: bytesOf(k.handle),
        stateNames: [],
        // The backend applies the deltas after the base.
        ...(k.deltas === undefined
          ? {}
          : { deltas: k.deltas.map((d) => ({ offsets: d.offsets, data: bytesOf(d.handle) })) }),
      })),
      operator: operatorShare(op, subtask, bytesOf),
      ...(op.channelState === undefined
        ? {}
        : {
            channelState: decodeChannelState(
              bytesOf(op.channelState),
              `the in-flight data of task ${subtask.taskName} in checkpoint ${restore.checkpointId}`,
            ),
          }),
    });
  return out;
}

/**
 * This subtask's operator state: every subtask runs the same pure redistribution over the old
 * subtasks' lists and keeps its own share (the JobManager no longer reads the lists to cut them).
 */
function operatorShare(
  op: OperatorRestoreState,
  subtask: RestoringSubtask,
  bytesOf: (handle: StreamStateHandle) => Uint8Array,
): OperatorStateSnapshot | undefined {
  const old = op.operator;
  if (old === undefined) return undefined;
  const snapshots: OperatorStateSnapshot[][] = old.map((handles) => [
    {
      states: handles.map((o) => ({
        name: o.name,
        mode: o.mode,
        data: bytesOf(o.handle),
      })),
    },
  ]);
  return redistributeOperatorState(snapshots, subtask.parallelism)[subtask.subtaskIndex];
}
