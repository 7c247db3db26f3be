/** Helpers of the checkpointing tests: temp checkpoint dirs, traced sources, a stats probe, running jobs to their result. */
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DataGeneratorSource,
  type CheckpointStatsSnapshot,
  type CollectResult,
  type DataStream,
  type InputStatus,
  type JobClient,
  type JobExecutionResult,
  type ReaderOutput,
  type Source,
  type SourceReader,
  type SourceSplit,
  type StreamExecutionEnvironment,
} from 'sluice';
import { waitFor } from './helpers.js';

// --- temp checkpoint directories ---

/** Runs `fn` with a fresh temporary directory, removed afterwards whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-chk-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `file:///...` for a local directory, as `execution.checkpointing.dir` takes it. */
export function fileUri(dir: string): string {
  return pathToFileURL(dir).href;
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Every file below `dir`, as paths relative to it (directories are not listed). */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (sub: string): Promise<void> => {
    for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) await walk(rel);
      else out.push(rel);
    }
  };
  await walk('');
  return out.sort();
}

/** The `chk-<n>` directory names under a job's checkpoint directory, by ascending n. */
export async function checkpointDirs(jobDir: string): Promise<string[]> {
  if (!(await exists(jobDir))) return [];
  return (await readdir(jobDir))
    .filter((name) => /^chk-\d+$/.test(name))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
}

// --- traced sources: which records were emitted before each checkpoint's barrier ---

/** A record of a traced source: the generated value plus which reader emitted it, and its position there. */
export type Traced<T> = T & { readonly reader: number; readonly seq: number };

/**
 * For each checkpoint id, per reader instance: how many records the reader had emitted when it
 * took its snapshot for that checkpoint, i.e. when it emitted the checkpoint's barrier. A record
 * with `seq` below that number is before the barrier, any other after it.
 */
export const barrierPositions = new Map<number, Map<number, number>>();
let nextReaderId = 0;

/** Forgets every recorded barrier (call at the start of each test). */
export function resetBarrierPositions(): void {
  barrierPositions.clear();
}

/** The highest checkpoint id whose barrier some traced reader has emitted (0 if none). */
export function newestBarrier(): number {
  let newest = 0;
  for (const id of barrierPositions.keys()) newest = Math.max(newest, id);
  return newest;
}

/** Where `record` stands relative to checkpoint `checkpointId`'s barrier of its reader. */
export function relativeToBarrier(
  record: { readonly reader: number; readonly seq: number },
  checkpointId: number,
): 'before' | 'after' | 'unknown' {
  const position = barrierPositions.get(checkpointId)?.get(record.reader);
  if (position === undefined) return 'unknown';
  return record.seq < position ? 'before' : 'after';
}

/** Records a traced source holds back: once its readers emitted `from` records (and its end), until `until()` holds. */
export interface Hold {
  readonly from: number;
  readonly until: () => boolean;
}

/**
 * A reader of `inner` that emits nothing while `held()` says so; the output passes through as it
 * is (split outputs and all). Waiting polls `held()` every 5 ms.
 */
export class HoldingReader<T, S extends SourceSplit, O = T> implements SourceReader<O, S> {
  private poll: NodeJS.Timeout | undefined;
  constructor(
    protected readonly inner: SourceReader<T, S>,
    private readonly release: () => boolean = () => true,
  ) {}
  /** Whether the reader holds its records back now. */
  protected held(): boolean {
    return !this.release();
  }
  start(): void {
    this.inner.start();
  }
  pollNext(output: ReaderOutput<O>): InputStatus {
    return this.held() ? 'NOTHING_AVAILABLE' : this.inner.pollNext(output as unknown as ReaderOutput<T>);
  }
  isAvailable(): Promise<void> {
    if (!this.held()) return this.inner.isAvailable();
    clearInterval(this.poll);
    return new Promise((resolve) => {
      this.poll = setInterval(() => this.held() || (clearInterval(this.poll), resolve()), 5);
    });
  }
  addSplits(splits: readonly S[]): void {
    this.inner.addSplits(splits);
  }
  notifyNoMoreSplits(): void {
    this.inner.notifyNoMoreSplits();
  }
  snapshotState(checkpointId: number): S[] {
    return this.inner.snapshotState(checkpointId);
  }
  close(): void {
    clearInterval(this.poll);
    this.inner.close();
  }
}

class TracingReader<T, S extends SourceSplit> extends HoldingReader<T, S, Traced<T>> {
  private readonly id = nextReaderId++;
  private emitted = 0;
  private innerEnded = false;
  constructor(
    inner: SourceReader<T, S>,
    private readonly hold: Hold | undefined,
    /** Records emitted by every reader of the source, in every attempt. */
    private readonly source: { emitted: number },
  ) {
    super(inner);
  }
  protected override held(): boolean {
    return (
      this.hold !== undefined &&
      (this.innerEnded || this.source.emitted >= this.hold.from) &&
      !this.hold.until()
    );
  }
  override pollNext(output: ReaderOutput<Traced<T>>): InputStatus {
    if (this.held()) return 'NOTHING_AVAILABLE';
    if (this.innerEnded) return 'END_OF_INPUT';
    const status = this.inner.pollNext({
      collect: (record: T) => {
        this.source.emitted++;
        output.collect({ ...record, reader: this.id, seq: this.emitted++ });
      },
    });
    if (status !== 'END_OF_INPUT' || this.hold === undefined) return status;
    // Its end is held too, whatever the others emitted.
    this.innerEnded = true;
    return this.held() ? 'NOTHING_AVAILABLE' : 'END_OF_INPUT';
  }
  override snapshotState(checkpointId: number): S[] {
    let positions = barrierPositions.get(checkpointId);
    if (!positions) barrierPositions.set(checkpointId, (positions = new Map<number, number>()));
    positions.set(this.id, this.emitted);
    return this.inner.snapshotState(checkpointId);
  }
}

/**
 * A DataGeneratorSource whose records also say which reader emitted them and at which position,
 * and whose readers record their position at each checkpoint barrier (`barrierPositions`).
 * With `hold`, once its readers (together, over all attempts) emitted `hold.from` records, the
 * readers hold back the rest, and their end of input, until `hold.until()` holds: a test that needs checkpoints before some records, or before the
 * end, waits for them instead of counting on the rate to leave time for them (a loaded machine
 * does not).
 */
export function tracedGenerator<T extends object>(
  fn: (index: number) => T,
  count: number,
  recordsPerSecond: number,
  hold?: Hold,
): Source<Traced<T>, SourceSplit, unknown> {
  const inner = new DataGeneratorSource(fn, count, { recordsPerSecond }) as Source<T, SourceSplit, unknown>;
  const source = { emitted: 0 };
  return {
    getBoundedness: () => inner.getBoundedness(),
    createEnumerator: (ctx) => inner.createEnumerator(ctx),
    restoreEnumerator: (ctx, state) => inner.restoreEnumerator(ctx, state),
    createReader: (ctx) => new TracingReader(inner.createReader(ctx), hold, source),
  };
}

// --- a probe of the running job, readable from inside user functions ---

let probed: JobClient | undefined;

/** Makes `client` the job user functions look at through `stats()` / `restarts()`. */
export function probe(client: JobClient | undefined): void {
  probed = client;
}

/** The probed job's checkpoint statistics (undefined before the job is submitted). */
export function stats(): CheckpointStatsSnapshot | undefined {
  return probed?.getCheckpointStats();
}

/** Id of the newest completed checkpoint of the probed job (0 if none). */
export function latestCompletedId(): number {
  return stats()?.latestCompleted?.id ?? 0;
}

/** How many checkpoints of the probed job completed (0 before it is submitted). */
export function completedCount(): number {
  return stats()?.counts.completed ?? 0;
}

/** Whether checkpoint `id` of the probed job is still in progress. */
export function isInProgress(id: number): boolean {
  return stats()?.history.find((c) => c.id === id)?.status === 'IN_PROGRESS';
}

// --- running jobs ---

/** What a job run to its end gave: the collected records and the JobExecutionResult. */
export interface RunResult<T> {
  readonly records: T[];
  readonly result: JobExecutionResult;
  readonly client: JobClient;
}

/**
 * Collects `stream` (collectAsync), submits the environment's job, probes it, and waits for both
 * the records and the JobExecutionResult; cancels the job if that takes longer than `timeoutMs`.
 */
export async function runToEnd<T>(
  env: StreamExecutionEnvironment,
  stream: DataStream<T>,
  timeoutMs = 20_000,
): Promise<RunResult<T>> {
  const collected: CollectResult<T> = stream.collectAsync();
  const client = await env.executeAsync();
  probe(client);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the job did not end within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const [records, result] = await Promise.race([
      Promise.all([collected.toArray(), client.getJobExecutionResult()]),
      timeout,
    ]);
    return { records, result, client };
  } finally {
    clearTimeout(timer);
    await client.cancel();
    probe(undefined);
  }
}

/** Waits until the job has completed at least `n` checkpoints. */
export async function waitForCompleted(client: JobClient, n: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    () => (client.getCheckpointStats()?.counts.completed ?? 0) >= n,
    `${n} completed checkpoints (job ${client.getJobStatus()})`,
    timeoutMs,
  );
}

/** A function's error, thrown on purpose by a test. */
export class InjectedFailure extends Error {
  constructor(what: string) {
    super(`injected failure: ${what}`);
    this.name = 'InjectedFailure';
  }
}

/** A submitted job whose collected records accumulate in `records` while it runs. */
export interface RunningJob<T> {
  readonly client: JobClient;
  readonly records: T[];
  /** Settles when the collect stream ends (rejects when the job failed or was cancelled). */
  readonly ended: Promise<void>;
  /**
   * Resolves once `condition()` holds while the job runs. A job that ends first rejects it at once
   * with the job's own error (or says it finished), so a failed job never reads as a time-out.
   */
  whileRunning(condition: () => boolean, what: string | (() => string), timeoutMs?: number): Promise<void>;
}

/** Collects `stream`, submits the environment's job and keeps appending its records to `records`. */
export async function startJob<T>(
  env: StreamExecutionEnvironment,
  stream: DataStream<T>,
): Promise<RunningJob<T>> {
  const collected = stream.collectAsync();
  const client = await env.executeAsync();
  const records: T[] = [];
  const ended = (async () => {
    for await (const r of collected) records.push(r);
  })();
  let outcome: { error: unknown } | undefined;
  ended.then(
    () => (outcome = { error: undefined }),
    // Cancelling makes the stream reject; callers that care await `ended` themselves.
    (error: unknown) => (outcome = { error }),
  );
  const whileRunning = async (condition: () => boolean, what: string | (() => string), timeoutMs = 5_000) => {
    await waitFor(() => condition() || outcome !== undefined, what, timeoutMs);
    if (condition()) return;
    // The job's own error (the collect stream rejects with it), so the test names the cause.
    if (outcome?.error !== undefined) await ended;
    throw new Error(`the job finished before ${typeof what === 'string' ? what : what()}`);
  };
  return { client, records, ended, whileRunning };
}

/** Flips every bit of the byte in the middle of `path` (a state file), as disk corruption would. */
export async function corruptFile(path: string): Promise<void> {
  const bytes = await readFile(path);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  await writeFile(path, bytes);
}
