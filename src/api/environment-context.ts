/**
 * How `sluice run` hands its settings (-D, --config, -p) to the job module it loads: the job
 * calls `getExecutionEnvironment()` as usual and picks them up, as Flink's ContextEnvironment.
 */
import type { Configuration } from '../core/configuration.js';
import type { JobClient, PipelineSubmission } from './execution.js';

/** Settings the CLI installs before loading a job module. */
export interface EnvironmentContext {
  readonly configuration: Configuration;
  /** `-p`: overrides the job's default parallelism. */
  readonly parallelism?: number | undefined;
  /** Told about every job the module submits (the CLI shows its progress). */
  readonly onJobSubmitted?: ((client: JobClient) => void) | undefined;
  /**
   * The TaskManager (and remote JobManager) role: `execute()` does not run the job; it hands the
   * submission it built to this callback (in execute order) and never settles, so the module's
   * code after `execute()` does not run there. Vertices are matched to deployments by index and
   * checked by their stable ids.
   */
  readonly captureSubmission?: ((submission: PipelineSubmission) => void) | undefined;
}

const KEY = Symbol.for('sluice.environment-context');

/** Installs (or, with undefined, removes) the context for environments created from now on. */
export function setEnvironmentContext(context: EnvironmentContext | undefined): void {
  (globalThis as Record<symbol, unknown>)[KEY] = context;
}

/** The installed context, if a launcher set one. */
export function getEnvironmentContext(): EnvironmentContext | undefined {
  return (globalThis as Record<symbol, unknown>)[KEY] as EnvironmentContext | undefined;
}
