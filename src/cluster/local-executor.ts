/** The default executor: runs a job on an inline TaskManager in this process. */
import { SystemClock, type Clock } from '../core/clock.js';
import type { JobClient, PipelineExecutor, PipelineSubmission } from '../api/execution.js';
import { isJobTerminal, JobMaster } from '../coordinator/job-master.js';
import { TaskScheduler } from '../runtime/task-scheduler.js';
import { InlineTaskManager } from './inline-task-manager.js';

/** Ended jobs kept for the REST API after they ended (like Flink's archive of completed jobs). */
const RETAINED_ENDED_JOBS = 100;

/** `masters` without the oldest ended jobs beyond the last 100, in order. */
export function withRetainedEndedJobs(masters: readonly JobMaster[]): JobMaster[] {
  const ended = masters.filter((m) => isJobTerminal(m.getJobStatus()));
  if (ended.length <= RETAINED_ENDED_JOBS) return [...masters];
  const forget = new Set(ended.slice(0, ended.length - RETAINED_ENDED_JOBS));
  return masters.filter((m) => !forget.has(m));
}

/** Runs every job in this process, on one shared scheduler. */
export class LocalExecutor implements PipelineExecutor {
  private readonly taskManager: InlineTaskManager;
  private masters: JobMaster[] = [];

  constructor(private readonly clock: Clock = SystemClock) {
    this.taskManager = new InlineTaskManager(new TaskScheduler(), clock);
  }

  execute(submission: PipelineSubmission): Promise<JobClient> {
    const master = new JobMaster(submission, this.taskManager, this.clock);
    master.start();
    this.masters = withRetainedEndedJobs([...this.masters, master]);
    return Promise.resolve(master);
  }

  /** The jobs this executor runs or ran, in submission order (the last 100 ended ones are kept). */
  get jobMasters(): readonly JobMaster[] {
    return this.masters;
  }
}
