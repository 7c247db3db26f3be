// Log lines a person reads: one line an event, each cause said once, stacks only when asked for.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromRpcError, toRpcError } from '../cluster/rpc/rpc-error.js';
import { SluiceError } from './errors.js';
import {
  configureLogging,
  formatText,
  logger,
  logLevel,
  serializeError,
  stackOf,
  withCauses,
} from './log.js';

const at = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();

/** A user function's failure as it reaches the JobManager from a TaskManager (over RPC). */
function remoteUserFailure(): Error {
  const cause = new Error('injected failure at click 150000');
  const wrapped = new SluiceError(
    'SLUICE_USER_FUNCTION_FAILED',
    "operator 'enrich' (subtask 2/3) threw in map: injected failure at click 150000",
    { cause },
  );
  return fromRpcError(toRpcError(wrapped));
}

describe('text log lines', () => {
  afterEach(() => {
    configureLogging({ level: 'info' });
    vi.restoreAllMocks();
  });

  it('are one line: time, level, component, message, no fields as JSON', () => {
    const line = formatText(
      {
        level: 30,
        time: at,
        msg: 'completed checkpoint 3 (238651 bytes, 25 ms)',
        component: 'checkpoint-coordinator',
        checkpointId: 3,
      },
      { color: false, stacks: false },
    );
    expect(line).toBe(
      '03:04:05.006 INFO  [checkpoint-coordinator] completed checkpoint 3 (238651 bytes, 25 ms)\n',
    );
  });

  it("say a remote user failure's cause once, without its stack", () => {
    const err = serializeError(remoteUserFailure());
    const line = formatText(
      { level: 40, time: at, component: 'job-master', msg: 'job failed over (restart 1 in 200 ms)', err },
      { color: false, stacks: false },
    );
    expect(line).toBe(
      "03:04:05.006 WARN  [job-master] job failed over (restart 1 in 200 ms): operator 'enrich' (subtask 2/3) threw in map: injected failure at click 150000\n",
    );
    expect(line.match(/injected failure/gu)).toHaveLength(1);
  });

  it('add a cause the message does not say, with its type when that tells something', () => {
    const err = serializeError(
      new SluiceError('SLUICE_CHECKPOINT_STORAGE_FAILED', 'cannot write chk-3', {
        cause: new TypeError('x is not a function'),
      }),
    );
    expect(withCauses('checkpoint 3 failed.', err)).toBe(
      'checkpoint 3 failed. Cause: cannot write chk-3 (caused by TypeError: x is not a function)',
    );
  });

  it('keep a multi-line cause to its first line, and leave it out when its gist was said', () => {
    const build = new Error('Build failed with 1 error:\njob.ts:3:63: ERROR: Unexpected ";"');
    const err = serializeError(
      new SluiceError('SLUICE_CLI_USAGE', 'cannot bundle job.ts: job.ts:3: Unexpected ";"', { cause: build }),
    );
    expect(withCauses('', err)).toBe('cannot bundle job.ts: job.ts:3: Unexpected ";"');
    expect(withCauses('', serializeError(new Error('two\nlines')))).toBe('two');
  });

  it('print the stack after the line when asked, each frame block once', () => {
    const err = serializeError(remoteUserFailure());
    const line = formatText({ level: 50, time: at, msg: 'job failed', err }, { color: false, stacks: true });
    expect(line.split('\n')[0]).toContain('job failed: operator');
    expect(line.match(/Caused by: Error: injected failure at click 150000/gu)).toHaveLength(1);
    expect(stackOf(err).match(/^SluiceError: /gmu)).toHaveLength(1);
  });

  it('apply a new level to loggers made before it', () => {
    const log = logger('log-test');
    expect(log.isLevelEnabled('debug')).toBe(false);
    configureLogging({ level: 'debug' });
    expect(logLevel()).toBe('debug');
    expect(log.isLevelEnabled('debug')).toBe(true);
  });
});

describe('JSON log lines', () => {
  it('nest causes instead of joining their messages', () => {
    const err = serializeError(
      new SluiceError('SLUICE_JOB_FAILED', 'job failed', { cause: new Error('boom') }),
    );
    expect(err).toMatchObject({
      type: 'SluiceError',
      message: 'job failed',
      code: 'SLUICE_JOB_FAILED',
      cause: { type: 'Error', message: 'boom' },
    });
  });
});
