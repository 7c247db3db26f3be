/** The REST backend of a JobManager with TaskManager processes: jobs from its executor, TaskManagers from its registry. */
import type { JobId } from '../core/ids.js';
import type { BundleSubmission, ClusterExecutor } from '../cluster/cluster-executor.js';
import type { TaskManagerRegistry } from '../cluster/task-manager-registry.js';
import { LocalRestBackend } from './local-rest-backend.js';
import type { RestBackend, RestJob, RestTaskManager } from './rest-backend.js';
import type { LogFileEntry } from '../core/log-files.js';
import { mergeFlameGraphs, type CpuSampling, type FlameGraphNode } from '../runtime/cpu-flame-graph.js';
import type { RegisteredTaskManager } from '../cluster/task-manager-registry.js';

/** Jobs and TaskManagers of a cluster. */
export class ClusterRestBackend implements RestBackend {
  private readonly jobsBackend: LocalRestBackend;
  readonly submitJob?: (request: BundleSubmission) => Promise<JobId>;

  constructor(
    executor: ClusterExecutor,
    private readonly registry: TaskManagerRegistry,
    submit?: (request: BundleSubmission) => Promise<JobId>,
  ) {
    this.jobsBackend = new LocalRestBackend(executor, submit, (master, vertexIndex, subtask) => {
      const tm = executor.gatewayOf(master)?.placementOf(vertexIndex, subtask);
      return tm && { endpoint: `${tm.dataAddress.host}:${tm.dataAddress.port}`, taskManagerId: tm.id };
    });
    if (submit) this.submitJob = submit;
  }

  jobs(): readonly RestJob[] {
    return this.jobsBackend.jobs();
  }

  job(jobId: string): RestJob | undefined {
    return this.jobsBackend.job(jobId);
  }

  async taskManagerFile(
    taskManagerId: string,
    file: 'log' | 'stdout',
  ): Promise<Uint8Array | 'missing' | 'unknown'> {
    const tm = this.registered(taskManagerId);
    if (!tm) return 'unknown';
    return (await this.registry.requestFile(tm, file)) ?? 'missing';
  }

  async taskManagerLogList(taskManagerId: string): Promise<readonly LogFileEntry[] | 'unknown'> {
    const tm = this.registered(taskManagerId);
    return tm ? this.registry.requestLogList(tm) : 'unknown';
  }

  async taskManagerLogFile(taskManagerId: string, name: string): Promise<Uint8Array | 'missing' | 'unknown'> {
    const tm = this.registered(taskManagerId);
    if (!tm) return 'unknown';
    return (await this.registry.requestLogFile(tm, name)) ?? 'missing';
  }

  /** Each TaskManager samples its own process at the same time; their graphs add up. */
  async sampleCpu(taskManagerIds: readonly string[], sampling: CpuSampling): Promise<FlameGraphNode> {
    const tms = taskManagerIds.flatMap((id) => this.registered(id) ?? []);
    return mergeFlameGraphs(
      await Promise.all(tms.map((tm) => this.registry.requestCpuProfile(tm, sampling))),
    );
  }

  private registered(taskManagerId: string): RegisteredTaskManager | undefined {
    return this.registry.taskManagers().find((t) => t.id === taskManagerId);
  }

  taskManagers(): readonly RestTaskManager[] {
    return this.registry.taskManagers().map((tm) => ({
      id: tm.id,
      path: `sluice.tcp://${tm.connection.remote}/taskmanager`,
      dataPort: tm.dataAddress.port,
      lastHeartbeat: tm.lastHeartbeat,
      slotsNumber: tm.slots,
      freeSlots: tm.freeSlots,
      ...tm.hardware,
      metrics: tm.processMetrics,
    }));
  }
}
