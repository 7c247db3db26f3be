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
} from '../coordinator/job-master-gateway.js';
import { TaskScheduler } from '../runtime/task-scheduler.js';
import { deployTasks, JobTasks, subtaskKeys, vertexOfOperator } from './task-deployment.js';

/** Deploys jobs into this process. */
export class InlineTaskManager implements TaskManagerGateway {
  constructor(
    private readonly scheduler: TaskScheduler = new TaskScheduler(),
    private readonly clock: Clock = SystemClock,
  ) {}

  deploy(submission: PipelineSubmission, master: JobMasterGateway, attempt: DeploymentAttempt): DeployedJob {
    const tasks = new JobTasks(submission);
    const deploy = (
      gateway: JobMasterGateway,
      { attemptNumber, checkpointing, restore }: DeploymentAttempt,
      only?: ReadonlySet<string>,
    ) => {
      const group = deployTasks({
        jobId: submission.jobGraph.jobId,
        submission,
        attemptNumber,
        scheduler: this.scheduler,
        clock: this.clock,
        isLocal: only ? (v, s) => only.has(`${v}:${s}`) : () => true,
        master: gateway,
        checkpointing,
        restore,
      });
      tasks.add(group);
      group.start();
    };
    deploy(master, attempt);
    return {
      cancel: () => tasks.cancel(),
      cancelTasks: (subtasks) => tasks.cancel(subtaskKeys(subtasks)),
      restartTasks: (subtasks, gateway, next) => {
        const keys = subtaskKeys(subtasks);
        tasks.cancel(keys);
        deploy(gateway, next, keys);
      },
      triggerCheckpoint: (v, s, id, ts, savepoint) =>
        tasks.current(v, s)?.triggerCheckpoint(id, ts, savepoint),
      notifyCheckpointComplete: (id) => tasks.notifyCheckpointComplete(id),
      notifyCheckpointAborted: (id) => tasks.notifyCheckpointAborted(id),
      finishAll: () => tasks.finishAll(),
      endSourceInput: () => tasks.endSourceInput(),
      sendOperatorEvent: (operatorId, subtask, event) => {
        const vertex = vertexOfOperator(submission.jobGraph.vertices, operatorId);
        if (vertex) tasks.current(vertex.index, subtask)?.deliverOperatorEvent(operatorId, event);
      },
      metrics: () => tasks.metrics(),
      accumulators: () => tasks.accumulators(),
    };
  }
}
