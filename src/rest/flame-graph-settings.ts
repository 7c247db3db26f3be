/** The `rest.flamegraph.*` settings of a REST server, and Flink's defaults. */
import type { CpuSampling } from '../runtime/cpu-flame-graph.js';

/** The `rest.flamegraph.*` settings of a REST server. */
export interface FlameGraphSettings {
  /** `rest.flamegraph.enabled`; default false, as in Flink. */
  readonly enabled: boolean;
  /** `rest.flamegraph.refresh-interval`, ms. */
  readonly refreshIntervalMs: number;
  /** `rest.flamegraph.cleanup-interval`, ms. */
  readonly cleanupIntervalMs: number;
  readonly sampling: CpuSampling;
}

/** Flink's defaults (RestOptions.FLAMEGRAPH_*), flame graphs off. */
export const DEFAULT_FLAME_GRAPH_SETTINGS: FlameGraphSettings = {
  enabled: false,
  refreshIntervalMs: 60_000,
  cleanupIntervalMs: 600_000,
  sampling: { numSamples: 100, delayBetweenSamplesMs: 50, stackDepth: 100 },
};
