/** Reference counts of shared (incremental) state files across the retained checkpoints of a job. */
import { invariant } from '../core/errors.js';
import type { CheckpointMetadata } from './checkpoint-metadata.js';
import { sharedFilesOf, type FileStateHandle } from './state-handle.js';

interface Entry {
  readonly handle: FileStateHandle;
  /** The retained checkpoints that refer to the file: its reference count is their number. */
  readonly users: Set<number>;
}

/**
 * Flink's SharedStateRegistry, as a pure structure: facts in (a checkpoint was retained, one left
 * the store), decisions out (these files are no longer used by any retained checkpoint: delete
 * them). It performs no I/O; the caller deletes what `unregisterCheckpoint` returns.
 *
 * A file is identified by its path relative to the job directory (`shared/<uuid>`): shared files
 * have random names, so a path is never reused. A file's count is the number of retained
 * checkpoints whose metadata lists it; it is deleted exactly when that number drops to zero
 * (Flink counts the same way in IncrementalRemoteKeyedStateHandle#discardState, and since 1.15
 * by the last checkpoint using it, which gives the same answer for checkpoints subsumed in order).
 */
export class SharedStateRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly byCheckpoint = new Map<number, readonly string[]>();

  /**
   * The registry of a job whose retained checkpoints are `retained` (e.g. on restore: the
   * checkpoints the store holds, each listing its shared files).
   */
  static rebuild(
    retained: readonly { readonly checkpointId: number; readonly files: readonly FileStateHandle[] }[],
  ): SharedStateRegistry {
    const registry = new SharedStateRegistry();
    for (const c of retained) registry.registerCheckpoint(c.checkpointId, c.files);
    return registry;
  }

  /**
   * Counts one reference from retained checkpoint `checkpointId` to each of `files` (duplicates
   * count once). Registering a checkpoint twice changes nothing, so a rebuild may overlap.
   */
  registerCheckpoint(checkpointId: number, files: readonly FileStateHandle[]): void {
    if (this.byCheckpoint.has(checkpointId)) return;
    const paths: string[] = [];
    for (const handle of files) {
      invariant(
        handle.scope === 'shared',
        `only shared files are registered, not ${handle.scope} ${handle.path}`,
      );
      let entry = this.entries.get(handle.path);
      if (entry === undefined) this.entries.set(handle.path, (entry = { handle, users: new Set() }));
      if (entry.users.has(checkpointId)) continue;
      entry.users.add(checkpointId);
      paths.push(handle.path);
    }
    this.byCheckpoint.set(checkpointId, paths);
  }

  /**
   * Checkpoint `checkpointId` left the store (subsumed or discarded): drops its references and
   * returns the files no retained checkpoint uses any more, which the caller deletes. Unknown
   * ids (never registered, or already unregistered) return nothing.
   */
  unregisterCheckpoint(checkpointId: number): FileStateHandle[] {
    const paths = this.byCheckpoint.get(checkpointId);
    if (paths === undefined) return [];
    this.byCheckpoint.delete(checkpointId);
    const unused: FileStateHandle[] = [];
    for (const path of paths) {
      const entry = this.entries.get(path)!;
      entry.users.delete(checkpointId);
      if (entry.users.size > 0) continue;
      this.entries.delete(path);
      unused.push(entry.handle);
    }
    return unused;
  }

  /** Whether a retained checkpoint refers to the file at `path`. */
  isRegistered(path: string): boolean {
    return this.entries.has(path);
  }

  /** How many retained checkpoints refer to the file at `path` (0 when none). */
  referenceCount(path: string): number {
    return this.entries.get(path)?.users.size ?? 0;
  }

  /** Every file some retained checkpoint refers to. */
  registeredFiles(): FileStateHandle[] {
    return [...this.entries.values()].map((e) => e.handle);
  }

  /** The checkpoints registered, ascending. */
  registeredCheckpoints(): number[] {
    return [...this.byCheckpoint.keys()].sort((a, b) => a - b);
  }
}

/** The shared files a checkpoint's metadata refers to: those of its keyed handles' chains. */
export function sharedFilesOfMetadata(metadata: CheckpointMetadata): FileStateHandle[] {
  const files: FileStateHandle[] = [];
  for (const op of metadata.operators)
    for (const st of op.subtasks) for (const keyed of st.keyed) files.push(...sharedFilesOf(keyed));
  return files;
}
