/**
 * A Task runs one subtask of a job vertex: its operator chain under a mailbox. Each slice runs
 * the pending letters, then one unit of the default action (one input buffer, or a batch of
 * source records) if the output has room. Waiting (for input, output credit, an async sink
 * write, a source) costs nothing: the task leaves the run queue until a listener puts it back.
 */
import type { Cancellable, Clock } from '../core/clock.js';
import { SluiceError, invariant } from '../core/errors.js';
import type { CheckpointId, JobId, OperatorId } from '../core/ids.js';
import type { TypeRegistry } from '../core/type-registry.js';
import type { JobEdge, JobVertex } from '../graph/job-graph.js';
import type { AccumulatorRegistry } from '../core/accumulator.js';
import type {
  CollectCommit,
  JobSettings,
  OperatorEvent,
  ProcessingTimeService,
  SourceHead,
  StreamOperator,
  StreamOperatorFactory,
  TaskServices,
} from './stream-operator.js';
import {
  blockedChannels,
  createBarrierHandler,
  processBarrierEvent,
  type BarrierEvent,
  type BarrierHandlerState,
} from '../protocol/barrier-alignment.js';
import { END_OF_PARTITION, isBuffer } from './channel-event.js';
import type { OperatorRestoredState, TaskCheckpointGateway, TaskRestoreState } from './checkpoint-gateway.js';
import {
  isInlineOnly,
  readRestoreState,
  restoredInline,
  type StateHandleReader,
} from './restore-state-reader.js';
import { SubtaskCheckpointCoordinator } from './subtask-checkpoint-coordinator.js';
import type { InputChannel, InputGate } from './input-gate.js';
import { Mailbox } from './mailbox.js';
import { buildOperatorChain, type OperatorChain } from './operator-chain.js';
import { readFrameLength, type RecordWriter } from './record-writer.js';
import type { Schedulable, TaskScheduler } from './task-scheduler.js';
import type { StateBackendSettings } from '../state/state-backend.js';
import type { SavepointTarget } from '../protocol/snapshot-kind.js';

/** Flink's ExecutionState. */
export type ExecutionState =
  'CREATED' | 'DEPLOYING' | 'INITIALIZING' | 'RUNNING' | 'FINISHED' | 'CANCELING' | 'CANCELED' | 'FAILED';

/** Whether a state is final. */
export function isTerminal(state: ExecutionState): boolean {
  return state === 'FINISHED' || state === 'CANCELED' || state === 'FAILED';
}

/** Told about every state change of a task. */
export interface TaskListener {
  onTaskStateChanged(task: Task, state: ExecutionState, error?: Error): void;
  /**
   * The task reached the end of its input and sent end-of-partition downstream. It stays
   * RUNNING (answering checkpoint triggers) until `finishAfterEnd()`: tasks finish together once
   * all have ended, so that every checkpoint until then covers every task consistently.
   */
  onTaskEnded(task: Task): void;
}

/** Everything a task needs from the TaskManager that deploys it. */
export interface TaskDeployment {
  readonly jobId: JobId;
  readonly vertex: JobVertex<StreamOperatorFactory>;
  readonly subtaskIndex: number;
  readonly attemptNumber: number;
  readonly inputGate: InputGate | undefined;
  readonly writers: ReadonlyMap<JobEdge<StreamOperatorFactory>, RecordWriter>;
  readonly scheduler: TaskScheduler;
  readonly clock: Clock;
  /** `execution.buffer-timeout.interval` in ms; 0 flushes after every slice, -1 never. */
  readonly bufferTimeoutMs: number;
  readonly listener: TaskListener;
  /** The line to the checkpoint coordinator; undefined when checkpointing is off. */
  readonly checkpointing: TaskCheckpointGateway | undefined;
  /** State to restore before the operators open (handles the task reads); undefined for a fresh start. */
  readonly restore: TaskRestoreState | undefined;
  /** How the task reads its restore state's handles (default: from the checkpoint directory, verified). */
  readonly readState?: StateHandleReader | undefined;
  /** The job's name, runtime mode and global parameters, for the operators; streaming defaults when absent. */
  readonly job?: JobSettings | undefined;
  /** The keyed state backend keyed operators get (absent: the heap). */
  readonly stateBackend?: StateBackendSettings | undefined;
  /** The job's registered classes, for the state backends' default serializer. */
  readonly types?: TypeRegistry | undefined;
  sendOperatorEvent(operatorId: OperatorId, subtaskIndex: number, event: OperatorEvent): void;
  collect(collectId: string, records: readonly unknown[], commit: CollectCommit | undefined): void;
}

/** Source records emitted per slice at most, so letters (timers, splits) are not starved. */
const SOURCE_SLICE = 4096;

/** One subtask at run time. */
export class Task implements Schedulable, TaskServices, ProcessingTimeService {
  scheduled = false;
  state: ExecutionState = 'CREATED';
  readonly mailbox = new Mailbox();
  readonly accumulators: AccumulatorRegistry = new Map();
  private networkRecordsIn = 0;
  private chain!: OperatorChain;
  private source: SourceHead | undefined;
  private readonly writers: RecordWriter[];
  private readonly timers = new Set<Cancellable>();
  private flusher: Cancellable | undefined;
  private pendingAsync = 0;
  private waitingForOutput = false;
  private waitingForSource = false;
  /** A source task stopped emitting at this stop-with-savepoint's barrier, until it completes or aborts. */
  private suspendedAt: number | undefined;
  /** 0 running, 1 input ended (endInput called), 2 ended (end-of-partition sent), 3 finishing. */
  private endPhase: 0 | 1 | 2 | 3 = 0;
  private checkpoints: SubtaskCheckpointCoordinator | undefined;
  private barriers: BarrierHandlerState | undefined;
  private readonly barrierTimestamps = new Map<number, number>();
  /** The savepoint targets of savepoint barriers seen, until their checkpoint is taken or aborted. */
  private readonly savepointTargets = new Map<number, SavepointTarget>();
  private alignmentStart = 0;
  private alignmentStartBytes = 0;
  private alignmentStartDelay = 0;
  private bytesProcessed = 0;
  // Position inside the network buffer being processed, so an async pause can resume mid-buffer.
  private buffer: Uint8Array | undefined;
  private bufferPos = 0;
  private bufferChannel: InputChannel | undefined;

  constructor(readonly deployment: TaskDeployment) {
    this.writers = [...deployment.writers.values()];
  }

  get name(): string {
    const d = this.deployment;
    return `${d.vertex.name} (${d.subtaskIndex + 1}/${d.vertex.parallelism})`;
  }

  /** Records that entered the chain head (read from the network, or emitted by the source). */
  get recordsIn(): number {
    return this.source ? this.source.recordsEmitted : this.networkRecordsIn;
  }

  get clock(): Clock {
    return this.deployment.clock;
  }

  /**
   * Reads the state to restore (a task reads its own: the deployment carries handles only), then
   * builds and opens the chain and starts processing. State held inline is restored at once;
   * files are read while the task is INITIALIZING, letters and input waiting until it RUNS.
   */
  start(): void {
    this.transition('DEPLOYING');
    const d = this.deployment;
    const restore = d.restore;
    try {
      this.transition('INITIALIZING');
      const subtask = {
        subtaskIndex: d.subtaskIndex,
        parallelism: d.vertex.parallelism,
        taskName: this.name,
      };
      if (!restore || isInlineOnly(restore))
        return this.initialize(restore && restoredInline(restore, subtask));
      readRestoreState(restore, subtask, d.readState).then(
        (restored) => {
          // Cancelled (or failed) while reading: nothing to open.
          if (!isTerminal(this.state)) this.initialize(restored);
        },
        (e: unknown) => this.fail(e),
      );
    } catch (e) {
      this.fail(e);
    }
  }

  /** Builds the chain, restores its backends from `restored`, opens it and starts processing. */
  private initialize(restored: ReadonlyMap<OperatorId, OperatorRestoredState> | undefined): void {
    const d = this.deployment;
    try {
      this.chain = buildOperatorChain({
        jobId: d.jobId,
        vertex: d.vertex,
        subtaskIndex: d.subtaskIndex,
        attemptNumber: d.attemptNumber,
        writers: d.writers,
        timeService: this,
        services: this,
        checkpointingEnabled: d.checkpointing !== undefined,
        job: d.job,
        stateBackend: d.stateBackend,
        types: d.types,
      });
      this.source = this.chain.head.sourceHead;
      this.restoreState(restored);
      for (let i = this.chain.operators.length - 1; i >= 0; i--) this.chain.operators[i]!.open();
      if (d.checkpointing) {
        this.checkpoints = new SubtaskCheckpointCoordinator(
          this.name,
          this.chain.entries,
          this.writers,
          d.checkpointing,
          this.clock,
          () => !isTerminal(this.state),
        );
        if (d.inputGate && d.inputGate.channels.length > 0)
          this.barriers = createBarrierHandler({
            numberOfChannels: d.inputGate.channels.length,
            mode: d.checkpointing.mode,
          });
      }
      if (d.inputGate) d.inputGate.onData = () => this.wake();
      if (d.bufferTimeoutMs > 0) this.scheduleFlush();
      this.transition('RUNNING');
      this.wake();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Restores the backends from the state read for them, then initializes the operators. */
  private restoreState(restored: ReadonlyMap<OperatorId, OperatorRestoredState> | undefined): void {
    for (const entry of this.chain.entries) {
      const state = restored?.get(entry.operatorId);
      if (state) {
        if (state.keyed.length > 0) entry.keyedStateBackend?.restore(state.keyed);
        if (state.operator) entry.operatorStateBackend.restore(state.operator);
      }
      entry.operator.initializeState(restored !== undefined);
    }
  }

  /** Takes checkpoint `checkpointId` on the coordinator's word (sources, and tasks that ended). */
  triggerCheckpoint(checkpointId: number, triggerTimestamp: number, savepoint?: SavepointTarget): void {
    this.enqueue(`trigger checkpoint ${checkpointId}`, () => {
      if (!this.checkpoints || this.state !== 'RUNNING') return;
      // A task that ended sent end-of-partition already: downstream counts that as aligned.
      this.checkpoints.performCheckpoint(checkpointId, {
        triggerTimestamp,
        emitBarrier: this.endPhase < 2,
        alignmentDurationMs: 0,
        startDelayMs: Math.max(0, this.clock.now() - triggerTimestamp),
        bytesProcessedDuringAlignment: 0,
        ...(savepoint === undefined ? {} : { savepoint }),
      });
      // Stop-with-savepoint (Flink's SYNC_SAVEPOINT): nothing after its barrier, so the savepoint
      // is the source's last word unless it is aborted.
      if (savepoint?.kind === 'sync-savepoint' && this.source && this.endPhase === 0)
        this.suspendedAt = checkpointId;
    });
  }

  /**
   * Stop-with-savepoint: a source task ends its input now, as if its source had ended (end of
   * input for its chain, end-of-partition downstream); other tasks end when their inputs do.
   */
  endSourceInput(): void {
    this.enqueue('end source input', () => {
      if (!this.source || this.endPhase !== 0 || this.state !== 'RUNNING') return;
      this.suspendedAt = undefined;
      this.beginEnding();
    });
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.enqueue(`checkpoint ${checkpointId} complete`, () =>
      this.checkpoints?.notifyCheckpointComplete(checkpointId),
    );
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.enqueue(`checkpoint ${checkpointId} aborted`, () => {
      this.checkpoints?.notifyCheckpointAborted(checkpointId);
      // A failed stop-with-savepoint: the job runs on.
      if (this.suspendedAt === checkpointId) this.suspendedAt = undefined;
      this.abortAlignment(checkpointId);
    });
  }

  /**
   * The coordinator gave up on `checkpointId` (e.g. it timed out): a task still aligning it stops
   * blocking channels now instead of at the next barrier. The abort goes through the barrier
   * state machine as a cancel marker on a channel that is neither blocked nor finished — one
   * exists, or the alignment would have completed.
   */
  private abortAlignment(checkpointId: number): void {
    const state = this.barriers;
    if (state?.kind !== 'collecting-barriers' || state.latestCheckpointId !== checkpointId) return;
    const blocked = blockedChannels(state);
    const live = this.deployment.inputGate!.channels.find((c) => !c.finished && !blocked.has(c.index));
    if (live)
      this.onBarrierEvent({
        kind: 'cancel-marker',
        channel: live.index,
        checkpointId: checkpointId as CheckpointId,
      });
  }

  /** Every task of the job has ended: close the operators and finish. */
  finishAfterEnd(): void {
    this.enqueue('finish', () => {
      if (this.endPhase !== 2) return;
      this.endPhase = 3;
      for (const op of this.chain.operators) op.close();
      this.wake();
    });
  }

  /** Puts the task in the run queue. */
  wake(): void {
    if (!isTerminal(this.state)) this.deployment.scheduler.schedule(this);
  }

  /** Runs a control action in the mailbox. */
  enqueue(description: string, run: () => void): void {
    if (isTerminal(this.state)) return;
    this.mailbox.put({ description, run });
    this.wake();
  }

  /** Delivers an event from the operator's coordinator (split assignments). */
  deliverOperatorEvent(operatorId: OperatorId, event: OperatorEvent): void {
    this.enqueue(`operator event ${event.kind}`, () => {
      const op = this.operatorById(operatorId);
      op.handleOperatorEvent(event);
      this.waitingForSource = false;
    });
  }

  private operatorById(operatorId: OperatorId): StreamOperator {
    const index = this.deployment.vertex.chain.findIndex((n) => n.operatorId === operatorId);
    invariant(index >= 0, `operator ${operatorId} is in task ${this.name}`);
    return this.chain.operators[index]!;
  }

  runSlice(): void {
    if (isTerminal(this.state) || this.state !== 'RUNNING') return;
    try {
      for (let letter = this.mailbox.take(); letter; letter = this.mailbox.take()) {
        letter.run();
        if (isTerminal(this.state)) return;
      }
      if (this.pendingAsync > 0) return;
      if (this.endPhase > 0) return this.continueEnding();
      if (!this.outputAvailable()) return;
      const more = this.source ? this.processSource() : this.processNetworkInput();
      if (this.deployment.bufferTimeoutMs === 0) this.flushOutputs();
      if (more) this.wake();
    } catch (e) {
      this.fail(e);
    }
  }

  private outputAvailable(): boolean {
    for (const w of this.writers) {
      if (!w.partition.isAvailable()) {
        if (!this.waitingForOutput) {
          this.waitingForOutput = true;
          w.partition.onAvailable(() => {
            this.waitingForOutput = false;
            this.wake();
          });
        }
        return false;
      }
    }
    return true;
  }

  /** Whether a source may emit its next record: output has room and no async write is pending. */
  mayEmit(): boolean {
    return this.pendingAsync === 0 && this.allOutputsAvailable();
  }

  /** Checked per record, so an output channel never queues more than its configured buffers. */
  private allOutputsAvailable(): boolean {
    const writers = this.writers;
    for (let i = 0; i < writers.length; i++) if (!writers[i]!.partition.isAvailable()) return false;
    return true;
  }

  /** Emits source records until the slice budget, the output or the reader runs out. */
  private processSource(): boolean {
    const source = this.source!;
    if (this.waitingForSource || this.suspendedAt !== undefined) return false;
    const status = source.emitBatch(SOURCE_SLICE, this);
    if (status === 'END_OF_INPUT') {
      this.beginEnding();
      return false;
    }
    if (status === 'NOTHING_AVAILABLE') {
      this.waitingForSource = true;
      source.isAvailable().then(
        () => {
          this.waitingForSource = false;
          this.wake();
        },
        (e: unknown) => this.enqueue('source availability', () => this.fail(e)),
      );
      return false;
    }
    return true;
  }

  /** Processes the rest of the current buffer, or the next item of the input gate. */
  private processNetworkInput(): boolean {
    if (this.buffer) return this.processBuffer();
    const gate = this.deployment.inputGate!;
    const polled = gate.pollNext();
    if (!polled) return false;
    const { channel, item } = polled;
    if (isBuffer(item)) {
      this.buffer = item;
      this.bufferPos = 0;
      this.bufferChannel = channel;
      return this.processBuffer();
    }
    switch (item.kind) {
      case 'end-of-partition':
        channel.finished = true;
        gate.finishedChannels++;
        this.onBarrierEvent({ kind: 'end-of-partition', channel: channel.index });
        if (gate.allFinished()) {
          this.beginEnding();
          return false;
        }
        break;
      case 'barrier':
        this.barrierTimestamps.set(item.checkpointId, item.timestamp);
        if (item.savepoint !== undefined) this.savepointTargets.set(item.checkpointId, item.savepoint);
        this.onBarrierEvent({
          kind: 'barrier',
          channel: channel.index,
          checkpointId: item.checkpointId as CheckpointId,
        });
        break;
      case 'cancel-checkpoint':
        this.onBarrierEvent({
          kind: 'cancel-marker',
          channel: channel.index,
          checkpointId: item.checkpointId as CheckpointId,
        });
        break;
    }
    return gate.hasData();
  }

  /** Feeds the barrier state machine and carries out its actions, in order. */
  private onBarrierEvent(event: BarrierEvent): void {
    if (!this.barriers) return;
    const { state, actions } = processBarrierEvent(this.barriers, event);
    this.barriers = state;
    const gate = this.deployment.inputGate!;
    for (const action of actions) {
      switch (action.kind) {
        case 'alignment-start':
          this.alignmentStart = this.clock.now();
          this.alignmentStartBytes = this.bytesProcessed;
          this.alignmentStartDelay = Math.max(
            0,
            this.alignmentStart - (this.barrierTimestamps.get(action.checkpointId) ?? this.alignmentStart),
          );
          break;
        case 'block':
          gate.block(gate.channels[action.channel]!);
          break;
        case 'unblock-all':
          gate.unblockAll();
          break;
        case 'trigger-checkpoint': {
          const triggerTimestamp = this.barrierTimestamps.get(action.checkpointId) ?? this.clock.now();
          const savepoint = this.savepointTargets.get(action.checkpointId);
          this.forgetBarriersUpTo(action.checkpointId);
          this.checkpoints!.performCheckpoint(action.checkpointId, {
            triggerTimestamp,
            emitBarrier: this.endPhase < 2,
            alignmentDurationMs: this.clock.now() - this.alignmentStart,
            startDelayMs: this.alignmentStartDelay,
            bytesProcessedDuringAlignment: this.bytesProcessed - this.alignmentStartBytes,
            ...(savepoint === undefined ? {} : { savepoint }),
          });
          break;
        }
        case 'abort-checkpoint':
          this.forgetBarriersUpTo(action.checkpointId);
          this.checkpoints!.abortFromAlignment(action.checkpointId, action.reason);
          break;
      }
    }
  }

  private forgetBarriersUpTo(checkpointId: number): void {
    for (const id of this.barrierTimestamps.keys()) if (id <= checkpointId) this.barrierTimestamps.delete(id);
    for (const id of this.savepointTargets.keys()) if (id <= checkpointId) this.savepointTargets.delete(id);
  }

  private processBuffer(): boolean {
    const buf = this.buffer!;
    const channel = this.bufferChannel!;
    const serializer = channel.serializer;
    const head = this.chain.head;
    let pos = this.bufferPos;
    let n = 0;
    while (pos < buf.length) {
      const len = readFrameLength(buf, pos);
      const record = serializer.deserialize(buf, pos + 4, pos + 4 + len);
      pos += 4 + len;
      n++;
      head.processElement(record);
      if (this.pendingAsync > 0 || !this.allOutputsAvailable()) break;
    }
    this.networkRecordsIn += n;
    this.bytesProcessed += pos - this.bufferPos;
    this.bufferPos = pos;
    // Paused mid-buffer: for an async write the promise wakes the task; for a full output the
    // next slice registers for its availability.
    if (pos < buf.length) return this.pendingAsync === 0;
    this.buffer = undefined;
    this.bufferChannel = undefined;
    channel.recycle(buf.length);
    return this.deployment.inputGate!.hasData();
  }

  /** End of input: endInput on the chain, head first, then (once async work is done) finish. */
  private beginEnding(): void {
    this.endPhase = 1;
    for (const op of this.chain.operators) op.endInput();
    this.wake();
  }

  private continueEnding(): void {
    if (this.endPhase === 1) {
      this.endPhase = 2;
      for (const w of this.writers) w.broadcastEvent(END_OF_PARTITION);
      this.deployment.listener.onTaskEnded(this);
      return;
    }
    if (this.endPhase === 3) {
      this.stopTimers();
      this.checkpoints?.dispose();
      this.releaseState();
      this.transition('FINISHED');
    }
  }

  private flushOutputs(): void {
    for (const w of this.writers) w.flushAll();
  }

  private scheduleFlush(): void {
    this.flusher = this.clock.schedule(this.deployment.bufferTimeoutMs, () => {
      this.enqueue('flush output buffers', () => this.flushOutputs());
      if (!isTerminal(this.state)) this.scheduleFlush();
    });
  }

  private stopTimers(): void {
    this.flusher?.cancel();
    this.flusher = undefined;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }

  /**
   * Drops the keyed state backends once the task has ended (the lmdb backend's files are deleted
   * here). The chain may not exist yet when setting it up failed.
   */
  private releaseState(): void {
    for (const entry of this.chain?.entries ?? []) entry.keyedStateBackend?.dispose();
  }

  /** Fails the task with `error` (wrapped with the task name if it is not a SluiceError). */
  fail(error: unknown): void {
    if (isTerminal(this.state)) return;
    this.stopTimers();
    this.checkpoints?.dispose();
    this.releaseState();
    this.mailbox.clear();
    const wrapped =
      error instanceof SluiceError
        ? error
        : new SluiceError(
            'SLUICE_INTERNAL_ASSERTION',
            `task ${this.name} failed: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
    this.transition('FAILED', wrapped);
  }

  /** Stops the task without finishing its operators (job cancelled or failing over). */
  cancel(): void {
    if (isTerminal(this.state)) return;
    this.transition('CANCELING');
    this.stopTimers();
    this.checkpoints?.dispose();
    this.releaseState();
    this.mailbox.clear();
    this.transition('CANCELED');
  }

  private transition(state: ExecutionState, error?: Error): void {
    this.state = state;
    this.deployment.listener.onTaskStateChanged(this, state, error);
  }

  // --- ProcessingTimeService ---
  getCurrentProcessingTime(): number {
    return this.clock.now();
  }

  registerTimer(timestamp: number, callback: (timestamp: number) => void): Cancellable {
    const handle = this.clock.schedule(timestamp - this.clock.now(), () => {
      this.timers.delete(handle);
      this.enqueue('processing-time timer', () => callback(timestamp));
    });
    this.timers.add(handle);
    return {
      cancel: () => {
        handle.cancel();
        this.timers.delete(handle);
      },
    };
  }

  // --- TaskServices ---
  sendOperatorEvent(operatorId: OperatorId, event: OperatorEvent): void {
    this.deployment.sendOperatorEvent(operatorId, this.deployment.subtaskIndex, event);
  }

  collect(collectId: string, records: readonly unknown[], commit: CollectCommit | undefined): void {
    this.deployment.collect(collectId, records, commit);
  }

  awaitAsync(promise: PromiseLike<unknown>, what: string): void {
    this.pendingAsync++;
    promise.then(
      () => {
        this.pendingAsync--;
        this.wake();
      },
      (e: unknown) => {
        this.pendingAsync--;
        this.enqueue(what, () => {
          throw new SluiceError(
            'SLUICE_USER_FUNCTION_FAILED',
            `${what} (subtask ${this.deployment.subtaskIndex + 1}/${this.deployment.vertex.parallelism}) ` +
              `failed in task '${this.deployment.vertex.name}': ${e instanceof Error ? e.message : String(e)}`,
            {
              cause: e,
            },
          );
        });
      },
    );
  }
}
