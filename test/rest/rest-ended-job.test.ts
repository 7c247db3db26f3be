// What REST says of a job that ended (issue 9 point 6): every vertex and subtask in its terminal
// state with its own end time, and which checkpoints are discarded.
import { describe, expect, it } from 'vitest';
import { DataGeneratorSource, RestartStrategies, StreamExecutionEnvironment, type JobClient } from 'sluice';
import {
  getDefaultPipelineExecutor,
  setDefaultPipelineExecutor,
  type PipelineSubmission,
} from '../../src/api/execution.js';
import { SystemClock } from '../../src/core/clock.js';
import { JobMaster } from '../../src/coordinator/job-master.js';
import type {
  DeployedJob,
  JobMasterGateway,
  TaskManagerGateway,
} from '../../src/coordinator/job-master-gateway.js';
import { LocalRestBackend } from '../../src/rest/local-rest-backend.js';
import { startRestServer } from '../../src/rest/rest-server.js';
import type { CheckpointingStatistics, JobDetailsInfo } from '../../src/rest/rest-schema.js';
import { checkpointDirs, fileUri, withTempDir } from '../support/checkpointing.js';
import { waitFor } from '../support/helpers.js';
import {
  discard,
  expectEndedAs,
  expectFlinkShape,
  getJson,
  useRestFixture,
  waitForCheckpoints,
} from './support/rest-fixture.js';

const fixture = useRestFixture();

/** A bounded keyed job (generator -> keyed sum -> sink) at parallelism 2, checkpointing every 20 ms. */
function boundedJob(records: number): StreamExecutionEnvironment {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
  env.enableCheckpointing(20);
  env
    .fromSource(new DataGeneratorSource((i) => i, records, { recordsPerSecond: 5_000 }), 'numbers')
    .keyBy((x) => x % 16)
    .reduce((a, b) => a + b)
    .name('sum')
    .sinkTo(discard);
  return env;
}

describe('GET /jobs/:jobid of a job that ended', () => {
  it('a finished job: every vertex and every subtask FINISHED, with end times', async () => {
    const client = fixture.track(await boundedJob(1_000).executeAsync('finishing'));
    const { url } = await fixture.startServer();
    await client.getJobExecutionResult();
    await expectEndedAs(url, client.jobId, 'FINISHED');
  });

  it('a cancelled job: every vertex and every subtask CANCELED, with end times', async () => {
    const client = fixture.track(await boundedJob(Infinity).executeAsync('cancelled'));
    const { url } = await fixture.startServer();
    await waitForCheckpoints(client, 1);
    await client.cancel();
    await expectEndedAs(url, client.jobId, 'CANCELED');
  });

  it('a failed job: the failed subtask FAILED, every other CANCELED, with end times', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    env.setRestartStrategy(RestartStrategies.noRestart());
    env
      .fromSource(new DataGeneratorSource((i) => i, Infinity, { recordsPerSecond: 2_000 }), 'numbers')
      .keyBy((x) => x % 16)
      .map((x) => {
        if (x === 50) throw new Error('record 50 is poison');
        return x;
      })
      .name('poisoned')
      .sinkTo(discard);
    const client = fixture.track(await env.executeAsync('failing'));
    const { url } = await fixture.startServer();
    await client.getJobExecutionResult().catch(() => {});
    const details = await getJson<JobDetailsInfo>(url, `/jobs/${client.jobId}`);
    expectFlinkShape(details, '/jobs/{jobid}');
    expect(details.state).toBe('FAILED');
    const [source, poisoned] = details.vertices;
    expect(source).toMatchObject({ status: 'CANCELED', tasks: { CANCELED: 2, RUNNING: 0 } });
    expect(poisoned).toMatchObject({ status: 'FAILED', tasks: { FAILED: 1, CANCELED: 1, RUNNING: 0 } });
    for (const vertex of details.vertices) {
      expect(vertex['start-time']).toBeGreaterThan(0);
      expect(vertex['end-time']).toBeGreaterThanOrEqual(vertex['start-time']);
      expect(vertex.duration).toBe(vertex['end-time'] - vertex['start-time']);
    }
  });

  it('a cancelled job whose TaskManagers never report the cancellation still shows every task CANCELED', async () => {
    // As a JobManager whose TaskManager processes are released on cancel: no report comes back.
    const master = await jobMasterOn(new SilentTaskManagers(), boundedJob(Infinity));
    const server = await startRestServer({
      backend: new LocalRestBackend({ jobMasters: [master] }),
      port: 0,
    });
    try {
      await waitFor(
        () => master.taskExecutionStates.every((row) => row.every((s) => s === 'RUNNING')),
        'every task RUNNING',
      );
      await master.cancel();
      await expectEndedAs(server.url, master.jobId, 'CANCELED');
    } finally {
      await master.cancel();
      await server.close();
    }
  });
});

describe('discarded checkpoints in GET /jobs/:jobid/checkpoints', () => {
  /** The checkpoints of the history as [id, discarded], newest first. */
  async function discardedFlags(url: string, jobId: string): Promise<[number, boolean][]> {
    const body = await getJson<CheckpointingStatistics>(url, `/jobs/${jobId}/checkpoints`);
    expectFlinkShape(body, '/jobs/{jobid}/checkpoints');
    expect(body.latest.completed?.id).toBe(body.history.find((c) => c.status === 'COMPLETED')?.id);
    return body.history.flatMap((c) => (c.className === 'completed' ? [[c.id, c.discarded]] : []));
  }

  /** Runs an unbounded job on file storage until 3 checkpoints completed; cancels it as `retention` says. */
  async function cancelWith(
    dir: string,
    retention: 'RETAIN_ON_CANCELLATION' | 'DELETE_ON_CANCELLATION',
  ): Promise<{ url: string; client: JobClient; jobDir: string }> {
    const env = boundedJob(Infinity);
    env.getCheckpointConfig().setCheckpointStorage(fileUri(dir));
    env.getCheckpointConfig().setExternalizedCheckpointRetention(retention);
    const client = fixture.track(await env.executeAsync(`cancelled-${retention}`));
    const { url } = await fixture.startServer();
    await waitForCheckpoints(client, 3);
    // While the job runs, the newest is retained and the ones it subsumed are gone.
    const running = await discardedFlags(url, client.jobId);
    expect(running[0]![1]).toBe(false);
    expect(running.slice(1).every(([, discarded]) => discarded)).toBe(true);
    const jobDir = `${dir}/${client.jobId}`;
    await client.cancel();
    return { url, client, jobDir };
  }

  it('RETAIN_ON_CANCELLATION: after cancel the latest completed checkpoint is not discarded, and is on disk', () =>
    withTempDir(async (dir) => {
      const { url, client, jobDir } = await cancelWith(dir, 'RETAIN_ON_CANCELLATION');
      const flags = await discardedFlags(url, client.jobId);
      const [latestId, latestDiscarded] = flags[0]!;
      expect(latestDiscarded).toBe(false);
      expect(flags.slice(1).every(([, discarded]) => discarded)).toBe(true);
      // What `discarded` says is what is on disk, completed checkpoint by completed checkpoint.
      expect(await completedOnDisk(jobDir, flags)).toEqual([latestId]);
    }));

  it('DELETE_ON_CANCELLATION: cancel deletes every checkpoint, and REST says so, as Flink', () =>
    withTempDir(async (dir) => {
      const { url, client, jobDir } = await cancelWith(dir, 'DELETE_ON_CANCELLATION');
      const flags = await discardedFlags(url, client.jobId);
      expect(flags.every(([, discarded]) => discarded)).toBe(true);
      expect(await completedOnDisk(jobDir, flags)).toEqual([]);
    }));
});

/**
 * Which of the completed checkpoints `flags` names still have their directory. A checkpoint the
 * cancel aborted is not among them: under load its directory was seen to outlive the cancel, which
 * is the aborted-checkpoint clean-up's matter, not what `discarded` says.
 */
async function completedOnDisk(jobDir: string, flags: readonly [number, boolean][]): Promise<number[]> {
  const dirs = new Set(await checkpointDirs(jobDir));
  return flags.map(([id]) => id).filter((id) => dirs.has(`chk-${id}`));
}

/** Deploys nothing: every task reports RUNNING once, and never another state (a released deployment). */
class SilentTaskManagers implements TaskManagerGateway {
  deploy(submission: PipelineSubmission, master: JobMasterGateway): DeployedJob {
    queueMicrotask(() => {
      for (const v of submission.jobGraph.vertices)
        for (let s = 0; s < v.parallelism; s++) master.onTaskStateChanged(v.index, s, 'RUNNING');
    });
    const nothing = () => {};
    return {
      cancel: nothing,
      cancelTasks: nothing,
      restartTasks: nothing,
      sendOperatorEvent: nothing,
      endSourceInput: nothing,
      triggerCheckpoint: nothing,
      notifyCheckpointComplete: nothing,
      notifyCheckpointAborted: nothing,
      finishAll: nothing,
      metrics: () => [],
      accumulators: () => [],
    };
  }
}

/** Starts the job of `env` on a JobMaster of its own that deploys through `taskManagers`. */
async function jobMasterOn(
  taskManagers: TaskManagerGateway,
  env: StreamExecutionEnvironment,
): Promise<JobMaster> {
  const previous = getDefaultPipelineExecutor();
  let master: JobMaster | undefined;
  setDefaultPipelineExecutor({
    execute: (submission) => {
      master = new JobMaster(submission, taskManagers, SystemClock);
      master.start();
      return Promise.resolve(master);
    },
  });
  try {
    await env.executeAsync('silent-task-managers');
  } finally {
    if (previous) setDefaultPipelineExecutor(previous);
  }
  return master!;
}
