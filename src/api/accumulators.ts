/** Accumulators: per-subtask counters merged into the JobExecutionResult when the job ends. */
import type { Accumulator, AccumulatorRegistry } from '../core/accumulator.js';

/**
 * Sums numbers: an accumulator (Flink's IntCounter / LongCounter / DoubleCounter in one) and the
 * metric counter `getMetricGroup().counter(name)` returns (Flink's metrics Counter: inc, dec,
 * getCount), so both of Flink's `Counter` imports port to this one.
 */
export class Counter implements Accumulator<number, number> {
  private value = 0;
  add(value = 1): void {
    this.value += value;
  }
  /** Adds `n` (default 1); Flink's metric counter. */
  inc(n = 1): void {
    this.value += n;
  }
  /** Subtracts `n` (default 1). */
  dec(n = 1): void {
    this.value -= n;
  }
  /** The current count (the same as getLocalValue()). */
  getCount(): number {
    return this.value;
  }
  getLocalValue(): number {
    return this.value;
  }
  resetLocal(): void {
    this.value = 0;
  }
  merge(other: Accumulator<number, number>): void {
    this.value += other.getLocalValue();
  }
  clone(): Counter {
    const c = new Counter();
    c.value = this.value;
    return c;
  }
}

/** Collects values into a list (Flink's ListAccumulator). */
export class ListAccumulator<T> implements Accumulator<T, T[]> {
  private values: T[] = [];
  add(value: T): void {
    this.values.push(value);
  }
  getLocalValue(): T[] {
    return this.values;
  }
  resetLocal(): void {
    this.values = [];
  }
  merge(other: Accumulator<T, T[]>): void {
    this.values.push(...other.getLocalValue());
  }
  clone(): ListAccumulator<T> {
    const c = new ListAccumulator<T>();
    c.values = [...this.values];
    return c;
  }
}

/** Merges per-subtask registries into the job's results (name → value). */
export function mergeAccumulators(registries: Iterable<AccumulatorRegistry>): Record<string, unknown> {
  const merged = new Map<string, Accumulator<unknown, unknown>>();
  for (const registry of registries)
    for (const [name, acc] of registry) {
      const existing = merged.get(name);
      if (existing) existing.merge(acc);
      else merged.set(name, acc.clone());
    }
  const out: Record<string, unknown> = {};
  for (const [name, acc] of merged) out[name] = acc.getLocalValue();
  return out;
}
