/**
 * `GET /metrics`: every metric of the cluster in Prometheus' text format, named as Flink's
 * Prometheus reporter names them (scope and metric joined by `_`, other characters replaced by
 * `_`) with the prefix `sluice_` in place of `flink_`, and the scope's variables as labels — so a
 * Prometheus server scrapes it as it is, and dashboards built for Flink's names carry over.
 */
import { Gauge, Registry } from 'prom-client';
import type { HandlerContext } from './handler-context.js';
import { jobGaugeValues } from './job-info-handlers.js';
import type { Route } from './rest-router.js';
import { readTaskMetric, TASK_METRICS, userMetricsOf } from './task-metrics.js';

/** The route of the Prometheus endpoint. */
export function prometheusRoutes(ctx: HandlerContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      handle: async () => {
        const registry = scrape(ctx);
        return {
          status: 200,
          body: undefined,
          text: await registry.metrics(),
          headers: { 'Content-Type': registry.contentType },
        };
      },
    },
  ];
}

/** Flink's PrometheusReporter: characters outside [a-zA-Z0-9:_] become `_`. */
function metricName(scope: string, name: string): string {
  return `sluice_${scope}_${name}`.replace(/[^a-zA-Z0-9:_]/gu, '_');
}

/** Collects the values now into a fresh registry (a scrape is a snapshot; nothing is kept between scrapes). */
function scrape(ctx: HandlerContext): Registry {
  const registry = new Registry();
  const gauges = new Map<string, Gauge>();
  const set = (scope: string, name: string, labels: Record<string, string>, value: number): void => {
    if (!Number.isFinite(value)) return;
    const full = metricName(scope, name);
    let gauge = gauges.get(full);
    if (!gauge) {
      gauge = new Gauge({
        name: full,
        help: `${name} (scope ${scope})`,
        labelNames: Object.keys(labels),
        registers: [registry],
      });
      gauges.set(full, gauge);
    }
    gauge.set(labels, value);
  };
  const now = ctx.now();
  const tms = ctx.backend.taskManagers();
  const jobs = ctx.backend.jobs();
  for (const [name, value] of Object.entries(ctx.processMetrics?.read() ?? {}))
    set('jobmanager', name, {}, value);
  set('jobmanager', 'numRegisteredTaskManagers', {}, tms.length);
  set('jobmanager', 'numRunningJobs', {}, jobs.filter((j) => j.status() === 'RUNNING').length);
  set(
    'jobmanager',
    'taskSlotsTotal',
    {},
    tms.reduce((n, tm) => n + tm.slotsNumber, 0),
  );
  set(
    'jobmanager',
    'taskSlotsAvailable',
    {},
    tms.reduce((n, tm) => n + tm.freeSlots, 0),
  );
  for (const tm of tms)
    for (const [name, value] of Object.entries(tm.metrics ?? {}))
      set('taskmanager', name, { tm_id: tm.id }, value);
  for (const job of jobs) {
    const jobLabels = { job_id: job.jobId, job_name: job.name };
    for (const [name, value] of Object.entries(jobGaugeValues(job, now)))
      if (typeof value === 'number') set('jobmanager_job', name, jobLabels, value);
    for (const vertex of job.vertices())
      for (let subtask = 0; subtask < vertex.parallelism; subtask++) {
        const labels = {
          ...jobLabels,
          task_id: vertex.id,
          task_name: vertex.name,
          subtask_index: String(subtask),
          tm_id: vertex.locations[subtask]?.taskManagerId ?? '',
        };
        for (const metric of TASK_METRICS) {
          const value = readTaskMetric(vertex, subtask, metric);
          if (value !== undefined) set('taskmanager_job_task', metric.id, labels, value);
        }
        // User metrics: Flink's operator scope, the operator's name a label.
        for (const [id, value] of userMetricsOf(vertex, subtask)) {
          const dot = id.indexOf('.');
          set(
            'taskmanager_job_task_operator',
            id.slice(dot + 1),
            { ...labels, operator_name: id.slice(0, dot) },
            value,
          );
        }
      }
  }
  return registry;
}
