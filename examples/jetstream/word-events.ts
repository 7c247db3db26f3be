/**
 * NATS JetStream in and out, exactly once: reads the `words.*` subjects of stream WORDS from the
 * start (one split per subject, positions = stream sequences, checkpointed), counts words per
 * key, and publishes each running count to `counts.<word>` of stream COUNTS with
 * DeliveryGuarantee.EXACTLY_ONCE (published when the checkpoint completes, with message ids the
 * stream's duplicate window uses to drop replays). Bounded: it stops at the end of WORDS as of
 * its start. Needs a NATS server with JetStream (`nats-server -js`), then:
 * `npx sluice run examples/jetstream/word-events.ts --servers nats://127.0.0.1:4222`
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  DeliveryGuarantee,
  JetStreamSink,
  JetStreamSource,
  ParameterTool,
  SimpleStringSchema,
  StartingPosition,
  StreamExecutionEnvironment,
  WatermarkStrategy,
} from 'sluice';

const params = ParameterTool.fromArgs(process.argv);
const servers = params.get('servers', 'nats://127.0.0.1:4222');

// Streams and input for the example (a real job would find them there). The job's top level
// also runs where its tasks are deployed, so this set-up only fills an empty WORDS stream.
const nc = await connect({ servers });
const jsm = await jetstreamManager(nc);
for (const name of ['WORDS', 'COUNTS'])
  await jsm.streams.info(name).catch(() => jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.*`] }));
if ((await jsm.streams.info('WORDS')).state.messages === 0) {
  const js = jetstream(nc);
  const text = 'to be or not to be that is the question whether tis nobler in the mind to suffer';
  for (const [i, word] of text.split(' ').entries()) await js.publish(`words.${i % 3}`, word);
}
await nc.close();

const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
env.enableCheckpointing(500);

const source = JetStreamSource.builder()
  .setServers(servers)
  .setStream('WORDS')
  .setSubjects('words.0', 'words.1', 'words.2')
  .setStartingPosition(StartingPosition.earliest())
  .setValueOnlyDeserializer(new SimpleStringSchema())
  .setBounded()
  .build();

const sink = JetStreamSink.builder<[string, number]>()
  .setServers(servers)
  .setSubjectSelector(([word]) => `counts.${word}`)
  .setSerializer(([word, n]: [string, number]) => `${word} ${n}`)
  .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
  .build();

env
  .fromSource(source, WatermarkStrategy.noWatermarks(), 'words')
  .map((word): [string, number] => [word, 1])
  .keyBy(([word]) => word)
  .sum(1)
  .sinkTo(sink)
  .uid('word-counts');

await env.execute('JetStreamWordCounts');
