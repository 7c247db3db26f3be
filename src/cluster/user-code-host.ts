/**
 * The JobManager's handle on a submitted job's user-code process: the job module is evaluated
 * there, never in the JobManager, under a time and a memory limit; what comes back is plain data,
 * checked. The process then hosts the job's split enumerators: the JobManager's sources are
 * stand-ins that forward each call and apply each assignment the process sends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, SluiceError, type ErrorCode } from '../core/errors.js';
import type { OperatorId } from '../core/ids.js';
import { logger } from '../core/log.js';
import type { Source, SourceSplit, SplitEnumerator, SplitEnumeratorContext } from '../api/source/source.js';
import { checkCapturedJob, type CapturedJob } from './captured-job.js';
import { data, field, nat, objectOf, plainObject, RpcProtocolError, text } from './rpc/rpc-schema.js';
import { UserCodeChannel } from './user-code-channel.js';

/** Started as `sluice user-code-process`, so it loads the engine as TaskManagers do (src/ or dist/). */
const SLUICE_BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

/** How long and how much a job module may take. */
export interface UserCodeLimits {
  /** `client.timeout`: time to reach execute(); also the longest an enumerator snapshot may take. */
  readonly timeoutMs: number;
  /** `web.submit.user-code.heap-size`: the process's JavaScript heap; its whole memory may be 256 MiB more. */
  readonly heapBytes: number;
}

/** What the process evaluates. */
export interface UserCodeRequest {
  readonly bundle: Uint8Array;
  readonly configuration: Readonly<Record<string, string>>;
  readonly args: readonly string[];
  readonly parallelism?: number | undefined;
}

const EXTRA_MEMORY_BYTES = 256 * 1024 * 1024;
const WATCH_INTERVAL_MS = 250;
const STDERR_TAIL_BYTES = 8192;

/** Environment variables that look like credentials stay out of the user-code process. */
const SENSITIVE_ENV = /secret|token|passw|credential|api[_-]?key|private/iu;

interface EnumeratorEntry {
  readonly context: SplitEnumeratorContext<SourceSplit>;
  readonly parallelism: number;
  snapshot?: { readonly checkpointId: number; readonly state: unknown } | undefined;
}

interface PendingSnapshot {
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly checkpointId: number;
}

type Event = Readonly<Record<string, unknown>>;

const assignMessage = objectOf<{ instance: number; subtask: number; split: unknown }>({
  instance: nat,
  subtask: nat,
  split: (v, path) => {
    text(field(plainObject(v, path), 'splitId'), `${path}.splitId`);
    return v;
  },
});
const subtaskMessage = objectOf<{ instance: number; subtask: number; event: unknown }>({
  instance: nat,
  subtask: nat,
  event: data,
});
const errorDescription = objectOf<{ message: string; code: string | undefined; stack: string | undefined }>({
  message: text,
  code: (v) => (typeof v === 'string' ? v : undefined),
  stack: (v) => (typeof v === 'string' ? v : undefined),
});

/** The user-code process of one submitted job. */
export class UserCodeProcess {
  private readonly log = logger('user-code');
  private readonly channel: UserCodeChannel;
  private readonly enumerators = new Map<number, EnumeratorEntry>();
  private readonly snapshots = new Map<number, PendingSnapshot>();
  private nextInstance = 0;
  private nextRequest = 0;
  /** Events held after a snapshot reply until the checkpoint's triggers went out (Flink's event valve). */
  private held: Event[] | undefined;
  private stderrTail = '';
  private killedFor: string | undefined;
  private loading: { resolve: (job: CapturedJob) => void; reject: (e: Error) => void } | undefined;
  private lost: SluiceError | undefined;
  private closed = false;
  private failureListener: ((error: Error, restartable: boolean) => void) | undefined;
  private readonly watchdog: NodeJS.Timeout;

  private constructor(
    private readonly child: ChildProcess,
    private readonly limits: UserCodeLimits,
  ) {
    this.channel = new UserCodeChannel(child.stdio[3] as Duplex, {
      onMessage: (message) => this.onMessage(message),
      onClosed: (error) => {
        if (error) this.kill(`it sent a malformed message (${error.message})`);
      },
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    child.stdout?.on('data', (chunk: Buffer) =>
      this.log.debug({ pid: child.pid }, chunk.toString('utf8').slice(0, 2000)),
    );
    child.once('exit', (code, signal) => this.onExit(code, signal));
    child.once('error', (e) => this.onGone(`it could not be started (${e.message})`));
    const rssLimit = limits.heapBytes + EXTRA_MEMORY_BYTES;
    this.watchdog = setInterval(() => void this.watchMemory(rssLimit), WATCH_INTERVAL_MS);
    this.watchdog.unref();
  }

  /**
   * Starts a process for `request`, evaluates the module there and resolves with the job it
   * submitted. Rejects with the module's own error, or SLUICE_SUBMISSION_FAILED when it ran past
   * a limit, died, or answered nonsense; the process is gone then.
   */
  static async load(
    request: UserCodeRequest,
    limits: UserCodeLimits,
  ): Promise<{ readonly userCode: UserCodeProcess; readonly job: CapturedJob }> {
    const heapMb = Math.max(16, Math.floor(limits.heapBytes / (1024 * 1024)));
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${heapMb}`, SLUICE_BIN, 'user-code-process'],
      {
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        env: userCodeEnvironment(),
      },
    );
    const userCode = new UserCodeProcess(child, limits);
    const timer = setTimeout(
      () =>
        userCode.kill(
          `the job module did not call execute() within ${limits.timeoutMs / 1000} s (client.timeout); ` +
            'build the job and call execute() at the top level of the module',
        ),
      limits.timeoutMs,
    );
    try {
      const job = await new Promise<CapturedJob>((resolve, reject) => {
        userCode.loading = { resolve, reject };
        userCode.channel.send({ kind: 'load', ...request });
      });
      return { userCode, job };
    } catch (e) {
      userCode.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Hears enumerator failures (restartable) and the loss of the process (not restartable). */
  onFailure(listener: (error: Error, restartable: boolean) => void): void {
    this.failureListener = listener;
    if (this.lost) listener(this.lost, false);
  }

  /** The JobManager's stand-in for the source of operator `operatorId`: its enumerator runs in the process. */
  source(operatorId: OperatorId): Source<unknown, SourceSplit, unknown> {
    return {
      getBoundedness: () => 'CONTINUOUS_UNBOUNDED',
      createEnumerator: (context) => this.createEnumerator(operatorId, context, false, undefined),
      restoreEnumerator: (context, state) => this.createEnumerator(operatorId, context, true, state),
      createReader: () => {
        throw new Error('the readers of a submitted job run on TaskManagers');
      },
    };
  }

  /**
   * Has every enumerator snapshot for `checkpointId` (what `snapshotState` then returns); events
   * they send after their snapshot wait until the checkpoint's triggers went out. Undefined when
   * no enumerator runs.
   */
  prepareSnapshot(checkpointId: number): Promise<void> | undefined {
    const instances = [...this.enumerators.keys()];
    if (instances.length === 0) return undefined;
    if (this.lost) return Promise.reject(this.lost);
    const request = this.nextRequest++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.snapshots.delete(request);
        this.kill(
          `its split enumerators took longer than ${this.limits.timeoutMs / 1000} s (client.timeout) to snapshot`,
        );
        reject(this.lost ?? new Error('the split enumerators did not snapshot in time'));
      }, this.limits.timeoutMs);
      this.snapshots.set(request, { resolve, reject, timer, checkpointId });
      this.channel.send({ kind: 'snapshot', request, checkpointId, instances });
    });
  }

  /** Ends the process (the job ended, or loading failed). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    this.channel.close();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private createEnumerator(
    operatorId: OperatorId,
    context: SplitEnumeratorContext<SourceSplit>,
    restoring: boolean,
    state: unknown,
  ): SplitEnumerator<SourceSplit, unknown> {
    if (this.lost) throw this.lost;
    const instance = this.nextInstance++;
    const parallelism = context.currentParallelism();
    const entry: EnumeratorEntry = { context, parallelism };
    this.enumerators.set(instance, entry);
    this.channel.send({
      kind: 'create',
      instance,
      operatorId,
      parallelism,
      ...(restoring ? { restored: state } : {}),
    });
    const call = (method: string, extra: Readonly<Record<string, unknown>> = {}) =>
      this.channel.send({ kind: 'call', instance, method, readers: context.registeredReaders(), ...extra });
    return {
      start: () => call('start'),
      handleSplitRequest: (subtask) => call('handleSplitRequest', { subtask }),
      addSplitsBack: (splits, subtask) => call('addSplitsBack', { splits, subtask }),
      addReader: (subtask) => call('addReader', { subtask }),
      handleSourceEvent: (subtask, event) => call('handleSourceEvent', { subtask, event }),
      snapshotState: (checkpointId) => {
        const taken = entry.snapshot;
        entry.snapshot = undefined;
        if (taken?.checkpointId !== checkpointId)
          throw new Error(`the split enumerator took no snapshot for checkpoint ${checkpointId}`);
        return taken.state;
      },
      close: () => {
        call('close');
        this.enumerators.delete(instance);
      },
    };
  }

  private onMessage(raw: unknown): void {
    const message = plainObject(raw, 'message');
    switch (field(message, 'kind')) {
      case 'captured':
        return this.onCaptured(field(message, 'job'));
      case 'failed':
        return this.onLoadFailed(errorDescription(field(message, 'error'), 'failed.error'));
      case 'assign':
      case 'no-more-splits':
      case 'source-event':
        return this.onEvent(message);
      case 'snapshot':
        return this.onSnapshot(message);
      case 'enumerator-failed': {
        const error = errorDescription(field(message, 'error'), 'enumerator-failed.error');
        const failure = new SluiceError(
          'SLUICE_USER_FUNCTION_FAILED',
          `the split enumerator of a source failed: ${error.message}`,
        );
        if (error.stack !== undefined) failure.stack = error.stack;
        this.failureListener?.(failure, true);
        return;
      }
      default:
        throw new RpcProtocolError('message.kind', `unknown message kind ${String(field(message, 'kind'))}`);
    }
  }

  private onCaptured(value: unknown): void {
    const loading = this.loading;
    if (!loading) throw new RpcProtocolError('captured', 'a second job');
    this.loading = undefined;
    let job: CapturedJob;
    try {
      job = checkCapturedJob(value);
    } catch (e) {
      loading.reject(submissionFailed(`the job module produced a malformed job (${(e as Error).message})`));
      this.close();
      return;
    }
    loading.resolve(job);
  }

  private onLoadFailed(error: {
    message: string;
    code: string | undefined;
    stack: string | undefined;
  }): void {
    const loading = this.loading;
    if (!loading) throw new RpcProtocolError('failed', 'a failure after the job was loaded');
    this.loading = undefined;
    // The module's own error, as it would read in-process (a SluiceError keeps its code).
    const code =
      error.code !== undefined && Object.hasOwn(ErrorCodes, error.code)
        ? (error.code as ErrorCode)
        : undefined;
    const failure = code ? new SluiceError(code, error.message) : new Error(error.message);
    if (error.stack !== undefined) failure.stack = error.stack;
    loading.reject(failure);
    this.close();
  }

  private onEvent(event: Event): void {
    if (this.held) this.held.push(event);
    else this.deliver(event);
  }

  private deliver(event: Event): void {
    const kind = field(event, 'kind');
    const { instance, subtask, ...rest } =
      kind === 'assign' ? assignMessage(event, 'assign') : subtaskMessage(event, String(kind));
    const entry = this.enumerators.get(instance);
    // Events of an enumerator closed meanwhile (a restart) are stale.
    if (!entry) return;
    if (subtask >= entry.parallelism)
      throw new RpcProtocolError(
        `${String(kind)}.subtask`,
        `subtask ${subtask} of a source with parallelism ${entry.parallelism}`,
      );
    if (kind === 'assign') entry.context.assignSplit((rest as { split: SourceSplit }).split, subtask);
    else if (kind === 'no-more-splits') entry.context.signalNoMoreSplits(subtask);
    else entry.context.sendEventToSourceReader(subtask, (rest as { event: unknown }).event);
  }

  private onSnapshot(message: Event): void {
    const request = nat(field(message, 'request'), 'snapshot.request');
    const pending = this.snapshots.get(request);
    if (!pending) return;
    this.snapshots.delete(request);
    clearTimeout(pending.timer);
    const states = field(message, 'states');
    if (!Array.isArray(states)) throw new RpcProtocolError('snapshot.states', 'states must be a list');
    for (const [i, s] of states.entries()) {
      const { instance, state } = objectOf<{ instance: number; state: unknown }>({
        instance: nat,
        state: data,
      })(s, `snapshot.states[${i}]`);
      const entry = this.enumerators.get(instance);
      if (entry) entry.snapshot = { checkpointId: pending.checkpointId, state };
    }
    // The coordinator triggers the sources in the microtasks after this turn; until then,
    // assignments made after the snapshot wait, so no reader gets a split before its barrier
    // that the enumerator's snapshot still counts as unassigned.
    if (!this.held) {
      this.held = [];
      setImmediate(() => this.release());
    }
    pending.resolve();
  }

  private release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    try {
      for (const event of held) this.deliver(event);
    } catch (e) {
      this.kill(`it sent a malformed message (${(e as Error).message})`);
    }
  }

  private async watchMemory(limitBytes: number): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || this.closed) return;
    let status: string;
    try {
      status = await readFile(`/proc/${pid}/status`, 'utf8');
    } catch {
      return; // not Linux, or already gone: the heap limit still holds
    }
    const kb = Number(/^VmRSS:\s+(\d+)\s+kB/mu.exec(status)?.[1]);
    if (Number.isFinite(kb) && kb * 1024 > limitBytes)
      this.kill(
        `it used ${Math.round(kb / 1024)} MiB of memory, more than the ${Math.round(limitBytes / (1024 * 1024))} MiB allowed ` +
          '(web.submit.user-code.heap-size plus 256 MiB)',
      );
  }

  /** Kills the process for `why`; its exit reports it. */
  private kill(why: string): void {
    this.killedFor ??= why;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed && this.killedFor === undefined) return;
    const outOfMemory = /heap out of memory|Reached heap limit/u.test(this.stderrTail);
    const lastLine = this.stderrTail
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('at '))
      .at(-1);
    this.onGone(
      this.killedFor ??
        (outOfMemory
          ? `it ran out of memory (web.submit.user-code.heap-size: ${Math.round(this.limits.heapBytes / (1024 * 1024))} MiB)`
          : `it exited (${signal ? `signal ${signal}` : `exit code ${code}`})${lastLine ? `: ${lastLine.slice(0, 500)}` : ''}`),
    );
  }

  private onGone(why: string): void {
    clearInterval(this.watchdog);
    const loading = this.loading;
    if (loading) {
      this.loading = undefined;
      loading.reject(submissionFailed(`the process evaluating the job module was stopped: ${why}`));
      return;
    }
    if (this.lost || this.closed) return;
    this.lost = new SluiceError(
      'SLUICE_USER_CODE_PROCESS_LOST',
      `the process running the job's split enumerators is gone: ${why}`,
    );
    this.log.warn({ pid: this.child.pid }, this.lost.message);
    for (const pending of this.snapshots.values()) {
      clearTimeout(pending.timer);
      pending.reject(this.lost);
    }
    this.snapshots.clear();
    this.failureListener?.(this.lost, false);
  }
}

function submissionFailed(message: string): SluiceError {
  return new SluiceError('SLUICE_SUBMISSION_FAILED', message);
}

/** The JobManager's environment without what looks like a credential (the cluster secret, tokens). */
function userCodeEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!SENSITIVE_ENV.test(key) && !key.startsWith('SLUICE_')) env[key] = value;
  env['SLUICE_LOG_LEVEL'] = 'warn';
  return env;
}
