// Pipelined regions: which subtasks a channel connects, and so what region failover would restart.
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../api/environment.js';
import { pipelinedRegions } from './pipelined-regions.js';

function env(parallelism: number) {
  return new StreamExecutionEnvironment().setParallelism(parallelism);
}

describe('pipelinedRegions', () => {
  it('makes one region of a job that keyBy connects all-to-all', () => {
    const e = env(4);
    e.fromSequence(1, 10)
      .keyBy((x) => x % 2)
      .map((x) => x)
      .print();
    const { regions, count } = pipelinedRegions(e.getJobGraph());
    expect(count).toBe(1);
    expect(new Set(regions.flat())).toEqual(new Set([0]));
  });

  it('gives each parallel pipeline of forward edges its own region', () => {
    const e = env(3);
    e.fromSequence(1, 10)
      .map((x) => x)
      .disableChaining()
      .print();
    const { regions, count } = pipelinedRegions(e.getJobGraph());
    expect(count).toBe(3);
    // Subtask i of every vertex is in region i's pipeline, apart from the other pipelines.
    for (const row of regions) expect(row).toEqual(regions[0]);
    expect(new Set(regions[0])).toHaveProperty('size', 3);
  });

  it('joins pipelines that a rescale exchange connects', () => {
    const e = env(2);
    e.fromSequence(1, 10)
      .rescale()
      .map((x) => x)
      .setParallelism(4)
      .print()
      .setParallelism(4);
    // Rescale from 2 to 4: producer 0 feeds consumers 0 and 1, producer 1 feeds 2 and 3.
    expect(pipelinedRegions(e.getJobGraph()).count).toBe(2);
  });
});
