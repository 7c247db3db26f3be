/**
 * Discovers a JetStream source's splits (one per subject filter) and gives each reader its own:
 * split i goes to reader i mod parallelism, as Flink's Kafka enumerator spreads partitions, so
 * that the assignment does not depend on which reader asks first.
 */
import type { SplitEnumerator, SplitEnumeratorContext } from '../../api/source/source.js';
import type { JetStreamSplit } from './jetstream-split.js';
import { closeQuietly, connectNats, streamInfo } from './nats-connection.js';
import type { StartingPosition } from './starting-position.js';

/** What the enumerator checkpoints: the splits no reader holds yet (undefined: not discovered). */
export interface JetStreamEnumeratorState {
  readonly pending: JetStreamSplit[] | undefined;
}

export interface JetStreamSourceSettings {
  readonly servers: readonly string[];
  readonly stream: string;
  readonly subjects: readonly string[];
  readonly startingPosition: StartingPosition;
  readonly bounded: boolean;
}

/** Sent to a reader when the stream could not be read: the reader fails its task with it. */
export interface JetStreamDiscoveryFailed {
  readonly kind: 'jetstream-discovery-failed';
  readonly code: 'SLUICE_CONNECTOR_FAILED' | 'SLUICE_CONNECTOR_MISCONFIGURED';
  readonly message: string;
}

function discoveryFailure(e: unknown): JetStreamDiscoveryFailed {
  const code = (e as { code?: unknown }).code;
  return {
    kind: 'jetstream-discovery-failed',
    code: code === 'SLUICE_CONNECTOR_MISCONFIGURED' ? code : 'SLUICE_CONNECTOR_FAILED',
    message: (e as Error).message,
  };
}

export class JetStreamSplitEnumerator implements SplitEnumerator<JetStreamSplit, JetStreamEnumeratorState> {
  private pending: JetStreamSplit[] | undefined;
  private readonly waiting = new Set<number>();
  private failure: JetStreamDiscoveryFailed | undefined;

  constructor(
    private readonly ctx: SplitEnumeratorContext<JetStreamSplit>,
    private readonly settings: JetStreamSourceSettings,
    restored?: JetStreamEnumeratorState,
  ) {
    this.pending = restored?.pending;
  }

  start(): void {
    if (this.pending) return;
    this.discover().then(
      (splits) => {
        this.pending = splits;
        for (const subtask of [...this.waiting]) this.handleSplitRequest(subtask);
        this.waiting.clear();
      },
      (e: unknown) => {
        this.failure = discoveryFailure(e);
        for (const subtask of [...this.waiting]) this.handleSplitRequest(subtask);
        this.waiting.clear();
      },
    );
  }

  /** Resolves the starting position to sequences once, so every reader and restart agrees on it. */
  private async discover(): Promise<JetStreamSplit[]> {
    const { servers, stream, subjects, startingPosition, bounded } = this.settings;
    const nc = await connectNats(servers, `JetStreamSource '${stream}'`);
    try {
      const { info } = await streamInfo(nc, stream, `JetStreamSource '${stream}'`);
      const last = info.state.last_seq;
      const start =
        startingPosition.kind === 'earliest'
          ? 1
          : startingPosition.kind === 'latest'
            ? last + 1
            : startingPosition.sequence;
      return subjects.map((subject, index) => ({
        splitId: subject,
        subject,
        index,
        nextSequence: start,
        ...(bounded ? { stopSequence: last } : {}),
      }));
    } finally {
      closeQuietly(nc);
    }
  }

  handleSplitRequest(subtask: number): void {
    // The coordinator has no way to fail the job from here: the reader fails its task instead.
    if (this.failure) return this.ctx.sendEventToSourceReader(subtask, this.failure);
    if (!this.pending) {
      this.waiting.add(subtask);
      return;
    }
    const parallelism = this.ctx.currentParallelism();
    const mine = this.pending.filter((s) => s.index % parallelism === subtask);
    this.pending = this.pending.filter((s) => s.index % parallelism !== subtask);
    for (const split of mine) this.ctx.assignSplit(split, subtask);
    this.ctx.signalNoMoreSplits(subtask);
  }

  addSplitsBack(splits: readonly JetStreamSplit[]): void {
    this.pending = [...(this.pending ?? []), ...splits];
  }

  addReader(): void {}

  snapshotState(): JetStreamEnumeratorState {
    return { pending: this.pending && [...this.pending] };
  }

  close(): void {}
}
