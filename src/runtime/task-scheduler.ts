/**
 * Runs the tasks of one TaskManager on its single event loop: a run queue of tasks that have
 * work, each given one slice at a time, round-robin, yielding to I/O and timers every few
 * milliseconds. A task with nothing to do is not in the queue and costs nothing.
 */

/** Something the scheduler can run a slice of. */
export interface Schedulable {
  /** True while in the run queue. */
  scheduled: boolean;
  /** Does a bounded amount of work; reschedules itself if it has more. */
  runSlice(): void;
}

/** How long one turn of the event loop may run tasks before yielding. */
const TURN_MS = 8;

/** The run queue of one TaskManager. */
export class TaskScheduler {
  private queue: Schedulable[] = [];
  private head = 0;
  private turnPending = false;

  /** Puts `task` in the run queue (no-op if already there). */
  schedule(task: Schedulable): void {
    if (task.scheduled) return;
    task.scheduled = true;
    this.queue.push(task);
    if (!this.turnPending) {
      this.turnPending = true;
      setImmediate(this.turn);
    }
  }

  private readonly turn = (): void => {
    this.turnPending = false;
    const deadline = performance.now() + TURN_MS;
    while (this.head < this.queue.length) {
      const task = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Schedulable;
      task.scheduled = false;
      task.runSlice();
      if (performance.now() >= deadline) break;
    }
    if (this.head >= this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else {
      if (this.head > 256) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      // A task rescheduled during this turn may already have asked for the next one.
      if (!this.turnPending) {
        this.turnPending = true;
        setImmediate(this.turn);
      }
    }
  };
}
