/**
 * Runs a KeyedProcessFunction: sets the current key per record and fires processing-time timers.
 * In BATCH mode timers fire at the end of input instead (Flink: processing time does not advance
 * during a batch job), each key's in timestamp order; timers registered then are ignored.
 */
import type { Cancellable } from '../../core/clock.js';
import { SluiceError } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { KeyedStateBackend } from '../../state/keyed-state-backend.js';
import type { KeyedTimerQueue } from '../../state/timer-queue.js';
import type { KeySelectorFn } from '../../graph/partitioner.js';
import type {
  KeyedProcessFunction,
  OnTimer,
  OnTimerContext,
  TimeDomain,
  TimerService,
} from '../process-function.js';
import { UdfOperator } from './udf-operator.js';

/** Name of the processing-time timer queue in the keyed backend (persisted in snapshots). */
export const PROCESSING_TIMERS = '_timer_service_processing';

/** Watermark before any event time has passed (Flink's Long.MIN_VALUE). */
const NO_WATERMARK = Number.MIN_SAFE_INTEGER;

function eventTimeUnsupported(): never {
  throw new SluiceError(
    'SLUICE_PROGRAM_INVALID',
    'event-time timers need watermarks, which Sluice does not produce yet; use processing-time timers.',
  );
}

/** Operator of `keyBy(...).process(fn)`. */
export class KeyedProcessOperator<K, IN, OUT>
  extends UdfOperator<IN, OUT, Pick<KeyedProcessFunction<K, IN, OUT>, 'processElement'>>
  implements TimerService, OnTimerContext<K>
{
  private backend!: KeyedStateBackend<K>;
  private timers!: KeyedTimerQueue<K>;
  private scheduled: Cancellable | undefined;
  private scheduledAt = Infinity;
  private inTimer = false;
  /** The firing timer's time while onTimer runs (what its ctx.timestamp() returns), else null. */
  private timerTimestamp: number | null = null;
  private batch = false;
  /** BATCH: the end-of-input timers are firing; new ones are ignored, as Flink's quiesced timer service. */
  private quiesced = false;
  private readonly onTimerFn: OnTimer<K, OUT>['onTimer'] | undefined;

  constructor(
    fn: Pick<KeyedProcessFunction<K, IN, OUT>, 'processElement'>,
    private readonly keySelector: KeySelectorFn<IN, K>,
  ) {
    super(fn);
    const candidate = (this.userFunction as Partial<OnTimer<K, OUT>>).onTimer;
    this.onTimerFn = typeof candidate === 'function' ? candidate.bind(this.userFunction) : undefined;
  }

  override open(): void {
    this.backend = this.info.keyedStateBackend as KeyedStateBackend<K>;
    // Timers are keyed state: the backend snapshots and restores them with the rest.
    this.timers = this.backend.getOrCreateTimerQueue(PROCESSING_TIMERS);
    this.batch = this.info.job?.runtimeMode === 'BATCH';
    super.open();
    if (!this.batch) this.scheduleHead();
  }

  processElement(record: IN): void {
    let key: K;
    try {
      key = this.keySelector(record);
    } catch (e) {
      throw this.userError(e, 'the key selector');
    }
    this.backend.setCurrentKey(key);
    try {
      this.userFunction.processElement(record, this, this.output);
    } catch (e) {
      throw this.userError(e, 'processElement');
    }
  }

  // --- contexts: the operator is its own (allocation-free) context object ---
  /** Null for a record (records carry no timestamps yet); in onTimer the timer's time, as Flink. */
  timestamp(): number | null {
    return this.timerTimestamp;
  }
  timerService(): TimerService {
    return this;
  }
  getCurrentKey(): K {
    return this.backend.getCurrentKey();
  }
  timeDomain(): TimeDomain {
    return 'PROCESSING_TIME';
  }

  // --- TimerService ---
  currentProcessingTime(): number {
    return this.info.timeService.getCurrentProcessingTime();
  }
  currentWatermark(): number {
    return NO_WATERMARK;
  }
  registerProcessingTimeTimer(time: number): void {
    if (!this.onTimerFn)
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        `operator '${this.info.operatorName}' registered a timer but its function has no onTimer(timestamp, ctx, out) method.`,
      );
    if (this.quiesced) {
      logger('keyed-process').warn(
        `Timer service is quiesced. Processing time timer for timestamp '${time}' will be ignored.`,
      );
      return;
    }
    this.timers.add(this.backend.getCurrentKey(), time);
    if (!this.inTimer && !this.batch) this.scheduleHead();
  }
  deleteProcessingTimeTimer(time: number): void {
    this.timers.remove(this.backend.getCurrentKey(), time);
  }
  registerEventTimeTimer(_time: number): void {
    eventTimeUnsupported();
  }
  deleteEventTimeTimer(_time: number): void {
    eventTimeUnsupported();
  }

  private scheduleHead(): void {
    const head = this.timers.peek();
    if (!head || head.timestamp >= this.scheduledAt) return;
    this.scheduled?.cancel();
    this.scheduledAt = head.timestamp;
    this.scheduled = this.info.timeService.registerTimer(head.timestamp, () => this.fireDue());
  }

  private fireDue(): void {
    this.scheduled = undefined;
    this.scheduledAt = Infinity;
    this.fireUpTo(this.info.timeService.getCurrentProcessingTime());
    this.scheduleHead();
  }

  /** BATCH: the end of time has come, every timer fires (Flink fires them at the end of each key). */
  override endInput(): void {
    if (!this.batch) return;
    this.quiesced = true;
    this.fireUpTo(Infinity);
  }

  /** Fires the timers due at `now`, in time order, each with its key current. */
  private fireUpTo(now: number): void {
    this.inTimer = true;
    try {
      for (let head = this.timers.peek(); head && head.timestamp <= now; head = this.timers.peek()) {
        this.timers.poll();
        this.backend.setCurrentKey(head.key);
        this.timerTimestamp = head.timestamp;
        try {
          this.onTimerFn!(head.timestamp, this, this.output);
        } catch (e) {
          throw this.userError(e, 'onTimer');
        }
      }
    } finally {
      this.inTimer = false;
      this.timerTimestamp = null;
    }
  }

  override close(): void {
    // As Flink at the end of input: pending processing-time timers are dropped, not fired.
    this.scheduled?.cancel();
    this.scheduled = undefined;
    super.close();
  }
}
