/** Per-record channel choice of each partitioner (among a producer's subpartitions). */
import { SluiceError } from '../core/errors.js';
import { computeOperatorIndexForKeyGroup, assignToKeyGroup } from '../core/key-groups.js';
import type { KeySelectorFn, PartitionerSpec } from '../graph/partitioner.js';

/** Picks the subpartition of a record; BROADCAST means every subpartition. */
export interface ChannelSelector {
  selectChannel(record: unknown): number;
  readonly isBroadcast: boolean;
}

/** Marker returned by nothing: broadcast writers never ask for a channel. */
const BROADCAST = -1;

class RoundRobinSelector implements ChannelSelector {
  readonly isBroadcast = false;
  constructor(
    private readonly n: number,
    private next: number,
  ) {}
  selectChannel(): number {
    const ch = this.next;
    if (++this.next === this.n) this.next = 0;
    return ch;
  }
}

class FixedSelector implements ChannelSelector {
  constructor(
    private readonly channel: number,
    readonly isBroadcast: boolean,
  ) {}
  selectChannel(): number {
    return this.channel;
  }
}

class ShuffleSelector implements ChannelSelector {
  readonly isBroadcast = false;
  constructor(private readonly n: number) {}
  selectChannel(): number {
    return Math.floor(Math.random() * this.n);
  }
}

class KeyGroupSelector implements ChannelSelector {
  readonly isBroadcast = false;
  constructor(
    private readonly keySelector: KeySelectorFn,
    private readonly maxParallelism: number,
    private readonly parallelism: number,
    private readonly where: string,
  ) {}
  selectChannel(record: unknown): number {
    // The selector is user code run inside the producer's task: name it and that task, or the
    // failure would be blamed on whichever operator happened to emit the record.
    let key: unknown;
    try {
      key = this.keySelector(record);
    } catch (e) {
      if (e instanceof SluiceError) throw e;
      throw new SluiceError(
        'SLUICE_USER_FUNCTION_FAILED',
        `${this.where} threw: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    let keyGroup: number;
    try {
      keyGroup = assignToKeyGroup(key, this.maxParallelism);
    } catch (e) {
      if (!(e instanceof SluiceError) || e.code !== 'SLUICE_KEY_NOT_HASHABLE') throw e;
      throw new SluiceError('SLUICE_KEY_NOT_HASHABLE', `${this.where} returned a bad key: ${e.message}`, {
        cause: e,
      });
    }
    return computeOperatorIndexForKeyGroup(this.maxParallelism, this.parallelism, keyGroup);
  }
}

/**
 * The selector for producer subtask `producerIndex` writing to `numChannels` subpartitions of a
 * consumer with `consumerParallelism` / `consumerMaxParallelism` (hash edges use the consumer's
 * key groups, so keyed state and routing agree). `where` names the key selector and the task
 * running it in errors.
 */
export function createChannelSelector(
  partitioner: PartitionerSpec,
  producerIndex: number,
  numChannels: number,
  consumerParallelism: number,
  consumerMaxParallelism: number,
  where = 'a key selector',
): ChannelSelector {
  switch (partitioner.kind) {
    case 'forward':
    case 'global':
      return new FixedSelector(0, false);
    case 'broadcast':
      return new FixedSelector(BROADCAST, true);
    case 'rebalance':
    case 'rescale':
      // Flink starts at a random channel; starting at the producer's index spreads the same
      // way and keeps runs reproducible.
      return new RoundRobinSelector(numChannels, producerIndex % numChannels);
    case 'shuffle':
      return new ShuffleSelector(numChannels);
    case 'hash':
      return new KeyGroupSelector(
        partitioner.keySelector,
        consumerMaxParallelism,
        consumerParallelism,
        where,
      );
  }
}
