/** What a snapshot is — checkpoint, savepoint or synchronous (stop-with-)savepoint — as the protocol rules need it. */

/**
 * The three kinds of snapshot the coordinator takes. Flink encodes them as flags on
 * CheckpointProperties; the protocol rules only ever ask "is it a savepoint?" and "is it
 * synchronous?", so one closed set of values is enough and cannot hold a contradictory pair.
 */
export const SnapshotKinds = ['checkpoint', 'savepoint', 'sync-savepoint'] as const;

/** A checkpoint, an intermediate savepoint, or the synchronous savepoint of stop-with-savepoint. */
export type SnapshotKind = (typeof SnapshotKinds)[number];

/** Whether the snapshot is a savepoint of either flavour (never subsumed, never counted on the JobManager side). */
export function isSavepoint(kind: SnapshotKind): boolean {
  return kind !== 'checkpoint';
}

/** Whether the snapshot is a stop-with-savepoint: the job ends after it, so its failure fails the job. */
export function isSynchronous(kind: SnapshotKind): boolean {
  return kind === 'sync-savepoint';
}

/**
 * What a savepoint's barrier carries to every task (Flink's CheckpointOptions of a savepoint: its
 * type and target location): a checkpoint's barrier carries none. Tasks take a full snapshot,
 * never a delta, and write it into `pointer`, the savepoint's own directory.
 */
export interface SavepointTarget {
  readonly kind: 'savepoint' | 'sync-savepoint';
  /** The absolute savepoint directory (`<dir>/savepoint-<shortjobid>-<random>`). */
  readonly pointer: string;
}

/**
 * A savepoint's format (Flink's `SavepointFormatType`). CANONICAL, the default, is the
 * backend-independent format every state backend restores. NATIVE is the state backend's own:
 * both of Sluice's backends write the same snapshot format, so a NATIVE savepoint holds the same
 * bytes, but it is recorded as NATIVE with the backend that took it, and restores only into that
 * backend type (as in Flink).
 */
export const SavepointFormatTypes = ['CANONICAL', 'NATIVE'] as const;

/** CANONICAL or NATIVE. */
export type SavepointFormatType = (typeof SavepointFormatTypes)[number];
