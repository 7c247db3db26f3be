/** Handlers of the cluster endpoints: dashboard configuration, cluster overview, TaskManagers. */
import { isJobTerminal } from '../coordinator/job-master.js';
import { listParam, SLUICE_VERSION, type HandlerContext } from './handler-context.js';
import { metricsResponse } from './job-manager-handlers.js';
import type { RestTaskManager } from './rest-backend.js';
import { RestHandlerException, type Route } from './rest-router.js';
import type {
  ClusterOverviewWithVersion,
  DashboardConfiguration,
  ResourceProfileInfo,
  TaskManagerInfo,
  TaskManagersInfo,
} from './rest-schema.js';

const MB = 1024 * 1024;

/** The routes of the cluster endpoints. */
export function clusterRoutes(ctx: HandlerContext): Route[] {
  return [
    { method: 'GET', path: '/config', handle: () => ({ status: 200, body: dashboardConfiguration(ctx) }) },
    { method: 'GET', path: '/overview', handle: () => ({ status: 200, body: overview(ctx) }) },
    {
      method: 'GET',
      path: '/taskmanagers',
      handle: () => ({ status: 200, body: taskManagers(ctx) }),
    },
    {
      method: 'GET',
      path: '/taskmanagers/:taskmanagerid',
      handle: (req) => ({ status: 200, body: taskManagerDetails(ctx, req.params['taskmanagerid']!) }),
    },
    {
      method: 'GET',
      path: '/taskmanagers/:taskmanagerid/metrics',
      handle: (req) => ({
        status: 200,
        body: metricsResponse(taskManagerMetrics(ctx, req.params['taskmanagerid']!), listParam(req, 'get')),
      }),
    },
  ];
}

function dashboardConfiguration(ctx: HandlerContext): DashboardConfiguration {
  const now = new Date(ctx.now());
  const zoneName =
    new Intl.DateTimeFormat('en-US', { timeZoneName: 'long' })
      .formatToParts(now)
      .find((p) => p.type === 'timeZoneName')?.value ?? 'Coordinated Universal Time';
  // Flink reports the zone's raw (standard-time) offset: the smaller of January's and July's.
  const year = now.getFullYear();
  const standardOffsetMinutes = Math.max(
    new Date(year, 0, 1).getTimezoneOffset(),
    new Date(year, 6, 1).getTimezoneOffset(),
  );
  return {
    'refresh-interval': ctx.refreshIntervalMs,
    'timezone-name': zoneName,
    'timezone-offset': -standardOffsetMinutes * 60_000,
    'flink-version': SLUICE_VERSION,
    'flink-revision': `sluice ${SLUICE_VERSION}`,
    // Job bundles can be submitted over /jars when the backend takes submissions; cancelling works.
    features: {
      'web-submit': ctx.backend.submitJob !== undefined,
      'web-cancel': ctx.cancelEnabled ?? true,
      'web-rescale': false,
      'web-history': false,
    },
  };
}

function overview(ctx: HandlerContext): ClusterOverviewWithVersion {
  const statuses = ctx.backend.jobs().map((j) => j.status());
  const tms = ctx.backend.taskManagers();
  return {
    taskmanagers: tms.length,
    'slots-total': tms.reduce((n, tm) => n + tm.slotsNumber, 0),
    'slots-available': tms.reduce((n, tm) => n + tm.freeSlots, 0),
    // Sluice never blocks a TaskManager (Flink's speculative execution blocklist).
    'slots-free-and-blocked': 0,
    'taskmanagers-blocked': 0,
    'jobs-running': statuses.filter((s) => !isJobTerminal(s)).length,
    'jobs-finished': statuses.filter((s) => s === 'FINISHED').length,
    'jobs-cancelled': statuses.filter((s) => s === 'CANCELED').length,
    'jobs-failed': statuses.filter((s) => s === 'FAILED').length,
    'flink-version': SLUICE_VERSION,
    'flink-commit': `sluice ${SLUICE_VERSION}`,
  };
}

/** The TaskManager with this id: 404 as Flink's TaskManagerDetailsHandler otherwise. */
function requireTaskManager(ctx: HandlerContext, taskManagerId: string): RestTaskManager {
  const tm = ctx.backend.taskManagers().find((t) => t.id === taskManagerId);
  if (!tm) throw new RestHandlerException(404, `Could not find TaskExecutor ${taskManagerId}.`);
  return tm;
}

/** A TaskManager's process figures; one that runs in this process shares the JobManager's. */
function taskManagerMetrics(ctx: HandlerContext, taskManagerId: string): Readonly<Record<string, number>> {
  const tm = requireTaskManager(ctx, taskManagerId);
  return tm.metrics ?? (tm.dataPort === -1 ? (ctx.processMetrics?.read() ?? {}) : {});
}

/** Flink's TaskManagerDetailsInfo: the TaskManager's info, its slots and its memory figures. */
function taskManagerDetails(ctx: HandlerContext, taskManagerId: string): unknown {
  const tm = requireTaskManager(ctx, taskManagerId);
  const info = taskManagerInfo(tm);
  const m = taskManagerMetrics(ctx, taskManagerId);
  const read = (name: string): number => m[name] ?? 0;
  return {
    ...info,
    allocatedSlots: [],
    metrics: {
      heapUsed: read('Status.JVM.Memory.Heap.Used'),
      heapCommitted: read('Status.JVM.Memory.Heap.Committed'),
      heapMax: read('Status.JVM.Memory.Heap.Max'),
      nonHeapUsed: read('Status.JVM.Memory.NonHeap.Used'),
      nonHeapCommitted: read('Status.JVM.Memory.NonHeap.Committed'),
      nonHeapMax: read('Status.JVM.Memory.NonHeap.Max'),
      directCount: read('Status.JVM.Memory.Direct.Count'),
      directUsed: read('Status.JVM.Memory.Direct.MemoryUsed'),
      directMax: read('Status.JVM.Memory.Direct.TotalCapacity'),
      mappedCount: 0,
      mappedUsed: 0,
      mappedMax: 0,
      // A Node.js process has no network buffer pool: records travel in per-channel buffers.
      nettyShuffleMemorySegmentsAvailable: 0,
      nettyShuffleMemorySegmentsUsed: 0,
      nettyShuffleMemorySegmentsTotal: 0,
      nettyShuffleMemoryAvailable: 0,
      nettyShuffleMemoryUsed: 0,
      nettyShuffleMemoryTotal: 0,
      garbageCollectors: [
        {
          name: 'V8',
          count: read('Status.JVM.GarbageCollector.V8.Count'),
          time: read('Status.JVM.GarbageCollector.V8.Time'),
        },
      ],
    },
  };
}

function taskManagers(ctx: HandlerContext): TaskManagersInfo {
  return { taskmanagers: ctx.backend.taskManagers().map(taskManagerInfo) };
}

function taskManagerInfo(tm: RestTaskManager): TaskManagerInfo {
  const heapMb = Math.floor(tm.heapBytes / MB);
  const resources = (share: number): ResourceProfileInfo => ({
    cpuCores: tm.slotsNumber === 0 ? 0 : (tm.cpuCores * share) / tm.slotsNumber,
    taskHeapMemory: tm.slotsNumber === 0 ? 0 : Math.floor((heapMb * share) / tm.slotsNumber),
    taskOffHeapMemory: 0,
    managedMemory: 0,
    networkMemory: 0,
    extendedResources: {},
  });
  return {
    id: tm.id,
    path: tm.path,
    dataPort: tm.dataPort,
    jmxPort: -1,
    timeSinceLastHeartbeat: tm.lastHeartbeat,
    slotsNumber: tm.slotsNumber,
    freeSlots: tm.freeSlots,
    totalResource: resources(tm.slotsNumber),
    freeResource: resources(tm.freeSlots),
    hardware: {
      cpuCores: tm.cpuCores,
      physicalMemory: tm.physicalMemoryBytes,
      freeMemory: tm.heapBytes,
      managedMemory: 0,
    },
    // A Node.js process has one heap and no managed or network memory pools.
    memoryConfiguration: {
      frameworkHeap: 0,
      taskHeap: tm.heapBytes,
      frameworkOffHeap: 0,
      taskOffHeap: 0,
      networkMemory: 0,
      managedMemory: 0,
      jvmMetaspace: 0,
      jvmOverhead: 0,
      totalFlinkMemory: tm.heapBytes,
      totalProcessMemory: tm.heapBytes,
    },
    blocked: false,
  };
}
