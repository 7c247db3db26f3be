/** A JetStream source split: one subject filter of one stream, positioned by stream sequence. */
import type { SourceSplit } from '../../api/source/source.js';

export interface JetStreamSplit extends SourceSplit {
  /** The subject filter (may hold wildcards). */
  readonly subject: string;
  /** Its place in the source's subject list: which reader owns it (index mod parallelism). */
  readonly index: number;
  /** The stream sequence of the next message to read (everything before it was emitted). */
  readonly nextSequence: number;
  /** Bounded mode: the stream's last sequence when the job first started (inclusive). */
  readonly stopSequence?: number;
}
