/** Manual checkpoint and savepoint triggers by (job, trigger id), kept 5 minutes after they end (Flink's CompletedOperationCache). */
import type { RestCheckpointOutcome } from './rest-backend.js';

/** How long a finished operation's result can be fetched (Flink's `rest.async.store-duration`, 5 min). */
const STORE_DURATION_MS = 5 * 60_000;
/** How long closing lets the answer that read the last outcome go out. */
const ANSWER_GRACE_MS = 200;

/** What an operation that threw ended with (triggers resolve their own failures; this is the backstop). */
interface ThrownOperation {
  readonly kind: 'failed';
  readonly error: Error;
}

interface Operation<O> {
  outcome: O | ThrownOperation | undefined;
  /** Its outcome was read at least once. */
  fetched: boolean;
  endedAt: number | undefined;
}

/** The checkpoint (or, with `O`, savepoint) operations of one REST server. */
export class CheckpointTriggerCache<O = RestCheckpointOutcome> {
  private readonly operations = new Map<string, Operation<O>>();
  /** Called whenever an operation ends or its outcome is read (closeAsync waits on it). */
  private changed: (() => void) | undefined;

  constructor(private readonly now: () => number) {}

  /**
   * Starts `trigger` under (jobId, triggerId) unless an operation with that key exists already:
   * a client retrying with its own trigger id does not start a second checkpoint.
   */
  register(jobId: string, triggerId: string, trigger: () => Promise<O>): void {
    this.evictExpired();
    const key = `${jobId}/${triggerId}`;
    if (this.operations.has(key)) return;
    const operation: Operation<O> = { outcome: undefined, endedAt: undefined, fetched: false };
    this.operations.set(key, operation);
    const end = (outcome: O | ThrownOperation) => {
      operation.outcome = outcome;
      operation.endedAt = this.now();
      this.changed?.();
    };
    void trigger().then(end, (e: unknown) =>
      end({ kind: 'failed', error: e instanceof Error ? e : new Error(String(e)) }),
    );
  }

  /** The operation's state: undefined if unknown (or expired), 'in-progress', or its outcome. */
  get(jobId: string, triggerId: string): O | ThrownOperation | 'in-progress' | undefined {
    this.evictExpired();
    const operation = this.operations.get(`${jobId}/${triggerId}`);
    if (!operation) return undefined;
    if (!operation.outcome) return 'in-progress';
    operation.fetched = true;
    this.changed?.();
    return operation.outcome;
  }

  /**
   * Resolves once every operation ended and its outcome was read at least once, or after
   * `timeoutMs` (Flink's CompletedOperationCache.closeAsync): a server closing because its job
   * ended (a stop-with-savepoint) still answers the client polling for the savepoint's path.
   */
  closeAsync(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.changed = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.changed = () => {
        // The answer carrying the last outcome is still to be written when it is read.
        if ([...this.operations.values()].every((op) => op.fetched)) setTimeout(done, ANSWER_GRACE_MS);
      };
      this.changed();
    });
  }

  private evictExpired(): void {
    const now = this.now();
    for (const [key, op] of this.operations)
      if (op.endedAt !== undefined && now - op.endedAt > STORE_DURATION_MS) this.operations.delete(key);
  }
}
