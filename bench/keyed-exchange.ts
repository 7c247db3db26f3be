/** Figure (b) and its limit (d): a keyed running count behind a p2 hash exchange vs a serialize/deserialize loop. */
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  MsgpackSerializer,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from '../src/index.js';
import { CountingSink, expectCount, type Comparison } from './harness.js';

/** The record crossing the exchange. */
export interface PageView {
  readonly page: string;
  readonly ts: number;
}

/** A key's running count, as the process function emits it. */
export interface PageCount {
  readonly page: string;
  readonly count: number;
}

/** The generator: index → a small object over 1,000 keys (shared by the job and the baseline). */
export function toPageView(i: number): PageView {
  return { page: `p${i % 1000}`, ts: i };
}

const PARALLELISM = 2;

/** Counts records per key in ValueState<number> and emits each key's running count. */
class RunningCount extends KeyedProcessFunction<string, PageView, PageCount> {
  private count!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
  }

  processElement(view: PageView, _ctx: KeyedProcessContext<string>, out: Collector<PageCount>): void {
    const count = (this.count.value() ?? 0) + 1;
    this.count.update(count);
    out.collect({ page: view.page, count });
  }
}

/** Runs the keyed job over `records` records; returns how many it read. */
async function runJob(records: number): Promise<number> {
  const sink = new CountingSink<PageCount>();
  sink.reset();
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(PARALLELISM);
  env
    .fromSource(new DataGeneratorSource(toPageView, records), 'Page Views')
    .keyBy((v) => v.page)
    .process(new RunningCount())
    .sinkTo(sink);
  const graph = env.getJobGraph();
  if (graph.vertices.length !== 2 || graph.edges.length !== 1)
    throw new Error(
      `expected source → (keyed process + sink) over one exchange, got ${graph.vertices.length} vertices`,
    );
  await env.execute('bench: keyed-count-exchange-p2');
  expectCount('keyed-count-exchange sink', sink.count, records);
  return records;
}

/** The exchange's own cost by hand: generate, serialize, deserialize, count. */
function runLoop(records: number, serializer: MsgpackSerializer<PageView>): number {
  let count = 0;
  let ts = 0;
  for (let i = 0; i < records; i++) {
    const bytes = serializer.serialize(toPageView(i));
    const view = serializer.deserialize(bytes, 0, bytes.length);
    ts += view.ts;
    count++;
  }
  expectCount('keyed-count-exchange baseline', count, records);
  if (ts !== (records * (records - 1)) / 2) throw new Error('baseline: records did not round-trip');
  return records;
}

/** The comparison over `records` records. */
export function keyedExchange(records: number): Comparison {
  const serializer = new MsgpackSerializer<PageView>({ forRecords: true });
  return {
    name: 'keyed-count-exchange-p2',
    description:
      `DataGeneratorSource (p${PARALLELISM}) → keyBy(page) → KeyedProcessFunction running count ` +
      `(ValueState) → sink, parallelism ${PARALLELISM}, ${records} records`,
    baselineDescription: 'plain loop: same generator, msgpack serialize + deserialize, count',
    subject: () => runJob(records),
    baseline: () => runLoop(records, serializer),
  };
}
