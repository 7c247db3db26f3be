// The Nexmark queries of examples/nexmark (issue 15 point 5), each run three ways over the same
// generated events — to its end, with checkpoints and an injected failure, and stopped with a
// savepoint at parallelism 2 and restored at 3 — and each compared with the query computed
// directly over the events in plain TypeScript (nexmark-expected.ts). q4's updating result is
// compared by its last row per category (and one row per closed auction), q12's
// processing-time windows by the bids per bidder over all windows.
import { describe, expect, it } from 'vitest';
import {
  NexmarkSource,
  RestartStrategies,
  RichMapFunction,
  type DataStream,
  type InputStatus,
  type NexmarkConfiguration,
  type NexmarkEvent,
  type ReaderOutput,
  type RuntimeContext,
  type Source,
  type SourceReader,
  type SourceSplit,
  type StreamExecutionEnvironment,
} from 'sluice';
import { join } from 'node:path';
import { nexmarkWatermarks } from '../../examples/nexmark/nexmark-views.js';
import { QUERIES, type QueryName } from '../../examples/nexmark/queries.js';
import { q12 } from '../../examples/nexmark/q12.js';
import { nexmarkEvent } from '../../src/connectors/nexmark/nexmark-generator.js';
import { resolveNexmarkConfiguration } from '../../src/connectors/nexmark/nexmark-configuration.js';
import {
  HoldingReader,
  InjectedFailure,
  completedCount,
  fileUri,
  probe,
  startJob,
  waitForCompleted,
  withTempDir,
} from '../support/checkpointing.js';
import { envAt, expectSameMultiset, waitFor } from '../support/helpers.js';
import { expected, views } from './nexmark-expected.js';

/** 5,000 events at 125 per second of event time: 40 s, so 4 tumbling windows, 20 sliding ones, several sessions. */
const OPTIONS: NexmarkConfiguration = { numEvents: 5_000, firstEventRate: 125 };
const N = OPTIONS.numEvents;
const CONFIG = resolveNexmarkConfiguration(OPTIONS);
const VIEWS = views(Array.from({ length: N }, (_, n) => nexmarkEvent(CONFIG, n)));
/** q12's processing-time windows in the tests: short, so that they fire soon. */
const Q12_WINDOW_MS = 100;

/** Events past the gate (in every subtask and attempt of the running job). */
let emitted = 0;
let failed = false;

/** When the source holds back: its records from `from` on until `release()`, its end until `endRelease()`. */
interface Gate {
  readonly from: number;
  readonly release: () => boolean;
  readonly endRelease: () => boolean;
}

class GateReader extends HoldingReader<NexmarkEvent, SourceSplit> {
  private ended = false;
  constructor(
    inner: SourceReader<NexmarkEvent, SourceSplit>,
    private readonly gate: Gate,
  ) {
    super(inner);
  }
  protected override held(): boolean {
    return (emitted >= this.gate.from && !this.gate.release()) || (this.ended && !this.gate.endRelease());
  }
  override pollNext(output: ReaderOutput<NexmarkEvent>): InputStatus {
    if (this.held()) return 'NOTHING_AVAILABLE';
    if (this.ended) return 'END_OF_INPUT';
    const status = this.inner.pollNext(output);
    if (status !== 'END_OF_INPUT') return status;
    this.ended = true;
    return this.held() ? 'NOTHING_AVAILABLE' : 'END_OF_INPUT';
  }
}

function gatedSource(gate: Gate): Source<NexmarkEvent, SourceSplit, unknown> {
  const inner = new NexmarkSource(OPTIONS) as Source<NexmarkEvent, SourceSplit, unknown>;
  return {
    getBoundedness: () => inner.getBoundedness(),
    createEnumerator: (ctx) => inner.createEnumerator(ctx),
    restoreEnumerator: (ctx, state) => inner.restoreEnumerator(ctx, state),
    createReader: (ctx) => new GateReader(inner.createReader(ctx), gate),
  };
}

/** Counts the events; with `fail`, throws once past the middle after two completed checkpoints. */
class Gatekeeper extends RichMapFunction<NexmarkEvent, NexmarkEvent> {
  private attempt = 0;
  constructor(private readonly fail: boolean) {
    super();
  }
  open(ctx: RuntimeContext): void {
    this.attempt = ctx.getAttemptNumber();
  }
  map(e: NexmarkEvent): NexmarkEvent {
    emitted++;
    if (this.fail && !failed && this.attempt === 0 && emitted > N / 2 && completedCount() >= 2) {
      failed = true;
      throw new InjectedFailure('a Nexmark query past the middle of its input');
    }
    return e;
  }
}

/** Bids counted by q12's rows so far (its windows must all fire before the source may end). */
function countedBids(rows: readonly unknown[]): number {
  return rows.reduce<number>((sum, r) => sum + (r as { bid_count: number }).bid_count, 0);
}

interface RunSettings {
  readonly parallelism: number;
  readonly gate: Gate;
  readonly fail?: boolean;
  readonly checkpointDir?: string;
  readonly restorePath?: string;
}

function build(
  query: QueryName,
  s: RunSettings,
): { env: StreamExecutionEnvironment; rows: DataStream<unknown> } {
  const env = envAt(s.parallelism);
  if (s.checkpointDir !== undefined) {
    env.enableCheckpointing(30);
    env.getCheckpointConfig().setCheckpointStorage(fileUri(s.checkpointDir));
    env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
  }
  if (s.restorePath !== undefined)
    env.configuration.setString('execution.state-recovery.path', s.restorePath);
  env.getConfig().setAutoWatermarkInterval(20);
  const gated = env
    .fromSource(gatedSource(s.gate), nexmarkWatermarks(), 'nexmark')
    .uid('nexmark-source')
    .map(new Gatekeeper(s.fail ?? false))
    .uid('gatekeeper');
  const rows = (query === 'q12' ? q12(gated, Q12_WINDOW_MS) : QUERIES[query](gated)) as DataStream<unknown>;
  return { env, rows };
}

/** Compares a query's rows (over all runs of a scenario, in arrival order) with the plain computation. */
function verify(query: QueryName, rows: readonly unknown[]): void {
  if (query === 'q4') {
    const { averages, closed } = expected.q4(VIEWS);
    expect(rows.length, 'one row per auction closed with a bid').toBe(closed);
    const last = new Map<number, unknown>();
    for (const r of rows) last.set((r as { category: number }).category, r);
    expectSameMultiset([...last.values()], averages);
  } else if (query === 'q12') {
    const perBidder = new Map<number, number>();
    for (const r of rows as { bidder: number; bid_count: number }[])
      perBidder.set(r.bidder, (perBidder.get(r.bidder) ?? 0) + r.bid_count);
    expect([...perBidder].sort((a, b) => a[0] - b[0])).toEqual(
      [...expected.q12(VIEWS)].sort((a, b) => a[0] - b[0]),
    );
  } else expectSameMultiset(rows, expected[query](VIEWS));
}

/** q12 may end only once every bid is in a fired window (pending processing-time windows are dropped at the end, as in Flink). */
function endRelease(query: QueryName, rows: () => readonly unknown[]): () => boolean {
  return query === 'q12' ? () => countedBids(rows()) === VIEWS.bids.length : () => true;
}

/** Runs the job to its end; returns its rows. */
async function runToTheEnd(
  query: QueryName,
  s: Omit<RunSettings, 'gate'>,
  before: readonly unknown[] = [],
): Promise<unknown[]> {
  let records: unknown[] = [];
  const gate: Gate = {
    from: s.fail === true ? N / 2 : Infinity,
    release: () => completedCount() >= 2,
    endRelease: endRelease(query, () => [...before, ...records]),
  };
  const { env, rows } = build(query, { ...s, gate });
  const job = await startJob(env, rows);
  records = job.records;
  probe(job.client);
  // A job that does not end (q12 counting wrong, say) is cancelled, so the test fails instead of hanging.
  const deadline = setTimeout(() => void job.client.cancel(), 30_000);
  try {
    const result = await job.client.getJobExecutionResult();
    await job.ended;
    if (s.restorePath !== undefined) expect(result.checkpoints.restored).toBe(1);
  } catch (e) {
    await job.client.cancel();
    throw e;
  } finally {
    clearTimeout(deadline);
    probe(undefined);
  }
  return job.records;
}

/** Runs the job until half the events passed, then stops it with a savepoint; returns its path and rows. */
async function runAndStop(
  query: QueryName,
  parallelism: number,
  dir: string,
): Promise<{ path: string; rows: unknown[] }> {
  const gate: Gate = { from: N / 2, release: () => false, endRelease: () => false };
  const { env, rows } = build(query, { parallelism, gate, checkpointDir: join(dir, 'checkpoints') });
  const job = await startJob(env, rows);
  let path: string;
  try {
    await waitFor(() => emitted >= N / 2, `half the events (${emitted} of ${N / 2})`, 20_000);
    await waitForCompleted(job.client, 1);
    path = await job.client.stopWithSavepoint(false, join(dir, 'savepoints'));
  } catch (e) {
    await job.client.cancel();
    throw e;
  }
  await job.ended;
  return { path, rows: job.records };
}

describe.each(Object.keys(QUERIES) as QueryName[])('Nexmark %s', (query) => {
  it('run to its end at parallelism 2 gives the plain computation’s result', async () => {
    emitted = 0;
    verify(query, await runToTheEnd(query, { parallelism: 2 }));
    expect(emitted).toBe(N);
  });

  it('gives the same with checkpoints and a failure injected mid-input', () =>
    withTempDir(async (dir) => {
      emitted = 0;
      failed = false;
      const rows = await runToTheEnd(query, { parallelism: 2, fail: true, checkpointDir: dir });
      expect(failed).toBe(true);
      verify(query, rows);
    }));

  it('gives the same stopped with a savepoint at parallelism 2 and restored at 3', () =>
    withTempDir(async (dir) => {
      emitted = 0;
      const first = await runAndStop(query, 2, dir);
      emitted = 0;
      const rest = await runToTheEnd(query, { parallelism: 3, restorePath: first.path }, first.rows);
      expect(emitted).toBeLessThan(N);
      verify(query, [...first.rows, ...rest]);
    }));
});
