/** How records of one edge are distributed over the consumer's subtasks (descriptors only). */

/** Picks a key from a record; must be deterministic (the same record always gives the same key). */
export type KeySelectorFn<T = unknown, K = unknown> = (value: T) => K;

/** An edge's partitioning strategy, as Flink's StreamPartitioner family. */
export type PartitionerSpec =
  | { readonly kind: 'forward' }
  | { readonly kind: 'rebalance' }
  | { readonly kind: 'rescale' }
  | { readonly kind: 'shuffle' }
  | { readonly kind: 'broadcast' }
  | { readonly kind: 'global' }
  | { readonly kind: 'hash'; readonly keySelector: KeySelectorFn };

/** Flink's names for partitioners, as shown in plans and the REST API (`ship_strategy`). */
export function shipStrategyName(p: PartitionerSpec): string {
  switch (p.kind) {
    case 'forward':
      return 'FORWARD';
    case 'rebalance':
      return 'REBALANCE';
    case 'rescale':
      return 'RESCALE';
    case 'shuffle':
      return 'SHUFFLE';
    case 'broadcast':
      return 'BROADCAST';
    case 'global':
      return 'GLOBAL';
    case 'hash':
      return 'HASH';
  }
}

/** Whether consumers of this edge see every producer (an all-to-all exchange). */
export function isPointwise(p: PartitionerSpec): boolean {
  return p.kind === 'forward' || p.kind === 'rescale';
}
