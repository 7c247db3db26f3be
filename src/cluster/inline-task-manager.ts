/**
 * A TaskManager inside the calling process: deploys every subtask of a job as a Task on one
 * scheduler, wiring the channels with the in-memory transport.
 */
import { SystemClock, type Clock } from '../core/clock.js';
import { MsgpackSerializer, type TypeSerializer } from '../core/serializer.js';
import type { OperatorId } from '../core/ids.js';
import type { AccumulatorRegistry } from '../api/accumulators.js';
import type { PipelineSubmission, VertexMetrics } from '../api/execution.js';
import type { OperatorEvent, OperatorFactory } from '../api/operators/stream-operator.js';
import type { JobEdge } from '../graph/job-graph.js';
import type {
  DeployedJob,
  DeploymentAttempt,
  JobMasterGateway,
  TaskManagerGateway,
} from '../coordinator/job-master.js';
import { connectInMemory } from '../network/in-memory-transport.js';
import { consumersOf, producersOf } from '../runtime/channel-wiring.js';
import { createChannelSelector } from '../runtime/channel-selector.js';
import { InputGate, type InputChannel } from '../runtime/input-gate.js';
import { RecordWriter } from '../runtime/record-writer.js';
import { ResultPartition } from '../runtime/result-partition.js';
import { Task } from '../runtime/task.js';
import { TaskScheduler } from '../runtime/task-scheduler.js';

/** The serializer records of an edge cross with: the producer's, or msgpack. */
function serializerOf(edge: JobEdge<OperatorFactory>): TypeSerializer<unknown> {
  return edge.streamEdge.source.transformation.serializer ?? new MsgpackSerializer();
}

/** Deploys jobs into this process. */
export class InlineTaskManager implements TaskManagerGateway {
  constructor(
    private readonly scheduler: TaskScheduler = new TaskScheduler(),
    private readonly clock: Clock = SystemClock,
  ) {}

  deploy(submission: PipelineSubmission, master: JobMasterGateway, attempt: DeploymentAttempt): DeployedJob {
    const { jobGraph } = submission;
    const channels = new Map<string, InputChannel>();
    const gates = jobGraph.vertices.map((vertex) =>
      Array.from({ length: vertex.parallelism }, (_, j) => {
        if (vertex.inputs.length === 0) return undefined;
        const gate = new InputGate();
        vertex.inputs.forEach((edge, inputIndex) => {
          for (const i of producersOf(
            edge.streamEdge.partitioner,
            j,
            edge.source.parallelism,
            vertex.parallelism,
          ))
            channels.set(`${edge.index}:${i}:${j}`, gate.addChannel(inputIndex, serializerOf(edge)));
        });
        return gate;
      }),
    );
    const tasks: Task[][] = jobGraph.vertices.map((vertex) =>
      Array.from({ length: vertex.parallelism }, (_, i) => {
        const writers = new Map<JobEdge<OperatorFactory>, RecordWriter>();
        for (const edge of vertex.outputs) {
          const consumers = consumersOf(
            edge.streamEdge.partitioner,
            i,
            vertex.parallelism,
            edge.target.parallelism,
          );
          const partition = new ResultPartition(consumers.length, submission.maxBuffersPerChannel);
          consumers.forEach((j, k) =>
            connectInMemory(
              partition.subpartitions[k]!,
              channels.get(`${edge.index}:${i}:${j}`)!,
              submission.buffersPerChannel,
            ),
          );
          const selector = createChannelSelector(
            edge.streamEdge.partitioner,
            i,
            consumers.length,
            edge.target.parallelism,
            edge.target.maxParallelism,
            `the key selector of keyBy() before operator '${edge.streamEdge.target.name}' ` +
              `(run by subtask ${i + 1}/${vertex.parallelism} of '${vertex.name}')`,
          );
          writers.set(
            edge,
            new RecordWriter(partition, selector, serializerOf(edge), submission.segmentSize),
          );
        }
        return new Task({
          jobId: jobGraph.jobId,
          vertex,
          subtaskIndex: i,
          attemptNumber: attempt.attemptNumber,
          inputGate: gates[vertex.index]![i],
          writers,
          scheduler: this.scheduler,
          clock: this.clock,
          bufferTimeoutMs: submission.bufferTimeoutMs,
          listener: {
            onTaskStateChanged: (_t, state, error) =>
              master.onTaskStateChanged(vertex.index, i, state, error),
            onTaskEnded: () => master.onTaskEnded(vertex.index, i),
          },
          checkpointing: attempt.checkpointing?.(vertex.index, i),
          restore: attempt.restore?.get(`${vertex.index}:${i}`),
          sendOperatorEvent: (operatorId, subtask, event) =>
            master.onOperatorEvent(operatorId, subtask, event),
          collect: (collectId, records, commit) => master.onCollect(collectId, records, commit),
        });
      }),
    );
    const taskOf = (operatorId: OperatorId, subtask: number): Task | undefined => {
      const vertex = jobGraph.vertices.find((v) => v.chain.some((n) => n.operatorId === operatorId));
      return vertex ? tasks[vertex.index]![subtask] : undefined;
    };
    for (const row of tasks) for (const task of row) task.start();
    const all = () => tasks.flat();
    return {
      cancel: () => {
        for (const task of all()) task.cancel();
      },
      triggerCheckpoint: (vertexIndex, subtask, checkpointId, timestamp) =>
        tasks[vertexIndex]?.[subtask]?.triggerCheckpoint(checkpointId, timestamp),
      notifyCheckpointComplete: (checkpointId) => {
        for (const task of all()) task.notifyCheckpointComplete(checkpointId);
      },
      notifyCheckpointAborted: (checkpointId) => {
        for (const task of all()) task.notifyCheckpointAborted(checkpointId);
      },
      finishAll: () => {
        for (const task of all()) task.finishAfterEnd();
      },
      sendOperatorEvent: (operatorId: OperatorId, subtask: number, event: OperatorEvent) =>
        taskOf(operatorId, subtask)?.deliverOperatorEvent(operatorId, event),
      metrics: (): VertexMetrics[] =>
        jobGraph.vertices.map((vertex) => {
          const row = tasks[vertex.index]!;
          let recordsIn = 0;
          let recordsOut = 0;
          let bytesOut = 0;
          let maxInputChannelBytes = 0;
          let maxOutputChannelBytes = 0;
          for (const task of row) {
            recordsIn += task.recordsIn;
            for (const ch of task.deployment.inputGate?.channels ?? [])
              maxInputChannelBytes = Math.max(maxInputChannelBytes, ch.maxBufferedBytes);
            for (const w of task.deployment.writers.values()) {
              recordsOut += w.recordsOut;
              for (const sp of w.partition.subpartitions) {
                bytesOut += sp.sentBytes;
                maxOutputChannelBytes = Math.max(maxOutputChannelBytes, sp.maxQueuedBytes);
              }
            }
          }
          return {
            name: vertex.name,
            parallelism: vertex.parallelism,
            recordsIn,
            recordsOut,
            bytesOut,
            maxInputChannelBytes,
            maxOutputChannelBytes,
          };
        }),
      accumulators: (): AccumulatorRegistry[] => tasks.flat().map((t) => t.accumulators),
    };
  }
}
