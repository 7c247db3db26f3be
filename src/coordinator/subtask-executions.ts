/** Where each subtask of a job stands: its current execution's attempt and state, and whether it ended its input. */
import type { Clock } from '../core/clock.js';
import type { JobVertex } from '../graph/job-graph.js';
import { isTerminal, type ExecutionState } from '../runtime/task.js';
import type { TaskRef } from './checkpoint-coordinator.js';
import type { SubtaskAddress } from './job-master-gateway.js';

/** The tasks a checkpoint triggers and the tasks it waits for. */
export interface CheckpointTaskPlan {
  readonly trigger: TaskRef[];
  readonly ack: TaskRef[];
}

/**
 * The JobMaster's view of its subtasks (Flink's execution vertices), by vertex index then subtask.
 * A report counts only for the subtask's current execution: a failover moves the subtasks it
 * restarts to a new attempt, so reports of the cancelled executions are recognised as stale.
 */
export class SubtaskExecutions {
  private states: ExecutionState[][] = [];
  /** When each subtask entered its current state (ms since the epoch). */
  private stateSince: number[][] = [];
  /** When each subtask's current execution was deployed; undefined before. */
  private deployedAt: (number | undefined)[][] = [];
  private attempts: number[][] = [];
  private ended: boolean[][] = [];
  private endedCount = 0;
  private finishedCount = 0;

  constructor(
    private readonly vertices: readonly JobVertex<unknown>[],
    private readonly clock: Clock,
  ) {}

  /** Every subtask starts over as a new execution of `attempt` (a deployment of the whole job). */
  deployAll(attempt: number): void {
    this.states = this.vertices.map((v) => new Array<ExecutionState>(v.parallelism).fill('CREATED'));
    this.stateSince = this.vertices.map((v) => new Array<number>(v.parallelism).fill(this.clock.now()));
    this.deployedAt = this.vertices.map((v) => new Array<number | undefined>(v.parallelism).fill(undefined));
    this.attempts = this.vertices.map((v) => new Array<number>(v.parallelism).fill(attempt));
    this.ended = this.vertices.map((v) => new Array<boolean>(v.parallelism).fill(false));
    this.endedCount = 0;
    this.finishedCount = 0;
  }

  /** Whether the subtask's current execution belongs to `attempt`. */
  isCurrent(vertexIndex: number, subtask: number, attempt: number): boolean {
    return this.attempts[vertexIndex]?.[subtask] === attempt;
  }

  /** Whether any subtask's current execution belongs to `attempt`. */
  hasAttempt(attempt: number): boolean {
    return this.attempts.some((row) => row.includes(attempt));
  }

  /** Records a subtask's new state; false when the subtask is unknown (no deployment yet). */
  setState(vertexIndex: number, subtask: number, state: ExecutionState): boolean {
    const row = this.states[vertexIndex];
    if (!row) return false;
    if (row[subtask] === state) return true;
    row[subtask] = state;
    this.stateSince[vertexIndex]![subtask] = this.clock.now();
    return true;
  }

  /** Every subtask (undefined) or these subtasks were handed to the TaskManagers at `at`. */
  deployed(at: number, subtasks?: readonly SubtaskAddress[]): void {
    if (!subtasks) for (const row of this.deployedAt) row.fill(at);
    else for (const { vertexIndex, subtask } of subtasks) this.deployedAt[vertexIndex]![subtask] = at;
  }

  /** Counts one more FINISHED subtask; true once every subtask finished. */
  noteFinished(): boolean {
    return ++this.finishedCount === this.total;
  }

  /**
   * Marks a subtask's input as ended: `stale` if it was ended already or is unknown, `all-ended`
   * when it was the last one.
   */
  noteEnded(vertexIndex: number, subtask: number): 'stale' | 'ended' | 'all-ended' {
    const row = this.ended[vertexIndex];
    if (row?.[subtask] !== false) return 'stale';
    row[subtask] = true;
    return ++this.endedCount === this.total ? 'all-ended' : 'ended';
  }

  /** Whether every subtask ended its input. */
  get allEnded(): boolean {
    return this.endedCount === this.total;
  }

  /** Whether every subtask is RUNNING. */
  get allRunning(): boolean {
    return this.states.every((row) => row.every((s) => s === 'RUNNING'));
  }

  /** How many subtasks the job has. */
  get total(): number {
    return this.states.reduce((n, v) => n + v.length, 0);
  }

  /**
   * These subtasks (failed-over regions) move to the new execution `attempt`: cancelled until
   * redeployed, not ended, and no longer counted as finished.
   */
  restart(subtasks: readonly SubtaskAddress[], attempt: number): void {
    for (const { vertexIndex, subtask } of subtasks) {
      this.attempts[vertexIndex]![subtask] = attempt;
      this.setState(vertexIndex, subtask, 'CANCELED');
      if (this.ended[vertexIndex]![subtask]) this.endedCount--;
      this.ended[vertexIndex]![subtask] = false;
    }
    this.finishedCount = this.states.reduce((n, row) => n + row.filter((s) => s === 'FINISHED').length, 0);
  }

  /** These subtasks are being deployed again. */
  redeploying(subtasks: readonly SubtaskAddress[]): void {
    for (const { vertexIndex, subtask } of subtasks) {
      this.setState(vertexIndex, subtask, 'CREATED');
      this.deployedAt[vertexIndex]![subtask] = undefined;
    }
  }

  /** The whole job was cancelled for a failover: every report from now on is stale. */
  cancelAll(): void {
    for (const row of this.attempts) row.fill(-1);
    this.endTasks();
  }

  /**
   * Every task not ended yet is cancelled now (the job failed over or ended): as in Flink, a job
   * leaves no task RUNNING behind, whether or not its TaskManager reports the cancellation.
   */
  endTasks(): void {
    this.states.forEach((row, v) =>
      row.forEach((state, s) => {
        if (!isTerminal(state)) this.setState(v, s, 'CANCELED');
      }),
    );
  }

  /**
   * The tasks of a checkpoint: every task acknowledges; sources and tasks that ended are
   * triggered. Undefined while a task is not RUNNING or once every task ended.
   */
  checkpointPlan(afterEnd = false): CheckpointTaskPlan | undefined {
    const trigger: TaskRef[] = [];
    const ack: TaskRef[] = [];
    for (const v of this.vertices)
      for (let s = 0; s < v.parallelism; s++) {
        if (this.states[v.index]![s] !== 'RUNNING') return undefined;
        const ref = { key: `${v.index}:${s}`, vertexIndex: v.index, subtask: s };
        ack.push(ref);
        // Sources start barriers; tasks that ended get no more barriers, so they are triggered too.
        if (v.inputs.length === 0 || this.ended[v.index]![s]) trigger.push(ref);
      }
    // A drained stop-with-savepoint is taken of tasks that all ended (`afterEnd`).
    if (this.endedCount === ack.length && !afterEnd) return undefined;
    return { trigger, ack };
  }

  /** The execution state of every subtask of the current attempt. */
  get executionStates(): readonly (readonly ExecutionState[])[] {
    return this.states;
  }

  /** When each subtask entered its current state (ms since the epoch). */
  get stateTimestamps(): readonly (readonly number[])[] {
    return this.stateSince;
  }

  /** When each subtask's current execution was deployed; undefined while it was not. */
  get deploymentTimestamps(): readonly (readonly (number | undefined)[])[] {
    return this.deployedAt;
  }

  /** The attempt of each subtask's current execution. */
  get attemptNumbers(): readonly (readonly number[])[] {
    return this.attempts;
  }
}
