/**
 * What the exactly-once JetStream sink stores in a checkpoint: the messages one subtask wrote
 * between two barriers, published by the committer once the checkpoint completes. Message i is
 * published with id `<id>:<i>`, so a committable published again after a restore (its
 * checkpoint's notification was lost) is dropped by the stream's duplicate window.
 */
export interface JetStreamCommittable {
  readonly id: string;
  /** One subject for every message, or one per message. */
  readonly subjects: string | readonly string[];
  readonly payloads: readonly Uint8Array[];
}
