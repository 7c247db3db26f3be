// State TTL in a running job, as a Flink user writes it: a descriptor with enableTimeToLive, read again after the TTL by a processing-time timer.
import { expect, it } from 'vitest';
import {
  DataGeneratorSource,
  Duration,
  KeyedProcessFunction,
  StateTtlConfig,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type OnTimerContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import { collectUntil, envAt } from '../support/helpers.js';

const KEYS = 4;
const TTL_MS = 30;

/** Remembers each key's first record with a TTL, and looks at it again once the TTL has passed. */
class ExpiringFirstSeen extends KeyedProcessFunction<number, number, string> {
  private firstSeen!: ValueState<number>;
  /** Without a TTL: whether the key's first record came (its TTL state may expire before the timer fires). */
  private seen!: ValueState<boolean>;

  open(ctx: RuntimeContext): void {
    const descriptor = new ValueStateDescriptor<number>('first-seen');
    descriptor.enableTimeToLive(
      StateTtlConfig.newBuilder(Duration.ofMillis(TTL_MS))
        .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
        .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
        .build(),
    );
    this.firstSeen = ctx.getState(descriptor);
    this.seen = ctx.getState(new ValueStateDescriptor<boolean>('seen'));
  }

  processElement(x: number, ctx: KeyedProcessContext<number>, out: Collector<string>): void {
    if (this.seen.value() === true) return;
    this.seen.update(true);
    this.firstSeen.update(x);
    const now = ctx.timerService().currentProcessingTime();
    ctx.timerService().registerProcessingTimeTimer(now + TTL_MS);
    out.collect(`stored ${ctx.getCurrentKey()}`);
  }

  onTimer(_timestamp: number, ctx: OnTimerContext<number>, out: Collector<string>): void {
    out.collect(`${this.firstSeen.value() === undefined ? 'expired' : 'alive'} ${ctx.getCurrentKey()}`);
  }
}

it('a value read again once its TTL has passed is gone', async () => {
  const env = envAt(2);
  const result = env
    .fromSource(new DataGeneratorSource((i) => i % KEYS, Infinity, { recordsPerSecond: 1_000 }), 'ticks')
    .keyBy((x) => x)
    .process(new ExpiringFirstSeen())
    .collectAsync();
  const { records } = await collectUntil(
    env,
    result,
    (rs) => rs.filter((r) => !r.startsWith('stored')).length === KEYS,
  );
  expect(records.filter((r) => r.startsWith('stored')).sort()).toEqual(
    Array.from({ length: KEYS }, (_, k) => `stored ${k}`),
  );
  expect(records.filter((r) => !r.startsWith('stored')).sort()).toEqual(
    Array.from({ length: KEYS }, (_, k) => `expired ${k}`),
  );
});
