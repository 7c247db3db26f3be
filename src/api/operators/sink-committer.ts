/**
 * The committing side of a two-phase-commit sink inside its sink operator (Flink's
 * `CommitterOperator` with its committable manager): holds the committables of each checkpoint in
 * operator state, commits them when the checkpoint completes, retries what the committer hands
 * back, and commits what a restored checkpoint holds again (committers are idempotent).
 */
import type { Cancellable } from '../../core/clock.js';
import { SluiceError } from '../../core/errors.js';
import type { TypeSerializer } from '../../core/serializer.js';
import { ListStateDescriptor } from '../../state/state-descriptor.js';
import type { ListState } from '../../state/state.js';
import type { CommitRequest, Committer, SupportsCommitter } from '../committer.js';

/** A committable and the checkpoint whose state holds it. */
type Stored = [checkpointId: number, committable: unknown];

/** Not yet in any checkpoint: prepared after the last barrier (the end of input). */
const UNCHECKPOINTED = Number.MAX_SAFE_INTEGER;

/** Delay before a committable handed back with retryLater is tried again without a checkpoint. */
const RETRY_DELAY_MS = 1000;

/** How much of a committable a commit failure's message quotes. */
const MAX_COMMITTABLE_CHARS = 300;

/** Wraps the sink's committable serializer with the checkpoint id (a float64 before its bytes). */
class StoredSerializer implements TypeSerializer<Stored> {
  readonly name: string;
  readonly version: number;
  constructor(private readonly inner: TypeSerializer<unknown>) {
    this.name = `sink-committable(${inner.name})`;
    this.version = inner.version;
  }
  serialize([checkpointId, committable]: Stored): Uint8Array {
    const body = this.inner.serialize(committable);
    const out = new Uint8Array(8 + body.length);
    new DataView(out.buffer).setFloat64(0, checkpointId);
    out.set(body, 8);
    return out;
  }
  deserialize(bytes: Uint8Array, start: number, end: number): Stored {
    const id = new DataView(bytes.buffer, bytes.byteOffset + start, 8).getFloat64(0);
    return [id, this.inner.deserialize(bytes, start + 8, end)];
  }
}

/** One committable's request to the committer; records what the committer said. */
class Request implements CommitRequest<unknown> {
  outcome: 'committed' | 'retry' | 'failed' = 'committed';
  failure: unknown;
  known = false;
  constructor(
    public committable: unknown,
    readonly checkpointId: number,
    private readonly retries: number,
  ) {}
  getCommittable(): unknown {
    return this.committable;
  }
  getNumberOfRetries(): number {
    return this.retries;
  }
  signalFailedWithKnownReason(reason: unknown): void {
    this.outcome = 'failed';
    this.failure = reason;
    this.known = true;
  }
  signalFailedWithUnknownReason(reason: unknown): void {
    this.outcome = 'failed';
    this.failure = reason;
  }
  retryLater(): void {
    this.outcome = 'retry';
  }
  updateAndRetryLater(committable: unknown): void {
    this.committable = committable;
    this.outcome = 'retry';
  }
  signalAlreadyCommitted(): void {
    this.outcome = 'committed';
  }
}

/** What the sink operator lends the committer: where to wait, fail and schedule. */
export interface CommitterHost {
  readonly sinkName: string;
  /** Pauses the task's input until `promise` settles; a rejection fails the task. */
  awaitAsync(promise: PromiseLike<unknown>, what: string): void;
  registerTimer(delayMs: number, callback: () => void): Cancellable;
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** The committables of one sink subtask, from prepareCommit to commit. */
export class SinkCommitter {
  private pending: Stored[] = [];
  private readonly retries = new Map<unknown, number>();
  private state!: ListState<Stored>;
  private committer: Committer<unknown> | undefined;
  /** Highest checkpoint whose committables may be committed; -1 before any. */
  private committableUpTo = -1;
  /** Committables handed to the committer whose commit has not settled (still checkpointed). */
  private committing: Stored[] = [];
  private settling: Promise<void> | undefined;
  private retryTimer: Cancellable | undefined;

  constructor(
    private readonly sink: SupportsCommitter<unknown>,
    private readonly host: CommitterHost,
  ) {}

  /** Registers the state; returns whether it restored committables (commit them once open). */
  initializeState(getListState: (d: ListStateDescriptor<Stored>) => ListState<Stored>): boolean {
    const inner = this.sink.getCommittableSerializer?.();
    this.state = getListState(
      new ListStateDescriptor<Stored>(
        'streaming_committer_raw_states',
        inner ? { elementSerializer: new StoredSerializer(inner) } : {},
      ),
    );
    this.pending = this.state.get().slice();
    // Everything a restored checkpoint holds belongs to completed checkpoints.
    if (this.pending.length > 0) this.committableUpTo = UNCHECKPOINTED;
    return this.pending.length > 0;
  }

  open(committer: Committer<unknown>): void {
    this.committer = committer;
    if (this.committableUpTo >= 0) this.commitDue();
  }

  /** What the writer prepared at a barrier or at the end of input; checkpointed by the next snapshot. */
  add(committables: readonly unknown[]): void {
    for (const c of committables) this.pending.push([UNCHECKPOINTED, c]);
  }

  snapshotState(checkpointId: number): void {
    for (const entry of this.pending) if (entry[0] === UNCHECKPOINTED) entry[0] = checkpointId;
    this.state.update(this.committing.length === 0 ? this.pending : [...this.committing, ...this.pending]);
  }

  notifyCheckpointComplete(checkpointId: number): void {
    if (checkpointId <= this.committableUpTo) return;
    this.committableUpTo = checkpointId;
    this.commitDue();
  }

  /** The job ended normally: everything prepared is final output (Flink's end-of-input commit). */
  commitAll(): void {
    this.committableUpTo = UNCHECKPOINTED;
    this.commitDue();
  }

  close(): void | PromiseLike<void> {
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    const committer = this.committer;
    if (committer === undefined) return;
    // An asynchronous final commit settles before its committer closes.
    if (this.committing.length > 0 && this.settling) return this.settling.then(() => committer.close());
    return committer.close();
  }

  private commitDue(): void {
    if (this.committing.length > 0 || this.committer === undefined) return;
    const requests: Request[] = [];
    const kept: Stored[] = [];
    for (const entry of this.pending) {
      if (entry[0] <= this.committableUpTo) {
        this.committing.push(entry);
        requests.push(new Request(entry[1], entry[0], this.retries.get(entry[1]) ?? 0));
      } else kept.push(entry);
    }
    if (requests.length === 0) return;
    this.pending = kept;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    let result: void | PromiseLike<void>;
    try {
      result = this.committer.commit(requests);
    } catch (e) {
      throw this.failure(requests[0]!, e, false);
    }
    if (typeof (result as PromiseLike<void> | undefined)?.then !== 'function') return this.settle(requests);
    const settled = Promise.resolve(result).then(
      () => {
        this.settle(requests);
        this.commitDue();
      },
      (e: unknown) => {
        throw this.failure(requests[0]!, e, false);
      },
    );
    this.settling = settled;
    this.host.awaitAsync(settled, `commit of sink '${this.host.sinkName}'`);
  }

  /** Keeps what is to be retried; fails on a signalled failure. */
  private settle(requests: readonly Request[]): void {
    this.committing = [];
    const retry: Stored[] = [];
    for (const r of requests) {
      if (r.outcome === 'failed') throw this.failure(r, r.failure, r.known);
      this.retries.delete(r.getCommittable());
      if (r.outcome === 'retry') {
        this.retries.set(r.committable, r.getNumberOfRetries() + 1);
        retry.push([r.checkpointId, r.committable]);
      }
    }
    if (retry.length === 0) return;
    this.pending = [...retry, ...this.pending];
    this.retryTimer ??= this.host.registerTimer(RETRY_DELAY_MS, () => {
      this.retryTimer = undefined;
      this.commitDue();
    });
  }

  private failure(request: Request, reason: unknown, known: boolean): SluiceError {
    const checkpoint =
      request.checkpointId === UNCHECKPOINTED ? 'the end of input' : `checkpoint ${request.checkpointId}`;
    let what: string;
    try {
      what = JSON.stringify(request.getCommittable()) ?? 'a committable';
    } catch {
      what = String(request.getCommittable());
    }
    // A committable may hold a whole transaction's records: the message names it, not dumps it.
    if (what.length > MAX_COMMITTABLE_CHARS)
      what = `${what.slice(0, MAX_COMMITTABLE_CHARS)}… (${what.length} characters)`;
    return new SluiceError(
      'SLUICE_SINK_COMMIT_FAILED',
      `sink '${this.host.sinkName}' could not commit ${what} of ${checkpoint}` +
        `${known ? '' : ' (unknown reason)'}: ${reasonText(reason)}`,
      { cause: reason },
    );
  }
}
