/**
 * Pipelined regions (Flink's SchedulingPipelinedRegion): in a streaming job every exchange is
 * pipelined, so a region is a set of subtasks connected by channels. `keyBy` or `rebalance`
 * connect everything into one region; a job of forward edges only has one region per subtask.
 */
import type { OperatorFactory } from '../api/operators/stream-operator.js';
import type { JobGraph } from '../graph/job-graph.js';
import { consumersOf } from '../runtime/channel-wiring.js';

/** The region of every subtask (`regions[vertexIndex][subtask]`, numbered from 0) and their count. */
export function pipelinedRegions(jobGraph: JobGraph<OperatorFactory>): {
  readonly regions: readonly (readonly number[])[];
  readonly count: number;
} {
  const base: number[] = [];
  let n = 0;
  for (const v of jobGraph.vertices) {
    base.push(n);
    n += v.parallelism;
  }
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  for (const edge of jobGraph.edges)
    for (let i = 0; i < edge.source.parallelism; i++)
      for (const j of consumersOf(
        edge.streamEdge.partitioner,
        i,
        edge.source.parallelism,
        edge.target.parallelism,
      ))
        parent[find(base[edge.source.index]! + i)] = find(base[edge.target.index]! + j);
  const numbering = new Map<number, number>();
  const regions = jobGraph.vertices.map((v) =>
    Array.from({ length: v.parallelism }, (_, s) => {
      const root = find(base[v.index]! + s);
      let id = numbering.get(root);
      if (id === undefined) numbering.set(root, (id = numbering.size));
      return id;
    }),
  );
  return { regions, count: numbering.size };
}
