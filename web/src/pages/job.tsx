/** A job's page: its header and buttons, and the Overview, Checkpoints, Timeline, Exceptions and Configuration tabs. */
import { getJson, type AggregatedMetric, type JobDetailsInfo } from '../api.js';
import { Badge, Card, ErrorBanner, KeyValues, Loading, Tabs, TaskCounts } from '../components/ui.js';
import { bytes, count, duration, percent, time } from '../format.js';
import { usePoll } from '../hooks.js';
import { CheckpointsTab } from './checkpoints.js';
import { ExceptionsTab } from './exceptions.js';
import { JobActions } from './job-actions.js';
import { JobGraph, type VertexLoad } from './job-graph.js';
import { TimelineTab } from './timeline.js';

const LOAD_METRICS =
  'backPressuredTimeMsPerSecond,busyTimeMsPerSecond,numRecordsInPerSecond,numRecordsOutPerSecond';

/** The busiest subtask's share of time, as Flink's graph shows it (max over subtasks, per second). */
async function vertexLoads(job: JobDetailsInfo): Promise<Map<string, VertexLoad>> {
  const entries = await Promise.all(
    job.vertices.map(async (v): Promise<[string, VertexLoad]> => {
      const metrics = await getJson<AggregatedMetric[]>(
        `/jobs/${job.jid}/vertices/${v.id}/subtasks/metrics?get=${LOAD_METRICS}`,
      );
      const by = new Map(metrics.map((m) => [m.id, m]));
      const fraction = (id: string) => {
        const max = by.get(id)?.max;
        return max === undefined ? undefined : Math.min(1, max / 1000);
      };
      return [
        v.id,
        {
          busy: fraction('busyTimeMsPerSecond'),
          backPressured: fraction('backPressuredTimeMsPerSecond'),
          inPerSecond: by.get('numRecordsInPerSecond')?.sum,
          outPerSecond: by.get('numRecordsOutPerSecond')?.sum,
        },
      ];
    }),
  );
  return new Map(entries);
}

function OverviewTab({ job }: { job: JobDetailsInfo }) {
  const running = job.state === 'RUNNING';
  const loads = usePoll(
    () => vertexLoads(job),
    `${job.jid}:${job.vertices.map((v) => v.id).join(',')}:${running}`,
    running ? undefined : 0,
  );
  const byId = loads.data ?? new Map<string, VertexLoad>();
  return (
    <>
      <Card title="Job Graph" class="graph-card">
        <JobGraph job={job} loads={byId} />
        <div class="legend">
          <span class="swatch" style={{ background: 'hsl(4, 85%, 70%)' }} /> busy
          <span class="swatch" style={{ background: 'hsl(220, 8%, 60%)' }} /> back-pressured
          <span class="muted">· colour by the busiest subtask, per second</span>
        </div>
      </Card>
      <Card title="Vertices">
        <table class="table" data-testid="vertex-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th class="num">Parallelism</th>
              <th class="num">Records received</th>
              <th class="num">Bytes received</th>
              <th class="num">Records sent</th>
              <th class="num">Bytes sent</th>
              <th class="num">Busy</th>
              <th class="num">Backpressured</th>
              <th>Duration</th>
              <th>Tasks</th>
            </tr>
          </thead>
          <tbody>
            {job.vertices.map((v) => (
              <tr key={v.id}>
                <td>{v.name}</td>
                <td>
                  <Badge state={v.status} />
                </td>
                <td class="num">{v.parallelism}</td>
                <td class="num">{count(v.metrics['read-records'])}</td>
                <td class="num">{bytes(v.metrics['read-bytes'])}</td>
                <td class="num">{count(v.metrics['write-records'])}</td>
                <td class="num">{bytes(v.metrics['write-bytes'])}</td>
                <td class="num">{percent(byId.get(v.id)?.busy)}</td>
                <td class="num">{percent(byId.get(v.id)?.backPressured)}</td>
                <td>{duration(v.duration)}</td>
                <td>
                  <TaskCounts tasks={v.tasks} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}

function ConfigurationTab({ jobId }: { jobId: string }) {
  const config = usePoll(
    () =>
      getJson<{ 'execution-config'?: { 'user-config'?: Record<string, string> } & Record<string, unknown> }>(
        `/jobs/${jobId}/config`,
      ),
    `config:${jobId}`,
    0,
  );
  if (config.error !== undefined) return <ErrorBanner error={config.error} />;
  if (config.data === undefined) return <Loading />;
  const exec = config.data['execution-config'] ?? {};
  const user = exec['user-config'] ?? {};
  return (
    <>
      <Card title="Execution Configuration">
        <KeyValues
          rows={Object.entries(exec)
            .filter(([k]) => k !== 'user-config')
            .map(([k, v]) => [k, String(v)] as const)}
        />
      </Card>
      <Card title="User Configuration">
        {Object.keys(user).length === 0 ? (
          <div class="muted">None.</div>
        ) : (
          <KeyValues rows={Object.entries(user)} />
        )}
      </Card>
    </>
  );
}

export function JobPage(props: { jobId: string; tab: string; route: readonly string[] }) {
  const { jobId, tab } = props;
  const job = usePoll(() => getJson<JobDetailsInfo>(`/jobs/${jobId}`), `job:${jobId}`);
  const j = job.data;
  const base = `#/job/${jobId}`;
  const tabs = [
    { id: 'overview', label: 'Overview', href: `${base}/overview` },
    ...(j?.plan.type === 'BATCH'
      ? []
      : [{ id: 'checkpoints', label: 'Checkpoints', href: `${base}/checkpoints` }]),
    { id: 'timeline', label: 'Timeline', href: `${base}/timeline` },
    { id: 'exceptions', label: 'Exceptions', href: `${base}/exceptions` },
    { id: 'configuration', label: 'Configuration', href: `${base}/configuration` },
  ];
  return (
    <div class="page">
      <ErrorBanner error={job.error} />
      {j === undefined ? (
        job.error === undefined && <Loading />
      ) : (
        <>
          <header class="job-header">
            <div>
              <h1>
                {j.name} <Badge state={j.state} />
              </h1>
              <div class="job-meta">
                <span class="mono">{j.jid}</span>
                <span>Started {time(j['start-time'])}</span>
                {j['end-time'] > 0 && <span>Ended {time(j['end-time'])}</span>}
                <span>Duration {duration(j.duration)}</span>
                <TaskCounts tasks={j['status-counts']} />
              </div>
            </div>
            <JobActions jobId={jobId} running={j.state === 'RUNNING'} onChange={job.refresh} />
          </header>
          <Tabs tabs={tabs} active={tab} />
          {tab === 'checkpoints' ? (
            <CheckpointsTab job={j} route={props.route} />
          ) : tab === 'timeline' ? (
            <TimelineTab job={j} />
          ) : tab === 'exceptions' ? (
            <ExceptionsTab jobId={jobId} />
          ) : tab === 'configuration' ? (
            <ConfigurationTab jobId={jobId} />
          ) : (
            <OverviewTab job={j} />
          )}
        </>
      )}
    </div>
  );
}
