/** Incremental heap snapshots: the shared incremental contract (chains restore into either backend, at any parallelism). */
import { keyedStateIncrementalContract } from '../keyed-state-incremental.contract.js';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.js';

keyedStateIncrementalContract('HeapKeyedStateBackend', (opts) => new HeapKeyedStateBackend(opts));
