/** In-band events that travel through channels in order with the data buffers. */

/** An event in a channel (barriers and watermarks join this union in later issues). */
export type ChannelEvent = { readonly kind: 'end-of-partition' };

/** What a channel carries: a buffer of serialized records, or an event. */
export type ChannelItem = Uint8Array | ChannelEvent;

/** The end-of-partition event: the producer subtask will send nothing more on this channel. */
export const END_OF_PARTITION: ChannelEvent = Object.freeze({ kind: 'end-of-partition' });

/** Whether an item is a buffer (as opposed to an event). */
export function isBuffer(item: ChannelItem): item is Uint8Array {
  return item instanceof Uint8Array;
}
