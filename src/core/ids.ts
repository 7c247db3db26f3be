/** Branded identifiers, so a job id cannot be passed where an operator id is expected. */
import { randomBytes } from 'node:crypto';

declare const brand: unique symbol;
/** `T` marked as a `B`, so values of different brands cannot be mixed up. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A job's id: 32 lowercase hex characters, as Flink's JobID. */
export type JobId = Brand<string, 'JobId'>;
/** A stable operator id: 32 hex characters, from `uid()` or from the graph's shape. */
export type OperatorId = Brand<string, 'OperatorId'>;
/** A job vertex id (the id of the head operator of its chain). */
export type JobVertexId = Brand<string, 'JobVertexId'>;
/** A checkpoint id: positive, increasing per job. */
export type CheckpointId = Brand<number, 'CheckpointId'>;

/** A fresh random job id. */
export function newJobId(): JobId {
  return randomBytes(16).toString('hex') as JobId;
}

/** Casts a 32-hex-character string to an OperatorId. */
export function operatorId(hex: string): OperatorId {
  return hex as OperatorId;
}

/** Casts a 32-hex-character string to a JobVertexId. */
export function jobVertexId(hex: string): JobVertexId {
  return hex as JobVertexId;
}
