/**
 * The user-code process's side: evaluates a submitted job module (in the capture role, as a
 * TaskManager does), sends the JobManager the job as plain data, then hosts the job's split
 * enumerators, which the JobManager drives over the same pipe.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Configuration } from '../core/configuration.js';
import { SluiceError } from '../core/errors.js';
import type { PipelineSubmission } from '../api/execution.js';
import type { SourceSplit, SplitEnumerator, SplitEnumeratorContext } from '../api/source/source.js';
import { describeSubmission } from './captured-job.js';
import { loadJobSubmissions } from './job-bundle.js';
import { UserCodeChannel } from './user-code-channel.js';

/** An error as it crosses the pipe. */
export interface ErrorDescription {
  readonly message: string;
  readonly code?: string | undefined;
  readonly stack?: string | undefined;
}

/** Describes `e` for the JobManager. */
export function describeError(e: unknown): ErrorDescription {
  if (e instanceof Error)
    return { message: e.message, code: e instanceof SluiceError ? e.code : undefined, stack: e.stack };
  return { message: String(e) };
}

/** One enumerator hosted here, with the context it reports through. */
interface Hosted {
  readonly enumerator: SplitEnumerator<SourceSplit, unknown>;
  readonly context: HostedContext;
}

/** What an enumerator sees: its calls become messages to the JobManager, which assigns for real. */
class HostedContext implements SplitEnumeratorContext<SourceSplit> {
  readers: readonly number[] = [];

  constructor(
    private readonly channel: UserCodeChannel,
    private readonly instance: number,
    private readonly parallelism: number,
  ) {}

  currentParallelism(): number {
    return this.parallelism;
  }
  registeredReaders(): readonly number[] {
    return this.readers;
  }
  assignSplit(split: SourceSplit, subtask: number): void {
    this.channel.send({ kind: 'assign', instance: this.instance, subtask, split });
  }
  signalNoMoreSplits(subtask: number): void {
    this.channel.send({ kind: 'no-more-splits', instance: this.instance, subtask });
  }
  sendEventToSourceReader(subtask: number, event: unknown): void {
    this.channel.send({ kind: 'source-event', instance: this.instance, subtask, event });
  }
}

type Message = Readonly<Record<string, unknown>>;

/** Serves the JobManager on `stream` until it closes the pipe; then the process exits. */
export function serveUserCode(stream: Duplex, exit: (code: number) => void): void {
  let submission: PipelineSubmission | undefined;
  const hosted = new Map<number, Hosted>();
  const channel: UserCodeChannel = new UserCodeChannel(stream, {
    onMessage: (message) => handle(message as Message),
    onClosed: () => exit(0),
  });
  const enumeratorFailed = (instance: number, e: unknown) =>
    channel.send({ kind: 'enumerator-failed', instance, error: describeError(e) });

  function handle(message: Message): void {
    switch (message['kind']) {
      case 'load':
        void load(message);
        return;
      case 'create': {
        const instance = message['instance'] as number;
        const source = submission?.jobGraph.streamGraph.nodes.find(
          (n) => n.operatorId === message['operatorId'],
        )?.transformation.operator.source;
        const context = new HostedContext(channel, instance, message['parallelism'] as number);
        try {
          if (!source) throw new Error(`no source with operator id ${String(message['operatorId'])}`);
          const enumerator =
            'restored' in message
              ? source.restoreEnumerator(context, message['restored'])
              : source.createEnumerator(context);
          hosted.set(instance, { enumerator, context });
        } catch (e) {
          enumeratorFailed(instance, e);
        }
        return;
      }
      case 'call': {
        const instance = message['instance'] as number;
        const entry = hosted.get(instance);
        if (!entry) return;
        entry.context.readers = message['readers'] as number[];
        try {
          call(entry.enumerator, message);
        } catch (e) {
          enumeratorFailed(instance, e);
        }
        if (message['method'] === 'close') hosted.delete(instance);
        return;
      }
      case 'snapshot': {
        const checkpointId = message['checkpointId'] as number;
        const states: { instance: number; state: unknown }[] = [];
        for (const instance of message['instances'] as number[]) {
          const entry = hosted.get(instance);
          if (!entry) continue;
          try {
            states.push({ instance, state: entry.enumerator.snapshotState(checkpointId) });
          } catch (e) {
            enumeratorFailed(instance, e);
          }
        }
        channel.send({ kind: 'snapshot', request: message['request'], states });
        return;
      }
    }
  }

  async function load(message: Message): Promise<void> {
    try {
      const configuration = new Configuration().addAll(
        message['configuration'] as Record<string, string>,
        'the submission',
      );
      const [captured] = await loadJobSubmissions(message['bundle'] as Uint8Array, {
        configuration,
        argv: message['args'] as string[],
        count: 1,
        parallelism: message['parallelism'] as number | undefined,
      });
      submission = captured!;
      channel.send({ kind: 'captured', job: describeSubmission(submission) });
    } catch (e) {
      channel.send({ kind: 'failed', error: describeError(e) });
    }
  }
}

function call(enumerator: SplitEnumerator<SourceSplit, unknown>, message: Message): void {
  const subtask = message['subtask'] as number;
  switch (message['method']) {
    case 'start':
      return enumerator.start();
    case 'handleSplitRequest':
      return enumerator.handleSplitRequest(subtask);
    case 'addSplitsBack':
      return enumerator.addSplitsBack(message['splits'] as SourceSplit[], subtask);
    case 'addReader':
      return enumerator.addReader(subtask);
    case 'handleSourceEvent':
      return enumerator.handleSourceEvent?.(subtask, message['event']);
    case 'close':
      return enumerator.close();
  }
}

/**
 * Serves the JobManager that started this process on file descriptor 3; resolves when it closes
 * the pipe. User code that throws from a timer or leaves a promise rejected ends the process, and
 * the JobManager reports it with the tail of stderr, where Node prints the error.
 */
export function serveUserCodeOnPipe(): Promise<void> {
  return new Promise((resolve) =>
    serveUserCode(new Socket({ fd: 3, readable: true, writable: true }), () => resolve()),
  );
}
