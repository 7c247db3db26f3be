/** Runs the checkpoint storage contract against filesystem storage, plus its layout, relocation and cleanup. */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newJobId, type CheckpointId } from '../../core/ids.js';
import { decodeMetadata } from '../checkpoint-metadata.js';
import {
  checkpointStorageContract,
  expectSameBytes,
  expectSluiceRejection,
  metadataFor,
  testBytes,
} from '../checkpoint-storage.contract.js';
import type { CheckpointStorageLocation } from '../checkpoint-storage.js';
import type { FileStateHandle, StreamStateHandle } from '../state-handle.js';
import { IN_PROGRESS_PREFIX } from './durable-files.js';
import { stateFilePath } from './file-paths.js';
import {
  FileSystemCheckpointStorage,
  readFileState,
  resolveFileCheckpoint,
} from './file-system-checkpoint-storage.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u;
const id = (n: number) => n as CheckpointId;

checkpointStorageContract(
  'FileSystemCheckpointStorage',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-fs-storage-'));
    const pathOf = (handle: FileStateHandle, location: CheckpointStorageLocation) =>
      stateFilePath(handle, location.pointer);
    return {
      storage: new FileSystemCheckpointStorage({ dir }),
      files: {
        async corrupt(handle, location) {
          const bytes = await readFile(pathOf(handle, location));
          bytes[bytes.length >> 1]! ^= 0x5a;
          await writeFile(pathOf(handle, location), bytes);
        },
        remove: (handle, location) => unlink(pathOf(handle, location)),
        leaveHalfWrittenMetadata: (location, partial) =>
          writeFile(join(location.pointer, `${IN_PROGRESS_PREFIX}_metadata-${randomUUID()}`), partial),
      },
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  },
  { writesFiles: true },
);

/** Every file under `dir`, relative, sorted: the whole truth about what is on disk. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1) + (e.isDirectory() ? '/' : ''))
    .sort();
}

describe('FileSystemCheckpointStorage', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'sluice-fs-storage-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('lays out <dir>/<jobId>/{shared,taskowned,chk-<n>} with relative paths in the handles', async () => {
    const storage = new FileSystemCheckpointStorage({ dir: base });
    const job = newJobId();
    const location = await storage.initializeCheckpoint(job, id(1));
    expect(location.pointer).toBe(join(base, job, 'chk-1'));
    expect(await tree(base)).toEqual([`${job}/`, `${job}/chk-1/`, `${job}/shared/`, `${job}/taskowned/`]);

    const exclusive = await storage.writeState(location, testBytes(30_000, 1));
    const shared = await storage.writeState(location, testBytes(30_000, 2), 'shared');
    const owned = await storage.writeState(location, testBytes(30_000, 3), 'task-owned');
    const inline = await storage.writeState(location, testBytes(100, 4));
    const handles = [exclusive, shared, owned, inline];
    const completed = await storage.finalizeCheckpoint(location, metadataFor(location, handles));

    const paths = handles.map((h) => (h.kind === 'file' ? h.path : 'inline'));
    expect(paths[0]).toMatch(UUID);
    expect(paths[1]).toMatch(/^shared\/[0-9a-f-]{36}$/u);
    expect(paths[2]).toMatch(/^taskowned\/[0-9a-f-]{36}$/u);
    expect(paths[3]).toBe('inline');
    expect(await tree(base)).toEqual(
      [
        `${job}/`,
        `${job}/chk-1/`,
        `${job}/chk-1/${paths[0]}`,
        `${job}/chk-1/_metadata`,
        `${job}/shared/`,
        `${job}/${paths[1]}`,
        `${job}/taskowned/`,
        `${job}/${paths[2]}`,
      ].sort(),
    );
    expect(completed).toEqual({
      externalPointer: join(base, job, 'chk-1'),
      pointer: join(base, job, 'chk-1'),
      metadataSize: (await stat(join(base, job, 'chk-1', '_metadata'))).size,
    });
    // The file on disk records exactly the relative handles.
    const onDisk = decodeMetadata(await readFile(join(location.pointer, '_metadata')), 'test');
    expect(onDisk.operators[0]!.subtasks[0]!.operator.map((o) => o.handle)).toEqual(handles);
  });

  it('still resolves and reads a checkpoint directory moved elsewhere, by any form of pointer', async () => {
    const storage = new FileSystemCheckpointStorage({ dir: base });
    const job = newJobId();
    const location = await storage.initializeCheckpoint(job, id(4));
    const handles = [
      await storage.writeState(location, testBytes(50_000, 1)),
      await storage.writeState(location, testBytes(10, 2)),
    ];
    const metadata = metadataFor(location, handles);
    await storage.finalizeCheckpoint(location, metadata);

    const moved = join(base, 'elsewhere', 'my-savepoint');
    await mkdir(join(base, 'elsewhere'));
    await rename(location.pointer, moved);
    await rm(join(base, job), { recursive: true });

    for (const pointer of [
      moved,
      `${moved}/`,
      join(moved, '_metadata'),
      pathToFileURL(moved).href,
      pathToFileURL(join(moved, '_metadata')).href,
      `file:${moved}`, // Flink prints pointers as file:/path
    ]) {
      const resolved = await storage.resolveCheckpoint(pointer);
      expect(resolved.metadata).toEqual(metadata);
      expect(resolved.location).toEqual({ jobId: job, checkpointId: 4, pointer: moved });
      expectSameBytes(await storage.readState(handles[0]!, resolved.location), testBytes(50_000, 1));
      expectSameBytes(await storage.readState(handles[0]!, pointer), testBytes(50_000, 1));
    }
    // The standalone functions work without any configured storage (restoring a savepoint).
    const resolved = await resolveFileCheckpoint(moved);
    expectSameBytes(await readFileState(handles[1]!, resolved.location), testBytes(10, 2));
  });

  it('leaves no orphaned files after 50 checkpoints retaining 1, with some aborted', async () => {
    const storage = new FileSystemCheckpointStorage({ dir: base });
    const job = newJobId();
    let previous: CheckpointStorageLocation | undefined;
    let last: { location: CheckpointStorageLocation; handles: StreamStateHandle[] } | undefined;
    for (let n = 1; n <= 50; n++) {
      const location = await storage.initializeCheckpoint(job, id(n));
      const handles = await Promise.all([
        storage.writeState(location, testBytes(25_000, n)),
        storage.writeState(location, testBytes(40_000, n + 1)),
        storage.writeState(location, testBytes(500, n + 2)),
      ]);
      if (n % 7 === 0) {
        await storage.discardCheckpoint(location); // aborted: declined or timed out
        continue;
      }
      await storage.finalizeCheckpoint(location, metadataFor(location, handles));
      // Retention (execution.checkpointing.num-retained = 1) is the caller's: subsume the previous.
      if (previous !== undefined) await storage.discardCheckpoint(previous);
      previous = location;
      last = { location, handles };
    }
    const files = last!.handles.filter((h) => h.kind === 'file').map((h) => h.path);
    expect(await tree(join(base, job))).toEqual(
      ['chk-50/', 'chk-50/_metadata', ...files.map((f) => `chk-50/${f}`), 'shared/', 'taskowned/'].sort(),
    );
    expect((await storage.listCheckpoints(job)).map((l) => l.checkpointId)).toEqual([50]);
    await storage.disposeJob(job, { keepCheckpoints: false });
    expect(await readdir(base)).toEqual([]);
  });

  it('explains a directory without _metadata as Flink does', async () => {
    const storage = new FileSystemCheckpointStorage({ dir: base });
    const job = newJobId();
    await storage.initializeCheckpoint(job, id(1));
    await expectSluiceRejection(
      storage.resolveCheckpoint(join(base, job)),
      'SLUICE_CHECKPOINT_NOT_FOUND',
      `Cannot find meta data file '_metadata' in directory '${join(base, job)}'`,
    );
    await expectSluiceRejection(
      storage.resolveCheckpoint(join(base, 'nope')),
      'SLUICE_CHECKPOINT_NOT_FOUND',
      `Cannot find checkpoint or savepoint file/directory '${join(base, 'nope')}'`,
    );
    await expectSluiceRejection(
      storage.resolveCheckpoint('s3://bucket/chk-1'),
      'SLUICE_CHECKPOINT_NOT_FOUND',
      's3:// scheme is not supported yet',
    );
  });

  it('detects a damaged _metadata, naming the file', async () => {
    const storage = new FileSystemCheckpointStorage({ dir: base });
    const location = await storage.initializeCheckpoint(newJobId(), id(1));
    await storage.finalizeCheckpoint(location, metadataFor(location));
    const file = join(location.pointer, '_metadata');
    const bytes = await readFile(file);
    bytes[20]! ^= 1;
    await writeFile(file, bytes);
    await expectSluiceRejection(
      storage.resolveCheckpoint(location.pointer),
      'SLUICE_CHECKPOINT_CORRUPT',
      file,
      'checksum',
    );
    await writeFile(file, bytes.subarray(0, 10));
    await expectSluiceRejection(
      storage.resolveCheckpoint(file),
      'SLUICE_CHECKPOINT_CORRUPT',
      file,
      'truncated',
    );
  });

  it('inlines state of at most the threshold and writes larger state to a file', async () => {
    const storage = new FileSystemCheckpointStorage({ dir: base, inlineThreshold: 1000 });
    const location = await storage.initializeCheckpoint(newJobId(), id(1));
    expect((await storage.writeState(location, new Uint8Array(1000))).kind).toBe('inline');
    expect((await storage.writeState(location, new Uint8Array(1001))).kind).toBe('file');
    expect(new FileSystemCheckpointStorage({ dir: base }).inlineThreshold).toBe(20 * 1024);
    const never = new FileSystemCheckpointStorage({ dir: base, inlineThreshold: 0 });
    expect((await never.writeState(location, new Uint8Array(1))).kind).toBe('file');
    expect(() => new FileSystemCheckpointStorage({ dir: base, inlineThreshold: 2 * 1024 * 1024 })).toThrow(
      /data-inline-threshold: 2097152 is out of range/u,
    );
  });

  it('accepts file:// URIs and absolute paths, and says what else is not supported', () => {
    expect(new FileSystemCheckpointStorage({ dir: pathToFileURL(base).href }).baseDir).toBe(base);
    expect(new FileSystemCheckpointStorage({ dir: `${base}/` }).baseDir).toBe(base);
    for (const [dir, fragment] of [
      [
        's3://bucket/checkpoints',
        'uses the s3:// scheme, which Sluice checkpoint storage does not support yet',
      ],
      ['hdfs://namenode/ckpt', 'hdfs://'],
      ['checkpoints', 'is a relative path'],
      ['', 'is empty'],
    ] as const) {
      expect(() => new FileSystemCheckpointStorage({ dir })).toThrow(
        expect.objectContaining({
          code: 'SLUICE_CONFIG_INVALID_VALUE',
          message: expect.stringContaining(fragment),
        }),
      );
    }
    expect(() => new FileSystemCheckpointStorage({ dir: 's3://b/c' })).toThrow(
      /expected .*file:\/\/\/absolute\/path/u,
    );
  });

  it('fails to write into a discarded checkpoint, naming the path', async () => {
    const storage = new FileSystemCheckpointStorage({ dir: base });
    const location = await storage.initializeCheckpoint(newJobId(), id(2));
    await storage.discardCheckpoint(location);
    await expectSluiceRejection(
      storage.writeState(location, testBytes(30_000)),
      'SLUICE_CHECKPOINT_STORAGE_FAILED',
      'cannot write state file',
      location.pointer,
    );
  });

  it('deletes only chk-<n> directories when discarding', async () => {
    const storage = new FileSystemCheckpointStorage({ dir: base });
    await mkdir(join(base, 'precious'));
    await expectSluiceRejection(
      storage.discardCheckpoint(join(base, 'precious')),
      'SLUICE_INTERNAL_ASSERTION',
    );
    expect(await readdir(base)).toEqual(['precious']);
  });

  it('removes the job directory on dispose when no completed checkpoint is kept', async () => {
    const storage = new FileSystemCheckpointStorage({ dir: base });
    const job = newJobId();
    await storage.initializeCheckpoint(job, id(1));
    await storage.disposeJob(job, { keepCheckpoints: true });
    expect(await readdir(base)).toEqual([]);

    const kept = newJobId();
    const done = await storage.initializeCheckpoint(kept, id(1));
    await storage.finalizeCheckpoint(done, metadataFor(done));
    await storage.initializeCheckpoint(kept, id(2));
    await storage.disposeJob(kept, { keepCheckpoints: true });
    expect(await tree(join(base, kept))).toEqual(['chk-1/', 'chk-1/_metadata', 'shared/', 'taskowned/']);
  });

  it('lets several processes share the directory: locations are plain data', async () => {
    const jobManager = new FileSystemCheckpointStorage({ dir: base });
    const taskManager = new FileSystemCheckpointStorage({ dir: pathToFileURL(base).href });
    const location = await jobManager.initializeCheckpoint(newJobId(), id(3));
    const sent = JSON.parse(JSON.stringify(location)) as CheckpointStorageLocation;
    const handle = await taskManager.writeState(sent, testBytes(30_000));
    const completed = await jobManager.finalizeCheckpoint(location, metadataFor(location, [handle]));
    const resolved = await taskManager.resolveCheckpoint(completed.externalPointer);
    expectSameBytes(await taskManager.readState(handle, resolved.location), testBytes(30_000));
  });

  it('leaves no temporary file behind after finalizing', async () => {
    const storage = new FileSystemCheckpointStorage({ dir: base });
    const location = await storage.initializeCheckpoint(newJobId(), id(1));
    await storage.finalizeCheckpoint(location, metadataFor(location));
    expect(await readdir(location.pointer)).toEqual(['_metadata']);
  });
});
