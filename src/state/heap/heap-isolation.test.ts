/** Runs the snapshot isolation contract against the heap backend, whose objects user code changes in place. */
import { keyedStateIsolationContract } from '../keyed-state-isolation.contract.js';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.js';

keyedStateIsolationContract('HeapKeyedStateBackend', (opts) => new HeapKeyedStateBackend(opts), true);
