/** buildStreamGraph: parallelism and max parallelism resolution, default partitioners, program validation. */
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import type { PartitionerSpec } from './partitioner.js';
import { buildStreamGraph, type StreamGraphSettings } from './stream-graph.js';
import type { StreamGraph, StreamNode } from './stream-node.js';
import type { ChainingStrategy, Transformation } from './transformation.js';

interface Op {
  readonly kind: string;
}

interface Opts {
  name?: string;
  uid?: string;
  parallelism?: number;
  maxParallelism?: number;
  nonParallel?: boolean;
  chainingStrategy?: ChainingStrategy;
}

/** Builds transformations by hand, the way the DataStream API does. */
class Program {
  private nextId = 1;
  readonly all: Transformation<Op>[] = [];

  private add(
    role: Transformation<Op>['role'],
    kind: string,
    inputs: readonly (Transformation<Op> | [Transformation<Op>, PartitionerSpec])[],
    o: Opts,
  ): Transformation<Op> {
    const id = this.nextId++;
    const t: Transformation<Op> = {
      id,
      role,
      kind,
      name: o.name ?? `${kind}-${id}`,
      uid: o.uid,
      parallelism: o.parallelism,
      nonParallel: o.nonParallel ?? false,
      maxParallelism: o.maxParallelism,
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

  source(o: Opts = {}): Transformation<Op> {
    return this.add('source', 'Source', [], o);
  }
  op(
    kind: string,
    inputs: readonly (Transformation<Op> | [Transformation<Op>, PartitionerSpec])[],
    o: Opts = {},
  ) {
    return this.add('operator', kind, inputs, o);
  }
  sink(input: Transformation<Op> | [Transformation<Op>, PartitionerSpec], o: Opts = {}): Transformation<Op> {
    return this.add('sink', 'Sink', [input], o);
  }
}

const settings = (s: Partial<StreamGraphSettings> = {}): StreamGraphSettings => ({
  jobName: 'job',
  defaultParallelism: 2,
  maxParallelism: -1,
  chainingEnabled: true,
  ...s,
});

function node(g: StreamGraph<Op>, name: string): StreamNode<Op> {
  const n = g.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

function rejection(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    expect((e as SluiceError).code).toBe('SLUICE_PROGRAM_INVALID');
    return e as SluiceError;
  }
  throw new Error('expected the program to be rejected');
}

describe('buildStreamGraph', () => {
  it('wires nodes and edges in id order, carrying job name and chaining flag', () => {
    const p = new Program();
    const src = p.source({ name: 'src' });
    const map = p.op('Map', [src], { name: 'map' });
    p.sink(map, { name: 'sink' });
    const g = buildStreamGraph([...p.all].reverse(), settings({ jobName: 'my job', chainingEnabled: false }));
    expect(g.jobName).toBe('my job');
    expect(g.chainingEnabled).toBe(false);
    expect(g.nodes.map((n) => n.name)).toEqual(['src', 'map', 'sink']);
    const m = node(g, 'map');
    expect(m.inEdges.map((e) => e.source.name)).toEqual(['src']);
    expect(m.outEdges.map((e) => e.target.name)).toEqual(['sink']);
    expect(node(g, 'src').outEdges[0]).toBe(m.inEdges[0]);
    expect(m.transformation).toBe(map);
  });

  it('uses forward by default between equal parallelisms and rebalance otherwise', () => {
    const p = new Program();
    const src = p.source({ name: 'src', parallelism: 2 });
    const same = p.op('Map', [src], { name: 'same', parallelism: 2 });
    const wider = p.op('Map', [same], { name: 'wider', parallelism: 4 });
    const defaulted = p.op('Map', [wider], { name: 'defaulted' }); // default parallelism 2
    p.sink(defaulted, { name: 'sink' });
    const g = buildStreamGraph(p.all, settings({ defaultParallelism: 2 }));
    expect(node(g, 'same').inEdges[0]!.partitioner).toEqual({ kind: 'forward' });
    expect(node(g, 'wider').inEdges[0]!.partitioner).toEqual({ kind: 'rebalance' });
    expect(node(g, 'defaulted').inEdges[0]!.partitioner).toEqual({ kind: 'rebalance' });
    expect(node(g, 'defaulted').parallelism).toBe(2);
    expect(node(g, 'sink').inEdges[0]!.partitioner).toEqual({ kind: 'forward' });
  });

  it('keeps a partitioner the user chose', () => {
    const p = new Program();
    const keySelector = (v: unknown): unknown => v;
    const src = p.source({ name: 'src' });
    const keyed = p.op('KeyedProcess', [[src, { kind: 'hash', keySelector }]], { name: 'keyed' });
    const bc = p.op('Map', [[keyed, { kind: 'broadcast' }]], { name: 'bc', parallelism: 3 });
    p.sink([bc, { kind: 'rebalance' }], { name: 'sink', parallelism: 3 });
    const g = buildStreamGraph(p.all, settings());
    const hash = node(g, 'keyed').inEdges[0]!.partitioner;
    expect(hash.kind).toBe('hash');
    expect(hash.kind === 'hash' && hash.keySelector).toBe(keySelector);
    expect(node(g, 'bc').inEdges[0]!.partitioner).toEqual({ kind: 'broadcast' });
    expect(node(g, 'sink').inEdges[0]!.partitioner).toEqual({ kind: 'rebalance' });
  });

  it('rejects forward() between different parallelisms, naming both operators', () => {
    const p = new Program();
    const src = p.source({ name: 'numbers', parallelism: 1 });
    p.sink([src, { kind: 'forward' }], { name: 'printer', parallelism: 2 });
    const err = rejection(() => buildStreamGraph(p.all, settings()));
    expect(err.message).toContain("forward() from 'numbers' (parallelism 1) to 'printer' (parallelism 2)");
    expect(err.message).toContain('use rebalance() or rescale()');
  });

  it('accepts forward() between equal parallelisms', () => {
    const p = new Program();
    const src = p.source({ parallelism: 3 });
    p.sink([src, { kind: 'forward' }], { parallelism: 3 });
    expect(buildStreamGraph(p.all, settings()).nodes[1]!.inEdges[0]!.partitioner).toEqual({
      kind: 'forward',
    });
  });

  it('rejects a program without a sink', () => {
    const p = new Program();
    p.op('Map', [p.source()]);
    const err = rejection(() => buildStreamGraph(p.all, settings()));
    expect(err.message).toContain('no sink');
    expect(err.message).toContain('print(), sinkTo(sink)');
    expect(rejection(() => buildStreamGraph([], settings())).message).toContain('no sink');
  });

  it('rejects a duplicate uid, naming both operators', () => {
    const p = new Program();
    const src = p.source({ name: 'src', uid: 'same' });
    p.sink(p.op('Map', [src], { name: 'map', uid: 'same' }));
    const err = rejection(() => buildStreamGraph(p.all, settings()));
    expect(err.message).toContain("uid 'same' is used by both 'src' and 'map'");
  });

  it('rejects parallelism above the max parallelism, from the operator or the environment', () => {
    const p = new Program();
    p.sink(p.source({ name: 'src', parallelism: 8, maxParallelism: 4 }), {
      parallelism: 8,
      maxParallelism: 16,
    });
    expect(rejection(() => buildStreamGraph(p.all, settings())).message).toContain(
      "operator 'src': parallelism 8 is above max parallelism 4",
    );
    const q = new Program();
    q.sink(q.source({ name: 'wide', parallelism: 300 }));
    expect(rejection(() => buildStreamGraph(q.all, settings({ maxParallelism: 256 }))).message).toContain(
      "operator 'wide': parallelism 300 is above max parallelism 256",
    );
  });

  it('rejects a non-parallel operator given parallelism 2', () => {
    const p = new Program();
    p.sink(p.source({ name: 'collection', nonParallel: true, parallelism: 2 }));
    expect(rejection(() => buildStreamGraph(p.all, settings())).message).toContain(
      "operator 'collection' cannot run in parallel; its parallelism must be 1, got 2",
    );
  });

  it('runs a non-parallel operator with parallelism 1 whatever the default', () => {
    const p = new Program();
    const src = p.source({ name: 'collection', nonParallel: true });
    p.sink(src, { name: 'sink' });
    const q = new Program();
    q.sink(q.source({ name: 'one', nonParallel: true, parallelism: 1 }));
    const g = buildStreamGraph(p.all, settings({ defaultParallelism: 4 }));
    expect(node(g, 'collection').parallelism).toBe(1);
    expect(node(g, 'sink').parallelism).toBe(4);
    expect(node(g, 'sink').inEdges[0]!.partitioner).toEqual({ kind: 'rebalance' });
    expect(buildStreamGraph(q.all, settings()).nodes[0]!.parallelism).toBe(1);
  });

  it('rejects a non-positive or fractional parallelism', () => {
    for (const bad of [0, -1, 1.5]) {
      const p = new Program();
      p.sink(p.source({ name: 'src', parallelism: bad }));
      expect(rejection(() => buildStreamGraph(p.all, settings())).message).toContain(
        `parallelism must be a positive integer, got ${bad}`,
      );
    }
  });

  it('computes the default max parallelism per operator from its own parallelism', () => {
    const p = new Program();
    const src = p.source({ name: 'src', parallelism: 1 });
    const big = p.op('Map', [src], { name: 'big', parallelism: 200 });
    const fixed = p.op('Map', [big], { name: 'fixed', parallelism: 2, maxParallelism: 7 });
    p.sink(fixed, { name: 'sink', parallelism: 30000 });
    const g = buildStreamGraph(p.all, settings());
    expect(node(g, 'src').maxParallelism).toBe(128);
    expect(node(g, 'big').maxParallelism).toBe(512);
    expect(node(g, 'fixed').maxParallelism).toBe(7);
    expect(node(g, 'sink').maxParallelism).toBe(32768);
  });

  it('uses the environment max parallelism when set, unless the operator sets its own', () => {
    const p = new Program();
    const src = p.source({ name: 'src', parallelism: 200 });
    p.sink(src, { name: 'sink', maxParallelism: 4 });
    const g = buildStreamGraph(p.all, settings({ maxParallelism: 1000 }));
    expect(node(g, 'src').maxParallelism).toBe(1000);
    expect(node(g, 'sink').maxParallelism).toBe(4);
  });

  it('rejects an input from another environment', () => {
    const other = new Program();
    other.source();
    const foreign = other.source({ name: 'foreign' }); // id 2: not in the program below
    const p = new Program();
    p.sink(foreign, { name: 'sink' });
    expect(rejection(() => buildStreamGraph(p.all, settings())).message).toContain(
      "operator 'sink' reads from an operator of another environment",
    );
  });

  it('rejects an input from another environment even when its id is taken here (regression)', () => {
    // Ids are counters per environment, so two environments' first sources both have id 1. The
    // sink used to be wired silently to this program's own source instead of being rejected.
    const other = new Program();
    const foreign = other.source({ name: 'foreign' });
    const p = new Program();
    p.source({ name: 'local' });
    p.sink(foreign, { name: 'sink' });
    expect(foreign.id).toBe(p.all[0]!.id);
    expect(rejection(() => buildStreamGraph(p.all, settings())).message).toContain(
      "operator 'sink' reads from an operator of another environment",
    );
  });
});
