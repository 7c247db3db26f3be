/**
 * The keyed state backend a job chooses (Flink's `StateBackend`): `env.setStateBackend(new
 * EmbeddedLmdbStateBackend())` or `state.backend.type`. These are settings, not backends: each
 * keyed operator subtask creates its own backend from them (state-backend-factory.ts).
 */

/** The chosen backend as plain data (what a submission carries to every TaskManager). */
export type StateBackendSettings =
  | { readonly kind: 'hashmap'; readonly incremental?: IncrementalSettings | undefined }
  | {
      readonly kind: 'lmdb';
      readonly localDir?: string | undefined;
      readonly incremental?: IncrementalSettings | undefined;
    };

/**
 * Incremental checkpoints (`execution.checkpointing.incremental`) and when a chain is
 * materialized (`execution.checkpointing.incremental.max-chain-length`, `.max-delta-ratio`).
 */
export interface IncrementalSettings {
  readonly maxChainLength: number;
  readonly maxDeltaRatio: number;
}

/** What `env.setStateBackend` takes. */
export interface StateBackend {
  /** Flink's class name of the equivalent backend, for the REST API and logs. */
  readonly name: string;
  settings(): StateBackendSettings;
  /** Flink's `enableIncrementalCheckpointing` (`execution.checkpointing.incremental`), when chosen here. */
  readonly incremental?: boolean | undefined;
}

/** Keyed state as objects on the JS heap (Flink's `HashMapStateBackend`; the default). */
export class HashMapStateBackend implements StateBackend {
  readonly name = 'HashMapStateBackend';
  settings(): StateBackendSettings {
    return { kind: 'hashmap' };
  }
}

/**
 * Keyed state on local disk in LMDB (Sluice's counterpart of Flink's `EmbeddedRocksDBStateBackend`):
 * state may be far larger than the heap. `localDir` is `state.backend.local-dir`.
 */
export class EmbeddedLmdbStateBackend implements StateBackend {
  readonly name = 'EmbeddedLmdbStateBackend';
  private localDir: string | undefined;
  readonly incremental: boolean | undefined;

  /**
   * `new EmbeddedLmdbStateBackend(true)` is Flink's `new EmbeddedRocksDBStateBackend(true)`:
   * incremental checkpoints on (`execution.checkpointing.incremental`).
   */
  constructor(options: boolean | { readonly localDir?: string; readonly incremental?: boolean } = {}) {
    if (typeof options === 'boolean') this.incremental = options;
    else {
      this.localDir = options.localDir;
      this.incremental = options.incremental;
    }
  }

  isIncrementalCheckpointsEnabled(): boolean {
    return this.incremental === true;
  }

  /** Flink's `setDbStoragePath`: where the LMDB environments go. */
  setDbStoragePath(path: string): void {
    this.localDir = path;
  }

  settings(): StateBackendSettings {
    return { kind: 'lmdb', localDir: this.localDir };
  }
}

/** Flink's class name of the backend `settings` select (REST `state_backend`). */
export function stateBackendName(settings: StateBackendSettings | undefined): string {
  return settings?.kind === 'lmdb' ? 'EmbeddedLmdbStateBackend' : 'HashMapStateBackend';
}
