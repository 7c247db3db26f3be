/** The logical plan the DataStream API builds: one node per operation, in creation order. */
import type { TypeSerializer } from '../core/serializer.js';
import type { KeySelectorFn, PartitionerSpec } from './partitioner.js';

/** Whether an operator may be chained to its predecessor (`always`), only start a chain, or neither. */
export type ChainingStrategy = 'always' | 'head' | 'never';

/**
 * A side output of an operator (Flink's OutputTag on a stream edge): the records the operator
 * emits with `output(tag, value)` for this tag id, instead of its main output.
 */
export interface SideOutputSpec {
  readonly tagId: string;
  /** The serializer the tag's records cross the network with (undefined: msgpack). */
  readonly serializer: TypeSerializer<unknown> | undefined;
}

/** One input of a transformation: the producer and, if the user chose one, the partitioning. */
export interface TransformationInput<F> {
  readonly node: Transformation<F>;
  readonly partitioner: PartitionerSpec | undefined;
  /**
   * Which input of a two-input operator this is (Flink's StreamEdge typeNumber: 1 or 2); absent
   * for one-input operators, whose inputs (a union) are all alike.
   */
  readonly typeNumber?: 1 | 2;
  /** Set when the input is one of the producer's side outputs (`getSideOutput(tag)`). */
  readonly sideOutput?: SideOutputSpec | undefined;
}

/**
 * One operation of the program. `operator` is opaque to the graph (the API layer defines it).
 * Mutable fields are set by the fluent API (`.name()`, `.uid()`, `.setParallelism()`).
 */
export interface Transformation<F> {
  readonly id: number;
  /** `source`, `operator` or `sink`: sources have no inputs, sinks have no consumers. */
  readonly role: 'source' | 'operator' | 'sink';
  /** A short operator kind for plans and hashing (`Map`, `Filter`, `KeyedProcess`, …). */
  readonly kind: string;
  name: string;
  uid: string | undefined;
  /** A longer description for plans and the web UI (`setDescription`). */
  description?: string;
  /** Explicit parallelism; undefined takes the environment default. */
  parallelism: number | undefined;
  /** True when the operator cannot run in parallel (collection sources, the collect sink). */
  readonly nonParallel: boolean;
  maxParallelism: number | undefined;
  chainingStrategy: ChainingStrategy;
  readonly inputs: readonly TransformationInput<F>[];
  /** Key selector of a keyed operator's input (the keyBy before it), for its state backend. */
  readonly keySelector: KeySelectorFn | undefined;
  /** Serializer of this operator's output records across network exchanges. */
  serializer: TypeSerializer<unknown> | undefined;
  readonly operator: F;
}
