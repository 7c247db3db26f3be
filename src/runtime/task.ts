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
  StopMode,
  StreamOperator,
  StreamOperatorFactory,
  TaskServices,
  UserMetricSource,
} from './stream-operator.js';
import {
  blockedChannels,
  createBarrierHandler,
  processAlignmentTimeout,
  processBarrierEvent,
  type BarrierEvent,
  type BarrierHandlerState,
} from '../protocol/barrier-alignment.js';
import { END_OF_PARTITION, isBuffer, type ChannelEvent } from './channel-event.js';
import {
  ChannelStateCapture,
  captureInputChannels,
  replayChannelState,
  stopRecording,
} from './channel-state-capture.js';
import { createHeadInputs, type HeadInputs, type InputOwner } from './two-input-head.js';
import { MIN_WATERMARK, type WatermarkStatus } from '../core/watermark.js';
import { TaskIoTime } from './task-io-time.js';
import { MeterWindow } from './meter-window.js';
import type { OperatorRestoredState, TaskCheckpointGateway, TaskRestoreState } from './checkpoint-gateway.js';
import {
  isInlineOnly,
  localFirstReader,
  openRestoreState,
  readStateHandle,
  restoredInline,
  type RestoreFileSources,
  type StateHandleReader,
} from './restore-state-reader.js';
import type { TaskLocalStateStore } from './task-local-state-store.js';
import { logger } from '../core/log.js';
import { SubtaskCheckpointCoordinator, type CheckpointArrival } from './subtask-checkpoint-coordinator.js';
import type { InputChannel, InputGate } from './input-gate.js';
import { Mailbox } from './mailbox.js';
import { buildOperatorChain, type OperatorChain } from './operator-chain.js';
import { frameHasTimestamp, readFrameLength, type RecordWriter } from './record-writer.js';
import type { Schedulable, TaskScheduler } from './task-scheduler.js';
import type { StateBackendSettings } from '../state/state-backend.js';
import { restoreKeyedState } from '../state/restore-keyed-state.js';
import { loadsArrivingState } from '../state/state-backend-factory.js';
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
  /**
   * This subtask's task-local state on this TaskManager (local recovery): copies of what it
   * checkpoints, and where a restore looks first. Undefined: local recovery is off.
   */
  readonly localState?: TaskLocalStateStore | undefined;
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
/** How long one slice may process a network buffer's records; the clock is read every 64 records. */
const SLICE_MS = 4;

/** Marks user metrics among a task's reported counters. */
export const USER_METRIC_PREFIX = 'user:';
const SLICE_CHECK_MASK = 63;

/** One subtask at run time. */
export class Task implements Schedulable, TaskServices, ProcessingTimeService, InputOwner {
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
  /**
   * Stop-with-savepoint without drain (Flink's SUSPEND) reached this task at this checkpoint: the
   * job ends at the savepoint, so nothing may happen after it (no timers, no end of input)
   * unless it is aborted.
   */
  private stoppingAt: number | undefined;
  /** Processing-time timers that fell due while stopping: run if the stop is aborted, else dropped. */
  private deferredTimers: (() => void)[] = [];
  /** 0 running, 1 input ended (endInput called), 2 ended (end-of-partition sent), 3 finishing. */
  private endPhase: 0 | 1 | 2 | 3 = 0;
  /** Operators of the chain opened, counted from its tail (open runs tail first). */
  private opened = 0;
  /** Whether the operators were closed (at the end, or in the cleanup of a failure or cancel). */
  private operatorsClosed = false;
  private checkpoints: SubtaskCheckpointCoordinator | undefined;
  private barriers: BarrierHandlerState | undefined;
  private readonly barrierTimestamps = new Map<number, number>();
  /** The savepoint targets of savepoint barriers seen, until their checkpoint is taken or aborted. */
  private readonly savepointTargets = new Map<number, SavepointTarget>();
  private alignmentStart = 0;
  private alignmentStartBytes = 0;
  private alignmentStartDelay = 0;
  private bytesProcessed = 0;
  /** Idle, back-pressured and busy time (Flink's `*TimeMsPerSecond` metrics come from it). */
  readonly ioTime = new TaskIoTime();
  /** The `*PerSecond` rates of this task's counters. */
  readonly meters = new MeterWindow();
  /** The metric groups user functions of this task's chain registered. */
  private readonly userMetrics: UserMetricSource[] = [];
  // Position inside the network buffer being processed, so an async pause can resume mid-buffer.
  private buffer: Uint8Array | undefined;
  private bufferPos = 0;
  private bufferChannel: InputChannel | undefined;
  /** Unaligned checkpoints whose channel state is being captured, and alignment-timeout timers. */
  private readonly captures = new Map<number, ChannelStateCapture>();
  private alignmentTimer: Cancellable | undefined;
  /** Where the state files of this execution's restore came from (task-local copies or checkpoint storage). */
  readonly restoredFiles: RestoreFileSources = { local: 0, remote: 0 };
  /** The head's logical inputs: where records go, and a valve per input (tasks with an input gate). */
  private inputs: HeadInputs | undefined;
  /** Per logical input of a two-input head: channels that ended. */
  private finishedPerInput = [0, 0];
  /** The watermark the chain head last processed (Flink's `currentInputWatermark` metric). */
  currentInputWatermark = MIN_WATERMARK;
  /** The status this task last told its output channels. */
  private outputStatus: WatermarkStatus = 'ACTIVE';

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

  /** Bytes of records read from the network (the current buffer's read part included). */
  get bytesIn(): number {
    return this.bytesProcessed;
  }

  /** How the newest checkpoint this task took reached it (alignment and start delay, ms); undefined before the first. */
  get lastCheckpointArrival(): CheckpointArrival | undefined {
    return this.checkpoints?.lastArrival;
  }

  /** Letters waiting in the mailbox (Flink's `mailboxQueueSize`). */
  get mailboxSize(): number {
    return this.mailbox.size;
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
      const local = d.localState?.config.recover === true ? d.localState : undefined;
      const read = localFirstReader(
        local,
        restore.checkpointId,
        d.readState ?? readStateHandle,
        this.restoredFiles,
      );
      // An lmdb backend loads its state as it is read, so the files go through a bounded window.
      const windowed = loadsArrivingState(d.stateBackend);
      openRestoreState(restore, subtask, read, { windowed }).then(
        ({ restored, verified }) => {
          // Once keyed state files, still arriving now, are read too (failures are the restore's).
          if (local)
            verified.then(
              () =>
                logger('task').info(
                  { task: this.name, checkpointId: restore.checkpointId, ...this.restoredFiles },
                  `${this.name} restored ${this.restoredFiles.local} of ` +
                    `${this.restoredFiles.local + this.restoredFiles.remote} state file(s) of checkpoint ` +
                    `${restore.checkpointId} from local state`,
                ),
              () => undefined,
            );
          // Cancelled (or failed) while reading: nothing to open.
          if (!isTerminal(this.state)) this.initialize(restored, verified);
        },
        (e: unknown) => this.fail(e),
      );
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * Builds the chain, restores its backends from `restored`, opens it and starts processing. With
   * `verified`, keyed state bases are still arriving: the keyed backends load them meanwhile, and
   * the chain opens once they are loaded and every file is verified.
   */
  private initialize(
    restored: ReadonlyMap<OperatorId, OperatorRestoredState> | undefined,
    verified?: Promise<void>,
  ): void {
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
    } catch (e) {
      this.fail(e);
      return;
    }
    if (restored === undefined || verified === undefined) return this.openChain(restored, false);
    this.restoreKeyedState(restored, verified).then(
      // Cancelled (or failed) while restoring: nothing to open.
      () => {
        if (!isTerminal(this.state)) this.openChain(restored, true);
      },
      (e: unknown) => this.fail(e),
    );
  }

  /**
   * Restores the keyed backends from state that is still arriving; rejects with a file's error
   * (SLUICE_RESTORE_STATE_UNREADABLE) before any other, since unverified bytes explain the rest.
   */
  private async restoreKeyedState(
    restored: ReadonlyMap<OperatorId, OperatorRestoredState>,
    verified: Promise<void>,
  ): Promise<void> {
    const loads: Promise<void>[] = [];
    for (const entry of this.chain.entries) {
      const keyed = restored.get(entry.operatorId)?.keyed ?? [];
      if (keyed.length > 0 && entry.keyedStateBackend)
        loads.push(restoreKeyedState(entry.keyedStateBackend, keyed));
    }
    const [files, ...outcomes] = await Promise.allSettled([verified, ...loads]);
    if (files.status === 'rejected') throw files.reason;
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  }

  /** Restores what is left of `restored`, opens the chain and starts processing. */
  private openChain(
    restored: ReadonlyMap<OperatorId, OperatorRestoredState> | undefined,
    keyedRestored: boolean,
  ): void {
    const d = this.deployment;
    try {
      this.restoreState(restored, keyedRestored);
      for (let i = this.chain.operators.length - 1; i >= 0; i--) {
        this.chain.operators[i]!.open();
        this.opened++;
      }
      if (d.checkpointing) {
        this.checkpoints = new SubtaskCheckpointCoordinator(
          this.name,
          this.chain.entries,
          this.writers,
          d.checkpointing,
          this.clock,
          () => !isTerminal(this.state),
          d.localState?.config.backup === true ? d.localState : undefined,
        );
        if (d.inputGate && d.inputGate.channels.length > 0)
          this.barriers = createBarrierHandler({
            numberOfChannels: d.inputGate.channels.length,
            mode: d.checkpointing.mode,
          });
      }
      if (d.inputGate) d.inputGate.onData = () => this.wake();
      if (d.inputGate && d.inputGate.channels.length > 0)
        this.inputs = createHeadInputs(this.chain.head, d.inputGate.channels, this);
      if (d.bufferTimeoutMs > 0) this.scheduleFlush();
      this.transition('RUNNING');
      this.wake();
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * Restores the backends from the state read for them (the keyed ones unless `keyedRestored`),
   * then initializes the operators.
   */
  private restoreState(
    restored: ReadonlyMap<OperatorId, OperatorRestoredState> | undefined,
    keyedRestored: boolean,
  ): void {
    for (const entry of this.chain.entries) {
      const state = restored?.get(entry.operatorId);
      if (state?.channelState)
        replayChannelState(state.channelState, this.deployment.inputGate, this.writers, this.name);
      if (state) {
        if (state.keyed.length > 0 && !keyedRestored) entry.keyedStateBackend?.restore(state.keyed);
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
      this.checkpoints.performCheckpoint(
        checkpointId,
        {
          triggerTimestamp,
          emitBarrier: this.endPhase < 2,
          alignmentDurationMs: 0,
          startDelayMs: Math.max(0, this.clock.now() - triggerTimestamp),
          bytesProcessedDuringAlignment: 0,
          ...(savepoint === undefined ? {} : { savepoint }),
        },
        // Unaligned: the barrier overtakes the output's queued buffers, which become channel state.
        // Savepoints are always aligned.
        this.unalignedFromStart() && savepoint === undefined
          ? this.trackCapture(new ChannelStateCapture(checkpointId, 0))
          : undefined,
      );
      // Stop-with-savepoint (Flink's SYNC_SAVEPOINT): nothing after its barrier, so the savepoint
      // is the source's last word unless it is aborted.
      if (savepoint?.kind === 'sync-savepoint' && this.endPhase === 0) {
        if (this.source) this.suspendedAt = checkpointId;
        this.stoppingAt = checkpointId;
      }
    });
  }

  /**
   * Stop-with-savepoint: a source task ends its input now, as if its source had ended (end of
   * input for its chain, end-of-partition downstream); other tasks end when their inputs do.
   */
  endSourceInput(): void {
    this.enqueue('end source input', () => {
      if (!this.source || this.endPhase !== 0 || this.state !== 'RUNNING') return;
      // After a stop's synchronous savepoint (no drain), event time does not advance to its end.
      const stopMode = this.suspendedAt === undefined ? 'DRAIN' : 'NO_DRAIN';
      this.suspendedAt = undefined;
      this.beginEnding(stopMode);
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
      // A failed stop-with-savepoint: the job runs on, with the timers that fell due meanwhile.
      if (this.suspendedAt === checkpointId) this.suspendedAt = undefined;
      if (this.stoppingAt === checkpointId) {
        this.stoppingAt = undefined;
        const deferred = this.deferredTimers;
        this.deferredTimers = [];
        for (const fire of deferred) fire();
      }
      this.abortAlignment(checkpointId);
      this.dropCapture(checkpointId);
    });
  }

  /** Unaligned from the first barrier on: unaligned checkpoints without an alignment timeout. */
  private unalignedFromStart(): boolean {
    const gateway = this.deployment.checkpointing;
    return (
      gateway?.mode === 'EXACTLY_ONCE' &&
      gateway.unaligned === true &&
      (gateway.alignedCheckpointTimeoutMs ?? 0) === 0
    );
  }

  private trackCapture(capture: ChannelStateCapture): ChannelStateCapture {
    this.captures.set(capture.checkpointId, capture);
    void capture.result.then(() => this.captures.delete(capture.checkpointId));
    return capture;
  }

  /** The checkpoint will not complete here: stop recording its in-flight data. */
  private dropCapture(checkpointId: number): void {
    stopRecording(checkpointId, this.deployment.inputGate);
    this.captures.get(checkpointId)?.abort();
  }

  /**
   * The coordinator gave up on `checkpointId` (e.g. it timed out): a task still aligning it stops
   * blocking channels now instead of at the next barrier. The abort goes through the barrier
   * state machine as a cancel marker on a channel that is neither blocked nor finished — one
   * exists, or the alignment would have completed.
   */
  private abortAlignment(checkpointId: number): void {
    const state = this.barriers;
    if (
      (state?.kind !== 'collecting-barriers' && state?.kind !== 'collecting-unaligned') ||
      state.latestCheckpointId !== checkpointId
    )
      return;
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
      // As Flink's finishOperators then closeAllOperators: final output first, then resources.
      // A finish that throws leaves the closing to the failure's cleanup.
      for (const op of this.chain.operators) op.finish();
      this.operatorsClosed = true;
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
    if (this.ioTime.isIdle) this.ioTime.endIdle(performance.now());
    this.runSliceBody();
    // Not back in the run queue and not waiting for output or an async write: waiting for input.
    if (!this.scheduled && !this.waitingForOutput && this.pendingAsync === 0 && this.state === 'RUNNING')
      this.ioTime.startIdle(performance.now());
  }

  private runSliceBody(): void {
    try {
      for (let letter = this.mailbox.take(); letter; letter = this.mailbox.take()) {
        // Records a letter emits (timers, flushes) have no timestamp unless their operator sets one.
        this.chain.elementTimestamp.clear();
        letter.run();
        if (isTerminal(this.state)) return;
      }
      const gate = this.deployment.inputGate;
      // Unaligned barriers are taken at once, also while the output is full.
      if (gate !== undefined && gate.hasPriority()) this.processPriorityEvents(gate);
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
          this.ioTime.startBackPressure(performance.now());
          w.partition.onAvailable(() => {
            this.waitingForOutput = false;
            this.ioTime.endBackPressure(performance.now());
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
    if (!this.processEvent(channel, item)) return false;
    return gate.hasData();
  }

  private processPriorityEvents(gate: InputGate): void {
    for (let polled = gate.pollPriority(); polled; polled = gate.pollPriority()) {
      const { channel, item } = polled;
      if (!isBuffer(item)) this.processEvent(channel, item);
      if (isTerminal(this.state)) return;
    }
  }

  /** Handles an event of `channel`; false once the input ended. */
  private processEvent(channel: InputChannel, item: ChannelEvent): boolean {
    const gate = this.deployment.inputGate!;
    switch (item.kind) {
      case 'end-of-partition':
        channel.finished = true;
        gate.finishedChannels++;
        this.onBarrierEvent({ kind: 'end-of-partition', channel: channel.index });
        if (this.inputs?.twoInput) this.endTwoInputSide(channel.inputIndex);
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
          unaligned: item.unaligned === true,
          timeoutable: item.timeoutable === true,
        });
        // Captured for a checkpoint this barrier did not trigger (an old id): not needed.
        channel.arrivalCapture = undefined;
        break;
      case 'cancel-checkpoint':
        this.onBarrierEvent({
          kind: 'cancel-marker',
          channel: channel.index,
          checkpointId: item.checkpointId as CheckpointId,
        });
        break;
      case 'watermark':
        // Timers the watermark fires emit records timestamped by the timer, not by the last record.
        this.chain.elementTimestamp.clear();
        this.inputs!.valves[channel.inputIndex]!.inputWatermark(
          item.timestamp,
          this.inputs!.indexInInput[channel.index]!,
          this.inputs!.valveOutputs[channel.inputIndex]!,
        );
        break;
      case 'watermark-status':
        this.inputs!.valves[channel.inputIndex]!.inputWatermarkStatus(
          item.status,
          this.inputs!.indexInInput[channel.index]!,
          this.inputs!.valveOutputs[channel.inputIndex]!,
        );
        break;
    }
    return true;
  }

  /** A channel of a two-input head's input `inputIndex` ended: once all of them have, so has that input. */
  private endTwoInputSide(inputIndex: number): void {
    const inputs = this.inputs!;
    if (++this.finishedPerInput[inputIndex]! < inputs.channelCounts[inputIndex]!) return;
    this.chain.elementTimestamp.clear();
    // A stop without drain tells no operator its input ended (as beginEnding).
    if (this.stoppingAt === undefined) inputs.twoInput!.endInput(inputIndex === 0 ? 1 : 2);
  }

  /** Feeds the barrier state machine and carries out its actions, in order. */
  private onBarrierEvent(event: BarrierEvent): void {
    if (!this.barriers) return;
    // An unaligned trigger takes what the barrier's channel captured when the barrier arrived.
    const triggeredBy =
      event.kind === 'barrier' ? this.deployment.inputGate!.channels[event.channel] : undefined;
    this.carryOut(processBarrierEvent(this.barriers, event), triggeredBy);
  }

  /** The alignment of `checkpointId` took longer than execution.checkpointing.aligned-checkpoint-timeout. */
  private onAlignmentTimeout(checkpointId: CheckpointId): void {
    if (!this.barriers) return;
    this.carryOut(processAlignmentTimeout(this.barriers, checkpointId));
  }

  private carryOut(
    { state, actions }: ReturnType<typeof processBarrierEvent>,
    triggeredBy?: InputChannel,
  ): void {
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
        case 'start-alignment-timer': {
          const timeout = this.deployment.checkpointing?.alignedCheckpointTimeoutMs ?? 0;
          const since =
            this.clock.now() - (this.barrierTimestamps.get(action.checkpointId) ?? this.clock.now());
          this.alignmentTimer?.cancel();
          // Flink's BarrierAlignmentUtil#getTimerDelay: the timeout counts from the checkpoint's start.
          this.alignmentTimer = this.clock.schedule(Math.max(timeout - since, 0), () =>
            this.enqueue(`alignment timeout of checkpoint ${action.checkpointId}`, () =>
              this.onAlignmentTimeout(action.checkpointId),
            ),
          );
          break;
        }
        case 'trigger-checkpoint': {
          this.alignmentTimer?.cancel();
          this.alignmentTimer = undefined;
          const triggerTimestamp = this.barrierTimestamps.get(action.checkpointId) ?? this.clock.now();
          const savepoint = this.savepointTargets.get(action.checkpointId);
          this.forgetBarriersUpTo(action.checkpointId);
          const capture =
            action.recording === undefined || savepoint !== undefined
              ? undefined
              : this.trackCapture(
                  captureInputChannels(
                    action.checkpointId,
                    gate,
                    action.recording,
                    triggeredBy,
                    this.buffer === undefined
                      ? undefined
                      : { channel: this.bufferChannel!, rest: this.buffer.subarray(this.bufferPos) },
                  ),
                );
          this.checkpoints!.performCheckpoint(
            action.checkpointId,
            {
              triggerTimestamp,
              emitBarrier: this.endPhase < 2,
              alignmentDurationMs: this.clock.now() - this.alignmentStart,
              startDelayMs: this.alignmentStartDelay,
              bytesProcessedDuringAlignment: this.bytesProcessed - this.alignmentStartBytes,
              ...(savepoint === undefined ? {} : { savepoint }),
            },
            capture,
          );
          if (savepoint?.kind === 'sync-savepoint' && this.endPhase === 0)
            this.stoppingAt = action.checkpointId;
          break;
        }
        case 'abort-checkpoint':
          this.alignmentTimer?.cancel();
          this.alignmentTimer = undefined;
          this.forgetBarriersUpTo(action.checkpointId);
          this.dropCapture(action.checkpointId);
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
    // The head itself, or for a two-input head the input this channel feeds.
    const head = this.inputs!.sinks[channel.inputIndex]!;
    const timestamp = this.chain.elementTimestamp;
    // Made once per buffer, and only for a buffer with timestamped records.
    let view: DataView | undefined;
    let pos = this.bufferPos;
    let n = 0;
    // A slice ends after SLICE_MS even mid-buffer, so expensive records cannot hold the event loop
    // (timers, I/O of asynchronous snapshots, priority barriers) for a whole buffer's worth.
    const deadline = performance.now() + SLICE_MS;
    while (pos < buf.length) {
      const len = readFrameLength(buf, pos);
      let start = pos + 4;
      if (frameHasTimestamp(buf, pos)) {
        view ??= new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
        timestamp.value = view.getFloat64(start);
        timestamp.present = true;
        start += 8;
      } else {
        timestamp.present = false;
      }
      const record = serializer.deserialize(buf, start, start + len);
      pos = start + len;
      n++;
      head.processElement(record);
      if (this.pendingAsync > 0 || !this.allOutputsAvailable()) break;
      if ((n & SLICE_CHECK_MASK) === 0 && performance.now() >= deadline) break;
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

  /**
   * End of input: endInput on the chain, head first, then (once async work is done) finish. A
   * stop without drain ends without endInput (Flink's StopMode.NO_DRAIN): no final watermark,
   * so windows and event-time timers stay in the savepoint instead of firing after it.
   */
  private beginEnding(stopMode: StopMode = 'DRAIN'): void {
    this.endPhase = 1;
    this.chain.elementTimestamp.clear();
    // A two-input head was told each input's end as it came.
    const operators = this.chain.operators;
    if (this.stoppingAt === undefined && stopMode === 'DRAIN')
      for (let i = this.inputs?.twoInput ? 1 : 0; i < operators.length; i++) operators[i]!.endInput();
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
    this.alignmentTimer?.cancel();
    this.alignmentTimer = undefined;
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

  /**
   * Closes the operators opened so far when the task fails or is cancelled (Flink's cleanup in
   * StreamTask): their connections, files and timers are released, but none is finished, so no
   * final output is emitted or committed. Errors are logged, never thrown: the task already failed.
   */
  private closeOperatorsQuietly(): void {
    const chain = this.chain as OperatorChain | undefined;
    if (this.operatorsClosed || chain === undefined) return;
    this.operatorsClosed = true;
    const operators = chain.operators;
    for (let i = operators.length - this.opened; i < operators.length; i++) {
      try {
        operators[i]!.close();
      } catch (e) {
        logger('task').warn(
          { task: this.name, err: e },
          `${this.name}: closing an operator after the task stopped failed: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
  }

  /** Fails the task with `error` (wrapped with the task name if it is not a SluiceError). */
  fail(error: unknown): void {
    if (isTerminal(this.state)) return;
    this.stopTimers();
    this.closeOperatorsQuietly();
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
    this.closeOperatorsQuietly();
    this.checkpoints?.dispose();
    this.releaseState();
    this.mailbox.clear();
    this.transition('CANCELED');
  }

  private transition(state: ExecutionState, error?: Error): void {
    this.state = state;
    if (state === 'RUNNING') this.ioTime.start(performance.now());
    else if (isTerminal(state)) this.ioTime.end(performance.now());
    this.deployment.listener.onTaskStateChanged(this, state, error);
  }

  registerUserMetrics(metrics: UserMetricSource): void {
    this.userMetrics.push(metrics);
  }

  /** The user metrics' values now, keyed `user:<operator_name>.<group…>.<name>`. */
  collectUserMetrics(into: Record<string, number>): void {
    for (const source of this.userMetrics) source.collect(into, USER_METRIC_PREFIX);
  }

  // --- ProcessingTimeService ---
  getCurrentProcessingTime(): number {
    return this.clock.now();
  }

  registerTimer(timestamp: number, callback: (timestamp: number) => void): Cancellable {
    const handle = this.clock.schedule(timestamp - this.clock.now(), () => {
      this.timers.delete(handle);
      this.enqueue('processing-time timer', () =>
        this.stoppingAt === undefined
          ? callback(timestamp)
          : this.deferredTimers.push(() => callback(timestamp)),
      );
    });
    this.timers.add(handle);
    return {
      cancel: () => {
        handle.cancel();
        this.timers.delete(handle);
      },
    };
  }

  // --- InputOwner (the input watermark advanced) and TaskServices ---
  emitWatermark(watermark: number): void {
    this.currentInputWatermark = watermark;
    this.chain.head.processWatermark(watermark);
  }

  setCurrentInputWatermark(watermark: number): void {
    this.currentInputWatermark = watermark;
  }

  /** Tells every output channel the status once it changed (from the valve, or from a source). */
  emitWatermarkStatus(status: WatermarkStatus): void {
    if (status === this.outputStatus) return;
    this.outputStatus = status;
    for (const w of this.writers) w.broadcastEvent({ kind: 'watermark-status', status });
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
