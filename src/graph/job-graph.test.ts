/** buildJobGraph: which stream edges chain into one job vertex, vertex names, ids and the edges left between vertices. */
import { describe, expect, it } from 'vitest';
import type { JobId } from '../core/ids.js';
import { buildJobGraph, isChainable, type JobGraph } from './job-graph.js';
import type { PartitionerSpec } from './partitioner.js';
import { buildStreamGraph } from './stream-graph.js';
import type { ChainingStrategy, Transformation } from './transformation.js';

interface Op {
  readonly kind: string;
}
interface Opts {
  parallelism?: number;
  chainingStrategy?: ChainingStrategy;
}
type Input = Transformation<Op> | [Transformation<Op>, PartitionerSpec];

/** Builds transformations by hand, the way the DataStream API does; names are given. */
class Program {
  private nextId = 0;
  readonly all: Transformation<Op>[] = [];

  add(name: string, kind: string, inputs: readonly Input[], o: Opts = {}): Transformation<Op> {
    const t: Transformation<Op> = {
      id: this.nextId++,
      role: kind === 'Sink' ? 'sink' : inputs.length === 0 ? 'source' : 'operator',
      kind,
      name,
      uid: undefined,
      parallelism: o.parallelism,
      nonParallel: false,
      maxParallelism: undefined,
      chainingStrategy: o.chainingStrategy ?? 'always',
      inputs: inputs.map((i) =>
        Array.isArray(i) ? { node: i[0], partitioner: i[1] } : { node: i, partitioner: undefined },
      ),
      keySelector: undefined,
      serializer: undefined,
      operator: { kind },
    };
    this.all.push(t);
    return t;
  }

  jobGraph(chainingEnabled = true): JobGraph<Op> {
    return buildJobGraph(
      buildStreamGraph(this.all, {
        jobName: 'j',
        defaultParallelism: 2,
        maxParallelism: -1,
        chainingEnabled,
      }),
    );
  }
}

/** Vertex chains as lists of operator names. */
const chains = (g: JobGraph<Op>): string[][] => g.vertices.map((v) => v.chain.map((n) => n.name));
/** Job edges as `source vertex name => target vertex name (SHIP)`. */
const edges = (g: JobGraph<Op>): string[] =>
  g.edges.map((e) => `${e.source.name} => ${e.target.name} (${e.streamEdge.partitioner.kind})`);

/** src → a → b → sink with per-node options and a partitioner on the a → b edge. */
function line(o: { src?: Opts; a?: Opts; b?: Opts; sink?: Opts; ab?: PartitionerSpec } = {}): Program {
  const p = new Program();
  const src = p.add('src', 'Source', [], o.src);
  const a = p.add('a', 'Map', [src], o.a);
  const b = p.add('b', 'Map', [o.ab ? [a, o.ab] : a], o.b);
  p.add('sink', 'Sink', [b], o.sink);
  return p;
}

describe('buildJobGraph chaining', () => {
  it('chains forward edges between equal parallelisms into one vertex named with " -> "', () => {
    const g = line().jobGraph();
    expect(chains(g)).toEqual([['src', 'a', 'b', 'sink']]);
    expect(g.vertices[0]!.name).toBe('src -> a -> b -> sink');
    expect(g.edges).toEqual([]);
  });

  it('breaks the chain where the parallelism changes', () => {
    const g = line({ b: { parallelism: 3 }, sink: { parallelism: 3 } }).jobGraph();
    expect(chains(g)).toEqual([
      ['src', 'a'],
      ['b', 'sink'],
    ]);
    expect(edges(g)).toEqual(['src -> a => b -> sink (rebalance)']);
    expect(g.vertices.map((v) => v.parallelism)).toEqual([2, 3]);
  });

  it('breaks the chain at an explicit rebalance between equal parallelisms', () => {
    const g = line({ ab: { kind: 'rebalance' } }).jobGraph();
    expect(chains(g)).toEqual([
      ['src', 'a'],
      ['b', 'sink'],
    ]);
    expect(edges(g)).toEqual(['src -> a => b -> sink (rebalance)']);
  });

  it.each<PartitionerSpec>([
    { kind: 'hash', keySelector: (v: unknown) => v },
    { kind: 'broadcast' },
    { kind: 'rescale' },
    { kind: 'shuffle' },
    { kind: 'global' },
  ])('breaks the chain at a $kind edge', (partitioner) => {
    const g = line({ ab: partitioner }).jobGraph();
    expect(chains(g)).toEqual([
      ['src', 'a'],
      ['b', 'sink'],
    ]);
    expect(g.edges[0]!.streamEdge.partitioner).toBe(partitioner);
  });

  it("does not chain an operator with chaining strategy 'never' to either neighbour", () => {
    const g = line({ a: { chainingStrategy: 'never' } }).jobGraph();
    expect(chains(g)).toEqual([['src'], ['a'], ['b', 'sink']]);
    expect(edges(g)).toEqual(['src => a (forward)', 'a => b -> sink (forward)']);
  });

  it("starts a new chain at an operator with chaining strategy 'head', which its successors join", () => {
    const g = line({ b: { chainingStrategy: 'head' } }).jobGraph();
    expect(chains(g)).toEqual([
      ['src', 'a'],
      ['b', 'sink'],
    ]);
    // A 'head' source still takes chainable successors.
    expect(chains(line({ src: { chainingStrategy: 'head' } }).jobGraph())).toEqual([
      ['src', 'a', 'b', 'sink'],
    ]);
  });

  it('makes one vertex per operator when chaining is disabled', () => {
    const g = line().jobGraph(false);
    expect(chains(g)).toEqual([['src'], ['a'], ['b'], ['sink']]);
    expect(edges(g)).toEqual(['src => a (forward)', 'a => b (forward)', 'b => sink (forward)']);
  });

  it('breaks chains into an operator with two inputs', () => {
    const p = new Program();
    const s1 = p.add('s1', 'Source', []);
    const s2 = p.add('s2', 'Source', []);
    const union = p.add('union', 'Union', [s1, s2]);
    const after = p.add('after', 'Map', [union]);
    p.add('sink', 'Sink', [after]);
    const g = p.jobGraph();
    expect(chains(g)).toEqual([['s1'], ['s2'], ['union', 'after', 'sink']]);
    expect(edges(g)).toEqual([
      's1 => union -> after -> sink (forward)',
      's2 => union -> after -> sink (forward)',
    ]);
    const target = g.vertices[2]!;
    expect(target.inputs.map((e) => e.source.name)).toEqual(['s1', 's2']);
  });

  it('puts both chainable outputs of an operator in the same vertex', () => {
    const p = new Program();
    const src = p.add('src', 'Source', []);
    const left = p.add('left', 'Map', [src]);
    const right = p.add('right', 'Filter', [src]);
    p.add('left sink', 'Sink', [left]);
    p.add('right sink', 'Sink', [right]);
    const g = p.jobGraph();
    expect(chains(g)).toEqual([['src', 'left', 'right', 'left sink', 'right sink']]);
    expect(g.vertices[0]!.name).toBe('src -> left -> right -> left sink -> right sink');
  });

  it('chains one output and ships the other when only one is chainable', () => {
    const p = new Program();
    const src = p.add('src', 'Source', []);
    const left = p.add('left', 'Map', [src]);
    const right = p.add('right', 'Map', [src], { parallelism: 4 });
    p.add('left sink', 'Sink', [left]);
    p.add('right sink', 'Sink', [right], { parallelism: 4 });
    const g = p.jobGraph();
    expect(chains(g)).toEqual([
      ['src', 'left', 'left sink'],
      ['right', 'right sink'],
    ]);
    expect(edges(g)).toEqual(['src -> left -> left sink => right -> right sink (rebalance)']);
    // The edge starts at the chained 'src' operator, inside the first vertex.
    expect(g.edges[0]!.streamEdge.source.name).toBe('src');
  });
});

describe('buildJobGraph structure', () => {
  it('numbers vertices and edges in order and links them both ways', () => {
    const g = line({ ab: { kind: 'rebalance' }, sink: { parallelism: 5 } }).jobGraph();
    expect(g.vertices.map((v) => v.index)).toEqual([0, 1, 2]);
    expect(g.edges.map((e) => e.index)).toEqual([0, 1]);
    for (const e of g.edges) {
      expect(e.source.outputs).toContain(e);
      expect(e.target.inputs).toContain(e);
      expect(e.source.chain).toContain(e.streamEdge.source);
      expect(e.target.chain[0]).toBe(e.streamEdge.target);
    }
    expect(g.vertices[0]!.inputs).toEqual([]);
    expect(g.vertices[2]!.outputs).toEqual([]);
  });

  it("takes the vertex id, parallelism and max parallelism from the chain's head", () => {
    const g = line({ b: { parallelism: 300 }, sink: { parallelism: 300 } }).jobGraph();
    const [first, second] = g.vertices;
    expect(first!.id).toBe(first!.chain[0]!.operatorId);
    expect(second!.id).toBe(second!.chain[0]!.operatorId);
    expect(first!.id).not.toBe(second!.id);
    expect([second!.parallelism, second!.maxParallelism]).toEqual([300, 512]);
    expect([first!.parallelism, first!.maxParallelism]).toEqual([2, 128]);
  });

  it('uses the given job id, or a fresh one', () => {
    const sg = buildStreamGraph(line().all, {
      jobName: 'named',
      defaultParallelism: 1,
      maxParallelism: -1,
      chainingEnabled: true,
    });
    const id = '0123456789abcdef0123456789abcdef' as JobId;
    const g = buildJobGraph(sg, id);
    expect(g.jobId).toBe(id);
    expect(g.jobName).toBe('named');
    expect(g.streamGraph).toBe(sg);
    const a = buildJobGraph(sg).jobId;
    expect(a).toMatch(/^[0-9a-f]{32}$/u);
    expect(buildJobGraph(sg).jobId).not.toBe(a);
  });
});

describe('isChainable', () => {
  it('requires chaining to be enabled', () => {
    const sg = buildStreamGraph(line().all, {
      jobName: 'j',
      defaultParallelism: 1,
      maxParallelism: -1,
      chainingEnabled: true,
    });
    const edge = sg.nodes[1]!.outEdges[0]!;
    expect(isChainable(edge, true)).toBe(true);
    expect(isChainable(edge, false)).toBe(false);
  });
});
