/** One checkpoint's detail: its operators (job vertices), and each operator's subtasks. */
import {
  getJson,
  type CheckpointStatistics,
  type JobDetailsInfo,
  type TaskCheckpointStatisticsWithSubtaskDetails,
} from '../api.js';
import { ErrorBanner, Loading } from '../components/ui.js';
import { bytes, clock, duration } from '../format.js';
import { useExpanded, usePoll } from '../hooks.js';

export function checkpointType(c: CheckpointStatistics): string {
  switch (c.checkpoint_type) {
    case 'CHECKPOINT':
      return 'aligned checkpoint';
    case 'UNALIGNED_CHECKPOINT':
      return 'unaligned checkpoint';
    case 'SAVEPOINT':
      return 'savepoint';
    case 'SYNC_SAVEPOINT':
      return 'sync savepoint';
  }
}

export function acknowledged(c: { num_acknowledged_subtasks: number; num_subtasks: number }): string {
  return `${c.num_acknowledged_subtasks}/${c.num_subtasks} (${c.num_subtasks === 0 ? 0 : Math.round((100 * c.num_acknowledged_subtasks) / c.num_subtasks)}%)`;
}

/** The figures a checkpoint and each of its operators report alike, as Flink's dashboard shows them. */
interface CheckpointFigures {
  readonly end_to_end_duration: number;
  readonly checkpointed_size: number;
  readonly state_size: number;
  readonly processed_data: number;
  readonly persisted_data: number;
}

/** The header cells of CheckpointFigureCells. */
export function CheckpointFigureHeaders() {
  return (
    <>
      <th class="num">End to end</th>
      <th class="num">Checkpointed size</th>
      <th class="num">Full size</th>
      <th class="num">Processed</th>
      <th class="num">Persisted</th>
    </>
  );
}

/** A row's cells for `figures` (a checkpoint of the history, or one of its operators). */
export function CheckpointFigureCells({ figures: f }: { figures: CheckpointFigures }) {
  return (
    <>
      <td class="num">{duration(f.end_to_end_duration)}</td>
      <td class="num">{bytes(f.checkpointed_size)}</td>
      <td class="num">{bytes(f.state_size)}</td>
      <td class="num">{bytes(f.processed_data)}</td>
      <td class="num">{bytes(f.persisted_data)}</td>
    </>
  );
}

/** One operator of one checkpoint: per-subtask sync/async parts, alignment, start delay and sizes. */
function SubtaskDetail({
  jobId,
  checkpointId,
  vertexId,
  pending,
}: {
  jobId: string;
  checkpointId: number;
  vertexId: string;
  pending: boolean;
}) {
  const detail = usePoll(
    () =>
      getJson<TaskCheckpointStatisticsWithSubtaskDetails>(
        `/jobs/${jobId}/checkpoints/details/${checkpointId}/subtasks/${vertexId}`,
      ),
    `sub:${jobId}:${checkpointId}:${vertexId}`,
    pending ? undefined : 0,
  );
  if (detail.error !== undefined) return <ErrorBanner error={detail.error} />;
  const d = detail.data;
  if (d === undefined) return <Loading />;
  const s = d.summary;
  return (
    <div class="subtasks" data-testid="subtask-detail">
      <table class="table compact">
        <thead>
          <tr>
            <th>Subtask</th>
            <th>Acknowledged</th>
            <th class="num">End to end</th>
            <th class="num">Checkpointed size</th>
            <th class="num">Full size</th>
            <th class="num">Sync</th>
            <th class="num">Async</th>
            <th class="num">Processed in-flight</th>
            <th class="num">Persisted in-flight</th>
            <th class="num">Alignment</th>
            <th class="num">Start delay</th>
            <th>Unaligned</th>
          </tr>
        </thead>
        <tbody>
          {(['min', 'avg', 'max'] as const).map((k) => (
            <tr key={k} class="summary-row">
              <td>{k === 'min' ? 'Minimum' : k === 'avg' ? 'Average' : 'Maximum'}</td>
              <td />
              <td class="num">{duration(s.end_to_end_duration[k])}</td>
              <td class="num">{bytes(s.checkpointed_size[k])}</td>
              <td class="num">{bytes(s.state_size[k])}</td>
              <td class="num">{duration(s.checkpoint_duration.sync[k])}</td>
              <td class="num">{duration(s.checkpoint_duration.async[k])}</td>
              <td class="num">{bytes(s.alignment.processed[k])}</td>
              <td class="num">{bytes(s.alignment.persisted[k])}</td>
              <td class="num">{duration(s.alignment.duration[k])}</td>
              <td class="num">{duration(s.start_delay[k])}</td>
              <td />
            </tr>
          ))}
          {d.subtasks.map((t) =>
            t.status === 'completed' ? (
              <tr key={t.index} data-testid="subtask-row">
                <td>{t.index}</td>
                <td>{clock(t.ack_timestamp)}</td>
                <td class="num">{duration(t.end_to_end_duration)}</td>
                <td class="num">{bytes(t.checkpointed_size)}</td>
                <td class="num">{bytes(t.state_size)}</td>
                <td class="num">{duration(t.checkpoint.sync)}</td>
                <td class="num">{duration(t.checkpoint.async)}</td>
                <td class="num">{bytes(t.alignment.processed)}</td>
                <td class="num">{bytes(t.alignment.persisted)}</td>
                <td class="num">{duration(t.alignment.duration)}</td>
                <td class="num">{duration(t.start_delay)}</td>
                <td>{t.unaligned_checkpoint ? 'yes' : 'no'}</td>
              </tr>
            ) : (
              <tr key={t.index} data-testid="subtask-row">
                <td>{t.index}</td>
                <td colSpan={11} class="muted">
                  pending or failed
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}

/** One checkpoint's operators; each expands into its subtasks. */
export function CheckpointDetail({
  job,
  checkpoint,
}: {
  job: JobDetailsInfo;
  checkpoint: CheckpointStatistics;
}) {
  const pending = checkpoint.status === 'IN_PROGRESS';
  const detail = usePoll(
    () => getJson<CheckpointStatistics>(`/jobs/${job.jid}/checkpoints/details/${checkpoint.id}`),
    `detail:${job.jid}:${checkpoint.id}:${checkpoint.status}`,
    pending ? undefined : 0,
  );
  const rows = useExpanded<string>();
  if (detail.error !== undefined) return <ErrorBanner error={detail.error} />;
  const d = detail.data;
  if (d === undefined) return <Loading />;
  return (
    <div class="checkpoint-detail" data-testid="checkpoint-detail">
      <div class="detail-meta">
        <span>Type: {checkpointType(d)}</span>
        {d.status === 'COMPLETED' && (
          <span>
            Path: <span class="mono">{d.external_path}</span> {d.discarded ? '(discarded)' : ''}
          </span>
        )}
        {d.status === 'FAILED' && <span class="failure">Failure: {d.failure_message}</span>}
      </div>
      <table class="table compact">
        <thead>
          <tr>
            <th />
            <th>Operator</th>
            <th>Acknowledged</th>
            <th>Latest ack</th>
            <CheckpointFigureHeaders />
          </tr>
        </thead>
        <tbody>
          {job.vertices.map((v) => {
            const t = d.tasks[v.id];
            const expanded = rows.isOpen(v.id);
            const toggle = () => rows.toggle(v.id);
            return [
              <tr key={v.id} class="clickable" onClick={toggle} data-testid="operator-row">
                <td class="chevron">{expanded ? '▾' : '▸'}</td>
                <td>{v.name}</td>
                {t === undefined ? (
                  <td colSpan={7} class="muted">
                    no statistics
                  </td>
                ) : (
                  <>
                    <td>{acknowledged(t)}</td>
                    <td>{clock(t.latest_ack_timestamp)}</td>
                    <CheckpointFigureCells figures={t} />
                  </>
                )}
              </tr>,
              expanded && (
                <tr key={`${v.id}-sub`} class="nested">
                  <td colSpan={9}>
                    <SubtaskDetail
                      jobId={job.jid}
                      checkpointId={checkpoint.id}
                      vertexId={v.id}
                      pending={pending}
                    />
                  </td>
                </tr>
              ),
            ];
          })}
        </tbody>
      </table>
    </div>
  );
}
