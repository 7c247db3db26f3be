// REST errors as Flink answers them ({"errors": [...]} with 400/404/405), jobs without checkpointing, and the server's port handling.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SluiceError } from 'sluice';
import { LocalRestBackend } from '../../src/rest/local-rest-backend.js';
import { startRestServer } from '../../src/rest/rest-server.js';
import type { CheckpointOperationResult, TriggerResponse } from '../../src/rest/rest-schema.js';
import {
  eventually,
  expectError,
  getJson,
  request,
  startKeyedJob,
  useRestFixture,
  waitForCheckpoints,
} from './support/rest-fixture.js';

const fixture = useRestFixture();
const UNKNOWN = '0123456789abcdef0123456789abcdef';

describe('error responses', () => {
  it('404 for unknown paths and unknown job ids; 400 for malformed ids', async () => {
    const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: 100 }));
    const { url } = await fixture.startServer();
    const job = client.jobId;
    await waitForCheckpoints(client);
    const completed = client.getCheckpointStats()!.latestCompleted!.id;

    expectError(await request(url, 'GET', '/nope?x=1'), 404, 'Not found: /nope?x=1');
    expectError(await request(url, 'GET', '/v2/jobs'), 404, 'Not found: /v2/jobs');
    expectError(await request(url, 'GET', `/jobs/${UNKNOWN}`), 404, `Job ${UNKNOWN} not found`);
    expectError(await request(url, 'GET', `/jobs/${UNKNOWN}/checkpoints`), 404, `Job ${UNKNOWN} not found`);
    expectError(await request(url, 'PATCH', `/jobs/${UNKNOWN}?mode=cancel`), 404, 'Job could not be found.');
    expectError(
      await request(url, 'GET', '/jobs/xyz'),
      400,
      'Cannot resolve path parameter (jobid) from value "xyz".',
    );
    expectError(
      await request(url, 'GET', `/jobs/${job}/checkpoints/details/abc`),
      400,
      'Cannot resolve path parameter (checkpointid) from value "abc".',
    );
    expectError(
      await request(url, 'GET', `/jobs/${job}/checkpoints/details/999999`),
      404,
      'Could not find checkpointing statistics for checkpoint 999999.',
    );
    expectError(
      await request(url, 'GET', `/jobs/${job}/checkpoints/details/${completed}/subtasks/${UNKNOWN}`),
      404,
      `There is no checkpoint statistics for task ${UNKNOWN}.`,
    );
    expectError(
      await request(url, 'GET', `/jobs/${job}/checkpoints/details/${completed}/subtasks/vertex`),
      400,
      'Cannot resolve path parameter (vertexid) from value "vertex".',
    );
    expectError(
      await request(url, 'GET', `/jobs/${job}/checkpoints/${UNKNOWN}`),
      404,
      `There is no checkpoint operation with triggerId=${UNKNOWN} for job ${job}.`,
    );
    expectError(
      await request(url, 'GET', `/jobs/${job}/checkpoints/not-a-trigger`),
      400,
      'Cannot resolve path parameter (triggerid) from value "not-a-trigger".',
    );
  });

  it('400 for malformed trigger bodies; nothing is triggered', async () => {
    const client = fixture.track(
      await startKeyedJob({ checkpointIntervalMs: 3_600_000, minPauseMs: 3_600_000 }),
    );
    const { url } = await fixture.startServer();
    const path = `/jobs/${client.jobId}/checkpoints`;
    const malformed = 'Request did not match expected format CheckpointTriggerRequestBody.';
    expectError(await request(url, 'POST', path, '{"checkpointType": '), 400, malformed);
    expectError(await request(url, 'POST', path, '[1, 2]'), 400, malformed);
    expectError(await request(url, 'POST', path, '{"checkpointType": "SOMETIMES"}'), 400, malformed);
    expectError(await request(url, 'POST', path, '{"triggerId": "short"}'), 400, malformed);
    expectError(
      await request(url, 'POST', path, '{"checkpointType": "INCREMENTAL"}'),
      400,
      /incremental checkpoint.*not supported.*FLINK-33723/u,
    );
    expect(client.getCheckpointStats()?.counts.total).toBe(0);
  });

  it('405 with an Allow header for a method the path does not take', async () => {
    const client = fixture.track(await startKeyedJob());
    const { url } = await fixture.startServer();
    const deleteJobs = await request(url, 'DELETE', '/jobs');
    expectError(deleteJobs, 405, 'Method DELETE is not allowed for /jobs; use GET.');
    expect(deleteJobs.headers.get('allow')).toBe('GET');
    const putJob = await request(url, 'PUT', `/jobs/${client.jobId}`);
    expect(putJob.status).toBe(405);
    expect(putJob.headers.get('allow')).toBe('GET, PATCH');
    expect((await request(url, 'POST', '/jobs/overview')).status).toBe(405);
    expect((await request(url, 'POST', `/jobs/${client.jobId}/checkpoints/config`)).status).toBe(405);
    expect(client.getJobStatus()).toBe('RUNNING');
  });
});

describe('a job without checkpointing', () => {
  it('has no checkpoint statistics or configuration (404), and a manual trigger fails', async () => {
    const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: undefined }));
    const { url } = await fixture.startServer();
    const job = client.jobId;
    expectError(
      await request(url, 'GET', `/jobs/${job}/checkpoints`),
      404,
      'Checkpointing has not been enabled.',
    );
    expectError(
      await request(url, 'GET', `/jobs/${job}/checkpoints/config`),
      404,
      `Checkpointing is not enabled for this job (${job}).`,
    );
    expectError(
      await request(url, 'GET', `/jobs/${job}/checkpoints/details/1`),
      404,
      `Checkpointing was not enabled for job ${job}.`,
    );
    const trigger = await request(url, 'POST', `/jobs/${job}/checkpoints`);
    expect(trigger.status).toBe(202);
    const triggerId = (trigger.body as TriggerResponse)['request-id'];
    const result = await eventually(async () => {
      const body = await getJson<CheckpointOperationResult>(url, `/jobs/${job}/checkpoints/${triggerId}`);
      return body.status.id === 'COMPLETED' ? body : undefined;
    }, 'the trigger to complete');
    expect(JSON.stringify(result.operation)).toContain('execution.checkpointing.interval');
  });
});

describe('the server', () => {
  it('rejects a taken port with SLUICE_REST_PORT_IN_USE, saying how to choose another', async () => {
    const first = await fixture.startServer();
    let error: unknown;
    try {
      const second = await startRestServer({
        backend: new LocalRestBackend(fixture.executor()),
        port: first.port,
      });
      await second.close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('SLUICE_REST_PORT_IN_USE');
    expect((error as SluiceError).message).toContain(`127.0.0.1:${first.port}`);
    expect((error as SluiceError).message).toContain('rest.port=0');
    // The first server still answers.
    expect(await getJson(first.url, '/jobs')).toHaveProperty('jobs');
  });

  it('also reports a port another program holds', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(fixture.startServer({ port })).rejects.toMatchObject({ code: 'SLUICE_REST_PORT_IN_USE' });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('close() closes kept-alive connections, and may be called twice', async () => {
    const server = await startRestServer({ backend: new LocalRestBackend(fixture.executor()), port: 0 });
    await getJson(server.url, '/overview');
    await server.close();
    await server.close();
    await expect(fetch(`${server.url}/overview`)).rejects.toThrow();
  });
});
