// Broadcast state end to end: a keyed stream connected to a broadcast stream of rules, a
// KeyedBroadcastProcessFunction that parks records in keyed state until their rule arrives and
// releases them with applyToKeyedState; a non-keyed BroadcastProcessFunction; and the broadcast
// state restored from a savepoint at another parallelism onto every subtask.
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  BroadcastProcessFunction,
  KeyedBroadcastProcessFunction,
  ListStateDescriptor,
  MapStateDescriptor,
  OutputTag,
  RestartStrategies,
  type BroadcastContext,
  type BroadcastReadOnlyContext,
  type Collector,
  type KeyedBroadcastContext,
  type KeyedBroadcastOnTimerContext,
  type KeyedBroadcastReadOnlyContext,
  type ListState,
  type RuntimeContext,
} from 'sluice';
import {
  barrierPositions,
  fileUri,
  resetBarrierPositions,
  runToEnd,
  startJob,
  tracedGenerator,
  waitForCompleted,
  withTempDir,
  type Hold,
} from '../support/checkpointing.js';
import { envAt, expectSameMultiset, range } from '../support/helpers.js';
import { resolveFileCheckpoint } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';

interface Rule {
  readonly name: string;
  readonly factor: number;
}
interface Ev {
  readonly i: number;
  readonly key: number;
  readonly rule: string;
}
interface Out {
  readonly i: number;
  readonly value: number;
}

const FACTORS = new MapStateDescriptor<string, number>('factors');
const PENDING = new ListStateDescriptor<Ev>('pending');
const RULES: Rule[] = [
  { name: 'double', factor: 2 },
  { name: 'triple', factor: 3 },
];
const N = 3000;

function event(i: number): Ev {
  return { i, key: i % 50, rule: i % 2 === 0 ? 'double' : 'triple' };
}
function expected(i: number): Out {
  return { i, value: i * (i % 2 === 0 ? 2 : 3) };
}

/** Applies each record's rule from the broadcast state; records whose rule is not there yet wait in keyed state. */
class ApplyRules extends KeyedBroadcastProcessFunction<number, Ev, Rule, Out> {
  static broadcastElements = 0;
  private pending!: ListState<Ev>;
  open(ctx: RuntimeContext): void {
    this.pending = ctx.getListState(PENDING);
  }
  processElement(e: Ev, ctx: KeyedBroadcastReadOnlyContext<number>, out: Collector<Out>): void {
    const factors = ctx.getBroadcastState(FACTORS);
    if ('put' in factors) throw new Error('the keyed side got a writable broadcast state');
    if (ctx.getCurrentKey() !== e.key)
      throw new Error(`key ${ctx.getCurrentKey()} for record of key ${e.key}`);
    const factor = factors.get(e.rule);
    if (factor === undefined) this.pending.add(e);
    else out.collect({ i: e.i, value: e.i * factor });
  }
  processBroadcastElement(rule: Rule, ctx: KeyedBroadcastContext<number>, out: Collector<Out>): void {
    ApplyRules.broadcastElements++;
    ctx.getBroadcastState(FACTORS).put(rule.name, rule.factor);
    ctx.applyToKeyedState(PENDING, (key, state) => {
      const rest: Ev[] = [];
      for (const e of state.get()) {
        if (e.key !== key) throw new Error(`record of key ${e.key} in the state of key ${key}`);
        if (e.rule === rule.name) out.collect({ i: e.i, value: e.i * rule.factor });
        else rest.push(e);
      }
      state.update(rest);
    });
  }
}

interface JobSettings {
  readonly parallelism: number;
  readonly checkpointDir: string;
  readonly restorePath?: string;
  readonly rate: number;
  readonly hold?: Hold;
}

function rulesJob(s: JobSettings) {
  const env = envAt(s.parallelism);
  env.enableCheckpointing(50);
  env.getCheckpointConfig().setCheckpointStorage(fileUri(s.checkpointDir));
  env.setRestartStrategy(RestartStrategies.noRestart());
  if (s.restorePath !== undefined)
    env.configuration.setString('execution.state-recovery.path', s.restorePath);
  const rules = env.fromCollection(RULES).uid('rules').broadcast(FACTORS);
  const stream = env
    .fromSource(tracedGenerator(event, N, s.rate, s.hold), 'events')
    .uid('events')
    .setParallelism(1)
    .keyBy((e) => e.key)
    .connect(rules)
    .process(new ApplyRules())
    .uid('apply-rules')
    .map((o): Out => ({ i: o.i, value: o.value }));
  return { env, stream };
}

beforeEach(() => {
  resetBarrierPositions();
  ApplyRules.broadcastElements = 0;
});

describe('broadcast state', () => {
  it('keyed: records wait in keyed state for their rule and applyToKeyedState releases them', () =>
    withTempDir(async (dir) => {
      const { env, stream } = rulesJob({ parallelism: 3, checkpointDir: dir, rate: Infinity });
      const { records } = await runToEnd(env, stream);
      expectSameMultiset(records, range(0, N - 1).map(expected));
      // Every subtask sees every broadcast record.
      expect(ApplyRules.broadcastElements).toBe(RULES.length * 3);
    }));

  it('non-keyed: BroadcastProcessFunction reads the state on one side and writes it on the other', async () => {
    const env = envAt(2);
    const limits = env.fromCollection([{ name: 'max', factor: 10 }]).broadcast(FACTORS);
    class Clamp extends BroadcastProcessFunction<number, Rule, string> {
      processElement(n: number, ctx: BroadcastReadOnlyContext, out: Collector<string>): void {
        const max = ctx.getBroadcastState(FACTORS).get('max');
        out.collect(max === undefined ? `early ${n}` : `${Math.min(n, max)}`);
      }
      processBroadcastElement(rule: Rule, ctx: BroadcastContext, out: Collector<string>): void {
        ctx.getBroadcastState(FACTORS).put(rule.name, rule.factor);
        out.collect(`rule ${rule.name}`);
      }
    }
    const { records } = await runToEnd(
      env,
      env.fromCollection(range(1, 20)).connect(limits).process(new Clamp()),
    );
    expect(records.filter((r) => r === 'rule max')).toHaveLength(2);
    for (let n = 1; n <= 20; n++)
      expect(records).toContainEqual(expect.stringMatching(new RegExp(`^(early ${n}|${Math.min(n, 10)})$`)));
    expect(records).toHaveLength(22);
  });

  it('is restored from a savepoint at another parallelism onto every subtask', () =>
    withTempDir(async (dir) => {
      const checkpointDir = join(dir, 'checkpoints');
      let taken = false;
      const first = rulesJob({
        parallelism: 2,
        checkpointDir,
        rate: 5_000,
        hold: { from: N / 3, until: () => taken },
      });
      const job = await startJob(first.env, first.stream);
      let path: string;
      try {
        await waitForCompleted(job.client, 1);
        path = await job.client.triggerSavepoint(join(dir, 'sp'));
        taken = true;
      } finally {
        await job.client.cancel();
      }
      expect(ApplyRules.broadcastElements).toBe(RULES.length * 2);
      const { metadata } = await resolveFileCheckpoint(path);
      const position = [...barrierPositions.get(metadata.checkpointId)!.values()][0]!;
      expect(position).toBeGreaterThan(0);

      ApplyRules.broadcastElements = 0;
      const second = rulesJob({ parallelism: 3, checkpointDir, restorePath: path, rate: Infinity });
      const { records, result } = await runToEnd(second.env, second.stream);
      expect(result.checkpoints.restored).toBe(1);
      // The rules source had ended: no rule came again, so every subtask had the restored state.
      expect(ApplyRules.broadcastElements).toBe(0);
      const resumed = records.filter((r) => r.i >= position);
      expectSameMultiset(resumed, range(position, N - 1).map(expected));
      expect(records.filter((r) => r.i < position)).toEqual([]);
    }));
});

describe('side outputs of broadcast process functions', () => {
  const notes = new OutputTag<string>('notes');

  it('BroadcastProcessFunction: both sides emit with ctx.output(tag, value)', async () => {
    const env = envAt(2);
    class Note extends BroadcastProcessFunction<number, Rule, number> {
      processElement(v: number, ctx: BroadcastReadOnlyContext, out: Collector<number>): void {
        if (v % 4 === 0) ctx.output(notes, `record ${v}`);
        else out.collect(v);
      }
      processBroadcastElement(rule: Rule, ctx: BroadcastContext): void {
        ctx.getBroadcastState(FACTORS).put(rule.name, rule.factor);
        ctx.output(notes, `rule ${rule.name}`);
      }
    }
    const main = env
      .fromCollection(range(1, 20))
      .connect(env.fromCollection(RULES).broadcast(FACTORS))
      .process(new Note());
    const { records } = await runToEnd(env, main.map((v) => `main ${v}`).union(main.getSideOutput(notes)));
    expectSameMultiset(records, [
      ...range(1, 20)
        .filter((v) => v % 4 !== 0)
        .map((v) => `main ${v}`),
      ...[4, 8, 12, 16, 20].map((v) => `record ${v}`),
      // Every subtask of the process function sees each broadcast record.
      ...['double', 'double', 'triple', 'triple'].map((name) => `rule ${name}`),
    ]);
  });

  it('KeyedBroadcastProcessFunction: processElement, processBroadcastElement and onTimer emit, onTimer reads broadcast state', async () => {
    const env = envAt(1);
    class Note extends KeyedBroadcastProcessFunction<number, Ev, Rule, string> {
      processElement(e: Ev, ctx: KeyedBroadcastReadOnlyContext<number>): void {
        if (e.i < 2) ctx.timerService().registerEventTimeTimer(1000 + e.key);
        ctx.output(notes, `record ${e.i}`);
      }
      processBroadcastElement(rule: Rule, ctx: KeyedBroadcastContext<number>): void {
        ctx.getBroadcastState(FACTORS).put(rule.name, rule.factor);
        ctx.output(notes, `rule ${rule.name}`);
      }
      onTimer(timestamp: number, ctx: KeyedBroadcastOnTimerContext<number>, out: Collector<string>): void {
        const rules = [...ctx.getBroadcastState(FACTORS).keys()].sort().join(',');
        out.collect(`timer ${timestamp} of key ${ctx.getCurrentKey()} sees ${rules}`);
        ctx.output(notes, `timer ${timestamp}`);
      }
    }
    // The timers fire at the end of time, once both inputs ended: every rule is in by then.
    const main = env
      .fromCollection(range(0, 3).map(event))
      .keyBy((e) => e.key)
      .connect(env.fromCollection(RULES).broadcast(FACTORS))
      .process<string>(new Note());
    const { records } = await runToEnd(env, main.union(main.getSideOutput(notes)));
    expectSameMultiset(records, [
      'timer 1000 of key 0 sees double,triple',
      'timer 1001 of key 1 sees double,triple',
      ...range(0, 3).map((i) => `record ${i}`),
      'rule double',
      'rule triple',
      'timer 1000',
      'timer 1001',
    ]);
  });
});
