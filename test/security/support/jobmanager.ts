/** A standalone JobManager in the test process (as `sluice jobmanager` starts it), TaskManagers for it, and REST calls that submit jobs. */
import { afterEach } from 'vitest';
import { Configuration } from '../../../src/core/configuration.js';
import { bundleJob } from '../../../src/cluster/job-bundle.js';
import { startJobManager, type StandaloneJobManager } from '../../../src/cli/cluster-commands.js';
import {
  killProcess,
  spawnTaskManagerProcess,
  until,
  type TaskManagerProcess,
} from '../../support/cluster.js';

/** What a REST call answered. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { errors?: string[] } & Record<string, unknown>;
}

/**
 * For a test file: `start` JobManagers (on free ports) and TaskManager processes; all are
 * stopped after each test, even when it fails.
 */
export function useJobManagers(): {
  start(config?: Readonly<Record<string, string>>): Promise<StandaloneJobManager>;
  taskManagers(
    jm: StandaloneJobManager,
    n: number,
    defines?: Readonly<Record<string, string>>,
  ): Promise<TaskManagerProcess[]>;
} {
  const running: StandaloneJobManager[] = [];
  const processes: TaskManagerProcess[] = [];
  afterEach(async () => {
    for (const tm of processes.splice(0)) await killProcess(tm.child);
    for (const jm of running.splice(0)) await jm.close();
  });
  return {
    start: async (config = {}) => {
      const jm = await startJobManager(
        new Configuration().addAll({ 'rest.port': '0', 'jobmanager.rpc.port': '0', ...config }),
      );
      running.push(jm);
      return jm;
    },
    taskManagers: async (jm, n, defines = {}) => {
      const started = Array.from({ length: n }, () =>
        spawnTaskManagerProcess({
          jobManager: jm.registry.address,
          secret: jm.secret,
          defines: { 'taskmanager.numberOfTaskSlots': '2', ...defines },
        }),
      );
      processes.push(...started);
      await until(() => {
        if (jm.registry.taskManagers().length < n) throw new Error('TaskManagers still registering');
      }, 30_000);
      return started;
    },
  };
}

/** Sends a request with `fetch` (a curl-like client: no Origin, no Sec-Fetch-* headers). */
export async function call(
  base: string,
  method: string,
  path: string,
  init: { body?: string | FormData; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { method, ...init });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === '' ? {} : JSON.parse(text)) as Answer['body'],
  };
}

/** Bundles `jobFile`, uploads it and runs it with `args`; the run's answer. */
export async function submit(
  base: string,
  jobFile: string,
  args: readonly string[] = [],
  headers: Record<string, string> = {},
): Promise<Answer> {
  const form = new FormData();
  form.append('jarfile', new Blob([await bundleJob(jobFile)]), 'job.mjs');
  const upload = await call(base, 'POST', '/jars/upload', { body: form, headers });
  if (upload.status !== 200) return upload;
  return call(base, 'POST', `/jars/${String(upload.body['filename'])}/run`, {
    body: JSON.stringify({ programArgsList: args }),
    headers: { ...headers, 'Content-Type': 'application/json' },
  });
}
