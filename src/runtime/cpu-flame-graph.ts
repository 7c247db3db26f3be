/**
 * Samples this process's CPU with V8's profiler (node:inspector) and folds the profile into the
 * tree of Flink's flame graphs (`{ name, value, children }`, value = samples in the subtree).
 * A TaskManager is one event loop, so the profile covers every task it runs; frames keep their
 * JavaScript function names, so a user function shows by name.
 */
import { Session } from 'node:inspector/promises';
import { basename } from 'node:path';

/** A node of Flink's flame graph (VertexFlameGraph.Node): a stack frame and its samples. */
export interface FlameGraphNode {
  readonly name: string;
  readonly value: number;
  readonly children: readonly FlameGraphNode[];
}

/** How to sample (Flink's `rest.flamegraph.*` options). */
export interface CpuSampling {
  /** Samples to take (`rest.flamegraph.num-samples`). */
  readonly numSamples: number;
  /** Time between two samples, ms (`rest.flamegraph.delay-between-samples`). */
  readonly delayBetweenSamplesMs: number;
  /** Frames kept from the root of each stack (`rest.flamegraph.stack-depth`). */
  readonly stackDepth: number;
}

/** The name of the tree's root, as Flink's JobVertexFlameGraphFactory names it. */
export const FLAME_GRAPH_ROOT = 'root';

/** What V8's `Profiler.stop` returns (the parts used here). */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
    readonly hitCount?: number;
    readonly children?: readonly number[];
  }[];
}

/** The sampling running now, shared by requests for the same settings (V8 runs one profile well). */
let running: { readonly key: string; readonly result: Promise<FlameGraphNode> } | undefined;

/** Profiles this process for `numSamples × delayBetweenSamplesMs` and returns the folded tree. */
export function sampleCpu(sampling: CpuSampling): Promise<FlameGraphNode> {
  const key = `${sampling.numSamples}/${sampling.delayBetweenSamplesMs}/${sampling.stackDepth}`;
  if (running?.key === key) return running.result;
  const previous = running?.result.catch(() => undefined);
  const result = (async () => {
    await previous;
    return profile(sampling);
  })();
  const entry = { key, result };
  running = entry;
  const clear = () => {
    if (running === entry) running = undefined;
  };
  result.then(clear, clear);
  return result;
}

async function profile(sampling: CpuSampling): Promise<FlameGraphNode> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', {
      interval: Math.max(1, Math.round(sampling.delayBetweenSamplesMs * 1000)),
    });
    await session.post('Profiler.start');
    // The window of Flink's sampling: its number of samples, a delay apart.
    await new Promise((resolve) =>
      setTimeout(resolve, sampling.numSamples * sampling.delayBetweenSamplesMs).unref(),
    );
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    return foldProfile(profile, sampling.stackDepth);
  } finally {
    session.disconnect();
  }
}

/** A frame as the graph names it: `function (file:line)`, V8's own `(idle)`, `(program)`, `(garbage collector)` as they are. */
function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const fn = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return fn;
  return `${fn} (${basename(frame.url)}:${frame.lineNumber + 1})`;
}

/**
 * V8's call tree as Flink's flame graph: each node's value counts the samples of its subtree,
 * frames deeper than `stackDepth` count in their ancestor at that depth, and siblings with the
 * same name (the same function called from one caller at several lines) are merged.
 */
export function foldProfile(profile: CpuProfile, stackDepth: number): FlameGraphNode {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  const root = profile.nodes.find((n) => !childIds.has(n.id));
  const fold = (id: number, depth: number): { self: number; children: FlameGraphNode[] } => {
    const node = byId.get(id)!;
    let self = node.hitCount ?? 0;
    const children: FlameGraphNode[] = [];
    for (const childId of node.children ?? []) {
      const child = fold(childId, depth + 1);
      const value = child.self + child.children.reduce((n, c) => n + c.value, 0);
      if (value === 0) continue;
      if (depth >= stackDepth) self += value;
      else children.push({ name: frameName(byId.get(childId)!.callFrame), value, children: child.children });
    }
    return { self, children };
  };
  const top = root ? fold(root.id, 0) : { self: 0, children: [] };
  const value = top.self + top.children.reduce((n, c) => n + c.value, 0);
  return mergeFlameGraphs([{ name: FLAME_GRAPH_ROOT, value, children: top.children }]);
}

/** Trees of several processes (or siblings of one) as one: nodes of the same name at the same place add up. */
export function mergeFlameGraphs(trees: readonly FlameGraphNode[]): FlameGraphNode {
  const merge = (name: string, nodes: readonly FlameGraphNode[]): FlameGraphNode => {
    const byName = new Map<string, FlameGraphNode[]>();
    for (const node of nodes)
      for (const child of node.children) {
        const same = byName.get(child.name);
        if (same) same.push(child);
        else byName.set(child.name, [child]);
      }
    return {
      name,
      value: nodes.reduce((n, node) => n + node.value, 0),
      children: [...byName].map(([childName, same]) => merge(childName, same)),
    };
  };
  return merge(FLAME_GRAPH_ROOT, trees);
}
