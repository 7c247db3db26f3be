// JetStreamSink against the real NATS server: JetStream source → keyBy → running count →
// JetStream sink with user-function failures; the target stream holds every expected message
// exactly once (EXACTLY_ONCE), nothing before its checkpoint completes, and AT_LEAST_ONCE
// loses nothing.
import { jetstream } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import {
  DeliveryGuarantee,
  JetStreamSink,
  JetStreamSource,
  JsonSerializationSchema,
  RestartStrategies,
  SimpleStringSchema,
  WatermarkStrategy,
  type Sink,
} from 'sluice';
import { resetFailuresBeforeEach, useJetStream } from '../support/connector-servers.js';
import { NATS_URL, requireServer, uniqueName } from '../support/external-servers.js';
import { envAt, expectSameMultiset, throwsWith } from '../support/helpers.js';
import { countingJob, expectedRows, failures, type Counted } from '../support/jdbc-jobs.js';
import { streamMessages } from '../support/sink-targets.js';

const available = await requireServer('nats');

describe.runIf(available)('JetStreamSink', () => {
  const js = useJetStream();
  resetFailuresBeforeEach();
  const stream = () => js.stream('SINK');
  const stored = async (name: string) => (await js.jsm.streams.info(name)).state.messages;

  /** Every message of the stream, decoded as JSON. */
  const readBack = <T>(name: string): Promise<T[]> => streamMessages<T>(js.nc, js.jsm, name);

  function sink(name: string, guarantee: string): Sink<Counted> {
    return JetStreamSink.builder<Counted>()
      .setServers(NATS_URL)
      .setSubjectSelector((r: Counted) => `${name}.key${r.k % 3}`)
      .setSerializer(new JsonSerializationSchema<Counted>())
      .setDeliveryGuarantee(guarantee)
      .setTransactionalIdPrefix(uniqueName('p'))
      .build();
  }

  it('EXACTLY_ONCE: every message once in the target through user-function failures', async () => {
    const target = await stream();
    const records = 3000;
    const keys = 11;
    failures.planned = [500, 1400, 2600];
    const env = countingJob(sink(target, DeliveryGuarantee.EXACTLY_ONCE), {
      records,
      keys,
      rate: 3000,
      parallelism: 2,
      intervalMs: 100,
    });
    await env.execute();
    expect(failures.fired).toBe(3);
    expectSameMultiset(await readBack<Counted>(target), expectedRows(records, keys));
  });

  it('EXACTLY_ONCE: nothing is visible before a checkpoint completes', async () => {
    const target = await stream();
    const env = countingJob(sink(target, 'EXACTLY_ONCE'), {
      records: 400,
      keys: 4,
      rate: 400,
      parallelism: 1,
      intervalMs: 3_600_000,
    });
    const job = await env.executeAsync();
    // Poll while the job runs (about a second): with no checkpoint before the end, the target is
    // empty as long as records are still coming (the final commit publishes after the last one).
    let pollsBeforeEnd = 0;
    while (job.getJobStatus() === 'RUNNING') {
      const processed = failures.processed;
      const n = await stored(target);
      if (processed > 0 && processed < 400) {
        expect(n).toBe(0);
        pollsBeforeEnd++;
      }
    }
    await job.getJobExecutionResult();
    expect(pollsBeforeEnd).toBeGreaterThan(0);
    expect(await stored(target)).toBe(400);
  });

  it('AT_LEAST_ONCE from a JetStream source: nothing lost through failures', async () => {
    const input = await stream();
    const publisher = jetstream(js.nc);
    for (let i = 0; i < 600; i++) await publisher.publish(`${input}.in`, String(i));
    const target = await stream();
    const env2 = envAt(2);
    env2.enableCheckpointing(50);
    env2.setRestartStrategy(RestartStrategies.fixedDelayRestart(5, 0));
    failures.planned = [250];
    const source = JetStreamSource.builder()
      .setServers(NATS_URL)
      .setStream(input)
      .setValueOnlyDeserializer(new SimpleStringSchema())
      .setBounded()
      .build();
    const transformations = env2.fromSource(source, WatermarkStrategy.noWatermarks(), 'in').map((s) => {
      const i = Number(s);
      if (failures.planned.includes(i) && !failures.done.has(i)) {
        failures.done.add(i);
        failures.fired++;
        throw new Error('injected');
      }
      return { k: i, c: 1 };
    });
    transformations.sinkTo(sink(target, DeliveryGuarantee.AT_LEAST_ONCE));
    await env2.execute();
    expect(failures.fired).toBe(1);
    const got = new Set((await readBack<Counted>(target)).map((r) => r.k));
    expect(got.size).toBe(600);
  });

  it('rejects a builder without servers, subject or serializer', () => {
    throwsWith(() => JetStreamSink.builder().setSubject('a').build(), 'SLUICE_PROGRAM_INVALID');
    throwsWith(
      () => JetStreamSink.builder().setServers(NATS_URL).setSerializer(new SimpleStringSchema()).build(),
      'SLUICE_PROGRAM_INVALID',
    );
    throwsWith(() => JetStreamSink.builder().setDeliveryGuarantee('twice'), 'SLUICE_PROGRAM_INVALID');
  });
});
