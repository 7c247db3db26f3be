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
