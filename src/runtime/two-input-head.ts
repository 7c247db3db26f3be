/**
 * How a task feeds the logical inputs of its head operator (Flink's StreamOneInputProcessor and
 * StreamTwoInputProcessor): per input, where its records go and a StatusWatermarkValve over its
 * own channels. A one-input head takes every channel's records itself; a two-input head gets
 * each input's records, watermarks and statuses through that input's methods, and the task's
 * output status is IDLE only while both inputs are.
 */
import { MIN_WATERMARK, type WatermarkStatus } from '../core/watermark.js';
import { StatusWatermarkValve, type ValveOutput } from '../protocol/status-watermark-valve.js';
import type { InputChannel } from './input-gate.js';
import { isTwoInputOperator, type StreamOperator, type TwoInputStreamOperator } from './stream-operator.js';

/** Where one input's records go. */
export interface RecordSink {
  processElement(record: unknown): void;
}

/** What the inputs tell the task. */
export interface InputOwner extends ValveOutput {
  /** The combined input watermark advanced (two-input heads; a one-input head's valve calls emitWatermark). */
  setCurrentInputWatermark(watermark: number): void;
}

/** The head's inputs: record sinks, valves and their outputs, index = the channels' `inputIndex`. */
export interface HeadInputs {
  readonly sinks: readonly RecordSink[];
  readonly valves: readonly StatusWatermarkValve[];
  readonly valveOutputs: readonly ValveOutput[];
  /** Per gate channel: its index among its own input's channels (the valve's channel index). */
  readonly indexInInput: Int32Array;
  /** Per input: how many channels it has. */
  readonly channelCounts: readonly number[];
  /** The head when it takes two inputs (the task then ends each input on its own). */
  readonly twoInput: TwoInputStreamOperator | undefined;
}

class Input1 implements RecordSink {
  constructor(private readonly op: TwoInputStreamOperator) {}
  processElement(record: unknown): void {
    this.op.processElement1(record);
  }
}

class Input2 implements RecordSink {
  constructor(private readonly op: TwoInputStreamOperator) {}
  processElement(record: unknown): void {
    this.op.processElement2(record);
  }
}

/** One input's valve output: the head's method for that input, then the combined view for the task. */
class TwoInputValveOutput implements ValveOutput {
  status: WatermarkStatus = 'ACTIVE';
  constructor(
    private readonly combiner: TwoInputCombiner,
    private readonly side: 1 | 2,
  ) {}
  emitWatermark(watermark: number): void {
    this.combiner.watermark(this.side, watermark);
  }
  emitWatermarkStatus(status: WatermarkStatus): void {
    this.status = status;
    this.combiner.status(this.side, status);
  }
}

/** Combines what the two inputs' valves forward into the task's input watermark and output status. */
class TwoInputCombiner {
  readonly outputs: [TwoInputValveOutput, TwoInputValveOutput];
  private readonly watermarks = [MIN_WATERMARK, MIN_WATERMARK];
  private combined = MIN_WATERMARK;

  constructor(
    private readonly op: TwoInputStreamOperator,
    private readonly owner: InputOwner,
  ) {
    this.outputs = [new TwoInputValveOutput(this, 1), new TwoInputValveOutput(this, 2)];
  }

  watermark(side: 1 | 2, watermark: number): void {
    this.watermarks[side - 1] = watermark;
    if (side === 1) this.op.processWatermark1(watermark);
    else this.op.processWatermark2(watermark);
    this.updateCombined();
  }

  status(side: 1 | 2, status: WatermarkStatus): void {
    if (side === 1) this.op.processWatermarkStatus1(status);
    else this.op.processWatermarkStatus2(status);
    const [a, b] = this.outputs;
    this.owner.emitWatermarkStatus(a.status === 'IDLE' && b.status === 'IDLE' ? 'IDLE' : 'ACTIVE');
    this.updateCombined();
  }

  /** The minimum over the active inputs (both when both are idle), reported when it advances. */
  private updateCombined(): void {
    const [a, b] = this.outputs;
    const active1 = a.status === 'ACTIVE' || b.status === 'IDLE';
    const active2 = b.status === 'ACTIVE' || a.status === 'IDLE';
    const min = Math.min(active1 ? this.watermarks[0]! : Infinity, active2 ? this.watermarks[1]! : Infinity);
    if (min > this.combined && min !== Infinity) {
      this.combined = min;
      this.owner.setCurrentInputWatermark(min);
    }
  }
}

/** Sets up the inputs of `head` over the gate's `channels`. */
export function createHeadInputs(
  head: StreamOperator,
  channels: readonly InputChannel[],
  owner: InputOwner,
): HeadInputs {
  const twoInput = isTwoInputOperator(head) ? head : undefined;
  const inputCount = twoInput ? 2 : 1;
  const channelCounts = new Array<number>(inputCount).fill(0);
  const indexInInput = new Int32Array(channels.length);
  for (const channel of channels) {
    const input = Math.min(channel.inputIndex, inputCount - 1);
    indexInInput[channel.index] = channelCounts[input]!++;
  }
  const valves = channelCounts.map((n) => new StatusWatermarkValve(n));
  if (!twoInput)
    return { sinks: [head], valves, valveOutputs: [owner], indexInInput, channelCounts, twoInput };
  const combiner = new TwoInputCombiner(twoInput, owner);
  return {
    sinks: [new Input1(twoInput), new Input2(twoInput)],
    valves,
    valveOutputs: combiner.outputs,
    indexInInput,
    channelCounts,
    twoInput,
  };
}
