/** Barrier handling: Flink's AlignedCheckpointsTest and CheckpointBarrierTrackerTest scenarios, plus properties. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import type { CheckpointId } from '../core/ids.js';
import {
  blockedChannels,
  createBarrierHandler,
  isCheckpointPending,
  processAlignmentTimeout,
  processBarrierEvent,
  type BarrierAction,
  type BarrierEvent,
  type BarrierHandlerConfig,
  type BarrierHandlerState,
} from './barrier-alignment.js';

const cp = (n: number) => n as CheckpointId;
const barrier = (id: number, channel: number): BarrierEvent => ({
  kind: 'barrier',
  channel,
  checkpointId: cp(id),
});
const cancel = (id: number, channel: number): BarrierEvent => ({
  kind: 'cancel-marker',
  channel,
  checkpointId: cp(id),
});
const eop = (channel: number): BarrierEvent => ({ kind: 'end-of-partition', channel });

/** Drives a handler and records what a runtime would observe. */
class Harness {
  state: BarrierHandlerState;
  readonly actions: BarrierAction[] = [];
  /** Blocked channels as the runtime sees them, from block / unblock-all actions alone. */
  readonly blocked = new Set<number>();

  constructor(config: BarrierHandlerConfig) {
    this.state = createBarrierHandler(config);
  }

  feed(...events: BarrierEvent[]): this {
    for (const event of events) {
      const { state, actions } = processBarrierEvent(this.state, event);
      this.state = state;
      for (const action of actions) {
        this.actions.push(action);
        if (action.kind === 'block') this.blocked.add(action.channel);
        if (action.kind === 'unblock-all') this.blocked.clear();
      }
      // The runtime's view and the handler's view never drift apart.
      expect([...this.blocked].sort()).toEqual([...blockedChannels(this.state)].sort());
    }
    return this;
  }

  get triggered(): number[] {
    return this.actions.flatMap((a) => (a.kind === 'trigger-checkpoint' ? [a.checkpointId] : []));
  }

  get aborted(): number[] {
    return this.actions.flatMap((a) => (a.kind === 'abort-checkpoint' ? [a.checkpointId] : []));
  }

  get alignmentsStarted(): number[] {
    return this.actions.flatMap((a) => (a.kind === 'alignment-start' ? [a.checkpointId] : []));
  }

  /** The id's positive for a trigger, negative for an abort, in order (Flink's CheckpointSequenceValidator). */
  get sequence(): number[] {
    return this.actions.flatMap((a) =>
      a.kind === 'trigger-checkpoint'
        ? [a.checkpointId]
        : a.kind === 'abort-checkpoint'
          ? [-Number(a.checkpointId)]
          : [],
    );
  }

  get blockedSorted(): number[] {
    return [...this.blocked].sort();
  }
}

const aligned = (numberOfChannels: number, checkpointsAfterTasksFinish = true) =>
  new Harness({ numberOfChannels, mode: 'EXACTLY_ONCE', checkpointsAfterTasksFinish });
const tracker = (numberOfChannels: number, checkpointsAfterTasksFinish = true) =>
  new Harness({ numberOfChannels, mode: 'AT_LEAST_ONCE', checkpointsAfterTasksFinish });

describe('EXACTLY_ONCE alignment (AlignedCheckpointsTest)', () => {
  it('triggers every barrier at once on a single channel, never blocking', () => {
    // AlignedCheckpointsTest#testSingleChannelWithBarriers
    const h = aligned(1).feed(barrier(1, 0), barrier(2, 0), barrier(3, 0), barrier(4, 0), barrier(5, 0));
    h.feed(barrier(6, 0), eop(0));
    expect(h.triggered).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.actions.some((a) => a.kind === 'block')).toBe(false);
  });

  it('blocks channels with a barrier until the last one arrives, then triggers and unblocks', () => {
    // AlignedCheckpointsTest#testMultiChannelWithBarriers
    const h = aligned(3);
    h.feed(barrier(1, 1));
    expect(h.alignmentsStarted).toEqual([1]);
    expect(h.blockedSorted).toEqual([1]);
    h.feed(barrier(1, 2));
    expect(h.blockedSorted).toEqual([1, 2]);
    h.feed(barrier(1, 0));
    expect(h.triggered).toEqual([1]);
    expect(h.blockedSorted).toEqual([]);
    // checkpoint 2: barriers come together
    h.feed(barrier(2, 0), barrier(2, 1), barrier(2, 2));
    expect(h.triggered).toEqual([1, 2]);
    expect(h.blockedSorted).toEqual([]);
    // checkpoint 3 and an empty checkpoint 4
    h.feed(barrier(3, 2), barrier(3, 0), barrier(3, 1), barrier(4, 1), barrier(4, 2), barrier(4, 0));
    expect(h.triggered).toEqual([1, 2, 3, 4]);
    expect(h.alignmentsStarted).toEqual([1, 2, 3, 4]);
    h.feed(eop(0), eop(1), eop(2));
    expect(h.blockedSorted).toEqual([]);
    expect(isCheckpointPending(h.state)).toBe(false);
  });

  it('aborts an alignment as subsumed when a newer barrier arrives, and on end of input without FLIP-147', () => {
    // AlignedCheckpointsTest#testMultiChannelJumpingOverCheckpoint (checkpoints-after-tasks-finish off)
    const h = aligned(3, false);
    h.feed(barrier(1, 1), barrier(1, 2), barrier(1, 0));
    expect(h.blockedSorted).toEqual([]);
    h.feed(barrier(2, 1), barrier(2, 0));
    expect(h.state.latestCheckpointId).toBe(2);
    expect(h.blockedSorted).toEqual([0, 1]);
    h.feed(barrier(3, 2));
    expect(h.state.latestCheckpointId).toBe(3);
    expect(h.blockedSorted).toEqual([2]);
    h.feed(barrier(3, 0));
    expect(h.blockedSorted).toEqual([0, 2]);
    h.feed(barrier(4, 1));
    expect(h.state.latestCheckpointId).toBe(4);
    expect(h.blockedSorted).toEqual([1]);
    h.feed(eop(0));
    expect(h.blockedSorted).toEqual([]);
    h.feed(eop(2), eop(1));
    expect(h.triggered).toEqual([1]);
    expect(h.aborted).toEqual([2, 3, 4]);
    expect(h.actions.filter((a) => a.kind === 'abort-checkpoint').map((a) => a.reason)).toEqual([
      'CHECKPOINT_DECLINED_SUBSUMED',
      'CHECKPOINT_DECLINED_SUBSUMED',
      'CHECKPOINT_DECLINED_INPUT_END_OF_STREAM',
    ]);
  });

  it('ignores cancel markers older than or equal to an already cancelled checkpoint', () => {
    // AlignedCheckpointsTest#testMissingCancellationBarriers
    const h = aligned(2).feed(barrier(1, 0), cancel(3, 1), cancel(2, 0), cancel(3, 0));
    expect(h.blockedSorted).toEqual([]);
    expect(h.state.latestCheckpointId).toBe(3);
    // Flink reports only 3 here; Sluice also reports the overtaken alignment of 1 (as subsumed).
    expect(h.sequence).toEqual([-1, -3]);
    expect(h.actions.filter((a) => a.kind === 'abort-checkpoint').map((a) => a.reason)).toEqual([
      'CHECKPOINT_DECLINED_SUBSUMED',
      'CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER',
    ]);
  });

  it('aligns over the channels still open when some closed before the barrier', () => {
    // AlignedCheckpointsTest#testStartAlignmentWithClosedChannels
    const h = aligned(4).feed(eop(2), eop(1), barrier(2, 3), barrier(2, 0));
    expect(h.triggered).toEqual([2]);
    expect(h.blockedSorted).toEqual([]);
    h.feed(barrier(3, 0), barrier(3, 3));
    expect(h.triggered).toEqual([2, 3]);
    h.feed(eop(0), barrier(4, 3));
    expect(h.triggered).toEqual([2, 3, 4]);
    expect(h.blockedSorted).toEqual([]);
    h.feed(eop(3));
  });

  it('counts a channel that ends during alignment as aligned (FLIP-147)', () => {
    // AlignedCheckpointsTest#testEndOfStreamWhileCheckpoint (checkpoints-after-tasks-finish on)
    const h = aligned(3).feed(barrier(1, 0), barrier(1, 1), barrier(1, 2));
    expect(h.blockedSorted).toEqual([]);
    h.feed(barrier(2, 2), barrier(2, 0));
    expect(h.state.latestCheckpointId).toBe(2);
    expect(h.blockedSorted).toEqual([0, 2]);
    h.feed(eop(1));
    expect(h.blockedSorted).toEqual([]);
    expect(h.triggered).toEqual([1, 2]);
    h.feed(eop(2), eop(0));
    expect(h.aborted).toEqual([]);
  });

  it('aborts on end of input during alignment when checkpoints after tasks finish are off', () => {
    // AlignedCheckpointsTest#testEndOfStreamWhileCheckpoint (pre-FLIP-147 behaviour)
    const h = aligned(3, false).feed(barrier(1, 0), barrier(1, 1), barrier(1, 2));
    h.feed(barrier(2, 2), barrier(2, 0), eop(1));
    expect(h.blockedSorted).toEqual([]);
    expect(h.sequence).toEqual([1, -2]);
    expect(h.actions.at(-2)).toEqual({
      kind: 'abort-checkpoint',
      checkpointId: 2,
      reason: 'CHECKPOINT_DECLINED_INPUT_END_OF_STREAM',
    });
  });

  it('aborts on cancel markers and triggers the next barrier on a single channel', () => {
    // AlignedCheckpointsTest#testSingleChannelAbortCheckpoint
    const h = aligned(1).feed(barrier(1, 0), barrier(2, 0), cancel(4, 0));
    expect(h.state.latestCheckpointId).toBe(4);
    h.feed(barrier(5, 0), cancel(6, 0));
    expect(h.state.latestCheckpointId).toBe(6);
    expect(h.sequence).toEqual([1, 2, -4, 5, -6]);
    expect(h.actions.filter((a) => a.kind === 'abort-checkpoint').map((a) => a.reason)).toEqual([
      'CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER',
      'CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER',
    ]);
    expect(h.blockedSorted).toEqual([]);
  });

  it('aborts on a cancel marker during alignment, on the first barrier, and ignores trailing barriers', () => {
    // AlignedCheckpointsTest#testMultiChannelAbortCheckpoint
    const h = aligned(3).feed(barrier(1, 1));
    expect(h.blockedSorted).toEqual([1]);
    h.feed(barrier(1, 2));
    expect(h.blockedSorted).toEqual([1, 2]);
    h.feed(barrier(1, 0));
    expect(h.blockedSorted).toEqual([]);
    h.feed(barrier(2, 0));
    expect(h.blockedSorted).toEqual([0]);
    h.feed(barrier(2, 2));
    expect(h.blockedSorted).toEqual([0, 2]);
    h.feed(cancel(2, 1)); // cancelled on the last barrier
    expect(h.blockedSorted).toEqual([]);
    h.feed(barrier(3, 1), barrier(3, 2), barrier(3, 0));
    h.feed(cancel(4, 1), barrier(4, 2)); // cancelled before its first barrier
    expect(h.blockedSorted).toEqual([]);
    h.feed(barrier(4, 0));
    expect(h.blockedSorted).toEqual([]);
    h.feed(barrier(5, 2), barrier(5, 1), barrier(5, 0));
    h.feed(cancel(6, 1), cancel(6, 2), barrier(6, 0));
    expect(h.blockedSorted).toEqual([]);
    expect(h.sequence).toEqual([1, -2, 3, -4, 5, -6]);
  });

  it('ignores a late barrier of a cancelled checkpoint and keeps aligning the next one', () => {
    // AlignedCheckpointsTest#testAbortOnCanceledBarriers
    const h = aligned(3).feed(barrier(1, 1), cancel(1, 0));
    expect(h.sequence).toEqual([-1]);
    expect(h.blockedSorted).toEqual([]);
    h.feed(barrier(2, 1), barrier(1, 2));
    expect(h.blockedSorted).toEqual([1]);
    h.feed(barrier(2, 0), barrier(2, 2));
    expect(h.blockedSorted).toEqual([]);
    expect(h.sequence).toEqual([-1, 2]);
  });

  it('ignores a cancel marker of a checkpoint already subsumed by a newer barrier', () => {
    // AlignedCheckpointsTest#testIgnoreCancelBarrierIfCheckpointSubsumed
    const h = aligned(3).feed(barrier(3, 1), barrier(3, 0));
    expect(h.blockedSorted).toEqual([0, 1]);
    h.feed(barrier(5, 2));
    expect(h.aborted).toEqual([3]);
    expect(h.actions.find((a) => a.kind === 'abort-checkpoint')).toMatchObject({
      reason: 'CHECKPOINT_DECLINED_SUBSUMED',
    });
    expect(h.blockedSorted).toEqual([2]);
    h.feed(cancel(3, 0), barrier(5, 0), barrier(5, 1));
    expect(h.blockedSorted).toEqual([]);
    expect(h.sequence).toEqual([-3, 5]);
    expect(h.alignmentsStarted).toEqual([3, 5]);
  });

  it('triggers when the last missing channel ends', () => {
    // AlignedCheckpointsTest#testTriggerCheckpointsWithEndOfPartition
    const h = aligned(3).feed(barrier(1, 0), barrier(1, 1), eop(2));
    expect(h.triggered).toEqual([1]);
    expect(h.aborted).toEqual([]);
    expect(isCheckpointPending(h.state)).toBe(false);
  });

  it('does not count a channel twice when it delivers both the barrier and its end', () => {
    // AlignedCheckpointsTest#testDeduplicateChannelsWithBothBarrierAndEndOfPartition
    const h = aligned(3).feed(barrier(2, 0), barrier(2, 1), eop(1));
    expect(h.triggered).toEqual([]);
    expect(h.aborted).toEqual([]);
    h.feed(barrier(2, 2));
    expect(h.triggered).toEqual([2]);
    expect(isCheckpointPending(h.state)).toBe(false);
  });

  it('keeps triggering after channels ended, down to a single remaining channel', () => {
    // AlignedCheckpointsTest#testTriggerCheckpointsAfterReceivedEndOfPartition
    const h = aligned(3).feed(eop(2), barrier(6, 0), barrier(6, 1), eop(1), barrier(7, 0));
    expect(h.triggered).toEqual([6, 7]);
    expect(h.aborted).toEqual([]);
    expect(isCheckpointPending(h.state)).toBe(false);
  });

  it('treats finished channels as aligned for the final checkpoint', () => {
    // StreamTaskFinalCheckpointsTest#testTriggeringAlignedWithTimeoutCheckpointWithFinishedChannels (aligned part)
    const h = aligned(3).feed(barrier(2, 0), eop(1));
    expect(h.triggered).toEqual([]);
    h.feed(eop(2));
    expect(h.triggered).toEqual([2]);
    expect(h.blockedSorted).toEqual([]);
  });

  it('rejects events the runtime cannot deliver', () => {
    const h = aligned(2).feed(barrier(1, 0));
    expect(() => h.feed(barrier(1, 0))).toThrow(SluiceError); // from a blocked channel
    expect(() => aligned(2).feed(barrier(1, 2))).toThrow(/not one of the task's 2 input channels/);
    expect(() => aligned(2).feed(eop(0), barrier(1, 0))).toThrow(/after end-of-partition/);
    expect(() => createBarrierHandler({ numberOfChannels: 0, mode: 'EXACTLY_ONCE' })).toThrow(SluiceError);
  });
});

describe('AT_LEAST_ONCE tracking (CheckpointBarrierTrackerTest)', () => {
  it('triggers every barrier on a single channel', () => {
    // CheckpointBarrierTrackerTest#testSingleChannelWithBarriers
    const h = tracker(1).feed(...[1, 2, 3, 4, 5, 6].map((id) => barrier(id, 0)));
    expect(h.sequence).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('triggers skipped ids as they come on a single channel', () => {
    // CheckpointBarrierTrackerTest#testSingleChannelWithSkippedBarriers
    const h = tracker(1).feed(...[1, 3, 4, 6, 7, 10].map((id) => barrier(id, 0)));
    expect(h.sequence).toEqual([1, 3, 4, 6, 7, 10]);
  });

  it('triggers when all channels delivered, never blocking', () => {
    // CheckpointBarrierTrackerTest#testMultiChannelWithBarriers
    const h = tracker(3).feed(barrier(1, 1), barrier(1, 2), barrier(1, 0));
    h.feed(barrier(2, 0), barrier(2, 1), barrier(2, 2));
    h.feed(barrier(3, 2), barrier(3, 0), barrier(3, 1));
    h.feed(barrier(4, 1), barrier(4, 2), barrier(4, 0));
    expect(h.sequence).toEqual([1, 2, 3, 4]);
    expect(h.actions.some((a) => a.kind === 'block' || a.kind === 'unblock-all')).toBe(false);
  });

  it('skips a checkpoint overtaken by a newer one that completes', () => {
    // CheckpointBarrierTrackerTest#testMultiChannelSkippingCheckpoints
    const h = tracker(3).feed(barrier(1, 1), barrier(1, 2), barrier(1, 0));
    h.feed(barrier(2, 0), barrier(2, 1), barrier(2, 2));
    h.feed(barrier(3, 2), barrier(4, 0), barrier(4, 1), barrier(4, 2));
    expect(h.sequence).toEqual([1, 2, 4]);
  });

  it('completes checkpoints whose last barriers arrive after barriers of newer ones', () => {
    // CheckpointBarrierTrackerTest#testCompleteCheckpointsOnLateBarriers
    const h = tracker(3);
    h.feed(barrier(2, 1), barrier(2, 0), barrier(2, 2)); // checkpoint 2
    h.feed(barrier(3, 1), barrier(3, 2)); // incomplete checkpoint 3
    h.feed(barrier(4, 2), barrier(4, 1)); // some barriers of 4
    h.feed(barrier(3, 0)); // last barrier of 3
    h.feed(barrier(4, 0)); // complete 4
    h.feed(barrier(5, 1), barrier(5, 0), barrier(5, 2)); // regular 5
    h.feed(barrier(6, 1), barrier(6, 0)); // incomplete 6
    h.feed(barrier(7, 1), barrier(7, 2), barrier(8, 2), barrier(8, 1), barrier(9, 1)); // 7 with early 8, 9
    h.feed(barrier(7, 0), barrier(9, 2), barrier(10, 2)); // complete 7
    h.feed(barrier(8, 0), barrier(9, 0)); // complete 8 and 9
    h.feed(barrier(10, 0), barrier(10, 1)); // complete 10
    expect(h.sequence).toEqual([2, 3, 4, 5, 7, 8, 9, 10]);
  });

  it('aborts on cancel markers on a single channel', () => {
    // CheckpointBarrierTrackerTest#testSingleChannelAbortCheckpoint
    const h = tracker(1).feed(barrier(1, 0), barrier(2, 0), cancel(4, 0), barrier(5, 0), cancel(6, 0));
    expect(h.sequence).toEqual([1, 2, -4, 5, -6]);
  });

  it('aborts on cancel markers on several channels', () => {
    // CheckpointBarrierTrackerTest#testMultiChannelAbortCheckpoint
    const h = tracker(3).feed(barrier(1, 1), barrier(1, 2), barrier(1, 0));
    h.feed(barrier(2, 0), barrier(2, 2), cancel(2, 1)); // aborted on the last barrier
    h.feed(barrier(3, 1), barrier(3, 2), barrier(3, 0));
    h.feed(cancel(4, 1), barrier(4, 2), barrier(4, 0)); // aborted on the first barrier
    h.feed(barrier(5, 2), barrier(5, 1), barrier(5, 0));
    h.feed(cancel(6, 1), cancel(6, 2), barrier(6, 0)); // several cancellations, then a barrier
    expect(h.sequence).toEqual([1, -2, 3, -4, 5, -6]);
    expect(isCheckpointPending(h.state)).toBe(false);
  });

  it('aborts each checkpoint only once when cancel markers interleave', () => {
    // CheckpointBarrierTrackerTest#testInterleavedCancellationBarriers
    const h = tracker(3).feed(
      barrier(1, 0),
      cancel(2, 0),
      cancel(1, 1),
      cancel(2, 1),
      cancel(1, 2),
      cancel(2, 2),
    );
    expect(h.sequence).toEqual([-1, -2]);
  });

  it('triggers the newest checkpoint an end of partition completes and forgets older ones', () => {
    // CheckpointBarrierTrackerTest#testTriggerCheckpointsWithEndOfPartition
    const h = tracker(3).feed(barrier(1, 0), barrier(2, 0), barrier(2, 1), barrier(3, 0), barrier(4, 0));
    h.feed(barrier(4, 1), barrier(5, 1), eop(2));
    expect(h.sequence).toEqual([4]);
    expect(h.state.kind === 'tracking-barriers' && h.state.pending.map((p) => p.checkpointId)).toEqual([5]);
  });

  it('does not count a channel twice when it delivers both the barrier and its end', () => {
    // CheckpointBarrierTrackerTest#testDeduplicateChannelsWithBothBarrierAndEndOfPartition
    const h = tracker(3).feed(barrier(2, 0), barrier(2, 1), eop(1));
    expect(h.sequence).toEqual([]);
    h.feed(barrier(2, 2));
    expect(h.sequence).toEqual([2]);
  });

  it('keeps triggering after channels ended', () => {
    // CheckpointBarrierTrackerTest#testTriggerCheckpointsAfterReceivedEndOfPartition
    const h = tracker(3).feed(eop(2), barrier(5, 0), barrier(6, 0), barrier(6, 1), eop(1), barrier(7, 0));
    expect(h.sequence).toEqual([6, 7]);
  });

  it('finishes the pending checkpoint rather than starting a new one when a channel ended mid-way', () => {
    // CheckpointBarrierTrackerTest#testNoFastPathWithChannelFinishedDuringCheckpoints
    const h = tracker(2).feed(barrier(1, 0), eop(0), barrier(1, 1));
    expect(h.sequence).toEqual([1]);
    expect(isCheckpointPending(h.state)).toBe(false);
  });

  it('removes an aborted checkpoint once an end of partition accounts for its last channel', () => {
    // CheckpointBarrierTrackerTest#testCompleteAndRemoveAbortedCheckpointWithEndOfPartition
    const h = tracker(3).feed(cancel(4, 0), barrier(4, 1), barrier(5, 1), eop(2));
    expect(h.sequence).toEqual([-4]);
    expect(h.state.kind === 'tracking-barriers' && h.state.pending.map((p) => p.checkpointId)).toEqual([5]);
  });

  it('aborts older pending checkpoints with a cancel marker after channels ended', () => {
    // CheckpointBarrierTrackerTest#testAbortCheckpointsAfterEndOfPartitionReceived
    const h = tracker(3).feed(eop(2), barrier(5, 0), barrier(6, 0), cancel(6, 1), eop(1), cancel(7, 0));
    expect(h.sequence).toEqual([-5, -6, -7]);
  });

  it('removes the pending checkpoint when its cancel marker arrives after a channel ended', () => {
    // CheckpointBarrierTrackerTest#testNoFastPathWithChannelFinishedDuringCheckpointsCancel
    const h = tracker(2).feed(barrier(1, 0), eop(0), cancel(1, 1));
    expect(h.sequence).toEqual([-1]);
    expect(isCheckpointPending(h.state)).toBe(false);
  });

  it('starts timing each new checkpoint when its first barrier arrives', () => {
    // CheckpointBarrierTrackerTest#testTwoLastBarriersOneByOne
    const h = tracker(2).feed(barrier(1, 1), barrier(2, 1));
    expect(h.alignmentsStarted).toEqual([1, 2]);
    h.feed(barrier(1, 0), barrier(2, 0));
    expect(h.sequence).toEqual([1, 2]);
  });

  it('aborts everything pending on end of input when checkpoints after tasks finish are off', () => {
    // CheckpointBarrierTracker#processEndOfPartition, pre-FLIP-147 branch
    const h = tracker(3, false).feed(barrier(1, 0), cancel(2, 1), barrier(3, 0), eop(2));
    expect(h.sequence).toEqual([-1, -2, -3]);
    expect(h.actions.at(-1)).toMatchObject({ reason: 'CHECKPOINT_DECLINED_INPUT_END_OF_STREAM' });
    expect(isCheckpointPending(h.state)).toBe(false);
  });
});

/** One channel's events: barriers for a rising subset of ids, optional cancel markers, then its end. */
interface ChannelScript {
  readonly events: BarrierEvent[];
}

/** A random topology: n channels, each delivering an increasing selection of ids 1..k, then ending. */
const scriptsArb = (withCancels: boolean) =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 5 }),
      k: fc.integer({ min: 1, max: 8 }),
    })
    .chain(({ n, k }) =>
      fc.record({
        n: fc.constant(n),
        k: fc.constant(k),
        channels: fc.array(
          fc.array(
            fc.record({ deliver: fc.boolean(), asCancel: withCancels ? fc.boolean() : fc.constant(false) }),
            { minLength: k, maxLength: k },
          ),
          { minLength: n, maxLength: n },
        ),
        schedule: fc.array(fc.nat(), { maxLength: 200 }),
      }),
    )
    .map(({ n, k, channels, schedule }) => {
      const scripts: ChannelScript[] = channels.map((choices, channel) => {
        const events: BarrierEvent[] = [];
        for (let id = 1; id <= k; id++) {
          const choice = choices[id - 1]!;
          if (choice.deliver) events.push(choice.asCancel ? cancel(id, channel) : barrier(id, channel));
        }
        events.push(eop(channel));
        return { events };
      });
      return { n, k, scripts, schedule };
    });

/** Runs the scripts, each step taking the next event of a channel the runtime would read from. */
function simulate(
  config: BarrierHandlerConfig,
  scripts: readonly ChannelScript[],
  schedule: readonly number[],
  onStep: (
    event: BarrierEvent,
    before: BarrierHandlerState,
    after: BarrierHandlerState,
    actions: readonly BarrierAction[],
  ) => void,
): BarrierHandlerState {
  let state = createBarrierHandler(config);
  const next = scripts.map(() => 0);
  for (let step = 0; ; step++) {
    const blocked = blockedChannels(state);
    const ready = scripts.flatMap((s, c) => (next[c]! < s.events.length && !blocked.has(c) ? [c] : []));
    if (ready.length === 0) {
      // Nothing readable: every script must be exhausted, otherwise the handler deadlocked.
      expect(scripts.every((s, c) => next[c] === s.events.length)).toBe(true);
      return state;
    }
    const channel = ready[(schedule[step] ?? 0) % ready.length]!;
    const event = scripts[channel]!.events[next[channel]!]!;
    next[channel]!++;
    const { state: after, actions } = processBarrierEvent(state, event);
    onStep(event, state, after, actions);
    state = after;
  }
}

describe('alignment properties', () => {
  it('EXACTLY_ONCE: triggers only when every live channel delivered the barrier, ids increase, unblocks exactly on trigger or abort', () => {
    fc.assert(
      fc.property(scriptsArb(false), fc.boolean(), ({ n, scripts, schedule }, afterFinish) => {
        const delivered = scripts.map(() => new Set<number>());
        const finished = new Set<number>();
        const blocked = new Set<number>();
        const triggered: number[] = [];
        const open = new Set<number>(); // alignments started but not yet ended
        const final = simulate(
          { numberOfChannels: n, mode: 'EXACTLY_ONCE', checkpointsAfterTasksFinish: afterFinish },
          scripts,
          schedule,
          (event, _before, after, actions) => {
            if (event.kind === 'barrier') delivered[event.channel]!.add(event.checkpointId);
            if (event.kind === 'end-of-partition') finished.add(event.channel);
            const ends = actions.filter(
              (a) => a.kind === 'trigger-checkpoint' || a.kind === 'abort-checkpoint',
            );
            const blockedBefore = blocked.size;
            for (const action of actions) {
              switch (action.kind) {
                case 'alignment-start':
                  open.add(action.checkpointId);
                  break;
                case 'block':
                  blocked.add(action.channel);
                  break;
                case 'unblock-all':
                  // Channels are released only together with the end of their alignment.
                  expect(ends.length).toBeGreaterThan(0);
                  blocked.clear();
                  break;
                case 'trigger-checkpoint':
                  for (let c = 0; c < n; c++) {
                    expect(finished.has(c) || delivered[c]!.has(action.checkpointId)).toBe(true);
                  }
                  expect(action.checkpointId).toBeGreaterThan(triggered.at(-1) ?? 0);
                  triggered.push(action.checkpointId);
                  expect(open.delete(action.checkpointId)).toBe(true);
                  break;
                case 'abort-checkpoint':
                  open.delete(action.checkpointId);
                  break;
              }
            }
            // An alignment that ended released every channel blocked for it.
            if (ends.length > 0 && blockedBefore > 0) expect(actions).toContainEqual({ kind: 'unblock-all' });
            // Blocked channels are exactly those holding the barrier of the alignment in progress.
            expect([...blocked].sort()).toEqual([...blockedChannels(after)].sort());
            for (const c of blocked) expect(delivered[c]!.has(after.latestCheckpointId!)).toBe(true);
            expect(open.size).toBeLessThanOrEqual(1);
          },
        );
        expect(blocked.size).toBe(0);
        expect(open.size).toBe(0);
        expect(isCheckpointPending(final)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('EXACTLY_ONCE: when every channel delivers every barrier, every checkpoint triggers and none aborts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.nat(), { maxLength: 100 }),
        (n, k, schedule) => {
          const scripts = Array.from({ length: n }, (_, c) => ({
            events: [...Array.from({ length: k }, (_, i) => barrier(i + 1, c)), eop(c)],
          }));
          const seen: number[] = [];
          simulate(
            { numberOfChannels: n, mode: 'EXACTLY_ONCE' },
            scripts,
            schedule,
            (_e, _b, _a, actions) => {
              for (const a of actions) {
                expect(a.kind).not.toBe('abort-checkpoint');
                if (a.kind === 'trigger-checkpoint') seen.push(a.checkpointId);
              }
            },
          );
          expect(seen).toEqual(Array.from({ length: k }, (_, i) => i + 1));
        },
      ),
    );
  });

  it('EXACTLY_ONCE with cancel markers: every started alignment ends in exactly one trigger or abort', () => {
    fc.assert(
      fc.property(scriptsArb(true), fc.boolean(), ({ n, scripts, schedule }, afterFinish) => {
        const outcomes = new Map<number, string>();
        const started: number[] = [];
        simulate(
          { numberOfChannels: n, mode: 'EXACTLY_ONCE', checkpointsAfterTasksFinish: afterFinish },
          scripts,
          schedule,
          (_e, _b, _a, actions) => {
            for (const a of actions) {
              if (a.kind === 'alignment-start') started.push(a.checkpointId);
              if (a.kind === 'trigger-checkpoint' || a.kind === 'abort-checkpoint') {
                expect(outcomes.has(a.checkpointId)).toBe(false);
                outcomes.set(a.checkpointId, a.kind);
              }
            }
          },
        );
        for (const id of started) expect(outcomes.has(id)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('EXACTLY_ONCE: random barrier ids on two channels never deadlock or crash', () => {
    // AlignedCheckpointsMassiveRandomTest: barriers with random (per-channel increasing) ids.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 200 }),
        (gaps0, gaps1, schedule) => {
          const ids = (gaps: number[]) =>
            gaps.reduce<number[]>((acc, g) => [...acc, (acc.at(-1) ?? 0) + g], []);
          const scripts = [ids(gaps0), ids(gaps1)].map((list, c) => ({
            events: [...list.map((id) => barrier(id, c)), eop(c)],
          }));
          simulate({ numberOfChannels: 2, mode: 'EXACTLY_ONCE' }, scripts, schedule, () => {});
        },
      ),
    );
  });

  it('AT_LEAST_ONCE: never blocks; triggers increase and only when every live channel delivered', () => {
    fc.assert(
      fc.property(scriptsArb(true), fc.boolean(), ({ n, scripts, schedule }, afterFinish) => {
        const delivered = scripts.map(() => new Set<number>());
        const finished = new Set<number>();
        const triggered: number[] = [];
        const aborted = new Set<number>();
        simulate(
          { numberOfChannels: n, mode: 'AT_LEAST_ONCE', checkpointsAfterTasksFinish: afterFinish },
          scripts,
          schedule,
          (event, _before, _after, actions) => {
            if (event.kind === 'barrier') delivered[event.channel]!.add(event.checkpointId);
            if (event.kind === 'end-of-partition') finished.add(event.channel);
            for (const a of actions) {
              expect(a.kind).not.toBe('block');
              expect(a.kind).not.toBe('unblock-all');
              if (a.kind === 'trigger-checkpoint') {
                for (let c = 0; c < n; c++)
                  expect(finished.has(c) || delivered[c]!.has(a.checkpointId)).toBe(true);
                expect(a.checkpointId).toBeGreaterThan(triggered.at(-1) ?? 0);
                expect(aborted.has(a.checkpointId)).toBe(false);
                triggered.push(a.checkpointId);
              }
              if (a.kind === 'abort-checkpoint') {
                expect(aborted.has(a.checkpointId)).toBe(false);
                aborted.add(a.checkpointId);
              }
            }
          },
        );
      }),
      { numRuns: 300 },
    );
  });
});

const priority = (id: number, channel: number): BarrierEvent => ({
  kind: 'barrier',
  channel,
  checkpointId: cp(id),
  unaligned: true,
});
const timeoutable = (id: number, channel: number): BarrierEvent => ({
  kind: 'barrier',
  channel,
  checkpointId: cp(id),
  timeoutable: true,
});

describe('unaligned checkpoints (UnalignedCheckpointsTest)', () => {
  it('triggers at the first barrier, records the channels that still owe theirs, never blocks', () => {
    // testMultiChannelWithBarriers
    const h = new Harness({ numberOfChannels: 3, mode: 'EXACTLY_ONCE' });
    h.feed(priority(1, 1));
    expect(h.actions).toEqual([
      { kind: 'alignment-start', checkpointId: 1 },
      { kind: 'trigger-checkpoint', checkpointId: 1, recording: [0, 2] },
    ]);
    expect(h.state.kind).toBe('collecting-unaligned');
    expect(isCheckpointPending(h.state)).toBe(true);
    h.feed(priority(1, 0), priority(1, 2));
    expect(h.state.kind).toBe('waiting-for-first-barrier');
    expect(isCheckpointPending(h.state)).toBe(false);
    h.feed(priority(2, 2), priority(2, 0), priority(2, 1));
    expect(h.sequence).toEqual([1, 2]);
    expect(h.actions.filter((a) => a.kind === 'block')).toEqual([]);
  });

  it('is done at once on a single channel', () => {
    const h = new Harness({ numberOfChannels: 1, mode: 'EXACTLY_ONCE' });
    h.feed(priority(1, 0), priority(2, 0));
    expect(h.actions.filter((a) => a.kind === 'trigger-checkpoint')).toEqual([
      { kind: 'trigger-checkpoint', checkpointId: 1, recording: [] },
      { kind: 'trigger-checkpoint', checkpointId: 2, recording: [] },
    ]);
    expect(h.state.kind).toBe('waiting-for-first-barrier');
  });

  it('aborts a triggered checkpoint on its cancel marker and ignores its trailing barrier', () => {
    // testProcessCancellationBarrierAfterProcessBarrier
    const h = new Harness({ numberOfChannels: 3, mode: 'EXACTLY_ONCE' });
    h.feed(priority(1, 0), cancel(1, 1), priority(1, 2));
    expect(h.sequence).toEqual([1, -1]);
    expect(h.actions.at(-1)).toEqual({
      kind: 'abort-checkpoint',
      checkpointId: 1,
      reason: 'CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER',
    });
    expect(h.state.kind).toBe('waiting-for-first-barrier');
    h.feed(priority(2, 2));
    expect(h.sequence).toEqual([1, -1, 2]);
  });

  it('aborts the recording checkpoint as subsumed when a newer barrier arrives', () => {
    const h = new Harness({ numberOfChannels: 2, mode: 'EXACTLY_ONCE' });
    h.feed(priority(1, 0), priority(2, 0));
    expect(h.sequence).toEqual([1, -1, 2]);
    expect(h.actions).toContainEqual({
      kind: 'abort-checkpoint',
      checkpointId: 1,
      reason: 'CHECKPOINT_DECLINED_SUBSUMED',
    });
    expect(h.actions.at(-1)).toEqual({ kind: 'trigger-checkpoint', checkpointId: 2, recording: [1] });
    h.feed(priority(1, 1), priority(2, 1));
    expect(h.state.kind).toBe('waiting-for-first-barrier');
  });

  it('counts a channel that ends while recording as done; aborts instead without FLIP-147', () => {
    // testEndOfStreamWithPendingCheckpoint
    const on = new Harness({ numberOfChannels: 2, mode: 'EXACTLY_ONCE' });
    on.feed(priority(1, 0), eop(1));
    expect(on.sequence).toEqual([1]);
    expect(on.state.kind).toBe('waiting-for-first-barrier');
    const off = new Harness({
      numberOfChannels: 2,
      mode: 'EXACTLY_ONCE',
      checkpointsAfterTasksFinish: false,
    });
    off.feed(priority(1, 0), eop(1));
    expect(off.sequence).toEqual([1, -1]);
    expect(off.actions.at(-1)).toMatchObject({ reason: 'CHECKPOINT_DECLINED_INPUT_END_OF_STREAM' });
  });

  it('leaves ended channels out of the recording', () => {
    const h = new Harness({ numberOfChannels: 3, mode: 'EXACTLY_ONCE' });
    h.feed(eop(0), priority(1, 2));
    expect(h.actions.at(-1)).toEqual({ kind: 'trigger-checkpoint', checkpointId: 1, recording: [1] });
  });
});

describe('aligned checkpoints with an alignment timeout', () => {
  it('starts aligned with a timer, and goes unaligned when it fires: trigger, release, record the rest', () => {
    const h = new Harness({ numberOfChannels: 3, mode: 'EXACTLY_ONCE' });
    h.feed(timeoutable(1, 0));
    expect(h.actions).toEqual([
      { kind: 'alignment-start', checkpointId: 1 },
      { kind: 'block', channel: 0 },
      { kind: 'start-alignment-timer', checkpointId: 1 },
    ]);
    h.feed(timeoutable(1, 2));
    expect(h.actions.filter((a) => a.kind === 'start-alignment-timer')).toHaveLength(1);
    const { state, actions } = processAlignmentTimeout(h.state, cp(1));
    expect(actions).toEqual([
      { kind: 'trigger-checkpoint', checkpointId: 1, recording: [1] },
      { kind: 'unblock-all' },
    ]);
    expect(state.kind).toBe('collecting-unaligned');
    expect(blockedChannels(state).size).toBe(0);
    // The late channel's barrier, still in-band, completes the recording.
    const done = processBarrierEvent(state, timeoutable(1, 1));
    expect(done.actions).toEqual([]);
    expect(done.state.kind).toBe('waiting-for-first-barrier');
  });

  it('ignores a timeout once the alignment finished, or for another checkpoint', () => {
    const h = new Harness({ numberOfChannels: 2, mode: 'EXACTLY_ONCE' });
    h.feed(timeoutable(1, 0), timeoutable(1, 1));
    expect(h.sequence).toEqual([1]);
    expect(processAlignmentTimeout(h.state, cp(1)).actions).toEqual([]);
    h.feed(timeoutable(2, 0));
    expect(processAlignmentTimeout(h.state, cp(1))).toEqual({ state: h.state, actions: [] });
  });

  it('never starts a timer for plain aligned barriers', () => {
    const h = new Harness({ numberOfChannels: 2, mode: 'EXACTLY_ONCE' });
    h.feed(barrier(1, 0));
    expect(h.actions.map((a) => a.kind)).toEqual(['alignment-start', 'block']);
  });

  it('goes unaligned at once when an upstream task already did (its barrier arrives with priority)', () => {
    const h = new Harness({ numberOfChannels: 3, mode: 'EXACTLY_ONCE' });
    h.feed(timeoutable(1, 0), priority(1, 1));
    expect(h.actions.slice(3)).toEqual([
      { kind: 'trigger-checkpoint', checkpointId: 1, recording: [2] },
      { kind: 'unblock-all' },
    ]);
    expect(h.state.kind).toBe('collecting-unaligned');
    h.feed(timeoutable(1, 2));
    expect(h.state.kind).toBe('waiting-for-first-barrier');
  });
});

describe('unaligned properties', () => {
  it('triggers each checkpoint at its first barrier with the owing channels, never blocks, ends each at most once', () => {
    fc.assert(
      fc.property(scriptsArb(true), fc.boolean(), ({ n, scripts, schedule }, afterFinish) => {
        const unalignedScripts = scripts.map((s) => ({
          events: s.events.map((e) => (e.kind === 'barrier' ? { ...e, unaligned: true } : e)),
        }));
        const delivered = scripts.map(() => new Set<number>());
        const finished = new Set<number>();
        const triggered = new Set<number>();
        const aborted = new Set<number>();
        const final = simulate(
          { numberOfChannels: n, mode: 'EXACTLY_ONCE', checkpointsAfterTasksFinish: afterFinish },
          unalignedScripts,
          schedule,
          (event, _before, after, actions) => {
            if (event.kind === 'barrier') delivered[event.channel]!.add(event.checkpointId);
            if (event.kind === 'end-of-partition') finished.add(event.channel);
            for (const a of actions) {
              expect(a.kind).not.toBe('block');
              if (a.kind === 'trigger-checkpoint') {
                expect(event).toMatchObject({ kind: 'barrier', checkpointId: a.checkpointId });
                expect(triggered.has(a.checkpointId)).toBe(false);
                triggered.add(a.checkpointId);
                const owing = [...Array(n).keys()].filter(
                  (c) => !finished.has(c) && !delivered[c]!.has(a.checkpointId),
                );
                expect(a.recording).toEqual(owing);
              }
              if (a.kind === 'abort-checkpoint') {
                expect(aborted.has(a.checkpointId)).toBe(false);
                aborted.add(a.checkpointId);
              }
            }
            // Still recording: some live channel owes the barrier of the triggered checkpoint.
            if (after.kind === 'collecting-unaligned') {
              const id = after.latestCheckpointId;
              expect(triggered.has(id) && !aborted.has(id)).toBe(true);
              expect([...Array(n).keys()].some((c) => !finished.has(c) && !delivered[c]!.has(id))).toBe(true);
            }
          },
        );
        expect(isCheckpointPending(final)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
