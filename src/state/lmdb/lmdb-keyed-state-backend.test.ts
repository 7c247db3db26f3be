/** Runs the keyed state backend contracts against the LMDB backend, plus LMDB-only checks. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HeapKeyedStateBackend } from '../heap/heap-keyed-state-backend.js';
import { keyedStateBackendContract } from '../keyed-state-backend.contract.js';
import { keyedStateIsolationContract } from '../keyed-state-isolation.contract.js';
import type { KeyedStateBackend } from '../keyed-state-backend.js';
import type { ValueState } from '../state.js';
import { ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor } from '../state-descriptor.js';
import { LmdbKeyedStateBackend } from './lmdb-keyed-state-backend.js';

const localDir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-test-'));
afterAll(() => rmSync(localDir, { recursive: true, force: true }));

keyedStateBackendContract(
  'LmdbKeyedStateBackend',
  (opts) => new LmdbKeyedStateBackend({ ...opts, localDir }),
);
keyedStateIsolationContract(
  'LmdbKeyedStateBackend',
  (opts) => new LmdbKeyedStateBackend({ ...opts, localDir }),
  false,
);

describe('LmdbKeyedStateBackend', () => {
  const all = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };

  it('keeps its environment in a directory of its own under local-dir, deleted on dispose', () => {
    const b = new LmdbKeyedStateBackend({ ...all, localDir });
    const value = b.getOrCreateKeyedState(new ValueStateDescriptor<string>('v'));
    b.setCurrentKey('k');
    value.update('x');
    expect(existsSync(b.path)).toBe(true);
    expect(b.path.startsWith(localDir)).toBe(true);
    b.dispose();
    expect(existsSync(b.path)).toBe(false);
    expect(readdirSync(localDir)).toEqual([]);
  });

  it("deletes the environments a SIGKILLed process left behind, and no live process's", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-stale-'));
    try {
      // A process that makes its environment directory, as a TaskManager's backend does, then is killed.
      const child = spawn(
        process.execPath,
        [
          '-e',
          `require('fs').mkdirSync(require('path').join(${JSON.stringify(dir)}, 'env-' + process.pid + '-x')); console.log('ready'); setInterval(() => {}, 1000);`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      } finally {
        child.kill('SIGKILL');
      }
      await new Promise((resolve) => child.once('exit', resolve));
      const ours = join(dir, `env-${process.pid}-still-open`);
      mkdirSync(ours);
      expect(readdirSync(dir)).toHaveLength(2);
      const b = new LmdbKeyedStateBackend({ ...all, localDir: dir });
      try {
        expect(readdirSync(dir).sort()).toEqual([basename(b.path), basename(ours)].sort());
      } finally {
        b.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands out fresh objects: changing one without update() changes nothing stored', () => {
    const b = new LmdbKeyedStateBackend({ ...all, localDir });
    try {
      const value = b.getOrCreateKeyedState(new ValueStateDescriptor<{ n: number }>('v'));
      b.setCurrentKey('k');
      value.update({ n: 1 });
      value.value()!.n = 2;
      expect(value.value()).toEqual({ n: 1 });
    } finally {
      b.dispose();
    }
  });

  function fill(b: KeyedStateBackend<string>): void {
    const value = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('count'));
    const list = b.getOrCreateKeyedState(new ListStateDescriptor<string>('seen'));
    const map = b.getOrCreateKeyedState(new MapStateDescriptor<string, number>('byTag'));
    for (let i = 0; i < 200; i++) {
      b.setCurrentKey(`key-${i}`);
      value.update(i);
      list.addAll([`a${i}`, `b${i}`]);
      map.put(`t${i % 3}`, i);
    }
    b.getOrCreateTimerQueue('timers').add('key-7', 1234);
  }

  function dump(b: KeyedStateBackend<string>): unknown[] {
    const value = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('count'));
    const list = b.getOrCreateKeyedState(new ListStateDescriptor<string>('seen'));
    const map = b.getOrCreateKeyedState(new MapStateDescriptor<string, number>('byTag'));
    const out: unknown[] = [];
    for (let i = 0; i < 200; i++) {
      b.setCurrentKey(`key-${i}`);
      out.push([value.value(), list.get(), [...map.entries()]]);
    }
    const head = b.getOrCreateTimerQueue('timers').peek();
    out.push(head && { key: head.key, timestamp: head.timestamp });
    return out;
  }

  it.each([
    ['hashmap → lmdb', 'heap', 'lmdb'],
    ['lmdb → hashmap', 'lmdb', 'heap'],
    ['lmdb → lmdb at another parallelism', 'lmdb', 'lmdb'],
  ] as const)('restores a snapshot across backends: %s', async (_name, from, to) => {
    const create = (kind: 'heap' | 'lmdb', range = all.keyGroupRange): KeyedStateBackend<string> =>
      kind === 'heap'
        ? new HeapKeyedStateBackend<string>({ ...all, keyGroupRange: range })
        : new LmdbKeyedStateBackend<string>({ ...all, keyGroupRange: range, localDir });
    const source = create(from);
    const reference = create('heap');
    try {
      fill(source);
      fill(reference);
      const snapshot = await source.snapshot(1).write();
      const halves = [
        { start: 0, end: 63 },
        { start: 64, end: 127 },
      ];
      const targets = _name.includes('parallelism') ? halves.map((r) => create(to, r)) : [create(to)];
      try {
        for (const t of targets) t.restore([snapshot]);
        if (targets.length === 1) expect(dump(targets[0]!)).toEqual(dump(reference));
        else {
          const value = (t: KeyedStateBackend<string>): ValueState<number> =>
            t.getOrCreateKeyedState(new ValueStateDescriptor<number>('count'));
          let keys = 0;
          for (const t of targets) {
            value(t);
            keys += t.numKeys('count');
            for (const key of t.getKeys('count')) {
              t.setCurrentKey(key);
              expect(value(t).value()).toBe(Number(key.slice(4)));
            }
          }
          expect(keys).toBe(200);
        }
      } finally {
        for (const t of targets) t.dispose();
      }
    } finally {
      source.dispose();
      reference.dispose();
    }
  });

  it('writes from a read view: puts after the synchronous phase do not reach the snapshot', async () => {
    const b = new LmdbKeyedStateBackend<string>({ ...all, localDir, snapshotSliceMillis: 0 });
    try {
      const value = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
      for (let i = 0; i < 1000; i++) {
        b.setCurrentKey(`k${i}`);
        value.update(i);
      }
      const run = b.snapshot(1);
      const written = run.write();
      // The task keeps writing while the asynchronous phase streams the view.
      for (let i = 0; i < 1000; i++) {
        b.setCurrentKey(`k${i}`);
        value.update(-1);
      }
      const restored = new LmdbKeyedStateBackend<string>({ ...all, localDir });
      try {
        restored.restore([await written]);
        const v = restored.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
        for (let i = 0; i < 1000; i++) {
          restored.setCurrentKey(`k${i}`);
          expect(v.value()).toBe(i);
        }
      } finally {
        restored.dispose();
      }
    } finally {
      b.dispose();
    }
  });
});
