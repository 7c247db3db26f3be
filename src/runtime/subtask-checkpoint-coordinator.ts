/**
 * Takes a subtask's part of a checkpoint (Flink's SubtaskCheckpointCoordinator): the
 * synchronous phase on the mailbox (operators copy their extra state, backends pin a
 * copy-on-write version), then the barrier goes downstream, then the asynchronous phase
 * serializes and writes the state while records keep flowing, and acknowledges.
 */
import type { Clock } from '../core/clock.js';
import type { CheckpointId } from '../core/ids.js';
import { invariant } from '../core/errors.js';
import { logger } from '../core/log.js';
import type { KeyedSnapshotRun } from '../state/keyed-state-snapshot.js';
import type { OperatorSnapshotRun } from '../state/operator-state-snapshot.js';
import { channelStateBytes, encodeChannelState, isEmptyChannelState } from '../storage/channel-state.js';
import type { KeyedStateHandle, OperatorStateHandle } from '../storage/state-handle.js';
import { keyedChain, stateSize } from '../storage/state-handle.js';
import type { ChannelEvent } from './channel-event.js';
import type { OperatorSubtaskState, TaskCheckpointGateway } from './checkpoint-gateway.js';
import { ChannelStateCapture } from './channel-state-capture.js';
import type { SavepointTarget } from '../protocol/snapshot-kind.js';
import { FULL_SNAPSHOT } from '../state/keyed-state-backend.js';
import type { CheckpointStorage, CheckpointStorageLocation } from '../storage/checkpoint-storage.js';
import { savepointStorage } from '../storage/filesystem/savepoint-storage.js';
import type { ChainedOperator } from './operator-chain.js';
import type { RecordWriter } from './record-writer.js';
import type { TaskLocalStateStore } from './task-local-state-store.js';

/** Facts about how the checkpoint reached this subtask, for its statistics. */
export interface CheckpointArrival {
  readonly triggerTimestamp: number;
  /** Whether to send the barrier downstream (not after end-of-partition was sent). */
  readonly emitBarrier: boolean;
  readonly alignmentDurationMs: number;
  readonly startDelayMs: number;
  readonly bytesProcessedDuringAlignment: number;
  /** A savepoint's barrier brought it: a full snapshot written to the savepoint's own directory. */
  readonly savepoint?: SavepointTarget;
}

interface InFlight {
  readonly capture: ChannelStateCapture | undefined;
  readonly savepoint: SavepointTarget | undefined;
  readonly runs: readonly {
    readonly keyed: KeyedSnapshotRun | undefined;
    readonly operator: OperatorSnapshotRun;
    /** An incremental keyed snapshot's base: the handle of the completed checkpoint it builds on. */
    readonly base: KeyedStateHandle | undefined;
  }[];
}

/** An operator's keyed handles of incremental chains: acknowledged ones, and the last completed. */
interface KeyedChains {
  readonly acked: Map<number, KeyedStateHandle>;
  completed: { readonly checkpointId: number; readonly handle: KeyedStateHandle } | undefined;
}

/** Checkpointing of one subtask. */
export class SubtaskCheckpointCoordinator {
  /** The newest checkpoint this subtask took (a repeated trigger for it is ignored). */
  lastCheckpointId = 0;
  /**
   * How the newest checkpoint reached this subtask: its alignment time and its start delay (from
   * the checkpoint's trigger to its barrier's arrival), Flink's `checkpointAlignmentTime` and
   * `checkpointStartDelayNanos` gauges; undefined before the first checkpoint.
   */
  lastArrival: CheckpointArrival | undefined;
  private readonly inFlight = new Map<number, InFlight>();
  /** Per operator of the chain (same index). */
  private readonly chains: KeyedChains[];
  private readonly log = logger('task-checkpoint');

  constructor(
    private readonly taskName: string,
    private readonly chain: readonly ChainedOperator[],
    private readonly writers: readonly RecordWriter[],
    private readonly gateway: TaskCheckpointGateway,
    private readonly clock: Clock,
    /** Called when the asynchronous phase fails after the subtask was stopped: nothing to do then. */
    private readonly isRunning: () => boolean,
    /** Local recovery: where a copy of every state file written goes (absent: no copies). */
    private readonly local?: TaskLocalStateStore,
  ) {
    this.chains = chain.map(() => ({ acked: new Map(), completed: undefined }));
  }

  /**
   * Both phases of checkpoint `checkpointId`; errors of the synchronous phase fail the task
   * (thrown). With `capture` the checkpoint is unaligned: the barrier overtakes the output's queued
   * buffers, and the channel state is written with the operator state once complete.
   */
  performCheckpoint(checkpointId: number, arrival: CheckpointArrival, unaligned?: ChannelStateCapture): void {
    let capture = unaligned;
    if (checkpointId <= this.lastCheckpointId) return;
    this.lastCheckpointId = checkpointId;
    this.lastArrival = arrival;
    const syncStart = this.clock.monotonicNow();
    let flushes: PromiseLike<void>[] | undefined;
    for (const entry of this.chain) {
      const flushed = entry.operator.prepareSnapshotPreBarrier(checkpointId);
      if (flushed !== undefined) (flushes ??= []).push(flushed);
    }
    for (const entry of this.chain) entry.operator.snapshotState(checkpointId);
    const runs = this.chain.map((entry, i) => {
      // A savepoint is self-contained: never a delta on a chain in the job's shared/ directory.
      const keyed = entry.keyedStateBackend?.snapshot(
        checkpointId,
        arrival.savepoint === undefined ? undefined : FULL_SNAPSHOT,
      );
      return {
        keyed,
        operator: entry.operatorStateBackend.snapshot(checkpointId),
        base: this.baseOf(i, keyed),
      };
    });
    const syncDurationMs = this.clock.monotonicNow() - syncStart;
    const barrier: ChannelEvent =
      arrival.savepoint === undefined
        ? { kind: 'barrier', checkpointId, timestamp: arrival.triggerTimestamp }
        : {
            kind: 'barrier',
            checkpointId,
            timestamp: arrival.triggerTimestamp,
            savepoint: arrival.savepoint,
          };
    if (capture !== undefined) {
      const priority = { ...barrier, unaligned: true };
      capture.setOutputs(
        arrival.emitBarrier ? this.writers.map((w) => w.broadcastPriorityEvent(priority)) : [],
      );
    } else if (arrival.emitBarrier) {
      // Downstream may go unaligned if aligning this barrier takes too long; a savepoint never does.
      const timeoutable = arrival.savepoint === undefined && this.timeoutable();
      for (const w of this.writers)
        w.broadcastEvent(timeoutable ? { ...barrier, timeoutable: true } : barrier);
      if (timeoutable) capture = this.convertAtTimeout(checkpointId, arrival.triggerTimestamp);
    }
    this.inFlight.set(checkpointId, { runs, capture, savepoint: arrival.savepoint });
    void this.completeAsync(checkpointId, runs, flushes, syncDurationMs, arrival, capture);
  }

  private async completeAsync(
    checkpointId: number,
    runs: InFlight['runs'],
    /** Pre-barrier flushes still writing: what they write belongs to this checkpoint. */
    flushes: readonly PromiseLike<void>[] | undefined,
    syncDurationMs: number,
    arrival: CheckpointArrival,
    capture: ChannelStateCapture | undefined,
  ): Promise<void> {
    const asyncStart = this.clock.monotonicNow();
    try {
      if (flushes !== undefined) await Promise.all(flushes);
      const { location, storage } = this.target(checkpointId, arrival.savepoint);
      // A savepoint is the user's, restored by a new job: no task-local copy of it.
      const local = arrival.savepoint === undefined ? this.local : undefined;
      const states: OperatorSubtaskState[] = [];
      let checkpointedSize = 0;
      for (let i = 0; i < runs.length; i++) {
        const run = runs[i]!;
        const keyedSnapshot = await run.keyed?.write();
        const operatorSnapshot = await run.operator.write();
        if (location === undefined) continue; // aborted meanwhile: write nothing
        const keyed: KeyedStateHandle[] = [];
        if (keyedSnapshot) {
          const incremental = run.keyed?.incremental === true;
          // Part of a chain: later checkpoints refer to it, so it is shared state.
          const handle = await storage.writeState(
            location,
            keyedSnapshot.data,
            incremental ? 'shared' : 'exclusive',
          );
          checkpointedSize += stateSize(handle);
          if (local) {
            // The chain's earlier files are local already (linked from the base's copy).
            if (run.base !== undefined && run.keyed?.baseCheckpointId !== undefined)
              for (const blob of keyedChain(run.base))
                await local.reuseLocalState(checkpointId, run.keyed.baseCheckpointId, blob.handle);
            await local.storeLocalState(checkpointId, handle, keyedSnapshot.data);
          }
          const { keyGroupRange, offsets } = keyedSnapshot;
          const written: KeyedStateHandle =
            run.base === undefined
              ? { keyGroupRange, offsets, handle }
              : { ...run.base, deltas: [...(run.base.deltas ?? []), { offsets, handle }] };
          if (incremental) this.chains[i]!.acked.set(checkpointId, written);
          keyed.push(written);
        }
        const operator: OperatorStateHandle[] = [];
        for (const entry of operatorSnapshot.states) {
          const handle = await storage.writeState(location, entry.data);
          await local?.storeLocalState(checkpointId, handle, entry.data);
          operator.push({ name: entry.name, mode: entry.mode, handle });
        }
        for (const h of operator) checkpointedSize += stateSize(h);
        if (keyed.length > 0 || operator.length > 0)
          states.push({ operatorId: this.chain[i]!.operatorId, keyed, operator });
      }
      let persistedData = 0;
      if (capture !== undefined) {
        // Timeoutable barriers that all left already: nothing can be converted any more.
        if (!capture.unaligned && !this.holdsBarrier(checkpointId)) capture.setOutputs([]);
        // Complete once every input channel delivered its barrier (and every timeoutable output
        // barrier left or was converted); undefined once aborted.
        const channelState = await capture.result;
        if (channelState === undefined || location === undefined) return;
        if (!isEmptyChannelState(channelState)) {
          const channelHandle = await storage.writeState(location, encodeChannelState(channelState));
          persistedData = channelStateBytes(channelState);
          checkpointedSize += stateSize(channelHandle);
          const headId = this.chain[0]!.operatorId;
          const head = states.findIndex((s) => s.operatorId === headId);
          if (head >= 0) states[head] = { ...states[head]!, channelState: channelHandle };
          else states.unshift({ operatorId: headId, keyed: [], operator: [], channelState: channelHandle });
        }
      }
      if (location === undefined || !this.inFlight.has(checkpointId)) return;
      this.gateway.acknowledgeCheckpoint(checkpointId, states, {
        syncDurationMs,
        asyncDurationMs: this.clock.monotonicNow() - asyncStart,
        alignmentDurationMs: arrival.alignmentDurationMs,
        startDelayMs: arrival.startDelayMs,
        bytesProcessedDuringAlignment: arrival.bytesProcessedDuringAlignment,
        checkpointedSize,
        ...(capture === undefined ? {} : { persistedData, unaligned: capture.unaligned }),
      });
    } catch (e) {
      if (!this.isRunning() || !this.inFlight.has(checkpointId)) return;
      const error = e instanceof Error ? e : new Error(String(e));
      this.log.warn(
        { checkpointId, task: this.taskName, err: error },
        'asynchronous checkpoint phase failed',
      );
      this.gateway.declineCheckpoint(checkpointId, 'CHECKPOINT_ASYNC_EXCEPTION', error);
    } finally {
      this.release(checkpointId);
    }
  }

  /**
   * Where checkpoint `checkpointId` writes, and with which storage: a savepoint goes to its own
   * directory on the file system whatever the job's checkpoint storage (as Flink's savepoints do
   * with JobManager checkpoint storage). Undefined location: aborted meanwhile.
   */
  private target(
    checkpointId: number,
    savepoint: SavepointTarget | undefined,
  ): { location: CheckpointStorageLocation | undefined; storage: CheckpointStorage } {
    const location = this.gateway.location(checkpointId);
    if (savepoint === undefined) return { location, storage: this.gateway.storage };
    return {
      location: location && { ...location, pointer: savepoint.pointer },
      storage: savepointStorage(savepoint.pointer, this.gateway.storage),
    };
  }

  private release(checkpointId: number): void {
    const flight = this.inFlight.get(checkpointId);
    if (!flight) return;
    this.inFlight.delete(checkpointId);
    flight.capture?.abort();
    for (const run of flight.runs) {
      run.keyed?.release();
      run.operator.release();
    }
  }

  /** Checkpoint `checkpointId` completed: operators commit, incremental chains move on. */
  notifyCheckpointComplete(checkpointId: number): void {
    this.chain.forEach((entry, i) => {
      const chains = this.chains[i]!;
      const handle = chains.acked.get(checkpointId);
      if (handle !== undefined) {
        chains.completed = { checkpointId, handle };
        for (const id of [...chains.acked.keys()]) if (id <= checkpointId) chains.acked.delete(id);
        // Only now, so that the backend builds on a checkpoint whose handle is known here.
        entry.keyedStateBackend?.notifyCheckpointComplete?.(checkpointId);
      }
    });
    for (const entry of this.chain) entry.operator.notifyCheckpointComplete(checkpointId);
  }

  /** The handle an incremental keyed snapshot builds on (undefined for a full one). */
  private baseOf(index: number, run: KeyedSnapshotRun | undefined): KeyedStateHandle | undefined {
    const baseId = run?.baseCheckpointId;
    if (baseId === undefined) return undefined;
    const completed = this.chains[index]!.completed;
    invariant(
      completed?.checkpointId === baseId,
      `an incremental keyed snapshot builds on checkpoint ${baseId}, whose handle this subtask knows ` +
        `(it knows ${completed?.checkpointId ?? 'none'})`,
    );
    return completed.handle;
  }

  /** Checkpoint `checkpointId` was aborted: drop its pinned state, tell operators. */
  notifyCheckpointAborted(checkpointId: number): void {
    this.release(checkpointId);
    for (const entry of this.chain) entry.operator.notifyCheckpointAborted(checkpointId);
  }

  /** Aborted by alignment here (a newer barrier, a cancel marker): decline, tell downstream. */
  abortFromAlignment(
    checkpointId: CheckpointId,
    reason: Parameters<TaskCheckpointGateway['declineCheckpoint']>[1],
  ): void {
    this.gateway.declineCheckpoint(checkpointId, reason);
    for (const w of this.writers) w.broadcastEvent({ kind: 'cancel-checkpoint', checkpointId });
  }

  /**
   * The output side of an aligned checkpoint with a timeout (Flink's timeoutable barriers in the
   * subpartitions): when the timeout passes, counted from the checkpoint's start, a barrier still
   * queued behind data becomes a priority event, and the data it overtook is this checkpoint's
   * output channel state.
   */
  private convertAtTimeout(checkpointId: number, triggerTimestamp: number): ChannelStateCapture {
    const capture = new ChannelStateCapture(checkpointId, 0, false);
    const delay = triggerTimestamp + (this.gateway.alignedCheckpointTimeoutMs ?? 0) - this.clock.now();
    const timer = this.clock.schedule(Math.max(0, delay), () => {
      let converted = false;
      const outputs = this.writers.map((w) =>
        w.partition.subpartitions.map((sp) => {
          const overtaken = sp.convertToPriority(checkpointId);
          if (overtaken !== undefined) converted = true;
          return overtaken ?? [];
        }),
      );
      if (converted) capture.unaligned = true;
      capture.setOutputs(outputs);
    });
    void capture.result.then(() => timer.cancel());
    return capture;
  }

  private holdsBarrier(checkpointId: number): boolean {
    return this.writers.some((w) => w.partition.subpartitions.some((sp) => sp.holdsBarrier(checkpointId)));
  }

  /** Whether barriers this task starts may go unaligned downstream (an aligned-checkpoint timeout is set). */
  private timeoutable(): boolean {
    return (
      this.gateway.mode === 'EXACTLY_ONCE' &&
      this.gateway.unaligned === true &&
      (this.gateway.alignedCheckpointTimeoutMs ?? 0) > 0
    );
  }

  /** The task stops: release everything pinned. */
  dispose(): void {
    for (const id of [...this.inFlight.keys()]) this.release(id);
  }
}
