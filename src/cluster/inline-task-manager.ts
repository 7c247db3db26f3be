/**
 * A TaskManager inside the calling process: deploys every subtask of a job as a Task on one
 * scheduler, wiring the channels with the in-memory transport.
 */
import { SystemClock, type Clock } from '../core/clock.js';
import type { PipelineSubmission } from '../api/execution.js';
import type {
  DeployedJob,
  DeploymentAttempt,
  JobMasterGateway,
  TaskManagerGateway,
} from '../coordinator/job-master.js';
import { TaskScheduler } from '../runtime/task-scheduler.js';
import { deployTasks } from './task-deployment.js';

/** Deploys jobs into this process. */
export class InlineTaskManager implements TaskManagerGateway {
  constructor(
    private readonly scheduler: TaskScheduler = new TaskScheduler(),
    private readonly clock: Clock = SystemClock,
  ) {}

  deploy(submission: PipelineSubmission, master: JobMasterGateway, attempt: DeploymentAttempt): DeployedJob {
    const group = deployTasks({
      jobId: submission.jobGraph.jobId,
      submission,
      attemptNumber: attempt.attemptNumber,
      scheduler: this.scheduler,
      clock: this.clock,
      isLocal: () => true,
      master,
      checkpointing: attempt.checkpointing,
      restore: attempt.restore,
    });
    group.start();
    return {
      cancel: () => group.cancel(),
      triggerCheckpoint: (v, s, id, ts) => group.triggerCheckpoint(v, s, id, ts),
      notifyCheckpointComplete: (id) => group.notifyCheckpointComplete(id),
      notifyCheckpointAborted: (id) => group.notifyCheckpointAborted(id),
      finishAll: () => group.finishAll(),
      sendOperatorEvent: (operatorId, subtask, event) => group.sendOperatorEvent(operatorId, subtask, event),
      metrics: () => group.metrics(),
      accumulators: () => group.accumulators(),
    };
  }
}
