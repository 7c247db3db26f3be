/**
 * The base of Sluice's test harnesses (Flink's AbstractStreamOperatorTestHarness): runs one real
 * operator with real state backends and the task's real checkpoint path, driven by the test.
 */
import { SluiceError, invariant } from '../core/errors.js';
import { newJobId, operatorId } from '../core/ids.js';
import { computeKeyGroupRangeForOperatorIndex } from '../core/key-groups.js';
import { cloneFunction } from '../api/operators/clone-function.js';
import type { StreamOperator, TaskServices } from '../runtime/stream-operator.js';
import { HeapKeyedStateBackend } from '../state/heap/heap-keyed-state-backend.js';
import { OperatorStateBackend } from '../state/operator-state-backend.js';
import { HarnessCheckpoints } from './harness-checkpoints.js';
import { HarnessInput, asError, type QueuedInput } from './harness-input.js';
import { harnessMisuse } from './harness-misuse.js';
import { OperatorSubtaskState, repackageState } from './operator-subtask-state.js';
import { StreamRecord } from './stream-record.js';
import { Watermark } from '../api/eventtime/watermark.js';
import type { OutputTag } from '../api/output-tag.js';
import { ElementTimestamp } from '../runtime/element-timestamp.js';
import type { WatermarkStatus } from '../core/watermark.js';
import { TestProcessingTimeService } from './test-processing-time-service.js';
import { resolveHarnessOptions, type TestHarnessOptions } from './test-harness-options.js';

/** @internal How a harness builds its operator (the public factories are in ProcessFunctionTestHarnesses). */
export interface HarnessOperatorSpec {
  /** The operator's name in errors, as the DataStream API names it. */
  readonly name: string;
  /** Whether the operator runs on a keyed stream and gets a keyed state backend. */
  readonly keyed: boolean;
  create(): StreamOperator;
}

type Phase = 'created' | 'restoring' | 'initialized' | 'open' | 'closing' | 'closed';

/**
 * Runs one operator as subtask `subtaskIndex` of `parallelism` would run it in a task, without a
 * job: `open()` (implicit on first use), input, processing time that moves only when told
 * (`setProcessingTime`), output captured for assertions, and checkpoints taken and restored
 * through the real snapshot and restore paths. The function under test is copied, as each
 * subtask of a job gets its own copy: observe it through its output, its state or something it
 * shares outside itself.
 *
 * Event time: give records a timestamp (`processElement(value, timestamp)`) and advance the
 * watermark with `processWatermark(time)`, which fires the due event-time timers; emitted
 * watermarks appear in `getOutput()` as `Watermark`s, in order with the records.
 */
export abstract class AbstractStreamOperatorTestHarness<OUT> {
  /** Merges the snapshots of several subtasks of one operator, to restore them at another parallelism. */
  static repackageState(...states: OperatorSubtaskState[]): OperatorSubtaskState {
    return repackageState(...states);
  }

  readonly maxParallelism: number;
  readonly parallelism: number;
  readonly subtaskIndex: number;
  /** @internal */
  protected readonly operator: StreamOperator;
  /** @internal */
  protected readonly keyedStateBackend: HeapKeyedStateBackend | undefined;
  private readonly operatorStateBackend = new OperatorStateBackend();
  private readonly timeService = new TestProcessingTimeService();
  private readonly checkpoints: HarnessCheckpoints;
  private readonly inputs = new HarnessInput();
  private readonly output: (StreamRecord<OUT> | Watermark)[] = [];
  /** @internal The timestamp of the record being processed (the task's per-chain slot). */
  protected readonly elementTimestamp = new ElementTimestamp();
  /** Watermark statuses the operator emitted (IDLE/ACTIVE), in order. */
  private readonly watermarkStatuses: WatermarkStatus[] = [];
  /** What the operator emitted to each side output, by tag id. */
  private readonly sideOutputs = new Map<string, StreamRecord<unknown>[]>();
  private phase: Phase = 'created';

  /** @internal Create harnesses with ProcessFunctionTestHarnesses. */
  constructor(spec: HarnessOperatorSpec, options: TestHarnessOptions = {}) {
    const resolved = resolveHarnessOptions(spec.name, options);
    ({
      parallelism: this.parallelism,
      maxParallelism: this.maxParallelism,
      subtaskIndex: this.subtaskIndex,
    } = resolved);
    const jobId = newJobId();
    const id = operatorId(newJobId());
    this.keyedStateBackend = spec.keyed
      ? new HeapKeyedStateBackend({
          maxParallelism: this.maxParallelism,
          keyGroupRange: computeKeyGroupRangeForOperatorIndex(
            this.maxParallelism,
            this.parallelism,
            this.subtaskIndex,
          ),
          // State TTL follows the harness's processing time (setProcessingTime), as timers do.
          ttlTimeProvider: () => this.timeService.getCurrentProcessingTime(),
        })
      : undefined;
    this.operator = spec.create();
    this.operator.setup(
      {
        jobId,
        operatorId: id,
        operatorName: spec.name,
        taskName: spec.name,
        subtaskIndex: this.subtaskIndex,
        parallelism: this.parallelism,
        maxParallelism: this.maxParallelism,
        attemptNumber: 0,
        keyedStateBackend: this.keyedStateBackend,
        operatorStateBackend: this.operatorStateBackend,
        checkpointingEnabled: true,
        timeService: this.timeService,
        services: this.services(),
        elementTimestamp: this.elementTimestamp,
        sideOutputs: {
          get: (tagId) => ({
            collect: (record) => {
              const list = this.sideOutputs.get(tagId) ?? [];
              list.push(new StreamRecord(cloneFunction(record), this.elementTimestamp.get()));
              this.sideOutputs.set(tagId, list);
            },
            emitWatermark: () => {},
          }),
        },
      },
      {
        // Copied as emitted (Flink's harness copies with the serializer): what the operator emitted
        // then, whatever it does to the object afterwards. The copy keeps class prototypes.
        collect: (record) =>
          void this.output.push(new StreamRecord(cloneFunction(record) as OUT, this.elementTimestamp.get())),
        emitWatermark: (watermark) => void this.output.push(new Watermark(watermark)),
      },
    );
    this.checkpoints = new HarnessCheckpoints({
      jobId,
      taskName: `${spec.name} (${this.subtaskIndex + 1}/${this.parallelism})`,
      entry: {
        operatorId: id,
        operator: this.operator,
        keyedStateBackend: this.keyedStateBackend,
        operatorStateBackend: this.operatorStateBackend,
      },
      clock: this.timeService.clock,
      options: resolved,
      isRunning: () => this.phase !== 'closed',
    });
  }

  /** Kept for Flink's form: a harness is set up when it is created. */
  setup(): void {
    this.checkUsable('setup()');
  }

  /**
   * Restores `state` (from `snapshot()` of another harness, or `repackageState`) through the
   * real restore path — keyed state, timers and operator state come back, and a
   * CheckpointedFunction's `initializeState` sees `isRestored()` true. Call it on a fresh
   * harness, before anything else, and await it.
   */
  async initializeState(state: OperatorSubtaskState): Promise<void> {
    this.checkUsable('initializeState()');
    this.checkNotInitialized('initializeState()');
    if (!(state instanceof OperatorSubtaskState))
      throw harnessMisuse(
        'initializeState() takes what snapshot() (or repackageState()) returned; for no state, call ' +
          'initializeEmptyState() or just start using the harness.',
      );
    this.phase = 'restoring';
    let restore;
    try {
      restore = await this.checkpoints.read(state, this.keyedStateBackend !== undefined);
    } catch (e) {
      this.phase = 'created'; // nothing was restored: the harness can still be used
      throw e;
    }
    this.phase = 'initialized';
    try {
      if (restore.keyed.length > 0) this.keyedStateBackend!.restore(restore.keyed);
      if (restore.operator) this.operatorStateBackend.restore(restore.operator);
      this.operator.initializeState(true);
    } catch (e) {
      this.inputs.fail(e, true); // half-restored: the harness cannot go on, as the task could not
      throw e;
    }
  }

  /** Initializes the operator with no state (`isRestored()` false); first use does this implicitly. */
  initializeEmptyState(): void {
    this.checkUsable('initializeEmptyState()');
    this.checkNotInitialized('initializeEmptyState()');
    this.operator.initializeState(false);
    this.phase = 'initialized';
  }

  /** Opens the operator (the function's `open(ctx)`); first use does this implicitly, and again is a no-op. */
  open(): void {
    this.checkUsable('open()');
    this.ensureOpen();
  }

  /**
   * Takes checkpoint `checkpointId` as a task does: the synchronous phase now (the function's
   * `snapshotState`, then a copy-on-write version of the backends is pinned), then the
   * asynchronous phase serializes and writes the state to (jobmanager) checkpoint storage.
   * Resolves with the written state, for `initializeState()` of a fresh harness. Input after
   * this call is not in the snapshot. Ids are positive and increase; `timestamp` is the trigger
   * time.
   */
  async snapshot(checkpointId: number, timestamp: number): Promise<OperatorSubtaskState> {
    this.checkUsable('snapshot()');
    this.ensureOpen();
    const pending = this.checkpoints.begin(checkpointId, timestamp);
    // The barrier is input: it waits behind input held up by an asynchronous write.
    this.inputs.push({
      run: () => {
        try {
          pending.trigger();
        } catch (e) {
          pending.abort(asError(e));
        }
      },
      abort: pending.abort,
    });
    return pending.promise;
  }

  /** Checkpoint `checkpointId` completed: the function's `notifyCheckpointComplete` runs. */
  notifyOfCompletedCheckpoint(checkpointId: number): void {
    this.checkUsable('notifyOfCompletedCheckpoint()');
    this.ensureOpen();
    this.checkpoints.notifyComplete(checkpointId);
  }

  /** Checkpoint `checkpointId` was aborted: its snapshot, if still being written, is dropped. */
  notifyOfAbortedCheckpoint(checkpointId: number): void {
    this.checkUsable('notifyOfAbortedCheckpoint()');
    this.ensureOpen();
    this.checkpoints.notifyAborted(checkpointId);
  }

  /** Moves processing time to `time` (ms), firing every due processing-time timer in time order. */
  setProcessingTime(time: number): void {
    this.checkUsable('setProcessingTime()');
    this.ensureOpen();
    this.timeService.setCurrentTime(time);
  }

  /** The current processing time (starts at 0). */
  getProcessingTime(): number {
    return this.timeService.getCurrentProcessingTime();
  }

  /**
   * What the operator emitted so far, in order. The array itself: clear or change it as you
   * like (as Flink's queue), or use `clearOutput()`.
   */
  getOutput(): (StreamRecord<OUT> | Watermark)[] {
    return this.output;
  }

  /** The emitted records (not the watermarks), in order (Flink's name). */
  extractOutputStreamRecords(): StreamRecord<OUT>[] {
    return this.output.filter((r): r is StreamRecord<OUT> => r instanceof StreamRecord);
  }

  /** The values the operator emitted so far, in order. */
  extractOutputValues(): OUT[] {
    return this.extractOutputStreamRecords().map((r) => r.value);
  }

  /**
   * What the operator emitted to the side output `tag` so far, in order (Flink's
   * `getSideOutput(outputTag)`); undefined when it emitted nothing there.
   */
  getSideOutput<X>(tag: OutputTag<X>): StreamRecord<X>[] | undefined {
    return this.sideOutputs.get(tag.getId()) as StreamRecord<X>[] | undefined;
  }

  /** The watermark statuses (IDLE/ACTIVE) the operator emitted, in order. */
  getWatermarkStatuses(): WatermarkStatus[] {
    return this.watermarkStatuses.slice();
  }

  /** Forgets the output so far. */
  clearOutput(): void {
    this.output.length = 0;
  }

  /**
   * Resolves once every asynchronous sink write has settled and the input waiting behind it was
   * processed; rejects with the failure if one failed (which fails the harness, as the task).
   */
  processAll(): Promise<void> {
    return this.inputs.processAll();
  }

  /**
   * Closes the operator (the function's `close()`, after pending asynchronous work and snapshots
   * finished) and releases the state. Always cleans up; calling it again does nothing. Rejects
   * with a failure of the harness that no call reported yet.
   */
  async close(): Promise<void> {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    if (this.phase === 'restoring')
      throw harnessMisuse(
        'close() while initializeState() is still restoring; await initializeState() first.',
      );
    const wasOpen = this.phase === 'open';
    this.phase = 'closing';
    let closeError: Error | undefined;
    try {
      await this.inputs.settleQuietly();
      await this.checkpoints.settle();
      if (wasOpen && !this.inputs.failed) {
        this.operator.finish();
        this.operator.close();
        await this.inputs.settleQuietly();
      }
    } catch (e) {
      closeError = asError(e);
    } finally {
      this.phase = 'closed';
      this.checkpoints.dispose();
      this.keyedStateBackend?.dispose();
      this.operatorStateBackend.dispose();
    }
    const failure = closeError ?? this.inputs.takeUnreported();
    if (failure) throw failure;
  }

  // --- for the subclasses ---

  /** @internal Throws if the harness cannot take `call` now (closed, restoring, failed). */
  protected checkUsable(call: string): void {
    if (this.isClosed())
      throw harnessMisuse(
        `${call} after close(); create a new harness (restore a snapshot into it to go on).`,
      );
    if (this.phase === 'restoring')
      throw harnessMisuse(
        `${call} while initializeState() is still restoring; await initializeState() first.`,
      );
    this.inputs.throwIfFailed();
  }

  /** @internal Whether close() was called. */
  protected isClosed(): boolean {
    return this.phase === 'closing' || this.phase === 'closed';
  }

  /** @internal Initializes (without state) and opens the operator if that has not happened yet. */
  protected ensureOpen(): void {
    if (this.phase === 'open') return;
    if (this.phase === 'created') this.initializeEmptyState();
    this.operator.open();
    this.phase = 'open';
  }

  /** @internal Runs input now (errors thrown to the caller), or after a pending asynchronous write. */
  protected input(item: QueuedInput): void {
    this.inputs.push(item);
  }

  // --- internals ---

  private checkNotInitialized(call: string): void {
    if (this.phase === 'open')
      throw harnessMisuse(
        `${call} after the harness opened (it opens on first use); restore into a fresh harness before ` +
          'processing anything.',
      );
    if (this.phase !== 'created') throw harnessMisuse(`${call}: the harness was initialized already.`);
  }

  private services(): TaskServices {
    return {
      clock: this.timeService.clock,
      accumulators: new Map(),
      sendOperatorEvent: (_id, event) =>
        invariant(false, `a harness operator sends no operator events (got ${event.kind})`),
      collect: () => invariant(false, 'a harness runs no collect sink'),
      emitWatermarkStatus: (status) => this.watermarkStatuses.push(status),
      // A harness reports no metrics; the operator's metric group still counts.
      registerUserMetrics: () => undefined,
      awaitAsync: (promise, what) =>
        this.inputs.awaitAsync(
          promise,
          (e) =>
            new SluiceError(
              'SLUICE_USER_FUNCTION_FAILED',
              `${what} (subtask ${this.subtaskIndex + 1}/${this.parallelism}) failed: ` +
                `${e instanceof Error ? e.message : String(e)}`,
              { cause: e },
            ),
        ),
    };
  }
}
