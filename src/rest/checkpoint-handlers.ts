/** Handlers of the checkpoint endpoints: statistics, configuration, details per checkpoint and task, manual trigger. */
import { randomBytes } from 'node:crypto';
import { requireJob, type HandlerContext } from './handler-context.js';
import type { RestCheckpoint, RestCheckpointStats, RestJob, RestSubtaskAck } from './rest-backend.js';
import { hexIdParam, longParam, RestHandlerException, type Route } from './rest-router.js';
import type {
  CheckpointConfigInfo,
  CheckpointingStatistics,
  CheckpointOperationResult,
  CheckpointStatistics,
  CompletedCheckpointStatistics,
  CompletedSubtaskCheckpointStatistics,
  FailedCheckpointStatistics,
  PendingSubtaskCheckpointStatistics,
  TaskCheckpointStatistics,
  TaskCheckpointStatisticsWithSubtaskDetails,
  TriggerResponse,
} from './rest-schema.js';
import { jsonObject, operationResult, operationStatusRoute, triggerIdOf } from './async-operation.js';
import { CheckpointTriggerCache } from './checkpoint-trigger-cache.js';
import { statsSummary, ZERO_SUMMARY } from './rest-values.js';

/** Flink's changelog defaults (`state.changelog.*`), reported as Flink does while changelog is off. */
const CHANGELOG_MATERIALIZATION_INTERVAL_MS = 10 * 60_000;

/** The routes of the checkpoint endpoints. */
export function checkpointRoutes(ctx: HandlerContext): Route[] {
  const operations = new CheckpointTriggerCache(ctx.now);
  return [
    {
      method: 'GET',
      path: '/jobs/:jobid/checkpoints',
      handle: (request) => {
        const stats = requireJob(ctx, request).checkpointStats();
        if (!stats) throw new RestHandlerException(404, 'Checkpointing has not been enabled.');
        return { status: 200, body: checkpointingStatistics(stats) };
      },
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/checkpoints/config',
      handle: (request) => {
        const job = requireJob(ctx, request);
        const body = checkpointConfigInfo(job);
        if (!body)
          throw new RestHandlerException(404, `Checkpointing is not enabled for this job (${job.jobId}).`);
        return { status: 200, body };
      },
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/checkpoints/details/:checkpointid',
      handle: (request) => {
        const { job, checkpoint } = requireCheckpoint(ctx, request);
        const tasks = Object.fromEntries(
          job.vertices().map((v) => [v.id, taskStatistics(checkpoint, v.id, v.parallelism)]),
        );
        return { status: 200, body: { ...checkpointStatistics(checkpoint), tasks } };
      },
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid',
      handle: (request) => {
        const { job, checkpoint } = requireCheckpoint(ctx, request);
        const vertexId = hexIdParam(request, 'vertexid');
        const vertex = job.vertices().find((v) => v.id === vertexId);
        if (!vertex)
          throw new RestHandlerException(404, `There is no checkpoint statistics for task ${vertexId}.`);
        return { status: 200, body: subtaskDetails(checkpoint, vertex.id, vertex.parallelism) };
      },
    },
    {
      method: 'POST',
      path: '/jobs/:jobid/checkpoints',
      handle: (request) => {
        const job = requireJob(ctx, request);
        const body = parseTriggerBody(request.body);
        const triggerId = body.triggerId ?? randomBytes(16).toString('hex');
        operations.register(job.jobId, triggerId, () => job.triggerCheckpoint());
        return { status: 202, body: { 'request-id': triggerId } satisfies TriggerResponse };
      },
    },
    operationStatusRoute(
      ctx,
      '/jobs/:jobid/checkpoints/:triggerid',
      operations,
      'checkpoint',
      (state): CheckpointOperationResult =>
        operationResult(state, (done) => ({ checkpointId: done.checkpointId }), 'failureCause'),
    ),
  ];
}

/** `/checkpoints/config`: `externalization` derived from the retention as CheckpointConfigHandler does. */
function checkpointConfigInfo(job: RestJob): CheckpointConfigInfo | undefined {
  const config = job.checkpointConfig();
  if (!config) return undefined;
  return {
    mode: config.mode === 'EXACTLY_ONCE' ? 'exactly_once' : 'at_least_once',
    interval: config.intervalMs,
    timeout: config.timeoutMs,
    min_pause: config.minPauseMs,
    max_concurrent: config.maxConcurrent,
    externalization: {
      enabled: config.retention !== 'NO_EXTERNALIZED_CHECKPOINTS',
      delete_on_cancellation: config.retention !== 'RETAIN_ON_CANCELLATION',
    },
    state_backend: config.stateBackend,
    checkpoint_storage: config.checkpointStorage,
    unaligned_checkpoints: config.unaligned,
    tolerable_failed_checkpoints: config.tolerableFailures,
    aligned_checkpoint_timeout: config.alignedCheckpointTimeoutMs,
    checkpoints_after_tasks_finish: true,
    state_changelog_enabled: false,
    changelog_periodic_materialization_interval: CHANGELOG_MATERIALIZATION_INTERVAL_MS,
    changelog_storage: 'memory',
  };
}

/** The body of a manual trigger: `{checkpointType?, triggerId?}`; empty means `{}`, as Flink. */
function parseTriggerBody(text: string): { triggerId?: string } {
  const malformed = () =>
    new RestHandlerException(400, 'Request did not match expected format CheckpointTriggerRequestBody.');
  const { checkpointType, triggerId } = jsonObject(text, 'CheckpointTriggerRequestBody');
  if (checkpointType !== undefined && checkpointType !== null) {
    if (checkpointType === 'INCREMENTAL')
      throw new RestHandlerException(
        400,
        'Triggering an incremental checkpoint explicitly is not supported (FLINK-33723); use FULL or CONFIGURED.',
      );
    if (checkpointType !== 'CONFIGURED' && checkpointType !== 'FULL') throw malformed();
  }
  return triggerIdOf(triggerId, malformed);
}

function requireCheckpoint(
  ctx: HandlerContext,
  request: Parameters<typeof requireJob>[1],
): { job: RestJob; checkpoint: RestCheckpoint } {
  const job = requireJob(ctx, request);
  const checkpointId = longParam(request, 'checkpointid');
  const stats = job.checkpointStats();
  if (!stats) throw new RestHandlerException(404, `Checkpointing was not enabled for job ${job.jobId}.`);
  const checkpoint = [
    stats.latestCompleted,
    stats.latestSavepoint,
    stats.latestFailed,
    ...stats.history,
  ].find((c) => c?.id === checkpointId);
  if (!checkpoint)
    throw new RestHandlerException(
      404,
      `Could not find checkpointing statistics for checkpoint ${checkpointId}.`,
    );
  return { job, checkpoint };
}

function checkpointingStatistics(stats: RestCheckpointStats): CheckpointingStatistics {
  const completed = stats.history.filter((c) => c.status === 'COMPLETED');
  const restored = stats.latestRestored;
  return {
    counts: {
      restored: stats.counts.restored,
      total: stats.counts.total,
      in_progress: stats.counts.inProgress,
      completed: stats.counts.completed,
      failed: stats.counts.failed,
    },
    // Over the completed checkpoints still in the history (Flink keeps a larger window).
    summary: {
      checkpointed_size: statsSummary(completed.map((c) => c.checkpointedSize)),
      state_size: statsSummary(completed.map((c) => c.stateSize)),
      end_to_end_duration: statsSummary(completed.map((c) => c.endToEndDurationMs)),
      alignment_buffered: ZERO_SUMMARY,
      processed_data: statsSummary(completed.map(processedData)),
      persisted_data: statsSummary(completed.map(persistedData)),
    },
    latest: {
      completed: stats.latestCompleted
        ? (checkpointStatistics(stats.latestCompleted) as CompletedCheckpointStatistics)
        : null,
      savepoint: stats.latestSavepoint
        ? (checkpointStatistics(stats.latestSavepoint) as CompletedCheckpointStatistics)
        : null,
      failed: stats.latestFailed
        ? (checkpointStatistics(stats.latestFailed) as FailedCheckpointStatistics)
        : null,
      restored: restored
        ? {
            id: restored.id,
            restore_timestamp: restored.restoreTimestamp,
            is_savepoint: restored.isSavepoint,
            external_path: restored.externalPath,
          }
        : null,
    },
    history: stats.history.map(checkpointStatistics),
  };
}

const processedData = (c: RestCheckpoint) =>
  c.subtasks.reduce((n, s) => n + s.bytesProcessedDuringAlignment, 0);
const persistedData = (c: RestCheckpoint) => c.subtasks.reduce((n, s) => n + (s.persistedData ?? 0), 0);

/** Flink reports a checkpoint as unaligned when any subtask took it unaligned. */
function checkpointType(
  c: RestCheckpoint,
): 'CHECKPOINT' | 'UNALIGNED_CHECKPOINT' | 'SAVEPOINT' | 'SYNC_SAVEPOINT' {
  if (c.isSavepoint) return c.isSynchronous === true ? 'SYNC_SAVEPOINT' : 'SAVEPOINT';
  return c.subtasks.some((s) => s.unaligned === true) ? 'UNALIGNED_CHECKPOINT' : 'CHECKPOINT';
}

/** Flink's getLatestAckTimestamp / getEndToEndDuration: -1 before any acknowledgement. */
function ackTimes(c: RestCheckpoint): { latestAck: number; endToEnd: number } {
  const latestAck = c.latestAckTimestamp ?? -1;
  if (c.status === 'IN_PROGRESS')
    return { latestAck, endToEnd: latestAck < 0 ? -1 : Math.max(0, latestAck - c.triggerTimestamp) };
  return { latestAck, endToEnd: c.endToEndDurationMs };
}

/** A checkpoint's statistics with `tasks` empty (as in the history and `latest`). */
function checkpointStatistics(c: RestCheckpoint): CheckpointStatistics {
  const { latestAck, endToEnd } = ackTimes(c);
  const base = {
    id: c.id,
    is_savepoint: c.isSavepoint,
    // Both backends write the canonical format (NATIVE is accepted and gives the same).
    savepointFormat: c.isSavepoint ? (c.savepointFormat ?? 'CANONICAL') : null,
    trigger_timestamp: c.triggerTimestamp,
    latest_ack_timestamp: latestAck,
    checkpointed_size: c.checkpointedSize,
    state_size: c.status === 'COMPLETED' ? c.stateSize : c.checkpointedSize,
    end_to_end_duration: endToEnd,
    alignment_buffered: 0,
    processed_data: processedData(c),
    persisted_data: persistedData(c),
    num_subtasks: c.numSubtasks,
    num_acknowledged_subtasks: c.subtasks.length,
    checkpoint_type: checkpointType(c),
    tasks: {},
  } as const;
  switch (c.status) {
    case 'COMPLETED':
      return {
        ...base,
        className: 'completed',
        status: 'COMPLETED',
        external_path: c.externalPath ?? '',
        discarded: c.discarded,
      };
    case 'FAILED':
      return {
        ...base,
        className: 'failed',
        status: 'FAILED',
        failure_timestamp: c.failureTimestamp ?? -1,
        failure_message: c.failureMessage ?? '',
      };
    case 'IN_PROGRESS':
      return { ...base, className: 'in_progress', status: 'IN_PROGRESS' };
  }
}

function acksOf(c: RestCheckpoint, vertexId: string): RestSubtaskAck[] {
  // Tasks time their phases below a millisecond; Flink keeps whole milliseconds, cut as its
  // nanoseconds / 1_000_000 is (SubtaskStateStats).
  return c.subtasks
    .filter((s) => s.vertexId === vertexId)
    .map((s) => ({
      ...s,
      endToEndDurationMs: Math.trunc(s.endToEndDurationMs),
      syncDurationMs: Math.trunc(s.syncDurationMs),
      asyncDurationMs: Math.trunc(s.asyncDurationMs),
      alignmentDurationMs: Math.trunc(s.alignmentDurationMs),
      startDelayMs: Math.trunc(s.startDelayMs),
    }));
}

/** One vertex's part of a checkpoint. */
function taskStatistics(c: RestCheckpoint, vertexId: string, parallelism: number): TaskCheckpointStatistics {
  const acks = acksOf(c, vertexId);
  const latestAck = acks.reduce((t, s) => Math.max(t, s.ackTimestamp), -1);
  const size = acks.reduce((n, s) => n + s.checkpointedSize, 0);
  return {
    id: c.id,
    status: c.status,
    latest_ack_timestamp: latestAck,
    checkpointed_size: size,
    state_size: size,
    end_to_end_duration: latestAck < 0 ? -1 : Math.max(0, latestAck - c.triggerTimestamp),
    alignment_buffered: 0,
    processed_data: acks.reduce((n, s) => n + s.bytesProcessedDuringAlignment, 0),
    persisted_data: acks.reduce((n, s) => n + (s.persistedData ?? 0), 0),
    num_subtasks: parallelism,
    num_acknowledged_subtasks: acks.length,
  };
}

function subtaskDetails(
  c: RestCheckpoint,
  vertexId: string,
  parallelism: number,
): TaskCheckpointStatisticsWithSubtaskDetails {
  const acks = acksOf(c, vertexId);
  const bySubtask = new Map(acks.map((s) => [s.subtaskIndex, s]));
  const subtasks = Array.from(
    { length: parallelism },
    (_, index): CompletedSubtaskCheckpointStatistics | PendingSubtaskCheckpointStatistics => {
      const s = bySubtask.get(index);
      if (!s) return { className: 'pending', index, status: 'pending_or_failed' };
      return {
        className: 'completed',
        index,
        status: 'completed',
        ack_timestamp: s.ackTimestamp,
        end_to_end_duration: s.endToEndDurationMs,
        checkpointed_size: s.checkpointedSize,
        state_size: s.checkpointedSize,
        checkpoint: { sync: s.syncDurationMs, async: s.asyncDurationMs },
        alignment: {
          buffered: 0,
          processed: s.bytesProcessedDuringAlignment,
          persisted: s.persistedData ?? 0,
          duration: s.alignmentDurationMs,
        },
        start_delay: s.startDelayMs,
        unaligned_checkpoint: s.unaligned === true,
        aborted: false,
      };
    },
  );
  return {
    ...taskStatistics(c, vertexId, parallelism),
    summary: {
      checkpointed_size: statsSummary(acks.map((s) => s.checkpointedSize)),
      state_size: statsSummary(acks.map((s) => s.checkpointedSize)),
      end_to_end_duration: statsSummary(acks.map((s) => s.endToEndDurationMs)),
      checkpoint_duration: {
        sync: statsSummary(acks.map((s) => s.syncDurationMs)),
        async: statsSummary(acks.map((s) => s.asyncDurationMs)),
      },
      alignment: {
        buffered: ZERO_SUMMARY,
        processed: statsSummary(acks.map((s) => s.bytesProcessedDuringAlignment)),
        persisted: statsSummary(acks.map((s) => s.persistedData ?? 0)),
        duration: statsSummary(acks.map((s) => s.alignmentDurationMs)),
      },
      start_delay: statsSummary(acks.map((s) => s.startDelayMs)),
    },
    subtasks,
  };
}
