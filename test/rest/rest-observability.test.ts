// Flame graphs, log pages, checkpoint timing metrics and every page Flink's dashboard polls, over a
// job on two TaskManager processes: the answers in Flink's shapes, from real processes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobClient } from 'sluice';
import { ClusterRestBackend } from '../../src/rest/cluster-rest-backend.js';
import { DEFAULT_FLAME_GRAPH_SETTINGS } from '../../src/rest/flame-graph-settings.js';
import type { JobDetailsInfo } from '../../src/rest/rest-schema.js';
import { startRestServer, type RestServer } from '../../src/rest/rest-server.js';
import type { FlameGraphNode } from '../../src/runtime/cpu-flame-graph.js';
import { main } from '../fixtures/busy-map-job.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { eventually, expectFlinkShape, getJson, request } from './support/rest-fixture.js';

const JOB = fileURLToPath(new URL('../fixtures/busy-map-job.ts', import.meta.url));

interface VertexFlameGraph {
  readonly endTimestamp: number;
  readonly data?: FlameGraphNode;
}

interface LogList {
  readonly logs: readonly { readonly name: string; readonly size: number; readonly mtime: number }[];
}

/** Every frame name of a flame graph. */
function frames(node: FlameGraphNode): string[] {
  return [node.name, ...node.children.flatMap(frames)];
}

/** Each node's value counts its subtree: at least the sum of its children's. */
function expectSubtreeValues(node: FlameGraphNode): void {
  expect(node.value).toBeGreaterThanOrEqual(node.children.reduce((n, c) => n + c.value, 0));
  node.children.forEach(expectSubtreeValues);
}

describe('observability pages of a job on TaskManager processes', () => {
  let logDir: string;
  let running: TestCluster | undefined;
  let server: RestServer | undefined;
  let disabled: RestServer | undefined;
  let client: JobClient | undefined;
  let base: string;
  let vertices: Map<string, string>;

  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'sluice-observability-'));
    running = await startTestCluster({
      jobFile: JOB,
      args: ['2'],
      taskManagers: 2,
      slots: 1,
      config: { 'env.log.dir': logDir, 'log.level': 'info' },
    });
    await running.waitForTaskManagers(2);
    const backend = new ClusterRestBackend(running.executor, running.cluster.registry);
    server = await startRestServer({
      backend,
      port: 0,
      flameGraph: {
        ...DEFAULT_FLAME_GRAPH_SETTINGS,
        enabled: true,
        sampling: { numSamples: 200, delayBetweenSamplesMs: 5, stackDepth: 100 },
      },
      logFiles: () => ({ log: join(logDir, 'jobmanager.log'), stdout: join(logDir, 'jobmanager.out') }),
    });
    disabled = await startRestServer({ backend, port: 0 });
    base = server.url;
    client = await main(['2']);
    const jobId = client.jobId;
    await eventually(async () => {
      const job = await getJson<JobDetailsInfo>(base, `/jobs/${jobId}`);
      return job.vertices.every((v) => v.status === 'RUNNING') ? true : undefined;
    }, 'every vertex RUNNING');
    const job = await getJson<JobDetailsInfo>(base, `/jobs/${jobId}`);
    vertices = new Map(job.vertices.map((v) => [v.name, v.id]));
  }, 60_000);

  afterAll(async () => {
    await client?.cancel().catch(() => {});
    await server?.close();
    await disabled?.close();
    await running?.close();
    rmSync(logDir, { recursive: true, force: true });
  });

  const vertexOf = (part: string): string => [...vertices].find(([name]) => name.includes(part))![1];

  it("samples the vertex's TaskManagers and names the busy user function in the flame graph", async () => {
    const path = `/jobs/${client!.jobId}/vertices/${vertexOf('busy map')}/flamegraph?type=on_cpu`;
    // Flink's answers: disabled (-2) without rest.flamegraph.enabled, waiting (-3) while sampling.
    const off = await getJson<VertexFlameGraph>(disabled!.url, path);
    expect(off).toEqual({ endTimestamp: -2 });
    const first = await getJson<VertexFlameGraph>(base, path);
    expectFlinkShape(first, '/jobs/{jobid}/vertices/{vertexid}/flamegraph');
    expect(first.endTimestamp === -3 || first.data !== undefined).toBe(true);
    const sampled = await eventually(async () => {
      const answer = await getJson<VertexFlameGraph>(base, path);
      return answer.data ? answer : undefined;
    }, 'a sampled flame graph');
    const graph = sampled.data!;
    expect(sampled.endTimestamp).toBeGreaterThan(0);
    // Within rest.flamegraph.refresh-interval the same sampling is served again.
    expect((await getJson<VertexFlameGraph>(base, path)).endTimestamp).toBe(sampled.endTimestamp);
    expectFlinkShape({ endTimestamp: 1, data: graph }, '/jobs/{jobid}/vertices/{vertexid}/flamegraph');
    expect(graph.name).toBe('root');
    expect(graph.value).toBeGreaterThan(0);
    expectSubtreeValues(graph);
    // Named as V8 names it: the function, then the file (the job bundle the TaskManager loaded) and line.
    expect(frames(graph).filter((f) => f.startsWith('burnCpuForFlameGraph ('))).not.toEqual([]);
    // On-CPU leaves out the event loop's idle samples; off-CPU is made of them only.
    expect(graph.children.map((c) => c.name)).not.toContain('(idle)');
    const offCpu = await getJson<VertexFlameGraph>(base, path.replace('on_cpu', 'off_cpu'));
    expect(offCpu.data!.children.every((c) => c.name === '(idle)')).toBe(true);
    const bad = await request(base, 'GET', path.replace('on_cpu', 'sideways'));
    expect(bad.status).toBe(400);
  }, 30_000);

  it("serves each TaskManager's log directory: the list, its JSON-lines log by name, log and stdout", async () => {
    const { taskmanagers } = await getJson<{ taskmanagers: { id: string }[] }>(base, '/taskmanagers');
    expect(taskmanagers).toHaveLength(2);
    for (const { id } of taskmanagers) {
      const list = await getJson<LogList>(base, `/taskmanagers/${id}/logs`);
      expectFlinkShape(list, '/taskmanagers/{taskmanagerid}/logs');
      const names = list.logs.map((l) => l.name);
      expect(names).toEqual(
        expect.arrayContaining([`sluice-taskmanager-${id}.log`, `sluice-taskmanager-${id}.out`]),
      );
      const log = await fetch(`${base}/taskmanagers/${id}/logs/sluice-taskmanager-${id}.log`);
      expect(log.status).toBe(200);
      expect(log.headers.get('content-type')).toMatch(/^text\/plain/u);
      const lines = (await log.text()).split('\n').filter((l) => l !== '');
      expect(lines.length).toBeGreaterThan(0);
      // One JSON object a line: what log shippers read.
      const records = lines.map((l) => JSON.parse(l) as { level: number; msg: string; component?: string });
      expect(records.some((r) => r.component === 'taskmanager' && /registered/u.test(r.msg))).toBe(true);
      const whole = await fetch(`${base}/taskmanagers/${id}/log`);
      expect((await whole.text()).split('\n').filter((l) => l !== '').length).toBeGreaterThanOrEqual(
        lines.length,
      );
      const stdout = await fetch(`${base}/taskmanagers/${id}/stdout`);
      expect(stdout.status).toBe(200);
      expect(stdout.headers.get('content-type')).toMatch(/^text\/plain/u);
      // Names with a directory part are refused, never resolved; unknown files are not found.
      for (const name of ['..%2F..%2F..%2Fetc%2Fpasswd', 'sub%2F..%2Fx.log', '..%2Fx.log', '%2Fetc%2Fhosts'])
        expect((await request(base, 'GET', `/taskmanagers/${id}/logs/${name}`)).status).toBe(400);
      expect((await request(base, 'GET', `/taskmanagers/${id}/logs/missing.log`)).status).toBe(404);
    }
    expect((await request(base, 'GET', `/taskmanagers/${'f'.repeat(32)}/logs`)).status).toBe(404);
  }, 30_000);

  it('reports checkpointAlignmentTime and checkpointStartDelayNanos as its statistics report them', async () => {
    const jobId = client!.jobId;
    const sum = vertexOf('sum');
    type SubtaskStats = { index: number; alignment: { duration: number }; start_delay: number };
    // Until a checkpoint's barrier reached the sum a measurable while (whole ms) after its trigger:
    // the first one, unless the machine is idle enough for JobManager → source → sum in under 1 ms.
    let subtasks: SubtaskStats[] = [];
    for (let attempt = 1; subtasks.every((s) => s.start_delay === 0); attempt++) {
      expect(attempt, 'checkpoints triggered until one had a start delay').toBeLessThanOrEqual(20);
      const triggered = await request(base, 'POST', `/jobs/${jobId}/checkpoints`, '{}');
      expect(triggered.status).toBe(202);
      const id = await eventually(
        async () => {
          const stats = await getJson<{
            counts: { completed: number };
            latest: { completed: { id: number } | null };
          }>(base, `/jobs/${jobId}/checkpoints`);
          return stats.counts.completed === attempt ? stats.latest.completed?.id : undefined;
        },
        `completed checkpoint ${attempt}`,
        20_000,
      );
      ({ subtasks } = await getJson<{ subtasks: SubtaskStats[] }>(
        base,
        `/jobs/${jobId}/checkpoints/details/${id}/subtasks/${sum}`,
      ));
      expect(subtasks).toHaveLength(2);
    }
    // Each subtask's gauges (ns) say what its acknowledgement said (ms), once it reported them.
    const metricsPath = `/jobs/${jobId}/vertices/${sum}/subtasks`;
    for (const subtask of subtasks)
      await eventually(async () => {
        const values = await getJson<{ id: string; value: string }[]>(
          base,
          `${metricsPath}/${subtask.index}/metrics?get=checkpointAlignmentTime,checkpointStartDelayNanos`,
        );
        expectFlinkShape(values, '/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}/metrics');
        const ms = (name: string) => Number(values.find((v) => v.id === name)?.value) / 1e6;
        return Math.abs(ms('checkpointStartDelayNanos') - subtask.start_delay) < 1 &&
          Math.abs(ms('checkpointAlignmentTime') - subtask.alignment.duration) < 1
          ? true
          : undefined;
      }, `subtask ${subtask.index}'s checkpoint gauges`);
  }, 30_000);

  it("answers every page Flink's dashboard polls in Flink's shapes", async () => {
    const jobId = client!.jobId;
    const { taskmanagers } = await getJson<{ taskmanagers: { id: string }[] }>(base, '/taskmanagers');
    const tm = taskmanagers[0]!.id;
    const overview = await getJson<Record<string, number>>(base, '/overview');
    expectFlinkShape(overview, '/overview');
    expect(overview['slots-free-and-blocked']).toBe(0);
    expect(overview['taskmanagers-blocked']).toBe(0);
    const job = await getJson<JobDetailsInfo>(base, `/jobs/${jobId}`);
    expectFlinkShape(job, '/jobs/{jobid}');
    // As Flink's JsonPlanGenerator: inputs on every node but the sources'.
    const source = vertexOf('busy map');
    for (const node of job.plan.nodes)
      if (node.id === source) expect(node.inputs).toBeUndefined();
      else expect(node.inputs?.length).toBeGreaterThan(0);
    // Once reported, counters are complete (the dashboard shows "loading…" until then).
    await eventually(async () => {
      const { vertices: vs } = await getJson<JobDetailsInfo>(base, `/jobs/${jobId}`);
      return vs.every((v) => v.metrics['read-bytes-complete'] && v.metrics['write-bytes-complete'])
        ? true
        : undefined;
    }, 'complete vertex metrics');
    const pages: [string, string][] = [];
    for (const vid of vertices.values()) {
      const v = `/jobs/${jobId}/vertices/${vid}`;
      const spec = '/jobs/{jobid}/vertices/{vertexid}';
      pages.push(
        [
          `${v}/subtasks/metrics?get=backPressuredTimeMsPerSecond,busyTimeMsPerSecond,numRecordsInPerSecond`,
          `${spec}/subtasks/metrics`,
        ],
        [`${v}/subtasks/metrics?get=numRecordsIn`, `${spec}/subtasks/metrics`],
        [`${v}/watermarks`, `${spec}/watermarks`],
        [`${v}/taskmanagers`, `${spec}/taskmanagers`],
        [`${v}/accumulators`, `${spec}/accumulators`],
        [`${v}/subtasks/accumulators`, `${spec}/subtasks/accumulators`],
        [`${v}/metrics`, `${spec}/metrics`],
        [`${v}/backpressure`, `${spec}/backpressure`],
        [`${v}/flamegraph?type=on_cpu`, `${spec}/flamegraph`],
        [v, spec],
      );
    }
    pages.push(
      [`/taskmanagers/${tm}`, '/taskmanagers/{taskmanagerid}'],
      [`/taskmanagers/${tm}/metrics`, '/taskmanagers/{taskmanagerid}/metrics'],
      [`/taskmanagers/${tm}/logs`, '/taskmanagers/{taskmanagerid}/logs'],
      ['/jobmanager/config', '/jobmanager/config'],
      ['/jobmanager/environment', '/jobmanager/environment'],
      ['/jobmanager/metrics', '/jobmanager/metrics'],
      ['/jobmanager/logs', '/jobmanager/logs'],
    );
    for (const [path, spec] of pages) {
      const answer = await request(base, 'GET', path);
      expect(answer.status, path).toBe(200);
      expectFlinkShape(answer.body, spec);
    }
    const watermarks = await getJson<{ id: string; value: string }[]>(
      base,
      `/jobs/${jobId}/vertices/${vertexOf('sum')}/watermarks`,
    );
    expect(watermarks.map((w) => w.id)).toEqual(['0.currentInputWatermark', '1.currentInputWatermark']);
    // Plain-text pages: the TaskManager's log and stdout (the JobManager's below).
    for (const path of [`/taskmanagers/${tm}/log`, `/taskmanagers/${tm}/stdout`]) {
      const answer = await fetch(`${base}${path}`);
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/plain/u);
    }
  }, 30_000);
});
