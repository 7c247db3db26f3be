/** The in-memory transport: a producer's subpartition hands buffers straight to the consumer's channel. */
import type { InputChannel } from '../runtime/input-gate.js';
import type { ResultSubpartition } from '../runtime/result-partition.js';

/**
 * Connects a subpartition to an input channel in the same process, with `credits` buffers of
 * room on the consumer side (`taskmanager.network.memory.buffers-per-channel`). Buffers move by
 * reference, with the same credit accounting a network connection has.
 */
export function connectInMemory(
  subpartition: ResultSubpartition,
  channel: InputChannel,
  credits: number,
): void {
  channel.connect(subpartition, credits);
  subpartition.connect(channel, credits);
}
