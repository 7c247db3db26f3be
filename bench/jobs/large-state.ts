// Bench job: an endless keyed stream whose operator keeps a few KB of ValueState per key, so the
// job holds `keys × valueBytes` of keyed state, checkpointed to a directory. The recovery bench
// runs it on TaskManager processes (which evaluate its bundle: it calls main() when it is the
// entry point) and calls `main(args)` itself to submit it.
import { pathToFileURL } from 'node:url';
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  RestartStrategies,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from 'sluice';
import type {
  Collector,
  JobClient,
  JobExecutionResult,
  KeyedProcessContext,
  RuntimeContext,
  Sink,
  ValueState,
} from 'sluice';

/** `keys valueBytes checkpointDirUrl checkpointIntervalMs recordsPerSecond parallelism [backend]` */
export function parseArgs(args: readonly string[]) {
  const [
    keys = '25600',
    valueBytes = '4096',
    dir = '',
    interval = '1000',
    rate = '20000',
    parallelism = '2',
    backend = 'hashmap',
  ] = args;
  return {
    keys: Number(keys),
    valueBytes: Number(valueBytes),
    checkpointDir: dir,
    interval: Number(interval),
    rate: Number(rate),
    parallelism: Number(parallelism),
    /** `state.backend.type`: `hashmap` or `lmdb`. */
    backend,
  };
}

/** Gives each key a `valueBytes` blob on its first record, then only reads it. */
class BlobPerKey extends KeyedProcessFunction<number, number, never> {
  private blob!: ValueState<Uint8Array>;

  constructor(private readonly valueBytes: number) {
    super();
  }

  open(ctx: RuntimeContext): void {
    this.blob = ctx.getState(new ValueStateDescriptor<Uint8Array>('blob'));
  }

  processElement(_i: number, ctx: KeyedProcessContext<number>, _out: Collector<never>): void {
    if (this.blob.value() !== undefined) return;
    // Bytes that vary with the key and the position, so no layer could store them as a pattern.
    const key = ctx.getCurrentKey();
    const blob = new Uint8Array(this.valueBytes);
    for (let j = 0; j < blob.length; j++) blob[j] = (key * 31 + j * 7) & 0xff;
    this.blob.update(blob);
  }
}

/** A sink whose writers do nothing (the operator emits nothing anyway). */
const discard: Sink<never> = {
  createWriter: () => ({ write: () => {}, flush: () => {}, close: () => {} }),
};

/** Builds and submits the endless job; resolves with its result if it ever ends (it is cancelled). */
export async function main(
  args: readonly string[],
  onSubmitted?: (client: JobClient) => void,
): Promise<JobExecutionResult> {
  const { keys, valueBytes, checkpointDir, interval, rate, parallelism, backend } = parseArgs(args);
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(parallelism);
  env.configuration.setString('state.backend.type', backend);
  env.enableCheckpointing(interval);
  env.getCheckpointConfig().setCheckpointStorage(checkpointDir);
  // Restart at once: the bench measures the system, not a back-off.
  env.setRestartStrategy(RestartStrategies.fixedDelay(10, 0));
  env
    .fromSource(new DataGeneratorSource((i) => i, Infinity, { recordsPerSecond: rate }), 'Keys')
    .keyBy((i) => i % keys)
    .process(new BlobPerKey(valueBytes))
    .uid('blob-per-key')
    .sinkTo(discard);
  const client = await env.executeAsync('bench: large-state');
  onSubmitted?.(client);
  return client.getJobExecutionResult();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  await main(process.argv.slice(2));
