/** Runs the snapshot isolation contract against the heap backend, whose objects user code changes in place. */
import { MsgpackSerializer, type TypeSerializer } from '../../core/serializer.js';
import { keyedStateIsolationContract } from '../keyed-state-isolation.contract.js';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.js';

// The default serializer copies a value a pending snapshot still needs (TypeSerializer.copy).
keyedStateIsolationContract('HeapKeyedStateBackend', (opts) => new HeapKeyedStateBackend(opts), true);

/** A user's serializer with no `copy`: the backend serializes such values for the snapshot instead. */
function withoutCopy(): TypeSerializer<unknown> {
  const inner = new MsgpackSerializer<unknown>();
  return {
    name: 'no-copy',
    version: 1,
    serialize: (value) => inner.serialize(value),
    deserialize: (bytes, start, end) => inner.deserialize(bytes, start, end),
  };
}

keyedStateIsolationContract(
  'HeapKeyedStateBackend, serializers without copy',
  (opts) => new HeapKeyedStateBackend({ ...opts, defaultSerializer: withoutCopy() }),
  true,
);
