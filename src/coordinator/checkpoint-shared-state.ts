/**
 * The coordinator's side of incremental checkpoints: registers the shared files of completed
 * checkpoints, deletes them when the last retained checkpoint using them leaves, deletes what
 * aborted checkpoints wrote, and refuses a checkpoint that builds on deleted files.
 */
import type { SnapshotKind } from '../protocol/snapshot-kind.js';
import type { OperatorSubtaskState } from '../runtime/checkpoint-gateway.js';
import type { CheckpointStorage, CheckpointStorageLocation } from '../storage/checkpoint-storage.js';
import { SharedStateRegistry, sharedFilesOfMetadata } from '../storage/shared-state-registry.js';
import type { CheckpointMetadata } from '../storage/checkpoint-metadata.js';
import { keyedChain, sharedFilesOf, type FileStateHandle } from '../storage/state-handle.js';

/** What this needs of a completed checkpoint (the coordinator's RetainedSnapshot has more). */
export interface RetainedSnapshot {
  readonly checkpointId: number;
  readonly kind: SnapshotKind;
  readonly metadata: CheckpointMetadata;
  /** Where its shared files are resolved from (their paths are relative to its job directory). */
  readonly pointer: string;
}

/**
 * Shared state of one job's checkpoints. Every chain a task acknowledges ends with the blob that
 * checkpoint wrote (a delta, or a new base) and otherwise lists blobs of earlier completed
 * checkpoints: that is how new files are told from references without naming conventions.
 */
export class CheckpointSharedState {
  private registry = new SharedStateRegistry();

  constructor(private readonly storage: CheckpointStorage) {}

  /**
   * Why a fully acknowledged checkpoint cannot complete, or undefined: one of its chains refers to
   * an earlier shared file no retained checkpoint holds (a task built on a checkpoint that was
   * subsumed before it learnt of a newer one), so restoring from it would fail.
   */
  missingReferences(states: Iterable<readonly OperatorSubtaskState[]>): string | undefined {
    for (const operators of states)
      for (const op of operators)
        for (const keyed of op.keyed) {
          const chain = keyedChain(keyed);
          for (let i = 0; i < chain.length - 1; i++) {
            const h = chain[i]!.handle;
            if (h.kind === 'file' && h.scope === 'shared' && !this.registry.isRegistered(h.path))
              return (
                `the keyed state of operator ${op.operatorId} builds on ${h.path}, which no retained checkpoint ` +
                'holds any more (it was deleted); the next checkpoint builds on a newer one'
              );
          }
        }
    return undefined;
  }

  /**
   * A fully acknowledged checkpoint is about to be finalized: unless it builds on a file no
   * retained checkpoint holds (returns why), its shared files are counted from now on, so that a
   * checkpoint completing meanwhile cannot subsume away what this one refers to. Call `release`
   * if it then fails to complete.
   */
  reserve(checkpointId: number, states: Iterable<readonly OperatorSubtaskState[]>): string | undefined {
    const all = [...states];
    const missing = this.missingReferences(all);
    if (missing !== undefined) return missing;
    this.registry.registerCheckpoint(
      checkpointId,
      all.flatMap((operators) => operators.flatMap((op) => op.keyed.flatMap((k) => sharedFilesOf(k)))),
    );
    return undefined;
  }

  /**
   * A reserved checkpoint failed to complete: its references are dropped and the files nobody
   * else uses (its own new ones among them) deleted.
   */
  async release(checkpointId: number, where: CheckpointStorageLocation | string): Promise<void> {
    const unused = this.registry.unregisterCheckpoint(checkpointId);
    if (unused.length > 0) await this.storage.discardSharedState(where, unused);
  }

  /** A checkpoint completed and entered the store: its shared files gain a reference. */
  registerCompleted(checkpoint: RetainedSnapshot): void {
    // Savepoints (and snapshots a job started from, NO_CLAIM) belong to the user: never counted.
    if (checkpoint.kind !== 'checkpoint') return;
    this.registry.registerCheckpoint(checkpoint.checkpointId, sharedFilesOfMetadata(checkpoint.metadata));
  }

  /**
   * A retained checkpoint left the store (subsumed, or discarded at shutdown): deletes the shared
   * files no retained checkpoint uses any more.
   */
  async discardCheckpoint(checkpoint: RetainedSnapshot): Promise<void> {
    const unused = this.registry.unregisterCheckpoint(checkpoint.checkpointId);
    if (unused.length > 0) await this.storage.discardSharedState(checkpoint.pointer, unused);
  }

  /**
   * A checkpoint that will not complete (aborted, failed, or a late acknowledgement): deletes the
   * shared files its acknowledged state wrote, i.e. each chain's last blob unless a retained
   * checkpoint holds it. The next checkpoint cannot refer to them: tasks build only on completed ones.
   */
  async discardUncompleted(
    where: CheckpointStorageLocation | string,
    states: Iterable<readonly OperatorSubtaskState[]>,
  ): Promise<void> {
    const written: FileStateHandle[] = [];
    for (const operators of states)
      for (const op of operators)
        for (const keyed of op.keyed) {
          const last = keyedChain(keyed).at(-1)!.handle;
          if (last.kind === 'file' && last.scope === 'shared' && !this.registry.isRegistered(last.path))
            written.push(last);
        }
    if (written.length > 0) await this.storage.discardSharedState(where, written);
  }

  /** Rebuilds the registry from the store's retained checkpoints (on restore). */
  rebuild(retained: readonly RetainedSnapshot[]): void {
    this.registry = SharedStateRegistry.rebuild(
      retained
        .filter((c) => c.kind === 'checkpoint')
        .map((c) => ({ checkpointId: c.checkpointId, files: sharedFilesOfMetadata(c.metadata) })),
    );
  }

  /** The shared files retained checkpoints refer to (for tests and metrics). */
  registeredFiles(): FileStateHandle[] {
    return this.registry.registeredFiles();
  }
}
