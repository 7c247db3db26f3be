/**
 * Flink's MetricGroup as `getRuntimeContext().getMetricGroup()` returns it: metrics register and
 * record their values in the subtask (a counter counts, a gauge is read when asked); the task
 * reports their values with its own metrics, to the REST API (`<subtask>.<operator>.<name>`) and
 * Prometheus (`sluice_taskmanager_job_task_operator_<name>`).
 */
import { invalidProgram } from '../core/errors.js';
import { Counter } from './accumulators.js';

/** A value read when the metric is reported (Flink's Gauge): an object with getValue, or a function. */
export interface Gauge<T> {
  getValue(): T;
}

/** Events and their rate (Flink's Meter). */
export interface Meter {
  markEvent(n?: number): void;
  /** Events per second. */
  getRate(): number;
  getCount(): number;
}

/** A distribution of values (Flink's Histogram). */
export interface Histogram {
  update(value: number): void;
  getCount(): number;
}

/** Any metric a group holds. */
export type Metric = Counter | Gauge<unknown> | Meter | Histogram;

/** A named group of metrics, with nested groups (Flink's MetricGroup). */
export interface MetricGroup {
  /** A new Counter registered under `name`, or `counter` registered under it. */
  counter(name: string): Counter;
  counter<C extends Counter>(name: string, counter: C): C;
  /** Registers a gauge: `gauge('queue', () => queue.length)` or an object with `getValue()`. */
  gauge<T>(name: string, gauge: Gauge<T> | (() => T)): Gauge<T>;
  meter<M extends Meter>(name: string, meter: M): M;
  histogram<H extends Histogram>(name: string, histogram: H): H;
  /** A nested group: `addGroup('cache')`, or a key-value group `addGroup('shard', '3')`. */
  addGroup(name: string | number, value?: string | number): MetricGroup;
  /** The scope this group's metrics are reported under, outermost first. */
  getScopeComponents(): string[];
  /** The variables of the scope (`<job_name>`, `<operator_name>`, `<subtask_index>`, …). */
  getAllVariables(): Record<string, string>;
  /** The fully qualified name a metric of this group has: its scope and name, dot-separated. */
  getMetricIdentifier(metricName: string): string;
}

/** Events counted since creation, rated over the time since the first event (Flink's MeterView, simplified). */
export class MeterView implements Meter {
  private count = 0;
  private readonly startedAt = Date.now();

  markEvent(n = 1): void {
    this.count += n;
  }
  getRate(): number {
    const seconds = (Date.now() - this.startedAt) / 1000;
    return seconds > 0 ? this.count / seconds : 0;
  }
  getCount(): number {
    return this.count;
  }
}

function metricValue(metric: Metric): number | undefined {
  if (metric instanceof Counter) return metric.getCount();
  if ('getRate' in metric) return metric.getRate();
  if ('update' in metric) return metric.getCount();
  let value: unknown;
  try {
    value = metric.getValue();
  } catch {
    // A gauge that throws is left out of this report, as Flink's reporters skip it.
    return undefined;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function checkName(what: string, name: unknown): string {
  if ((typeof name !== 'string' && typeof name !== 'number') || String(name).length === 0)
    throw invalidProgram(`${what} needs a non-empty name, got ${String(name)}.`);
  return String(name);
}

/**
 * The metric group of one operator subtask. Metrics live as long as the subtask; a second metric
 * with a name already used in the group is returned but not registered, as Flink does.
 */
export class OperatorMetricGroup implements MetricGroup {
  private readonly metrics = new Map<string, Metric>();
  private readonly groups = new Map<string, OperatorMetricGroup>();

  /** @internal */
  constructor(
    private readonly scope: readonly string[],
    private readonly variables: Readonly<Record<string, string>>,
  ) {}

  counter<C extends Counter>(name: string, counter?: C): C {
    return this.register(checkName('counter()', name), counter ?? (new Counter() as C));
  }

  gauge<T>(name: string, gauge: Gauge<T> | (() => T)): Gauge<T> {
    const g = typeof gauge === 'function' ? { getValue: gauge } : gauge;
    if (!g || typeof g.getValue !== 'function')
      throw invalidProgram(`gauge('${name}') needs a function or an object with getValue().`);
    return this.register(checkName('gauge()', name), g);
  }

  meter<M extends Meter>(name: string, meter: M): M {
    return this.register(checkName('meter()', name), meter);
  }

  histogram<H extends Histogram>(name: string, histogram: H): H {
    return this.register(checkName('histogram()', name), histogram);
  }

  addGroup(name: string | number, value?: string | number): MetricGroup {
    const key = checkName('addGroup()', name);
    const id = value === undefined ? key : `${key}.${String(value)}`;
    let group = this.groups.get(id);
    if (!group) {
      const variables =
        value === undefined ? this.variables : { ...this.variables, [`<${key}>`]: String(value) };
      group = new OperatorMetricGroup(
        [...this.scope, key, ...(value === undefined ? [] : [String(value)])],
        variables,
      );
      this.groups.set(id, group);
    }
    return group;
  }

  getScopeComponents(): string[] {
    return [...this.scope];
  }

  getAllVariables(): Record<string, string> {
    return { ...this.variables };
  }

  getMetricIdentifier(metricName: string): string {
    return [...this.scope, metricName].join('.');
  }

  /**
   * Puts every metric's value now into `into` under `prefix` + its path below this group
   * (dot-separated): a counter's count, a numeric gauge's value (true/false as 1/0; other gauges
   * are left out), a meter's rate and a histogram's count.
   */
  collect(into: Record<string, number>, prefix: string): void {
    for (const [name, metric] of this.metrics) {
      const value = metricValue(metric);
      if (value !== undefined) into[prefix + name] = value;
    }
    for (const [id, group] of this.groups) group.collect(into, `${prefix}${id}.`);
  }

  /** The metric registered under `name` in this group, if any (what a reporter will read). */
  getMetric(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  private register<M extends Metric>(name: string, metric: M): M {
    if (!this.metrics.has(name)) this.metrics.set(name, metric);
    return metric;
  }
}
