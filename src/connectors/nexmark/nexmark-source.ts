/**
 * NexmarkSource: Nexmark's Person/Auction/Bid stream as a split source. A split is a range of
 * event numbers and its state the next one, and every event is a pure function of the options
 * and its number, so a split restored from a checkpoint, at any parallelism, continues the very
 * same stream.
 */
import { RangeSource } from '../../api/source/range-sources.js';
import type { NexmarkEvent } from './nexmark-model.js';
import {
  resolveNexmarkConfiguration,
  type NexmarkConfiguration,
  type ResolvedNexmarkConfiguration,
} from './nexmark-configuration.js';
import { nexmarkEvent } from './nexmark-generator.js';

/**
 * The Nexmark generator as a source: `env.fromSource(new NexmarkSource({ numEvents }),
 * WatermarkStrategy.forBoundedOutOfOrderness(4000).withTimestampAssigner(eventDateTime), 'nexmark')`.
 * Unlike Flink's, whose parallel generators each run their own timeline, all splits share one:
 * event n has time `baseTime + n / firstEventRate`, whichever split reads it, so the stream (and a
 * query's result) does not depend on the parallelism.
 */
export class NexmarkSource extends RangeSource<NexmarkEvent> {
  /** The options with Nexmark's defaults filled in. */
  readonly configuration: ResolvedNexmarkConfiguration;

  constructor(options: NexmarkConfiguration) {
    const c = resolveNexmarkConfiguration(options);
    super(
      0,
      c.numEvents === Infinity ? Infinity : c.numEvents - 1,
      (n) => nexmarkEvent(c, n),
      c.eventsPerSecond,
    );
    this.configuration = c;
  }
}
