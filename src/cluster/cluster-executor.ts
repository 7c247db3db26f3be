/** Runs jobs on a cluster's TaskManagers: one JobMaster per job, deploying through the registry. */
import { SystemClock, type Clock } from '../core/clock.js';
import { Configuration, isSensitiveKey } from '../core/configuration.js';
import { ClusterOptions, RestSecurityOptions, StateRecoveryOptions } from '../core/config-options.js';
import type { JobId } from '../core/ids.js';
import type { JobClient, PipelineExecutor, PipelineSubmission } from '../api/execution.js';
import { isJobTerminal, JobMaster } from '../coordinator/job-master.js';
import { allowedPathRoots, checkAllowedPath, checkAllowedRestorePath } from './allowed-paths.js';
import { AttemptCounters } from './attempt-counters.js';
import { rebuildSubmission } from './captured-job.js';
import { withRetainedEndedJobs } from './local-executor.js';
import { RemoteTaskManagers, type JobSource } from './remote-task-managers.js';
import type { TaskManagerRegistry } from './task-manager-registry.js';
import { UserCodeProcess } from './user-code-host.js';

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

  /**
   * Runs `submission`, whose TaskManagers load the job from `source`; `prepareMasterStates` when
   * its split enumerators run in another process.
   */
  run(
    submission: PipelineSubmission,
    source: JobSource,
    prepareMasterStates?: (checkpointId: number) => Promise<void> | undefined,
  ): JobMaster {
    const gateway = new RemoteTaskManagers(
      this.options.registry,
      source,
      this.options.configuration.get(ClusterOptions.SLOT_REQUEST_TIMEOUT),
    );
    const master = new JobMaster(submission, gateway, this.clock, prepareMasterStates);
    this.gateways.set(master, gateway);
    this.counters.set(master.jobId, new AttemptCounters(submission.jobGraph.vertices.length));
    this.masters = withRetainedEndedJobs([...this.masters, master]);
    const kept = new Set(this.masters.map((m) => m.jobId));
    for (const jobId of this.counters.keys()) if (!kept.has(jobId)) this.counters.delete(jobId);
    this.options.onSlotDemand?.(this.slotDemand());
    const ended = () => gateway.releaseJob(master.jobId);
    master.getJobExecutionResult().then(ended, ended);
    master.start();
    return master;
  }

  /** Slots the jobs that have not ended need (slot sharing: each its widest vertex). */
  slotDemand(): number {
    return this.masters
      .filter((m) => !isJobTerminal(m.getJobStatus()))
      .reduce((n, m) => n + Math.max(...m.jobGraph.vertices.map((v) => v.parallelism)), 0);
  }

  /**
   * Whether a job is failing over, or has tasks of its current attempt not yet RUNNING (deploying
   * or reading their restore state).
   */
  get recovering(): boolean {
    return this.masters.some((m) => {
      const status = m.getJobStatus();
      return (
        status === 'RESTARTING' || (status === 'RUNNING' && m.lastAttemptTimings?.allRunningAt === undefined)
      );
    });
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
 * The configuration a submitted job is built with: the cluster's, without its credentials and
 * its REST and TLS settings (none of the job's business), then the submission's own.
 */
function jobConfiguration(cluster: Configuration, request: BundleSubmission): Configuration {
  const own: Record<string, string> = {};
  for (const [key, value] of Object.entries(cluster.toMap({ redactSecrets: false })))
    if (!isSensitiveKey(key) && !/^(?:security\.|rest\.authentication\.)/u.test(key)) own[key] = value;
  const configuration = new Configuration()
    .addAll(own, 'the cluster')
    .addAll(request.configuration, 'the submission');
  if (request.savepointPath !== undefined)
    configuration.setString('execution.state-recovery.path', request.savepointPath, 'the submission');
  if (request.allowNonRestoredState)
    configuration.setString('execution.state-recovery.ignore-unclaimed-state', 'true', 'the submission');
  return configuration;
}

/**
 * Evaluates the bundle in a user-code process (never in this one: a module that loops, leaks or
 * throws costs that process only), rebuilds the job it submitted from plain data, and runs it on
 * the cluster, its split enumerators staying in that process. Rejects with the module's error,
 * SLUICE_SUBMISSION_FAILED (a limit, a crash), SLUICE_PROGRAM_INVALID (no execute()) or
 * SLUICE_REST_PATH_NOT_ALLOWED (a path outside `rest.allowed-paths`).
 */
export async function runBundle(
  executor: ClusterExecutor,
  clusterConfiguration: Configuration,
  request: BundleSubmission,
): Promise<JobMaster> {
  const roots = allowedPathRoots(clusterConfiguration);
  const configuration = jobConfiguration(clusterConfiguration, request);
  const configured = configuration.get(StateRecoveryOptions.SAVEPOINT_PATH);
  if (configured !== undefined) await checkAllowedRestorePath(configured, roots);
  const jobConfig = configuration.toMap({ redactSecrets: false });
  const { userCode, job } = await UserCodeProcess.load(
    {
      bundle: request.bundle,
      configuration: jobConfig,
      args: request.args,
      parallelism: request.parallelism,
    },
    {
      timeoutMs: clusterConfiguration.get(RestSecurityOptions.CLIENT_TIMEOUT),
      heapBytes: clusterConfiguration.get(RestSecurityOptions.SUBMIT_HEAP_SIZE),
    },
  );
  try {
    // The module may have set its own paths in code: they are judged the same way.
    const { restorePath, checkpointing } = job.settings;
    if (restorePath !== undefined) await checkAllowedRestorePath(restorePath, roots);
    if (checkpointing?.storage.dir !== undefined)
      await checkAllowedPath(checkpointing.storage.dir, roots, 'the checkpoint directory');
    const submission = rebuildSubmission(job, (operatorId) => userCode.source(operatorId));
    const master = executor.run(
      submission,
      {
        bundle: request.bundle,
        jobIndex: 0,
        args: request.args,
        configuration: jobConfig,
        parallelism: request.parallelism,
      },
      (checkpointId) => userCode.prepareSnapshot(checkpointId),
    );
    userCode.onFailure((error, restartable) => master.failGlobally(error, restartable));
    const done = () => userCode.close();
    master.getJobExecutionResult().then(done, done);
    return master;
  } catch (e) {
    userCode.close();
    throw e;
  }
}
