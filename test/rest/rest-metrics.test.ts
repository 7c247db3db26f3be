// Task metrics under Flink's names, back pressure, the JobManager's and TaskManagers' pages and
// Prometheus' /metrics, over running jobs: what Flink's dashboard polls, in Flink's shapes.
import { afterEach, describe, expect, it } from 'vitest';
import type { Counter } from 'sluice';
import {
  DataGeneratorSource,
  MeterView,
  RichMapFunction,
  StreamExecutionEnvironment,
  type JobClient,
  type Sink,
} from 'sluice';
import type { JobDetailsInfo, JobVertexDetailsBody } from '../../src/rest/rest-schema.js';
import {
  eventually,
  expectFlinkShape,
  getJson,
  request,
  startKeyedJob,
  useRestFixture,
} from './support/rest-fixture.js';

const fixture = useRestFixture();

interface AggregatedMetric {
  readonly id: string;
  readonly min?: number;
  readonly max?: number;
  readonly avg?: number;
  readonly sum?: number;
  readonly skew?: number;
}

interface BackPressureInfo {
  readonly status: string;
  readonly backpressureLevel: 'ok' | 'low' | 'high';
  readonly 'end-timestamp': number;
  readonly subtasks: readonly {
    readonly subtask: number;
    readonly backpressureLevel: string;
    readonly ratio: number;
    readonly idleRatio: number;
    readonly busyRatio: number;
  }[];
}

async function vertexIds(base: string, jobId: string): Promise<Map<string, string>> {
  const details = await getJson<JobDetailsInfo>(base, `/jobs/${jobId}`);
  return new Map(details.vertices.map((v) => [v.name, v.id]));
}

/**
 * A deliberately slow sink: each write takes a timer's turn (about a millisecond or more), during
 * which the task pauses its input, so everything upstream waits for room in its output.
 */
const slowSink: Sink<unknown> = {
  createWriter: () => ({
    write: () => new Promise<void>((resolve) => setTimeout(resolve, 1)),
    flush: () => {},
    close: () => {},
  }),
};

describe('task metrics of a running job', () => {
  let client: JobClient;
  afterEach(() => undefined);

  it('serves every task metric per subtask, aggregated over subtasks, and per vertex', async () => {
    client = fixture.track(await startKeyedJob({ name: 'metrics-watched' }));
    const base = (await fixture.startServer()).url;
    const ids = await vertexIds(base, client.jobId);
    const sum = [...ids].find(([name]) => name.includes('sum'))![1];
    const vertex = `/jobs/${client.jobId}/vertices/${sum}`;

    // Without `get`: the ids Flink's dashboard offers in its metric picker.
    const listed = await getJson<{ id: string }[]>(base, `${vertex}/subtasks/metrics`);
    expectFlinkShape(listed, '/jobs/{jobid}/vertices/{vertexid}/subtasks/metrics');
    for (const id of [
      'numRecordsIn',
      'numRecordsOutPerSecond',
      'busyTimeMsPerSecond',
      'backPressuredTimeMsPerSecond',
    ])
      expect(listed.map((m) => m.id)).toContain(id);

    const aggregated = await eventually(
      async () => {
        const body = await getJson<AggregatedMetric[]>(
          base,
          `${vertex}/subtasks/metrics?get=numRecordsIn,busyTimeMsPerSecond,idleTimeMsPerSecond,backPressuredTimeMsPerSecond`,
        );
        return (body.find((m) => m.id === 'numRecordsIn')?.sum ?? 0) > 0 ? body : undefined;
      },
      'records counted into the sum vertex',
      30_000,
    );
    const records = aggregated.find((m) => m.id === 'numRecordsIn')!;
    expect(Object.keys(records).sort()).toEqual(['avg', 'id', 'max', 'min', 'skew', 'sum']);
    expect(records.min!).toBeLessThanOrEqual(records.avg!);
    expect(records.avg!).toBeLessThanOrEqual(records.max!);
    // Busy, idle and back-pressured time share each second between them.
    const time = (id: string) => aggregated.find((m) => m.id === id)!.max!;
    for (const id of ['busyTimeMsPerSecond', 'idleTimeMsPerSecond', 'backPressuredTimeMsPerSecond']) {
      expect(time(id)).toBeGreaterThanOrEqual(0);
      expect(time(id)).toBeLessThanOrEqual(1000);
    }

    const onlyMax = await getJson<AggregatedMetric[]>(
      base,
      `${vertex}/subtasks/metrics?get=numRecordsIn&agg=max&subtasks=0-1`,
    );
    expect(Object.keys(onlyMax[0]!).sort()).toEqual(['id', 'max']);
    expect(
      (await request(base, 'GET', `${vertex}/subtasks/metrics?get=numRecordsIn&agg=median`)).status,
    ).toBe(400);

    const perVertex = await getJson<{ id: string; value?: string }[]>(base, `${vertex}/metrics`);
    expectFlinkShape(perVertex, '/jobs/{jobid}/vertices/{vertexid}/metrics');
    expect(perVertex.map((m) => m.id)).toContain('1.numRecordsIn');
    const values = await getJson<{ id: string; value: string }[]>(
      base,
      `${vertex}/metrics?get=0.numRecordsIn,1.numBytesIn,9.numRecordsIn,0.nonsense`,
    );
    expect(values.map((m) => m.id)).toEqual(['0.numRecordsIn', '1.numBytesIn']);
    for (const m of values) expect(Number(m.value)).toBeGreaterThanOrEqual(0);

    const subtask = await getJson<{ id: string; value: string }[]>(
      base,
      `${vertex}/subtasks/1/metrics?get=numRecordsIn,currentInputWatermark`,
    );
    expectFlinkShape(subtask, '/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}/metrics');
    expect(subtask.map((m) => m.id)).toEqual(['numRecordsIn', 'currentInputWatermark']);
    expect((await request(base, 'GET', `${vertex}/subtasks/7/metrics`)).status).toBe(404);

    // Each subtask's IO metrics are its own, and complete (Flink's dashboard shows "loading…" otherwise).
    const details = await getJson<JobVertexDetailsBody>(base, vertex);
    for (const s of details.subtasks) {
      expect(s.metrics['read-bytes-complete']).toBe(true);
      expect(s.metrics['read-records-complete']).toBe(true);
    }
    const job = await getJson<JobDetailsInfo>(base, `/jobs/${client.jobId}`);
    const sumVertex = job.vertices.find((v) => v.id === sum)!;
    expect(sumVertex.metrics['read-bytes-complete']).toBe(true);
    expect(sumVertex.metrics['read-bytes']).toBeGreaterThan(0);
  });

  it("serves a vertex's TaskManagers and accumulators in Flink's shapes", async () => {
    client = fixture.track(await startKeyedJob({ name: 'drawer' }));
    const base = (await fixture.startServer()).url;
    const [, id] = [...(await vertexIds(base, client.jobId))][0]!;
    const vertex = `/jobs/${client.jobId}/vertices/${id}`;
    const tms = await getJson<{
      taskmanagers: { 'taskmanager-id': string; 'status-counts': Record<string, number> }[];
    }>(base, `${vertex}/taskmanagers`);
    expectFlinkShape(tms, '/jobs/{jobid}/vertices/{vertexid}/taskmanagers');
    expect(tms.taskmanagers).toHaveLength(1);
    expect(tms.taskmanagers[0]!['status-counts']['RUNNING']).toBe(2);
    expectFlinkShape(
      await getJson(base, `${vertex}/accumulators`),
      '/jobs/{jobid}/vertices/{vertexid}/accumulators',
    );
    const perSubtask = await getJson<{ subtasks: unknown[] }>(base, `${vertex}/subtasks/accumulators`);
    expectFlinkShape(perSubtask, '/jobs/{jobid}/vertices/{vertexid}/subtasks/accumulators');
    expect(perSubtask.subtasks).toHaveLength(2);
  });
});

describe('user metrics', () => {
  it("a function's counter, gauge and meter are served per subtask and to Prometheus", async () => {
    class Counted extends RichMapFunction<number, number> {
      private seen!: Counter;
      private meter!: MeterView;
      private last = 0;
      open(): void {
        const group = this.getRuntimeContext().getMetricGroup();
        this.seen = group.counter('seen');
        this.meter = group.meter('perSecond', new MeterView());
        group.gauge('last', () => this.last);
        group.gauge('label', () => 'not a number');
      }
      map(x: number): number {
        this.seen.inc();
        this.meter.markEvent();
        this.last = x;
        return x;
      }
    }
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    env
      .fromSource(new DataGeneratorSource((i) => i, Infinity, { recordsPerSecond: 1000 }), 'numbers')
      .map(new Counted())
      .name('counted')
      .sinkTo({ createWriter: () => ({ write: () => {}, flush: () => {}, close: () => {} }) });
    const client = fixture.track(await env.executeAsync('user-metrics'));
    const base = (await fixture.startServer()).url;
    const [, id] = [...(await vertexIds(base, client.jobId))][0]!;
    const vertex = `/jobs/${client.jobId}/vertices/${id}`;
    const listed = await eventually(
      async () => {
        const ids = (await getJson<{ id: string }[]>(base, `${vertex}/metrics`)).map((m) => m.id);
        return ids.includes('1.counted.seen') ? ids : undefined;
      },
      'the user metrics listed',
      30_000,
    );
    expect(listed).toEqual(
      expect.arrayContaining(['0.counted.seen', '0.counted.last', '0.counted.perSecond']),
    );
    // A gauge whose value is not a number is not reported (as Flink's reporters skip it).
    expect(listed).not.toContain('0.counted.label');
    const seen = await eventually(
      async () => {
        const body = await getJson<AggregatedMetric[]>(
          base,
          `${vertex}/subtasks/metrics?get=counted.seen&agg=sum`,
        );
        return (body[0]?.sum ?? 0) > 0 ? body[0]!.sum! : undefined;
      },
      'records counted by the user counter',
      30_000,
    );
    expect(seen).toBeGreaterThan(0);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(
      /^sluice_taskmanager_job_task_operator_seen\{[^}]*operator_name="counted"[^}]*\} [0-9]+$/mu,
    );
  });
});

describe('back pressure', () => {
  it('is high upstream of a deliberately slow sink, and ok upstream of a fast one', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    env
      .fromSource(new DataGeneratorSource((i) => i, Infinity), 'unthrottled')
      .map((x) => x + 1)
      .name('upstream')
      .disableChaining()
      .sinkTo(slowSink)
      .name('slow sink')
      .disableChaining();
    const slow = fixture.track(await env.executeAsync('slow-sink'));
    const fast = fixture.track(await startKeyedJob({ name: 'fast-sink' }));
    const base = (await fixture.startServer()).url;

    const upstream = (await vertexIds(base, slow.jobId)).get('upstream')!;
    const high = await eventually(
      async () => {
        const body = await getJson<BackPressureInfo>(
          base,
          `/jobs/${slow.jobId}/vertices/${upstream}/backpressure`,
        );
        return body.backpressureLevel === 'high' ? body : undefined;
      },
      'the upstream vertex of the slow sink back-pressured',
      60_000,
    );
    expectFlinkShape(high, '/jobs/{jobid}/vertices/{vertexid}/backpressure');
    expect(high.subtasks[0]!.ratio).toBeGreaterThan(0.5);
    expect(high.subtasks[0]!.backpressureLevel).toBe('high');

    // The rate-limited generator of the other job waits for its next record, never for room.
    const [, source] = [...(await vertexIds(base, fast.jobId))][0]!;
    const ok = await eventually(
      async () => {
        const body = await getJson<BackPressureInfo>(
          base,
          `/jobs/${fast.jobId}/vertices/${source}/backpressure`,
        );
        return body.subtasks.every((s) => s.idleRatio > 0) ? body : undefined;
      },
      'the fast job measured',
      60_000,
    );
    expect(ok.backpressureLevel).toBe('ok');
    for (const s of ok.subtasks) expect(s.ratio).toBeLessThanOrEqual(0.1);
  });
});

describe('JobManager and TaskManager pages', () => {
  it('serve configuration, environment, process metrics and TaskManager details', async () => {
    const base = (await fixture.startServer()).url;
    const overview = await getJson<Record<string, number>>(base, '/overview');
    expectFlinkShape(overview, '/overview');
    expect(overview['slots-free-and-blocked']).toBe(0);
    expect(overview['taskmanagers-blocked']).toBe(0);

    expectFlinkShape(await getJson(base, '/jobmanager/config'), '/jobmanager/config');
    const env = await getJson<{ jvm: { version: string } }>(base, '/jobmanager/environment');
    expectFlinkShape(env, '/jobmanager/environment');
    expect(env.jvm.version).toContain(process.version);

    const names = await getJson<{ id: string }[]>(base, '/jobmanager/metrics');
    expect(names.map((m) => m.id)).toContain('Status.JVM.Memory.Heap.Used');
    const heap = await getJson<{ id: string; value: string }[]>(
      base,
      '/jobmanager/metrics?get=Status.JVM.Memory.Heap.Used,Status.JVM.CPU.Load',
    );
    expectFlinkShape(heap, '/jobmanager/metrics');
    expect(Number(heap[0]!.value)).toBeGreaterThan(0);

    const { taskmanagers } = await getJson<{ taskmanagers: { id: string }[] }>(base, '/taskmanagers');
    const tm = taskmanagers[0]!.id;
    const details = await getJson<{ metrics: { heapUsed: number; garbageCollectors: unknown[] } }>(
      base,
      `/taskmanagers/${tm}`,
    );
    expectFlinkShape(details, '/taskmanagers/{taskmanagerid}');
    expect(details.metrics.heapUsed).toBeGreaterThan(0);
    const tmMetrics = await getJson<{ id: string; value: string }[]>(
      base,
      `/taskmanagers/${tm}/metrics?get=Status.JVM.Memory.Heap.Used`,
    );
    expectFlinkShape(tmMetrics, '/taskmanagers/{taskmanagerid}/metrics');
    expect(Number(tmMetrics[0]!.value)).toBeGreaterThan(0);
    expect((await request(base, 'GET', '/taskmanagers/0123456789abcdef0123456789abcdef')).status).toBe(404);
  });
});

describe('GET /metrics', () => {
  it("is Prometheus' text format with Flink's reporter names, prefixed sluice_", async () => {
    const client = fixture.track(await startKeyedJob({ name: 'scraped', checkpointIntervalMs: 100 }));
    const base = (await fixture.startServer()).url;
    const text = await eventually(async () => {
      const response = await fetch(`${base}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/u);
      const body = await response.text();
      return /sluice_jobmanager_job_numberOfCompletedCheckpoints\{[^}]*\} [1-9]/u.test(body)
        ? body
        : undefined;
    }, 'a completed checkpoint in /metrics');
    // Every sample line parses as `name{labels} value`; every metric has HELP and TYPE lines.
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(samples.length).toBeGreaterThan(10);
    for (const line of samples)
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-z_]+="[^"]*",?)*\})? -?[0-9.e+-]+$/u);
    for (const name of new Set(samples.map((l) => l.split(/[{ ]/u)[0]!)))
      expect(text).toContain(`# TYPE ${name} gauge`);
    expect(text).toMatch(
      new RegExp(
        `sluice_taskmanager_job_task_numRecordsIn\\{[^}]*job_id="${client.jobId}"[^}]*subtask_index="1"`,
        'u',
      ),
    );
    expect(text).toMatch(/^sluice_jobmanager_Status_JVM_Memory_Heap_Used [0-9]+$/mu);
  });
});
