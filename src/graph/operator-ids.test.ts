/** Stable operator ids: from uid() when given, otherwise from graph shape only (not parallelism, names or creation order). */
import { describe, expect, it } from 'vitest';
import type { OperatorId } from '../core/ids.js';
import { operatorIdFromUid } from './operator-ids.js';
import type { PartitionerSpec } from './partitioner.js';
import { buildStreamGraph } from './stream-graph.js';
import type { Transformation } from './transformation.js';

interface Op {
  readonly kind: string;
}
interface Opts {
  name?: string;
  uid?: string;
  parallelism?: number;
}
type Input = Transformation<Op> | [Transformation<Op>, PartitionerSpec];

/** Builds transformations by hand, the way the DataStream API does. */
class Program {
  private nextId = 0;
  readonly all: Transformation<Op>[] = [];

  add(
    role: Transformation<Op>['role'],
    kind: string,
    inputs: readonly Input[],
    o: Opts = {},
  ): Transformation<Op> {
    const id = this.nextId++;
    const t: Transformation<Op> = {
      id,
      role,
      kind,
      name: o.name ?? `${kind}-${id}`,
      uid: o.uid,
      parallelism: o.parallelism,
      nonParallel: false,
      maxParallelism: undefined,
      chainingStrategy: 'always',
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

  /** The operator ids, by node name. */
  ids(): Record<string, OperatorId> {
    const g = buildStreamGraph(this.all, {
      jobName: 'j',
      defaultParallelism: 2,
      maxParallelism: -1,
      chainingEnabled: true,
    });
    return Object.fromEntries(g.nodes.map((n) => [n.name, n.operatorId]));
  }
}

/** source → map → filter → sink, with optional per-node tweaks. */
function pipeline(o: { src?: Opts; map?: Opts; filter?: Opts; sink?: Opts } = {}): Program {
  const p = new Program();
  const src = p.add('source', 'Source', [], { name: 'src', ...o.src });
  const map = p.add('operator', 'Map', [src], { name: 'map', ...o.map });
  const filter = p.add('operator', 'Filter', [map], { name: 'filter', ...o.filter });
  p.add('sink', 'Sink', [filter], { name: 'sink', ...o.sink });
  return p;
}

describe('operator ids', () => {
  it('are 32 hex characters and unique within a graph', () => {
    const ids = Object.values(pipeline().ids());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/u);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('come from the uid when one is set, the same in differently shaped graphs', () => {
    const a = pipeline({ map: { uid: 'enrich' } }).ids();
    const b = new Program();
    const s1 = b.add('source', 'Source', [], { name: 'other source' });
    const s2 = b.add('source', 'Source', [], { name: 'second source' });
    const u = b.add('operator', 'Union', [s1, s2], { name: 'union' });
    const m = b.add('operator', 'FlatMap', [u], { name: 'map', uid: 'enrich', parallelism: 7 });
    b.add('sink', 'Sink', [m], { name: 'sink' });
    const bIds = b.ids();
    expect(a.map).toBe(operatorIdFromUid('enrich'));
    expect(bIds.map).toBe(a.map);
    expect(operatorIdFromUid('enrich')).not.toBe(operatorIdFromUid('enrich2'));
  });

  it('are identical for the same program built twice', () => {
    expect(pipeline().ids()).toEqual(pipeline().ids());
  });

  it('do not depend on transformation ids (creation counters)', () => {
    const a = pipeline();
    const b = pipeline();
    for (const t of b.all) (t as { id: number }).id += 100;
    expect(b.ids()).toEqual(a.ids());
  });

  it('are unchanged when only a parallelism changes', () => {
    const base = pipeline().ids();
    // Parallelism changes also change the default partitioner (forward → rebalance): still the same ids.
    expect(pipeline({ map: { parallelism: 5 } }).ids()).toEqual(base);
    expect(pipeline({ src: { parallelism: 1 }, sink: { parallelism: 9 } }).ids()).toEqual(base);
  });

  it('are unchanged when only a name changes', () => {
    const base = Object.values(pipeline().ids());
    const renamed = Object.values(
      pipeline({ src: { name: 'numbers' }, map: { name: 'double it' }, sink: { name: 'out' } }).ids(),
    );
    expect(renamed).toEqual(base);
  });

  it('differ for different shapes', () => {
    const base = pipeline().ids();

    // Another operator kind in the middle: it and everything downstream change.
    const p = new Program();
    const src = p.add('source', 'Source', [], { name: 'src' });
    const map = p.add('operator', 'FlatMap', [src], { name: 'map' });
    const filter = p.add('operator', 'Filter', [map], { name: 'filter' });
    p.add('sink', 'Sink', [filter], { name: 'sink' });
    const kindChanged = p.ids();
    expect(kindChanged.src).toBe(base.src);
    expect(kindChanged.map).not.toBe(base.map);
    expect(kindChanged.filter).not.toBe(base.filter);
    expect(kindChanged.sink).not.toBe(base.sink);

    // An extra operator upstream.
    const q = new Program();
    const s = q.add('source', 'Source', [], { name: 'src' });
    const extra = q.add('operator', 'Map', [s], { name: 'extra' });
    const m = q.add('operator', 'Map', [extra], { name: 'map' });
    const f = q.add('operator', 'Filter', [m], { name: 'filter' });
    q.add('sink', 'Sink', [f], { name: 'sink' });
    const longer = q.ids();
    expect(longer.src).toBe(base.src);
    expect(longer.map).not.toBe(base.map);
    expect(longer.sink).not.toBe(base.sink);

    // An extra consumer of the source (more outputs) changes the source's id.
    const r = pipeline();
    r.add('sink', 'Sink', [r.all[0]!], { name: 'side sink' });
    expect(r.ids().src).not.toBe(base.src);
  });

  it('give identical branches different ids', () => {
    const p = new Program();
    const src = p.add('source', 'Source', [], { name: 'src' });
    const a = p.add('operator', 'Map', [src], { name: 'a' });
    const b = p.add('operator', 'Map', [src], { name: 'b' });
    p.add('sink', 'Sink', [a], { name: 'sa' });
    p.add('sink', 'Sink', [b], { name: 'sb' });
    const ids = p.ids();
    expect(ids.a).not.toBe(ids.b);
    expect(ids.sa).not.toBe(ids.sb);
  });

  it('hash a node with several inputs only once all inputs are hashed', () => {
    // The join is reached from the short branch before its long input is hashed: it is visited
    // again later, and gets a deterministic id either way round.
    const build = (longFirst: boolean): Record<string, OperatorId> => {
      const p = new Program();
      const mk = (): Transformation<Op> => {
        const s = p.add('source', 'Source', [], { name: 'long-src' });
        return p.add('operator', 'Map', [p.add('operator', 'Map', [s], { name: 'm1' })], { name: 'm2' });
      };
      let long: Transformation<Op>;
      let short: Transformation<Op>;
      if (longFirst) {
        long = mk();
        short = p.add('source', 'Source', [], { name: 'short-src' });
      } else {
        short = p.add('source', 'Source', [], { name: 'short-src' });
        long = mk();
      }
      const join = p.add('operator', 'CoMap', [long, short], { name: 'join' });
      p.add('sink', 'Sink', [join], { name: 'sink' });
      return p.ids();
    };
    for (const longFirst of [true, false]) {
      const a = build(longFirst);
      expect(Object.keys(a).sort()).toEqual(['join', 'long-src', 'm1', 'm2', 'short-src', 'sink']);
      expect(new Set(Object.values(a)).size).toBe(6);
      expect(build(longFirst)).toEqual(a);
    }
  });
});
