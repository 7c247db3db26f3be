import { describe, expect, it } from 'vitest';
import { foldProfile, mergeFlameGraphs, sampleCpu, type FlameGraphNode } from './cpu-flame-graph.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

/** (root) → (idle) 5; main → work 3 (twice, from two call sites) + 1 self; deep → deeper → deepest 2. */
const profile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), hitCount: 0, children: [2, 3, 6] },
    { id: 2, callFrame: frame('(idle)'), hitCount: 5 },
    { id: 3, callFrame: frame('main', 'file:///jobs/job.mjs', 9), hitCount: 1, children: [4, 5] },
    { id: 4, callFrame: frame('work', 'file:///jobs/job.mjs', 19), hitCount: 2 },
    { id: 5, callFrame: frame('work', 'file:///jobs/job.mjs', 19), hitCount: 1 },
    { id: 6, callFrame: frame('deep', 'file:///x/a.js', 0), hitCount: 0, children: [7] },
    { id: 7, callFrame: frame('', 'file:///x/a.js', 4), hitCount: 0, children: [8] },
    { id: 8, callFrame: frame('deepest', 'file:///x/a.js', 7), hitCount: 2 },
  ],
};

describe('foldProfile', () => {
  it("folds V8's call tree into Flink's: subtree values, names with file and line, call sites merged", () => {
    expect(foldProfile(profile, 100)).toEqual({
      name: 'root',
      value: 11,
      children: [
        { name: '(idle)', value: 5, children: [] },
        {
          name: 'main (job.mjs:10)',
          value: 4,
          children: [{ name: 'work (job.mjs:20)', value: 3, children: [] }],
        },
        {
          name: 'deep (a.js:1)',
          value: 2,
          children: [
            {
              name: '(anonymous) (a.js:5)',
              value: 2,
              children: [{ name: 'deepest (a.js:8)', value: 2, children: [] }],
            },
          ],
        },
      ],
    });
  });

  it('counts frames beyond the stack depth in their ancestor at that depth', () => {
    const deep = foldProfile(profile, 2).children.find((c) => c.name.startsWith('deep'))!;
    expect(deep).toEqual({
      name: 'deep (a.js:1)',
      value: 2,
      children: [{ name: '(anonymous) (a.js:5)', value: 2, children: [] }],
    });
  });
});

describe('mergeFlameGraphs', () => {
  it("adds up several processes' graphs node by node", () => {
    const a: FlameGraphNode = { name: 'root', value: 3, children: [{ name: 'f', value: 3, children: [] }] };
    const b: FlameGraphNode = {
      name: 'root',
      value: 4,
      children: [
        { name: 'f', value: 1, children: [] },
        { name: 'g', value: 3, children: [] },
      ],
    };
    expect(mergeFlameGraphs([a, b])).toEqual({
      name: 'root',
      value: 7,
      children: [
        { name: 'f', value: 4, children: [] },
        { name: 'g', value: 3, children: [] },
      ],
    });
  });
});

describe('sampleCpu', () => {
  it('profiles this process and names a function that kept it busy', async () => {
    // Half a second: on a loaded machine this process runs a fraction of the window's wall time,
    // and a window of 100 ms then held no sample of it at all.
    const sampling = { numSamples: 250, delayBetweenSamplesMs: 2, stackDepth: 100 };
    const graph = sampleCpu(sampling);
    // Two requests during one sampling share it.
    expect(sampleCpu(sampling)).toBe(graph);
    // Busy in slices until the sampling ends: the profiler starts a few ticks after the call.
    let done = false;
    const end = (): void => void (done = true);
    graph.then(end, end);
    let x = 0;
    function spinForTheProfiler(): void {
      const until = performance.now() + 5;
      while (performance.now() < until) x = (x * 31 + 7) % 1_000_003;
    }
    while (!done) {
      spinForTheProfiler();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const names = (await graph).children.flatMap(function all(n: FlameGraphNode): string[] {
      return [n.name, ...n.children.flatMap(all)];
    });
    expect(x).toBeGreaterThanOrEqual(0);
    expect(names.some((n) => n.startsWith('spinForTheProfiler ('))).toBe(true);
  });
});
