/** Which keyed state backend a configuration selects, and the INFO line for a Flink config's rocksdb. */
import { describe, expect, it } from 'vitest';
import { Configuration } from '../core/configuration.js';
import { configureLogging, logLevel } from '../core/log.js';
import { EmbeddedLmdbStateBackend, HashMapStateBackend, stateBackendName } from '../state/state-backend.js';
import { chooseStateBackend, stateBackendOf } from './state-backend-choice.js';

describe('stateBackendOf', () => {
  it('is the heap by default, and lmdb for state.backend.type: lmdb with its local dir', () => {
    expect(stateBackendOf(new Configuration(), true)).toEqual({ kind: 'hashmap' });
    const lmdb = new Configuration().addAll({
      'state.backend.type': 'lmdb',
      'state.backend.local-dir': '/data/state',
    });
    expect(stateBackendOf(lmdb, true)).toEqual({ kind: 'lmdb', localDir: '/data/state' });
  });

  it('turns incremental checkpoints on for the heap (Flink 1 key too), with the chain limits', () => {
    expect(
      stateBackendOf(new Configuration().addAll({ 'execution.checkpointing.incremental': 'true' }), false),
    ).toEqual({
      kind: 'hashmap',
      incremental: { maxChainLength: 10, maxDeltaRatio: 1 },
    });
    const flink1 = new Configuration().addAll({
      'state.backend.incremental': 'true',
      'execution.checkpointing.incremental.max-chain-length': '4',
      'execution.checkpointing.incremental.max-delta-ratio': '0.5',
    });
    expect(stateBackendOf(flink1, false)).toEqual({
      kind: 'hashmap',
      incremental: { maxChainLength: 4, maxDeltaRatio: 0.5 },
    });
    expect(() =>
      stateBackendOf(
        new Configuration().addAll({ 'execution.checkpointing.incremental.max-chain-length': '-1' }),
        false,
      ),
    ).toThrow(/max-chain-length/u);
  });

  it("selects lmdb for a Flink config's rocksdb, saying so in one INFO line", () => {
    const lines: string[] = [];
    const level = logLevel();
    configureLogging({ level: 'info', format: 'text', color: false, terminal: (text) => lines.push(text) });
    try {
      const flink = new Configuration().addAll({
        'state.backend': 'rocksdb',
        'state.backend.rocksdb.localdir': '/tmp/x',
      });
      expect(stateBackendOf(flink, true)).toEqual({ kind: 'lmdb', localDir: '/tmp/x' });
      expect(stateBackendOf(flink, false)).toEqual({ kind: 'lmdb', localDir: '/tmp/x' });
    } finally {
      configureLogging({ level, terminal: (text) => void process.stderr.write(text) });
    }
    const info = lines.filter((l) => l.includes('INFO'));
    expect(info).toHaveLength(1);
    expect(info[0]).toMatch(/INFO.*EmbeddedLmdbStateBackend/u);
  });

  it('takes env.setStateBackend choices, named as Flink names its backends', () => {
    const conf = new Configuration();
    chooseStateBackend(conf, new EmbeddedLmdbStateBackend({ localDir: '/ssd' }));
    const settings = stateBackendOf(conf, true);
    expect(settings).toEqual({ kind: 'lmdb', localDir: '/ssd' });
    expect(stateBackendName(settings)).toBe('EmbeddedLmdbStateBackend');
    chooseStateBackend(conf, new HashMapStateBackend());
    expect(stateBackendName(stateBackendOf(conf, true))).toBe('HashMapStateBackend');
  });

  it("takes Flink's new EmbeddedRocksDBStateBackend(true) form: incremental checkpoints on", () => {
    const conf = new Configuration();
    const backend = new EmbeddedLmdbStateBackend(true);
    expect(backend.isIncrementalCheckpointsEnabled()).toBe(true);
    chooseStateBackend(conf, backend);
    expect(conf.toMap()).toMatchObject({
      'state.backend.type': 'lmdb',
      'execution.checkpointing.incremental': 'true',
    });
    expect(stateBackendOf(conf, false)).toEqual({
      kind: 'lmdb',
      localDir: undefined,
      incremental: { maxChainLength: 10, maxDeltaRatio: 1 },
    });
    expect(new EmbeddedLmdbStateBackend().isIncrementalCheckpointsEnabled()).toBe(false);
  });
});
