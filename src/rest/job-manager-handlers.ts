/** Handlers of the JobManager's pages: its configuration, environment and process metrics. */
import { arch, platform } from 'node:os';
import { listParam, type HandlerContext } from './handler-context.js';
import type { Route } from './rest-router.js';
import type { Metric, MetricCollectionResponseBody } from './rest-schema.js';

/** The routes of the JobManager's pages. */
export function jobManagerRoutes(ctx: HandlerContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/jobmanager/config',
      // Flink's ClusterConfigHandler: a list of key/value entries.
      handle: () => ({
        status: 200,
        body: Object.entries(ctx.configuration ?? {}).map(([key, value]) => ({ key, value })),
      }),
    },
    {
      method: 'GET',
      path: '/jobmanager/environment',
      handle: () => ({ status: 200, body: environment() }),
    },
    {
      method: 'GET',
      path: '/jobmanager/metrics',
      handle: (request) => ({ status: 200, body: processMetrics(ctx, listParam(request, 'get')) }),
    },
  ];
}

/**
 * Flink's EnvironmentInfo: the runtime (Node.js for the JVM), its options (`execArgv`, as the
 * JVM's options) and, in place of a class path, the entry script.
 */
function environment(): unknown {
  return {
    jvm: {
      version: `Node.js ${process.version} (V8 ${process.versions.v8}) on ${platform()} ${arch()}`,
      arch: arch(),
      options: [...process.execArgv],
    },
    classpath: process.argv[1] === undefined ? [] : [process.argv[1]],
  };
}

/** Without `get`, the ids of the process metrics; with it, the values of those known. */
export function metricsResponse(
  values: Readonly<Record<string, number>>,
  requested: readonly string[],
): MetricCollectionResponseBody {
  if (requested.length === 0) return Object.keys(values).map((id): Metric => ({ id }));
  return requested.flatMap((id): Metric[] =>
    Object.hasOwn(values, id) ? [{ id, value: String(values[id]) }] : [],
  );
}

function processMetrics(ctx: HandlerContext, requested: readonly string[]): MetricCollectionResponseBody {
  return metricsResponse(ctx.processMetrics?.read() ?? {}, requested);
}
