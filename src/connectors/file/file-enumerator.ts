/**
 * The FileSource's split enumerator (Flink's static and continuous file enumerators): lists the
 * files under the source's paths (skipping hidden files, as Flink's default filter: names
 * starting with '.' or '_'), one split per file (per block of a file above the block size), and with continuous monitoring lists them again
 * every interval, remembering which paths it already handed out (its checkpointed state).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SluiceError } from '../../core/errors.js';
import type { SplitEnumerator, SplitEnumeratorContext } from '../../api/source/source.js';
import { type FileSourceSplit, splitsOf } from './file-source-split.js';

/** The enumerator's checkpointed state. */
export interface FileEnumeratorState {
  readonly pending: readonly FileSourceSplit[];
  /** Every path already turned into a split (continuous monitoring skips them). */
  readonly processed: readonly string[];
}

const isHiddenName = (name: string): boolean => name.startsWith('.') || name.startsWith('_');

/** Regular files under `root` (itself if a file) and their sizes, sorted, hidden ones skipped. */
function listFiles(root: string, out: { path: string; size: number }[]): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (stat.isFile()) {
    out.push({ path: root, size: stat.size });
    return;
  }
  if (!stat.isDirectory()) return;
  for (const name of fs.readdirSync(root).sort())
    if (!isHiddenName(name)) listFiles(path.join(root, name), out);
}

export class FileSourceEnumerator implements SplitEnumerator<FileSourceSplit, FileEnumeratorState> {
  private readonly pending: FileSourceSplit[];
  private readonly processed: Set<string>;
  private readonly waiting: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: SplitEnumeratorContext<FileSourceSplit>,
    private readonly paths: readonly string[],
    /** Interval of continuous monitoring in ms; undefined for a bounded source. */
    private readonly discoveryIntervalMs: number | undefined,
    restored: FileEnumeratorState | undefined,
    /** Files above this many bytes are read as several splits, one per block; undefined: never. */
    private readonly blockSize?: number,
  ) {
    this.pending = [...(restored?.pending ?? [])];
    this.processed = new Set(restored?.processed ?? []);
    if (restored === undefined) {
      for (const p of paths)
        if (!fs.existsSync(p) && discoveryIntervalMs === undefined)
          throw new SluiceError(
            'SLUICE_PROGRAM_INVALID',
            `FileSource: path ${p} does not exist (a bounded FileSource reads what is there when it starts).`,
          );
    }
  }

  start(): void {
    if (this.processed.size === 0 && this.pending.length === 0) this.discover();
    if (this.discoveryIntervalMs !== undefined) {
      this.timer = setInterval(() => {
        this.discover();
        this.assignWaiting();
      }, this.discoveryIntervalMs);
      this.timer.unref();
    }
  }

  private discover(): void {
    const files: { path: string; size: number }[] = [];
    for (const p of this.paths) listFiles(p, files);
    for (const f of files)
      if (!this.processed.has(f.path)) {
        this.processed.add(f.path);
        this.pending.push(...splitsOf(f.path, f.size, this.blockSize));
      }
  }

  private assignWaiting(): void {
    while (this.waiting.length > 0 && this.pending.length > 0)
      this.ctx.assignSplit(this.pending.shift()!, this.waiting.shift()!);
  }

  handleSplitRequest(subtask: number): void {
    const split = this.pending.shift();
    if (split !== undefined) this.ctx.assignSplit(split, subtask);
    else if (this.discoveryIntervalMs === undefined) this.ctx.signalNoMoreSplits(subtask);
    else if (!this.waiting.includes(subtask)) this.waiting.push(subtask);
  }

  addSplitsBack(splits: readonly FileSourceSplit[]): void {
    this.pending.unshift(...splits);
  }

  addReader(): void {}

  snapshotState(): FileEnumeratorState {
    return { pending: [...this.pending], processed: [...this.processed] };
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
