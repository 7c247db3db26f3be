/**
 * Figure (e) and its baseline (f): a keyed running count at parallelism 2 on two TaskManager
 * processes (one slot each, the TCP data plane between them) vs the same job inline in one process.
 */
import { fileURLToPath } from 'node:url';
import { LocalExecutor } from '../src/cluster/local-executor.js';
import type { JobMaster } from '../src/coordinator/job-master.js';
import { main, RECORDS_ACCUMULATOR } from './jobs/keyed-count.js';
import { jobMasterOf, startBenchCluster, withExecutor, type BenchCluster } from './cluster-support.js';
import { expectCount, type Comparison, type TimedPass } from './harness.js';
import { parallelCapacity } from './parallel-capacity.js';

const JOB_FILE = fileURLToPath(new URL('./jobs/keyed-count.ts', import.meta.url));
const PARALLELISM = 2;
const KEYS = 10_000;
/** Untimed jobs each new cluster runs first, on top of the harness's warm-up pass. */
const WARM_UP_JOBS = 2;

/** Runs the job to its end; returns its JobMaster and the pass, timed from all tasks RUNNING to FINISHED. */
async function runJob(
  args: readonly string[],
  records: number,
): Promise<{ master: JobMaster; pass: TimedPass }> {
  let master: JobMaster | undefined;
  const result = await main(args, (client) => (master = jobMasterOf(client)));
  expectCount('cluster-keyed-count', result.getAccumulatorResult<number>(RECORDS_ACCUMULATOR) ?? 0, records);
  const timings = master!.lastAttemptTimings;
  const finishedAt = master!.statusTimestamps.get('FINISHED');
  if (timings?.allRunningAt === undefined || finishedAt === undefined)
    throw new Error(
      'cluster-keyed-count: the job ended before all its tasks were RUNNING; raise the record count',
    );
  return {
    master: master!,
    pass: { records, seconds: Math.max(1, finishedAt - timings.allRunningAt) / 1000 },
  };
}

/**
 * The comparison, plus how far apart the cluster's tasks started (ms, per cluster run) and the
 * machine's two-process CPU capacity measured right after each cluster run (see parallel-capacity.ts).
 */
export interface ClusterKeyedCount extends Comparison {
  readonly startupSkewsMs: readonly number[];
  readonly capacities: readonly number[];
}

/** The comparison over `records` records; the cluster starts with the first pass and stops in `close`. */
export function clusterKeyedCount(records: number): ClusterKeyedCount {
  const args = [String(records), String(PARALLELISM), String(KEYS)];
  const inline = new LocalExecutor();
  let cluster: Promise<BenchCluster> | undefined;
  const startupSkewsMs: number[] = [];
  const capacities: number[] = [];
  return {
    name: 'cluster-keyed-count-p2',
    description:
      `DataGeneratorSource (p${PARALLELISM}) → keyBy(page, ${KEYS} keys) → KeyedProcessFunction running count ` +
      `(ValueState) → discarding sink, on 2 TaskManager processes with 1 slot each (TCP data plane), ` +
      `${records} records; timed from all tasks RUNNING to FINISHED (deployment and bundle load excluded)`,
    baselineDescription: 'the same job inline in this process (LocalExecutor, one event loop), timed alike',
    goal: 1.6,
    subject: async () => {
      cluster ??= startBenchCluster({ jobFile: JOB_FILE, args, taskManagers: 2, slots: 1 }).then(
        async (started) => {
          // Fresh TaskManager processes: let their JIT see the runtime's hot paths before the
          // harness's own warm-up pass (this process has run them in the earlier figures).
          try {
            for (let i = 0; i < WARM_UP_JOBS; i++)
              await withExecutor(started.executor, () => runJob(args, records));
          } catch (e) {
            await started.close();
            throw e;
          }
          return started;
        },
      );
      const { executor } = await cluster;
      const { master, pass } = await withExecutor(executor, () => runJob(args, records));
      const placed = executor.gatewayOf(master)?.taskManagers.length ?? 0;
      if (placed !== 2)
        throw new Error(`cluster-keyed-count: the job ran on ${placed} TaskManager(s), not 2`);
      const t = master.lastAttemptTimings!;
      startupSkewsMs.push(t.allRunningAt! - t.firstRunningAt!);
      capacities.push(await parallelCapacity());
      return pass;
    },
    baseline: async () => (await withExecutor(inline, () => runJob(args, records))).pass,
    close: async () => {
      const started = cluster;
      cluster = undefined;
      const running = await started?.catch(() => undefined);
      await running?.close();
    },
    startupSkewsMs,
    capacities,
  };
}
