/**
 * What a harness's `snapshot()` returns (Flink's OperatorSubtaskState) and how a harness restores
 * it: the state handles the real asynchronous phase wrote, read back and assigned to the
 * restoring subtask by key-group overlap and operator-state redistribution, as a job restores.
 */
import { SluiceError } from '../core/errors.js';
import { computeKeyGroupRangeForOperatorIndex } from '../core/key-groups.js';
import type { OperatorRestoredState } from '../runtime/checkpoint-gateway.js';
import type { KeyedStateSnapshot } from '../state/keyed-state-snapshot.js';
import { redistributeOperatorState } from '../state/operator-state-redistribution.js';
import type { OperatorStateSnapshot } from '../state/operator-state-snapshot.js';
import type { CheckpointStorage, CheckpointStorageLocation } from '../storage/checkpoint-storage.js';
import { stateSize, type KeyedStateHandle, type OperatorStateHandle } from '../storage/state-handle.js';
import { harnessMisuse } from './harness-misuse.js';

/** One subtask's share of a snapshot: where its state was written and the handles written. */
export interface SubtaskStatePart {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly location: CheckpointStorageLocation;
  readonly keyed: readonly KeyedStateHandle[];
  readonly operator: readonly OperatorStateHandle[];
}

/**
 * The state of one operator's subtask (or, after `repackageState`, of several subtasks) at a
 * checkpoint: its keyed state, timers and operator state as written by the checkpoint's
 * asynchronous phase. Opaque: hand it to `initializeState()` of a fresh harness.
 */
export class OperatorSubtaskState {
  /** @internal Use a harness's `snapshot()` or `repackageState()`. */
  constructor(
    /** The checkpoint the state belongs to. */
    readonly checkpointId: number,
    /** @internal */
    readonly parts: readonly SubtaskStatePart[],
  ) {}

  /** Bytes of state written (keyed and operator state of every subtask held). */
  getStateSize(): number {
    let size = 0;
    for (const part of this.parts) {
      for (const h of part.keyed) size += stateSize(h);
      for (const h of part.operator) size += stateSize(h);
    }
    return size;
  }
}

/**
 * Merges the snapshots of the subtasks of one operator into one state (Flink's
 * `repackageState`), so that harnesses at another parallelism can each restore their share.
 */
export function repackageState(...states: OperatorSubtaskState[]): OperatorSubtaskState {
  if (states.length === 0)
    throw harnessMisuse('repackageState(): pass the snapshots of the subtasks to merge.');
  for (const state of states)
    if (!(state instanceof OperatorSubtaskState))
      throw harnessMisuse('repackageState(): pass what harnesses returned from snapshot().');
  const parts = states.flatMap((s) => s.parts);
  const first = parts[0]!;
  const seen = new Set<number>();
  for (const part of parts) {
    if (part.parallelism !== first.parallelism || part.maxParallelism !== first.maxParallelism)
      throw harnessMisuse(
        `repackageState(): the snapshots come from different operators or settings (parallelism ` +
          `${first.parallelism} and ${part.parallelism}, max parallelism ${first.maxParallelism} and ` +
          `${part.maxParallelism}); merge the snapshots of the subtasks of one operator.`,
      );
    if (seen.has(part.subtaskIndex))
      throw harnessMisuse(
        `repackageState(): subtask ${part.subtaskIndex} is given twice; pass each subtask's snapshot once.`,
      );
    seen.add(part.subtaskIndex);
  }
  return new OperatorSubtaskState(Math.max(...states.map((s) => s.checkpointId)), parts);
}

/** The subtask a harness restores. */
export interface RestoreTarget {
  readonly storage: CheckpointStorage;
  readonly maxParallelism: number;
  readonly parallelism: number;
  readonly subtaskIndex: number;
  /** Whether the operator has a keyed state backend. */
  readonly keyed: boolean;
}

/**
 * Reads `state` back from checkpoint storage and picks this subtask's share: the keyed state of
 * the key groups it owns, and the operator state redistribution gives it. Throws
 * SLUICE_RESTORE_FAILED when the state does not fit the harness, before anything is restored.
 */
export async function readRestoreState(
  state: OperatorSubtaskState,
  target: RestoreTarget,
): Promise<OperatorRestoredState> {
  const first = state.parts[0]!;
  const oldParallelism = first.parallelism;
  const missing: number[] = [];
  for (let i = 0; i < oldParallelism; i++)
    if (!state.parts.some((p) => p.subtaskIndex === i)) missing.push(i);
  if (missing.length > 0)
    throw restoreFailed(
      `the state holds ${state.parts.length} of the ${oldParallelism} subtasks it was taken at (subtask ` +
        `${missing.join(', ')} missing), so restoring it would lose state; merge every subtask's snapshot ` +
        'with repackageState(...) first.',
    );
  const hasKeyed = state.parts.some((p) => p.keyed.length > 0);
  if (hasKeyed && !target.keyed)
    throw restoreFailed(
      'the state holds keyed state, but this harness is not keyed; restore it into a harness for the same ' +
        'keyed function (forKeyedProcessFunction).',
    );
  if (hasKeyed && first.maxParallelism !== target.maxParallelism)
    throw restoreFailed(
      `the state was taken with max parallelism ${first.maxParallelism}, this harness has ` +
        `${target.maxParallelism}; create the harness with maxParallelism: ${first.maxParallelism} (the number ` +
        'of key groups is fixed for the life of the state).',
    );

  const range = computeKeyGroupRangeForOperatorIndex(
    target.maxParallelism,
    target.parallelism,
    target.subtaskIndex,
  );
  const keyed: KeyedStateSnapshot[] = [];
  const old: OperatorStateSnapshot[][] = Array.from({ length: oldParallelism }, () => []);
  for (const part of state.parts) {
    for (const k of part.keyed)
      if (k.keyGroupRange.start <= range.end && range.start <= k.keyGroupRange.end)
        keyed.push({
          keyGroupRange: k.keyGroupRange,
          offsets: k.offsets,
          data: await target.storage.readState(k.handle, part.location),
          stateNames: [],
        });
    const states = [];
    for (const o of part.operator)
      states.push({
        name: o.name,
        mode: o.mode === 'UNION' ? ('UNION' as const) : ('SPLIT_DISTRIBUTE' as const),
        data: await target.storage.readState(o.handle, part.location),
      });
    old[part.subtaskIndex]!.push({ states });
  }
  const hasOperatorState = state.parts.some((p) => p.operator.length > 0);
  return {
    keyed,
    operator: hasOperatorState
      ? redistributeOperatorState(old, target.parallelism)[target.subtaskIndex]
      : undefined,
  };
}

function restoreFailed(message: string): SluiceError {
  return new SluiceError('SLUICE_RESTORE_FAILED', `initializeState(): ${message}`);
}
