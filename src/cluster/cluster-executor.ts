/** Runs jobs on a cluster's TaskManagers: one JobMaster per job, deploying through the registry. */
import { SystemClock, type Clock } from '../core/clock.js';
import type { Configuration } from '../core/configuration.js';
import { ClusterOptions } from '../core/config-options.js';
import { SluiceError } from '../core/errors.js';
import type { JobId } from '../core/ids.js';
import type { JobClient, PipelineExecutor, PipelineSubmission } from '../api/execution.js';
import { isJobTerminal, JobMaster } from '../coordinator/job-master.js';
import { AttemptCounters } from './attempt-counters.js';
import { loadJobSubmissions } from './job-bundle.js';
import { withRetainedEndedJobs } from './local-executor.js';
import { RemoteTaskManagers, type JobSource } from './remote-task-managers.js';
import type { TaskManagerRegistry } from './task-manager-registry.js';

/** Settings of a ClusterExecutor. */
export interface ClusterExecutorOptions {
  readonly registry: TaskManagerRegistry;
  readonly configuration: Configuration;
  /**
   * The source of the next job the module executes (`sluice run` and local mode know the bundle
   * of the module that calls `execute()`); undefined when jobs only come with their own source.
   */
  readonly nextJobSource?: () => JobSource;
  /** Told how many slots the running jobs need, before each deployment (local mode starts TaskManagers). */
  readonly onSlotDemand?: (slots: number) => void;
  readonly clock?: Clock;
}

/**
 * The sources of the jobs one module submits, in order: the n-th `execute()` call is job index n
 * of the same bundle, built with the same arguments and configuration in every process.
 */
export function moduleJobSources(module: {
  readonly bundle: Uint8Array;
  readonly args: readonly string[];
  readonly configuration: Configuration;
  readonly parallelism?: number | undefined;
}): () => JobSource {
  let jobIndex = 0;
  const configuration = module.configuration.toMap({ redactSecrets: false });
  return () => ({
    bundle: module.bundle,
    jobIndex: jobIndex++,
    args: module.args,
    configuration,
    parallelism: module.parallelism,
  });
}

/** A JobManager's jobs on its cluster. */
export class ClusterExecutor implements PipelineExecutor {
  private masters: JobMaster[] = [];
  private readonly gateways = new WeakMap<JobMaster, RemoteTaskManagers>();
  private readonly counters = new Map<JobId, AttemptCounters>();
  private readonly clock: Clock;

  constructor(private readonly options: ClusterExecutorOptions) {
    this.clock = options.clock ?? SystemClock;
    options.registry.onTaskMetrics((reports) => {
      for (const report of reports) this.counters.get(report.jobId)?.record(report);
    });
  }

  execute(submission: PipelineSubmission): Promise<JobClient> {
    const next = this.options.nextJobSource;
    if (!next) throw new Error('this executor runs jobs submitted with their bundle only');
    return Promise.resolve(this.run(submission, next()));
  }

  /** Runs `submission`, whose TaskManagers load the job from `source`. */
  run(submission: PipelineSubmission, source: JobSource): JobMaster {
    const gateway = new RemoteTaskManagers(
      this.options.registry,
      source,
      this.options.configuration.get(ClusterOptions.SLOT_REQUEST_TIMEOUT),
    );
    const master = new JobMaster(submission, gateway, this.clock);
    this.gateways.set(master, gateway);
    this.counters.set(master.jobId, new AttemptCounters(submission.jobGraph.vertices.length));
    this.masters = withRetainedEndedJobs([...this.masters, master]);
    const kept = new Set(this.masters.map((m) => m.jobId));
    for (const jobId of this.counters.keys()) if (!kept.has(jobId)) this.counters.delete(jobId);
    this.options.onSlotDemand?.(this.slotDemand());
    master.start();
    return master;
  }

  /** Slots the jobs that have not ended need (slot sharing: each its widest vertex). */
  slotDemand(): number {
    return this.masters
      .filter((m) => !isJobTerminal(m.getJobStatus()))
      .reduce((n, m) => n + Math.max(...m.jobGraph.vertices.map((v) => v.parallelism)), 0);
  }

  /** The jobs this executor runs or ran, in submission order. */
  get jobMasters(): readonly JobMaster[] {
    return this.masters;
  }

  /**
   * Records into each vertex of a job over all its attempts (replayed records count again);
   * undefined for a job this executor does not keep.
   */
  recordsInAcrossAttempts(jobId: JobId): number[] | undefined {
    return this.counters.get(jobId)?.recordsIn();
  }

  /** The gateway of a job (where its subtasks run, deployment timings). */
  gatewayOf(master: JobMaster): RemoteTaskManagers | undefined {
    return this.gateways.get(master);
  }
}

/** How long a submitted module may take to reach its execute() (Flink's `client.timeout` default). */
const SUBMISSION_TIMEOUT_MS = 60_000;

/** A job submitted as a bundle (REST `/jars/:jarid/run`, `sluice run --jobmanager`). */
export interface BundleSubmission {
  readonly bundle: Uint8Array;
  readonly args: readonly string[];
  readonly parallelism?: number | undefined;
  readonly savepointPath?: string | undefined;
  readonly allowNonRestoredState: boolean;
  /** Options for this job on top of the cluster's (Flink's `flinkConfiguration`). */
  readonly configuration: Readonly<Record<string, string>>;
}

/**
 * Evaluates the bundle here in the submission role (its first `execute()` hands over the job and
 * the module goes no further) and runs that job on the cluster. Rejects with the module's error,
 * or SLUICE_PROGRAM_INVALID when it submits no job.
 */
export async function runBundle(
  executor: ClusterExecutor,
  clusterConfiguration: Configuration,
  request: BundleSubmission,
): Promise<JobMaster> {
  const configuration = clusterConfiguration.clone().addAll(request.configuration, 'the submission');
  if (request.savepointPath !== undefined)
    configuration.setString('execution.state-recovery.path', request.savepointPath, 'the submission');
  if (request.allowNonRestoredState)
    configuration.setString('execution.state-recovery.ignore-unclaimed-state', 'true', 'the submission');
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A module that neither calls execute() nor ends would hold the submission forever.
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SluiceError(
            'SLUICE_PROGRAM_INVALID',
            `the job module did not call execute() within ${SUBMISSION_TIMEOUT_MS / 1000} s of being loaded; ` +
              'build the job and call execute() at the top level of the module.',
          ),
        ),
      SUBMISSION_TIMEOUT_MS,
    );
  });
  const [submission] = await Promise.race([
    loadJobSubmissions(request.bundle, {
      configuration,
      argv: request.args,
      count: 1,
      parallelism: request.parallelism,
    }),
    stuck,
  ]).finally(() => clearTimeout(timer));
  return executor.run(submission!, {
    bundle: request.bundle,
    jobIndex: 0,
    args: request.args,
    configuration: configuration.toMap({ redactSecrets: false }),
    parallelism: request.parallelism,
  });
}
