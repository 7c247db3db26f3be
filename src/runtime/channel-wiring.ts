/**
 * Which consumer subtasks each producer subtask of an edge talks to. All-to-all partitioners
 * connect everything; forward and rescale are pointwise (as Flink's DistributionPattern).
 */
import { isPointwise, type PartitionerSpec } from '../graph/partitioner.js';

/** The consumer subtask indexes producer `i` of `p` writes to, in subpartition order. */
export function consumersOf(partitioner: PartitionerSpec, i: number, p: number, c: number): number[] {
  if (!isPointwise(partitioner)) return Array.from({ length: c }, (_, j) => j);
  if (p === c) return [i];
  if (p > c) {
    // Consumer j reads producers [floor(j·p/c), floor((j+1)·p/c)), as Flink's pointwise pattern.
    for (let j = 0; j < c; j++) if (i < Math.floor(((j + 1) * p) / c)) return [j];
  }
  const start = Math.ceil((i * c) / p);
  const end = Math.ceil(((i + 1) * c) / p);
  return Array.from({ length: end - start }, (_, k) => start + k);
}

/** The producer subtask indexes consumer `j` of `c` reads from (the inverse of consumersOf). */
export function producersOf(partitioner: PartitionerSpec, j: number, p: number, c: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < p; i++) if (consumersOf(partitioner, i, p, c).includes(j)) out.push(i);
  return out;
}
