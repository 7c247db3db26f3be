/** Manual checkpoint and savepoint triggers by (job, trigger id), kept 5 minutes after they end (Flink's CompletedOperationCache). */
import type { RestCheckpointOutcome } from './rest-backend.js';

/** How long a finished operation's result can be fetched (Flink's `rest.async.store-duration`, 5 min). */
const STORE_DURATION_MS = 5 * 60_000;

/** What an operation that threw ended with (triggers resolve their own failures; this is the backstop). */
interface ThrownOperation {
  readonly kind: 'failed';
  readonly error: Error;
}

interface Operation<O> {
  outcome: O | ThrownOperation | undefined;
  endedAt: number | undefined;
}

/** The checkpoint (or, with `O`, savepoint) operations of one REST server. */
export class CheckpointTriggerCache<O = RestCheckpointOutcome> {
  private readonly operations = new Map<string, Operation<O>>();

  constructor(private readonly now: () => number) {}

  /**
   * Starts `trigger` under (jobId, triggerId) unless an operation with that key exists already:
   * a client retrying with its own trigger id does not start a second checkpoint.
   */
  register(jobId: string, triggerId: string, trigger: () => Promise<O>): void {
    this.evictExpired();
    const key = `${jobId}/${triggerId}`;
    if (this.operations.has(key)) return;
    const operation: Operation<O> = { outcome: undefined, endedAt: undefined };
    this.operations.set(key, operation);
    const end = (outcome: O | ThrownOperation) => {
      operation.outcome = outcome;
      operation.endedAt = this.now();
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
    return operation.outcome ?? 'in-progress';
  }

  private evictExpired(): void {
    const now = this.now();
    for (const [key, op] of this.operations)
      if (op.endedAt !== undefined && now - op.endedAt > STORE_DURATION_MS) this.operations.delete(key);
  }
}
