/** What a DataStream needs from its environment (kept apart so the two modules do not import each other). */
import type { TypeSerializer } from '../core/serializer.js';
import type { ChainingStrategy, Transformation, TransformationInput } from '../graph/transformation.js';
import type { KeySelectorFn } from '../graph/partitioner.js';
import type { CollectResult } from './collect.js';
import type { JobClient } from './execution.js';
import type { OperatorFactory } from './operators/stream-operator.js';

/** One input of a new operator. */
export type StreamInput = TransformationInput<OperatorFactory>;

/** A new transformation, before the environment gives it an id. */
export interface TransformationSpec {
  readonly role: 'source' | 'operator' | 'sink';
  readonly name: string;
  readonly inputs: readonly StreamInput[];
  readonly operator: OperatorFactory;
  readonly keySelector?: KeySelectorFn;
  readonly nonParallel?: boolean;
  readonly chainingStrategy?: ChainingStrategy;
  readonly serializer?: TypeSerializer<unknown>;
}

/** The environment as its streams see it. */
export interface StreamBuilder {
  /** @internal */
  addTransformation(spec: TransformationSpec): Transformation<OperatorFactory>;
  /** @internal Registers a collect sink's client end; returns its id. */
  registerCollect(target: CollectResult<unknown>): string;
  executeAsync(jobName?: string): Promise<JobClient>;
  /** @internal `pipeline.auto-watermark-interval` in ms, as configured when an operator opens. */
  autoWatermarkIntervalMs(): number;
}
