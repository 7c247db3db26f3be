/** `stream.broadcast(descriptors...)`: a stream sent whole to every subtask, with the broadcast states it feeds. */
import { invalidProgram } from '../core/errors.js';
import { MapStateDescriptor } from '../state/state-descriptor.js';
import type { StreamBuilder, StreamInput } from './stream-builder.js';

/**
 * A broadcast stream and its broadcast state descriptors (Flink's BroadcastStream): connect a
 * stream to it, `stream.connect(broadcastStream).process(fn)`, for a BroadcastProcessFunction
 * or, on a keyed stream, a KeyedBroadcastProcessFunction.
 */
export class BroadcastStream<T> {
  /** @internal The type of the records only (nothing is stored). */
  declare readonly recordType?: T;

  /** @internal */
  constructor(
    /** @internal */ readonly builder: StreamBuilder,
    /** @internal The producers, partitioned to every consumer subtask. */
    readonly inputs: readonly StreamInput[],
    /** @internal */ readonly descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {
    const names = new Set<string>();
    for (const d of descriptors) {
      if (!(d instanceof MapStateDescriptor))
        throw invalidProgram(
          'broadcast(...) takes MapStateDescriptors, one per broadcast state (new MapStateDescriptor(name)).',
        );
      if (names.has(d.name))
        throw invalidProgram(`broadcast(...) declares broadcast state '${d.name}' twice.`);
      names.add(d.name);
    }
  }

  /** The broadcast state descriptors (Flink's getBroadcastStateDescriptors). */
  getBroadcastStateDescriptors(): readonly MapStateDescriptor<unknown, unknown>[] {
    return this.descriptors;
  }
}
