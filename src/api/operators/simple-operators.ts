/** The record-at-a-time operators: map, filter, flatMap. */
import {
  bindMethod,
  type Collector,
  type FilterFunction,
  type FlatMapFunction,
  type MapFunction,
} from '../functions.js';
import { UdfOperator } from './udf-operator.js';

/** Applies a MapFunction to every record. */
export class MapOperator<IN, OUT> extends UdfOperator<IN, OUT, MapFunction<IN, OUT> | ((value: IN) => OUT)> {
  private readonly fn = bindMethod<[IN], OUT>(this.userFunction, 'map', 'map()');

  processElement(record: IN): void {
    let result: OUT;
    try {
      result = this.fn(record);
    } catch (e) {
      throw this.userError(e, 'map');
    }
    this.output.collect(result);
  }
}

/** Forwards the records a FilterFunction accepts. */
export class FilterOperator<T> extends UdfOperator<T, T, FilterFunction<T> | ((value: T) => boolean)> {
  private readonly fn = bindMethod<[T], boolean>(this.userFunction, 'filter', 'filter()');

  processElement(record: T): void {
    let keep: boolean;
    try {
      keep = this.fn(record);
    } catch (e) {
      throw this.userError(e, 'filter');
    }
    if (keep) this.output.collect(record);
  }
}

/** Runs a FlatMapFunction, whose collector is the operator's output itself. */
export class FlatMapOperator<IN, OUT> extends UdfOperator<
  IN,
  OUT,
  FlatMapFunction<IN, OUT> | ((value: IN, out: Collector<OUT>) => void)
> {
  private readonly fn = bindMethod<[IN, Collector<OUT>], void>(this.userFunction, 'flatMap', 'flatMap()');

  processElement(record: IN): void {
    try {
      this.fn(record, this.output);
    } catch (e) {
      throw this.userError(e, 'flatMap');
    }
  }
}
