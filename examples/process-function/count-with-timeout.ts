/**
 * Runs Flink's CountWithTimeoutFunction (see count-with-timeout-function.ts) over a bounded stream
 * of (user, action) pairs. On a bounded input the job runs in BATCH mode (AUTOMATIC below), where
 * processing time does not advance and every timer fires at the end of input, as in Flink: each
 * user's count is emitted once. Run it with
 * `npx sluice run examples/process-function/count-with-timeout.ts`.
 */
import { RuntimeExecutionMode, StreamExecutionEnvironment, type DataStream } from 'sluice';
import { CountWithTimeoutFunction, CountWithTimestamp } from './count-with-timeout-function.js';

const env = StreamExecutionEnvironment.getExecutionEnvironment();
// BATCH when every source is bounded, as here; STREAMING otherwise.
env.setRuntimeMode(RuntimeExecutionMode.AUTOMATIC);
// The state holds CountWithTimestamp instances: registered, they keep their class in checkpoints.
env.registerType(CountWithTimestamp);

// the source data stream
const stream: DataStream<[string, string]> = env.fromData<[string, string]>(
  ['alice', 'login'],
  ['bob', 'login'],
  ['alice', 'search'],
  ['carol', 'login'],
  ['alice', 'buy'],
  ['bob', 'logout'],
);

// apply the process function onto a keyed stream
const result: DataStream<[string, number]> = stream
  .keyBy((value) => value[0])
  .process(new CountWithTimeoutFunction());

result.print();
await env.execute('CountWithTimeout');
