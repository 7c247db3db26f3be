/** The per-task barrier handler as a pure state machine: channel events in, blocking and checkpoint actions out. */
import { invariant } from '../core/errors.js';
import type { CheckpointId } from '../core/ids.js';
import type { CheckpointFailureReason } from './checkpoint-failure-reason.js';

// Semantics follow Flink's SingleCheckpointBarrierHandler for EXACTLY_ONCE — the aligned states
// (WaitingForFirstBarrier / CollectingBarriers), the unaligned one (AlternatingCollectingBarriers-
// Unaligned) and the switch from aligned to unaligned when an alignment times out — and
// CheckpointBarrierTracker for AT_LEAST_ONCE.
//
// An unaligned checkpoint is triggered by its first barrier, which reaches the task as a priority
// event ahead of the data queued in its channel. The runtime then records, per channel that has not
// delivered the barrier yet, the buffers that arrive before it: that in-flight data is the
// checkpoint's channel state. The handler only says which channels still owe their barrier.
//
// Channel bookkeeping is by *set*, not by count: a checkpoint is aligned when every input channel
// has either delivered its barrier or ended. Flink counts barriers against the number of channels
// open when the alignment started and de-duplicates a channel that delivers both a barrier and
// end-of-partition; the set formulation gives the same answers without that special case.

/** The checkpointing mode (`execution.checkpointing.mode`). */
export const CheckpointingModes = ['EXACTLY_ONCE', 'AT_LEAST_ONCE'] as const;

/** EXACTLY_ONCE aligns (blocks channels); AT_LEAST_ONCE only tracks barriers. */
export type CheckpointingMode = (typeof CheckpointingModes)[number];

/**
 * Flink keeps at most this many partially seen checkpoints in at-least-once mode; older ones are
 * forgotten (they could only complete if barriers overtook each other, which channels never do).
 */
export const MAX_CHECKPOINTS_TO_TRACK = 50;

/** The facts a handler is built from. */
export interface BarrierHandlerConfig {
  /** Input channels of the task (all its input gates together), numbered 0..n-1. */
  readonly numberOfChannels: number;
  readonly mode: CheckpointingMode;
  /**
   * `execution.checkpointing.checkpoints-after-tasks-finish` (default true): a channel that ends
   * during alignment counts as aligned. When false, the pending checkpoint is aborted with
   * CHECKPOINT_DECLINED_INPUT_END_OF_STREAM instead, as Flink did before FLIP-147.
   */
  readonly checkpointsAfterTasksFinish?: boolean;
}

/** An in-band event read from one input channel. */
export type BarrierEvent =
  | {
      readonly kind: 'barrier';
      readonly channel: number;
      readonly checkpointId: CheckpointId;
      /** The barrier of an unaligned checkpoint (it overtook the channel's queued data). */
      readonly unaligned?: boolean;
      /** An aligned barrier that switches to unaligned once its alignment times out. */
      readonly timeoutable?: boolean;
    }
  | { readonly kind: 'cancel-marker'; readonly channel: number; readonly checkpointId: CheckpointId }
  | { readonly kind: 'end-of-partition'; readonly channel: number };

/** The reasons a task-side handler aborts a checkpoint. */
export type BarrierAbortReason = Extract<
  CheckpointFailureReason,
  | 'CHECKPOINT_DECLINED_SUBSUMED'
  | 'CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER'
  | 'CHECKPOINT_DECLINED_INPUT_END_OF_STREAM'
>;

/**
 * What the runtime must do, in order. `trigger-checkpoint` comes before `unblock-all` so the
 * snapshot is taken before any record behind a barrier is processed. Alignment ends at the
 * `trigger-checkpoint` (measure it) or `abort-checkpoint` (discard the measurement) of the id that
 * `alignment-start` named.
 */
export type BarrierAction =
  | { readonly kind: 'alignment-start'; readonly checkpointId: CheckpointId }
  | { readonly kind: 'block'; readonly channel: number }
  | { readonly kind: 'unblock-all' }
  | {
      readonly kind: 'trigger-checkpoint';
      readonly checkpointId: CheckpointId;
      /**
       * Unaligned: the channels (not ended) whose barrier has not arrived. Their buffers, up to that
       * barrier, are the checkpoint's input channel state. Absent for an aligned checkpoint.
       */
      readonly recording?: readonly number[];
    }
  /** A timeoutable alignment started: call `processAlignmentTimeout` if it is still running then. */
  | { readonly kind: 'start-alignment-timer'; readonly checkpointId: CheckpointId }
  | {
      readonly kind: 'abort-checkpoint';
      readonly checkpointId: CheckpointId;
      readonly reason: BarrierAbortReason;
    };

/** A checkpoint the at-least-once tracker has seen some barriers (or cancel markers) of. */
export interface TrackedCheckpoint {
  readonly checkpointId: CheckpointId;
  /** Channels that delivered the barrier or a cancel marker for it. */
  readonly arrived: ReadonlySet<number>;
  /** Aborted by a cancel marker; still tracked so that its trailing barriers are recognised. */
  readonly aborted: boolean;
}

interface CommonState {
  readonly numberOfChannels: number;
  readonly checkpointsAfterTasksFinish: boolean;
  /** Channels that delivered end-of-partition; they send nothing more. */
  readonly finished: ReadonlySet<number>;
  /** The highest checkpoint id seen in a barrier or cancel marker (Flink's currentCheckpointId). */
  readonly latestCheckpointId: CheckpointId | undefined;
}

/**
 * The handler's state; each event yields the next one. The first two kinds are Flink's aligned
 * BarrierHandlerState implementations, the third is the at-least-once tracker.
 */
export type BarrierHandlerState =
  | (CommonState & { readonly kind: 'waiting-for-first-barrier' })
  | (CommonState & {
      readonly kind: 'collecting-barriers';
      readonly latestCheckpointId: CheckpointId;
      /** Channels that delivered the barrier of `latestCheckpointId` and wait for the others. */
      readonly blocked: ReadonlySet<number>;
    })
  | (CommonState & {
      /** An unaligned checkpoint was triggered; its barriers still arrive on other channels. */
      readonly kind: 'collecting-unaligned';
      readonly latestCheckpointId: CheckpointId;
      /** Channels that delivered the barrier of `latestCheckpointId`. */
      readonly arrived: ReadonlySet<number>;
    })
  | (CommonState & {
      readonly kind: 'tracking-barriers';
      /** Partially seen checkpoints, oldest first. */
      readonly pending: readonly TrackedCheckpoint[];
    });

/** The next state and the actions to carry out, in order. */
export interface BarrierTransition {
  readonly state: BarrierHandlerState;
  readonly actions: readonly BarrierAction[];
}

/** A handler that has seen nothing yet. Throws if the channel count is not a positive integer. */
export function createBarrierHandler(config: BarrierHandlerConfig): BarrierHandlerState {
  invariant(
    Number.isInteger(config.numberOfChannels) && config.numberOfChannels >= 1,
    `a barrier handler needs at least one input channel, got ${config.numberOfChannels}`,
  );
  const common: CommonState = {
    numberOfChannels: config.numberOfChannels,
    checkpointsAfterTasksFinish: config.checkpointsAfterTasksFinish ?? true,
    finished: new Set(),
    latestCheckpointId: undefined,
  };
  return config.mode === 'EXACTLY_ONCE'
    ? { ...common, kind: 'waiting-for-first-barrier' }
    : { ...common, kind: 'tracking-barriers', pending: [] };
}

/**
 * Feeds one event to the handler. Throws an internal assertion error for events the runtime can
 * never deliver: an unknown channel, anything after a channel's end-of-partition, or a barrier or
 * cancel marker from a channel this handler told the runtime to block.
 */
export function processBarrierEvent(state: BarrierHandlerState, event: BarrierEvent): BarrierTransition {
  const { channel } = event;
  invariant(
    Number.isInteger(channel) && channel >= 0 && channel < state.numberOfChannels,
    `channel ${channel} is not one of the task's ${state.numberOfChannels} input channels`,
  );
  invariant(
    !state.finished.has(channel),
    `channel ${channel} delivered ${event.kind} after end-of-partition`,
  );
  // A blocked channel delivers nothing until released. End-of-partition is let through because
  // Flink's handlers de-duplicate a channel that sent both the barrier and its end.
  if (state.kind === 'collecting-barriers' && event.kind !== 'end-of-partition') {
    invariant(!state.blocked.has(channel), `blocked channel ${channel} delivered ${event.kind}`);
  }
  if (state.kind === 'tracking-barriers') {
    switch (event.kind) {
      case 'barrier':
        return trackBarrier(state, channel, event.checkpointId);
      case 'cancel-marker':
        return trackCancelMarker(state, channel, event.checkpointId);
      case 'end-of-partition':
        return trackEndOfPartition(state, channel);
    }
  }
  switch (event.kind) {
    case 'barrier':
      return alignBarrier(
        state,
        channel,
        event.checkpointId,
        event.unaligned === true,
        event.timeoutable === true,
      );
    case 'cancel-marker':
      return alignCancelMarker(state, event.checkpointId);
    case 'end-of-partition':
      return alignEndOfPartition(state, channel);
  }
}

/** Whether a checkpoint is being aligned (exactly-once) or partially tracked (at-least-once). */
export function isCheckpointPending(state: BarrierHandlerState): boolean {
  switch (state.kind) {
    case 'waiting-for-first-barrier':
      return false;
    case 'collecting-barriers':
    case 'collecting-unaligned':
      return true;
    case 'tracking-barriers':
      return state.pending.length > 0;
  }
}

/** The channels the runtime currently keeps blocked. */
export function blockedChannels(state: BarrierHandlerState): ReadonlySet<number> {
  return state.kind === 'collecting-barriers' ? state.blocked : EMPTY;
}

const EMPTY: ReadonlySet<number> = new Set();

/**
 * The alignment of `checkpointId` timed out (its timer from `start-alignment-timer` fired): if it
 * is still being aligned, it goes unaligned now — triggered at once, the blocked channels released,
 * the others recorded until their barrier. Otherwise nothing happens.
 */
export function processAlignmentTimeout(
  state: BarrierHandlerState,
  checkpointId: CheckpointId,
): BarrierTransition {
  if (state.kind !== 'collecting-barriers' || state.latestCheckpointId !== checkpointId)
    return { state, actions: [] };
  return goUnaligned(state, checkpointId, state.blocked, []);
}

type AlignedState = Exclude<BarrierHandlerState, { kind: 'tracking-barriers' }>;
type TrackingState = Extract<BarrierHandlerState, { kind: 'tracking-barriers' }>;

function withChannel(set: ReadonlySet<number>, channel: number): ReadonlySet<number> {
  const next = new Set(set);
  next.add(channel);
  return next;
}

/** Every channel has delivered the barrier (is in `arrived`) or has ended. */
function allAligned(state: CommonState, arrived: ReadonlySet<number>, finished = state.finished): boolean {
  for (let c = 0; c < state.numberOfChannels; c++) {
    if (!arrived.has(c) && !finished.has(c)) return false;
  }
  return true;
}

/** Channels that have neither delivered the barrier (are in `arrived`) nor ended. */
function owing(state: CommonState, arrived: ReadonlySet<number>): number[] {
  const channels: number[] = [];
  for (let c = 0; c < state.numberOfChannels; c++)
    if (!arrived.has(c) && !state.finished.has(c)) channels.push(c);
  return channels;
}

/**
 * Triggers `id` unaligned once `arrived` delivered its barrier: channels blocked by an aligned start
 * are released (after the trigger, as ever), the rest are recorded until their barrier arrives.
 */
function goUnaligned(
  state: AlignedState,
  id: CheckpointId,
  arrived: ReadonlySet<number>,
  actions: BarrierAction[],
): BarrierTransition {
  const recording = owing(state, arrived);
  actions.push({ kind: 'trigger-checkpoint', checkpointId: id, recording });
  if (state.kind === 'collecting-barriers' && state.blocked.size > 0) actions.push({ kind: 'unblock-all' });
  if (recording.length === 0) return { state: waiting(state, { latestCheckpointId: id }), actions };
  return {
    state: {
      numberOfChannels: state.numberOfChannels,
      checkpointsAfterTasksFinish: state.checkpointsAfterTasksFinish,
      finished: state.finished,
      kind: 'collecting-unaligned',
      latestCheckpointId: id,
      arrived,
    },
    actions,
  };
}

function waiting(state: AlignedState, patch: Partial<CommonState> = {}): AlignedState {
  return {
    numberOfChannels: state.numberOfChannels,
    checkpointsAfterTasksFinish: state.checkpointsAfterTasksFinish,
    finished: patch.finished ?? state.finished,
    latestCheckpointId: patch.latestCheckpointId ?? state.latestCheckpointId,
    kind: 'waiting-for-first-barrier',
  };
}

/** Ends the current alignment: the decision first, then release the blocked channels. */
function endAlignment(state: AlignedState, decision: BarrierAction, actions: BarrierAction[]): void {
  actions.push(decision);
  if (state.kind === 'collecting-barriers' && state.blocked.size > 0) actions.push({ kind: 'unblock-all' });
}

function alignBarrier(
  state: AlignedState,
  channel: number,
  id: CheckpointId,
  unaligned: boolean,
  timeoutable: boolean,
): BarrierTransition {
  const latest = state.latestCheckpointId;
  // Older than what we track, or the id that was just completed or cancelled: nothing to do. The
  // channel was never blocked for it, so it keeps flowing.
  if (
    latest !== undefined &&
    (id < latest || (id === latest && state.kind === 'waiting-for-first-barrier'))
  ) {
    return { state, actions: [] };
  }
  if (state.kind === 'collecting-unaligned' && id === state.latestCheckpointId) {
    // Already triggered: this channel's in-flight data is complete.
    const arrived = withChannel(state.arrived, channel);
    if (allAligned(state, arrived)) return { state: waiting(state), actions: [] };
    return { state: { ...state, arrived }, actions: [] };
  }
  const actions: BarrierAction[] = [];
  let arrived: ReadonlySet<number> = EMPTY;
  if (state.kind === 'collecting-barriers' && id === state.latestCheckpointId) {
    arrived = state.blocked;
    // Upstream went unaligned (its own alignment timed out): so does this task.
    if (unaligned) return goUnaligned(state, id, withChannel(arrived, channel), actions);
  } else {
    if (state.kind !== 'waiting-for-first-barrier') {
      // A newer barrier overtook the alignment (its upstream gave up on the older checkpoint).
      endAlignment(
        state,
        {
          kind: 'abort-checkpoint',
          checkpointId: state.latestCheckpointId,
          reason: 'CHECKPOINT_DECLINED_SUBSUMED',
        },
        actions,
      );
    }
    actions.push({ kind: 'alignment-start', checkpointId: id });
    if (unaligned) {
      // After an abort above, the old alignment's channels were released by it already.
      const released = state.kind === 'collecting-barriers' ? waiting(state) : state;
      return goUnaligned(released, id, withChannel(EMPTY, channel), actions);
    }
  }
  const nowArrived = withChannel(arrived, channel);
  if (allAligned(state, nowArrived)) {
    actions.push({ kind: 'trigger-checkpoint', checkpointId: id });
    // Only channels blocked before this barrier need releasing; the last one was never blocked.
    if (arrived.size > 0) actions.push({ kind: 'unblock-all' });
    return { state: waiting(state, { latestCheckpointId: id }), actions };
  }
  actions.push({ kind: 'block', channel });
  if (timeoutable && arrived.size === 0) actions.push({ kind: 'start-alignment-timer', checkpointId: id });
  return {
    state: {
      numberOfChannels: state.numberOfChannels,
      checkpointsAfterTasksFinish: state.checkpointsAfterTasksFinish,
      finished: state.finished,
      kind: 'collecting-barriers',
      latestCheckpointId: id,
      blocked: nowArrived,
    },
    actions,
  };
}

function alignCancelMarker(state: AlignedState, id: CheckpointId): BarrierTransition {
  const latest = state.latestCheckpointId;
  const applies =
    latest === undefined || id > latest || (id === latest && state.kind !== 'waiting-for-first-barrier');
  if (!applies) return { state, actions: [] };
  const actions: BarrierAction[] = [];
  if (state.kind !== 'waiting-for-first-barrier' && id > state.latestCheckpointId) {
    // Flink only reports the cancelled id here and leaves the older alignment unreported; we
    // report it as subsumed so that every started alignment ends in exactly one trigger or abort.
    actions.push({
      kind: 'abort-checkpoint',
      checkpointId: state.latestCheckpointId,
      reason: 'CHECKPOINT_DECLINED_SUBSUMED',
    });
  }
  endAlignment(
    state,
    { kind: 'abort-checkpoint', checkpointId: id, reason: 'CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER' },
    actions,
  );
  // Remembering the cancelled id makes its late barriers obsolete, so none can start an alignment.
  return { state: waiting(state, { latestCheckpointId: id }), actions };
}

function alignEndOfPartition(state: AlignedState, channel: number): BarrierTransition {
  const finished = withChannel(state.finished, channel);
  if (state.kind === 'waiting-for-first-barrier') return { state: waiting(state, { finished }), actions: [] };
  const actions: BarrierAction[] = [];
  if (!state.checkpointsAfterTasksFinish) {
    endAlignment(
      state,
      {
        kind: 'abort-checkpoint',
        checkpointId: state.latestCheckpointId,
        reason: 'CHECKPOINT_DECLINED_INPUT_END_OF_STREAM',
      },
      actions,
    );
    return { state: waiting(state, { finished }), actions };
  }
  if (state.kind === 'collecting-unaligned') {
    // Triggered already; the ended channel's data is all recorded, so it owes nothing more.
    if (allAligned(state, state.arrived, finished)) return { state: waiting(state, { finished }), actions };
    return { state: { ...state, finished }, actions };
  }
  if (allAligned(state, state.blocked, finished)) {
    endAlignment(state, { kind: 'trigger-checkpoint', checkpointId: state.latestCheckpointId }, actions);
    return { state: waiting(state, { finished }), actions };
  }
  return { state: { ...state, finished }, actions };
}

function tracking(
  state: TrackingState,
  pending: readonly TrackedCheckpoint[],
  patch: Partial<CommonState> = {},
): TrackingState {
  return {
    ...state,
    finished: patch.finished ?? state.finished,
    latestCheckpointId: patch.latestCheckpointId ?? state.latestCheckpointId,
    pending,
  };
}

function trackBarrier(state: TrackingState, channel: number, id: CheckpointId): BarrierTransition {
  const index = state.pending.findIndex((p) => p.checkpointId === id);
  const found = state.pending[index];
  if (found !== undefined) {
    const arrived = withChannel(found.arrived, channel);
    if (!allAligned(state, arrived)) {
      const pending = state.pending.map((p, i) => (i === index ? { ...p, arrived } : p));
      return { state: tracking(state, pending), actions: [] };
    }
    // Complete: it and every older partially seen checkpoint leave the queue. The older ones are
    // dropped silently, as in Flink — this task never started them, so there is nothing to abort.
    const actions: BarrierAction[] = found.aborted ? [] : [{ kind: 'trigger-checkpoint', checkpointId: id }];
    return { state: tracking(state, state.pending.slice(index + 1)), actions };
  }
  const latest = state.latestCheckpointId;
  // Not tracked and not newer than the newest seen: it was completed, cancelled or forgotten.
  if (latest !== undefined && id <= latest) return { state, actions: [] };
  const actions: BarrierAction[] = [{ kind: 'alignment-start', checkpointId: id }];
  const arrived = withChannel(EMPTY, channel);
  if (allAligned(state, arrived)) {
    // A single live channel: done at once, and everything older can no longer complete.
    actions.push({ kind: 'trigger-checkpoint', checkpointId: id });
    return { state: tracking(state, [], { latestCheckpointId: id }), actions };
  }
  const pending = [...state.pending, { checkpointId: id, arrived, aborted: false }];
  if (pending.length > MAX_CHECKPOINTS_TO_TRACK) pending.shift();
  return { state: tracking(state, pending, { latestCheckpointId: id }), actions };
}

function trackCancelMarker(state: TrackingState, channel: number, id: CheckpointId): BarrierTransition {
  const actions: BarrierAction[] = [];
  const abort = (checkpointId: CheckpointId): void => {
    actions.push({
      kind: 'abort-checkpoint',
      checkpointId,
      reason: 'CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER',
    });
  };
  // A cancel marker for id means every older checkpoint still open here is lost too.
  let first = 0;
  while (first < state.pending.length && state.pending[first]!.checkpointId < id) {
    const older = state.pending[first]!;
    if (!older.aborted) abort(older.checkpointId);
    first++;
  }
  const rest = state.pending.slice(first);
  const head = rest[0];
  if (head !== undefined && head.checkpointId === id) {
    if (!head.aborted) abort(id);
    // Keep counting its channels so the entry can be dropped once every channel has spoken.
    const arrived = withChannel(head.arrived, channel);
    const pending = allAligned(state, arrived)
      ? rest.slice(1)
      : [{ checkpointId: id, arrived, aborted: true }, ...rest.slice(1)];
    return { state: tracking(state, pending), actions };
  }
  const latest = state.latestCheckpointId;
  if (latest === undefined || id > latest) {
    abort(id);
    const arrived = withChannel(EMPTY, channel);
    // Every tracked id was older than `id`, so `rest` is empty here.
    const pending = allAligned(state, arrived)
      ? rest
      : [{ checkpointId: id, arrived, aborted: true }, ...rest];
    return { state: tracking(state, pending, { latestCheckpointId: id }), actions };
  }
  // A trailing marker of a checkpoint already cancelled or completed.
  return { state: tracking(state, rest), actions };
}

function trackEndOfPartition(state: TrackingState, channel: number): BarrierTransition {
  const finished = withChannel(state.finished, channel);
  if (!state.checkpointsAfterTasksFinish) {
    const actions: BarrierAction[] = state.pending
      .filter((p) => !p.aborted)
      .map((p) => ({
        kind: 'abort-checkpoint',
        checkpointId: p.checkpointId,
        reason: 'CHECKPOINT_DECLINED_INPUT_END_OF_STREAM',
      }));
    return { state: tracking(state, [], { finished }), actions };
  }
  // The newest checkpoint this end completes wins; older ones are subsumed by it.
  for (let i = state.pending.length - 1; i >= 0; i--) {
    const candidate = state.pending[i]!;
    if (allAligned(state, candidate.arrived, finished)) {
      const actions: BarrierAction[] = candidate.aborted
        ? []
        : [{ kind: 'trigger-checkpoint', checkpointId: candidate.checkpointId }];
      return { state: tracking(state, state.pending.slice(i + 1), { finished }), actions };
    }
  }
  return { state: tracking(state, state.pending, { finished }), actions: [] };
}
