/** How a state value still read by a pinned snapshot is copied before it is mutated in place. */
import type { TypeSerializer } from '../../core/serializer.js';
import type { StateDescriptor } from '../state-descriptor.js';
import { valueSerializerOf } from './keyed-snapshot-format.js';
import type { StoredMap, ValueCopier } from './state-table.js';

const identity: ValueCopier = (value) => value;
const copyList: ValueCopier = (value) => (value as unknown[]).slice();
// Map pairs are replaced on put, never mutated, so a shallow copy is a full copy.
const copyMap: ValueCopier = (value) => new Map(value as StoredMap<unknown, unknown>);

/**
 * The copier for a state's values, used only by `StateTable.getForUpdate` on an entry a snapshot
 * still reads (so it runs at most once per entry per checkpoint, never with no snapshot pinned).
 *
 * Lists and maps are copied structurally: the state API never mutates their elements. Reducing
 * and aggregating values are opaque objects that user functions may mutate (`acc.sum += x;
 * return acc`), so they are deep-copied through their serializer, as Flink copies with
 * `TypeSerializer.copy`: the copy is exactly what a restore would produce. Primitives are
 * immutable and are never copied. Value state only replaces values (`put`), never mutates them.
 */
export function valueCopierFor(descriptor: StateDescriptor, fallback: TypeSerializer<unknown>): ValueCopier {
  switch (descriptor.kind) {
    case 'list':
      return copyList;
    case 'map':
      return copyMap;
    case 'value':
      return identity;
    case 'reducing':
    case 'aggregating': {
      const serializer = valueSerializerOf(descriptor, fallback);
      return (value) => {
        if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value;
        const bytes = serializer.serialize(value);
        return serializer.deserialize(bytes, 0, bytes.length);
      };
    }
  }
}
