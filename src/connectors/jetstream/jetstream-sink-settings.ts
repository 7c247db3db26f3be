/** The settings a JetStreamSink's writers and committer share. */
import type { DeliveryGuarantee } from '../../api/delivery-guarantee.js';

export interface JetStreamSinkSettings<T> {
  readonly servers: readonly string[];
  /** Fixed subject, or undefined when `subjectSelector` picks one per record. */
  readonly subject: string | undefined;
  readonly subjectSelector: ((record: T) => string) | undefined;
  readonly serialize: (record: T) => Uint8Array;
  readonly deliveryGuarantee: DeliveryGuarantee;
  /** Starts every message id; with the operator id, subtask and checkpoint it makes ids unique. */
  readonly transactionalIdPrefix: string;
}

/** The id of the `n`-th batch a subtask began after `checkpoint` (the restored one, or 0). */
export function batchId(
  prefix: string,
  operatorId: string,
  subtask: number,
  checkpoint: number,
  n: number,
): string {
  return `${prefix}:${operatorId}:${subtask}:${checkpoint}:${n}`;
}
