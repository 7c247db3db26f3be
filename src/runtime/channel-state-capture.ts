/**
 * Collects one unaligned checkpoint's channel state in a task: the output buffers its barrier
 * overtook (known at once) and, per input channel that owed the barrier, the buffers recorded
 * until that barrier arrived. `result` settles when every channel is done, or with `undefined`
 * when the checkpoint is aborted first.
 */
import { SluiceError } from '../core/errors.js';
import type { ChannelState, InputChannelState, ResultSubpartitionState } from '../storage/channel-state.js';
import type { InputChannel, InputGate } from './input-gate.js';
import type { RecordWriter } from './record-writer.js';

export class ChannelStateCapture {
  private readonly inputs: InputChannelState[] = [];
  private outputs: ResultSubpartitionState[] = [];
  private owing: number;
  private outputsSet = false;
  private settle!: (state: ChannelState | undefined) => void;
  private settled = false;
  /**
   * Whether the checkpoint went unaligned here: always for an unaligned checkpoint's capture; for
   * an aligned one's outputs, once a barrier was converted at its timeout.
   */
  unaligned: boolean;
  /** The channel state once complete; undefined if the checkpoint was aborted. */
  readonly result: Promise<ChannelState | undefined>;

  constructor(
    readonly checkpointId: number,
    /** Input channels whose buffers are still being recorded. */
    owing: number,
    unaligned = true,
  ) {
    this.owing = owing;
    this.unaligned = unaligned;
    this.result = new Promise((resolve) => (this.settle = resolve));
  }

  /** An input channel's buffers before the barrier (given once per channel). */
  addInput(channel: number, buffers: readonly Uint8Array[]): void {
    if (this.settled) return;
    this.inputs.push({ channel, buffers });
  }

  /** An input channel that owed the barrier is done recording. */
  inputDone(channel: number, buffers: readonly Uint8Array[]): void {
    this.addInput(channel, buffers);
    this.owing--;
    this.settleIfComplete();
  }

  /** The output buffers the barrier overtook, per writer and subpartition (given once). */
  setOutputs(perWriter: readonly (readonly (readonly Uint8Array[])[])[]): void {
    if (this.outputsSet) return;
    this.outputs = perWriter.flatMap((subpartitions, writer) =>
      subpartitions.map((buffers, subpartition) => ({ writer, subpartition, buffers })),
    );
    this.outputsSet = true;
    this.settleIfComplete();
  }

  /** The checkpoint was aborted: nothing will be written. */
  abort(): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(undefined);
  }

  private settleIfComplete(): void {
    if (this.settled || this.owing > 0 || !this.outputsSet) return;
    this.settled = true;
    this.inputs.sort((a, b) => a.channel - b.channel);
    this.settle({ inputs: this.inputs, outputs: this.outputs });
  }
}

/** The rest of a buffer the task is part-way through, and its channel: data before any barrier of that channel. */
export interface PartialBuffer {
  readonly channel: InputChannel;
  readonly rest: Uint8Array;
}

/**
 * Starts capturing the input side of unaligned checkpoint `checkpointId` in `gate`: the channel
 * whose barrier triggered it (if any) gives what was queued when the barrier arrived; each channel
 * in `recording` records until its barrier. A part-processed buffer goes first on its channel.
 */
export function captureInputChannels(
  checkpointId: number,
  gate: InputGate,
  recording: readonly number[],
  triggeredBy: InputChannel | undefined,
  partial: PartialBuffer | undefined,
): ChannelStateCapture {
  const capture = new ChannelStateCapture(checkpointId, recording.length);
  const prefixOf = (channel: InputChannel): Uint8Array | undefined =>
    partial?.channel === channel && partial.rest.length > 0 ? partial.rest : undefined;
  const arrival = triggeredBy?.arrivalCapture;
  if (triggeredBy !== undefined && arrival?.checkpointId === checkpointId) {
    triggeredBy.arrivalCapture = undefined;
    const prefix = prefixOf(triggeredBy);
    capture.addInput(
      triggeredBy.index,
      prefix === undefined ? arrival.buffers : [prefix, ...arrival.buffers],
    );
  }
  for (const index of recording) {
    const channel = gate.channels[index]!;
    channel.startRecording(checkpointId, prefixOf(channel), (buffers) => capture.inputDone(index, buffers));
  }
  return capture;
}

/** Stops every recording of `checkpointId` in `gate` (the checkpoint was aborted). */
export function stopRecording(checkpointId: number, gate: InputGate | undefined): void {
  for (const channel of gate?.channels ?? []) channel.stopRecording(checkpointId);
}

/**
 * Puts restored channel state back in place before the task processes anything: input buffers
 * ahead of whatever arrived on their channels, output buffers first in their subpartitions.
 */
export function replayChannelState(
  state: ChannelState,
  gate: InputGate | undefined,
  writers: readonly RecordWriter[],
  taskName: string,
): void {
  for (const input of state.inputs) {
    const channel = gate?.channels[input.channel];
    if (channel === undefined) throw mismatch(taskName, `input channel ${input.channel}`);
    channel.replay(input.buffers);
  }
  for (const output of state.outputs) {
    const subpartition = writers[output.writer]?.partition.subpartitions[output.subpartition];
    if (subpartition === undefined)
      throw mismatch(taskName, `output ${output.writer}, channel ${output.subpartition}`);
    for (const buffer of output.buffers) subpartition.add(buffer);
  }
}

function mismatch(taskName: string, what: string): SluiceError {
  return new SluiceError(
    'SLUICE_RESTORE_FAILED',
    `task ${taskName} cannot restore the in-flight data of ${what}: the job's channels differ from the ` +
      'checkpoint (an unaligned checkpoint restores only into the same job graph at the same parallelism; ' +
      'restore from an aligned checkpoint or a savepoint to change them)',
  );
}
