/** StreamGraph: the program's operators with resolved parallelism, partitioning and stable ids. */
import { invalidProgram } from '../core/errors.js';
import type { OperatorId } from '../core/ids.js';
import { checkParallelism, computeDefaultMaxParallelism } from '../core/key-groups.js';
import { assignOperatorIds } from './operator-ids.js';
import type { PartitionerSpec } from './partitioner.js';
import type { StreamEdge, StreamGraph, StreamNode } from './stream-node.js';
import type { Transformation } from './transformation.js';

/** What the environment contributes to graph building. */
export interface StreamGraphSettings {
  readonly jobName: string;
  readonly defaultParallelism: number;
  /** The environment's max parallelism, or -1 to derive it per operator. */
  readonly maxParallelism: number;
  readonly chainingEnabled: boolean;
}

/**
 * Resolves parallelism, partitioners and operator ids, and rejects invalid programs with a
 * message that says what to change.
 */
export function buildStreamGraph<F>(
  transformations: readonly Transformation<F>[],
  settings: StreamGraphSettings,
): StreamGraph<F> {
  if (!transformations.some((t) => t.role === 'sink'))
    throw invalidProgram(
      'the job has no sink, so it would compute nothing observable; add print(), sinkTo(sink) or ' +
        'executeAndCollect() to the end of a stream.',
    );
  const byId = new Map<number, StreamNode<F>>();
  const nodes: StreamNode<F>[] = [];
  for (const t of [...transformations].sort((a, b) => a.id - b.id)) {
    const node = createNode(t, settings);
    byId.set(t.id, node);
    nodes.push(node);
    for (const input of t.inputs) {
      const source = byId.get(input.node.id);
      // By identity, not just id: ids are per environment, so another environment's node can share one.
      if (source?.transformation !== input.node)
        throw invalidProgram(`operator '${t.name}' reads from an operator of another environment.`);
      const partitioner = resolvePartitioner(input.partitioner, source, node);
      const edge: StreamEdge<F> = {
        source,
        target: node,
        partitioner,
        sideOutput: input.sideOutput,
        ...(input.typeNumber === undefined ? {} : { typeNumber: input.typeNumber }),
      };
      source.outEdges.push(edge);
      node.inEdges.push(edge);
    }
  }
  checkUids(nodes);
  assignOperatorIds(nodes);
  return { jobName: settings.jobName, nodes, chainingEnabled: settings.chainingEnabled };
}

function createNode<F>(t: Transformation<F>, settings: StreamGraphSettings): StreamNode<F> {
  const what = `operator '${t.name}'`;
  if (t.nonParallel && t.parallelism !== undefined && t.parallelism !== 1)
    throw invalidProgram(`${what} cannot run in parallel; its parallelism must be 1, got ${t.parallelism}.`);
  const parallelism = t.nonParallel ? 1 : (t.parallelism ?? settings.defaultParallelism);
  const maxParallelism =
    t.maxParallelism ??
    (settings.maxParallelism > 0 ? settings.maxParallelism : computeDefaultMaxParallelism(parallelism));
  checkParallelism(what, parallelism, maxParallelism);
  return {
    id: t.id,
    transformation: t,
    name: t.name,
    parallelism,
    maxParallelism,
    operatorId: '' as OperatorId,
    inEdges: [],
    outEdges: [],
  };
}

function resolvePartitioner<F>(
  chosen: PartitionerSpec | undefined,
  source: StreamNode<F>,
  target: StreamNode<F>,
): PartitionerSpec {
  if (!chosen) return source.parallelism === target.parallelism ? { kind: 'forward' } : { kind: 'rebalance' };
  if (chosen.kind === 'forward' && source.parallelism !== target.parallelism)
    throw invalidProgram(
      `forward() from '${source.name}' (parallelism ${source.parallelism}) to '${target.name}' ` +
        `(parallelism ${target.parallelism}) would change the parallelism, which forward partitioning cannot; ` +
        'give both the same parallelism or use rebalance() or rescale().',
    );
  return chosen;
}

function checkUids<F>(nodes: readonly StreamNode<F>[]): void {
  const seen = new Map<string, string>();
  for (const n of nodes) {
    const uid = n.transformation.uid;
    if (uid === undefined) continue;
    const other = seen.get(uid);
    if (other !== undefined)
      throw invalidProgram(
        `uid '${uid}' is used by both '${other}' and '${n.name}'; every uid must be unique.`,
      );
    seen.set(uid, n.name);
  }
}
