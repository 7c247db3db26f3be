/** The default executor: runs a job on an inline TaskManager in this process. */
import { SystemClock, type Clock } from '../core/clock.js';
import type { JobClient, PipelineExecutor, PipelineSubmission } from '../api/execution.js';
import { JobMaster } from '../coordinator/job-master.js';
import { TaskScheduler } from '../runtime/task-scheduler.js';
import { InlineTaskManager } from './inline-task-manager.js';

/** Runs every job in this process, on one shared scheduler. */
export class LocalExecutor implements PipelineExecutor {
  private readonly taskManager: InlineTaskManager;

  constructor(private readonly clock: Clock = SystemClock) {
    this.taskManager = new InlineTaskManager(new TaskScheduler(), clock);
  }

  execute(submission: PipelineSubmission): Promise<JobClient> {
    const master = new JobMaster(submission, this.taskManager, this.clock);
    master.start();
    return Promise.resolve(master);
  }
}
