/** State: descriptors, state interfaces, keyed and operator backends, timers, snapshots and restore. */
export type { AggregateFunction, ReduceFunction } from './functions.js';
export {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from './state-descriptor.js';
export type {
  AggregatingStateOptions,
  ListStateOptions,
  MapStateOptions,
  ReducingStateOptions,
  StateDescriptor,
  StateKind,
  ValueStateOptions,
} from './state-descriptor.js';
export type { AggregatingState, ListState, MapState, ReducingState, State, ValueState } from './state.js';
export {
  StateTtlConfig,
  StateTtlConfigBuilder,
  StateVisibility,
  TtlTimeCharacteristic,
  UpdateType,
  type CleanupStrategies,
  type IncrementalCleanup,
} from './ttl/state-ttl-config.js';
export type { KeyedStateBackend, StateFor } from './keyed-state-backend.js';
export type { KeyedSnapshotRun, KeyedStateSnapshot } from './keyed-state-snapshot.js';
export { HeapKeyedStateBackend } from './heap/heap-keyed-state-backend.js';
export type { HeapKeyedStateBackendOptions } from './heap/heap-keyed-state-backend.js';
export { KeyedTimerQueue } from './heap/timer-queue.js';
export type { KeyedTimerQueueOptions, Timer } from './heap/timer-queue.js';
export { OperatorStateBackend } from './operator-state-backend.js';
export { redistributeOperatorState } from './operator-state-redistribution.js';
export type {
  OperatorSnapshotRun,
  OperatorStateEntry,
  OperatorStateMode,
  OperatorStateSnapshot,
} from './operator-state-snapshot.js';
