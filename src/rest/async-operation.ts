/** What Flink's asynchronous operations (checkpoint, savepoint, stop) share: the request body's trigger id, and the status answer. */
import type { CheckpointTriggerCache } from './checkpoint-trigger-cache.js';
import { requireJob, type HandlerContext } from './handler-context.js';
import { hexIdParam, RestHandlerException, type Route } from './rest-router.js';
import type { SerializedThrowable } from './rest-schema.js';
import { serializedThrowable } from './rest-values.js';

/** A JSON object body ('' is `{}`), else 400 naming Flink's request body type. */
export function jsonObject(text: string, type: string): Record<string, unknown> {
  const malformed = () => new RestHandlerException(400, `Request did not match expected format ${type}.`);
  let body: unknown = {};
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      throw malformed();
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw malformed();
  return body as Record<string, unknown>;
}

/** A client's own trigger id (32 hex characters) makes a retried request idempotent. */
export function triggerIdOf(value: unknown, malformed: () => Error): { triggerId?: string } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{32}$/u.test(value)) throw malformed();
  return { triggerId: value.toLowerCase() };
}

/**
 * Flink's AsynchronousOperationResult: IN_PROGRESS with a null operation, then COMPLETED with what
 * `completed` makes of the outcome, or the failure cause under `failureKey`.
 */
export function operationResult<O extends { readonly kind: string }, R, K extends string>(
  state: O | { readonly kind: 'failed'; readonly error: Error } | 'in-progress',
  completed: (outcome: Exclude<O, { kind: 'failed' }>) => R,
  failureKey: K,
): {
  status: { id: 'IN_PROGRESS' | 'COMPLETED' };
  operation: R | Record<K, SerializedThrowable> | null;
} {
  if (state === 'in-progress') return { status: { id: 'IN_PROGRESS' }, operation: null };
  if (state.kind === 'failed' && 'error' in state && state.error instanceof Error)
    return {
      status: { id: 'COMPLETED' },
      operation: { [failureKey]: serializedThrowable(state.error) } as Record<K, SerializedThrowable>,
    };
  return { status: { id: 'COMPLETED' }, operation: completed(state as Exclude<O, { kind: 'failed' }>) };
}

/**
 * The `GET …/:triggerid` route of an operation kept in `operations`: 404 naming `what` for an
 * unknown trigger id, else its AsynchronousOperationResult.
 */
export function operationStatusRoute<O extends { readonly kind: string }>(
  ctx: HandlerContext,
  path: string,
  operations: CheckpointTriggerCache<O>,
  what: string,
  result: (state: O | { readonly kind: 'failed'; readonly error: Error } | 'in-progress') => unknown,
): Route {
  return {
    method: 'GET',
    path,
    handle: (request) => {
      const job = requireJob(ctx, request);
      const triggerId = hexIdParam(request, 'triggerid');
      const state = operations.get(job.jobId, triggerId);
      if (!state)
        throw new RestHandlerException(
          404,
          `There is no ${what} operation with triggerId=${triggerId} for job ${job.jobId}.`,
        );
      return { status: 200, body: result(state) };
    },
  };
}
