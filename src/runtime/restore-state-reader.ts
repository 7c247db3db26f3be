/**
 * A task reads its own restore state: the handles the JobManager sent are read from checkpoint
 * storage (in parallel, each file's size and CRC32C verified) or from a matching task-local copy,
 * and operator state is cut to this subtask's share. A handle that cannot be read fails with
 * SLUICE_RESTORE_STATE_UNREADABLE naming the checkpoint and the file, which the JobManager takes
 * as "this checkpoint is unusable".
 */
import { SluiceError } from '../core/errors.js';
import type { OperatorId } from '../core/ids.js';
import type { KeyedStateSnapshot, SnapshotArrival } from '../state/keyed-state-snapshot.js';
import { ArrivingState } from './arriving-state.js';
import { ArrivingWindow } from './arriving-window.js';
import { redistributeOperatorState } from '../state/operator-state-redistribution.js';
import type { OperatorStateSnapshot } from '../state/operator-state-snapshot.js';
import { decodeChannelState } from '../storage/channel-state.js';
import {
  readFileState,
  type StateReadProgress,
  type StateReadWindow,
} from '../storage/filesystem/file-system-checkpoint-storage.js';
import { keyedChain, type StreamStateHandle } from '../storage/state-handle.js';
import type { OperatorRestoredState, OperatorRestoreState, TaskRestoreState } from './checkpoint-gateway.js';
import type { TaskLocalStateStore } from './task-local-state-store.js';

/**
 * Reads the bytes of a handle whose relative path resolves against `pointer`, verified; with
 * `progress`, reads a file into `progress.into` and reports its arrival (a reader may ignore it:
 * its bytes are then copied in once read).
 */
export type StateHandleReader = (
  handle: StreamStateHandle,
  pointer: string,
  progress?: StateReadProgress | StateReadWindow,
) => Promise<Uint8Array>;

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
  return async (handle, pointer, progress) => {
    if (handle.kind !== 'file') return remote(handle, pointer);
    const local = await store?.retrieveLocalState(checkpointId, handle);
    if (local !== undefined) {
      sources.local++;
      return local;
    }
    const bytes = await remote(handle, pointer, progress);
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
  const { restored, verified } = await openRestoreState(restore, subtask, read);
  await verified;
  // Complete and verified: what the backends get no longer says "arriving".
  for (const [id, op] of restored)
    restored.set(id, { ...op, keyed: op.keyed.map(({ arriving: _, ...complete }) => complete) });
  return restored;
}

/** Restore state whose keyed bases may still be arriving (see `openRestoreState`). */
export interface OpenedRestoreState {
  readonly restored: Map<OperatorId, OperatorRestoredState>;
  /** Resolves once every file is read and verified; rejects as `readRestoreState` does. */
  readonly verified: Promise<void>;
}

/**
 * As `readRestoreState`, but resolves as soon as everything other than the keyed state bases
 * (operator state, in-flight data, incremental deltas: small) is read: each base file is still
 * being read into its snapshot's `data`, which `arriving` follows, so a backend loads key groups
 * while later ones are read (a task's restore then takes about as long as the longer of reading
 * and loading, not their sum). Nothing may be used for processing before `verified` resolves.
 */
export async function openRestoreState(
  restore: TaskRestoreState,
  subtask: RestoringSubtask,
  read: StateHandleReader = readStateHandle,
  options: {
    /** Reads keyed state files through a window of bounded size (for backends that load as it arrives). */
    readonly windowed?: boolean;
    /** The window's size (tests; default: windowBytes). */
    readonly windowBytes?: number;
  } = {},
): Promise<OpenedRestoreState> {
  const streamed = new Map<StreamStateHandle, ArrivingState | ArrivingWindow>();
  const handles = new Set<StreamStateHandle>();
  /** How many keyed snapshots use each base: one read through a window serves one restorer. */
  const uses = new Map<StreamStateHandle, number>();
  for (const op of restore.operators.values())
    for (const k of op.keyed) uses.set(k.handle, (uses.get(k.handle) ?? 0) + 1);
  for (const op of restore.operators.values()) {
    for (const k of op.keyed) {
      if (k.handle.kind === 'file' && !streamed.has(k.handle))
        streamed.set(
          k.handle,
          options.windowed === true && uses.get(k.handle) === 1
            ? new ArrivingWindow(k.handle.size, largestSection(k.offsets, k.handle.size), options.windowBytes)
            : new ArrivingState(k.handle.size),
        );
      // An inline base (a file base streams) and an incremental chain's deltas.
      for (const blob of keyedChain(k)) handles.add(blob.handle);
    }
    for (const old of op.operator ?? []) for (const o of old) handles.add(o.handle);
    if (op.channelState !== undefined) handles.add(op.channelState);
  }
  for (const handle of streamed.keys()) handles.delete(handle);
  const verified = Promise.all(
    [...streamed].map(async ([handle, arriving]) => {
      try {
        const bytes = await read(handle, restore.pointer, arriving);
        if (arriving instanceof ArrivingWindow) arriving.complete(bytes);
        else {
          if (bytes !== arriving.into) arriving.into.set(bytes);
          arriving.complete();
        }
      } catch (e) {
        const error = stateUnreadable(restore, subtask, handle, e);
        arriving.fail(error);
        throw error;
      }
    }),
  ).then(() => undefined);
  // Awaited by whoever restores; until then (or if nobody does) a failure is no unhandled one.
  verified.catch(() => undefined);
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
  const restored = assemble(
    restore,
    subtask,
    (handle) => {
      const arriving = streamed.get(handle);
      return bytes.get(handle) ?? (arriving instanceof ArrivingState ? arriving.into : NOTHING);
    },
    (handle) => streamed.get(handle),
  );
  return { restored, verified };
}

/** A windowed snapshot's `data`: its bytes come through the window. */
const NOTHING = new Uint8Array(0);

/** The largest section of a keyed snapshot (its header included) of `size` bytes. */
function largestSection(offsets: readonly number[], size: number): number {
  let largest = offsets[0] ?? size;
  for (let i = 0; i < offsets.length; i++)
    largest = Math.max(largest, (offsets[i + 1] ?? size) - offsets[i]!);
  return largest;
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
  arrivalOf: (handle: StreamStateHandle) => SnapshotArrival | undefined = () => undefined,
): Map<OperatorId, OperatorRestoredState> {
  const out = new Map<OperatorId, OperatorRestoredState>();
  for (const [operatorId, op] of restore.operators)
    out.set(operatorId, {
      keyed: op.keyed.map((k): KeyedStateSnapshot => {
        const arriving = arrivalOf(k.handle);
        return {
          keyGroupRange: k.keyGroupRange,
          offsets: k.offsets,
          data: bytesOf(k.handle),
          stateNames: [],
          // The backend applies the deltas after the base.
          ...(k.deltas === undefined
            ? {}
            : { deltas: k.deltas.map((d) => ({ offsets: d.offsets, data: bytesOf(d.handle) })) }),
          ...(arriving === undefined ? {} : { arriving }),
        };
      }),
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
