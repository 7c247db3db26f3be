/** Control-plane messages: every valid message survives MessagePack unchanged; anything else is a typed error naming the field. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../core/errors.js';
import { MsgpackSerializer } from '../../core/serializer.js';
import { decodeEnvelope, encodeEnvelope } from './rpc-envelope.js';
import { rpcMessage, toJobManagerMessage, toTaskManagerMessage } from './rpc-messages.arbitraries.js';
import { fromRpcError, toRpcError } from './rpc-error.js';
import { RpcProtocolError, parseRpcMessage, type RpcMessage } from './rpc-messages.js';

const JOB = '0123456789abcdef0123456789abcdef';
const serializer = new MsgpackSerializer<unknown>();
const viaMsgpack = (value: unknown): unknown => {
  const bytes = serializer.serialize(value);
  return serializer.deserialize(bytes, 0, bytes.length);
};

function expectError(value: unknown, path: RegExp, to?: 'job-manager' | 'task-manager'): RpcProtocolError {
  const parsed = to === undefined ? parseRpcMessage(value) : parseRpcMessage(value, to);
  expect(parsed).toBeInstanceOf(RpcProtocolError);
  const error = parsed as RpcProtocolError;
  expect(error.code).toBe('SLUICE_RPC_BAD_MESSAGE');
  expect(error.path).toMatch(path);
  return error;
}

const taskState = {
  kind: 'task-state',
  jobId: JOB,
  attempt: 0,
  vertexIndex: 1,
  subtask: 2,
  state: 'RUNNING',
};

describe('parseRpcMessage', () => {
  it('returns every valid message unchanged after a MessagePack round trip', () => {
    fc.assert(
      fc.property(rpcMessage, (message) => {
        expect(parseRpcMessage(viaMsgpack(message))).toEqual(message);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts each message only in its direction', () => {
    fc.assert(
      fc.property(toJobManagerMessage, toTaskManagerMessage, (up, down) => {
        expect(parseRpcMessage(up, 'job-manager')).toEqual(up);
        expect(parseRpcMessage(down, 'task-manager')).toEqual(down);
        if (up.kind !== 'ack') expectError(up, /^message\.kind$/u, 'task-manager');
        if (down.kind !== 'ack') expectError(down, /^message\.kind$/u, 'job-manager');
      }),
    );
    expect(
      expectError({ kind: 'deploy', jobId: JOB, attempt: 0, payload: 1 }, /kind/u, 'job-manager').message,
    ).toMatch(/a deploy message is never sent to the job-manager/u);
  });

  it('names the field that is wrong', () => {
    expectError(null, /^message$/u);
    expectError([taskState], /^message$/u);
    expectError('task-state', /^message$/u);
    expectError({ ...taskState, kind: 'launch-missiles' }, /^message\.kind$/u);
    expectError({ ...taskState, kind: 7 }, /^message\.kind$/u);
    expectError({ ...taskState, subtask: -1 }, /^task-state\.subtask$/u);
    expectError({ ...taskState, subtask: 1.5 }, /^task-state\.subtask$/u);
    expectError({ ...taskState, subtask: '1' }, /^task-state\.subtask$/u);
    expectError({ ...taskState, state: 'EXPLODED' }, /^task-state\.state$/u);
    expectError({ ...taskState, jobId: 'not-a-job-id' }, /^task-state\.jobId$/u);
    expectError({ ...taskState, jobId: JOB.toUpperCase() }, /^task-state\.jobId$/u);
    expectError({ ...taskState, error: { message: 'x' } }, /^task-state\.error\.stack$/u);
    expectError({ ...taskState, error: null }, /^task-state\.error$/u);
    const { attempt: _attempt, ...noAttempt } = taskState;
    expectError(noAttempt, /^task-state\.attempt$/u);
    expectError(
      {
        kind: 'register-task-manager',
        taskManagerId: 'tm',
        slots: 0,
        dataAddress: { host: 'h', port: 1 },
        pid: 1,
      },
      /slots$/u,
    );
    expectError(
      {
        kind: 'register-task-manager',
        taskManagerId: 'tm',
        slots: 1,
        dataAddress: { host: 'h', port: 70000 },
        pid: 1,
      },
      /dataAddress\.port$/u,
    );
    expectError(
      {
        kind: 'operator-event-to-task',
        jobId: JOB,
        attempt: 0,
        operatorId: JOB,
        subtask: 0,
        event: { kind: 'x' },
      },
      /event\.kind$/u,
    );
    expectError(
      { kind: 'collect', jobId: JOB, attempt: 0, vertexIndex: 0, subtask: 0, collectId: 'c', records: {} },
      /records$/u,
    );
    expectError(
      { kind: 'cancel-job', jobId: JOB, tasks: [{ vertexIndex: -1, subtask: 0 }] },
      /tasks\[0\]\.vertexIndex$/u,
    );
    expectError({ kind: 'deploy', jobId: JOB, attempt: 0, bundle: 'bytes', payload: 1 }, /bundle$/u);
    expectError({ kind: 'heartbeat-request', seq: Number.NaN }, /seq$/u);
    expectError(
      { kind: 'heartbeat-response', seq: 1, metrics: [{ ...taskState, counters: { a: 'x' } }] },
      /counters\.a$/u,
    );
    expectError(
      { ...taskState, kind: 'decline-checkpoint', checkpointId: 1, reason: 'BECAUSE' },
      /^decline-checkpoint\.reason$/u,
    );
  });

  it('drops undeclared fields and never reads inherited ones', () => {
    const parsed = parseRpcMessage({ ...taskState, extra: 'smuggled', __proto_: { polluted: true } });
    expect(parsed).toEqual({
      kind: 'task-state',
      jobId: JOB,
      attempt: 0,
      vertexIndex: 1,
      subtask: 2,
      state: 'RUNNING',
    });
    const inherited = Object.create({ attempt: 0 }) as Record<string, unknown>;
    Object.assign(inherited, { ...taskState, attempt: undefined });
    expectError(inherited, /^message$/u);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('never throws, whatever the value', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withTypedArray: true, withMap: true, withSet: true }),
        (value) => {
          const parsed = parseRpcMessage(value);
          expect(parsed instanceof RpcProtocolError || typeof parsed.kind === 'string').toBe(true);
        },
      ),
    );
    fc.assert(
      fc.property(rpcMessage, fc.string(), fc.anything(), (message, key, junk) => {
        // A valid message with one field replaced by anything: a message or an error, never a throw.
        const parsed = parseRpcMessage({ ...message, [key]: junk });
        expect(parsed instanceof RpcProtocolError || typeof parsed.kind === 'string').toBe(true);
      }),
    );
  });
});

describe('envelopes', () => {
  it('round-trips tell, ask, reply and reply-error', () => {
    fc.assert(
      fc.property(toJobManagerMessage, fc.nat(), (message, id) => {
        for (const envelope of [
          { kind: 'tell' as const, message },
          { kind: 'ask' as const, id, message },
          { kind: 'reply' as const, id, message },
        ]) {
          expect(decodeEnvelope(encodeEnvelope(envelope), 'job-manager')).toEqual(envelope);
        }
        const failed = {
          kind: 'reply-error' as const,
          id,
          error: { message: 'no', stack: 'at x', code: 'SLUICE_RPC_TIMEOUT' },
        };
        expect(decodeEnvelope(encodeEnvelope(failed), 'job-manager')).toEqual(failed);
      }),
    );
  });

  it('turns any bytes into an envelope or an RpcProtocolError, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeEnvelope(bytes, 'task-manager');
        expect(decoded instanceof RpcProtocolError || typeof decoded.kind === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect(decodeEnvelope(Uint8Array.of(0xc1), 'task-manager')).toBeInstanceOf(RpcProtocolError);
    expect(decodeEnvelope(Uint8Array.of(0x91, 0x01, 0x02), 'task-manager')).toBeInstanceOf(RpcProtocolError);
    const wrongId = serializer.serialize({ kind: 'ask', id: -1, message: { kind: 'ack' } });
    expect(decodeEnvelope(wrongId, 'task-manager')).toMatchObject({ path: 'envelope.id' });
    const unknownKind = serializer.serialize({ kind: 'broadcast', message: { kind: 'ack' } });
    expect(decodeEnvelope(unknownKind, 'task-manager')).toMatchObject({ path: 'envelope.kind' });
  });
});

describe('errors on the wire', () => {
  it('keeps message, stack, causes and a known code', () => {
    const cause = new Error('disk full');
    const error = new SluiceError('SLUICE_CHECKPOINT_STORAGE_FAILED', 'cannot write chk-3', { cause });
    const wire = toRpcError(error);
    expect(wire).toMatchObject({ message: 'cannot write chk-3', code: 'SLUICE_CHECKPOINT_STORAGE_FAILED' });
    expect(wire.stack).toMatch(/cannot write chk-3[\s\S]*Caused by: Error: disk full/u);
    const back = fromRpcError(wire);
    expect(back).toBeInstanceOf(SluiceError);
    expect(back).toMatchObject({
      code: 'SLUICE_CHECKPOINT_STORAGE_FAILED',
      message: 'cannot write chk-3',
      stack: wire.stack,
    });
    // The first cause comes back as `cause`, with its own stack, as it would be locally.
    expect(back.cause).toBeInstanceOf(Error);
    expect((back.cause as Error).message).toBe('disk full');
    expect((back.cause as Error).stack).toMatch(/^Error: disk full\n\s+at /u);
  });

  it('turns unknown codes and non-errors into plain errors', () => {
    const back = fromRpcError({ message: 'from the future', stack: '', code: 'SLUICE_FUTURE_CODE' });
    expect(back).not.toBeInstanceOf(SluiceError);
    expect(back.message).toBe('from the future');
    expect(toRpcError('a string')).toEqual({ message: 'a string', stack: '' });
    expect(toRpcError({ why: 1 }).message).toMatch(/why/u);
    const cyclic = new Error('a');
    (cyclic as { cause?: unknown }).cause = cyclic;
    expect(toRpcError(cyclic).stack.split('Caused by').length).toBeLessThanOrEqual(9);
  });

  it('a message carrying an error survives the round trip', () => {
    const message: RpcMessage = {
      kind: 'task-state',
      jobId: JOB as never,
      attempt: 0,
      vertexIndex: 0,
      subtask: 0,
      state: 'FAILED',
      error: toRpcError(new SluiceError('SLUICE_USER_FUNCTION_FAILED', 'map threw')),
    };
    expect(parseRpcMessage(viaMsgpack(message), 'job-manager')).toEqual(message);
  });
});
