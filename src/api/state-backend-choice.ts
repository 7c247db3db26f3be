/** Which keyed state backend a job runs with, from `state.backend.*` (or env.setStateBackend). */
import type { Configuration } from '../core/configuration.js';
import { CheckpointingOptions, StateOptions } from '../core/config-options-checkpointing.js';
import { logger } from '../core/log.js';
import type { StateBackend, StateBackendSettings } from '../state/state-backend.js';

/** Writes `backend`'s choice into `configuration` (what env.setStateBackend does). */
export function chooseStateBackend(configuration: Configuration, backend: StateBackend): void {
  const settings = backend.settings();
  configuration.set(StateOptions.STATE_BACKEND, settings.kind);
  if (settings.kind === 'lmdb' && settings.localDir !== undefined)
    configuration.set(StateOptions.STATE_BACKEND_LOCAL_DIR, settings.localDir);
  if (backend.incremental !== undefined)
    configuration.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, backend.incremental);
}

/**
 * The backend `configuration` selects. `announce`: log, once per job, that a Flink config's
 * `rocksdb` runs on LMDB (the JobManager's and TaskManagers' own evaluations of the module stay quiet).
 */
export function stateBackendOf(configuration: Configuration, announce: boolean): StateBackendSettings {
  const chosen = configuration.get(StateOptions.STATE_BACKEND);
  const incremental = configuration.get(CheckpointingOptions.INCREMENTAL_CHECKPOINTS)
    ? {
        maxChainLength: configuration.get(CheckpointingOptions.INCREMENTAL_MAX_CHAIN_LENGTH),
        maxDeltaRatio: configuration.get(CheckpointingOptions.INCREMENTAL_MAX_DELTA_RATIO),
      }
    : undefined;
  if (chosen === 'hashmap') return incremental ? { kind: 'hashmap', incremental } : { kind: 'hashmap' };
  if (announce && chosen === 'rocksdb')
    logger('environment').info(
      "state.backend.type 'rocksdb': Sluice's embedded on-disk backend is LMDB; using EmbeddedLmdbStateBackend.",
    );
  const localDir = configuration.get(StateOptions.STATE_BACKEND_LOCAL_DIR);
  return incremental ? { kind: 'lmdb', localDir, incremental } : { kind: 'lmdb', localDir };
}
