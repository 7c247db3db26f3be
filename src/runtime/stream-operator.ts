/**
 * The operator contract: what a task calls on each operator of its chain. The runtime owns it so
 * that it drives operators without knowing the DataStream API that implements them.
 */
import type { Cancellable, Clock } from '../core/clock.js';
import type { AccumulatorRegistry } from '../core/accumulator.js';
import type { JobId, OperatorId } from '../core/ids.js';
import type { InputStatus } from '../core/input-status.js';
import type { KeyedStateBackend } from '../state/keyed-state-backend.js';
import type { OperatorStateBackend } from '../state/operator-state-backend.js';
import type { WatermarkStatus } from '../core/watermark.js';
import type { ElementTimestamp } from './element-timestamp.js';

/** Where an operator sends its records: the next operator of the chain or a network writer. */
export interface Output<T> {
  /** Emits a record; its event timestamp is the chain's ElementTimestamp at the time of the call. */
  collect(record: T): void;
  /** Emits a watermark (in order with the records): the next operator's `processWatermark`, or every channel. */
  emitWatermark(watermark: number): void;
}

/** Processing-time timers of a task; callbacks run in the task's mailbox, never concurrently. */
export interface ProcessingTimeService {
  getCurrentProcessingTime(): number;
  registerTimer(timestamp: number, callback: (timestamp: number) => void): Cancellable;
}

/** An event between a source reader and its split enumerator on the JobManager side. */
export type OperatorEvent =
  | { readonly kind: 'request-split' }
  | { readonly kind: 'add-splits'; readonly splits: readonly unknown[] }
  | { readonly kind: 'no-more-splits' }
  | { readonly kind: 'source-event'; readonly event: unknown };

/** Services a task offers its operators. */
export interface TaskServices {
  readonly clock: Clock;
  readonly accumulators: AccumulatorRegistry;
  /** Sends an event to this operator's coordinator (the split enumerator of a source). */
  sendOperatorEvent(operatorId: OperatorId, event: OperatorEvent): void;
  /**
   * Hands collected records to the client (executeAndCollect). With `commit`, the records are
   * those checkpoint `commit.checkpointId` covers, and the client takes them at most once.
   */
  collect(collectId: string, records: readonly unknown[], commit: CollectCommit | undefined): void;
  /**
   * Pauses this task's input until `promise` settles (an async sink write): backpressure
   * instead of unbounded buffering. A rejection fails the task.
   */
  awaitAsync(promise: PromiseLike<unknown>, what: string): void;
  /** A source's output became idle or active again: the task tells every output channel. */
  emitWatermarkStatus(status: WatermarkStatus): void;
  /** Registers an operator's user metrics, read whenever the task's metrics are reported. */
  registerUserMetrics(metrics: UserMetricSource): void;
}

/** Something that puts its current metric values into `into`, each key prefixed with `prefix`. */
export interface UserMetricSource {
  collect(into: Record<string, number>, prefix: string): void;
}

/** Which checkpoint's output a collect hand-over is (for the client's exactly-once dedup). */
export interface CollectCommit {
  readonly checkpointId: number;
  readonly subtask: number;
}

/** Job-wide settings every operator of a job sees. */
export interface JobSettings {
  readonly jobName: string;
  /** `execution.runtime-mode` as resolved for this job (AUTOMATIC already decided). */
  readonly runtimeMode: 'STREAMING' | 'BATCH';
  /** `env.getConfig().setGlobalJobParameters(...)`, as the strings that reach every process. */
  readonly globalJobParameters: Readonly<Record<string, string>>;
}

/** What an operator set up outside a job sees (test harnesses): streaming, no parameters. */
export const DEFAULT_JOB_SETTINGS: JobSettings = {
  jobName: 'Sluice Streaming Job',
  runtimeMode: 'STREAMING',
  globalJobParameters: {},
};

/** What an operator learns at setup. */
export interface OperatorSetup {
  readonly jobId: JobId;
  readonly operatorId: OperatorId;
  readonly operatorName: string;
  readonly taskName: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly attemptNumber: number;
  /** The keyed state backend, for operators on a keyed stream. */
  readonly keyedStateBackend: KeyedStateBackend | undefined;
  /** Non-keyed (operator) state: lists redistributed on rescale; sources keep splits here. */
  readonly operatorStateBackend: OperatorStateBackend;
  /** Whether checkpoints are taken (an exactly-once sink then holds output until they complete). */
  readonly checkpointingEnabled: boolean;
  readonly timeService: ProcessingTimeService;
  readonly services: TaskServices;
  /** The event timestamp of the record being processed, shared by the chain (see ElementTimestamp). */
  readonly elementTimestamp: ElementTimestamp;
  /** The job's settings; DEFAULT_JOB_SETTINGS when absent. */
  readonly job?: JobSettings | undefined;
  /**
   * Where the operator's side outputs go, by output tag id (Flink's `Output.collect(OutputTag,
   * record)`); a tag nobody consumes is absent and its records are dropped. Side-output records
   * carry the chain's ElementTimestamp as main-output ones do.
   */
  readonly sideOutputs?: SideOutputs | undefined;
}

/** An operator's side outputs by output tag id (a Map in a chain; test harnesses capture any tag). */
export interface SideOutputs {
  get(tagId: string): Output<unknown> | undefined;
}

/** How input ends (Flink's `StopMode`): drained to the end of event time, or not. */
export type StopMode = 'DRAIN' | 'NO_DRAIN';

/** An operator of a chain. Records arrive through `processElement` (also exposed as `collect`). */
export interface StreamOperator<IN = unknown> extends Output<IN> {
  setup(setup: OperatorSetup, output: Output<unknown>): void;
  open(): void;
  processElement(record: IN): void;
  /**
   * The input watermark advanced to `watermark` (Flink's `processWatermark`): fire the event-time
   * timers due, then forward it with `output.emitWatermark`. Also exposed as `emitWatermark`.
   */
  processWatermark(watermark: number): void;
  /**
   * No more input will come (bounded input ended, or a stop with drain). A stop without drain
   * (Flink's `StopMode.NO_DRAIN`) does not call it: the end of input is then not the end of event
   * time, and timers and windows stay pending, in the savepoint.
   */
  endInput(): void;
  /**
   * Every task of the job ended normally (Flink's `finish`): emit or commit the final output.
   * Never called on failure or cancel.
   */
  finish(): void;
  /**
   * Releases what the operator holds (connections, files, timers). Called after `finish` at a
   * normal end, and also when the task fails or is cancelled (Flink's cleanup), then without
   * `finish`: nothing may be committed here. Only operators that were opened are closed.
   */
  close(): void;
  /** Receives an event from this operator's coordinator. */
  handleOperatorEvent(event: OperatorEvent): void;
  /**
   * After setup, before open: state was restored into the backends (`restored` true) or is new.
   * Operators read back what they keep outside the backends (a source's splits).
   */
  initializeState(restored: boolean): void;
  /**
   * Checkpoint `checkpointId`'s barrier is about to go downstream (Flink's
   * `prepareSnapshotPreBarrier`): emit or flush what the operator buffers, so that the checkpoint
   * covers it. Called on every operator of the chain, head first, before `snapshotState`. A
   * returned promise holds back the checkpoint's acknowledgement (not the records) until it
   * settles; a rejection declines the checkpoint.
   */
  prepareSnapshotPreBarrier(checkpointId: number): void | PromiseLike<void>;
  /**
   * The synchronous phase of checkpoint `checkpointId`: copy what the operator keeps outside the
   * backends into operator state. Records do not flow during this call.
   */
  snapshotState(checkpointId: number): void;
  /** Checkpoint `checkpointId` completed everywhere: commit what it covers. */
  notifyCheckpointComplete(checkpointId: number): void;
  /** Checkpoint `checkpointId` was aborted. */
  notifyCheckpointAborted(checkpointId: number): void;
  /**
   * Set on the head operator of a source task only: the task then pulls records from it instead
   * of reading an input gate.
   */
  readonly sourceHead?: SourceHead | undefined;
}

/**
 * The head of a task with two logical inputs of their own types (Flink's TwoInputStreamOperator):
 * the task hands each input's records, watermarks (each input's own, combined over its channels)
 * and watermark statuses to the matching method; the operator's watermark is the minimum of the
 * two inputs' (an idle input does not hold it back).
 */
export interface TwoInputStreamOperator<IN1 = unknown, IN2 = unknown> extends StreamOperator<IN1> {
  processElement1(record: IN1): void;
  processElement2(record: IN2): void;
  processWatermark1(watermark: number): void;
  processWatermark2(watermark: number): void;
  processWatermarkStatus1(status: WatermarkStatus): void;
  processWatermarkStatus2(status: WatermarkStatus): void;
  /**
   * Every channel of input `inputId` ended (Flink's BoundedMultiInput); the task calls it once per
   * input, and not again without an argument when the whole task ends.
   */
  endInput(inputId?: 1 | 2): void;
}

/** Whether `operator` takes two inputs. */
export function isTwoInputOperator(operator: StreamOperator): operator is TwoInputStreamOperator {
  return typeof (operator as Partial<TwoInputStreamOperator>).processElement2 === 'function';
}

/** Asked before every source record whether the task may emit it (output room, no async wait). */
export interface EmitGate {
  mayEmit(): boolean;
}

/** The head of a source task's chain, which the task drives as its input. */
export interface SourceHead {
  /** Records the source emitted (the task reports them as the chain's input). */
  readonly recordsEmitted: number;
  /**
   * Emits records until the source has no more ready, `max` were emitted, or `gate.mayEmit()`
   * says stop, which it asks before every record.
   */
  emitBatch(max: number, gate: EmitGate): InputStatus;
  /** Resolves when the source has data again. */
  isAvailable(): Promise<void>;
}

/** Builds a fresh operator for one subtask (user functions are copied, never shared). */
export interface StreamOperatorFactory {
  readonly kind: string;
  create(): StreamOperator;
}
