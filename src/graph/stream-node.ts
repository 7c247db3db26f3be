/** The stream graph's data types: nodes (operators) and edges (exchanges). */
import type { OperatorId } from '../core/ids.js';
import type { PartitionerSpec } from './partitioner.js';
import type { SideOutputSpec, Transformation } from './transformation.js';

/** One operator of the stream graph. */
export interface StreamNode<F> {
  readonly id: number;
  readonly transformation: Transformation<F>;
  readonly name: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  operatorId: OperatorId;
  readonly inEdges: StreamEdge<F>[];
  readonly outEdges: StreamEdge<F>[];
}

/** A data exchange between two operators. */
export interface StreamEdge<F> {
  readonly source: StreamNode<F>;
  readonly target: StreamNode<F>;
  readonly partitioner: PartitionerSpec;
  /** Which input of a two-input target this edge feeds (1 or 2); absent for one-input targets. */
  readonly typeNumber?: 1 | 2;
  /** Set when the edge carries one of the source's side outputs rather than its main output. */
  readonly sideOutput?: SideOutputSpec | undefined;
}

/** The whole program, nodes in creation (hence topological) order. */
export interface StreamGraph<F> {
  readonly jobName: string;
  readonly nodes: readonly StreamNode<F>[];
  readonly chainingEnabled: boolean;
}
