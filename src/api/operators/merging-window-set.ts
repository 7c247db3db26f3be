/**
 * Flink's MergingWindowSet: a key's in-flight windows of a merging assigner (sessions), each
 * mapped to the window its contents are stored under. When windows merge, the result keeps one
 * of the merged windows' state window, so merging moves the other contents into it rather than
 * rewriting all of them. Kept in a keyed map from window key to state window key, so that a
 * record writes only the entries it changes.
 */
import { SluiceError } from '../../core/errors.js';
import type { MapState } from '../../state/state.js';
import type { MergingWindowAssigner } from '../windowing/window-assigners.js';
import type { TimeWindow } from '../windowing/time-window.js';
import type { Window } from '../windowing/window.js';
import type { WindowCodec } from './window-codec.js';
import type { WindowKey } from './window-scoped-state.js';

/** Called when windows merge: `mergedWindows` went into `mergeResult`, their state windows into `stateWindowResult`. */
export type MergeFunction<W> = (
  mergeResult: W,
  mergedWindows: W[],
  stateWindowResult: W,
  mergedStateWindows: W[],
) => void;

export class MergingWindowSet<W extends Window> {
  /** In-flight window key → [window, its state window]. */
  private readonly mapping = new Map<WindowKey, [W, W]>();
  /** Window keys whose entry changed since loading (persist writes or removes them). */
  private readonly changed = new Set<WindowKey>();

  constructor(
    private readonly assigner: MergingWindowAssigner<never, W>,
    private readonly codec: WindowCodec<W>,
    private readonly state: MapState<WindowKey, WindowKey>,
  ) {
    for (const [window, stateWindow] of state.entries())
      this.mapping.set(window, [codec.window(window), codec.window(stateWindow)]);
  }

  /** The window `window`'s contents are stored under, or undefined when it is not in flight. */
  getStateWindow(window: W): W | undefined {
    return this.mapping.get(this.codec.key(window))?.[1];
  }

  /** Forgets a window that fired for good or came too late. */
  retireWindow(window: W): void {
    const key = this.codec.key(window);
    this.changed.add(key);
    if (!this.mapping.delete(key))
      throw new SluiceError(
        'SLUICE_RESTORE_STATE_UNREADABLE',
        `the merging window set of the key lost window ${String(window)} is not in the in-flight window set.`,
      );
  }

  /**
   * Adds a record's new window, merging it with the in-flight windows it overlaps; returns the
   * window it ends up in (itself, or the merge result). `mergeFunction` moves the contents.
   */
  addWindow(newWindow: W, mergeFunction: MergeFunction<W>): W {
    const codec = this.codec;
    const newKey = codec.key(newWindow);
    const windows: W[] = [];
    const intersectingOnly =
      (this.assigner as { mergesIntersectingOnly?: boolean }).mergesIntersectingOnly === true;
    for (const [w] of this.mapping.values())
      if (!intersectingOnly || (w as unknown as TimeWindow).intersects(newWindow as unknown as TimeWindow))
        windows.push(w);
    windows.push(newWindow);
    const merges: [W, W[]][] = [];
    this.assigner.mergeWindows(windows, (toBeMerged, mergeResult) => merges.push([mergeResult, toBeMerged]));
    let resultWindow = newWindow;
    let mergedNewWindow = false;
    for (const [mergeResult, toBeMerged] of merges) {
      const mergedWindows = toBeMerged.filter((w) => codec.key(w) !== newKey);
      if (mergedWindows.length !== toBeMerged.length) {
        mergedNewWindow = true;
        resultWindow = mergeResult;
      }
      if (mergedWindows.length === 0) continue;
      // Any merged window's state window serves as the result's.
      const mergedStateWindow = this.mapping.get(codec.key(mergedWindows[0]!))![1];
      const mergedStateWindows: W[] = [];
      for (const w of mergedWindows) {
        const entry = this.mapping.get(codec.key(w));
        if (entry === undefined) continue;
        this.mapping.delete(codec.key(w));
        this.changed.add(codec.key(w));
        mergedStateWindows.push(entry[1]);
      }
      const resultKey = codec.key(mergeResult);
      this.mapping.set(resultKey, [mergeResult, mergedStateWindow]);
      this.changed.add(resultKey);
      const stateKey = codec.key(mergedStateWindow);
      const others = mergedStateWindows.filter((w) => codec.key(w) !== stateKey);
      // A window merged into itself (the new one fell inside it) moved nothing.
      if (!(mergedWindows.length === 1 && codec.key(mergedWindows[0]!) === resultKey))
        mergeFunction(mergeResult, mergedWindows, mergedStateWindow, others);
    }
    if (merges.length === 0 || (codec.key(resultWindow) === newKey && !mergedNewWindow)) {
      this.mapping.set(newKey, [resultWindow, resultWindow]);
      this.changed.add(newKey);
    }
    return resultWindow;
  }

  /** Writes the entries that changed back to keyed state. */
  persist(): void {
    for (const key of this.changed) {
      const entry = this.mapping.get(key);
      if (entry === undefined) this.state.remove(key);
      else this.state.put(key, this.codec.key(entry[1]));
    }
    this.changed.clear();
  }
}
