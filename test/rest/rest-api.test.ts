// The REST API over a running checkpointing job: every read endpoint answers in Flink's real JSON shapes.
import { beforeEach, describe, expect, it } from 'vitest';
import type { JobClient } from 'sluice';
import type { RestServer } from '../../src/rest/rest-server.js';
import type {
  CheckpointConfigInfo,
  CheckpointingStatistics,
  ClusterOverviewWithVersion,
  DashboardConfiguration,
  JobDetailsInfo,
  JobExceptionsInfoWithHistory,
  JobExecutionResultResponseBody,
  JobIdsWithStatusOverview,
  MultipleJobsDetails,
  TaskCheckpointStatisticsWithSubtaskDetails,
  TaskManagersInfo,
  CompletedCheckpointStatistics,
} from '../../src/rest/rest-schema.js';
import {
  expectFlinkShape,
  getJson,
  startKeyedJob,
  useRestFixture,
  waitForCheckpoints,
} from './support/rest-fixture.js';

const HEX32 = /^[0-9a-f]{32}$/u;
const fixture = useRestFixture();

describe('REST API of a running job (parallelism 2, checkpoints every 100 ms)', () => {
  let server: RestServer;
  let client: JobClient;
  let base: string;
  let job: string;

  beforeEach(async () => {
    client = fixture.track(await startKeyedJob({ name: 'rest-watched', checkpointIntervalMs: 100 }));
    server = await fixture.startServer();
    base = server.url;
    job = client.jobId;
    await waitForCheckpoints(client, 2);
  });

  it('listens on 127.0.0.1 on the port the system picked', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('GET /config is the dashboard configuration, with all four features', async () => {
    const body = await getJson<DashboardConfiguration>(base, '/config');
    expectFlinkShape(body, '/config');
    expect(body['refresh-interval']).toBe(3000);
    expect(Object.keys(body.features).sort()).toEqual([
      'web-cancel',
      'web-history',
      'web-rescale',
      'web-submit',
    ]);
    expect(body.features['web-cancel']).toBe(true);
  });

  it('GET /overview counts the running job, one TaskManager and its slots', async () => {
    const body = await getJson<ClusterOverviewWithVersion>(base, '/overview');
    expectFlinkShape(body, '/overview');
    expect(body['jobs-running']).toBeGreaterThanOrEqual(1);
    expect(body.taskmanagers).toBe(1);
    expect(body['slots-total']).toBeGreaterThanOrEqual(2);
    expect(body['slots-available']).toBe(body['slots-total'] - 2);
  });

  it('GET /jobs lists the job id and status', async () => {
    const body = await getJson<JobIdsWithStatusOverview>(base, '/jobs');
    expectFlinkShape(body, '/jobs');
    expect(body.jobs).toContainEqual({ id: job, status: 'RUNNING' });
  });

  it('GET /jobs/overview gives times and lower-case task counts', async () => {
    const body = await getJson<MultipleJobsDetails>(base, '/jobs/overview');
    expectFlinkShape(body, '/jobs/overview');
    const details = body.jobs.find((j) => j.jid === job)!;
    expect(details).toMatchObject({ name: 'rest-watched', state: 'RUNNING', 'end-time': -1 });
    expect(details['start-time']).toBeGreaterThan(0);
    expect(details.duration).toBeGreaterThanOrEqual(0);
    expect(details['last-modification']).toBeGreaterThanOrEqual(details['start-time']);
    // Two vertices (generator; sum -> sink) at parallelism 2.
    expect(details.tasks).toMatchObject({ total: 4, running: 4, failed: 0, finished: 0 });
  });

  it('GET /jobs/:jobid has the vertices, the plan, status counts and timestamps', async () => {
    const body = await getJson<JobDetailsInfo>(base, `/jobs/${job}`);
    expectFlinkShape(body, '/jobs/{jobid}');
    expect(body).toMatchObject({ jid: job, name: 'rest-watched', state: 'RUNNING', 'job-type': 'STREAMING' });
    expect(body['end-time']).toBe(-1);
    expect(body.timestamps.RUNNING).toBeGreaterThanOrEqual(body.timestamps.CREATED);
    expect(body.timestamps.CREATED).toBe(body['start-time']);
    expect(body.timestamps.FINISHED).toBe(0);
    expect(body['status-counts'].RUNNING).toBe(2);
    expect(body.vertices.map((v) => v.name)).toEqual(['numbers', 'sum -> Sink']);
    for (const v of body.vertices) {
      expect(v.id).toMatch(HEX32);
      expect(v).toMatchObject({ parallelism: 2, status: 'RUNNING', tasks: { RUNNING: 2, FAILED: 0 } });
    }
    const [source, sum] = body.vertices;
    expect(source!.metrics['write-records']).toBeGreaterThan(0);
    expect(source!.metrics['read-records']).toBe(0);
    expect(sum!.metrics['read-records']).toBeGreaterThan(0);
    // The plan's node ids are the vertex ids; the keyed exchange is HASH.
    expect(body.plan.type).toBe('STREAMING');
    expect(body.plan.nodes.map((n) => n.id)).toEqual(body.vertices.map((v) => v.id));
    expect(body.plan.nodes[0]!.inputs).toBeUndefined();
    expect(body.plan.nodes[1]!.inputs).toEqual([
      { num: 0, id: source!.id, ship_strategy: 'HASH', exchange: 'pipelined_bounded' },
    ]);
  });

  it('GET /jobs/:jobid/checkpoints has counts, summary, latest and the history, newest first', async () => {
    const body = await getJson<CheckpointingStatistics>(base, `/jobs/${job}/checkpoints`);
    expectFlinkShape(body, '/jobs/{jobid}/checkpoints');
    expect(body.counts.completed).toBeGreaterThanOrEqual(2);
    expect(body.counts.restored).toBe(0);
    const completed = body.latest.completed!;
    expect(completed).toMatchObject({ className: 'completed', status: 'COMPLETED', is_savepoint: false });
    expect(completed).toMatchObject({ checkpoint_type: 'CHECKPOINT', tasks: {}, discarded: false });
    expect(completed.num_acknowledged_subtasks).toBe(completed.num_subtasks);
    expect(completed.num_subtasks).toBe(4);
    expect(completed.state_size).toBeGreaterThan(0);
    expect(completed.latest_ack_timestamp).toBeGreaterThanOrEqual(completed.trigger_timestamp);
    expect(body.latest.restored).toBeNull();
    expect(body.latest.savepoint).toBeNull();
    const ids = body.history.map((c) => c.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(body.history.length).toBeLessThanOrEqual(10);
    for (const c of body.history) expect(c.tasks).toEqual({});
    // With data, the summary's percentiles are numbers, min <= avg <= max.
    const e2e = body.summary.end_to_end_duration;
    expect(typeof e2e.p50).toBe('number');
    expect(e2e.min).toBeLessThanOrEqual(e2e.avg);
    expect(e2e.avg).toBeLessThanOrEqual(e2e.max);
    expect(body.summary.alignment_buffered).toEqual({
      min: 0,
      max: 0,
      avg: 0,
      p50: 0,
      p90: 0,
      p95: 0,
      p99: 0,
      p999: 0,
    });
  });

  it('GET /jobs/:jobid/checkpoints/config reports the settings as Flink names them', async () => {
    const body = await getJson<CheckpointConfigInfo>(base, `/jobs/${job}/checkpoints/config`);
    expectFlinkShape(body, '/jobs/{jobid}/checkpoints/config');
    expect(body).toMatchObject({
      mode: 'exactly_once',
      interval: 100,
      timeout: 600_000,
      max_concurrent: 1,
      unaligned_checkpoints: false,
      state_backend: 'HashMapStateBackend',
      checkpoint_storage: 'JobManagerCheckpointStorage',
      // Flink's default retention NO_EXTERNALIZED_CHECKPOINTS.
      externalization: { enabled: false, delete_on_cancellation: true },
    });
  });

  it('GET .../checkpoints/details/:id fills `tasks` for every vertex of the job', async () => {
    const stats = await getJson<CheckpointingStatistics>(base, `/jobs/${job}/checkpoints`);
    const id = stats.latest.completed!.id;
    const body = await getJson<CompletedCheckpointStatistics>(base, `/jobs/${job}/checkpoints/details/${id}`);
    expectFlinkShape(body, '/jobs/{jobid}/checkpoints/details/{checkpointid}');
    expect(body).toMatchObject({ id, className: 'completed', status: 'COMPLETED' });
    const details = await getJson<JobDetailsInfo>(base, `/jobs/${job}`);
    expect(Object.keys(body.tasks).sort()).toEqual(details.vertices.map((v) => v.id).sort());
    for (const task of Object.values(body.tasks)) {
      expect(task).toMatchObject({ id, status: 'COMPLETED', num_subtasks: 2, num_acknowledged_subtasks: 2 });
      expect(task.end_to_end_duration).toBeGreaterThanOrEqual(0);
    }
  });

  it('GET .../details/:id/subtasks/:vertexid lists each subtask with its timings', async () => {
    const stats = await getJson<CheckpointingStatistics>(base, `/jobs/${job}/checkpoints`);
    const id = stats.latest.completed!.id;
    const details = await getJson<JobDetailsInfo>(base, `/jobs/${job}`);
    for (const vertex of details.vertices) {
      const body = await getJson<TaskCheckpointStatisticsWithSubtaskDetails>(
        base,
        `/jobs/${job}/checkpoints/details/${id}/subtasks/${vertex.id}`,
      );
      expectFlinkShape(body, '/jobs/{jobid}/checkpoints/details/{checkpointid}/subtasks/{vertexid}');
      expect(body).toMatchObject({ id, num_subtasks: 2, num_acknowledged_subtasks: 2 });
      expect(body.subtasks.map((s) => [s.index, s.status])).toEqual([
        [0, 'completed'],
        [1, 'completed'],
      ]);
      expect(body.summary.checkpoint_duration.sync.min).toBeGreaterThanOrEqual(0);
    }
  });

  it('GET /taskmanagers has the inline TaskManager', async () => {
    const body = await getJson<TaskManagersInfo>(base, '/taskmanagers');
    expectFlinkShape(body, '/taskmanagers');
    expect(body.taskmanagers).toHaveLength(1);
    const tm = body.taskmanagers[0]!;
    expect(tm.id).toMatch(HEX32);
    expect(tm.slotsNumber - tm.freeSlots).toBe(2);
    expect(tm.hardware.cpuCores).toBeGreaterThan(0);
  });

  it('GET /jobs/:jobid/exceptions is an empty history while nothing failed', async () => {
    const body = await getJson<JobExceptionsInfoWithHistory>(base, `/jobs/${job}/exceptions`);
    expectFlinkShape(body, '/jobs/{jobid}/exceptions');
    expect(body).toEqual({ exceptionHistory: { entries: [], truncated: false } });
  });

  it('GET /jobs/:jobid/execution-result is IN_PROGRESS while the job runs', async () => {
    const body = await getJson<JobExecutionResultResponseBody>(base, `/jobs/${job}/execution-result`);
    expectFlinkShape(body, '/jobs/{jobid}/execution-result');
    expect(body).toEqual({ status: { id: 'IN_PROGRESS' }, 'job-execution-result': null });
  });

  it('GET /jobs/:jobid/status is the status alone', async () => {
    const body = await getJson(base, `/jobs/${job}/status`);
    expectFlinkShape(body, '/jobs/{jobid}/status');
    expect(body).toEqual({ status: 'RUNNING' });
  });

  it('serves every path under /v1 as well, and upper-case ids', async () => {
    expect(await getJson(base, '/v1/jobs')).toEqual(await getJson(base, '/jobs'));
    const body = await getJson<JobDetailsInfo>(base, `/v1/jobs/${job.toUpperCase()}`);
    expect(body.jid).toBe(job);
  });
});

describe('REST API of a job with unaligned checkpoints', () => {
  it('reports the setting, the UNALIGNED_CHECKPOINT type, persisted data and unaligned subtasks in Flink shapes', async () => {
    const client = fixture.track(
      await startKeyedJob({ name: 'rest-unaligned', checkpointIntervalMs: 100, unaligned: true }),
    );
    const base = (await fixture.startServer()).url;
    const job = client.jobId;
    await waitForCheckpoints(client, 2);
    const config = await getJson<CheckpointConfigInfo>(base, `/jobs/${job}/checkpoints/config`);
    expectFlinkShape(config, '/jobs/{jobid}/checkpoints/config');
    expect(config).toMatchObject({ unaligned_checkpoints: true, aligned_checkpoint_timeout: 0 });
    const stats = await getJson<CheckpointingStatistics>(base, `/jobs/${job}/checkpoints`);
    expectFlinkShape(stats, '/jobs/{jobid}/checkpoints');
    const completed = stats.latest.completed!;
    expect(completed.checkpoint_type).toBe('UNALIGNED_CHECKPOINT');
    const details = await getJson<JobDetailsInfo>(base, `/jobs/${job}`);
    let persisted = 0;
    for (const vertex of details.vertices) {
      const body = await getJson<TaskCheckpointStatisticsWithSubtaskDetails>(
        base,
        `/jobs/${job}/checkpoints/details/${completed.id}/subtasks/${vertex.id}`,
      );
      expectFlinkShape(body, '/jobs/{jobid}/checkpoints/details/{checkpointid}/subtasks/{vertexid}');
      for (const s of body.subtasks) {
        expect(s).toMatchObject({ status: 'completed', unaligned_checkpoint: true });
        if (s.status === 'completed') persisted += s.alignment.persisted;
      }
      expect(body.persisted_data).toBe(
        body.subtasks.reduce((n, s) => n + (s.status === 'completed' ? s.alignment.persisted : 0), 0),
      );
    }
    // The checkpoint's persisted data is its subtasks' in-flight data, summed.
    expect(completed.persisted_data).toBe(persisted);
  });
});
