/** Builds a vertex's operator chain for one subtask: operators wired by direct call. */
import type { JobId, OperatorId } from '../core/ids.js';
import { MsgpackSerializer } from '../core/serializer.js';
import type { TypeRegistry } from '../core/type-registry.js';
import { computeKeyGroupRangeForOperatorIndex } from '../core/key-groups.js';
import type { JobEdge, JobVertex } from '../graph/job-graph.js';
import type {
  JobSettings,
  Output,
  ProcessingTimeService,
  StreamOperator,
  StreamOperatorFactory,
  TaskServices,
} from './stream-operator.js';
import { createKeyedStateBackend } from '../state/state-backend-factory.js';
import type { StateBackendSettings } from '../state/state-backend.js';
import type { KeyedStateBackend } from '../state/keyed-state-backend.js';
import { OperatorStateBackend } from '../state/operator-state-backend.js';
import type { RecordWriter } from './record-writer.js';
import { ElementTimestamp } from './element-timestamp.js';

/** Sends each record to several outputs (an operator with more than one consumer). */
class FanOutOutput implements Output<unknown> {
  constructor(private readonly outputs: readonly Output<unknown>[]) {}
  collect(record: unknown): void {
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i]!.collect(record);
  }
  emitWatermark(watermark: number): void {
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i]!.emitWatermark(watermark);
  }
}

/**
 * An operator's output when it also has side outputs: records go to the main consumers only,
 * watermarks to every consumer, side outputs' included (as Flink's chain broadcasts them).
 */
class MainAndSideOutput implements Output<unknown> {
  constructor(
    private readonly main: Output<unknown>,
    private readonly sides: readonly Output<unknown>[],
  ) {}
  collect(record: unknown): void {
    this.main.collect(record);
  }
  emitWatermark(watermark: number): void {
    this.main.emitWatermark(watermark);
    for (let i = 0; i < this.sides.length; i++) this.sides[i]!.emitWatermark(watermark);
  }
}

function fanOut(outputs: readonly Output<unknown>[]): Output<unknown> {
  return outputs.length === 0 ? NO_OUTPUT : outputs.length === 1 ? outputs[0]! : new FanOutOutput(outputs);
}

/** Drops records and watermarks (the output of a sink). */
const NO_OUTPUT: Output<unknown> = { collect: () => {}, emitWatermark: () => {} };

/** One operator of a subtask's chain with the state backends it owns. */
export interface ChainedOperator {
  readonly operatorId: OperatorId;
  readonly operator: StreamOperator;
  readonly keyedStateBackend: KeyedStateBackend | undefined;
  readonly operatorStateBackend: OperatorStateBackend;
}

/** The chain of one subtask: operators head first. */
export interface OperatorChain {
  readonly operators: readonly StreamOperator[];
  readonly head: StreamOperator;
  readonly entries: readonly ChainedOperator[];
  /** The timestamp of the record passing through the chain (set by the task per record read). */
  readonly elementTimestamp: ElementTimestamp;
}

/** What building a chain needs from the task. */
export interface ChainContext {
  readonly jobId: JobId;
  readonly vertex: JobVertex<StreamOperatorFactory>;
  readonly subtaskIndex: number;
  readonly attemptNumber: number;
  readonly writers: ReadonlyMap<JobEdge<StreamOperatorFactory>, RecordWriter>;
  readonly timeService: ProcessingTimeService;
  readonly services: TaskServices;
  readonly checkpointingEnabled: boolean;
  readonly job?: JobSettings | undefined;
  /** The keyed state backend keyed operators get (absent: the heap). */
  readonly stateBackend?: StateBackendSettings | undefined;
  /** The job's registered classes: the state backends' default serializer keeps their instances' class. */
  readonly types?: TypeRegistry | undefined;
}

/** Creates, wires and sets up the operators of `ctx.vertex` for one subtask. */
export function buildOperatorChain(ctx: ChainContext): OperatorChain {
  const { vertex } = ctx;
  const operators = new Map(vertex.chain.map((node) => [node, node.transformation.operator.create()]));
  const writerOf = new Map([...ctx.writers].map(([edge, writer]) => [edge.streamEdge, writer]));
  const entries: ChainedOperator[] = [];
  const elementTimestamp = new ElementTimestamp();
  for (const writer of ctx.writers.values()) writer.bindElementTimestamp(elementTimestamp);
  for (const node of vertex.chain) {
    const consumer = (e: (typeof node.outEdges)[number]): Output<unknown> =>
      operators.get(e.target) ?? writerOf.get(e)!;
    const main = fanOut(node.outEdges.filter((e) => !e.sideOutput).map(consumer));
    const byTag = new Map<string, Output<unknown>[]>();
    for (const e of node.outEdges) {
      if (!e.sideOutput) continue;
      const list = byTag.get(e.sideOutput.tagId) ?? [];
      list.push(consumer(e));
      byTag.set(e.sideOutput.tagId, list);
    }
    const sideOutputs = new Map([...byTag].map(([tag, list]) => [tag, fanOut(list)]));
    const output = sideOutputs.size === 0 ? main : new MainAndSideOutput(main, [...sideOutputs.values()]);
    // The serializer of state whose descriptor names none (and of keys).
    const defaultSerializer = new MsgpackSerializer({
      types: ctx.types,
      subject: `state of operator '${node.name}'`,
    });
    const uid = node.transformation.uid;
    // Names the operator in state errors (a restore that cannot read a state names its uid).
    const owner = `operator '${node.name}' (${uid === undefined ? `id ${node.operatorId}` : `uid '${uid}'`})`;
    let keyedStateBackend: KeyedStateBackend | undefined;
    if (node.transformation.keySelector) {
      const { timeService } = ctx;
      keyedStateBackend = createKeyedStateBackend(ctx.stateBackend, {
        defaultSerializer,
        owner,
        ttlTimeProvider: () => timeService.getCurrentProcessingTime(),
        maxParallelism: node.maxParallelism,
        keyGroupRange: computeKeyGroupRangeForOperatorIndex(
          node.maxParallelism,
          node.parallelism,
          ctx.subtaskIndex,
        ),
      });
    }
    const operatorStateBackend = new OperatorStateBackend({ defaultSerializer, owner });
    entries.push({
      operatorId: node.operatorId,
      operator: operators.get(node)!,
      keyedStateBackend,
      operatorStateBackend,
    });
    operators.get(node)!.setup(
      {
        jobId: ctx.jobId,
        operatorId: node.operatorId,
        operatorName: node.name,
        taskName: vertex.name,
        subtaskIndex: ctx.subtaskIndex,
        parallelism: node.parallelism,
        maxParallelism: node.maxParallelism,
        attemptNumber: ctx.attemptNumber,
        keyedStateBackend,
        operatorStateBackend,
        checkpointingEnabled: ctx.checkpointingEnabled,
        timeService: ctx.timeService,
        services: ctx.services,
        elementTimestamp,
        job: ctx.job,
        sideOutputs,
      },
      output,
    );
  }
  const ordered = vertex.chain.map((n) => operators.get(n)!);
  return { operators: ordered, head: ordered[0]!, entries, elementTimestamp };
}
