/**
 * Runs a KeyedProcessFunction: sets the current key per record and fires its timers — processing
 * time ones through the task's time service, event time ones when the watermark advances, in
 * timestamp order and before the watermark goes downstream (Flink's InternalTimerServiceImpl).
 * Both kinds are keyed timer queues of the backend, so checkpoints and rescaling carry them.
 * In BATCH mode processing-time timers fire at the end of input instead (Flink: processing time
 * does not advance during a batch job), each key's in timestamp order; timers registered then are
 * ignored.
 */
import type { Cancellable } from '../../core/clock.js';
import { SluiceError } from '../../core/errors.js';
import { MIN_WATERMARK } from '../../core/watermark.js';
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
/** Name of the event-time timer queue in the keyed backend (persisted in snapshots). */
export const EVENT_TIMERS = '_timer_service_event';

/** Operator of `keyBy(...).process(fn)`. */
export class KeyedProcessOperator<K, IN, OUT>
  extends UdfOperator<IN, OUT, Pick<KeyedProcessFunction<K, IN, OUT>, 'processElement'>>
  implements TimerService
{
  /** The functions' context, made once (nothing per record); `timeDomain()` matters in onTimer only. */
  protected readonly context: OnTimerContext<K> = {
    timestamp: () => this.timestamp(),
    timerService: () => this,
    getCurrentKey: () => this.getCurrentKey(),
    timeDomain: () => this.firingDomain,
    output: (tag, value) => this.emitSideOutput(tag, value),
  };
  protected backend!: KeyedStateBackend<K>;
  private timers!: KeyedTimerQueue<K>;
  private eventTimers!: KeyedTimerQueue<K>;
  private watermark = MIN_WATERMARK;
  /** The domain of the timer firing now (what onTimer's ctx.timeDomain() says). */
  private firingDomain: TimeDomain = 'PROCESSING_TIME';
  /** The firing timer's time while onTimer runs (what its ctx.timestamp() returns). */
  private timerTimestamp = 0;
  private scheduled: Cancellable | undefined;
  private scheduledAt = Infinity;
  private inTimer = false;
  private batch = false;
  /** BATCH: the end-of-input timers are firing; new ones are ignored, as Flink's quiesced timer service. */
  private quiesced = false;
  private readonly onTimerFn: OnTimer<K, OUT>['onTimer'] | undefined;

  constructor(
    fn: Pick<KeyedProcessFunction<K, IN, OUT>, 'processElement'>,
    protected readonly keySelector: KeySelectorFn<IN, K>,
  ) {
    super(fn);
    const candidate = (this.userFunction as Partial<OnTimer<K, OUT>>).onTimer;
    this.onTimerFn = typeof candidate === 'function' ? candidate.bind(this.userFunction) : undefined;
  }

  override open(): void {
    this.backend = this.info.keyedStateBackend as KeyedStateBackend<K>;
    // Timers are keyed state: the backend snapshots and restores them with the rest.
    this.timers = this.backend.getOrCreateTimerQueue(PROCESSING_TIMERS);
    this.eventTimers = this.backend.getOrCreateTimerQueue(EVENT_TIMERS);
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
      this.userFunction.processElement(record, this.context, this.output);
    } catch (e) {
      throw this.userError(e, 'processElement');
    }
  }

  /** Makes `record`'s key (by `selector`, one of a two-input operator's) the current key. */
  protected setCurrentKeyOf<T>(selector: KeySelectorFn<T, K>, record: T): void {
    let key: K;
    try {
      key = selector(record);
    } catch (e) {
      throw this.userError(e, 'the key selector');
    }
    this.backend.setCurrentKey(key);
  }

  // --- contexts: the operator is its own (allocation-free) context object ---
  /**
   * The record's timestamp (null if it has none), which what the function emits carries; in
   * onTimer the timer's time, as Flink (output of a processing-time timer has no timestamp).
   */
  timestamp(): number | null {
    return this.inTimer ? this.timerTimestamp : this.info.elementTimestamp.get();
  }
  timerService(): TimerService {
    return this;
  }
  getCurrentKey(): K {
    return this.backend.getCurrentKey();
  }
  timeDomain(): TimeDomain {
    return this.firingDomain;
  }

  // --- TimerService ---
  currentProcessingTime(): number {
    return this.info.timeService.getCurrentProcessingTime();
  }
  currentWatermark(): number {
    return this.watermark;
  }
  registerProcessingTimeTimer(time: number): void {
    this.checkOnTimer();
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
  registerEventTimeTimer(time: number): void {
    this.checkOnTimer();
    this.eventTimers.add(this.backend.getCurrentKey(), time);
  }
  deleteEventTimeTimer(time: number): void {
    this.eventTimers.remove(this.backend.getCurrentKey(), time);
  }

  private checkOnTimer(): void {
    if (!this.onTimerFn)
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        `operator '${this.info.operatorName}' registered a timer but its function has no onTimer(timestamp, ctx, out) method.`,
      );
  }

  /**
   * The watermark advanced: the event-time timers at or below it fire, in time order, each with
   * its key current and its time as the output's timestamp; then the watermark goes on
   * (Flink's order, so downstream sees a timer's output before the watermark that fired it).
   */
  override processWatermark(watermark: number): void {
    if (watermark > this.watermark) this.watermark = watermark;
    this.fire(this.eventTimers, this.watermark, 'EVENT_TIME');
    this.output.emitWatermark(watermark);
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
    this.fire(this.timers, this.info.timeService.getCurrentProcessingTime(), 'PROCESSING_TIME');
    this.scheduleHead();
  }

  /** BATCH: the end of time has come, every timer fires (Flink fires them at the end of each key). */
  override endInput(): void {
    if (!this.batch) return;
    this.quiesced = true;
    this.fire(this.timers, Infinity, 'PROCESSING_TIME');
  }

  /**
   * Fires the timers of `queue` due at `now`, in time order, each with its key current. An
   * event-time timer's output carries the timer's time, a processing-time timer's none.
   */
  private fire(queue: KeyedTimerQueue<K>, now: number, domain: TimeDomain): void {
    const slot = this.info.elementTimestamp;
    const hadTimestamp = slot.present;
    const previous = slot.value;
    this.inTimer = true;
    this.firingDomain = domain;
    try {
      for (let head = queue.peek(); head && head.timestamp <= now; head = queue.peek()) {
        queue.poll();
        this.backend.setCurrentKey(head.key);
        this.timerTimestamp = head.timestamp;
        if (domain === 'EVENT_TIME') slot.set(head.timestamp);
        else slot.clear();
        try {
          this.onTimerFn!(head.timestamp, this.context, this.output);
        } catch (e) {
          throw this.userError(e, 'onTimer');
        }
      }
    } finally {
      this.inTimer = false;
      this.firingDomain = 'PROCESSING_TIME';
      slot.value = previous;
      slot.present = hadTimestamp;
    }
  }

  override close(): void {
    // As Flink at the end of input: pending processing-time timers are dropped, not fired.
    this.scheduled?.cancel();
    this.scheduled = undefined;
    super.close();
  }
}
