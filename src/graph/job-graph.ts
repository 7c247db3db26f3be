/** JobGraph: stream nodes chained into job vertices (one task per vertex per subtask). */
import { jobVertexId, newJobId, type JobId, type JobVertexId } from '../core/ids.js';
import type { StreamEdge, StreamGraph, StreamNode } from './stream-node.js';

/** A chain of operators that runs as one task per subtask, records passed by direct call. */
export interface JobVertex<F> {
  readonly id: JobVertexId;
  readonly index: number;
  readonly name: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** The chain's operators, head first, in topological order. */
  readonly chain: readonly StreamNode<F>[];
  readonly inputs: JobEdge<F>[];
  readonly outputs: JobEdge<F>[];
}

/** A network exchange between two job vertices. */
export interface JobEdge<F> {
  readonly index: number;
  readonly source: JobVertex<F>;
  readonly target: JobVertex<F>;
  readonly streamEdge: StreamEdge<F>;
}

/** The deployable job: vertices in topological order and the edges between them. */
export interface JobGraph<F> {
  readonly jobId: JobId;
  readonly jobName: string;
  readonly vertices: readonly JobVertex<F>[];
  readonly edges: readonly JobEdge<F>[];
  readonly streamGraph: StreamGraph<F>;
}

/** Flink's StreamingJobGraphGenerator.isChainable: a forward edge between equals, chaining on. */
export function isChainable<F>(edge: StreamEdge<F>, chainingEnabled: boolean): boolean {
  const { source, target } = edge;
  return (
    chainingEnabled &&
    target.inEdges.length === 1 &&
    edge.partitioner.kind === 'forward' &&
    source.parallelism === target.parallelism &&
    target.transformation.chainingStrategy === 'always' &&
    source.transformation.chainingStrategy !== 'never'
  );
}

/** Chains the stream graph into a job graph. */
export function buildJobGraph<F>(streamGraph: StreamGraph<F>, jobId: JobId = newJobId()): JobGraph<F> {
  const chainable = (e: StreamEdge<F>) => isChainable(e, streamGraph.chainingEnabled);
  const vertexOf = new Map<StreamNode<F>, JobVertex<F>>();
  const vertices: JobVertex<F>[] = [];
  for (const node of streamGraph.nodes) {
    const isHead = node.inEdges.length !== 1 || !chainable(node.inEdges[0]!);
    if (!isHead) continue;
    const chain: StreamNode<F>[] = [];
    const collect = (n: StreamNode<F>) => {
      chain.push(n);
      for (const e of n.outEdges) if (chainable(e)) collect(e.target);
    };
    collect(node);
    chain.sort((a, b) => a.id - b.id);
    const vertex: JobVertex<F> = {
      id: jobVertexId(node.operatorId),
      index: vertices.length,
      name: chain.map((n) => n.name).join(' -> '),
      parallelism: node.parallelism,
      maxParallelism: node.maxParallelism,
      chain,
      inputs: [],
      outputs: [],
    };
    for (const n of chain) vertexOf.set(n, vertex);
    vertices.push(vertex);
  }
  const edges: JobEdge<F>[] = [];
  for (const node of streamGraph.nodes) {
    for (const e of node.outEdges) {
      if (chainable(e)) continue;
      const edge: JobEdge<F> = {
        index: edges.length,
        source: vertexOf.get(e.source)!,
        target: vertexOf.get(e.target)!,
        streamEdge: e,
      };
      edge.source.outputs.push(edge);
      edge.target.inputs.push(edge);
      edges.push(edge);
    }
  }
  return { jobId, jobName: streamGraph.jobName, vertices, edges, streamGraph };
}
