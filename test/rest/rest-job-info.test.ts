// A job's plan, configuration, vertex details and job metrics over REST, in Flink's real JSON shapes.
import { describe, expect, it } from 'vitest';
import {
  DataGeneratorSource,
  NumberSequenceSource,
  ParameterTool,
  RestartStrategies,
  StreamExecutionEnvironment,
  WatermarkStrategy,
  type RuntimeContext,
} from 'sluice';
import type {
  JobConfigInfo,
  JobDetailsInfo,
  JobPlanInfo,
  JobVertexDetailsBody,
  Metric,
  TaskManagersInfo,
} from '../../src/rest/rest-schema.js';
import {
  discard,
  eventually,
  expectError,
  expectFlinkShape,
  getJson,
  request,
  startKeyedJob,
  useRestFixture,
  waitForCheckpoints,
} from './support/rest-fixture.js';

const fixture = useRestFixture();
const UNKNOWN = '0123456789abcdef0123456789abcdef';

/** The values of the job's metrics `names`, as Flink answers `?get=a,b`. */
async function metrics(base: string, job: string, names: readonly string[]): Promise<Record<string, string>> {
  const body = await getJson<Metric[]>(base, `/jobs/${job}/metrics?get=${names.join(',')}`);
  expectFlinkShape(body, '/jobs/{jobid}/metrics');
  return Object.fromEntries(body.map((m) => [m.id, m.value!]));
}

describe('GET /jobs/:jobid/plan and /config', () => {
  it('the plan is the one in the job details; the config has parallelism and restart strategy', async () => {
    const client = fixture.track(await startKeyedJob({ name: 'planned', parallelism: 2 }));
    const { url } = await fixture.startServer();
    const job = client.jobId;
    const body = await getJson<JobPlanInfo>(url, `/jobs/${job}/plan`);
    expectFlinkShape(body, '/jobs/{jobid}/plan');
    const details = await getJson<JobDetailsInfo>(url, `/jobs/${job}`);
    expect(body.plan).toEqual(details.plan);
    expect(body.plan).toMatchObject({ jid: job, name: 'planned', type: 'STREAMING' });

    const config = await getJson<JobConfigInfo>(url, `/jobs/${job}/config`);
    expectFlinkShape(config, '/jobs/{jobid}/config');
    expect(config).toEqual({
      jid: job,
      name: 'planned',
      'execution-config': {
        'job-parallelism': 2,
        'object-reuse-mode': true,
        // No checkpointing and no strategy set: Flink's default is no restarts.
        'restart-strategy': 'Restart deactivated.',
        'user-config': {},
      },
    });
  });
});

describe('a BATCH job with global job parameters', () => {
  it('is of job-type BATCH and shows its parameters as the user-config, as Flink', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    env.setRuntimeMode('BATCH');
    env.getConfig().setGlobalJobParameters(ParameterTool.fromArgs(['--input', 'clicks.csv', '--verbose']));
    env
      .fromSource(new NumberSequenceSource(1, 10), 'numbers')
      .keyBy((x) => x % 2)
      .sum()
      .sinkTo(discard);
    const client = fixture.track(await env.executeAsync('batch-with-parameters'));
    await client.getJobExecutionResult();
    const { url } = await fixture.startServer();
    const details = await getJson<JobDetailsInfo>(url, `/jobs/${client.jobId}`);
    expect(details).toMatchObject({ state: 'FINISHED', 'job-type': 'BATCH' });
    const config = await getJson<JobConfigInfo>(url, `/jobs/${client.jobId}/config`);
    expectFlinkShape(config, '/jobs/{jobid}/config');
    expect(config['execution-config']['user-config']).toEqual({
      input: 'clicks.csv',
      verbose: '__NO_VALUE_KEY',
    });
  });
});

describe('GET /jobs/:jobid/vertices/:vertexid', () => {
  it('lists each subtask with its state, attempt, TaskManager and times', async () => {
    const client = fixture.track(await startKeyedJob({ parallelism: 2 }));
    const { url } = await fixture.startServer();
    const job = client.jobId;
    const details = await eventually(async () => {
      const d = await getJson<JobDetailsInfo>(url, `/jobs/${job}`);
      return d.vertices.every((v) => v.status === 'RUNNING') ? d : undefined;
    }, 'every vertex RUNNING');
    const [tm] = (await getJson<TaskManagersInfo>(url, '/taskmanagers')).taskmanagers;
    for (const vertex of details.vertices) {
      const body = await getJson<JobVertexDetailsBody>(url, `/jobs/${job}/vertices/${vertex.id}`);
      expectFlinkShape(body, '/jobs/{jobid}/vertices/{vertexid}');
      expect(body).toMatchObject({ id: vertex.id, name: vertex.name, parallelism: 2 });
      expect(body.maxParallelism).toBe(vertex.maxParallelism);
      expect(body.subtasks.map((s) => [s.subtask, s.status, s.attempt])).toEqual([
        [0, 'RUNNING', 0],
        [1, 'RUNNING', 0],
      ]);
      for (const s of body.subtasks) {
        expect(s).toMatchObject({ endpoint: 'localhost', 'taskmanager-id': tm!.id, 'end-time': -1 });
        // Deployed once the job switched to RUNNING (the same millisecond, or a later one).
        expect(s['start-time']).toBeGreaterThanOrEqual(details.timestamps.RUNNING);
        expect(s['start-time']).toBeLessThanOrEqual(Date.now());
        expect(s.start_time).toBe(s['start-time']);
        expect(s.duration).toBeGreaterThanOrEqual(0);
        expect(s['status-duration'].RUNNING).toBe(s.duration);
        // Each subtask reports its own counters.
        expect(s.metrics['write-records-complete']).toBe(true);
      }
      // The aggregate is over the subtasks' own counters.
      expect(body.aggregated.metrics['write-records']!.sum).toBe(
        body.subtasks.reduce((n, s) => n + s.metrics['write-records'], 0),
      );
      expect(body.aggregated['status-duration'].RUNNING!.min).toBeGreaterThanOrEqual(0);
    }
  });

  it("a vertex of one subtask reports the vertex's counters as the subtask's", async () => {
    const client = fixture.track(await startKeyedJob({ parallelism: 1 }));
    const { url } = await fixture.startServer();
    const job = client.jobId;
    const source = (await getJson<JobDetailsInfo>(url, `/jobs/${job}`)).vertices[0]!;
    const body = await eventually(async () => {
      const b = await getJson<JobVertexDetailsBody>(url, `/jobs/${job}/vertices/${source.id}`);
      return b.subtasks[0]!.metrics['write-records'] > 0 ? b : undefined;
    }, 'records written by the source');
    expect(body.subtasks[0]!.metrics['write-records-complete']).toBe(true);
    expect(body.aggregated.metrics['write-records']!.sum).toBe(body.subtasks[0]!.metrics['write-records']);
  });

  it('404 for an unknown vertex or job, 400 for a malformed vertex id', async () => {
    const client = fixture.track(await startKeyedJob());
    const { url } = await fixture.startServer();
    const job = client.jobId;
    expectError(
      await request(url, 'GET', `/jobs/${job}/vertices/${UNKNOWN}`),
      404,
      `JobVertex ${UNKNOWN} not found`,
    );
    expectError(
      await request(url, 'GET', `/jobs/${job}/vertices/source`),
      400,
      'Cannot resolve path parameter (vertexid) from value "source".',
    );
    for (const path of ['plan', 'config', 'metrics', `vertices/${UNKNOWN}`])
      expectError(await request(url, 'GET', `/jobs/${UNKNOWN}/${path}`), 404, `Job ${UNKNOWN} not found`);
  });

  it('after a region failover, each subtask reports the attempt it runs in', async () => {
    // Forward edges only: each subtask index is a pipelined region; subtask 0 fails once.
    let failed = false;
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
    env
      .fromSource(new DataGeneratorSource((i) => i, Infinity, { recordsPerSecond: 2_000 }), 'numbers')
      .map(
        new (class {
          private subtask = 0;
          open(ctx: RuntimeContext) {
            this.subtask = ctx.getIndexOfThisSubtask();
          }
          map(i: number) {
            if (this.subtask === 0 && i > 100 && !failed) {
              failed = true;
              throw new Error('injected');
            }
            return i;
          }
        })(),
      )
      .sinkTo(discard);
    const client = fixture.track(await env.executeAsync('regions'));
    const { url } = await fixture.startServer();
    const job = client.jobId;
    const [vertex] = (await getJson<JobDetailsInfo>(url, `/jobs/${job}`)).vertices;
    const body = await eventually(async () => {
      const b = await getJson<JobVertexDetailsBody>(url, `/jobs/${job}/vertices/${vertex!.id}`);
      return b.subtasks.every((t) => t.status === 'RUNNING') && b.subtasks[0]!.attempt === 1 ? b : undefined;
    }, 'subtask 0 running again');
    expectFlinkShape(body, '/jobs/{jobid}/vertices/{vertexid}');
    expect(body.subtasks.map((t) => t.attempt)).toEqual([1, 0]);
    expect(client.getNumRestarts()).toBe(1);
  });
});

describe('GET /jobs/:jobid/metrics', () => {
  it('lists the metric ids, and gives values as strings for ?get=', async () => {
    const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: 100 }));
    const { url } = await fixture.startServer();
    const job = client.jobId;
    await waitForCheckpoints(client, 2);

    const ids = await getJson<Metric[]>(url, `/jobs/${job}/metrics`);
    expectFlinkShape(ids, '/jobs/{jobid}/metrics');
    expect(ids.every((m) => Object.keys(m).join() === 'id')).toBe(true);
    expect(ids.map((m) => m.id)).toEqual(
      expect.arrayContaining([
        'numRestarts',
        'fullRestarts',
        'uptime',
        'numberOfCompletedCheckpoints',
        'lastCheckpointDuration',
        'lastCheckpointExternalPath',
      ]),
    );

    const names = [
      'numberOfCompletedCheckpoints',
      'numRestarts',
      'fullRestarts',
      'lastCheckpointDuration',
      'lastCompletedCheckpointId',
      'totalNumberOfCheckpoints',
      'uptime',
      'noSuchMetric',
    ];
    const body = await getJson<Metric[]>(url, `/jobs/${job}/metrics?get=${names.join(',')}`);
    // Unknown names are left out; the others come in the order asked.
    expect(body.map((m) => m.id)).toEqual(names.slice(0, -1));
    const values = Object.fromEntries(body.map((m) => [m.id, m.value!]));
    for (const value of Object.values(values)) expect(value).toMatch(/^-?\d+$/u);
    expect(values).toMatchObject({ numRestarts: '0', fullRestarts: '0' });
    expect(Number(values['numberOfCompletedCheckpoints'])).toBeGreaterThanOrEqual(2);
    expect(Number(values['totalNumberOfCheckpoints'])).toBeGreaterThanOrEqual(
      Number(values['numberOfCompletedCheckpoints']),
    );
    expect(Number(values['lastCheckpointDuration'])).toBeGreaterThanOrEqual(0);
    expect(Number(values['lastCompletedCheckpointId'])).toBeGreaterThanOrEqual(2);
    expect(Number(values['uptime'])).toBeGreaterThan(0);
    // As `a,b` or as repeated parameters.
    expect(await metrics(url, job, ['numRestarts'])).toEqual({ numRestarts: '0' });
    const repeated = await getJson<Metric[]>(url, `/jobs/${job}/metrics?get=numRestarts&get=fullRestarts`);
    expect(repeated.map((m) => m.id)).toEqual(['numRestarts', 'fullRestarts']);
  });

  it('has no checkpoint metrics for a job that does not checkpoint', async () => {
    const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: undefined }));
    const { url } = await fixture.startServer();
    const ids = (await getJson<Metric[]>(url, `/jobs/${client.jobId}/metrics`)).map((m) => m.id);
    expect(ids).toEqual(['numRestarts', 'fullRestarts', 'uptime']);
    expect(await getJson(url, `/jobs/${client.jobId}/metrics?get=lastCheckpointDuration`)).toEqual([]);
  });

  it('counts restarts; uptime is -1 once the job ended', async () => {
    let failures = 0;
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    env.setRestartStrategy(RestartStrategies.fixedDelay(2, 10));
    env
      .fromSource(new NumberSequenceSource(0, 2_000), 'numbers')
      .map((x) => {
        if (x === 500 && failures++ === 0) throw new Error('boom at 500');
        return x;
      })
      .sinkTo(discard);
    const client = fixture.track(await env.executeAsync('restarting'));
    const { url } = await fixture.startServer();
    await client.getJobExecutionResult();
    expect(await metrics(url, client.jobId, ['numRestarts', 'fullRestarts', 'uptime'])).toEqual({
      numRestarts: '1',
      fullRestarts: '1',
      uptime: '-1',
    });
  });
});

describe('GET /jobs/:jobid/vertices/:vertexid/watermarks', () => {
  it("gives each subtask's currentInputWatermark as Flink's longs: none yet at the source, the event-time progress behind it", async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    env.getConfig().setAutoWatermarkInterval(20);
    env
      .fromSource(
        new DataGeneratorSource((i) => i, Infinity, { recordsPerSecond: 2_000 }),
        WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((i) => 1_000_000 + i),
        'numbers',
      )
      .keyBy((x) => x % 4)
      .reduce((a, b) => a + b)
      .name('sum')
      .sinkTo(discard);
    const client = fixture.track(await env.executeAsync('watermarked'));
    const { url } = await fixture.startServer();
    const job = client.jobId;
    const details = await getJson<JobDetailsInfo>(url, `/jobs/${job}`);
    const [source, sum] = details.vertices;
    const watermarksOf = (vertex: string) =>
      getJson<Metric[]>(url, `/jobs/${job}/vertices/${vertex}/watermarks`);
    const behind = await eventually(async () => {
      const body = await watermarksOf(sum!.id);
      return body.every((m) => Number(m.value) >= 1_000_000) ? body : undefined;
    }, 'the keyed vertex to see watermarks');
    expectFlinkShape(behind, '/jobs/{jobid}/vertices/{vertexid}/watermarks');
    expect(behind.map((m) => m.id)).toEqual(['0.currentInputWatermark', '1.currentInputWatermark']);
    const atSource = await watermarksOf(source!.id);
    expect(atSource).toEqual([
      { id: '0.currentInputWatermark', value: '-9223372036854775808' },
      { id: '1.currentInputWatermark', value: '-9223372036854775808' },
    ]);
    expectError(
      await request(url, 'GET', `/jobs/${job}/vertices/${UNKNOWN}/watermarks`),
      404,
      `JobVertex ${UNKNOWN} not found`,
    );
  });
});
