// Savepoints over REST: POST /jobs/:jobid/savepoints and /stop (Flink's bodies and 202), polling the status, the 400 without a target, a cancel-job savepoint, and the SAVEPOINT entry in the checkpoint history.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type {
  CheckpointingStatistics,
  SavepointOperationResult,
  SerializedThrowable,
  TriggerResponse,
} from '../../src/rest/rest-schema.js';
import { resolveFileCheckpoint } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';
import { withTempDir } from '../support/checkpointing.js';
import {
  expectError,
  expectFlinkShape,
  getJson,
  request,
  startKeyedJob,
  useRestFixture,
  waitForCheckpoints,
} from './support/rest-fixture.js';

const HOUR = 3_600_000;
const fixture = useRestFixture();

/** Polls a savepoint operation until it is COMPLETED (with a location or a failure). */
async function pollSavepoint(
  base: string,
  job: string,
  triggerId: string,
): Promise<SavepointOperationResult> {
  for (;;) {
    const body = await getJson<SavepointOperationResult>(base, `/jobs/${job}/savepoints/${triggerId}`);
    expectFlinkShape(body, '/jobs/{jobid}/savepoints/{triggerid}');
    if (body.status.id === 'COMPLETED') return body;
    expect(body.operation).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('POST /jobs/:jobid/savepoints', () => {
  it('answers 202 with a trigger id, then COMPLETED with the location; the history shows a SAVEPOINT', () =>
    withTempDir(async (dir) => {
      const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: HOUR, minPauseMs: HOUR }));
      const { url } = await fixture.startServer();
      const job = client.jobId;
      const body = JSON.stringify({ 'target-directory': dir, 'cancel-job': false, formatType: 'CANONICAL' });
      const trigger = await request(url, 'POST', `/jobs/${job}/savepoints`, body);
      expect(trigger.status).toBe(202);
      expectFlinkShape(trigger.body, '/jobs/{jobid}/savepoints', 'POST', '202');
      const triggerId = (trigger.body as TriggerResponse)['request-id'];

      const result = await pollSavepoint(url, job, triggerId);
      const location = (result.operation as { location: string }).location;
      expect(join(location, '..')).toBe(dir);
      const { metadata } = await resolveFileCheckpoint(location);
      expect(metadata.isSavepoint).toBe(true);

      const stats = await getJson<CheckpointingStatistics>(url, `/jobs/${job}/checkpoints`);
      expect(stats.history[0]).toMatchObject({
        id: metadata.checkpointId,
        status: 'COMPLETED',
        is_savepoint: true,
        checkpoint_type: 'SAVEPOINT',
        external_path: location,
        savepointFormat: 'CANONICAL',
      });
      expect(stats.latest.savepoint).toMatchObject({ id: metadata.checkpointId, external_path: location });
      // latest.completed is the newest checkpoint, never a savepoint (as Flink keeps them apart).
      expect(stats.latest.completed?.id ?? -1).not.toBe(metadata.checkpointId);
      expectFlinkShape(stats, '/jobs/{jobid}/checkpoints');
      expect(client.getJobStatus()).toBe('RUNNING');
    }));

  it('400 with Flink’s message when neither target-directory nor savepoint-dir is given; 400 for a malformed body', async () => {
    const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: HOUR, minPauseMs: HOUR }));
    const { url } = await fixture.startServer();
    expectError(
      await request(url, 'POST', `/jobs/${client.jobId}/savepoints`, '{}'),
      400,
      'Config key [execution.checkpointing.savepoint-dir] is not set. Property [target-directory] must be provided.',
    );
    expectError(
      await request(url, 'POST', `/jobs/${client.jobId}/savepoints`, '{"cancel-job":"yes"}'),
      400,
      /SavepointTriggerRequestBody/u,
    );
  });

  it('with cancel-job: the job is CANCELED once the savepoint completed', () =>
    withTempDir(async (dir) => {
      const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: HOUR, minPauseMs: HOUR }));
      const { url } = await fixture.startServer();
      const body = JSON.stringify({ 'target-directory': dir, 'cancel-job': true });
      const trigger = await request(url, 'POST', `/jobs/${client.jobId}/savepoints`, body);
      const result = await pollSavepoint(url, client.jobId, (trigger.body as TriggerResponse)['request-id']);
      expect(result.operation).toHaveProperty('location');
      expect(client.getJobStatus()).toBe('CANCELED');
    }));

  it('completes with a failure cause when the target cannot be used, and the job runs on', async () => {
    const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: 50 }));
    const { url } = await fixture.startServer();
    await waitForCheckpoints(client, 1);
    const body = JSON.stringify({ 'target-directory': 'relative/dir' });
    const trigger = await request(url, 'POST', `/jobs/${client.jobId}/savepoints`, body);
    const result = await pollSavepoint(url, client.jobId, (trigger.body as TriggerResponse)['request-id']);
    const cause = (result.operation as { 'failure-cause': SerializedThrowable })['failure-cause'];
    expect(cause['stack-trace']).toMatch(/relative path/u);
    await waitForCheckpoints(client, 2);
    expect(client.getJobStatus()).toBe('RUNNING');
  });
});

describe('POST /jobs/:jobid/stop', () => {
  it('answers 202; the status at /savepoints/:triggerid completes with the location once the job is FINISHED', () =>
    withTempDir(async (dir) => {
      const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: HOUR, minPauseMs: HOUR }));
      const { url } = await fixture.startServer();
      const body = JSON.stringify({ targetDirectory: dir, drain: false, formatType: 'CANONICAL' });
      const trigger = await request(url, 'POST', `/jobs/${client.jobId}/stop`, body);
      expect(trigger.status).toBe(202);
      expectFlinkShape(trigger.body, '/jobs/{jobid}/stop', 'POST', '202');
      const result = await pollSavepoint(url, client.jobId, (trigger.body as TriggerResponse)['request-id']);
      const location = (result.operation as { location: string }).location;
      const { metadata } = await resolveFileCheckpoint(location);
      expect(metadata.isSavepoint).toBe(true);
      expect(client.getJobStatus()).toBe('FINISHED');
      await client.getJobExecutionResult();
      // Flink's name for a stop-with-savepoint's savepoint in the history.
      const history = await getJson<CheckpointingStatistics>(url, `/jobs/${client.jobId}/checkpoints`);
      expect(history.history.find((c) => c.id === metadata.checkpointId)).toMatchObject({
        is_savepoint: true,
        checkpoint_type: 'SYNC_SAVEPOINT',
      });
    }));

  it('400 for a body that is not StopWithSavepointRequestBody', async () => {
    const client = fixture.track(await startKeyedJob({ checkpointIntervalMs: HOUR, minPauseMs: HOUR }));
    const { url } = await fixture.startServer();
    expectError(
      await request(url, 'POST', `/jobs/${client.jobId}/stop`, '{"drain":"yes","targetDirectory":"/x"}'),
      400,
      /StopWithSavepointRequestBody/u,
    );
  });
});
