/**
 * How the window operator names windows in its keyed maps, and gets a window back from its name
 * (a timer knows its time, not its window). Fixed-size time windows are named by their start (a
 * number: nothing allocated per record), the global window by 0, any other TimeWindow by
 * "start:end".
 */
import { SluiceError } from '../../core/errors.js';
import { TimeWindow } from '../windowing/time-window.js';
import { FixedTimeWindows, GlobalWindows, type WindowAssigner } from '../windowing/window-assigners.js';
import { GlobalWindow, type Window } from '../windowing/window.js';
import type { WindowKey } from './window-scoped-state.js';

export interface WindowCodec<W extends Window> {
  key(window: W): WindowKey;
  window(key: WindowKey): W;
}

class FixedSizeCodec implements WindowCodec<TimeWindow> {
  constructor(private readonly size: number) {}
  key(window: TimeWindow): WindowKey {
    return window.getStart();
  }
  window(key: WindowKey): TimeWindow {
    return new TimeWindow(key as number, (key as number) + this.size);
  }
}

const GLOBAL_CODEC: WindowCodec<GlobalWindow> = {
  key: () => 0,
  window: () => GlobalWindow.get(),
};

/** Most decoded windows a codec remembers: session windows are decoded on every record of their key. */
const DECODED_CACHE_SIZE = 4096;

class TimeWindowCodec implements WindowCodec<TimeWindow> {
  private readonly decoded = new Map<string, TimeWindow>();
  constructor(private readonly assigner: string) {}
  key(window: TimeWindow): WindowKey {
    if (!(window instanceof TimeWindow))
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        `window assigner ${this.assigner} assigned ${String(window)}; custom assigners must assign TimeWindow or GlobalWindow instances.`,
      );
    return `${window.getStart()}:${window.getEnd()}`;
  }
  window(key: WindowKey): TimeWindow {
    const text = key as string;
    let window = this.decoded.get(text);
    if (window !== undefined) return window;
    const colon = text.indexOf(':', 1);
    window = new TimeWindow(Number(text.slice(0, colon)), Number(text.slice(colon + 1)));
    // Windows are immutable, so one instance serves every lookup; the cache only bounds memory.
    if (this.decoded.size >= DECODED_CACHE_SIZE) this.decoded.clear();
    this.decoded.set(text, window);
    return window;
  }
}

/** The codec of `assigner`'s windows. */
export function windowCodecOf<W extends Window>(assigner: WindowAssigner<never, W>): WindowCodec<W> {
  if (assigner instanceof FixedTimeWindows)
    return new FixedSizeCodec(assigner.size) as unknown as WindowCodec<W>;
  if (assigner instanceof GlobalWindows) return GLOBAL_CODEC as unknown as WindowCodec<W>;
  return new TimeWindowCodec(assigner.toString()) as unknown as WindowCodec<W>;
}
