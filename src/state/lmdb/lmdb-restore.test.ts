/** The LMDB restore path: bulk loads, the key-group guard, and corrupted snapshots. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assignToKeyGroup } from '../../core/key-groups.js';
import { MsgpackSerializer } from '../../core/serializer.js';
import { canonicalBytes } from '../../core/stable-hash.js';
import { ValueStateDescriptor } from '../state-descriptor.js';
import { expectSluiceError } from '../state-kinds.contract.js';
import { LmdbKeyedStateBackend } from './lmdb-keyed-state-backend.js';
import { lmdbKey } from './lmdb-key-layout.js';
import { keyGroupOfCanonical, msgpackLmdbKey } from './lmdb-restore.js';
import { LmdbStore } from './lmdb-store.js';

const localDir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-restore-test-'));
afterAll(() => rmSync(localDir, { recursive: true, force: true }));

const all = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };

describe('keyGroupOfCanonical', () => {
  it('gives the key group assignToKeyGroup gives, for every kind of key', () => {
    const keys: unknown[] = [
      'k',
      '',
      'ключ-🔑',
      0,
      -0,
      3.5,
      NaN,
      2n ** 70n,
      true,
      null,
      ['a', 1, [2]],
      { y: 'b', x: 1 },
      new Date(12345),
      new Uint8Array([1, 2, 3]),
    ];
    for (let i = 0; i < 500; i++) keys.push(`key-${i}`, i * 7919);
    for (const maxParallelism of [1, 128, 32768])
      for (const key of keys)
        expect(keyGroupOfCanonical(canonicalBytes(key), maxParallelism)).toBe(
          assignToKeyGroup(key, maxParallelism),
        );
  });
});

describe('msgpackLmdbKey', () => {
  const serializer = new MsgpackSerializer<unknown>();
  const expected = (key: unknown): Buffer => lmdbKey(77, 5, canonicalBytes(key));

  it('reads the LMDB key of ASCII strings and of numbers from their MessagePack bytes', () => {
    const keys: unknown[] = [
      '',
      'k',
      'x'.repeat(31),
      'x'.repeat(32),
      'x'.repeat(255),
      'x'.repeat(256),
      'x'.repeat(70000),
    ];
    for (const n of [
      0,
      -0,
      1,
      127,
      128,
      255,
      256,
      65535,
      65536,
      2 ** 32 - 1,
      2 ** 32,
      -1,
      -32,
      -33,
      -128,
      -129,
    ])
      keys.push(n, -n);
    keys.push(
      -32768,
      -32769,
      -(2 ** 31),
      -(2 ** 31) - 1,
      1.5,
      -2.25,
      NaN,
      Infinity,
      -Infinity,
      2 ** 53,
      1e300,
    );
    for (const key of keys)
      expect(msgpackLmdbKey(77, 5, serializer.serialize(key)), String(key)).toEqual(expected(key));
  });

  it('leaves every other key to deserialization', () => {
    for (const key of ['é', 'ключ', 2n ** 70n, true, null, ['a'], { a: 1 }, new Date(5), new Uint8Array([1])])
      expect(msgpackLmdbKey(77, 5, serializer.serialize(key))).toBeUndefined();
    // Bytes that are not exactly one such value.
    for (const bytes of [[], [0xa2, 0x61], [0xa1, 0x61, 0x61], [0xcd, 0x01], [0xcb, 0, 0], [0x01, 0x02]])
      expect(msgpackLmdbKey(77, 5, Uint8Array.from(bytes))).toBeUndefined();
  });
});

describe('LmdbStore.load', () => {
  const key = (...bytes: number[]): Buffer => Buffer.from(bytes);

  it('stores every entry whatever their order, next to and over what is stored, as a copy', () => {
    const store = new LmdbStore(localDir);
    try {
      store.put(key(5), Buffer.from('old-5'));
      store.put(key(9), Buffer.from('old-9'));
      const source = Buffer.from('abcdefghij');
      // Ascending past everything stored (appended), then behind it, then over a stored key.
      const order = [key(10), key(11), key(1), key(5), key(12), key(2)];
      store.load((put) => order.forEach((k, i) => put(k, source.subarray(i, i + 2))));
      source.fill(0);
      const stored = [...store.keys(key(0), key(255))].map((k) => [k[0], store.get(k)!.toString()]);
      expect(stored).toEqual([
        [1, 'cd'],
        [2, 'fg'],
        [5, 'de'],
        [9, 'old-9'],
        [10, 'ab'],
        [11, 'bc'],
        [12, 'ef'],
      ]);
    } finally {
      store.close();
    }
  });

  it('writes the puts buffered before it first, so a load overrides them', () => {
    const store = new LmdbStore(localDir);
    try {
      store.put(key(3), Buffer.from('buffered'));
      store.load((put) => put(key(3), Buffer.from('loaded')));
      expect(store.get(key(3))!.toString()).toBe('loaded');
    } finally {
      store.close();
    }
  });
});

describe('LmdbKeyedStateBackend.restore of a damaged snapshot', () => {
  const descriptor = new ValueStateDescriptor<string>('v');

  async function snapshotOf(keys: readonly string[]) {
    const b = new LmdbKeyedStateBackend<string>({ ...all, localDir });
    try {
      const state = b.getOrCreateKeyedState(descriptor);
      for (const k of keys) {
        b.setCurrentKey(k);
        state.update(`value of ${k}`);
      }
      return await b.snapshot(1).write();
    } finally {
      b.dispose();
    }
  }

  it('fails naming the key group when a key was changed into one of another key group', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
    const snapshot = await snapshotOf(keys);
    // Same length, so the entry still parses: only the key-group guard can tell.
    const changed = Array.from({ length: 100 }, (_, i) => `kex-${String(i).padStart(2, '0')}`).find(
      (k) => assignToKeyGroup(k, 128) !== assignToKeyGroup('key-07', 128),
    )!;
    const data = Buffer.from(snapshot.data);
    const at = data.indexOf('key-07');
    expect(at).toBeGreaterThan(0);
    data.write(changed, at, 'latin1');
    const b = new LmdbKeyedStateBackend<string>({ ...all, localDir });
    try {
      expectSluiceError(
        () => b.restore([{ ...snapshot, data }]),
        'SLUICE_CHECKPOINT_CORRUPT',
        `key group ${assignToKeyGroup('key-07', 128)}`,
        `belongs to key group ${assignToKeyGroup(changed, 128)}`,
      );
    } finally {
      b.dispose();
    }
  });

  it('fails naming the state when an entry runs past its block', async () => {
    const snapshot = await snapshotOf(['only']);
    const data = Buffer.from(snapshot.data);
    // The entry's first length prefix (the key's: u32, then msgpack's 0xa4 and 'only').
    const entry = data.indexOf('only') - 5;
    expect(data.readUInt32BE(entry)).toBe(5);
    data.writeUInt32BE(0xffff, entry);
    const b = new LmdbKeyedStateBackend<string>({ ...all, localDir });
    try {
      expectSluiceError(() => b.restore([{ ...snapshot, data }]), 'SLUICE_CHECKPOINT_CORRUPT', "state 'v'");
    } finally {
      b.dispose();
    }
  });

  it('restores the undamaged snapshot it was made from', async () => {
    const snapshot = await snapshotOf(['a', 'b', 'c']);
    const b = new LmdbKeyedStateBackend<string>({ ...all, localDir });
    try {
      b.restore([snapshot]);
      const state = b.getOrCreateKeyedState(descriptor);
      for (const k of ['a', 'b', 'c']) {
        b.setCurrentKey(k);
        expect(state.value()).toBe(`value of ${k}`);
      }
    } finally {
      b.dispose();
    }
  });
});
