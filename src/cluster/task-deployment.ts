/**
 * Builds and wires the tasks of one deployment attempt that run in this process: every subtask
 * for the inline TaskManager, a TaskManager's share of them in a cluster. Channels between two
 * local tasks use the in-memory transport; a channel with a remote end goes through `remote`.
 */
import type { Clock } from '../core/clock.js';
import type { JobId, OperatorId } from '../core/ids.js';
import { MsgpackSerializer, type TypeSerializer } from '../core/serializer.js';
import type { TypeRegistry } from '../core/type-registry.js';
import { MIN_WATERMARK } from '../core/watermark.js';
import type { AccumulatorRegistry } from '../core/accumulator.js';
import type { PipelineSubmission, VertexMetrics } from '../api/execution.js';
import type { OperatorFactory } from '../api/operators/stream-operator.js';
import type { JobSettings, OperatorEvent } from '../runtime/stream-operator.js';
import type { JobMasterGateway, SubtaskAddress } from '../coordinator/job-master-gateway.js';
import type { JobEdge } from '../graph/job-graph.js';
import type { SavepointTarget } from '../protocol/snapshot-kind.js';
import { connectInMemory } from '../network/in-memory-transport.js';
import type { TaskCheckpointGateway, TaskRestoreState } from '../runtime/checkpoint-gateway.js';
import { createChannelSelector } from '../runtime/channel-selector.js';
import { consumersOf, producersOf } from '../runtime/channel-wiring.js';
import { InputGate, type InputChannel } from '../runtime/input-gate.js';
import { RecordWriter } from '../runtime/record-writer.js';
import { ResultPartition, type ResultSubpartition } from '../runtime/result-partition.js';
import { Task } from '../runtime/task.js';
import type { TaskScheduler } from '../runtime/task-scheduler.js';
import type { TaskLocalStateStore } from '../runtime/task-local-state-store.js';

/**
 * The serializer records of an edge cross with, as used by producer subtask `subtask`: the
 * producer's own (its side output tag's for a side output), or msgpack with the job's registered classes.
 */
function serializerOf(
  edge: JobEdge<OperatorFactory>,
  subtask: number,
  types: TypeRegistry | undefined,
): TypeSerializer<unknown> {
  const producer = edge.streamEdge.source;
  const sideOutput = edge.streamEdge.sideOutput;
  return (
    (sideOutput ? sideOutput.serializer : producer.transformation.serializer) ??
    new MsgpackSerializer({
      forRecords: true,
      types,
      subject: `a record of operator '${producer.name}' (subtask ${subtask + 1}/${producer.parallelism})`,
      root: 'record',
    })
  );
}

/**
 * How records a collect sink hands to the client (executeAndCollect) cross the control plane on
 * a cluster: serialized as the job's records are, so registered classes keep their class there too.
 */
export function collectedRecordsSerializer(
  submission: PipelineSubmission,
): MsgpackSerializer<readonly unknown[]> {
  return new MsgpackSerializer({
    types: submission.types,
    subject: 'the records collected for executeAndCollect()',
    root: 'records',
  });
}

/** How channels with one end in another process are connected (the TCP data plane). */
export interface RemoteChannels {
  /** Offers local `producer`'s subpartition to its remote consumer under `channelKey`. */
  serve(channelKey: string, subpartition: ResultSubpartition, producer: SubtaskAddress): void;
  /** Feeds an input channel of local `consumer` from the remote `producer`. */
  subscribe(
    channel: InputChannel,
    producer: SubtaskAddress,
    channelKey: string,
    credits: number,
    consumer: SubtaskAddress,
  ): void;
}

/** What `deployTasks` needs. */
export interface TaskGroupSettings {
  /** The job id the JobMaster knows (a TaskManager's rebuilt graph carries its own). */
  readonly jobId: JobId;
  readonly submission: PipelineSubmission;
  readonly attemptNumber: number;
  readonly scheduler: TaskScheduler;
  readonly clock: Clock;
  /**
   * Whether subtask `subtask` of vertex `vertexIndex` is deployed here by this call. A partial
   * deployment (a region failover) lists a set closed under channels, so every channel of a
   * listed subtask leads to another listed subtask, here or remote.
   */
  readonly isLocal: (vertexIndex: number, subtask: number) => boolean;
  /** Required when some subtask is not local. */
  readonly remote?: RemoteChannels;
  readonly master: JobMasterGateway;
  readonly checkpointing: ((vertexIndex: number, subtask: number) => TaskCheckpointGateway) | undefined;
  /** Restore state by `${vertexIndex}:${subtask}`. */
  readonly restore: ReadonlyMap<string, TaskRestoreState> | undefined;
  /** The task-local state store of a subtask (local recovery); absent or undefined: none. */
  readonly localState?: (vertexIndex: number, subtask: number) => TaskLocalStateStore | undefined;
}

/** The key of one channel of one attempt, unique in the cluster (a restarted attempt gets new keys). */
export function channelKey(
  jobId: JobId,
  attempt: number,
  edgeIndex: number,
  producer: number,
  consumer: number,
): string {
  return `${jobId}/${attempt}/${edgeIndex}/${producer}-${consumer}`;
}

/** The tasks of one attempt in this process, by vertex index then subtask (absent where remote). */
export class TaskGroup {
  /** Serializes what the collect sinks of these tasks send to the client. */
  readonly collected: MsgpackSerializer<readonly unknown[]>;

  constructor(
    readonly jobId: JobId,
    readonly attemptNumber: number,
    readonly submission: PipelineSubmission,
    readonly tasks: readonly (readonly (Task | undefined)[])[],
  ) {
    this.collected = collectedRecordsSerializer(submission);
  }

  /** Every task of the attempt here. */
  all(): Task[] {
    const out: Task[] = [];
    for (const row of this.tasks) for (const task of row) if (task) out.push(task);
    return out;
  }

  start(): void {
    for (const task of this.all()) task.start();
  }

  triggerCheckpoint(
    vertexIndex: number,
    subtask: number,
    checkpointId: number,
    timestamp: number,
    savepoint?: SavepointTarget,
  ): void {
    this.tasks[vertexIndex]?.[subtask]?.triggerCheckpoint(checkpointId, timestamp, savepoint);
  }

  sendOperatorEvent(operatorId: OperatorId, subtask: number, event: OperatorEvent): void {
    const vertex = vertexOfOperator(this.submission.jobGraph.vertices, operatorId);
    if (vertex) this.tasks[vertex.index]?.[subtask]?.deliverOperatorEvent(operatorId, event);
  }
}

/**
 * The tasks of one job in this process, over its attempts. After a region failover the restarted
 * subtasks run as a newer attempt beside the untouched ones, so one job holds several groups.
 */
export class JobTasks {
  private readonly groups = new Map<number, TaskGroup>();

  constructor(private readonly submission: PipelineSubmission) {}

  /** Adds a newer attempt's tasks, and forgets older attempts whose every subtask it replaced. */
  add(group: TaskGroup): void {
    this.groups.set(group.attemptNumber, group);
    for (const [attempt, older] of this.groups)
      if (older.all().every((t) => this.current(t.deployment.vertex.index, t.deployment.subtaskIndex) !== t))
        this.groups.delete(attempt);
  }

  /** The tasks of attempt `attemptNumber` (undefined once none of them is here any more). */
  group(attemptNumber: number): TaskGroup | undefined {
    return this.groups.get(attemptNumber);
  }

  remove(group: TaskGroup): void {
    if (this.groups.get(group.attemptNumber) === group) this.groups.delete(group.attemptNumber);
  }

  get attempts(): readonly TaskGroup[] {
    return [...this.groups.values()];
  }

  /** The newest execution of a subtask here. */
  current(vertexIndex: number, subtask: number): Task | undefined {
    let newest: Task | undefined;
    for (const group of this.groups.values()) {
      const task = group.tasks[vertexIndex]?.[subtask];
      if (task && (!newest || task.deployment.attemptNumber > newest.deployment.attemptNumber)) newest = task;
    }
    return newest;
  }

  /** Every task of every attempt here. */
  all(): Task[] {
    return [...this.groups.values()].flatMap((g) => g.all());
  }

  /** Cancels the listed subtasks (keys `${vertexIndex}:${subtask}`) in every attempt, or all. */
  cancel(subtasks?: ReadonlySet<string>): void {
    for (const task of this.all())
      if (!subtasks || subtasks.has(`${task.deployment.vertex.index}:${task.deployment.subtaskIndex}`))
        task.cancel();
  }

  notifyCheckpointComplete(checkpointId: number): void {
    for (const task of this.all()) task.notifyCheckpointComplete(checkpointId);
  }

  notifyCheckpointAborted(checkpointId: number): void {
    for (const task of this.all()) task.notifyCheckpointAborted(checkpointId);
  }

  finishAll(): void {
    for (const task of this.all()) task.finishAfterEnd();
  }

  endSourceInput(): void {
    for (const task of this.all()) task.endSourceInput();
  }

  /** Counters of the newest execution of each subtask here, summed per vertex. */
  metrics(): VertexMetrics[] {
    return this.submission.jobGraph.vertices.map((vertex) =>
      vertexMetrics(vertex, (s) => {
        const task = this.current(vertex.index, s);
        return task && subtaskCounters(task);
      }),
    );
  }

  /** The accumulators of the newest execution of each subtask (older ones were restarted away). */
  accumulators(): AccumulatorRegistry[] {
    const out: AccumulatorRegistry[] = [];
    for (const vertex of this.submission.jobGraph.vertices)
      for (let s = 0; s < vertex.parallelism; s++) {
        const task = this.current(vertex.index, s);
        if (task) out.push(task.accumulators);
      }
    return out;
  }
}

/** One subtask's counters, as a TaskManager reports them. */
export interface SubtaskCounters {
  readonly recordsIn: number;
  readonly recordsOut: number;
  /** Bytes of records read from the network. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly maxInputChannelBytes: number;
  readonly maxOutputChannelBytes: number;
  /** State files its restore read from task-local copies (local recovery). */
  readonly restoredFilesLocal: number;
  /** State files its restore read from checkpoint storage. */
  readonly restoredFilesRemote: number;
  /** The last watermark its chain's head processed (Flink's `currentInputWatermark`). */
  readonly currentInputWatermark: number;
  /** Milliseconds busy, idle and back-pressured since it started running (Flink's accumulated times). */
  readonly busyTimeMs: number;
  readonly idleTimeMs: number;
  readonly backPressuredTimeMs: number;
  /** Letters waiting in its mailbox. */
  readonly mailboxSize: number;
  /** The newest checkpoint's alignment time and start delay, in nanoseconds (Flink's gauges; 0 before the first). */
  readonly checkpointAlignmentTimeNanos: number;
  readonly checkpointStartDelayNanos: number;
  /** Per-second rates over the last minute (Flink's meters and time gauges). */
  readonly numRecordsInPerSecond: number;
  readonly numRecordsOutPerSecond: number;
  readonly numBytesInPerSecond: number;
  readonly numBytesOutPerSecond: number;
  readonly busyTimeMsPerSecond: number;
  readonly idleTimeMsPerSecond: number;
  readonly backPressuredTimeMsPerSecond: number;
}

const NANOS_PER_MS = 1_000_000;

/** The counters of one task now. */
export function subtaskCounters(task: Task): SubtaskCounters {
  let recordsOut = 0;
  let bytesOut = 0;
  let maxInputChannelBytes = 0;
  let maxOutputChannelBytes = 0;
  for (const ch of task.deployment.inputGate?.channels ?? [])
    maxInputChannelBytes = Math.max(maxInputChannelBytes, ch.maxBufferedBytes);
  for (const w of task.deployment.writers.values()) {
    recordsOut += w.recordsOut;
    for (const sp of w.partition.subpartitions) {
      bytesOut += sp.sentBytes;
      maxOutputChannelBytes = Math.max(maxOutputChannelBytes, sp.maxQueuedBytes);
    }
  }
  const now = performance.now();
  const io = task.ioTime;
  const recordsIn = task.recordsIn;
  const bytesIn = task.bytesIn;
  const busyTimeMs = io.busyMs(now);
  const idleTimeMs = io.idleMs(now);
  const backPressuredTimeMs = io.backPressuredMs(now);
  const since = io.runningSince;
  const arrival = task.lastCheckpointArrival;
  const rates =
    since < 0
      ? [0, 0, 0, 0, 0, 0, 0]
      : task.meters.rates(
          now,
          [recordsIn, recordsOut, bytesIn, bytesOut, busyTimeMs, idleTimeMs, backPressuredTimeMs],
          since,
        );
  const counters: SubtaskCounters & Record<string, number> = {
    recordsIn,
    recordsOut,
    bytesIn,
    bytesOut,
    maxInputChannelBytes,
    maxOutputChannelBytes,
    restoredFilesLocal: task.restoredFiles.local,
    restoredFilesRemote: task.restoredFiles.remote,
    currentInputWatermark: task.currentInputWatermark,
    busyTimeMs,
    idleTimeMs,
    backPressuredTimeMs,
    mailboxSize: task.mailboxSize,
    checkpointAlignmentTimeNanos: Math.round((arrival?.alignmentDurationMs ?? 0) * NANOS_PER_MS),
    checkpointStartDelayNanos: Math.round((arrival?.startDelayMs ?? 0) * NANOS_PER_MS),
    numRecordsInPerSecond: rates[0]!,
    numRecordsOutPerSecond: rates[1]!,
    numBytesInPerSecond: rates[2]!,
    numBytesOutPerSecond: rates[3]!,
    // Rounded as Flink's TimerGauge reports whole milliseconds, and capped at a second per second.
    busyTimeMsPerSecond: Math.min(1000, Math.round(rates[4]!)),
    idleTimeMsPerSecond: Math.min(1000, Math.round(rates[5]!)),
    backPressuredTimeMsPerSecond: Math.min(1000, Math.round(rates[6]!)),
  };
  task.collectUserMetrics(counters);
  return counters;
}

/** A vertex's metrics from its subtasks' counters: sums, and maxima for the channel fill levels. */
export function vertexMetrics(
  vertex: { readonly name: string; readonly parallelism: number },
  countersOf: (subtask: number) => Readonly<Partial<Record<keyof SubtaskCounters, number>>> | undefined,
): VertexMetrics {
  const m = {
    name: vertex.name,
    parallelism: vertex.parallelism,
    recordsIn: 0,
    recordsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    maxInputChannelBytes: 0,
    maxOutputChannelBytes: 0,
    currentInputWatermarks: new Array<number>(vertex.parallelism).fill(MIN_WATERMARK),
    subtasks: new Array<Readonly<Record<string, number>> | undefined>(vertex.parallelism).fill(undefined),
  };
  for (let s = 0; s < vertex.parallelism; s++) {
    const c = countersOf(s);
    if (!c) continue;
    m.subtasks[s] = c;
    m.currentInputWatermarks[s] = c.currentInputWatermark ?? MIN_WATERMARK;
    m.recordsIn += c.recordsIn ?? 0;
    m.recordsOut += c.recordsOut ?? 0;
    m.bytesIn += c.bytesIn ?? 0;
    m.bytesOut += c.bytesOut ?? 0;
    m.maxInputChannelBytes = Math.max(m.maxInputChannelBytes, c.maxInputChannelBytes ?? 0);
    m.maxOutputChannelBytes = Math.max(m.maxOutputChannelBytes, c.maxOutputChannelBytes ?? 0);
  }
  return m;
}

/** `${vertexIndex}:${subtask}` of each listed subtask. */
export function subtaskKeys(subtasks: readonly SubtaskAddress[]): ReadonlySet<string> {
  return new Set(subtasks.map((t) => `${t.vertexIndex}:${t.subtask}`));
}

/** The vertex whose chain holds operator `operatorId`. */
export function vertexOfOperator<
  V extends { readonly chain: readonly { readonly operatorId: OperatorId }[] },
>(vertices: readonly V[], operatorId: OperatorId): V | undefined {
  return vertices.find((v) => v.chain.some((n) => n.operatorId === operatorId));
}

/**
 * Creates the local tasks of one attempt and wires their channels (not started: call `start()`).
 * Channels are created consumer side first, so a local producer finds its local consumer.
 */
export function deployTasks(settings: TaskGroupSettings): TaskGroup {
  const { submission, isLocal, remote, master, jobId, attemptNumber } = settings;
  const { jobGraph } = submission;
  const channels = new Map<string, InputChannel>();
  const gates = jobGraph.vertices.map((vertex) =>
    Array.from({ length: vertex.parallelism }, (_, j) => {
      if (vertex.inputs.length === 0 || !isLocal(vertex.index, j)) return undefined;
      const gate = new InputGate(submission.floatingBuffersPerGate);
      for (const edge of vertex.inputs) {
        // The head operator's logical input the channel feeds: 0, or 1 for a two-input head's second.
        const inputIndex = edge.streamEdge.typeNumber === 2 ? 1 : 0;
        for (const i of producersOf(
          edge.streamEdge.partitioner,
          j,
          edge.source.parallelism,
          vertex.parallelism,
        )) {
          const channel = gate.addChannel(inputIndex, serializerOf(edge, i, submission.types));
          if (isLocal(edge.source.index, i)) channels.set(`${edge.index}:${i}:${j}`, channel);
          else
            remoteChannels(remote).subscribe(
              channel,
              { vertexIndex: edge.source.index, subtask: i },
              channelKey(jobId, attemptNumber, edge.index, i, j),
              submission.buffersPerChannel,
              { vertexIndex: vertex.index, subtask: j },
            );
        }
      }
      return gate;
    }),
  );
  const job: JobSettings = {
    jobName: jobGraph.jobName,
    runtimeMode: submission.runtimeMode ?? 'STREAMING',
    globalJobParameters: submission.globalJobParameters ?? {},
  };
  const tasks = jobGraph.vertices.map((vertex) =>
    Array.from({ length: vertex.parallelism }, (_, i) => {
      if (!isLocal(vertex.index, i)) return undefined;
      const writers = new Map<JobEdge<OperatorFactory>, RecordWriter>();
      for (const edge of vertex.outputs) {
        const consumers = consumersOf(
          edge.streamEdge.partitioner,
          i,
          vertex.parallelism,
          edge.target.parallelism,
        );
        const partition = new ResultPartition(consumers.length, submission.maxBuffersPerChannel);
        consumers.forEach((j, k) => {
          const subpartition = partition.subpartitions[k]!;
          if (isLocal(edge.target.index, j))
            connectInMemory(
              subpartition,
              channels.get(`${edge.index}:${i}:${j}`)!,
              submission.buffersPerChannel,
            );
          else
            remoteChannels(remote).serve(channelKey(jobId, attemptNumber, edge.index, i, j), subpartition, {
              vertexIndex: vertex.index,
              subtask: i,
            });
        });
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
          new RecordWriter(
            partition,
            selector,
            serializerOf(edge, i, submission.types),
            submission.segmentSize,
          ),
        );
      }
      return new Task({
        jobId,
        vertex,
        subtaskIndex: i,
        attemptNumber,
        inputGate: gates[vertex.index]![i],
        writers,
        scheduler: settings.scheduler,
        clock: settings.clock,
        bufferTimeoutMs: submission.bufferTimeoutMs,
        listener: {
          onTaskStateChanged: (_t, state, error) => master.onTaskStateChanged(vertex.index, i, state, error),
          onTaskEnded: () => master.onTaskEnded(vertex.index, i),
        },
        checkpointing: settings.checkpointing?.(vertex.index, i),
        restore: settings.restore?.get(`${vertex.index}:${i}`),
        localState: settings.localState?.(vertex.index, i),
        job,
        stateBackend: submission.stateBackend,
        types: submission.types,
        sendOperatorEvent: (operatorId, subtask, event) => master.onOperatorEvent(operatorId, subtask, event),
        collect: (collectId, records, commit) =>
          master.onCollect(vertex.index, i, collectId, records, commit),
      });
    }),
  );
  return new TaskGroup(jobId, attemptNumber, submission, tasks);
}

function remoteChannels(remote: RemoteChannels | undefined): RemoteChannels {
  if (!remote) throw new Error('a deployment with remote subtasks needs remote channels');
  return remote;
}
