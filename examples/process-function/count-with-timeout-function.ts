/*
 * Ported from Apache Flink's documentation (DataStream API > Operators > Process Function,
 * "Example"), Copyright The Apache Software Foundation, licensed under the Apache License,
 * Version 2.0. Only the syntax changed, except for the time domain (marked "Sluice:"): records
 * carry no event-time timestamps until event time lands in Sluice, so the function times out in
 * processing time.
 *
 * A KeyedProcessFunction maintains counts per key, and emits a key/count pair whenever a minute
 * passes without an update for that key.
 */
import { KeyedProcessFunction, ValueStateDescriptor } from 'sluice';
import type {
  Collector,
  KeyedProcessContext as Context,
  OnTimerContext,
  OpenContext,
  ValueState,
} from 'sluice';

/**
 * The data type stored in the state
 */
export class CountWithTimestamp {
  key!: string;
  count = 0;
  lastModified = 0;
}

/**
 * The implementation of the ProcessFunction that maintains the count and timeouts
 */
export class CountWithTimeoutFunction extends KeyedProcessFunction<
  string,
  [string, string],
  [string, number]
> {
  /** The state that is maintained by this process function */
  private state!: ValueState<CountWithTimestamp>;

  open(_openContext: OpenContext): void {
    this.state = this.getRuntimeContext().getState(new ValueStateDescriptor<CountWithTimestamp>('myState'));
  }

  processElement(value: [string, string], ctx: Context<string>, _out: Collector<[string, number]>): void {
    // retrieve the current count
    let current = this.state.value();
    if (current === undefined) {
      current = new CountWithTimestamp();
      current.key = value[0];
    }

    // update the state's count
    current.count++;

    // set the state's timestamp to the record's assigned event time timestamp
    // Sluice: records have no timestamp yet (ctx.timestamp() is null): the current processing time
    current.lastModified = ctx.timestamp() ?? ctx.timerService().currentProcessingTime();

    // write the state back
    this.state.update(current);

    // schedule the next timer 60 seconds from the current event time
    // Sluice: a processing-time timer, as there is no event time yet
    ctx.timerService().registerProcessingTimeTimer(current.lastModified + 60000);
  }

  onTimer(timestamp: number, _ctx: OnTimerContext<string>, out: Collector<[string, number]>): void {
    // get the state for the key that scheduled the timer
    const result = this.state.value()!;

    // check if this is an outdated timer or the latest timer
    if (timestamp === result.lastModified + 60000) {
      // emit the state on timeout
      out.collect([result.key, result.count]);
    }
  }
}
