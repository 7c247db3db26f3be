/** Where a JetStream source starts reading a stream (as Flink's Kafka OffsetsInitializer). */

/** A starting position; resolved to a stream sequence once, by the enumerator, when the job starts. */
export type StartingPosition =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'sequence'; readonly sequence: number };

export const StartingPosition = {
  /** The first message the stream holds. */
  earliest(): StartingPosition {
    return { kind: 'earliest' };
  },
  /** Only messages published after the job started (its first run; restores use the checkpoint). */
  latest(): StartingPosition {
    return { kind: 'latest' };
  },
  /** From stream sequence `n` (inclusive). */
  sequence(n: number): StartingPosition {
    if (!Number.isSafeInteger(n) || n < 1)
      throw new RangeError(`StartingPosition.sequence: a stream sequence is an integer >= 1, got ${n}.`);
    return { kind: 'sequence', sequence: n };
  },
};
