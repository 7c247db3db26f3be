// JetStreamSource against the real NATS server: starting positions, several subjects read by
// parallel readers, bounded mode, and replay from the checkpointed sequence after failures.
import { jetstream } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import {
  JetStreamSource,
  RestartStrategies,
  SimpleStringSchema,
  StartingPosition,
  WatermarkStrategy,
  type JetStreamRecord,
} from 'sluice';
import { useJetStream } from '../support/connector-servers.js';
import { NATS_URL, requireServer, uniqueName } from '../support/external-servers.js';
import { envAt, expectSameMultiset, rejectsWith } from '../support/helpers.js';
import { runToEnd } from '../support/checkpointing.js';

const available = await requireServer('nats');

describe.runIf(available)('JetStreamSource', () => {
  const server = useJetStream();

  /** A fresh stream over `<name>.>` holding `perSubject` messages on each of `subjects`. */
  async function streamWith(subjects: readonly string[], perSubject: number): Promise<string> {
    const name = await server.stream('SRC');
    const js = jetstream(server.nc);
    for (let i = 0; i < perSubject; i++)
      await Promise.all(subjects.map((s) => js.publish(`${name}.${s}`, `${s}-${i}`)));
    return name;
  }

  it('reads every subject once with parallel readers, bounded at the stream end as of the start', async () => {
    const stream = await streamWith(['a', 'b', 'c'], 200);
    const env = envAt(2);
    const source = JetStreamSource.builder()
      .setServers(NATS_URL)
      .setStream(stream)
      .setSubjects(`${stream}.a`, `${stream}.b`, `${stream}.c`)
      .setStartingPosition(StartingPosition.earliest())
      .setValueOnlyDeserializer(new SimpleStringSchema())
      .setBounded()
      .build();
    const { records } = await runToEnd(env, env.fromSource(source, WatermarkStrategy.noWatermarks(), 'js'));
    const expected = ['a', 'b', 'c'].flatMap((s) => Array.from({ length: 200 }, (_, i) => `${s}-${i}`));
    expectSameMultiset(records, expected);
  });

  it('starts at a given sequence, and gives the deserializer subject, sequence and timestamp', async () => {
    const stream = await streamWith(['x'], 50);
    const env = envAt(1);
    const source = JetStreamSource.builder()
      .setServers(NATS_URL)
      .setStream(stream)
      .setStartingPosition(StartingPosition.sequence(41))
      .setDeserializer((r: JetStreamRecord) => ({
        subject: r.subject,
        seq: r.sequence,
        text: new TextDecoder().decode(r.data),
        recent: Math.abs(Date.now() - r.timestamp) < 600_000,
      }))
      .setBounded(true)
      .build();
    const { records } = await runToEnd(env, env.fromSource(source, WatermarkStrategy.noWatermarks(), 'js'));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 41 + i));
    expect(records[0]).toEqual({ subject: `${stream}.x`, seq: 41, text: 'x-40', recent: true });
  });

  it('replays from the checkpointed sequence after failures: every message exactly once in state', async () => {
    const stream = await streamWith(['p', 'q', 'r', 's'], 300);
    const env = envAt(3);
    env.enableCheckpointing(50);
    env.setRestartStrategy(RestartStrategies.fixedDelayRestart(5, 0));
    const source = JetStreamSource.builder()
      .setServers(NATS_URL)
      .setStream(stream)
      .setSubjects(['p', 'q', 'r', 's'].map((s) => `${stream}.${s}`))
      .setValueOnlyDeserializer(new SimpleStringSchema())
      .setBounded()
      .build();
    let failures = 0;
    // A keyed running count: replayed messages would count twice, lost ones not at all.
    const counts = env
      .fromSource(source, WatermarkStrategy.noWatermarks(), 'js')
      .map((text) => {
        if (failures < 3 && text.endsWith(`-${70 * (failures + 1)}`)) {
          failures++;
          throw new Error('injected');
        }
        return { subject: text.split('-')[0]!, n: 1 };
      })
      .keyBy((r) => r.subject)
      .sum('n')
      .filter((r) => r.n === 300);
    const { records } = await runToEnd(env, counts, 60_000);
    expect(failures).toBe(3);
    expectSameMultiset(
      records,
      ['p', 'q', 'r', 's'].map((subject) => ({ subject, n: 300 })),
    );
  });

  it('fails with a typed error naming a stream that does not exist', async () => {
    const env = envAt(1);
    const source = JetStreamSource.builder()
      .setServers(NATS_URL)
      .setStream(uniqueName('MISSING'))
      .setValueOnlyDeserializer(new SimpleStringSchema())
      .setBounded()
      .build();
    env.fromSource(source, WatermarkStrategy.noWatermarks(), 'js').print();
    const error = await rejectsWith(env.execute(), 'SLUICE_CONNECTOR_MISCONFIGURED');
    expect(error.message).toMatch(/stream 'MISSING_\w+' does not exist/);
  });

  it('rejects a builder without servers, stream or deserializer', () => {
    expect(() => JetStreamSource.builder().setStream('s').build()).toThrow(/setServers/);
    expect(() => JetStreamSource.builder().setServers(NATS_URL).build()).toThrow(/setStream/);
    expect(() => JetStreamSource.builder().setServers(NATS_URL).setStream('s').build()).toThrow(
      /deserializer/,
    );
  });
});
