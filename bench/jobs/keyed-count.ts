// Bench job: a keyed running count over generated page views, ending in a sink that discards.
// The cluster bench runs it on TaskManager processes (which evaluate its bundle: it calls main()
// when it is the entry point) and in the bench process inline; both call `main(args)`.
import { pathToFileURL } from 'node:url';
import {
  Counter,
  DataGeneratorSource,
  KeyedProcessFunction,
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

/** The accumulator counting the records the keyed operator processed, over all subtasks. */
export const RECORDS_ACCUMULATOR = 'records';

/** The record crossing the exchange (the shape of the keyed-exchange benchmark). */
export interface PageView {
  readonly page: string;
  readonly ts: number;
}

/** A key's running count, as the process function emits it. */
export interface PageCount {
  readonly page: string;
  readonly count: number;
}

/** `records parallelism keys` */
export function parseArgs(args: readonly string[]): { records: number; parallelism: number; keys: number } {
  const [records = '1000000', parallelism = '2', keys = '10000'] = args;
  return { records: Number(records), parallelism: Number(parallelism), keys: Number(keys) };
}

/** Counts records per key in ValueState<number>, emits each key's running count, and counts all records. */
class RunningCount extends KeyedProcessFunction<string, PageView, PageCount> {
  private count!: ValueState<number>;
  private records!: Counter;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
    this.records = new Counter();
    ctx.addAccumulator(RECORDS_ACCUMULATOR, this.records);
  }

  processElement(view: PageView, _ctx: KeyedProcessContext<string>, out: Collector<PageCount>): void {
    const count = (this.count.value() ?? 0) + 1;
    this.count.update(count);
    this.records.add(1);
    out.collect({ page: view.page, count });
  }
}

/** A sink whose writers do nothing. */
const discard: Sink<PageCount> = {
  createWriter: () => ({ write: () => {}, flush: () => {}, close: () => {} }),
};

/** Builds and submits the job; resolves with its result once it finished. */
export async function main(
  args: readonly string[],
  onSubmitted?: (client: JobClient) => void,
): Promise<JobExecutionResult> {
  const { records, parallelism, keys } = parseArgs(args);
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(parallelism);
  env
    .fromSource(
      new DataGeneratorSource((i): PageView => ({ page: `p${i % keys}`, ts: i }), records),
      'Page Views',
    )
    .keyBy((v) => v.page)
    .process(new RunningCount())
    .uid('running-count')
    .sinkTo(discard);
  const client = await env.executeAsync('bench: keyed-count');
  onSubmitted?.(client);
  return client.getJobExecutionResult();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  await main(process.argv.slice(2));
