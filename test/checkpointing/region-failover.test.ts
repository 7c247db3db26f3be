// Region failover (jobmanager.execution.failover-strategy: region, Flink's default): a failure
// restarts only the pipelined region of the failed task, from the latest completed checkpoint,
// and the job's results stay exactly-once; `full` restarts every task.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  RestartStrategies,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import { JobMaster } from '../../src/coordinator/job-master.js';
import { InjectedFailure, waitForCompleted } from '../support/checkpointing.js';
import { envAt, range, waitFor } from '../support/helpers.js';

const N = 1_500;
const RATE = 1_500;
const K = 5;

interface Num {
  readonly i: number;
  readonly key: number;
}
interface Counted extends Num {
  readonly count: number;
}

/** When set, pipeline `a`'s counting function throws at its next record (once). */
let failNext: string | undefined;

/** Counts per key; with `failing`, throws once when asked to. */
class Count extends KeyedProcessFunction<number, Num, Counted> {
  private count!: ValueState<number>;
  constructor(private readonly failing: boolean) {
    super();
  }
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
  }
  processElement(r: Num, _ctx: KeyedProcessContext<number>, out: Collector<Counted>): void {
    if (this.failing && failNext !== undefined) {
      const message = failNext;
      failNext = undefined;
      throw new InjectedFailure(message);
    }
    const count = this.count.value()! + 1;
    this.count.update(count);
    out.collect({ ...r, count });
  }
}

/** Two independent pipelines (two pipelined regions): numbers -> keyed count -> collect. */
function twoPipelines(strategy: 'region' | 'full', intervalMs: number) {
  const env = envAt(1);
  env.enableCheckpointing(intervalMs);
  env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
  env.configuration.setString('jobmanager.execution.failover-strategy', strategy);
  const pipeline = (name: 'a' | 'b') =>
    env
      .fromSource(
        new DataGeneratorSource((i): Num => ({ i, key: i % K }), N, { recordsPerSecond: RATE }),
        name,
      )
      .keyBy((r) => r.key)
      .process(new Count(name === 'a'))
      .name(`count-${name}`)
      .collectAsync();
  return { env, a: pipeline('a'), b: pipeline('b') };
}

/** Records whose count is not their position among the records of their key. */
function wrongCounts(records: readonly Counted[]): Counted[] {
  return records.filter((r) => r.count !== Math.floor(r.i / K) + 1);
}

/** Every record exactly once, each with the count of a failure-free run. */
function expectExactlyOnce(records: readonly Counted[]): void {
  expect(wrongCounts(records)).toEqual([]);
  expect(records.map((r) => r.i).sort((x, y) => x - y)).toEqual(range(0, N - 1));
}

/** The attempt of each task, per pipeline ('a' or 'b', by the vertex names). */
function attemptsByPipeline(master: JobMaster): { a: number[]; b: number[] } {
  const out = { a: [] as number[], b: [] as number[] };
  master.jobGraph.vertices.forEach((v) => {
    // Vertices are named 'a', 'count-a -> Collect Sink', 'b', 'count-b -> Collect Sink'.
    const pipeline = v.name === 'a' || v.name.startsWith('count-a') ? out.a : out.b;
    pipeline.push(...master.taskAttemptNumbers[v.index]!);
  });
  return out;
}

async function run(strategy: 'region' | 'full', intervalMs: number, failAfterCheckpoint: boolean) {
  const { env, a, b } = twoPipelines(strategy, intervalMs);
  const client = await env.executeAsync(`two pipelines (${strategy})`);
  expect(client).toBeInstanceOf(JobMaster);
  const master = client as JobMaster;
  if (failAfterCheckpoint) await waitForCompleted(client, 1);
  else await waitFor(() => master.taskExecutionStates.flat().every((s) => s === 'RUNNING'), 'tasks running');
  failNext = 'injected into pipeline a';
  await waitFor(() => client.getNumRestarts() === 1, 'the failover');
  const result = await client.getJobExecutionResult();
  return { master, result, a: await a.toArray(), b: await b.toArray() };
}

beforeEach(() => {
  failNext = undefined;
});

describe('region failover', () => {
  it('a job of two independent pipelines has two regions; a failure in one restarts only it, exactly once', async () => {
    const { master, result, a, b } = await run('region', 50, true);
    expect(result.numRestarts).toBe(1);
    // Pipeline b's tasks ran once, from start to end; pipeline a's tasks were restarted.
    const attempts = attemptsByPipeline(master);
    expect(attempts.b.length).toBeGreaterThan(0);
    expect(attempts.b.every((n) => n === 0)).toBe(true);
    expect(attempts.a.length).toBeGreaterThan(0);
    expect(attempts.a.every((n) => n === 1)).toBe(true);
    expect(master.exceptionHistory.at(-1)?.error.message).toContain('injected into pipeline a');
    expect(result.checkpoints.restored).toBe(1);
    expectExactlyOnce(a);
    expectExactlyOnce(b);
  });

  it('a region restarted before any checkpoint gets its source split back from the enumerator', async () => {
    // No checkpoint completes before the failure: the reader restarts from nothing, and the split
    // it had been given returns to the enumerator (addSplitsBack) to be assigned again.
    const { master, result, a, b } = await run('region', 60_000, false);
    expect(result.checkpoints.restored).toBe(0);
    const attempts = attemptsByPipeline(master);
    expect(attempts.b.every((n) => n === 0)).toBe(true);
    expect(attempts.a.every((n) => n === 1)).toBe(true);
    expectExactlyOnce(a);
    expectExactlyOnce(b);
  });

  it('with failover-strategy full, the same failure restarts every task', async () => {
    const { master, result, a, b } = await run('full', 50, true);
    expect(result.numRestarts).toBe(1);
    const attempts = attemptsByPipeline(master);
    expect([...attempts.a, ...attempts.b].every((n) => n === 1)).toBe(true);
    expectExactlyOnce(a);
    expectExactlyOnce(b);
  });
});
