// Controlling jobs over REST: manual checkpoints (POST + poll), cancellation (PATCH), failures in the exception history, job results.
import { describe, expect, it } from 'vitest';
import { NumberSequenceSource, RestartStrategies, StreamExecutionEnvironment } from 'sluice';
import type {
  CheckpointingStatistics,
  CheckpointOperationResult,
  ClusterOverviewWithVersion,
  CompletedCheckpointStatistics,
  JobDetailsInfo,
  JobExceptionsInfoWithHistory,
  JobExecutionResultResponseBody,
  MultipleJobsDetails,
  SerializedThrowable,
  TriggerResponse,
} from '../../src/rest/rest-schema.js';
import { waitFor } from '../support/helpers.js';
import {
  discard,
  eventually,
  expectError,
  expectFlinkShape,
  getJson,
  request,
  startKeyedJob,
  useRestFixture,
} from './support/rest-fixture.js';

const HEX32 = /^[0-9a-f]{32}$/u;
const HOUR = 3_600_000;
const fixture = useRestFixture();

/** Polls a checkpoint trigger until it is COMPLETED (with a checkpoint id or a failure). */
async function pollTrigger(base: string, job: string, triggerId: string): Promise<CheckpointOperationResult> {
  for (;;) {
    const body = await getJson<CheckpointOperationResult>(base, `/jobs/${job}/checkpoints/${triggerId}`);
    expectFlinkShape(body, '/jobs/{jobid}/checkpoints/{triggerid}');
    if (body.status.id === 'COMPLETED') return body;
    expect(body.operation).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('POST /jobs/:jobid/checkpoints (manual trigger)', () => {
  it('answers 202 with a trigger id, then COMPLETED with the id of a completed checkpoint', async () => {
    // Periodic checkpoints an hour apart: the only checkpoint is the one triggered here.
    const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: HOUR, minPauseMs: HOUR }));
    const { url } = await fixture.startServer();
    const job = client.jobId;
    await waitFor(() => client.getMetrics().some((m) => m.recordsOut > 0), 'records to flow');

    const trigger = await request(url, 'POST', `/jobs/${job}/checkpoints`);
    expect(trigger.status).toBe(202);
    expectFlinkShape(trigger.body, '/jobs/{jobid}/checkpoints', 'POST', '202');
    const triggerId = (trigger.body as TriggerResponse)['request-id'];
    expect(triggerId).toMatch(HEX32);

    const result = await pollTrigger(url, job, triggerId);
    expect(result.operation).toEqual({ checkpointId: 1 });
    const details = await getJson<CompletedCheckpointStatistics>(url, `/jobs/${job}/checkpoints/details/1`);
    expect(details).toMatchObject({ id: 1, status: 'COMPLETED', discarded: false });
    expect(details.external_path).not.toBe('');
    const stats = await getJson<CheckpointingStatistics>(url, `/jobs/${job}/checkpoints`);
    expect(stats.counts).toMatchObject({ total: 1, completed: 1, failed: 0, in_progress: 0 });
    // The result stays readable.
    expect(await getJson(url, `/jobs/${job}/checkpoints/${triggerId}`)).toEqual(result);
  });

  it('takes the body {checkpointType, triggerId}; the same trigger id again starts no second checkpoint', async () => {
    const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: HOUR, minPauseMs: HOUR }));
    const { url } = await fixture.startServer();
    const job = client.jobId;
    const triggerId = 'ab'.repeat(16);
    const body = JSON.stringify({ checkpointType: 'FULL', triggerId });
    const first = await request(url, 'POST', `/jobs/${job}/checkpoints`, body);
    const again = await request(url, 'POST', `/jobs/${job}/checkpoints`, body);
    expect(first).toMatchObject({ status: 202, body: { 'request-id': triggerId } });
    expect(again).toMatchObject({ status: 202, body: { 'request-id': triggerId } });
    const result = await pollTrigger(url, job, triggerId);
    expect(result.operation).toEqual({ checkpointId: 1 });
    const stats = await getJson<CheckpointingStatistics>(url, `/jobs/${job}/checkpoints`);
    expect(stats.counts.total).toBe(1);
  });

  it('completes with a failure cause when the job does not run', async () => {
    const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: HOUR, minPauseMs: HOUR }));
    const { url } = await fixture.startServer();
    await client.cancel();
    const trigger = await request(url, 'POST', `/jobs/${client.jobId}/checkpoints`, '{}');
    expect(trigger.status).toBe(202);
    const result = await pollTrigger(url, client.jobId, (trigger.body as TriggerResponse)['request-id']);
    const cause = (result.operation as { failureCause: SerializedThrowable }).failureCause;
    expect(cause.class).toBe('CheckpointException');
    expect(cause['stack-trace']).toContain('CANCELED');
    expect(Buffer.from(cause['serialized-throwable'], 'base64').toString('utf8')).toBe(cause['stack-trace']);
  });
});

describe('PATCH /jobs/:jobid?mode=cancel', () => {
  it('cancels the job: 202, then CANCELED everywhere with an end time and a result', async () => {
    const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: 100 }));
    const { url } = await fixture.startServer();
    const job = client.jobId;
    await waitFor(() => client.getMetrics().some((m) => m.recordsOut > 0), 'records to flow');

    const cancel = await request(url, 'PATCH', `/jobs/${job}?mode=cancel`);
    expect(cancel).toMatchObject({ status: 202, body: {} });
    expect(client.getJobStatus()).toBe('CANCELED');

    const details = await getJson<JobDetailsInfo>(url, `/jobs/${job}`);
    expect(details.state).toBe('CANCELED');
    expect(details['end-time']).toBeGreaterThanOrEqual(details['start-time']);
    expect(details.duration).toBe(details['end-time'] - details['start-time']);
    expect(details.timestamps.CANCELED).toBe(details['end-time']);
    expect(details.timestamps.CANCELLING).toBeGreaterThan(0);
    const overview = await getJson<MultipleJobsDetails>(url, '/jobs/overview');
    expect(overview.jobs.find((j) => j.jid === job)?.state).toBe('CANCELED');
    const cluster = await getJson<ClusterOverviewWithVersion>(url, '/overview');
    expect(cluster['jobs-cancelled']).toBeGreaterThanOrEqual(1);

    const result = await eventually(async () => {
      const body = await getJson<JobExecutionResultResponseBody>(url, `/jobs/${job}/execution-result`);
      return body.status.id === 'COMPLETED' ? body : undefined;
    }, 'the execution result');
    expectFlinkShape(result, '/jobs/{jobid}/execution-result');
    const jobResult = result['job-execution-result']!;
    expect(jobResult).toMatchObject({ id: job, 'application-status': 'CANCELED', name: client.jobName });
    expect(jobResult['failure-cause']?.class).toBe('SluiceError');

    // Cancelling a cancelled job again is accepted (Flink: already in the requested state).
    expect((await request(url, 'PATCH', `/jobs/${job}?mode=cancel`)).status).toBe(202);
  });

  it("defaults to mode=cancel; the web UI's GET /jobs/:jobid/yarn-cancel cancels too", async () => {
    const client = fixture.track(await startKeyedJob());
    const other = fixture.track(await startKeyedJob());
    const { url } = await fixture.startServer();
    expect((await request(url, 'PATCH', `/jobs/${client.jobId}`)).status).toBe(202);
    expect(client.getJobStatus()).toBe('CANCELED');
    expect((await request(url, 'GET', `/jobs/${other.jobId}/yarn-cancel`)).status).toBe(202);
    expect(other.getJobStatus()).toBe('CANCELED');
  });

  it("mode=stop is 308 with Flink's message; an unknown mode is 400; the job keeps running", async () => {
    const client = fixture.track(await startKeyedJob());
    const { url } = await fixture.startServer();
    const stop = await request(url, 'PATCH', `/jobs/${client.jobId}?mode=stop`);
    expectError(stop, 308, /^The termination mode "stop" has been removed\..*"jobs\/:jobId\/stop"/u);
    const bogus = await request(url, 'PATCH', `/jobs/${client.jobId}?mode=bogus`);
    expectError(bogus, 400, 'Cannot resolve query parameter (mode) from value "bogus".');
    expect(client.getJobStatus()).toBe('RUNNING');
  });

  it('a finished job cannot be cancelled (409); its result is SUCCEEDED with accumulators', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    env.fromSource(new NumberSequenceSource(1, 100), 'bounded').sinkTo(discard);
    const client = await env.executeAsync('bounded');
    const { url } = await fixture.startServer();
    await client.getJobExecutionResult();
    const cancel = await request(url, 'PATCH', `/jobs/${client.jobId}?mode=cancel`);
    expectError(
      cancel,
      409,
      'Job cancellation failed because the job has already reached another terminal state (FINISHED).',
    );
    const result = await getJson<JobExecutionResultResponseBody>(
      url,
      `/jobs/${client.jobId}/execution-result`,
    );
    expectFlinkShape(result, '/jobs/{jobid}/execution-result');
    expect(result['job-execution-result']).toMatchObject({ 'application-status': 'SUCCEEDED' });
    expect(result['job-execution-result']!['net-runtime']).toBeGreaterThanOrEqual(0);
    const details = await getJson<JobDetailsInfo>(url, `/jobs/${client.jobId}`);
    expect(details.state).toBe('FINISHED');
    expect(details.vertices.every((v) => v.status === 'FINISHED')).toBe(true);
    expect(details.vertices.every((v) => v['end-time'] >= v['start-time'])).toBe(true);
  });
});

describe('GET /jobs/:jobid/exceptions', () => {
  let failures = 0;

  async function startFailingJob(restarts: number) {
    failures = 0;
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    env.setRestartStrategy(
      restarts > 0 ? RestartStrategies.fixedDelay(restarts, 10) : RestartStrategies.noRestart(),
    );
    env
      .fromSource(new NumberSequenceSource(0, 1_000_000), 'numbers')
      .map((x) => {
        if (x === 500 && failures++ === 0) throw new Error('boom at 500');
        return x;
      })
      .name('fragile')
      .sinkTo(discard);
    return fixture.track(await env.executeAsync('failing'));
  }

  it('lists a task failure that was restarted, with the task and where it ran', async () => {
    const client = await startFailingJob(1);
    const { url } = await fixture.startServer();
    const body = await eventually(async () => {
      const b = await getJson<JobExceptionsInfoWithHistory>(url, `/jobs/${client.jobId}/exceptions`);
      return b.exceptionHistory.entries.length > 0 ? b : undefined;
    }, 'a failure in the exception history');
    expectFlinkShape(body, '/jobs/{jobid}/exceptions');
    const [entry] = body.exceptionHistory.entries;
    expect(entry!.stacktrace).toContain('boom at 500');
    expect(entry!.taskName).toMatch(/^numbers -> fragile -> Sink \([12]\/2\)#0$/u);
    expect(entry!.endpoint).toBe('localhost');
    expect(entry!.taskManagerId).toMatch(HEX32);
    expect(entry!.failureLabels).toEqual({});
    expect(entry!.timestamp).toBeGreaterThan(0);

    const none = await getJson<JobExceptionsInfoWithHistory>(
      url,
      `/jobs/${client.jobId}/exceptions?maxExceptions=0`,
    );
    expect(none.exceptionHistory).toEqual({ entries: [], truncated: true });
    const labelled = await getJson<JobExceptionsInfoWithHistory>(
      url,
      `/jobs/${client.jobId}/exceptions?failureLabelFilter=type:user`,
    );
    expect(labelled.exceptionHistory.entries).toEqual([]);
    const bad = await request(url, 'GET', `/jobs/${client.jobId}/exceptions?maxExceptions=many`);
    expectError(bad, 400, 'Cannot resolve query parameter (maxExceptions) from value "many".');
  });

  it('a job that failed for good reports FAILED, the failure, and a failed result', async () => {
    const client = await startFailingJob(0);
    const { url } = await fixture.startServer();
    await client.getJobExecutionResult().catch(() => {});
    const details = await getJson<JobDetailsInfo>(url, `/jobs/${client.jobId}`);
    expect(details.state).toBe('FAILED');
    const body = await getJson<JobExceptionsInfoWithHistory>(url, `/jobs/${client.jobId}/exceptions`);
    expect(body.exceptionHistory.entries).toHaveLength(1);
    const result = await getJson<JobExecutionResultResponseBody>(
      url,
      `/jobs/${client.jobId}/execution-result`,
    );
    expectFlinkShape(result, '/jobs/{jobid}/execution-result');
    expect(result['job-execution-result']).toMatchObject({ 'application-status': 'FAILED' });
    expect(result['job-execution-result']!['failure-cause']!['stack-trace']).toContain('boom at 500');
    const cluster = await getJson<ClusterOverviewWithVersion>(url, '/overview');
    expect(cluster['jobs-failed']).toBeGreaterThanOrEqual(1);
  });
});
