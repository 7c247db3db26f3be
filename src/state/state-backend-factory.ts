/** Creates an operator subtask's keyed state backend from the job's StateBackendSettings. */
import type { KeyGroupRange } from '../core/key-groups.js';
import type { TypeSerializer } from '../core/serializer.js';
import { HeapKeyedStateBackend } from './heap/heap-keyed-state-backend.js';
import type { KeyedStateBackend } from './keyed-state-backend.js';
import { LmdbKeyedStateBackend } from './lmdb/lmdb-keyed-state-backend.js';
import type { StateBackendSettings } from './state-backend.js';

/** What every keyed backend is created with. */
export interface KeyedBackendSetup {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly defaultSerializer: TypeSerializer<unknown>;
  /** The processing-time clock state TTL is measured with: the task's, so timers and TTL agree. */
  readonly ttlTimeProvider?: () => number;
  /** The operator whose state this is, for messages. */
  readonly owner?: string;
}

/** The backend `settings` select (the heap when none were chosen). */
export function createKeyedStateBackend(
  settings: StateBackendSettings | undefined,
  setup: KeyedBackendSetup,
): KeyedStateBackend {
  if (settings?.kind === 'lmdb')
    return new LmdbKeyedStateBackend({
      ...setup,
      ...(settings.localDir === undefined ? {} : { localDir: settings.localDir }),
      ...(settings.incremental === undefined ? {} : { incremental: settings.incremental }),
    });
  return new HeapKeyedStateBackend({
    ...setup,
    ...(settings?.incremental === undefined ? {} : { incremental: settings.incremental }),
  });
}

/**
 * Whether the keyed backends `settings` create load their state as it arrives (`restoreArriving`),
 * so that a task may read their state files through a window of bounded size (ArrivalWindow).
 */
export function loadsArrivingState(settings: StateBackendSettings | undefined): boolean {
  return settings?.kind === 'lmdb';
}
