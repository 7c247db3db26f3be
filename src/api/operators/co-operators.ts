/**
 * The operators of connected streams (Flink's CoStreamMap, CoStreamFlatMap, CoProcessOperator and
 * KeyedCoProcessOperator): two-input heads whose inputs each have their own method. A keyed one
 * sets the current key from its input's key selector, so keyed state and timers are shared by
 * both inputs per key.
 */
import type { KeySelectorFn } from '../../graph/partitioner.js';
import type {
  CoFlatMapFunction,
  CoMapFunction,
  CoProcessFunction,
  KeyedCoProcessFunction,
} from '../co-functions.js';
import type { KeyedProcessFunction } from '../process-function.js';
import { KeyedProcessOperator } from './keyed-process-operator.js';
import { ProcessOperator } from './process-operator.js';
import { UdfOperator } from './udf-operator.js';
import type { TwoInputStreamOperator } from '../../runtime/stream-operator.js';

/** Operator of `connected.map(CoMapFunction)`. */
export class CoMapOperator<IN1, IN2, OUT>
  extends UdfOperator<IN1, OUT, CoMapFunction<IN1, IN2, OUT>>
  implements TwoInputStreamOperator<IN1, IN2>
{
  processElement(record: IN1): void {
    this.processElement1(record);
  }
  processElement1(record: IN1): void {
    let result: OUT;
    try {
      result = this.userFunction.map1(record);
    } catch (e) {
      throw this.userError(e, 'map1');
    }
    this.output.collect(result);
  }
  processElement2(record: IN2): void {
    let result: OUT;
    try {
      result = this.userFunction.map2(record);
    } catch (e) {
      throw this.userError(e, 'map2');
    }
    this.output.collect(result);
  }
}

/** Operator of `connected.flatMap(CoFlatMapFunction)`. */
export class CoFlatMapOperator<IN1, IN2, OUT>
  extends UdfOperator<IN1, OUT, CoFlatMapFunction<IN1, IN2, OUT>>
  implements TwoInputStreamOperator<IN1, IN2>
{
  processElement(record: IN1): void {
    this.processElement1(record);
  }
  processElement1(record: IN1): void {
    try {
      this.userFunction.flatMap1(record, this.output);
    } catch (e) {
      throw this.userError(e, 'flatMap1');
    }
  }
  processElement2(record: IN2): void {
    try {
      this.userFunction.flatMap2(record, this.output);
    } catch (e) {
      throw this.userError(e, 'flatMap2');
    }
  }
}

/** Operator of `connected.process(CoProcessFunction)` on streams that are not keyed. */
export class CoProcessOperator<IN1, IN2, OUT>
  extends ProcessOperator<IN1, OUT>
  implements TwoInputStreamOperator<IN1, IN2>
{
  constructor(fn: CoProcessFunction<IN1, IN2, OUT>) {
    super(fn as never);
  }
  private get coFunction(): CoProcessFunction<IN1, IN2, OUT> {
    return this.userFunction as unknown as CoProcessFunction<IN1, IN2, OUT>;
  }
  override processElement(record: IN1): void {
    this.processElement1(record);
  }
  processElement1(record: IN1): void {
    try {
      this.coFunction.processElement1(record, this.context, this.output);
    } catch (e) {
      throw this.userError(e, 'processElement1');
    }
  }
  processElement2(record: IN2): void {
    try {
      this.coFunction.processElement2(record, this.context, this.output);
    } catch (e) {
      throw this.userError(e, 'processElement2');
    }
  }
}

/** Operator of `connected.keyBy(k1, k2).process(KeyedCoProcessFunction)`. */
export class KeyedCoProcessOperator<K, IN1, IN2, OUT>
  extends KeyedProcessOperator<K, IN1, OUT>
  implements TwoInputStreamOperator<IN1, IN2>
{
  constructor(
    fn: KeyedCoProcessFunction<K, IN1, IN2, OUT>,
    key1: KeySelectorFn<IN1, K>,
    private readonly key2: KeySelectorFn<IN2, K>,
  ) {
    super(fn as unknown as KeyedProcessFunction<K, IN1, OUT>, key1);
  }
  private get coFunction(): KeyedCoProcessFunction<K, IN1, IN2, OUT> {
    return this.userFunction as unknown as KeyedCoProcessFunction<K, IN1, IN2, OUT>;
  }
  override processElement(record: IN1): void {
    this.processElement1(record);
  }
  processElement1(record: IN1): void {
    this.setCurrentKeyOf(this.keySelector, record);
    try {
      this.coFunction.processElement1(record, this.context, this.output);
    } catch (e) {
      throw this.userError(e, 'processElement1');
    }
  }
  processElement2(record: IN2): void {
    this.setCurrentKeyOf(this.key2, record);
    try {
      this.coFunction.processElement2(record, this.context, this.output);
    } catch (e) {
      throw this.userError(e, 'processElement2');
    }
  }
}
