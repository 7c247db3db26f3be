// Rescaling end to end (issue 14 point 7): a job with keyed state of every kind, window contents,
// event-time and processing-time timers, split and union operator list state, broadcast state and a split source
// is stopped with a savepoint and restored at parallelism 2 → 1 → 4 → 2 → 3, fed more input each
// time; what it emitted over all runs equals, as a multiset, one unbroken run at parallelism 1.
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  AggregatingStateDescriptor,
  BroadcastProcessFunction,
  type BroadcastContext,
  KeyedProcessFunction,
  ListStateDescriptor,
  MapStateDescriptor,
  ProcessWindowFunction,
  ReducingStateDescriptor,
  RestartStrategies,
  RichFlatMapFunction,
  RichMapFunction,
  TimeDomain,
  TumblingEventTimeWindows,
  ValueStateDescriptor,
  WatermarkStrategy,
  type AggregatingState,
  type CheckpointedFunction,
  type Collector,
  type DataStream,
  type FunctionInitializationContext,
  type InputStatus,
  type KeyedProcessContext,
  type ListState,
  type MapState,
  type OnTimerContext,
  type ProcessWindowContext,
  type ReaderOutput,
  type ReducingState,
  type RuntimeContext,
  type Source,
  type SourceReader,
  type SourceSplit,
  type SplitEnumerator,
  type SplitEnumeratorContext,
  type ValueState,
} from 'sluice';
import {
  barrierPositions,
  checkpointDirs,
  fileUri,
  resetBarrierPositions,
  runToEnd,
  startJob,
  tracedGenerator,
  waitForCompleted,
  withTempDir,
  type Hold,
  type Traced,
} from '../support/checkpointing.js';
import { envAt, expectSameMultiset, rejectsWith, waitFor } from '../support/helpers.js';
import { assignToKeyGroup, computeOperatorIndexForKeyGroup } from '../../src/core/key-groups.js';
import { resolveFileCheckpoint } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';
import { inspect } from '../../src/cli/inspect-command.js';

/** Records of the whole input, the source's splits and the keys; every key lies in one split (S divides K). */
const N = 6_000;
const SPLITS = 6;
const KEYS = 12;
/** Event-time bucket of the keyed function's timers and of the windows, in ms (record i has time i). */
const BUCKET = 100;
/** Processing-time timers fire this long after registration: long enough that stops find some pending. */
const PT_DELAY_MS = 500;
/** A token of the operator-state function is emitted once its subtask sees a record this much later. */
const TOKEN_DUE = 1_000;
/** Tokens are made only from records before this, so every one falls due in every run. */
const LAST_TOKEN = N - TOKEN_DUE - 500;

interface Rec {
  readonly i: number;
  readonly key: number;
}

/** Everything the job emits, one type for the three branches. */
type Out =
  | {
      kind: 'rec';
      i: number;
      key: number;
      count: number;
      sum: number;
      mean: number;
      recent: number[];
    }
  | { kind: 'bucket'; key: number; end: number; total: number }
  | { kind: 'pt'; key: number; i: number }
  | { kind: 'window'; key: number; start: number; total: number; n: number }
  | { kind: 'token'; t: number; union: boolean }
  | { kind: 'broadcast'; seen: number };

// The source's input is released in steps (`limit`), and its end waits until the keyed function
// processed every record and no processing-time timer payload is pending (`pendingPt`): each run
// then stops at a known position, and the last one ends only once every processing-time timer
// fired (timers still pending at the end of input are dropped, as in Flink). Both are read by code running in this
// process (inline execution).
let limit = 0;
let emitted = 0;
let pendingPt = 0;
let keyedProcessed = 0;

interface IndexSplit extends SourceSplit {
  /** The next index; the split's indexes are splitId, splitId + SPLITS, ... below N. */
  next: number;
}

/** Assigns split j to reader j mod p when readers register (as Kafka's does); nothing on request. */
class OwnerEnumerator implements SplitEnumerator<IndexSplit, IndexSplit[]> {
  constructor(
    private readonly ctx: SplitEnumeratorContext<IndexSplit>,
    private readonly pending: IndexSplit[],
  ) {}
  start(): void {}
  addReader(subtask: number): void {
    const p = this.ctx.currentParallelism();
    for (const split of this.pending.filter((s) => Number(s.splitId) % p === subtask)) {
      this.pending.splice(this.pending.indexOf(split), 1);
      this.ctx.assignSplit(split, subtask);
    }
    this.ctx.signalNoMoreSplits(subtask);
  }
  handleSplitRequest(subtask: number): void {
    this.ctx.signalNoMoreSplits(subtask);
  }
  addSplitsBack(splits: readonly IndexSplit[]): void {
    this.pending.push(...splits);
  }
  snapshotState(): IndexSplit[] {
    return this.pending.map((s) => ({ ...s }));
  }
  close(): void {}
}

/** Reads its splits in turn, each through its own output (watermarks per split), up to `limit`. */
class IndexReader implements SourceReader<Rec, IndexSplit> {
  private readonly splits: IndexSplit[] = [];
  private noMoreSplits = false;
  private turn = 0;
  private poll: NodeJS.Timeout | undefined;
  start(): void {}
  pollNext(output: ReaderOutput<Rec>): InputStatus {
    for (let tries = 0; tries < this.splits.length; tries++) {
      const split = this.splits[(this.turn = (this.turn + 1) % this.splits.length)]!;
      if (split.next >= N || split.next >= limit) continue;
      const i = split.next;
      split.next += SPLITS;
      emitted++;
      (output.createOutputForSplit?.(split.splitId) ?? output).collect({ i, key: i % KEYS });
      if (split.next >= N) output.releaseOutputForSplit?.(split.splitId);
      return 'MORE_AVAILABLE';
    }
    return this.ended() ? 'END_OF_INPUT' : 'NOTHING_AVAILABLE';
  }
  private ended(): boolean {
    return (
      this.noMoreSplits && this.splits.every((s) => s.next >= N) && keyedProcessed === N && pendingPt === 0
    );
  }
  private ready(): boolean {
    return this.ended() || this.splits.some((s) => s.next < N && s.next < limit);
  }
  isAvailable(): Promise<void> {
    clearInterval(this.poll);
    if (this.ready()) return Promise.resolve();
    return new Promise((resolve) => {
      this.poll = setInterval(() => this.ready() && (clearInterval(this.poll), resolve()), 5);
    });
  }
  addSplits(splits: readonly IndexSplit[]): void {
    for (const s of splits) this.splits.push({ splitId: s.splitId, next: s.next });
  }
  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
  }
  snapshotState(): IndexSplit[] {
    return this.splits.filter((s) => s.next < N).map((s) => ({ splitId: s.splitId, next: s.next }));
  }
  close(): void {
    clearInterval(this.poll);
  }
}

const indexSource: Source<Rec, IndexSplit, IndexSplit[]> = {
  getBoundedness: () => 'BOUNDED',
  createEnumerator: (ctx) =>
    new OwnerEnumerator(
      ctx,
      Array.from({ length: SPLITS }, (_, j) => ({ splitId: String(j), next: j })),
    ),
  restoreEnumerator: (ctx, state) => new OwnerEnumerator(ctx, [...state]),
  createReader: () => new IndexReader(),
};

const mean = {
  createAccumulator: () => ({ n: 0, total: 0 }),
  add: (v: number, acc: { n: number; total: number }) => {
    acc.n++;
    acc.total += v;
    return acc;
  },
  getResult: (acc: { n: number; total: number }) => acc.total / acc.n,
  merge: (a: { n: number; total: number }, b: { n: number; total: number }) => ({
    n: a.n + b.n,
    total: a.total + b.total,
  }),
};

/**
 * Keyed state of every kind per record; a bucket total in MapState emitted by an event-time timer
 * at the bucket's end; every 7th record's index kept in ListState for a processing-time timer.
 */
class EveryKind extends KeyedProcessFunction<number, Rec, Out> {
  private count!: ValueState<number>;
  private sum!: ReducingState<number>;
  private mean!: AggregatingState<number, number>;
  private recent!: ListState<number>;
  private buckets!: MapState<number, number>;
  private awaitingPt!: ListState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
    this.sum = ctx.getReducingState(new ReducingStateDescriptor<number>('sum', (a, b) => a + b));
    this.mean = ctx.getAggregatingState(new AggregatingStateDescriptor('mean', mean));
    this.recent = ctx.getListState(new ListStateDescriptor<number>('recent'));
    this.buckets = ctx.getMapState(new MapStateDescriptor<number, number>('buckets'));
    this.awaitingPt = ctx.getListState(new ListStateDescriptor<number>('awaiting-pt'));
  }
  processElement(r: Rec, ctx: KeyedProcessContext<number>, out: Collector<Out>): void {
    keyedProcessed++;
    const count = this.count.value()! + 1;
    this.count.update(count);
    this.sum.add(r.i);
    this.mean.add(r.i);
    this.recent.update([...this.recent.get(), r.i].slice(-3));
    const end = Math.floor(r.i / BUCKET) * BUCKET + BUCKET - 1;
    this.buckets.put(end, (this.buckets.get(end) ?? 0) + r.i);
    ctx.timerService().registerEventTimeTimer(end);
    if (r.i % 7 === 0) {
      this.awaitingPt.add(r.i);
      pendingPt++;
      ctx
        .timerService()
        .registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + PT_DELAY_MS);
    }
    out.collect({
      kind: 'rec',
      i: r.i,
      key: r.key,
      count,
      sum: this.sum.get()!,
      mean: this.mean.get()!,
      recent: [...this.recent.get()],
    });
  }
  onTimer(timestamp: number, ctx: OnTimerContext<number>, out: Collector<Out>): void {
    const key = ctx.getCurrentKey();
    if (ctx.timeDomain() === TimeDomain.EVENT_TIME) {
      out.collect({ kind: 'bucket', key, end: timestamp, total: this.buckets.get(timestamp)! });
      this.buckets.remove(timestamp);
      return;
    }
    // One timer may find several indexes (or none: an earlier one took them); each is emitted once.
    const awaiting = [...this.awaitingPt.get()];
    for (const i of awaiting) out.collect({ kind: 'pt', key, i });
    pendingPt -= awaiting.length;
    this.awaitingPt.clear();
  }
}

/** Labels a window's reduced sum with its key and start. */
class LabelWindow extends ProcessWindowFunction<{ total: number; n: number }, Out, number> {
  process(
    key: number,
    ctx: ProcessWindowContext,
    elements: Iterable<{ total: number; n: number }>,
    out: Collector<Out>,
  ): void {
    for (const { total, n } of elements)
      out.collect({ kind: 'window', key, start: ctx.window().getStart(), total, n });
  }
}

/**
 * Operator list state: records i ≡ 0 (mod 50) become split tokens, i ≡ 25 (mod 50) union tokens.
 * A subtask emits a token once it sees a record TOKEN_DUE later. Split tokens are whatever the
 * split list gave the subtask; of the union list (which every subtask gets whole) a subtask keeps
 * the tokens it owns by index, so each token has one owner in every run.
 */
class TokenKeeper extends RichFlatMapFunction<Rec, Out> implements CheckpointedFunction {
  private tokens: number[] = [];
  private owned: number[] = [];
  private restoredUnion: number[] = [];
  private splitState!: ListState<number>;
  private unionState!: ListState<number>;
  initializeState(ctx: FunctionInitializationContext): void {
    this.splitState = ctx.getOperatorStateStore().getListState(new ListStateDescriptor<number>('tokens'));
    this.unionState = ctx.getOperatorStateStore().getUnionListState(new ListStateDescriptor<number>('owned'));
    if (ctx.isRestored()) {
      this.tokens = [...this.splitState.get()];
      this.restoredUnion = [...this.unionState.get()];
    }
  }
  open(ctx: RuntimeContext): void {
    const p = ctx.getNumberOfParallelSubtasks();
    const me = ctx.getIndexOfThisSubtask();
    this.owned = this.restoredUnion.filter((t) => Math.floor(t / 50) % p === me);
  }
  snapshotState(): void {
    this.splitState.update(this.tokens);
    this.unionState.update(this.owned);
  }
  flatMap(r: Rec, out: Collector<Out>): void {
    if (r.i < LAST_TOKEN && r.i % 50 === 0) this.tokens.push(r.i);
    if (r.i < LAST_TOKEN && r.i % 50 === 25) this.owned.push(r.i);
    this.tokens = this.emitDue(this.tokens, r.i, false, out);
    this.owned = this.emitDue(this.owned, r.i, true, out);
  }
  private emitDue(tokens: number[], i: number, union: boolean, out: Collector<Out>): number[] {
    if (!tokens.some((t) => i >= t + TOKEN_DUE)) return tokens;
    for (const t of tokens) if (i >= t + TOKEN_DUE) out.collect({ kind: 'token', t, union });
    return tokens.filter((t) => i < t + TOKEN_DUE);
  }
}

const SEEN = new MapStateDescriptor<string, number>('seen');
/** Every broadcast record is counted in broadcast state by every subtask. */
const BROADCAST_REPORT = 500;

/**
 * Broadcast state: each subtask counts the broadcast records; subtask 0 reports every 500th. A
 * restore at another parallelism gives each subtask a copy of the count, so subtask 0 reports the
 * same counts as an unbroken run only if the copies were taken and handed out whole.
 */
class BroadcastCounter extends BroadcastProcessFunction<Rec, Rec, Out> {
  processElement(): void {}
  processBroadcastElement(_r: Rec, ctx: BroadcastContext, out: Collector<Out>): void {
    const state = ctx.getBroadcastState(SEEN);
    const seen = (state.get('seen') ?? 0) + 1;
    state.put('seen', seen);
    if (seen % BROADCAST_REPORT === 0 && this.getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() === 0)
      out.collect({ kind: 'broadcast', seen });
  }
}

interface RunSettings {
  /** Of the source and the keyed function. */
  readonly parallelism: number;
  /** Of the windows and of the operator-state function (default `parallelism`). */
  readonly windows?: number;
  readonly tokens?: number;
  readonly backend: 'hashmap' | 'lmdb';
  readonly checkpointDir: string;
  readonly restorePath?: string;
}

function rescaleJob(s: RunSettings): { env: ReturnType<typeof envAt>; stream: DataStream<Out> } {
  const env = envAt(s.parallelism);
  env.enableCheckpointing(100);
  env.getCheckpointConfig().setCheckpointStorage(fileUri(s.checkpointDir));
  env.configuration.setString('state.backend.type', s.backend);
  if (s.restorePath !== undefined)
    env.configuration.setString('execution.state-recovery.path', s.restorePath);
  env.setRestartStrategy(RestartStrategies.noRestart());
  const records = env
    .fromSource(
      indexSource,
      WatermarkStrategy.forMonotonousTimestamps<Rec>().withTimestampAssigner((r) => r.i),
      'indexes',
    )
    .uid('indexes');
  const keyed = records
    .keyBy((r) => r.key)
    .process(new EveryKind())
    .uid('every-kind');
  const windows = records
    .map((r) => ({ key: r.key, total: r.i, n: 1 }))
    .uid('to-sums')
    .keyBy((s) => s.key)
    .window(TumblingEventTimeWindows.of(BUCKET))
    .reduce((a, b) => ({ key: a.key, total: a.total + b.total, n: a.n + b.n }), new LabelWindow())
    .uid('windows')
    .setParallelism(s.windows ?? s.parallelism);
  const tokens = records
    .rebalance()
    .flatMap(new TokenKeeper())
    .uid('tokens')
    .setParallelism(s.tokens ?? s.parallelism);
  const broadcastCounts = records
    .connect(records.broadcast(SEEN))
    .process(new BroadcastCounter())
    .uid('broadcast-counter')
    .setParallelism(s.tokens ?? s.parallelism);
  return { env, stream: keyed.union(windows, tokens, broadcastCounts) };
}

/** Runs the job until the source emitted everything below `upTo`, then stops it with a savepoint; returns its path and output. */
async function runAndStop(
  s: RunSettings,
  upTo: number,
  savepoints: string,
): Promise<{ path: string; out: Out[] }> {
  limit = upTo;
  const { env, stream } = rescaleJob(s);
  const job = await startJob(env, stream);
  let path: string;
  try {
    await job.whileRunning(() => emitted >= upTo, `the source to emit records below ${upTo}`, 20_000);
    // A completed checkpoint shows every task running (a savepoint needs them all).
    await waitForCompleted(job.client, 1);
    path = await job.client.stopWithSavepoint(false, savepoints);
  } catch (e) {
    await job.client.cancel();
    throw e;
  }
  await job.ended;
  expect(emitted).toBe(upTo);
  expect(keyedProcessed).toBe(upTo);
  return { path, out: job.records };
}

/** Runs the job to the end of its input (and of every processing-time timer). */
async function runToTheEnd(s: RunSettings): Promise<Out[]> {
  limit = N;
  const { env, stream } = rescaleJob(s);
  const job = await startJob(env, stream);
  try {
    // A lost processing-time timer would hold the end forever: say so instead of timing out.
    await job.whileRunning(
      () => keyedProcessed === N && pendingPt === 0,
      () =>
        `every record processed (${keyedProcessed} of ${N}, ${emitted} emitted) and every processing-time timer fired (${pendingPt} indexes wait for one)`,
      60_000,
    );
    const result = await job.client.getJobExecutionResult();
    await job.ended;
    if (s.restorePath !== undefined) expect(result.checkpoints.restored).toBe(1);
  } catch (e) {
    await job.client.cancel();
    throw e;
  }
  expect(emitted).toBe(N);
  return job.records;
}

beforeEach(() => {
  limit = 0;
  emitted = 0;
  pendingPt = 0;
  keyedProcessed = 0;
});

describe.each(['hashmap', 'lmdb'] as const)('rescaling through savepoints (%s)', (backend) => {
  it(
    'stop-with-savepoint and restore at parallelism 2 → 1 → 4 → 2 → 3 gives what an unbroken run at 1 gives',
    () =>
      withTempDir(async (dir) => {
        const checkpointDir = join(dir, 'checkpoints');
        const unbroken = await runToTheEnd({ parallelism: 1, backend, checkpointDir });
        expect(pendingPt).toBe(0);

        emitted = 0;
        keyedProcessed = 0;
        // The source and keyed function go 2 → 1 → 4 → 2 → 3; the windows and the operator-state
        // function each rescale their own way.
        const steps = [2, 1, 4, 2, 3];
        const windows = [1, 3, 2, 4, 2];
        const tokens = [3, 2, 1, 4, 2];
        const outputs: Out[] = [];
        const savepoints: string[] = [];
        let restorePath: string | undefined;
        for (const [n, parallelism] of steps.entries()) {
          const settings: RunSettings = {
            parallelism,
            windows: windows[n]!,
            tokens: tokens[n]!,
            backend,
            checkpointDir,
            ...(restorePath ? { restorePath } : {}),
          };
          if (n === steps.length - 1) outputs.push(...(await runToTheEnd(settings)));
          else {
            const upTo = Math.round((N * (n + 1)) / steps.length);
            const { path, out } = await runAndStop(settings, upTo, join(dir, 'savepoints'));
            outputs.push(...out);
            savepoints.push(path);
            restorePath = path;
          }
        }
        expect(pendingPt).toBe(0);

        // Every kind of output is there, in the amounts the input gives.
        const kinds = (records: Out[], kind: Out['kind']) => records.filter((r) => r.kind === kind).length;
        expect(kinds(unbroken, 'rec')).toBe(N);
        expect(kinds(unbroken, 'bucket')).toBe((N / BUCKET) * KEYS);
        expect(kinds(unbroken, 'window')).toBe((N / BUCKET) * KEYS);
        expect(kinds(unbroken, 'pt')).toBe(Math.ceil(N / 7));
        expect(kinds(unbroken, 'token')).toBe(2 * Math.ceil(LAST_TOKEN / 50));
        expect(kinds(unbroken, 'broadcast')).toBe(N / BROADCAST_REPORT);
        expectSameMultiset(outputs, unbroken);

        // The savepoints carried timers across: every one event-time timers (the open buckets),
        // and at least one processing-time timers not fired yet.
        const described = await Promise.all(
          savepoints.map(async (path) => {
            const text: string[] = [];
            await inspect(path, { json: false }, (l) => text.push(l));
            return text.join('\n');
          }),
        );
        for (const text of described) expect(text).toContain('_timer_service_event');
        expect(described.some((text) => text.includes('_timer_service_processing'))).toBe(true);
      }),
    120_000,
  );
});

// RescaleCheckpointManuallyITCase: a retained incremental checkpoint (a chain of deltas) taken at
// one parallelism restores at another with max parallelism 13, and each key's state ends where an
// unbroken run ends it, on the subtask its key group now belongs to.
describe.each(['hashmap', 'lmdb'] as const)('RescaleCheckpointManuallyITCase (%s)', (backend) => {
  const MANUAL_KEYS = 42;
  const MAX_PARALLELISM = 13;
  /** Records of the first run; the restored run reads the rest. */
  const FIRST = MANUAL_KEYS * 100;
  const ALL = MANUAL_KEYS * 150;

  interface KeySum {
    readonly key: number;
    readonly sum: number;
    readonly subtask: number;
  }

  /** Sums key + 1 per record of its key in ValueState; emits the running sum with the subtask. */
  class SumPerKey extends KeyedProcessFunction<number, Traced<{ key: number }>, KeySum> {
    private sum!: ValueState<number>;
    private subtask = 0;
    open(ctx: RuntimeContext): void {
      this.subtask = ctx.getIndexOfThisSubtask();
      this.sum = ctx.getState(new ValueStateDescriptor<number>('sum', { defaultValue: 0 }));
    }
    processElement(
      r: Traced<{ key: number }>,
      _ctx: KeyedProcessContext<number>,
      out: Collector<KeySum>,
    ): void {
      const sum = this.sum.value()! + r.key + 1;
      this.sum.update(sum);
      out.collect({ key: r.key, sum, subtask: this.subtask });
    }
  }

  function manualJob(
    parallelism: number,
    checkpointDir: string,
    hold?: Hold,
    restorePath?: string,
    maxParallelism = MAX_PARALLELISM,
  ) {
    const env = envAt(parallelism).setMaxParallelism(maxParallelism);
    env.enableCheckpointing(30);
    env.getCheckpointConfig().setCheckpointStorage(fileUri(checkpointDir));
    env.getCheckpointConfig().setExternalizedCheckpointRetention('RETAIN_ON_CANCELLATION');
    env.configuration.setString('execution.checkpointing.num-retained', '2');
    env.configuration.setString('execution.checkpointing.incremental', 'true');
    // Deltas never outweigh their base, nor make the chain too long here, so the chain grows.
    env.configuration.setString('execution.checkpointing.incremental.max-delta-ratio', '1000');
    env.configuration.setString('execution.checkpointing.incremental.max-chain-length', '1000');
    env.configuration.setString('execution.checkpointing.data-inline-threshold', '0b');
    env.configuration.setString('state.backend.type', backend);
    if (restorePath !== undefined) env.configuration.setString('execution.state-recovery.path', restorePath);
    env.setRestartStrategy(RestartStrategies.noRestart());
    const stream = env
      .fromSource(
        tracedGenerator((i) => ({ key: i % MANUAL_KEYS }), ALL, 3_000, hold),
        'keys',
      )
      .uid('keys')
      .keyBy((r) => r.key)
      .process(new SumPerKey())
      .uid('sums');
    return { env, stream };
  }

  it.each([
    [4, 3],
    [3, 4],
  ])('testCheckpointRescalingInKeyedState: %i → %i', (from, to) =>
    withTempDir(async (dir) => {
      resetBarrierPositions();
      const checkpointDir = join(dir, 'checkpoints');
      let after = 0;
      // The source holds halfway until a checkpoint completed there (the chain's base), then at
      // FIRST: checkpoints after the half are deltas, however fast the machine.
      let half = true;
      const hold: Hold = {
        get from() {
          return half ? FIRST / 2 : FIRST;
        },
        until: () => false,
      };
      const first = manualJob(from, checkpointDir, hold);
      const job = await startJob(first.env, first.stream);
      try {
        await waitFor(
          () =>
            [...barrierPositions].some(
              ([id, p]) =>
                sumOf(p) >= FIRST / 2 && (job.client.getCheckpointStats()?.latestCompleted?.id ?? 0) >= id,
            ),
          'a completed checkpoint after half of the first records',
          30_000,
        );
        half = false;
        // Once the source holds, the next checkpoint is after every record it emitted.
        await waitFor(
          () => [...barrierPositions.values()].some((p) => sumOf(p) >= FIRST),
          'a checkpoint after the first records',
          30_000,
        );
        after = Math.max(...[...barrierPositions].filter(([, p]) => sumOf(p) >= FIRST).map(([id]) => id));
        await waitFor(
          () => (job.client.getCheckpointStats()?.latestCompleted?.id ?? 0) >= after,
          `checkpoint ${after} to complete`,
        );
      } finally {
        await job.client.cancel();
      }
      // The latest retained checkpoint (later ones than `after` may have subsumed it meanwhile).
      const jobDir = join(checkpointDir, job.client.jobId);
      const chk = join(jobDir, (await checkpointDirs(jobDir)).at(-1)!);
      const { metadata } = await resolveFileCheckpoint(chk);
      expect(metadata.checkpointId).toBeGreaterThanOrEqual(after);
      expect(sumOf(barrierPositions.get(metadata.checkpointId)!)).toBe(FIRST);
      const keyed = metadata.operators.find((o) => o.uid === 'sums')!.subtasks.flatMap((s) => s.keyed);
      expect(keyed.some((k) => (k.deltas?.length ?? 0) > 0)).toBe(true);

      const second = manualJob(to, checkpointDir, undefined, chk);
      const { records, result } = await runToEnd(second.env, second.stream, 30_000);
      expect(result.checkpoints.restored).toBe(1);
      expect(records).toHaveLength(ALL - FIRST);
      const last = new Map<number, KeySum>();
      for (const r of records) if ((last.get(r.key)?.sum ?? -1) < r.sum) last.set(r.key, r);
      for (let key = 0; key < MANUAL_KEYS; key++) {
        expect(last.get(key)?.sum).toBe((key + 1) * (ALL / MANUAL_KEYS));
        expect(last.get(key)?.subtask).toBe(
          computeOperatorIndexForKeyGroup(MAX_PARALLELISM, to, assignToKeyGroup(key, MAX_PARALLELISM)),
        );
      }
      for (const r of records)
        expect(r.subtask).toBe(
          computeOperatorIndexForKeyGroup(MAX_PARALLELISM, to, assignToKeyGroup(r.key, MAX_PARALLELISM)),
        );
    }),
  );
});

describe('restoring under another max parallelism', () => {
  // CheckpointCoordinatorRestoringTest#testRestoreLatestCheckpointFailureWhenMaxParallelismChanges, end to end
  it('is refused, naming the operator, both values and the ways out; the same savepoint restores under its own', () =>
    withTempDir(async (dir) => {
      const checkpointDir = join(dir, 'checkpoints');
      const { env, stream } = countingSumJob(2, checkpointDir, 64);
      const job = await startJob(env, stream);
      let path: string;
      try {
        await waitForCompleted(job.client, 1);
        path = await job.client.stopWithSavepoint(false, join(dir, 'savepoints'));
      } catch (e) {
        await job.client.cancel();
        throw e;
      }
      await job.ended;
      const changed = countingSumJob(3, checkpointDir, 128, path);
      const error = await rejectsWith(runToEnd(changed.env, changed.stream), 'SLUICE_RESTORE_FAILED');
      expect(error.message).toContain(
        "operator 'sum' (uid 'sum') was checkpointed with max parallelism 64, the job now has 128.",
      );
      expect(error.message).toContain('keep setMaxParallelism(64)');
      expect(error.message).toContain('start the job without this state');
      const kept = countingSumJob(3, checkpointDir, 64, path);
      const { result } = await runToEnd(kept.env, kept.stream);
      expect(result.checkpoints.restored).toBe(1);
    }));

  /** A bounded source into a keyed running sum named and uid'd `sum`. */
  function countingSumJob(
    parallelism: number,
    checkpointDir: string,
    maxParallelism: number,
    restorePath?: string,
  ) {
    const env = envAt(parallelism).setMaxParallelism(maxParallelism);
    env.enableCheckpointing(30);
    env.getCheckpointConfig().setCheckpointStorage(fileUri(checkpointDir));
    if (restorePath !== undefined) env.configuration.setString('execution.state-recovery.path', restorePath);
    env.setRestartStrategy(RestartStrategies.noRestart());
    const stream = env
      .fromSource(
        tracedGenerator((n) => ({ n }), 2_000, 4_000, { from: 500, until: () => restorePath !== undefined }),
        'numbers',
      )
      .uid('numbers')
      .keyBy((r) => r.n % 5)
      .reduce((a, b) => ({ ...b, n: a.n + b.n }))
      .uid('sum')
      .name('sum');
    return { env, stream };
  }
});

function sumOf(positions: ReadonlyMap<number, number>): number {
  let sum = 0;
  for (const n of positions.values()) sum += n;
  return sum;
}

// RescalingITCase, the operator-state cases: a counter kept in list state as 7 partitions per
// subtask is restored from a savepoint at another parallelism; the restored partitions sum to the
// counts at the savepoint (split list state), or to that times the new parallelism (union).
describe('RescalingITCase', () => {
  const PARTITIONS = 7;
  /** What each restored subtask found in its list state. */
  let restoredSums: number[] = [];

  class PartitionedCounter
    extends RichMapFunction<Traced<{ n: number }>, number>
    implements CheckpointedFunction
  {
    private counter = 0;
    private state!: ListState<number>;
    constructor(private readonly union: boolean) {
      super();
    }
    initializeState(ctx: FunctionInitializationContext): void {
      const descriptor = new ListStateDescriptor<number>('counter-partitions');
      const store = ctx.getOperatorStateStore();
      this.state = this.union ? store.getUnionListState(descriptor) : store.getListState(descriptor);
      if (ctx.isRestored()) restoredSums.push(this.state.get().reduce((a, b) => a + b, 0));
    }
    snapshotState(): void {
      const parts = Array.from(
        { length: PARTITIONS },
        (_, i) => Math.floor(this.counter / PARTITIONS) + (i < this.counter % PARTITIONS ? 1 : 0),
      );
      this.state.update(parts);
    }
    map(r: Traced<{ n: number }>): number {
      this.counter++;
      return r.n;
    }
  }

  function counterJob(
    parallelism: number,
    union: boolean,
    checkpointDir: string,
    hold?: Hold,
    restorePath?: string,
  ) {
    const env = envAt(parallelism);
    env.enableCheckpointing(50);
    env.getCheckpointConfig().setCheckpointStorage(fileUri(checkpointDir));
    if (restorePath !== undefined) env.configuration.setString('execution.state-recovery.path', restorePath);
    env.setRestartStrategy(RestartStrategies.noRestart());
    const stream = env
      .fromSource(
        tracedGenerator((n) => ({ n }), 3_000, 5_000, hold),
        'numbers',
      )
      .uid('numbers')
      .map(new PartitionedCounter(union))
      .uid('counter');
    return { env, stream };
  }

  it.each([
    ['testSavepointRescalingOutPartitionedOperatorState', 2, 3, false],
    ['testSavepointRescalingInPartitionedOperatorState', 3, 2, false],
    ['testSavepointRescalingOutBroadcastOperatorState', 2, 3, true],
    ['testSavepointRescalingInBroadcastOperatorState', 3, 2, true],
  ] as const)('%s: %i → %i', (_name, from, to, union) =>
    withTempDir(async (dir) => {
      resetBarrierPositions();
      restoredSums = [];
      const checkpointDir = join(dir, 'checkpoints');
      const first = counterJob(from, union, checkpointDir, { from: 1_000, until: () => false });
      const job = await startJob(first.env, first.stream);
      let path: string;
      try {
        await waitForCompleted(job.client, 1);
        path = await job.client.stopWithSavepoint(false, join(dir, 'savepoints'));
      } catch (e) {
        await job.client.cancel();
        throw e;
      }
      await job.ended;
      const { metadata } = await resolveFileCheckpoint(path);
      const counted = sumOf(barrierPositions.get(metadata.checkpointId)!);
      expect(counted).toBeGreaterThan(0);
      expect(restoredSums).toEqual([]);

      const second = counterJob(to, union, checkpointDir, undefined, path);
      const { records } = await runToEnd(second.env, second.stream);
      expect(records).toHaveLength(3_000 - counted);
      expect(restoredSums).toHaveLength(to);
      expect(restoredSums.reduce((a, b) => a + b, 0)).toBe(union ? counted * to : counted);
    }),
  );
});
