/** The split enumerators of one deployment of a job: created, restored, snapshotted and closed together. */
import type { OperatorId } from '../core/ids.js';
import type { Logger } from '../core/log.js';
import { MsgpackSerializer } from '../core/serializer.js';
import type { JobVertex } from '../graph/job-graph.js';
import type { OperatorEvent } from '../runtime/stream-operator.js';
import type { OperatorFactory } from '../api/operators/stream-operator.js';
import type { SourceSplit } from '../api/source/source.js';
import type { SubtaskAddress } from './job-master-gateway.js';
import { SourceCoordinator } from './source-coordinator.js';

/** The master state name a source's enumerator is checkpointed under. */
export const enumeratorStateName = (operatorId: OperatorId): string => `enumerator:${operatorId}`;

/** A source coordinator per source vertex of the job, by the source operator's id. */
export class SourceCoordinators {
  private readonly serializer = new MsgpackSerializer<unknown>();

  private constructor(
    private readonly vertices: readonly JobVertex<OperatorFactory>[],
    private coordinators: Map<OperatorId, SourceCoordinator<SourceSplit>>,
    private readonly log: Logger,
  ) {}

  /** No enumerators (before the first deployment). */
  static none(vertices: readonly JobVertex<OperatorFactory>[], log: Logger): SourceCoordinators {
    return new SourceCoordinators(vertices, new Map(), log);
  }

  /** A coordinator for every source vertex; `send` relays its events to the reader subtasks. */
  static create(
    vertices: readonly JobVertex<OperatorFactory>[],
    send: (operatorId: OperatorId, subtask: number, event: OperatorEvent) => void,
    log: Logger,
  ): SourceCoordinators {
    const coordinators = new Map<OperatorId, SourceCoordinator<SourceSplit>>();
    for (const vertex of vertices) {
      const head = vertex.chain[0]!;
      if (!head.transformation.operator.source) continue;
      coordinators.set(
        head.operatorId,
        new SourceCoordinator(head.transformation.operator.source, vertex.parallelism, (subtask, event) =>
          send(head.operatorId, subtask, event),
        ),
      );
    }
    return new SourceCoordinators(vertices, coordinators, log);
  }

  /** Starts every enumerator, restoring those whose state `masterStates` holds. */
  start(masterStates: ReadonlyMap<string, Uint8Array> | undefined): void {
    for (const [operatorId, c] of this.coordinators) {
      const bytes = masterStates?.get(enumeratorStateName(operatorId));
      c.start(bytes === undefined ? undefined : this.serializer.deserialize(bytes, 0, bytes.length));
    }
  }

  /** The enumerators' states for checkpoint `checkpointId`, as master states. */
  snapshot(checkpointId: number): { name: string; data: Uint8Array }[] {
    const out = [];
    for (const [operatorId, c] of this.coordinators) {
      const bytes = this.serializer.serialize(c.snapshotState(checkpointId));
      out.push({ name: enumeratorStateName(operatorId), data: bytes.slice() });
    }
    return out;
  }

  notifyCheckpointComplete(checkpointId: number): void {
    for (const c of this.coordinators.values()) c.notifyCheckpointComplete(checkpointId);
  }

  /** Hands a reader's event to its source's enumerator (which may throw: user code). */
  handleEventFromOperator(operatorId: OperatorId, subtask: number, event: OperatorEvent): void {
    this.coordinators.get(operatorId)?.handleEventFromOperator(subtask, event);
  }

  /**
   * The readers among `subtasks` are being restarted from checkpoint `checkpointId` (undefined:
   * from scratch): their enumerators take back what was assigned since. Returns a function that
   * registers them again once they are deployed.
   */
  resetReaders(subtasks: readonly SubtaskAddress[], checkpointId: number | undefined): () => void {
    const readers: { coordinator: SourceCoordinator<SourceSplit>; subtask: number }[] = [];
    for (const { vertexIndex, subtask } of subtasks) {
      const head = this.vertices[vertexIndex]!.chain[0]!;
      const coordinator = this.coordinators.get(head.operatorId);
      if (!coordinator) continue;
      coordinator.subtaskReset(subtask, checkpointId);
      readers.push({ coordinator, subtask });
    }
    return () => {
      for (const { coordinator, subtask } of readers) coordinator.addReader(subtask);
    };
  }

  /** Closes every enumerator (a failing one is logged); none are left. */
  close(): void {
    for (const c of this.coordinators.values()) {
      try {
        c.close();
      } catch (e) {
        this.log.warn({ err: e }, 'closing a split enumerator failed');
      }
    }
    this.coordinators = new Map();
  }
}
