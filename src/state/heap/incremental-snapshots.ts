/** Which keyed snapshots (both backends') are deltas and which new bases, and what each delta must hold. */
import type { ChangedKeys, KeyGroupChanges } from './changed-keys.js';
import type { DeltaSource } from './pinned-keyed-state.js';

/** A state whose changed keys snapshots cut: a heap StateTable, an LMDB state. */
export interface TrackedState {
  readonly changes?: ChangedKeys | undefined;
}

/** A timer queue that marks the key groups (offsets) whose timers changed: heap or LMDB. */
export interface TrackedTimers {
  changedGroups: Uint8Array | undefined;
}

/** When an incremental chain is materialized into a new base. */
export interface IncrementalOptions {
  /** A new base once the chain holds this many deltas (default 10): restore reads a bounded chain. */
  readonly maxChainLength?: number;
  /**
   * A new base once the chain's deltas together exceed this fraction of its base's size (default
   * 1: more delta bytes than base bytes), so restore never reads much more than the state.
   */
  readonly maxDeltaRatio?: number;
}

/** Default of `IncrementalOptions.maxChainLength`. */
export const DEFAULT_MAX_CHAIN_LENGTH = 10;
/** Default of `IncrementalOptions.maxDeltaRatio`. */
export const DEFAULT_MAX_DELTA_RATIO = 1;

/** A written snapshot as a chain: how long, how many bytes of base and of deltas. */
interface Chain {
  readonly checkpointId: number;
  readonly deltas: number;
  readonly baseBytes: number;
  readonly deltaBytes: number;
}

/** The changes of each table and timer queue cut at one snapshot's synchronous phase. */
interface Cut {
  readonly checkpointId: number;
  readonly tables: ReadonlyMap<TrackedState, readonly (KeyGroupChanges | undefined)[]>;
  readonly timers: ReadonlyMap<TrackedTimers, Uint8Array>;
  /** A state tracked too many changed keys to keep them: a delta cannot cover this cut. */
  readonly overflowed: boolean;
}

/**
 * The incremental bookkeeping of one keyed backend (heap or LMDB). A delta covers every change
 * since the synchronous phase of the last checkpoint the backend was told completed: the changes
 * cut at every snapshot since (an aborted one's carry over to the next). Completion is what moves
 * the base forward: a delta never builds on a checkpoint that may still fail.
 */
export class IncrementalSnapshots {
  private readonly maxChainLength: number;
  private readonly maxDeltaRatio: number;
  private completed: Chain | undefined;
  private cuts: Cut[] = [];
  private readonly written = new Map<number, Chain>();
  /** The chain each snapshot in flight builds on (undefined: it is a new base). */
  private readonly bases = new Map<number, Chain | undefined>();
  /** The newest snapshot begun so far. */
  private lastBegun = -Infinity;
  /** Snapshots older than this are never built on (see startNewBase). */
  private notBefore = -Infinity;

  constructor(options: IncrementalOptions) {
    this.maxChainLength = options.maxChainLength ?? DEFAULT_MAX_CHAIN_LENGTH;
    this.maxDeltaRatio = options.maxDeltaRatio ?? DEFAULT_MAX_DELTA_RATIO;
  }

  /**
   * The synchronous phase of snapshot `checkpointId`: cuts every table's changes, and returns
   * what its delta must hold, or undefined when it is to be a new base (none completed yet, the
   * chain is long or heavy enough to materialize, or a state overflowed its change tracking).
   */
  beginSnapshot(
    checkpointId: number,
    tables: readonly TrackedState[],
    timers: readonly TrackedTimers[],
  ): DeltaSource | undefined {
    this.lastBegun = Math.max(this.lastBegun, checkpointId);
    this.cuts.push({
      checkpointId,
      // Read before the cut, which resets it.
      overflowed: tables.some((t) => t.changes!.overflowed),
      tables: new Map(tables.map((t) => [t, t.changes!.cut()])),
      timers: new Map(timers.map((q) => [q, cutTimers(q)])),
    });
    const base = this.completed;
    const since = this.cuts.filter((c) => c.checkpointId > (base?.checkpointId ?? -Infinity));
    if (
      base === undefined ||
      base.deltas >= this.maxChainLength ||
      base.deltaBytes > base.baseBytes * this.maxDeltaRatio ||
      since.some((c) => c.overflowed)
    ) {
      this.bases.set(checkpointId, undefined);
      return undefined;
    }
    this.bases.set(checkpointId, base);
    return {
      baseCheckpointId: base.checkpointId,
      cuts: tables.map((t) => since.map((c) => c.tables.get(t) ?? NO_CHANGES)),
      timerCuts: timers.map((q) => since.map((c) => c.timers.get(q) ?? NO_TIMER_CHANGES)),
    };
  }

  /** Snapshot `checkpointId` wrote `bytes` (a delta or a base, as `beginSnapshot` decided). */
  recordWritten(checkpointId: number, bytes: number): void {
    const base = this.bases.get(checkpointId);
    this.bases.delete(checkpointId);
    this.written.set(
      checkpointId,
      base === undefined
        ? { checkpointId, deltas: 0, baseBytes: bytes, deltaBytes: 0 }
        : {
            checkpointId,
            deltas: base.deltas + 1,
            baseBytes: base.baseBytes,
            deltaBytes: base.deltaBytes + bytes,
          },
    );
  }

  /** Checkpoint `checkpointId` completed: later deltas build on it, older changes are dropped. */
  notifyCheckpointComplete(checkpointId: number): void {
    const chain = this.written.get(checkpointId);
    if (
      chain === undefined ||
      checkpointId < this.notBefore ||
      (this.completed !== undefined && this.completed.checkpointId >= checkpointId)
    )
      return;
    this.completed = chain;
    this.cuts = this.cuts.filter((c) => c.checkpointId > checkpointId);
    for (const id of [...this.written.keys()]) if (id <= checkpointId) this.written.delete(id);
    for (const id of [...this.bases.keys()]) if (id <= checkpointId) this.bases.delete(id);
  }

  /**
   * The next snapshot is a new base, and none begun before it is ever built on: a state's stored
   * values were rewritten in another format (migrated at restore), which no delta can express.
   */
  startNewBase(): void {
    this.completed = undefined;
    this.notBefore = this.lastBegun + 1;
  }

  /** The checkpoint deltas build on now (undefined before the first completed one), for tests. */
  get baseCheckpointId(): number | undefined {
    return this.completed?.checkpointId;
  }
}

const NO_CHANGES: readonly (KeyGroupChanges | undefined)[] = [];
const NO_TIMER_CHANGES = new Uint8Array(0);

/** A timer queue's changed key groups since the last cut; tracking starts over. */
function cutTimers(queue: TrackedTimers): Uint8Array {
  const changed = queue.changedGroups!;
  queue.changedGroups = new Uint8Array(changed.length);
  return changed;
}
