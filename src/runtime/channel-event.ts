/** In-band events that travel through channels in order with the data buffers. */
import type { WatermarkStatus } from '../core/watermark.js';
import type { SavepointTarget } from '../protocol/snapshot-kind.js';

/** An event in a channel. */
export type ChannelEvent =
  | { readonly kind: 'end-of-partition' }
  /** Checkpoint barrier n: everything before it belongs to checkpoint n, everything after does not. */
  | {
      readonly kind: 'barrier';
      readonly checkpointId: number;
      readonly timestamp: number;
      /** Of an unaligned checkpoint: a priority event, ahead of the data queued in its channel. */
      readonly unaligned?: boolean;
      /** Aligned, but goes unaligned when the alignment takes longer than the configured timeout. */
      readonly timeoutable?: boolean;
      /** Present on a savepoint's barrier only: the common checkpoint barrier stays three fields. */
      readonly savepoint?: SavepointTarget;
    }
  /** Checkpoint n was aborted upstream: stop aligning for it. */
  | { readonly kind: 'cancel-checkpoint'; readonly checkpointId: number }
  /** The producer's output watermark advanced to `timestamp` (ms; MAX_WATERMARK at its end). */
  | { readonly kind: 'watermark'; readonly timestamp: number }
  /** The producer's output became idle (it holds no watermark back) or active again. */
  | { readonly kind: 'watermark-status'; readonly status: WatermarkStatus };

/** What a channel carries: a buffer of serialized records, or an event. */
export type ChannelItem = Uint8Array | ChannelEvent;

/** The end-of-partition event: the producer subtask will send nothing more on this channel. */
export const END_OF_PARTITION: ChannelEvent = Object.freeze({ kind: 'end-of-partition' });

/** Whether an item is a buffer (as opposed to an event). */
export function isBuffer(item: ChannelItem): item is Uint8Array {
  return item instanceof Uint8Array;
}
