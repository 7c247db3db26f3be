/**
 * RuntimeExecutionMode (`execution.runtime-mode`): STREAMING, BATCH for bounded jobs, or
 * AUTOMATIC (BATCH when every source is bounded). Decided when the job is submitted.
 */
import { invalidProgram } from '../core/errors.js';
import { logger } from '../core/log.js';
import type { Transformation } from '../graph/transformation.js';
import type { OperatorFactory } from './operators/stream-operator.js';

/** The runtime modes, as Flink's enum: `RuntimeExecutionMode.BATCH`, or the string `'BATCH'`. */
export const RuntimeExecutionMode = {
  STREAMING: 'STREAMING',
  BATCH: 'BATCH',
  AUTOMATIC: 'AUTOMATIC',
} as const;
/** One of the RuntimeExecutionMode values. */
export type RuntimeExecutionMode = (typeof RuntimeExecutionMode)[keyof typeof RuntimeExecutionMode];

/**
 * The mode a job runs in: AUTOMATIC becomes BATCH when every source is bounded, else STREAMING.
 * BATCH with an unbounded source is refused with Flink's message.
 */
export function resolveRuntimeMode(
  mode: RuntimeExecutionMode,
  transformations: readonly Transformation<OperatorFactory>[],
): 'STREAMING' | 'BATCH' {
  if (mode === 'STREAMING') return 'STREAMING';
  const unbounded = transformations.find(
    (t) => t.role === 'source' && t.operator.source?.getBoundedness() !== 'BOUNDED',
  );
  if (mode === 'AUTOMATIC') return unbounded ? 'STREAMING' : 'BATCH';
  if (unbounded)
    throw invalidProgram(
      `Detected an UNBOUNDED source ('${unbounded.name}') with the 'execution.runtime-mode' set to 'BATCH'. ` +
        "This combination is not allowed, please set the 'execution.runtime-mode' to STREAMING or AUTOMATIC.",
    );
  return 'BATCH';
}

/** Flink's line when a BATCH job has checkpointing configured: it is switched off, not an error. */
export function logCheckpointingDisabledInBatch(): void {
  logger('environment').info(
    'Disabled Checkpointing. Checkpointing is not supported and not needed when executing jobs in BATCH mode.',
  );
}
