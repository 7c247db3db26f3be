/**
 * Task-local state (Flink's local recovery): a secondary copy, on this TaskManager's disk, of
 * every state file a subtask writes for a checkpoint, so that a subtask restarted here reads its
 * state locally instead of from checkpoint storage. A copy is only ever used after it was checked
 * against the checkpoint's handle (size and CRC32C): checkpoint storage stays the truth.
 */
import { link, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobId } from '../core/ids.js';
import { isProcessAlive } from '../core/process-alive.js';
import { logger } from '../core/log.js';
import { crc32c } from '../storage/crc32c.js';
import type { FileStateHandle, StreamStateHandle } from '../storage/state-handle.js';

/** Whether subtasks keep local copies and restore from them (Flink's LocalRecoveryConfig). */
export interface LocalRecoveryConfig {
  /** `execution.checkpointing.local-backup.enabled` (defaults to `from-local`): write local copies. */
  readonly backup: boolean;
  /** `execution.state-recovery.from-local`: restore from verified local copies. */
  readonly recover: boolean;
}

/**
 * Default root of local state when `execution.checkpointing.local-backup.dirs` is not set: the
 * user's own directory in the temp dir (`sluice-localstate-<uid>`).
 */
export function defaultLocalStateRoot(): string {
  const uid = process.getuid?.();
  return join(tmpdir(), uid === undefined ? 'sluice-localstate' : `sluice-localstate-${uid}`);
}

/**
 * Why `root` must not hold local state, or undefined when it may: it is created (0700) if
 * missing, and must then be a directory of this user that no one else can write to — another
 * user could swap copies in it (CRC32C catches accidents, not forgeries).
 */
async function untrustedRoot(root: string): Promise<string | undefined> {
  try {
    await mkdir(root, { recursive: true, mode: 0o700 });
    const stat = await lstat(root);
    const uid = process.getuid?.();
    if (!stat.isDirectory()) return 'it is not a directory';
    if (uid !== undefined && (stat.uid !== uid || (stat.mode & 0o022) !== 0))
      return 'it is not a directory of your own that only you can write to';
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const CHECKPOINT_DIR = /^chk_(\d+)$/u;

/** The local name of a state file: its relative path, `/` escaped, so each handle has one name. */
function localName(handle: FileStateHandle): string {
  return encodeURIComponent(handle.path);
}

/**
 * One subtask's local copies on this TaskManager (Flink's TaskLocalStateStoreImpl), one directory
 * per checkpoint, `<directory>/chk_<n>/<file>`: each is complete on its own, so pruning a
 * checkpoint is deleting its directory. An incremental chain's files written by earlier
 * checkpoints are hard-linked into each later checkpoint's directory, not copied. Every write is
 * best effort: a local copy that failed costs a remote read on restore, never a checkpoint.
 */
export class TaskLocalStateStore {
  /** Checkpoints at or below this were subsumed by a confirmed one: no copies are written for them. */
  private confirmed = 0;
  private readonly aborted = new Set<number>();
  private warned = false;
  private readonly log = logger('local-state');

  constructor(
    /** `…/jid_<job>/vtx_<vertex>_sti_<subtask>`: this subtask's directory. */
    readonly directory: string,
    readonly config: LocalRecoveryConfig,
    /** Whether the root above `directory` may hold local state (checked once by the manager). */
    private readonly usable: () => Promise<boolean> = () => Promise.resolve(true),
  ) {}

  /** Where checkpoint `checkpointId`'s copies live. */
  checkpointDirectory(checkpointId: number): string {
    return join(this.directory, `chk_${checkpointId}`);
  }

  private isObsolete(checkpointId: number): boolean {
    return checkpointId <= this.confirmed || this.aborted.has(checkpointId);
  }

  /**
   * Keeps a local copy of `handle`, a file checkpoint `checkpointId` wrote with `data` (inline
   * handles need none). Written under a temporary name and renamed, so a copy is whole or absent.
   * Resolves with whether the copy was written; never rejects.
   */
  async storeLocalState(checkpointId: number, handle: StreamStateHandle, data: Uint8Array): Promise<boolean> {
    if (handle.kind !== 'file' || !this.config.backup || this.isObsolete(checkpointId)) return false;
    if (!(await this.usable())) return false;
    const dir = this.checkpointDirectory(checkpointId);
    const file = join(dir, localName(handle));
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(`${file}.tmp`, data);
      await rename(`${file}.tmp`, file);
      return true;
    } catch (e) {
      this.writeFailed(checkpointId, e);
      return false;
    }
  }

  /**
   * Makes the local copy of `handle`, written by the earlier checkpoint `fromCheckpointId` (an
   * incremental chain's base or delta), part of checkpoint `checkpointId` too (a hard link).
   * Resolves with whether it is there; never rejects.
   */
  async reuseLocalState(
    checkpointId: number,
    fromCheckpointId: number,
    handle: StreamStateHandle,
  ): Promise<boolean> {
    if (handle.kind !== 'file' || !this.config.backup || this.isObsolete(checkpointId)) return false;
    if (!(await this.usable())) return false;
    const dir = this.checkpointDirectory(checkpointId);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await link(
        join(this.checkpointDirectory(fromCheckpointId), localName(handle)),
        join(dir, localName(handle)),
      );
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return true;
      // ENOENT: the earlier copy was never written or already pruned; restore reads that file remotely.
      if (code !== 'ENOENT') this.writeFailed(checkpointId, e);
      return false;
    }
  }

  private writeFailed(checkpointId: number, e: unknown): void {
    const message = `could not keep a local copy of state for checkpoint ${checkpointId} in ${this.directory}: ${
      e instanceof Error ? e.message : String(e)
    }; a restore here reads that state from checkpoint storage`;
    // Once at WARN (a full disk would say it every checkpoint), then at debug.
    if (this.warned) this.log.debug(message);
    else this.log.warn(message);
    this.warned = true;
  }

  /**
   * The local copy of `handle` for checkpoint `checkpointId`, if there is one that matches the
   * handle's size and CRC32C; undefined otherwise (a mismatch is logged once, at INFO: the
   * caller reads checkpoint storage instead). Never rejects.
   */
  async retrieveLocalState(checkpointId: number, handle: FileStateHandle): Promise<Uint8Array | undefined> {
    if (!(await this.usable())) return undefined;
    const file = join(this.checkpointDirectory(checkpointId), localName(handle));
    let data: Uint8Array;
    try {
      data = await readFile(file);
    } catch {
      return undefined;
    }
    const mismatch =
      data.length !== handle.size
        ? `${data.length} bytes, the checkpoint records ${handle.size}`
        : crc32c(data) !== handle.checksum
          ? 'its CRC32C differs from the checkpoint’s'
          : undefined;
    if (mismatch === undefined) return data;
    this.log.info(
      `local copy ${file} does not match checkpoint ${checkpointId} (${mismatch}): reading ${handle.path} from checkpoint storage`,
    );
    return undefined;
  }

  /** Checkpoint `checkpointId` completed: copies of older checkpoints are not needed any more. */
  async confirmCheckpoint(checkpointId: number): Promise<void> {
    if (checkpointId <= this.confirmed) return;
    this.confirmed = checkpointId;
    for (const id of this.aborted) if (id <= checkpointId) this.aborted.delete(id);
    await this.prune((id) => id < checkpointId);
  }

  /** Checkpoint `checkpointId` was aborted: its copies go, and none are written for it any more. */
  async abortCheckpoint(checkpointId: number): Promise<void> {
    if (checkpointId <= this.confirmed) return;
    this.aborted.add(checkpointId);
    await this.prune((id) => id === checkpointId);
  }

  /** The checkpoints this store holds copies of, oldest first. */
  async checkpointIds(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch {
      return [];
    }
    const ids: number[] = [];
    for (const name of names) {
      const id = CHECKPOINT_DIR.exec(name)?.[1];
      if (id !== undefined) ids.push(Number(id));
    }
    return ids.sort((a, b) => a - b);
  }

  private async prune(drop: (checkpointId: number) => boolean): Promise<void> {
    for (const id of await this.checkpointIds())
      if (drop(id)) await removeQuietly(this.checkpointDirectory(id), this.log);
  }
}

/**
 * A TaskManager's local state (Flink's TaskExecutorLocalStateStoresManager): one store per
 * subtask of a job that ran here, under `<root>/tm_<pid>_<taskManagerId>/jid_<job>/vtx_<vertex>_sti_<i>`.
 * Checkpoint notifications reach every store of the job, also those whose subtask no longer runs
 * here, so stale copies go with the next completed checkpoint; a job's copies go when it ends,
 * and all of them when the TaskManager stops (or, for one that was killed, when another starts).
 */
export class TaskLocalStateStoresManager {
  private readonly roots: readonly string[];
  private readonly stores = new Map<JobId, Map<string, TaskLocalStateStore>>();
  private readonly log = logger('local-state');

  private readonly rootDirs: readonly string[];
  /** Per root: whether it may hold local state (checked once, on first use). */
  private readonly usableRoots = new Map<string, Promise<boolean>>();

  constructor(rootDirs: readonly string[], taskManagerId: string) {
    this.rootDirs = rootDirs.length > 0 ? rootDirs : [defaultLocalStateRoot()];
    this.roots = this.rootDirs.map((root) => join(root, `tm_${process.pid}_${taskManagerId}`));
  }

  /**
   * Deletes what TaskManagers that are gone left under the roots: one that was SIGKILLed never
   * cleaned up. A directory is named after its process's pid; a running one is left alone.
   * Never rejects.
   */
  async removeLeftoversOfDeadTaskManagers(): Promise<void> {
    for (const root of this.rootDirs) {
      let names: string[];
      try {
        names = await readdir(root);
      } catch {
        continue; // no root yet: nothing left over
      }
      for (const name of names) {
        const pid = /^tm_(\d+)_/u.exec(name)?.[1];
        if (pid !== undefined && Number(pid) !== process.pid && !isProcessAlive(Number(pid)))
          await removeQuietly(join(root, name), this.log);
      }
    }
  }

  /** This TaskManager's directories, one per configured root. */
  get directories(): readonly string[] {
    return this.roots;
  }

  /** The store of subtask `subtaskIndex` of vertex `vertexId` (the same one for every attempt). */
  storeFor(
    jobId: JobId,
    vertexId: string,
    subtaskIndex: number,
    config: LocalRecoveryConfig,
  ): TaskLocalStateStore {
    let job = this.stores.get(jobId);
    if (!job) this.stores.set(jobId, (job = new Map<string, TaskLocalStateStore>()));
    const key = `vtx_${vertexId}_sti_${subtaskIndex}`;
    let store = job.get(key);
    if (!store || store.config.backup !== config.backup || store.config.recover !== config.recover) {
      // Several roots spread the subtasks over them (several disks), as Flink does.
      const i = subtaskIndex % this.roots.length;
      store = new TaskLocalStateStore(join(this.roots[i]!, `jid_${jobId}`, key), config, () =>
        this.isUsable(this.rootDirs[i]!),
      );
      job.set(key, store);
    }
    return store;
  }

  private isUsable(root: string): Promise<boolean> {
    let usable = this.usableRoots.get(root);
    if (!usable) {
      usable = untrustedRoot(root).then((problem) => {
        if (problem !== undefined)
          this.log.warn(
            `local recovery keeps no state in ${root}: ${problem}. Tasks restore from checkpoint storage; ` +
              'set execution.checkpointing.local-backup.dirs to a directory of yours.',
          );
        return problem === undefined;
      });
      this.usableRoots.set(root, usable);
    }
    return usable;
  }

  /** Checkpoint `checkpointId` of `jobId` completed. Never rejects. */
  async confirmCheckpoint(jobId: JobId, checkpointId: number): Promise<void> {
    await Promise.all(
      [...(this.stores.get(jobId)?.values() ?? [])].map((s) => s.confirmCheckpoint(checkpointId)),
    );
  }

  /** Checkpoint `checkpointId` of `jobId` was aborted. Never rejects. */
  async abortCheckpoint(jobId: JobId, checkpointId: number): Promise<void> {
    await Promise.all(
      [...(this.stores.get(jobId)?.values() ?? [])].map((s) => s.abortCheckpoint(checkpointId)),
    );
  }

  /** The job ended (or this TaskManager will not run it again): all its copies go. Never rejects. */
  async releaseJob(jobId: JobId): Promise<void> {
    this.stores.delete(jobId);
    await Promise.all(this.roots.map((root) => removeQuietly(join(root, `jid_${jobId}`), this.log)));
  }

  /** The TaskManager stops: everything it kept goes. Never rejects. */
  async shutdown(): Promise<void> {
    this.stores.clear();
    await Promise.all(this.roots.map((root) => removeQuietly(root, this.log)));
  }
}

async function removeQuietly(path: string, log: ReturnType<typeof logger>): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (e) {
    log.warn(`could not delete local state ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
