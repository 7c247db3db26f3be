/** Handlers of the savepoint endpoints: trigger a savepoint and poll its status (Flink's SavepointHandlers). */
import type { SavepointFormatType } from '../protocol/snapshot-kind.js';
import { randomBytes } from 'node:crypto';
import { jsonObject, operationResult, operationStatusRoute, triggerIdOf } from './async-operation.js';
import type { CheckpointTriggerCache } from './checkpoint-trigger-cache.js';
import { requireJob, type HandlerContext } from './handler-context.js';
import type { RestJob, RestSavepointOutcome } from './rest-backend.js';
import { RestHandlerException, type Route } from './rest-router.js';
import type { SavepointOperationResult, TriggerResponse } from './rest-schema.js';

/** Flink's answer when a savepoint has nowhere to go. */
const NO_TARGET_DIRECTORY =
  'Config key [execution.checkpointing.savepoint-dir] is not set. Property [target-directory] must be provided.';

/** The savepoint and stop operations of one REST server. */
export type SavepointOperations = CheckpointTriggerCache<RestSavepointOutcome>;

/** The routes of the savepoint endpoints, their operations kept in `operations`. */
export function savepointRoutes(ctx: HandlerContext, operations: SavepointOperations): Route[] {
  return [
    {
      method: 'POST',
      path: '/jobs/:jobid/savepoints',
      handle: (request) => {
        const job = requireJob(ctx, request);
        const body = parseSavepointTriggerBody(request.body);
        const target = targetDirectory(job, body.targetDirectory);
        const triggerId = body.triggerId ?? randomBytes(16).toString('hex');
        operations.register(job.jobId, triggerId, async () => {
          const outcome = await job.triggerSavepoint(target, body.formatType);
          // CANCEL_WITH_SAVEPOINT: the job is cancelled once its savepoint is safe.
          if (outcome.kind === 'completed' && body.cancelJob) await job.cancel();
          return outcome;
        });
        return { status: 202, body: { 'request-id': triggerId } satisfies TriggerResponse };
      },
    },
    {
      method: 'POST',
      path: '/jobs/:jobid/stop',
      handle: (request) => {
        const job = requireJob(ctx, request);
        const body = parseStopBody(request.body);
        const target = targetDirectory(job, body.targetDirectory);
        const triggerId = body.triggerId ?? randomBytes(16).toString('hex');
        operations.register(job.jobId, triggerId, () =>
          job.stopWithSavepoint(target, body.drain, body.formatType),
        );
        return { status: 202, body: { 'request-id': triggerId } satisfies TriggerResponse };
      },
    },
    operationStatusRoute(
      ctx,
      '/jobs/:jobid/savepoints/:triggerid',
      operations,
      'savepoint',
      (state): SavepointOperationResult =>
        operationResult(state, (done) => ({ location: done.location }), 'failure-cause'),
    ),
  ];
}

/** The target given, else the job's `execution.checkpointing.savepoint-dir`; 400 when neither. */
function targetDirectory(job: RestJob, given: string | undefined): string {
  const target = given ?? job.defaultSavepointDirectory();
  if (target === undefined) throw new RestHandlerException(400, NO_TARGET_DIRECTORY);
  return target;
}

/** Flink's SavepointTriggerRequestBody. */
interface SavepointTriggerBody {
  readonly targetDirectory?: string;
  readonly cancelJob: boolean;
  readonly triggerId?: string;
  readonly formatType: SavepointFormatType;
}

function parseSavepointTriggerBody(text: string): SavepointTriggerBody {
  const fields = jsonObject(text, 'SavepointTriggerRequestBody');
  const malformed = () =>
    new RestHandlerException(400, 'Request did not match expected format SavepointTriggerRequestBody.');
  const target = fields['target-directory'];
  const cancelJob = fields['cancel-job'];
  if (target !== undefined && target !== null && (typeof target !== 'string' || target === ''))
    throw malformed();
  if (cancelJob !== undefined && cancelJob !== null && typeof cancelJob !== 'boolean') throw malformed();
  const formatType = checkFormatType(fields['formatType'], malformed);
  return {
    ...(typeof target === 'string' ? { targetDirectory: target } : {}),
    cancelJob: cancelJob === true,
    formatType,
    ...triggerIdOf(fields['triggerId'], malformed),
  };
}

/** Flink's StopWithSavepointRequestBody (camelCase `targetDirectory`, unlike the savepoint trigger). */
function parseStopBody(text: string): {
  targetDirectory?: string;
  drain: boolean;
  triggerId?: string;
  formatType: SavepointFormatType;
} {
  const fields = jsonObject(text, 'StopWithSavepointRequestBody');
  const malformed = () =>
    new RestHandlerException(400, 'Request did not match expected format StopWithSavepointRequestBody.');
  const { targetDirectory, drain } = fields;
  if (
    targetDirectory !== undefined &&
    targetDirectory !== null &&
    (typeof targetDirectory !== 'string' || targetDirectory === '')
  )
    throw malformed();
  if (drain !== undefined && drain !== null && typeof drain !== 'boolean') throw malformed();
  const formatType = checkFormatType(fields['formatType'], malformed);
  return {
    ...(typeof targetDirectory === 'string' ? { targetDirectory } : {}),
    drain: drain === true,
    formatType,
    ...triggerIdOf(fields['triggerId'], malformed),
  };
}

/**
 * `formatType`: CANONICAL (the default) or NATIVE, recorded in the savepoint's `_metadata`; a
 * NATIVE savepoint restores only into the state backend type that took it.
 */
export function checkFormatType(value: unknown, malformed: () => Error): SavepointFormatType {
  if (value === undefined || value === null) return 'CANONICAL';
  if (value !== 'CANONICAL' && value !== 'NATIVE') throw malformed();
  return value;
}
