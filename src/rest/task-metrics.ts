/**
 * A vertex's task metrics under Flink's names (numRecordsIn, busyTimeMsPerSecond, …), read from
 * the counters each subtask reports, and the back-pressure levels Flink derives from them.
 */
import { MAX_WATERMARK, MIN_WATERMARK } from '../core/watermark.js';
import type { RestVertex } from './rest-backend.js';

/** A task metric: its Flink name and how it is read from one subtask's counters. */
interface TaskMetric {
  readonly id: string;
  readonly read: (counters: Readonly<Record<string, number>>, isSource: boolean) => number;
  /** How the value is sent, when not as a plain number (watermarks as Java longs). */
  readonly format?: (value: number) => string;
}

const counter =
  (name: string) =>
  (c: Readonly<Record<string, number>>): number =>
    c[name] ?? 0;

/** As Flink's task IO metrics, a source task reads no records and no bytes (it has no network input). */
const networkInput =
  (name: string) =>
  (c: Readonly<Record<string, number>>, isSource: boolean): number =>
    isSource ? 0 : (c[name] ?? 0);

/** Every task metric a vertex's subtasks have, in the order Flink's dashboard lists them. */
export const TASK_METRICS: readonly TaskMetric[] = [
  { id: 'numRecordsIn', read: networkInput('recordsIn') },
  { id: 'numRecordsOut', read: counter('recordsOut') },
  { id: 'numBytesIn', read: networkInput('bytesIn') },
  { id: 'numBytesOut', read: counter('bytesOut') },
  { id: 'numRecordsInPerSecond', read: networkInput('numRecordsInPerSecond') },
  { id: 'numRecordsOutPerSecond', read: counter('numRecordsOutPerSecond') },
  { id: 'numBytesInPerSecond', read: networkInput('numBytesInPerSecond') },
  { id: 'numBytesOutPerSecond', read: counter('numBytesOutPerSecond') },
  { id: 'busyTimeMsPerSecond', read: counter('busyTimeMsPerSecond') },
  { id: 'idleTimeMsPerSecond', read: counter('idleTimeMsPerSecond') },
  { id: 'backPressuredTimeMsPerSecond', read: counter('backPressuredTimeMsPerSecond') },
  { id: 'accumulatedBusyTime', read: counter('busyTimeMs') },
  { id: 'accumulatedIdleTime', read: counter('idleTimeMs') },
  { id: 'accumulatedBackPressuredTime', read: counter('backPressuredTimeMs') },
  {
    id: 'currentInputWatermark',
    read: (c) => c['currentInputWatermark'] ?? MIN_WATERMARK,
    format: watermarkString,
  },
  { id: 'mailboxQueueSize', read: counter('mailboxSize') },
  { id: 'checkpointAlignmentTime', read: counter('checkpointAlignmentTimeNanos') },
  { id: 'checkpointStartDelayNanos', read: counter('checkpointStartDelayNanos') },
];

const BY_ID = new Map(TASK_METRICS.map((m) => [m.id, m]));

/** The task metric named `id`, if there is one. */
export function taskMetric(id: string): TaskMetric | undefined {
  return BY_ID.get(id);
}

/** Subtask `subtask`'s counters, or undefined while it has not reported. */
export function subtaskCountersOf(
  vertex: RestVertex,
  subtask: number,
): Readonly<Record<string, number>> | undefined {
  return vertex.metrics?.subtasks?.[subtask];
}

/** The value of `metric` for one subtask, or undefined while it has not reported. */
export function readTaskMetric(vertex: RestVertex, subtask: number, metric: TaskMetric): number | undefined {
  const counters = subtaskCountersOf(vertex, subtask);
  return counters === undefined ? undefined : metric.read(counters, vertex.inputs.length === 0);
}

/** Flink's back-pressure level of a ratio of back-pressured time (BackPressureLevel: ≤ 0.1 ok, ≤ 0.5 low). */
export function backPressureLevel(ratio: number): 'ok' | 'low' | 'high' {
  return ratio <= 0.1 ? 'ok' : ratio <= 0.5 ? 'low' : 'high';
}

/** A metric's value as Flink's REST API sends it: a string, integral values without a fraction. */
export function metricString(metric: TaskMetric, value: number): string {
  if (metric.format) return metric.format(value);
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
}

/**
 * A watermark as a Java long prints it, so that "no watermark yet" is Long.MIN_VALUE and the end
 * of time Long.MAX_VALUE, as Flink's dashboard expects them.
 */
export function watermarkString(watermark: number): string {
  return watermark <= MIN_WATERMARK
    ? '-9223372036854775808'
    : watermark >= MAX_WATERMARK
      ? '9223372036854775807'
      : String(Math.trunc(watermark));
}

/** Marks user metrics among a subtask's counters (the Task's USER_METRIC_PREFIX). */
const USER = 'user:';

/** The ids of every metric subtask `subtask` has: the task metrics, then its operators' user metrics. */
export function metricIdsOf(vertex: RestVertex, subtask: number): string[] {
  const user = Object.keys(subtaskCountersOf(vertex, subtask) ?? {})
    .filter((k) => k.startsWith(USER))
    .map((k) => k.slice(USER.length));
  return [...TASK_METRICS.map((m) => m.id), ...user];
}

/** The value of metric `id` (a task metric's name, or `<operator_name>.<name>` of a user metric) as REST sends it. */
export function metricValueOf(vertex: RestVertex, subtask: number, id: string): string | undefined {
  const metric = taskMetric(id);
  if (metric) {
    const value = readTaskMetric(vertex, subtask, metric);
    return value === undefined ? undefined : metricString(metric, value);
  }
  const value = subtaskCountersOf(vertex, subtask)?.[USER + id];
  return value === undefined ? undefined : String(value);
}

/** The number behind metric `id` of one subtask (for aggregation), or undefined. */
export function metricNumberOf(vertex: RestVertex, subtask: number, id: string): number | undefined {
  const metric = taskMetric(id);
  if (metric) return readTaskMetric(vertex, subtask, metric);
  return subtaskCountersOf(vertex, subtask)?.[USER + id];
}

/** Each user metric of one subtask: its `<operator_name>.<name>` id and value. */
export function userMetricsOf(vertex: RestVertex, subtask: number): [string, number][] {
  return Object.entries(subtaskCountersOf(vertex, subtask) ?? {})
    .filter(([k]) => k.startsWith(USER))
    .map(([k, v]) => [k.slice(USER.length), v]);
}
