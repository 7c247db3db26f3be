/** Task-local state: copies written per checkpoint, pruned on confirm and abort, used only when they match the handle. */
import { access, chmod, mkdir, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newJobId } from '../core/ids.js';
import { crc32c } from '../storage/crc32c.js';
import type { FileStateHandle, StateScope } from '../storage/state-handle.js';
import { localFirstReader, type StateHandleReader } from './restore-state-reader.js';
import { TaskLocalStateStore, TaskLocalStateStoresManager } from './task-local-state-store.js';

const ON = { backup: true, recover: true };

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-local-state-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const bytes = (size: number, seed: number) =>
  Uint8Array.from({ length: size }, (_, i) => (i * 13 + seed) & 0xff);

function fileHandle(path: string, data: Uint8Array, scope: StateScope = 'exclusive'): FileStateHandle {
  return { kind: 'file', path, size: data.length, checksum: crc32c(data), scope };
}

/** Plain bytes (a file read is a Buffer), to compare with. */
const plain = (data: Uint8Array | undefined) => (data === undefined ? undefined : Uint8Array.from(data));

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('TaskLocalStateStore', () => {
  it('keeps a copy of each state file per checkpoint and gives back only a verified one', async () => {
    const store = new TaskLocalStateStore(join(root, 'sub'), ON);
    const data = bytes(3000, 1);
    const handle = fileHandle('4f1c-0001', data);
    expect(await store.storeLocalState(3, handle, data)).toBe(true);
    expect(await store.checkpointIds()).toEqual([3]);
    expect(plain(await store.retrieveLocalState(3, handle))).toEqual(data);
    // Another checkpoint's copy is not this one's.
    expect(await store.retrieveLocalState(4, handle)).toBeUndefined();
    // Inline state needs no copy.
    expect(await store.storeLocalState(3, { kind: 'inline', data }, data)).toBe(false);
  });

  it('writes nothing when local backup is off', async () => {
    const store = new TaskLocalStateStore(join(root, 'sub'), { backup: false, recover: true });
    const data = bytes(100, 2);
    expect(await store.storeLocalState(1, fileHandle('a', data), data)).toBe(false);
    expect(await exists(join(root, 'sub'))).toBe(false);
  });

  it('never trusts a copy that does not match the handle: changed bytes, truncated, missing', async () => {
    const store = new TaskLocalStateStore(join(root, 'sub'), ON);
    const data = bytes(2048, 3);
    const handle = fileHandle('shared/9a7e', data, 'shared');
    await store.storeLocalState(5, handle, data);
    const [name] = await readdir(store.checkpointDirectory(5));
    const file = join(store.checkpointDirectory(5), name!);
    const flipped = data.slice();
    flipped[100] = flipped[100]! ^ 0xff;
    await writeFile(file, flipped);
    expect(await store.retrieveLocalState(5, handle)).toBeUndefined();
    await truncate(file, 10);
    expect(await store.retrieveLocalState(5, handle)).toBeUndefined();
    await rm(file);
    expect(await store.retrieveLocalState(5, handle)).toBeUndefined();
    // A handle recording other bytes than the copy holds.
    await store.storeLocalState(6, handle, data);
    expect(await store.retrieveLocalState(6, { ...handle, checksum: handle.checksum ^ 1 })).toBeUndefined();
    expect(plain(await store.retrieveLocalState(6, handle))).toEqual(data);
  });

  it('confirming checkpoint n drops older copies and keeps n and newer ones; nothing is written for subsumed ones', async () => {
    const store = new TaskLocalStateStore(join(root, 'sub'), ON);
    const data = bytes(64, 4);
    for (const id of [1, 2, 3, 4]) await store.storeLocalState(id, fileHandle(`f${id}`, data), data);
    await store.confirmCheckpoint(3);
    expect(await store.checkpointIds()).toEqual([3, 4]);
    // A late write for a checkpoint older than the confirmed one is skipped.
    expect(await store.storeLocalState(2, fileHandle('late', data), data)).toBe(false);
    expect(await store.checkpointIds()).toEqual([3, 4]);
    // Confirming an older one again changes nothing.
    await store.confirmCheckpoint(2);
    expect(await store.checkpointIds()).toEqual([3, 4]);
  });

  it('aborting checkpoint n drops its copy only, and later writes for it are skipped', async () => {
    const store = new TaskLocalStateStore(join(root, 'sub'), ON);
    const data = bytes(64, 5);
    for (const id of [1, 2, 3]) await store.storeLocalState(id, fileHandle(`f${id}`, data), data);
    await store.abortCheckpoint(2);
    expect(await store.checkpointIds()).toEqual([1, 3]);
    expect(await store.storeLocalState(2, fileHandle('after-abort', data), data)).toBe(false);
    expect(await store.checkpointIds()).toEqual([1, 3]);
  });

  it('an incremental chain reuses the copies of its earlier files: they outlive the checkpoint that wrote them', async () => {
    const store = new TaskLocalStateStore(join(root, 'sub'), ON);
    const base = bytes(4000, 6);
    const delta = bytes(300, 7);
    const baseHandle = fileHandle('shared/base', base, 'shared');
    const deltaHandle = fileHandle('shared/delta', delta, 'shared');
    await store.storeLocalState(1, baseHandle, base);
    await store.confirmCheckpoint(1);
    // Checkpoint 2's chain is [base (written by 1), delta].
    expect(await store.reuseLocalState(2, 1, baseHandle)).toBe(true);
    expect(await store.reuseLocalState(2, 1, baseHandle)).toBe(true);
    await store.storeLocalState(2, deltaHandle, delta);
    await store.confirmCheckpoint(2);
    expect(await store.checkpointIds()).toEqual([2]);
    expect(plain(await store.retrieveLocalState(2, baseHandle))).toEqual(base);
    expect(plain(await store.retrieveLocalState(2, deltaHandle))).toEqual(delta);
    // A file whose copy is gone is simply not local: the restore reads it remotely.
    expect(await store.reuseLocalState(3, 1, baseHandle)).toBe(false);
  });
});

describe('localFirstReader', () => {
  const data = bytes(1500, 8);
  const handle = fileHandle('0a0b', data);
  const remoteReads: string[] = [];
  const remote: StateHandleReader = (h) => {
    remoteReads.push(h.kind === 'file' ? h.path : 'inline');
    return Promise.resolve(h.kind === 'inline' ? h.data : data);
  };

  beforeEach(() => void remoteReads.splice(0));

  it('reads a matching local copy instead of checkpoint storage, and counts it', async () => {
    const store = new TaskLocalStateStore(join(root, 'sub'), ON);
    await store.storeLocalState(7, handle, data);
    const sources = { local: 0, remote: 0 };
    const read = localFirstReader(store, 7, remote, sources);
    expect(plain(await read(handle, '/nowhere'))).toEqual(data);
    expect(plain(await read({ kind: 'inline', data: bytes(3, 0) }, '/nowhere'))).toEqual(bytes(3, 0));
    expect(sources).toEqual({ local: 1, remote: 0 });
    expect(remoteReads).toEqual(['inline']);
  });

  it('falls back to checkpoint storage when the copy is corrupt or missing, and counts that', async () => {
    const store = new TaskLocalStateStore(join(root, 'sub'), ON);
    await store.storeLocalState(7, handle, data);
    const [name] = await readdir(store.checkpointDirectory(7));
    await writeFile(join(store.checkpointDirectory(7), name!), bytes(1500, 9));
    const sources = { local: 0, remote: 0 };
    const read = localFirstReader(store, 7, remote, sources);
    expect(plain(await read(handle, '/nowhere'))).toEqual(data);
    expect(plain(await read(fileHandle('never-copied', data), '/nowhere'))).toEqual(data);
    expect(sources).toEqual({ local: 0, remote: 2 });
    expect(remoteReads).toEqual(['0a0b', 'never-copied']);
  });

  it('lets a remote failure through: only checkpoint storage can fail a restore', async () => {
    const sources = { local: 0, remote: 0 };
    const failing: StateHandleReader = () => Promise.reject(new Error('gone'));
    await expect(localFirstReader(undefined, 7, failing, sources)(handle, '/nowhere')).rejects.toThrow(
      'gone',
    );
    expect(sources).toEqual({ local: 0, remote: 0 });
  });
});

describe('TaskLocalStateStoresManager', () => {
  it('lays out jid/vtx_sti/chk under its TaskManager directory, confirms and aborts per job, releases a job, and cleans up on shutdown', async () => {
    const manager = new TaskLocalStateStoresManager([root], 'tm1');
    const jobA = newJobId();
    const jobB = newJobId();
    const data = bytes(50, 10);
    const a0 = manager.storeFor(jobA, 'v1', 0, ON);
    const a1 = manager.storeFor(jobA, 'v1', 1, ON);
    const b0 = manager.storeFor(jobB, 'v1', 0, ON);
    expect(manager.storeFor(jobA, 'v1', 0, ON)).toBe(a0);
    const tmDir = join(root, `tm_${process.pid}_tm1`);
    expect(a0.directory).toBe(join(tmDir, `jid_${jobA}`, 'vtx_v1_sti_0'));
    for (const store of [a0, a1, b0])
      for (const id of [1, 2]) await store.storeLocalState(id, fileHandle(`f${id}`, data), data);

    await manager.confirmCheckpoint(jobA, 2);
    expect(await a0.checkpointIds()).toEqual([2]);
    expect(await a1.checkpointIds()).toEqual([2]);
    expect(await b0.checkpointIds()).toEqual([1, 2]);
    await manager.abortCheckpoint(jobB, 2);
    expect(await b0.checkpointIds()).toEqual([1]);

    await manager.releaseJob(jobA);
    expect(await exists(join(tmDir, `jid_${jobA}`))).toBe(false);
    expect(await b0.checkpointIds()).toEqual([1]);
    await manager.shutdown();
    expect(await exists(tmDir)).toBe(false);
  });

  it('deletes what TaskManagers that are gone left behind, never a running one’s', async () => {
    // A pid far above any pid_max: no such process.
    const dead = join(root, 'tm_2147483000_old', 'jid_x', 'vtx_v_sti_0', 'chk_1');
    const alive = join(root, `tm_${process.ppid}_other`, 'jid_x');
    const unrelated = join(root, 'something-else');
    for (const dir of [dead, alive, unrelated]) await mkdir(dir, { recursive: true });
    const manager = new TaskLocalStateStoresManager([root, join(root, 'missing')], 'tm3');
    await manager.removeLeftoversOfDeadTaskManagers();
    expect((await readdir(root)).sort()).toEqual([`tm_${process.ppid}_other`, 'something-else'].sort());
  });

  it('keeps nothing in a root others can write to (they could swap copies), and reads nothing from it', async () => {
    const shared = join(root, 'shared-root');
    await mkdir(shared);
    await chmod(shared, 0o777);
    const manager = new TaskLocalStateStoresManager([shared], 'tm4');
    const store = manager.storeFor(newJobId(), 'v', 0, ON);
    const data = bytes(10, 11);
    expect(await store.storeLocalState(1, fileHandle('f', data), data)).toBe(false);
    expect(await store.retrieveLocalState(1, fileHandle('f', data))).toBeUndefined();
    expect(await readdir(shared)).toEqual([]);
  });

  it('spreads subtasks over several root directories', () => {
    const manager = new TaskLocalStateStoresManager([join(root, 'd1'), join(root, 'd2')], 'tm2');
    const job = newJobId();
    expect(manager.storeFor(job, 'v', 0, ON).directory.startsWith(join(root, 'd1'))).toBe(true);
    expect(manager.storeFor(job, 'v', 1, ON).directory.startsWith(join(root, 'd2'))).toBe(true);
  });
});
