/**
 * The Checkpoints tab: counts and the latest checkpoints, the history with per-operator and
 * per-subtask detail, the summary statistics and the checkpointing configuration.
 */
import {
  getJson,
  type CheckpointConfigInfo,
  type CheckpointingStatistics,
  type JobDetailsInfo,
  type StatsSummaryDto,
} from '../api.js';
import { Badge, Card, Empty, ErrorBanner, KeyValues, Loading, Stat, Tabs } from '../components/ui.js';
import { bytes, clock, duration, time } from '../format.js';
import { useExpanded, usePoll } from '../hooks.js';
import {
  acknowledged,
  CheckpointDetail,
  CheckpointFigureCells,
  CheckpointFigureHeaders,
  checkpointType,
} from './checkpoint-details.js';

/** Java's Long.MAX_VALUE (periodic checkpoints disabled) as JSON.parse reads it: 2^63 as a double. */
const LONG_MAX = 2 ** 63;

function OverviewSection({ stats }: { stats: CheckpointingStatistics }) {
  const { counts, latest } = stats;
  return (
    <>
      <div class="stats" data-testid="checkpoint-counts">
        <Stat label="Triggered" value={counts.total} testId="count-total" />
        <Stat label="In Progress" value={counts.in_progress} testId="count-in_progress" />
        <Stat label="Completed" value={counts.completed} testId="count-completed" />
        <Stat label="Failed" value={counts.failed} testId="count-failed" />
        <Stat label="Restored" value={counts.restored} testId="count-restored" />
      </div>
      <div class="grid-2">
        <Card title="Latest Completed Checkpoint">
          {latest.completed === null ? (
            <div class="muted">None yet.</div>
          ) : (
            <KeyValues
              rows={[
                ['ID', <span data-testid="latest-completed-id">{latest.completed.id}</span>],
                ['Completion time', time(latest.completed.latest_ack_timestamp)],
                ['End to end duration', duration(latest.completed.end_to_end_duration)],
                ['Checkpointed data size', bytes(latest.completed.checkpointed_size)],
                ['Full checkpoint data size', bytes(latest.completed.state_size)],
                ['Path', <span class="mono">{latest.completed.external_path}</span>],
              ]}
            />
          )}
        </Card>
        <Card title="Latest Failed Checkpoint">
          {latest.failed === null ? (
            <div class="muted">None.</div>
          ) : (
            <KeyValues
              rows={[
                ['ID', latest.failed.id],
                ['Failure time', time(latest.failed.failure_timestamp)],
                ['Cause', <span class="failure">{latest.failed.failure_message}</span>],
              ]}
            />
          )}
        </Card>
        <Card title="Latest Savepoint">
          {latest.savepoint === null ? (
            <div class="muted">None.</div>
          ) : (
            <KeyValues
              rows={[
                ['ID', latest.savepoint.id],
                ['Completion time', time(latest.savepoint.latest_ack_timestamp)],
                ['Type', checkpointType(latest.savepoint)],
                ['Format', latest.savepoint.savepointFormat ?? '–'],
                ['Checkpointed data size', bytes(latest.savepoint.checkpointed_size)],
                ['Path', <span class="mono">{latest.savepoint.external_path}</span>],
              ]}
            />
          )}
        </Card>
        <Card title="Latest Restore">
          {latest.restored === null ? (
            <div class="muted">The job has not been restored.</div>
          ) : (
            <KeyValues
              rows={[
                ['ID', latest.restored.id],
                ['Restore time', time(latest.restored.restore_timestamp)],
                ['Type', latest.restored.is_savepoint ? 'Savepoint' : 'Checkpoint'],
                ['Path', <span class="mono">{latest.restored.external_path}</span>],
              ]}
            />
          )}
        </Card>
      </div>
    </>
  );
}

function HistorySection({ job, stats }: { job: JobDetailsInfo; stats: CheckpointingStatistics }) {
  const rows = useExpanded<number>();
  if (stats.history.length === 0) return <Empty>No checkpoints yet.</Empty>;
  return (
    <table class="table" data-testid="checkpoint-history">
      <thead>
        <tr>
          <th />
          <th>ID</th>
          <th>Status</th>
          <th>Acknowledged</th>
          <th>Trigger time</th>
          <th>Latest ack</th>
          <CheckpointFigureHeaders />
        </tr>
      </thead>
      <tbody>
        {stats.history.map((c) => {
          const expanded = rows.isOpen(c.id);
          const toggle = () => rows.toggle(c.id);
          return [
            <tr
              key={c.id}
              class="clickable"
              onClick={toggle}
              data-testid="history-row"
              data-checkpoint-id={c.id}
            >
              <td class="chevron">{expanded ? '▾' : '▸'}</td>
              <td>
                {c.id}
                {c.is_savepoint && <span class="tag">savepoint</span>}
              </td>
              <td>
                <Badge state={c.status} />
              </td>
              <td>{acknowledged(c)}</td>
              <td>{time(c.trigger_timestamp)}</td>
              <td>{clock(c.latest_ack_timestamp)}</td>
              <CheckpointFigureCells figures={c} />
            </tr>,
            expanded && (
              <tr key={`${c.id}-detail`} class="nested">
                <td colSpan={11}>
                  <CheckpointDetail job={job} checkpoint={c} />
                </td>
              </tr>
            ),
          ];
        })}
      </tbody>
    </table>
  );
}

function SummarySection({ stats }: { stats: CheckpointingStatistics }) {
  const rows: [string, StatsSummaryDto, (n: number) => string][] = [
    ['End to end duration', stats.summary.end_to_end_duration, duration],
    ['Checkpointed data size', stats.summary.checkpointed_size, bytes],
    ['Full checkpoint data size', stats.summary.state_size, bytes],
    ['Processed (persisted) in-flight data', stats.summary.processed_data, bytes],
    ['Persisted in-flight data', stats.summary.persisted_data, bytes],
  ];
  const pct = (v: number | 'NaN', f: (n: number) => string) => (v === 'NaN' ? 'n/a' : f(v));
  return (
    <table class="table" data-testid="checkpoint-summary">
      <thead>
        <tr>
          <th />
          <th class="num">Minimum</th>
          <th class="num">Average</th>
          <th class="num">Median (p50)</th>
          <th class="num">p90</th>
          <th class="num">p99</th>
          <th class="num">Maximum</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([label, s, f]) => (
          <tr key={label}>
            <th>{label}</th>
            <td class="num">{f(s.min)}</td>
            <td class="num">{f(s.avg)}</td>
            <td class="num">{pct(s.p50, f)}</td>
            <td class="num">{pct(s.p90, f)}</td>
            <td class="num">{pct(s.p99, f)}</td>
            <td class="num">{f(s.max)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ConfigurationSection({ jobId }: { jobId: string }) {
  const config = usePoll(
    () => getJson<CheckpointConfigInfo>(`/jobs/${jobId}/checkpoints/config`),
    `cpconfig:${jobId}`,
    0,
  );
  if (config.error !== undefined) return <ErrorBanner error={config.error} />;
  const c = config.data;
  if (c === undefined) return <Loading />;
  return (
    <KeyValues
      rows={[
        ['Checkpointing mode', c.mode === 'exactly_once' ? 'Exactly Once' : 'At Least Once'],
        ['Checkpoint storage', c.checkpoint_storage],
        ['State backend', c.state_backend],
        ['Interval', c.interval >= LONG_MAX ? 'Periodic checkpoints disabled' : duration(c.interval)],
        ['Timeout', duration(c.timeout)],
        ['Minimum pause between checkpoints', duration(c.min_pause)],
        ['Maximum concurrent checkpoints', c.max_concurrent],
        ['Unaligned checkpoints', c.unaligned_checkpoints ? 'Enabled' : 'Disabled'],
        ...(c.unaligned_checkpoints
          ? [['Aligned checkpoint timeout', duration(c.aligned_checkpoint_timeout)] as const]
          : []),
        [
          'Persist checkpoints externally',
          c.externalization.enabled
            ? `Enabled (${c.externalization.delete_on_cancellation ? 'delete on cancellation' : 'retain on cancellation'})`
            : 'Disabled',
        ],
        ['Tolerable failed checkpoints', c.tolerable_failed_checkpoints],
        ['Checkpoints after tasks finish', c.checkpoints_after_tasks_finish ? 'Enabled' : 'Disabled'],
        ['State changelog', c.state_changelog_enabled ? `Enabled (${c.changelog_storage})` : 'Disabled'],
      ]}
    />
  );
}

export function CheckpointsTab({ job, route }: { job: JobDetailsInfo; route: readonly string[] }) {
  const section = route[0] ?? 'overview';
  const stats = usePoll(
    () => getJson<CheckpointingStatistics>(`/jobs/${job.jid}/checkpoints`),
    `checkpoints:${job.jid}`,
  );
  const base = `#/job/${job.jid}/checkpoints`;
  const sections = [
    { id: 'overview', label: 'Overview', href: `${base}/overview` },
    { id: 'history', label: 'History', href: `${base}/history` },
    { id: 'summary', label: 'Summary', href: `${base}/summary` },
    { id: 'configuration', label: 'Configuration', href: `${base}/configuration` },
  ];
  return (
    <div class="checkpoints">
      <div class="subtabs">
        <Tabs tabs={sections} active={section} />
        <button class="btn btn-small" onClick={stats.refresh}>
          Refresh
        </button>
      </div>
      {stats.error !== undefined && <ErrorBanner error={stats.error} />}
      {stats.data === undefined ? (
        stats.error === undefined && <Loading />
      ) : section === 'history' ? (
        <Card>
          <HistorySection job={job} stats={stats.data} />
        </Card>
      ) : section === 'summary' ? (
        <Card>
          <SummarySection stats={stats.data} />
        </Card>
      ) : section === 'configuration' ? (
        <Card>
          <ConfigurationSection jobId={job.jid} />
        </Card>
      ) : (
        <OverviewSection stats={stats.data} />
      )}
    </div>
  );
}
