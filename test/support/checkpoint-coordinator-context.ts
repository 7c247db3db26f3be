/** Test doubles for the CheckpointCoordinator: a recording job context and a storage wrapper that can be awaited, failed and held. */
import { ManualClock } from '../../src/core/clock.js';
import { newJobId, operatorId, type CheckpointId, type JobId, type OperatorId } from '../../src/core/ids.js';
import type { CheckpointingMode } from '../../src/protocol/barrier-alignment.js';
import type { OperatorSubtaskState, SubtaskCheckpointMetrics } from '../../src/runtime/checkpoint-gateway.js';
import type { CheckpointMetadata } from '../../src/storage/checkpoint-metadata.js';
import type {
  CheckpointListing,
  CheckpointStorage,
  CheckpointStorageLocation,
  CompletedCheckpointLocation,
  ResolvedCheckpoint,
} from '../../src/storage/checkpoint-storage.js';
import type { FileStateHandle, StateScope, StreamStateHandle } from '../../src/storage/state-handle.js';
import type {
  CheckpointCoordinatorContext,
  CheckpointCoordinatorSettings,
  CheckpointPlan,
  TaskRef,
} from '../../src/coordinator/checkpoint-coordinator.js';

/** One waits for a turn of the event loop: every promise continuation queued so far has run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Settings with Flink's defaults where tests rarely care, overridable one by one. */
export function testingSettings(
  overrides: Partial<CheckpointCoordinatorSettings> = {},
): CheckpointCoordinatorSettings {
  return {
    intervalMs: 1_000,
    timeoutMs: 10_000,
    minPauseMs: 0,
    maxConcurrent: 1,
    tolerableFailures: 0,
    mode: 'EXACTLY_ONCE' satisfies CheckpointingMode,
    numRetained: 1,
    historySize: 10,
    ...overrides,
  };
}

/** Metrics of one acknowledgement; `checkpointedSize` is what the stats add up. */
export function testingMetrics(overrides: Partial<SubtaskCheckpointMetrics> = {}): SubtaskCheckpointMetrics {
  return {
    syncDurationMs: 1,
    asyncDurationMs: 2,
    alignmentDurationMs: 3,
    startDelayMs: 4,
    bytesProcessedDuringAlignment: 5,
    checkpointedSize: 0,
    ...overrides,
  };
}

type StorageOp =
  | 'initializeCheckpoint'
  | 'writeState'
  | 'readState'
  | 'checkState'
  | 'finalizeCheckpoint'
  | 'discardCheckpoint'
  | 'resolveCheckpoint'
  | 'listCheckpoints'
  | 'discardSharedState'
  | 'disposeJob';

/** A storage call as the wrapper saw it. */
export interface RecordedStorageCall {
  readonly op: StorageOp;
  /** The checkpoint it concerns, where the call names one. */
  readonly checkpointId: number | undefined;
}

/** A call held at a gate until the test releases it. */
export interface HeldCall {
  /** Resolves once the call reached the gate. */
  readonly reached: Promise<void>;
  release(): void;
}

interface Gate {
  readonly op: StorageOp;
  /** Hold before delegating to the inner storage, or after it settled. */
  readonly when: 'before' | 'after';
  readonly arrived: () => void;
  readonly released: Promise<void>;
}

/**
 * Wraps a real storage: records every call, lets a test wait until no call is in flight
 * ({@link settled}), fail the next call of an operation, or hold it at a gate.
 */
export class TestingCheckpointStorage implements CheckpointStorage {
  /** Every call, in call order. */
  readonly calls: RecordedStorageCall[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly failures = new Map<StorageOp, Error>();
  private readonly gates: Gate[] = [];

  constructor(readonly inner: CheckpointStorage) {}

  get name(): CheckpointStorage['name'] {
    return this.inner.name;
  }

  /** The next call of `op` rejects with `error` (without reaching the inner storage). */
  failNext(op: StorageOp, error: Error): void {
    this.failures.set(op, error);
  }

  /** Holds the next call of `op` before it reaches the inner storage, or after it settled there. */
  holdNext(op: StorageOp, when: 'before' | 'after'): HeldCall {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.gates.push({ op, when, arrived, released });
    return { reached, release };
  }

  /** The checkpoint ids of the calls of `op`, in call order. */
  idsOf(op: StorageOp): (number | undefined)[] {
    return this.calls.filter((c) => c.op === op).map((c) => c.checkpointId);
  }

  /** Resolves once no call is in flight and none was started by the continuations of the last ones. */
  async settled(): Promise<void> {
    for (;;) {
      await flush();
      if (this.inFlight.size === 0) return;
      await Promise.allSettled([...this.inFlight]);
    }
  }

  private track<T>(op: StorageOp, checkpointId: number | undefined, run: () => Promise<T>): Promise<T> {
    this.calls.push({ op, checkpointId });
    const failure = this.failures.get(op);
    this.failures.delete(op);
    const gateIndex = this.gates.findIndex((g) => g.op === op);
    const gate = gateIndex < 0 ? undefined : this.gates.splice(gateIndex, 1)[0];
    const call = (async () => {
      if (gate?.when === 'before') {
        gate.arrived();
        await gate.released;
      }
      if (failure) throw failure;
      try {
        return await run();
      } finally {
        if (gate?.when === 'after') {
          gate.arrived();
          await gate.released;
        }
      }
    })();
    this.inFlight.add(call);
    const forget = () => void this.inFlight.delete(call);
    call.then(forget, forget);
    return call;
  }

  locationOf(jobId: JobId, checkpointId: CheckpointId): CheckpointStorageLocation {
    return this.inner.locationOf(jobId, checkpointId);
  }

  initializeCheckpoint(jobId: JobId, checkpointId: CheckpointId): Promise<CheckpointStorageLocation> {
    return this.track('initializeCheckpoint', checkpointId, () =>
      this.inner.initializeCheckpoint(jobId, checkpointId),
    );
  }

  writeState(
    location: CheckpointStorageLocation,
    data: Uint8Array,
    scope?: StateScope,
  ): Promise<StreamStateHandle> {
    return this.track('writeState', location.checkpointId, () =>
      scope === undefined
        ? this.inner.writeState(location, data)
        : this.inner.writeState(location, data, scope),
    );
  }

  readState(handle: StreamStateHandle, where: CheckpointStorageLocation | string): Promise<Uint8Array> {
    return this.track('readState', typeof where === 'string' ? undefined : where.checkpointId, () =>
      this.inner.readState(handle, where),
    );
  }

  checkState(handle: StreamStateHandle, where: CheckpointStorageLocation | string): Promise<void> {
    return this.track('checkState', typeof where === 'string' ? undefined : where.checkpointId, () =>
      this.inner.checkState(handle, where),
    );
  }

  finalizeCheckpoint(
    location: CheckpointStorageLocation,
    metadata: CheckpointMetadata,
  ): Promise<CompletedCheckpointLocation> {
    return this.track('finalizeCheckpoint', location.checkpointId, () =>
      this.inner.finalizeCheckpoint(location, metadata),
    );
  }

  discardCheckpoint(where: CheckpointStorageLocation | string): Promise<void> {
    return this.track('discardCheckpoint', checkpointIdOf(where), () => this.inner.discardCheckpoint(where));
  }

  resolveCheckpoint(pointer: string): Promise<ResolvedCheckpoint> {
    return this.track('resolveCheckpoint', checkpointIdOf(pointer), () =>
      this.inner.resolveCheckpoint(pointer),
    );
  }

  listCheckpoints(jobId: JobId): Promise<readonly CheckpointListing[]> {
    return this.track('listCheckpoints', undefined, () => this.inner.listCheckpoints(jobId));
  }

  discardSharedState(
    where: CheckpointStorageLocation | string,
    files: readonly FileStateHandle[],
  ): Promise<void> {
    return this.track('discardSharedState', checkpointIdOf(where), () =>
      this.inner.discardSharedState(where, files),
    );
  }

  disposeJob(jobId: JobId, options: { readonly keepCheckpoints: boolean }): Promise<void> {
    return this.track('disposeJob', undefined, () => this.inner.disposeJob(jobId, options));
  }
}

/** The id in a `…/chk-<n>` pointer or location. */
function checkpointIdOf(where: CheckpointStorageLocation | string): number | undefined {
  if (typeof where !== 'string') return where.checkpointId;
  const match = /chk-(\d+)(?:\/_metadata)?$/u.exec(where);
  return match ? Number(match[1]) : undefined;
}

/** A trigger the coordinator sent to a task. */
export interface RecordedTrigger {
  readonly task: TaskRef;
  readonly checkpointId: number;
  readonly timestamp: number;
}

/** An operator of the testing job, as `CheckpointCoordinatorContext.operators()` reports it. */
export interface TestingOperator {
  readonly operatorId: OperatorId;
  readonly uid?: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
}

/** The source operator of the default testing job (vertex 0). */
export const SOURCE_OPERATOR = operatorId('0000000000000000000000000000000a');
/** The keyed operator of the default testing job (vertex 1). */
export const KEYED_OPERATOR = operatorId('0000000000000000000000000000000b');

/** The task of `vertexIndex`/`subtask`, keyed as the job master keys it. */
export function taskRef(vertexIndex: number, subtask: number): TaskRef {
  return { key: `${vertexIndex}:${subtask}`, vertexIndex, subtask };
}

/**
 * The job around a coordinator under test: by default a source (vertex 0) and a keyed operator
 * (vertex 1), both at parallelism 2, all tasks running. It records triggers, notifications and
 * job failures; `running = false` makes `plan()` report that not every task runs.
 */
export class TestingCheckpointContext implements CheckpointCoordinatorContext {
  readonly jobId: JobId = newJobId();
  readonly jobName = 'testing job';
  readonly clock: ManualClock;
  readonly storage: TestingCheckpointStorage;
  /** When false, `plan()` returns undefined (a task is not running yet). */
  running = true;
  /** Tasks that get the trigger (the sources). */
  triggerTasks: TaskRef[] = [taskRef(0, 0), taskRef(0, 1)];
  /** Tasks every checkpoint waits for. */
  ackTasks: TaskRef[] = [taskRef(0, 0), taskRef(0, 1), taskRef(1, 0), taskRef(1, 1)];
  jobOperators: TestingOperator[] = [
    { operatorId: SOURCE_OPERATOR, uid: 'source', parallelism: 2, maxParallelism: 128 },
    { operatorId: KEYED_OPERATOR, uid: 'counts', parallelism: 2, maxParallelism: 128 },
  ];
  /** What the coordinators (split enumerators) snapshot for checkpoint `id`. */
  masterStates: (checkpointId: number) => { name: string; data: Uint8Array }[] = (id) => [
    { name: 'enumerator', data: Uint8Array.of(0xe0, id & 0xff) },
  ];

  readonly triggers: RecordedTrigger[] = [];
  readonly completedIds: number[] = [];
  readonly abortedIds: number[] = [];
  readonly jobFailures: Error[] = [];
  readonly masterSnapshotIds: number[] = [];
  private waiters: { what: 'complete' | 'abort'; id: number; resolve: () => void }[] = [];

  constructor(storage: CheckpointStorage, clock = new ManualClock(1_700_000_000_000)) {
    this.clock = clock;
    this.storage = new TestingCheckpointStorage(storage);
  }

  plan(): CheckpointPlan | undefined {
    return this.running ? { trigger: [...this.triggerTasks], ack: [...this.ackTasks] } : undefined;
  }

  triggerTask(task: TaskRef, checkpointId: number, timestamp: number): void {
    this.triggers.push({ task, checkpointId, timestamp });
  }

  notifyComplete(checkpointId: number): void {
    this.completedIds.push(checkpointId);
    this.wake('complete', checkpointId);
  }

  notifyAborted(checkpointId: number): void {
    this.abortedIds.push(checkpointId);
    this.wake('abort', checkpointId);
  }

  snapshotMasterStates(checkpointId: number): { name: string; data: Uint8Array }[] {
    this.masterSnapshotIds.push(checkpointId);
    return this.masterStates(checkpointId);
  }

  operators(): readonly TestingOperator[] {
    return this.jobOperators;
  }

  failJob(error: Error): void {
    this.jobFailures.push(error);
  }

  /** Checkpoint ids triggered so far, once each, in trigger order. */
  triggeredIds(): number[] {
    return [...new Set(this.triggers.map((t) => t.checkpointId))];
  }

  /** Resolves when notifyComplete(`checkpointId`) was called (at once if it was). */
  completion(checkpointId: number): Promise<void> {
    return this.waitFor('complete', checkpointId);
  }

  /** Resolves when notifyAborted(`checkpointId`) was called (at once if it was). */
  abortion(checkpointId: number): Promise<void> {
    return this.waitFor('abort', checkpointId);
  }

  private waitFor(what: 'complete' | 'abort', id: number): Promise<void> {
    if ((what === 'complete' ? this.completedIds : this.abortedIds).includes(id)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ what, id, resolve }));
  }

  private wake(what: 'complete' | 'abort', id: number): void {
    const ready = this.waiters.filter((w) => w.what === what && w.id === id);
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}

/** Acknowledges checkpoint `checkpointId` for every task in `tasks` with the states `stateOf` gives. */
export function acknowledgeAll(
  coordinator: {
    receiveAcknowledgeMessage(
      taskKey: string,
      checkpointId: number,
      state: readonly OperatorSubtaskState[],
      metrics: SubtaskCheckpointMetrics,
    ): void;
  },
  tasks: readonly TaskRef[],
  checkpointId: number,
  stateOf: (task: TaskRef) => readonly OperatorSubtaskState[] = () => [],
  metrics: SubtaskCheckpointMetrics = testingMetrics(),
): void {
  for (const task of tasks)
    coordinator.receiveAcknowledgeMessage(task.key, checkpointId, stateOf(task), metrics);
}
